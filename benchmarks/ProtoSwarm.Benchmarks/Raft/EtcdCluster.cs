using System.Diagnostics;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// A real etcd cluster from Debian's etcd-server package, every member its own process with its own
/// data dir under the temp directory, listening on 127.0.0.1 only. etcd's defaults are kept, so every
/// committed entry has been fsynced to the WAL of a quorum. Disposing kills the members and deletes the
/// data; so do SIGINT, SIGTERM and process exit, because a benchmark is often stopped with Ctrl-C.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    public sealed record Member(string Name, string ClientUrl, string PeerUrl, string DataDir);

    private readonly DirectoryInfo _root;
    private readonly List<(Member Member, Process Process, LogTail Log)> _members = [];
    private int _stopped;

    private EtcdCluster(DirectoryInfo root, string version)
    {
        _root = root;
        Version = version;
    }

    /// <summary>The etcd server version, e.g. "3.4.23".</summary>
    public string Version { get; }

    public IReadOnlyList<Member> Members => _members.Select(m => m.Member).ToList();

    /// <summary>User and kernel time of the member processes so far, summed.</summary>
    public TimeSpan MembersCpu()
    {
        var total = TimeSpan.Zero;
        foreach (var (_, process, _) in _members)
        {
            process.Refresh();
            total += process.TotalProcessorTime;
        }

        return total;
    }

    /// <summary>Starts the members and returns once every one of them reports healthy and a write has committed.</summary>
    public static async Task<EtcdCluster> StartAsync(int members = 3, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var etcd = await EnsureInstalledAsync(cancellationToken);
        var version = await VersionOfAsync(etcd, cancellationToken);

        var cluster = new EtcdCluster(Directory.CreateTempSubdirectory("protoswarm-etcd-"), version);
        ExitCleanup.Register(cluster, cluster.Stop);
        try
        {
            var ports = LoopbackPorts.Free(2 * members);
            var planned = Enumerable.Range(0, members)
                .Select(i => new Member($"m{i}", $"http://127.0.0.1:{ports[2 * i]}", $"http://127.0.0.1:{ports[(2 * i) + 1]}", Path.Combine(cluster._root.FullName, $"m{i}")))
                .ToList();
            var initialCluster = string.Join(',', planned.Select(m => $"{m.Name}={m.PeerUrl}"));
            foreach (var member in planned)
            {
                cluster.Launch(etcd, member, initialCluster);
            }

            await cluster.WaitHealthyAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken);
            return cluster;
        }
        catch
        {
            cluster.Stop();
            throw;
        }
    }

    /// <summary>The client URL of the current leader: writes sent there skip the follower's forwarding hop.</summary>
    public async Task<string> LeaderClientUrlAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (member, _, _) in _members)
        {
            using var client = Connect(member.ClientUrl);
            var status = await client.StatusAsync(new StatusRequest(), cancellationToken: cancellationToken);
            if (status.Leader != 0 && status.Leader == status.Header.MemberId)
            {
                return member.ClientUrl;
            }
        }

        throw new InvalidOperationException($"etcd cluster in {_root.FullName} has no leader; member logs:{Environment.NewLine}{Logs()}");
    }

    /// <summary>A dotnet-etcd client over plain HTTP/2 (h2c) to one endpoint.</summary>
    public static EtcdClient Connect(string clientUrl) =>
        new(clientUrl, configureChannelOptions: options => options.Credentials = ChannelCredentials.Insecure);

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Launch(string etcd, Member member, string initialCluster)
    {
        var start = new ProcessStartInfo(etcd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", member.Name,
            "--data-dir", member.DataDir,
            "--listen-client-urls", member.ClientUrl,
            "--advertise-client-urls", member.ClientUrl,
            "--listen-peer-urls", member.PeerUrl,
            "--initial-advertise-peer-urls", member.PeerUrl,
            "--initial-cluster", initialCluster,
            "--initial-cluster-token", $"protoswarm-bench-{Environment.ProcessId}",
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var log = new LogTail();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => log.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_members)
        {
            _members.Add((member, process, log));
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var exited = _members.FirstOrDefault(m => m.Process.HasExited);
            if (exited.Process is not null)
            {
                throw new InvalidOperationException($"etcd member {exited.Member.Name} exited with code {exited.Process.ExitCode} while the cluster started; its log:{Environment.NewLine}{exited.Log}");
            }

            if (await AllHealthyAsync(http, cancellationToken))
            {
                // /health can answer before the first entry of the new term commits; one committed write proves quorum.
                using var client = Connect(await LeaderClientUrlAsync(cancellationToken));
                await client.PutAsync("protoswarm-bench/ready", "1", cancellationToken: cancellationToken);
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"etcd cluster in {_root.FullName} was not healthy after {timeout.TotalSeconds:0} s; member logs:{Environment.NewLine}{Logs()}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private async Task<bool> AllHealthyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        foreach (var (member, _, _) in _members)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"{member.ClientUrl}/health"), cancellationToken);
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                if (!response.IsSuccessStatusCode || body.RootElement.GetProperty("health").GetString() != "true")
                {
                    return false;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                return false;
            }
        }

        return true;
    }

    private string Logs() => string.Join(Environment.NewLine, _members.Select(m => $"--- {m.Member.Name} ---{Environment.NewLine}{m.Log}"));

    /// <summary>Synchronous and idempotent: it also runs from signal handlers and process exit.</summary>
    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        ExitCleanup.Forget(this);
        lock (_members)
        {
            foreach (var (_, process, _) in _members)
            {
                ExitCleanup.Kill(process);
            }
        }

        try
        {
            _root.Delete(recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Finds etcd on PATH, or installs Debian's package with benchmarks/install-etcd.sh (root only).</summary>
    private static async Task<string> EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        if (FindOnPath("etcd") is { } found)
        {
            return found;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "install-etcd.sh");
        Console.WriteLine($"etcd is not installed: installing Debian's etcd-server with {script}");
        var install = Process.Start(new ProcessStartInfo("sh") { ArgumentList = { script }, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start sh to install etcd");
        await install.WaitForExitAsync(cancellationToken);
        return install.ExitCode == 0 && FindOnPath("etcd") is { } installed
            ? installed
            : throw new InvalidOperationException(
                "etcd is not installed and benchmarks/install-etcd.sh failed (exit " + install.ExitCode + "). " +
                "As root run: apt-get update && apt-get install -y etcd-server etcd-client, then run the benchmark again.");
    }

    private static async Task<string> VersionOfAsync(string etcd, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(etcd) { ArgumentList = { "--version" }, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not run {etcd} --version");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("etcd Version:", StringComparison.Ordinal));
        return line?["etcd Version:".Length..].Trim() ?? "unknown";
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>The last lines a member logged, for the error message when it does not come up.</summary>
    private sealed class LogTail
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line);
                if (_lines.Count > 40)
                {
                    _lines.Dequeue();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return string.Join(Environment.NewLine, _lines);
            }
        }
    }
}
