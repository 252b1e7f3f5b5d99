using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Debian's dockerd (docker.io 20.10), started by the benchmark as a one-node swarm that changes
/// nothing lasting on the machine: its socket, data root, exec root, pid file and config under
/// DIR=/tmp/psbench-docker-PID, no docker0 (--bridge=none), no iptables rules (--iptables=false,
/// --ip-masq=false), containers' cgroups under a parent named after DIR, and
/// DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 so that services use a local image without a registry.
/// <see cref="Dispose"/> (also run by <see cref="ExitCleanup"/> on Ctrl-C) leaves the swarm, stops
/// the daemon and everything it started, and removes what it made: mounts under DIR, DIR itself,
/// the docker_gwbridge link swarm init creates, the cgroups, /etc/docker/key.json and /run/docker
/// when they were not there before.
/// </summary>
internal sealed class DockerSwarmProcess : IDisposable
{
    public const string Dockerd = "/usr/sbin/dockerd";
    public const string Docker = "/usr/bin/docker";
    private const string GatewayBridge = "docker_gwbridge";
    private const string TrustKey = "/etc/docker/key.json";
    private const string RunDir = "/run/docker";

    private readonly Process _daemon;
    private readonly string _dir;
    private readonly bool _hadGatewayBridge;
    private readonly bool _hadTrustKey;
    private readonly bool _hadRunDir;
    private int _disposed;

    private DockerSwarmProcess(Process daemon, string dir, bool hadGatewayBridge, bool hadTrustKey, bool hadRunDir)
    {
        _daemon = daemon;
        _dir = dir;
        _hadGatewayBridge = hadGatewayBridge;
        _hadTrustKey = hadTrustKey;
        _hadRunDir = hadRunDir;
    }

    public string Socket => Path.Combine(_dir, "docker.sock");

    private string Name => Path.GetFileName(_dir);

