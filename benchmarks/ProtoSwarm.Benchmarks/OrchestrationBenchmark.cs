using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Services on a real lab swarm (`protoswarm lab up --managers 1 --workers 2`, each node a protoswarmd
/// in its own network namespace, tasks run by the test executor): how long 1,000 replicas take from
/// `service create` to all running, and how long the tasks of a SIGKILLed worker take to run
/// elsewhere. The baseline, measured in the same run on the same lab, is one replica from create to
/// running: the fixed cost of the path (write, schedule, dispatch, start, report), which the large
/// service pays once per batch rather than once per task. Needs root (namespaces) and the built CLI.
/// </summary>
public static class OrchestrationBenchmark
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public sealed record Row(string Workload, int Tasks, double Seconds, string Goal);

    public static async Task<List<Row>> RunAsync(int replicas)
    {
        var cli = LocateCli();
        var name = string.Create(CultureInfo.InvariantCulture, $"bench{Environment.ProcessId % 10_000}");
        var rows = new List<Row>();
        Run(cli, "lab", "up", "--name", name, "--managers", "1", "--workers", "2");
        try
        {
            var nodes = LabNodes(cli, name);
            var manager = new ControlClient(Path.Combine(nodes["m1"].StateDir, ControlClient.SocketFileName));
            await WaitAsync(async () => (await manager.RequestAsync<NodeList>(new ListNodes(Id()), Timeout)).Nodes.Count(n => n.Status.State == NodeState.Ready) == 3);

            var one = await CreateAndWaitAsync(manager, "one", 1);
            rows.Add(new Row("1 replica, create to running (baseline)", 1, one, ""));

            var many = await CreateAndWaitAsync(manager, "many", replicas);
            rows.Add(new Row($"{replicas:N0} replicas over 3 nodes, create to all running", replicas, many, "under 10 s"));

            var tasks = await TasksAsync(manager, "many");
            var nodeNames = tasks.NodeNames;
            var onW2 = tasks.Tasks.Count(t => nodeNames.GetValueOrDefault(t.NodeId) == "w2" && Running(t));
            var clock = Stopwatch.StartNew();
            using (var process = Process.GetProcessById(nodes["w2"].Pid))
            {
                process.Kill();
            }

            await WaitAsync(async () =>
            {
                var list = await TasksAsync(manager, "many");
                return list.Tasks.Count(t => Running(t) && list.NodeNames.GetValueOrDefault(t.NodeId) != "w2") == replicas;
            });
            rows.Add(new Row($"SIGKILL of a worker to its {onW2} tasks running elsewhere", onW2, clock.Elapsed.TotalSeconds, "under 3 s"));
        }
        finally
        {
            Run(cli, "lab", "down", "--name", name);
        }

        return rows;
    }

    public static void Print(IReadOnlyList<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine("## Orchestration on a lab swarm (1 manager + 2 workers, test executor)");
        Console.WriteLine();
        Console.WriteLine("| workload | tasks | seconds | tasks/s | vs baseline (time per task) | goal |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|");
        var baseline = rows[0];
        foreach (var r in rows)
        {
            var ratio = ReferenceEquals(r, baseline) ? "1.00x (baseline)" : $"{baseline.Seconds / baseline.Tasks / (r.Seconds / r.Tasks):0.0}x faster";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Workload} | {r.Tasks:N0} | {r.Seconds:0.000} | {r.Tasks / r.Seconds:N0} | {ratio} | {r.Goal} |"));
        }
    }

    private static bool Running(TaskObject t) => t.DesiredState == TaskState.Running && t.Status.State == TaskState.Running;

    private static async Task<double> CreateAndWaitAsync(ControlClient manager, string name, int replicas)
    {
        var spec = new ServiceSpec(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas), new TaskSpec(new ContainerSpec("bench:1")));
        var clock = Stopwatch.StartNew();
        await manager.RequestAsync<ServiceCreated>(new CreateService(Id(), spec), Timeout);
        await WaitAsync(async () => (await TasksAsync(manager, name)).Tasks.Count(Running) == replicas);
        return clock.Elapsed.TotalSeconds;
    }

    private static Task<TaskList> TasksAsync(ControlClient manager, string service) =>
        manager.RequestAsync<TaskList>(new ListTasks(Id(), [service]), Timeout);

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Limit)
            {
                throw new TimeoutException($"Not reached within {Limit.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }

    private sealed record LabNode(string StateDir, int Pid);

    private static Dictionary<string, LabNode> LabNodes(string cli, string lab) =>
        Run(cli, "lab", "ls", "--name", lab, "--format", "json")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(
                n => n.GetProperty("Name").GetString()!,
                n => new LabNode(n.GetProperty("StateDir").GetString()!, n.GetProperty("Pid").GetInt32()),
                StringComparer.Ordinal);

    internal static string Run(string file, params string[] arguments)
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
        return process.ExitCode == 0
            ? stdout.Result
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
    }

    /// <summary>$PROTOSWARM_CLI, else out/bin/protoswarm (scripts/up.sh builds it there), searched upwards from here.</summary>
    internal static string LocateCli()
    {
        if (Environment.GetEnvironmentVariable("PROTOSWARM_CLI") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "out", "bin", "protoswarm");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("Cannot find the protoswarm CLI: run `bash scripts/up.sh` once (it builds out/bin), or set PROTOSWARM_CLI.");
    }

    private static string Id() => Guid.NewGuid().ToString("N");
}
