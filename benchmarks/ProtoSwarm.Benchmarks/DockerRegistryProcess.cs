using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Debian's docker-registry (the distribution project's reference server) on a free loopback port, plain
/// HTTP, storing under <c>DIR/storage</c>: the same way tests/ProtoSwarm.Tests/Registry/Client/RegistryFixture
/// runs it, with Debian's shipped config.yml otherwise (in-memory blob descriptor cache, no auth, no access
/// log). Killed on <see cref="Dispose"/> and, through <see cref="ExitCleanup"/>, on Ctrl-C.
/// </summary>
internal sealed class DockerRegistryProcess : IDisposable
{
    public const string Binary = "/usr/bin/docker-registry";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private DockerRegistryProcess(Process process, Uri baseUri)
    {
        _process = process;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>`2.8.2+ds1`, as the binary reports it.</summary>
    public static string Version()
    {
        using var p = Process.Start(new ProcessStartInfo(Binary, ["--version"]) { RedirectStandardOutput = true })!;
        var line = p.StandardOutput.ReadLine() ?? string.Empty;
        p.WaitForExit();
        return line.Split(' ').LastOrDefault() ?? string.Empty;
    }

    public static async Task<DockerRegistryProcess> StartAsync(string dir)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: the registry benchmark's baseline is Debian's docker-registry 2.8; `apt-get install docker-registry` (or `bash scripts/setup.sh`) installs it");
        }

        Directory.CreateDirectory(dir);
        var port = FreePort();
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              cache:
                blobdescriptor: inmemory
              filesystem:
                rootdirectory: {Path.Combine(dir, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
        var process = Process.Start(new ProcessStartInfo(Binary)
        {
            ArgumentList = { "serve", config },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"{Binary} did not start");
        var registry = new DockerRegistryProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        ExitCleanup.Register(registry, registry.Dispose);
        process.OutputDataReceived += (_, e) => registry.Append(e.Data);
        process.ErrorDataReceived += (_, e) => registry.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await registry.WaitUntilServingAsync();
        return registry;
    }

    /// <summary>Idempotent: called by the owner and, on Ctrl-C, by <see cref="ExitCleanup"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ExitCleanup.Forget(this);
            ExitCleanup.Kill(_process);
        }
    }

    private async Task WaitUntilServingAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "v2/"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        var exited = _process.HasExited ? $"exited with {_process.ExitCode}" : "did not answer GET /v2/ within 30 s";
        Dispose();
        lock (_output)
        {
            throw new InvalidOperationException($"{Binary} {exited}; its output:\n{_output}");
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
