using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// What an idle swarm costs: a lab of M managers and W workers (`protoswarm lab up`, nothing deployed), left to settle,
/// then each node host watched from /proc for a while: CPU (utime + stime of all its threads), wake-ups (context switches
/// of all its threads: each is a thread that slept and was woken, or was preempted), and TCP segments sent and received
/// in its network namespace (a lab node has one of its own; each Proto.Remote message between two nodes is usually one
/// segment, its ACK another). Each daemon given gets its own lab, one after the other in the same run, so a build and
/// the one before it are compared on the same machine at the same moment (`base=/tmp/old/protoswarmd new=out/bin/protoswarmd`).
/// Needs root and the CLI in out/bin (scripts/setup.sh).
/// </summary>
public static class IdleBenchmark
{
    private static readonly TimeSpan ReadyLimit = TimeSpan.FromSeconds(120);

    public sealed record Daemon(string Label, string? Path);

    /// <summary>One node host's figures over the window.</summary>
    public sealed record Row(string Build, string Node, bool Manager, double CpuPercent, double WakeupsPerSecond, double SegmentsOutPerSecond, double SegmentsInPerSecond,
        int Threads, IReadOnlyDictionary<string, double> WakeupsByThread);

    /// <summary>Parses `label=path` (or a bare path, labelled by its folder's name); none: this build's daemon, as `lab up` finds it.</summary>
    public static List<Daemon> ParseDaemons(IEnumerable<string> args)
    {
        var daemons = args.Select(a => a.Split('=', 2) is [var label, var path] ? new Daemon(label, path) : new Daemon(System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(a))) ?? a, a)).ToList();
        return daemons.Count > 0 ? daemons : [new Daemon("this build", null)];
    }

    public static async Task<List<Row>> RunAsync(IReadOnlyList<Daemon> daemons, int managers, int workers, TimeSpan settle, TimeSpan window)
    {
        var cli = OrchestrationBenchmark.LocateCli();
        var rows = new List<Row>();
        foreach (var daemon in daemons)
        {
            rows.AddRange(await RunOneAsync(cli, daemon, managers, workers, settle, window));
        }

        return rows;
    }

    private static async Task<List<Row>> RunOneAsync(string cli, Daemon daemon, int managers, int workers, TimeSpan settle, TimeSpan window)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"idle{Environment.ProcessId % 10_000}");
        Console.Error.WriteLine($"[idle] {daemon.Label}: lab {name}, {managers} manager(s) and {workers} worker(s)");
        string[] up = ["lab", "up", "--name", name, "--managers", managers.ToString(CultureInfo.InvariantCulture), "--workers", workers.ToString(CultureInfo.InvariantCulture)];
        OrchestrationBenchmark.Run(cli, daemon.Path is { } path ? [.. up, "--daemon", path] : up);
        ExitCleanup.Register(name, () => OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name));
        try
        {
            var manager = new ControlClient(System.IO.Path.Combine("/var/lib/protoswarm-lab", name, "m1", ControlClient.SocketFileName));
            var clock = Stopwatch.StartNew();
            while ((await manager.RequestAsync<NodeList>(new ListNodes(Guid.NewGuid().ToString("N")), TimeSpan.FromSeconds(10))).Nodes
                   .Count(n => n.Status.State == NodeState.Ready) < managers + workers)
            {
                if (clock.Elapsed > ReadyLimit)
                {
                    throw new TimeoutException($"The lab's {managers + workers} nodes were not all Ready within {ReadyLimit.TotalSeconds} s");
                }

                await Task.Delay(500);
            }

            Console.Error.WriteLine($"[idle] {daemon.Label}: all Ready after {clock.Elapsed.TotalSeconds:0} s; settling {settle.TotalSeconds:0} s, then watching {window.TotalSeconds:0} s");
            await Task.Delay(settle);
            var nodes = OrchestrationBenchmark.Run(cli, "lab", "ls", "--name", name, "--format", "json")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
                .Select(e => (Node: e.GetProperty("Name").GetString()!, Pid: e.GetProperty("Pid").GetInt32()))
                .ToList();
            var before = nodes.Select(n => Sample.Of(n.Pid)).ToList();
            var watch = Stopwatch.StartNew();
            await Task.Delay(window);
            var after = nodes.Select(n => Sample.Of(n.Pid)).ToList();
            var seconds = watch.Elapsed.TotalSeconds;
            return [.. nodes.Select((n, i) => Sample.Row(daemon.Label, n.Node, n.Node.StartsWith('m'), before[i], after[i], seconds))];
        }
        finally
        {
            ExitCleanup.Forget(name);
            OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name);
        }
    }

    public static void Print(IReadOnlyList<Row> rows, int managers, int workers, TimeSpan settle, TimeSpan window)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"## Idle swarm: {managers} manager(s) + {workers} worker(s), nothing deployed, watched {window.TotalSeconds:0} s after {settle.TotalSeconds:0} s of settling (all nodes Ready)"));
        Console.WriteLine();
        Console.WriteLine("CPU: % of one core (utime + stime, all threads). Wake-ups: context switches of all threads per second (voluntary + preempted). Segments: TCP segments per second in the node's network namespace.");
        Console.WriteLine();
        Console.WriteLine("| build | node | CPU % | wake-ups/s | TCP segments out/s | TCP segments in/s | threads |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Build} | {r.Node} | {r.CpuPercent:0.00} | {r.WakeupsPerSecond:0} | {r.SegmentsOutPerSecond:0.0} | {r.SegmentsInPerSecond:0.0} | {r.Threads} |"));
        }

        Console.WriteLine();
        Console.WriteLine("| build | role | mean CPU % | mean wake-ups/s | mean segments out/s |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        foreach (var group in rows.GroupBy(r => (r.Build, r.Manager)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key.Build} | {(group.Key.Manager ? "manager" : "worker")} | {group.Average(r => r.CpuPercent):0.00} | {group.Average(r => r.WakeupsPerSecond):0} | {group.Average(r => r.SegmentsOutPerSecond):0.0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Wake-ups/s by thread name, mean per node of the role (which of the runtime's threads were woken):");
        Console.WriteLine();
        Console.WriteLine("| build | role | thread | wake-ups/s |");
        Console.WriteLine("|---|---|---|---:|");
        foreach (var group in rows.GroupBy(r => (r.Build, r.Manager)))
        {
            var count = group.Count();
            var byThread = group.SelectMany(r => r.WakeupsByThread).GroupBy(kv => kv.Key).Select(g => (Thread: g.Key, Rate: g.Sum(kv => kv.Value) / count))
                .Where(t => t.Rate >= 0.5).OrderByDescending(t => t.Rate);
            foreach (var (thread, rate) in byThread)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {group.Key.Build} | {(group.Key.Manager ? "manager" : "worker")} | {thread} | {rate:0} |"));
            }
        }
    }

    /// <summary>A node host's counters at one instant, from /proc.</summary>
    private sealed record Sample(long CpuTicks, Dictionary<int, (string Name, long Switches)> Threads, long SegmentsOut, long SegmentsIn)
    {
        private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

        public static Sample Of(int pid)
        {
            // Fields after the command's closing parenthesis: state is field 3, utime 14 and stime 15.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            var threads = new Dictionary<int, (string, long)>();
            foreach (var dir in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var status = File.ReadAllLines(System.IO.Path.Combine(dir, "status"));
                    var switches = status.Where(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || l.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        .Sum(l => long.Parse(l[(l.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture));
                    threads[int.Parse(System.IO.Path.GetFileName(dir), CultureInfo.InvariantCulture)] = (File.ReadAllText(System.IO.Path.Combine(dir, "comm")).Trim(), switches);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            // /proc/PID/net/snmp is the process's network namespace's: a "Tcp:" header line, then its values.
            var tcp = File.ReadAllLines($"/proc/{pid}/net/snmp").Where(l => l.StartsWith("Tcp:", StringComparison.Ordinal)).ToList();
            var names = tcp[0].Split(' ');
            var values = tcp[1].Split(' ');
            long Field(string field) => long.Parse(values[Array.IndexOf(names, field)], CultureInfo.InvariantCulture);
            return new Sample(cpu, threads, Field("OutSegs"), Field("InSegs"));
        }

        /// <summary>The rates between two samples; a thread born meanwhile counts from zero, one that ended is lost (few: pool threads live on).</summary>
        public static Row Row(string build, string node, bool manager, Sample before, Sample after, double seconds)
        {
            var byThread = new Dictionary<string, double>(StringComparer.Ordinal);
            double total = 0;
            foreach (var (tid, (threadName, switches)) in after.Threads)
            {
                var delta = switches - (before.Threads.TryGetValue(tid, out var then) ? then.Switches : 0);
                // One name for the pool's numbered threads and the like: ".NET TP Worker", ".NET Timer".
                var kind = threadName.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '#');
                byThread[kind] = byThread.GetValueOrDefault(kind) + delta / seconds;
                total += delta;
            }

            return new Row(build, node, manager, (after.CpuTicks - before.CpuTicks) / TicksPerSecond / seconds * 100, total / seconds,
                (after.SegmentsOut - before.SegmentsOut) / seconds, (after.SegmentsIn - before.SegmentsIn) / seconds, after.Threads.Count, byThread);
        }
    }
}
