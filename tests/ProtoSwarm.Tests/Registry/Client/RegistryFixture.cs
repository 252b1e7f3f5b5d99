using System.Diagnostics;
using System.Net;
using System.Text;

using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>
/// A real registry for the client's tests: Debian's docker-registry 2.8 (the distribution project's
/// reference server) on a free loopback port, storing under a temporary directory, started once per test
/// class and killed at its end. Each test uses repositories of its own.
/// </summary>
public sealed class RegistryFixture : IDisposable
{
    public const string Binary = "/usr/bin/docker-registry";

    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-registry-").FullName;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public RegistryFixture()
    {
        if (!File.Exists(Binary))
        {
            Directory.Delete(_dir, recursive: true);
            throw new InvalidOperationException($"{Binary} is missing: the registry client's tests run against Debian's docker-registry 2.8; `bash scripts/setup.sh` installs it");
        }

        var port = TestPorts.FreeLoopback();
        var config = Path.Combine(_dir, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(_dir, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "serve", config },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{Binary} did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        WaitUntilServing();
    }

    public Uri BaseUri { get; }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    private void WaitUntilServing()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                break;
            }

            try
            {
                using var response = http.GetAsync(new Uri(BaseUri, "v2/")).GetAwaiter().GetResult();
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            Thread.Sleep(100);
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
}
