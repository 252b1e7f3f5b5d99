using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// The scheduler alone (no actors, no store) placing 10,000 tasks of one service on 1,000 simulated
/// nodes, against the naive baseline measured in the same run: every task on its own, every node
/// filtered again for it. Nodes vary in size, 10% are drained, a fifth are labelled tier=db, they
/// sit in 3 zones and already run 2 tasks each; the tasks reserve 0.1 CPU and 64 MiB and carry a
/// constraint (node.labels.tier!=db), so every filter runs.
/// </summary>
public static class SchedulerBenchmark
{
    public sealed record Row(string Name, List<double> RunsMs, int Placed)
    {
        public double MedianMs => RunsMs.Order().ElementAt(RunsMs.Count / 2);
    }

    public static List<Row> Run(TimeSpan perRow, int nodeCount = 1_000, int taskCount = 10_000)
    {
        var nodes = Nodes(nodeCount);
        var existing = nodes.SelectMany(n => Enumerable.Range(0, 2).Select(k => Task($"{n.Id}-{k}", k == 0 ? "web" : "other", n.Id))).ToList();
        var ids = Enumerable.Range(1, taskCount).Select(i => $"t{i:D6}").ToList();
        var plain = Demand([]);
        var spread = Demand([new PlacementPreference("node.labels.zone")]);
        var pending = ids.Select((id, i) => Task(id, "web", "") with { Slot = i + 1, Status = new TaskObservedStatus(TaskState.Pending, DateTimeOffset.UnixEpoch) }).ToList();

        return
        [
            Measure("one task at a time over all nodes (baseline)", perRow, () => NodeInfo.CreateAll(nodes, existing),
                views => OneTaskAtATime.Place(plain, ids, views).Length),
            Measure("batch (Scheduler.PlaceBatch)", perRow, () => NodeInfo.CreateAll(nodes, existing),
                views => Scheduler.PlaceBatch(plain, ids, views).Assignments.Length),
            Measure("batch, spread=node.labels.zone", perRow, () => NodeInfo.CreateAll(nodes, existing),
                views => Scheduler.PlaceBatch(spread, ids, views).Assignments.Length),
            Measure("Scheduler.Schedule from store objects (views built, tasks grouped, constraints parsed)", perRow, () => 0,
                _ => Scheduler.Schedule(pending, nodes, existing).Assignments.Length),
        ];
    }

    private static Row Measure<T>(string name, TimeSpan perRow, Func<T> setup, Func<T, int> place)
    {
        place(setup());
        var runs = new List<double>();
        var placed = 0;
        var until = Stopwatch.GetTimestamp() + (long)(perRow.TotalSeconds * Stopwatch.Frequency);
        while (runs.Count < 3 || Stopwatch.GetTimestamp() < until)
        {
            var state = setup();
            var start = Stopwatch.GetTimestamp();
            placed = place(state);
            runs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return new Row(name, runs, placed);
    }

    public static void Print(int nodeCount, int taskCount, IReadOnlyList<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## Scheduler alone: {taskCount:N0} tasks of one service on {nodeCount:N0} simulated nodes"));
        Console.WriteLine();
        Console.WriteLine("| workload | runs | placed | median ms | min ms | max ms | tasks/s | vs baseline |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var baseline = rows[0];
        foreach (var r in rows)
        {
            var ratio = ReferenceEquals(r, baseline) ? "1.00x (baseline)" : $"{baseline.MedianMs / r.MedianMs:0.0}x faster";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.RunsMs.Count} | {r.Placed:N0} | {r.MedianMs:0.0} | {r.RunsMs.Min():0.0} | {r.RunsMs.Max():0.0} | {taskCount / (r.MedianMs / 1000):N0} | {ratio} |"));
        }
    }

    private static TaskDemand Demand(ImmutableArray<PlacementPreference> preferences) =>
        TaskDemand.From("web", Spec(preferences), null);

    private static TaskSpec Spec(ImmutableArray<PlacementPreference> preferences) => new(
        new ContainerSpec("nginx:1.27"),
        new ResourceRequirements(ResourceAmounts.None, new ResourceAmounts(100_000_000, 64L << 20)),
        Placement: new Placement(["node.labels.tier!=db"], preferences));

    private static List<NodeObject> Nodes(int count)
    {
        var random = new Random(42);
        var t0 = DateTimeOffset.UnixEpoch;
        return
        [
            .. Enumerable.Range(0, count).Select(i =>
            {
                var id = $"node{i:D5}";
                var labels = ImmutableSortedDictionary<string, string>.Empty.Add("zone", $"z{i % 3}");
                if (random.Next(5) == 0)
                {
                    labels = labels.Add("tier", "db");
                }

                return new NodeObject(
                    id,
                    new ObjectMeta(1, t0, t0),
                    new NodeSpec(NodeRole.Worker, random.Next(10) == 0 ? NodeAvailability.Drain : NodeAvailability.Active, labels),
                    NodeRole.Worker,
                    new NodeDescription(id, "linux", "x86_64", random.Next(2, 17) * 1_000_000_000L, random.Next(4, 65) * (1L << 30), "0.1.0"),
                    new NodeStatus(NodeState.Ready, "", "10.0.0.1", t0),
                    null,
                    null);
            }),
        ];
    }

    private static TaskObject Task(string id, string serviceId, string nodeId) => new(
        id, new ObjectMeta(1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch), serviceId, 0, nodeId, Spec([]), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Running, DateTimeOffset.UnixEpoch));
}