    /// <summary>Installs docker.io when missing (benchmarks/install-docker.sh, root), starts dockerd and inits the swarm.</summary>
    public static async Task<DockerSwarmProcess> StartAsync()
    {
        if (!File.Exists(Dockerd) || !File.Exists(Docker))
        {
            var script = Path.Combine(AppContext.BaseDirectory, "install-docker.sh");
            var install = Exec("sh", script);
            if (install.ExitCode != 0 || !File.Exists(Dockerd))
            {
                throw new InvalidOperationException($"Debian's docker.io is needed for the Docker Swarm baseline and {script} failed: {install.Output}");
            }
        }

        var dir = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"psbench-docker-{Environment.ProcessId}"));
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "daemon.json"), "{}\n");
        var hadGatewayBridge = Directory.Exists($"/sys/class/net/{GatewayBridge}");
        var psi = new ProcessStartInfo(Dockerd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["DOCKER_SERVICE_PREFER_OFFLINE_IMAGE"] = "1" },
        };
        foreach (var argument in new[]
        {
            "--host", $"unix://{Path.Combine(dir, "docker.sock")}",
            "--data-root", Path.Combine(dir, "data"),
            "--exec-root", Path.Combine(dir, "exec"),
            "--pidfile", Path.Combine(dir, "docker.pid"),
            "--config-file", Path.Combine(dir, "daemon.json"),
            "--bridge", "none",
            "--iptables=false",
            "--ip-masq=false",
            "--cgroup-parent", Path.GetFileName(dir),
        })
        {
            psi.ArgumentList.Add(argument);
        }

        var daemon = Process.Start(psi) ?? throw new InvalidOperationException($"{Dockerd} did not start");
        var log = new StringBuilder();
        daemon.OutputDataReceived += (_, e) => Append(log, e.Data);
        daemon.ErrorDataReceived += (_, e) => Append(log, e.Data);
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        var docker = new DockerSwarmProcess(daemon, dir, hadGatewayBridge, File.Exists(TrustKey), Directory.Exists(RunDir));
        ExitCleanup.Register(docker, docker.Dispose);

        var clock = Stopwatch.StartNew();
        while (docker.Cli("version").ExitCode != 0)
        {
            if (daemon.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                string text;
                lock (log)
                {
                    text = log.ToString();
                }

                docker.Dispose();
                throw new InvalidOperationException($"dockerd did not answer on its socket within 60 s: {text}");
            }

            await Task.Delay(200);
        }

        docker.Checked("swarm", "init", "--advertise-addr", "127.0.0.1");
        return docker;
    }

    public static string Version() => Exec(Dockerd, "--version").Output.Trim();

    /// <summary>`docker -H unix://DIR/docker.sock ARGS`, its exit code and output (stdout then stderr).</summary>
    public (int ExitCode, string Output) Cli(params string[] arguments) =>
        Exec(Docker, ["-H", $"unix://{Socket}", .. arguments]);

    public string Checked(params string[] arguments)
    {
        var (code, output) = Cli(arguments);
        return code == 0 ? output : throw new InvalidOperationException($"docker {string.Join(' ', arguments)} failed ({code}): {output}");
    }

    /// <summary>`docker import - TAG` with the rootfs tar on stdin, as `tar -C rootfs -c . | docker import - TAG` does.</summary>
    public void Import(string rootfsTar, string tag)
    {
        var psi = new ProcessStartInfo(Docker) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-H", $"unix://{Socket}", "import", "-", tag })
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var tar = File.OpenRead(rootfsTar))
        {
            tar.CopyTo(process.StandardInput.BaseStream);
        }

        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker import failed: {stderr.Result}{stdout.Result}");
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ExitCleanup.Forget(this);
        Cli("swarm", "leave", "--force");
        var containers = Cli("ps", "-aq").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (containers.Length > 0)
        {
            Cli(["rm", "-f", .. containers]);
        }

        if (!_daemon.HasExited)
        {
            Exec("kill", "-TERM", _daemon.Id.ToString(CultureInfo.InvariantCulture));
            if (!_daemon.WaitForExit(30_000))
            {
                _daemon.Kill();
                _daemon.WaitForExit(5_000);
            }
        }

        _daemon.Dispose();

        // containerd, its shims and any container process left: whatever names DIR or sits in its cgroups.
        foreach (var pid in LeftoverPids())
        {
            Exec("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture));
        }

        Thread.Sleep(500);
        foreach (var mount in MountsUnder(_dir))
        {
            Exec("umount", "-l", mount);
        }

        if (!_hadGatewayBridge && Directory.Exists($"/sys/class/net/{GatewayBridge}"))
        {
            Exec("ip", "link", "del", GatewayBridge);
        }

        foreach (var cgroup in CgroupDirs().OrderByDescending(d => d.Length))
        {
            for (var attempt = 0; attempt < 20 && Directory.Exists(cgroup); attempt++)
            {
                try
                {
                    Directory.Delete(cgroup);
                }
                catch (IOException)
                {
                    Thread.Sleep(100);
                }
            }
        }

        if (!_hadTrustKey)
        {
            File.Delete(TrustKey);
        }

        if (!_hadRunDir && Directory.Exists(RunDir))
        {
            Directory.Delete(RunDir, recursive: true);
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>What the cleanup could not remove, for the benchmark to report (empty when the machine is as before).</summary>
    public IReadOnlyList<string> Leftovers()
    {
        var left = new List<string>();
        left.AddRange(LeftoverPids().Select(p => string.Create(CultureInfo.InvariantCulture, $"process {p}")));
        left.AddRange(MountsUnder(_dir).Select(m => $"mount {m}"));
        left.AddRange(CgroupDirs().Select(c => $"cgroup {c}"));
        if (Directory.Exists(_dir))
        {
            left.Add($"directory {_dir}");
        }

        if (!_hadGatewayBridge && Directory.Exists($"/sys/class/net/{GatewayBridge}"))
        {
            left.Add($"link {GatewayBridge}");
        }

        return left;
    }

    private List<int> LeftoverPids()
    {
        var pids = new HashSet<int>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(proc, "cmdline")).Contains(_dir, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // gone meanwhile
            }
        }

        foreach (var cgroup in CgroupDirs())
        {
            try
            {
                foreach (var line in File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")))
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    {
                        pids.Add(pid);
                    }
                }
            }
            catch (IOException)
            {
                // removed meanwhile
            }
        }

        return [.. pids];
    }

    /// <summary>Directories named after DIR in the cgroup hierarchies, a few levels down, and everything under them.</summary>
    private List<string> CgroupDirs()
    {
        var found = new List<string>();
        void Walk(string dir, int depth)
        {
            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateDirectories(dir).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }

            foreach (var child in children)
            {
                if (Path.GetFileName(child) == Name)
                {
                    found.Add(child);
                    found.AddRange(Directory.EnumerateDirectories(child, "*", SearchOption.AllDirectories));
                }
                else if (depth < 5)
                {
                    Walk(child, depth + 1);
                }
            }
        }

        if (Directory.Exists("/sys/fs/cgroup"))
        {
            Walk("/sys/fs/cgroup", 0);
        }

        return found;
    }

    private static List<string> MountsUnder(string dir) =>
        [.. File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4 && (fields[4] == dir || fields[4].StartsWith(dir + "/", StringComparison.Ordinal)))
            .Select(fields => fields[4])
            .Distinct()
            .OrderByDescending(m => m.Length)];

    private static (int ExitCode, string Output) Exec(string file, params string[] arguments)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            if (log.Length < 64 * 1024)
            {
                log.Append(line).Append('\n');
            }
        }
    }
}
