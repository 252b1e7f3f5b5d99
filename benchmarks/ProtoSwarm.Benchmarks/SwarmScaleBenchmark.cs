using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// A service of N busybox `sleep` replicas, real containers, from `service create --detach` to N/N
/// running, then from `service rm` to no container left: ProtoSwarm in a 1-node and a 3-node lab
/// (`protoswarm lab up`, the busybox root from scripts/images/busybox-rootfs.sh imported on m1 and
/// pushed to the swarm's registry, which the other nodes pull from), against real Docker Swarm on
/// one node in the same run (<see cref="DockerSwarmProcess"/>, the same root imported as
/// local/busybox:1). The timed `service create` and `service rm` are one CLI process each on m1's
/// control socket (`protoswarm -H unix://...`), the same shape as Docker's `docker -H unix://...`. Needs root, the CLI in out/bin (scripts/setup.sh), and Debian's docker.io
/// (installed when missing).
/// </summary>
public static class SwarmScaleBenchmark
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(900);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const string Service = "scale";

    public sealed record Row(string System, int Nodes, int Replicas, double CreateSeconds, double RemoveSeconds, string Note);

    public static async Task<List<Row>> RunAsync(int replicas, IReadOnlyList<int> labSizes)
    {
        var tar = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"psbench-busybox-{Environment.ProcessId}.tar"));
        var script = Path.Combine(RepositoryRoot(), "scripts", "images", "busybox-rootfs.sh");
        OrchestrationBenchmark.Run("bash", script, tar);
        var rows = new List<Row>();
        try
        {
            foreach (var nodes in labSizes)
            {
                rows.Add(await ProtoSwarmAsync(OrchestrationBenchmark.LocateCli(), tar, nodes, replicas));
            }

            rows.Add(await DockerAsync(tar, replicas));
        }
        finally
        {
            File.Delete(tar);
        }

        return rows;
    }

    public static void Print(IReadOnlyList<Row> rows)
    {
        var docker = rows.LastOrDefault(r => r.System.StartsWith("Docker", StringComparison.Ordinal));
        Console.WriteLine();
        Console.WriteLine($"## Swarm scale: a service of {rows[0].Replicas} busybox `sleep` replicas (real containers), create to N/N running, rm to no container left");
        Console.WriteLine();
        Console.WriteLine("| system | nodes | replicas | seconds to N/N | vs Docker (time) | seconds to remove | vs Docker (time) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.System} | {r.Nodes} | {r.Replicas} | {r.CreateSeconds:0.00} | {Ratio(r.CreateSeconds, docker?.CreateSeconds, r == docker)} | {r.RemoveSeconds:0.00} | {Ratio(r.RemoveSeconds, docker?.RemoveSeconds, r == docker)} |"));
        }

        foreach (var r in rows.Where(r => r.Note.Length > 0))
        {
            Console.WriteLine($"- {r.System}, {r.Nodes} node(s): {r.Note}");
        }
    }

    /// <summary>This row's time as a share of Docker's (the goal is at most 0.10), with how many times faster.</summary>
    private static string Ratio(double seconds, double? docker, bool isDocker) =>
        isDocker ? "1.00 (baseline)"
        : docker is not { } d ? "-"
        : seconds <= d
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds / d:0.000} ({d / seconds:0.0}x faster)")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / d:0.000} ({seconds / d:0.0}x slower)");

    private static async Task<Row> ProtoSwarmAsync(string cli, string tar, int nodes, int replicas)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"ss{Environment.ProcessId % 10_000}-{nodes}");
        Console.Error.WriteLine($"[swarm-scale] ProtoSwarm: lab {name}, {nodes} node(s)");
        OrchestrationBenchmark.Run(cli, "lab", "up", "--name", name, "--managers", "1", "--workers", (nodes - 1).ToString(CultureInfo.InvariantCulture));
        ExitCleanup.Register(name, () => OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name));
        try
        {
            OnManager(cli, name, "image", "import", tar, "busybox:latest");
            OnManager(cli, name, "image", "push", "busybox:latest");
            var stateDir = Path.Combine("/var/lib/protoswarm-lab", name);
            var manager = new ControlClient(Path.Combine(stateDir, "m1", ControlClient.SocketFileName));
            await WaitAsync(async () => (await manager.RequestAsync<NodeList>(new ListNodes(Id()), Timeout)).Nodes.Count(n => n.Status.State == NodeState.Ready) == nodes);
            var namespaces = Enumerable.Range(1, nodes - 1).Select(i => $"w{i}").Prepend("m1").Select(n => $"psl-{name}-{n}").ToList();
            var daemons = DaemonPids(cli, name);

            // The measured commands are one CLI process talking to m1's control socket (-H), as Docker's
            // side is one `docker -H unix://...` process; the lab's nodes share this mount namespace, so the
            // socket is reachable from here without `lab exec` (a second process and nsenter).
            var host = "unix://" + Path.Combine(stateDir, "m1", ControlClient.SocketFileName);
            var clock = Stopwatch.StartNew();
            OrchestrationBenchmark.Run(cli, "-H", host, "service", "create", "--detach", "--name", Service, "--replicas", replicas.ToString(CultureInfo.InvariantCulture),
                "busybox:latest", "sleep", "100000");
            await WaitAsync(async () => (await manager.RequestAsync<TaskList>(new ListTasks(Id(), [Service]), Timeout)).Tasks
                .Count(t => t.DesiredState == TaskState.Running && t.Status.State == TaskState.Running) == replicas);
            var create = clock.Elapsed.TotalSeconds;
            var monitors = Monitors(namespaces, daemons);

            clock.Restart();
            OrchestrationBenchmark.Run(cli, "-H", host, "service", "rm", Service);
            await WaitAsync(() => Task.FromResult(Monitors(namespaces, daemons) == 0));
            var remove = clock.Elapsed.TotalSeconds;
            return new Row("ProtoSwarm", nodes, replicas, create, remove,
                string.Create(CultureInfo.InvariantCulture, $"{monitors} container monitor(s) in the nodes' namespaces at N/N"));
        }
        finally
        {
            ExitCleanup.Forget(name);
            OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name);
        }
    }

    private static async Task<Row> DockerAsync(string tar, int replicas)
    {
        // Started first: it installs docker.io when dockerd is missing, which asking its version before did not wait for.
        using var docker = await DockerSwarmProcess.StartAsync();
        Console.Error.WriteLine($"[swarm-scale] Docker Swarm: {DockerSwarmProcess.Version()}");
        docker.Import(tar, "local/busybox:1");

        var clock = Stopwatch.StartNew();
        docker.Checked("service", "create", "--detach", "--no-resolve-image", "--name", Service,
            "--replicas", replicas.ToString(CultureInfo.InvariantCulture), "local/busybox:1", "sleep", "100000");
        var goal = string.Create(CultureInfo.InvariantCulture, $"{replicas}/{replicas}");
        await WaitAsync(() => Task.FromResult(docker.Checked("service", "ls", "--filter", $"name={Service}", "--format", "{{.Replicas}}").Trim() == goal), 200);
        var create = clock.Elapsed.TotalSeconds;
        var containers = Lines(docker.Checked("ps", "-q")).Count;

        clock.Restart();
        docker.Checked("service", "rm", Service);
        await WaitAsync(() => Task.FromResult(Lines(docker.Checked("ps", "-aq")).Count == 0), 200);
        var remove = clock.Elapsed.TotalSeconds;
        docker.Dispose();
        var left = docker.Leftovers();
        return new Row("Docker Swarm 20.10 (docker.io)", 1, replicas, create, remove,
            string.Create(CultureInfo.InvariantCulture, $"{containers} container(s) running at N/N; after cleanup: {(left.Count == 0 ? "nothing left" : string.Join(", ", left))}"));
    }

    internal static void OnManager(string cli, string lab, params string[] command) =>
        OrchestrationBenchmark.Run(cli, ["lab", "exec", "m1", "--name", lab, "--", cli, .. command]);

    private static HashSet<int> DaemonPids(string cli, string lab) =>
        [.. Lines(OrchestrationBenchmark.Run(cli, "lab", "ls", "--name", lab, "--format", "json"))
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("Pid").GetInt32())];

    /// <summary>The containers left on the nodes, counted by their monitors: the processes in the nodes'
    /// namespaces other than the node hosts are monitors; one of a container's own counts for it, a node's
    /// shared monitor (`protoswarm-init --host`, which outlives its containers) for each child it has.</summary>
    internal static int Monitors(IEnumerable<string> namespaces, HashSet<int> daemons) =>
        namespaces.Sum(ns => Lines(OrchestrationBenchmark.Run("ip", "netns", "pids", ns))
            .Select(pid => int.Parse(pid, CultureInfo.InvariantCulture))
            .Where(pid => !daemons.Contains(pid))
            .Sum(ContainersOf));

    private static int ContainersOf(int monitor)
    {
        try
        {
            if (!File.ReadAllText($"/proc/{monitor}/cmdline").Contains("\0--host", StringComparison.Ordinal))
            {
                return 1;
            }
            return Directory.GetDirectories($"/proc/{monitor}/task")
                .Sum(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // it ended meanwhile
        }
    }

    private static List<string> Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    internal static async Task WaitAsync(Func<Task<bool>> condition, int pollMs = 50)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Limit)
            {
                throw new TimeoutException($"Not reached within {Limit.TotalSeconds} s");
            }

            await Task.Delay(pollMs);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ProtoSwarm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ProtoSwarm.sln above {AppContext.BaseDirectory}: run the benchmark from the repository.");
    }

    private static string Id() => Guid.NewGuid().ToString("N");
}
