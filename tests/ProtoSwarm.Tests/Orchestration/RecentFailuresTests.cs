using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Orchestration.TestServices;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>
/// Failure-aware placement as swarmkit's scheduler does it: a node where a service's tasks failed or
/// were rejected 5 times within 5 minutes ranks last for that service (and spec version).
/// </summary>
public class RecentFailuresTests
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;

    private static List<NodeInfo> Views(params NodeObject[] nodes) => [.. nodes.Select(n => View(n))];

    private static RecentFailures FailuresOn(string nodeId, int count, string serviceId = "svc", ulong specVersion = 1, DateTimeOffset? at = null)
    {
        var failures = new RecentFailures();
        for (var i = 0; i < count; i++)
        {
            failures.Record(nodeId, serviceId, specVersion, (at ?? T0).AddSeconds(i));
        }

        return failures;
    }

    private static TaskObject Failed(string id, string nodeId, string serviceId = "svc", DateTimeOffset? at = null, TaskState state = TaskState.Rejected, long slot = 1) =>
        Task(id, serviceId, nodeId, state, TaskState.Shutdown) with
        {
            Slot = slot,
            Status = new TaskObservedStatus(state, at ?? T0, Err: "image busybox not found on this node"),
        };

    private static TaskObject Pending(string id, string serviceId = "svc", long slot = 1) =>
        Task(id, serviceId, "", TaskState.Pending) with { Slot = slot };

    private static readonly HashSet<string> AllNodes = ["a", "b", "c"];
    private static readonly HashSet<string> AllServices = ["svc", "other"];

    [Fact]
    public void Five_Failures_Within_The_Window_Rank_The_Node_Last()
    {
        var counts = FailuresOn("a", 5).CountsFor("svc", 1, T0.AddMinutes(1));

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(3), Views(Node("a"), Node("b"), Node("c")), counts);

        // Without the failures a would take the first task (lowest id, all even); with them it takes
        // none, though b and c then run two of the service and a none.
        Assert.Equal("a=0 b=2 c=1", Counts(result.Assignments, ["a", "b", "c"]));
    }

    [Fact]
    public void Four_Failures_Change_Nothing()
    {
        var counts = FailuresOn("a", 4).CountsFor("svc", 1, T0.AddMinutes(1));

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(3), Views(Node("a"), Node("b"), Node("c")), counts);

        Assert.Equal(["a", "b", "c"], result.Assignments.Select(a => a.NodeId));
    }

    [Fact]
    public void Of_Two_Nodes_Over_The_Threshold_The_One_With_More_Failures_Goes_Last()
    {
        var failures = FailuresOn("a", 7);
        for (var i = 0; i < 5; i++)
        {
            failures.Record("b", "svc", 1, T0.AddSeconds(i));
        }

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(2), Views(Node("a"), Node("b")), failures.CountsFor("svc", 1, T0.AddMinutes(1)));

        Assert.Equal(["b", "b"], result.Assignments.Select(a => a.NodeId));
    }

    [Fact]
    public void A_Node_With_Failures_Is_Still_Used_When_It_Is_The_Only_Fit()
    {
        var nodes = Views(Node("a"), Node("b", state: NodeState.Down), Node("c", availability: NodeAvailability.Drain));

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(2), nodes, FailuresOn("a", 9).CountsFor("svc", 1, T0.AddMinutes(1)));

        Assert.Equal(["a", "a"], result.Assignments.Select(a => a.NodeId));
        Assert.Empty(result.Unplaced);
    }

    [Fact]
    public void Failures_Older_Than_The_Window_Are_Forgotten()
    {
        // Failures at T0 .. T0+4s: the last one is exactly 5 minutes old at T0+5min+4s and still counts.
        var failures = FailuresOn("a", 5);

        Assert.Equal(5, failures.CountOn("a", "svc", 1, T0.AddSeconds(4) + RecentFailures.Window - TimeSpan.FromSeconds(4)));
        Assert.Equal(1, failures.CountOn("a", "svc", 1, T0.AddSeconds(4) + RecentFailures.Window));
        Assert.Empty(failures.CountsFor("svc", 1, T0.AddSeconds(5) + RecentFailures.Window));

        var later = T0.AddMinutes(6);
        var (assignments, _) = Scheduler.Schedule([Pending("p1")], [Node("a"), Node("b")], [Pending("p1")], failures, later);
        Assert.Equal("a", Assert.Single(assignments).NodeId);

        failures.Prune(AllNodes, AllServices, later);
        Assert.Equal(0, failures.Count);
    }

    [Fact]
    public void Other_Services_And_Other_Spec_Versions_Are_Unaffected()
    {
        var failures = FailuresOn("a", 5, "svc", specVersion: 1);
        var pending = new[] { Pending("o1", "other"), Pending("v2", "svc") with { SpecVersion = 2 }, Pending("v1", "svc", slot: 2) };

        var (assignments, _) = Scheduler.Schedule(pending, [Node("a"), Node("b")], pending, failures, T0.AddMinutes(1));

        // other and svc's spec version 2 take a (lowest id) as if nothing failed; svc's version 1 avoids it.
        Assert.Contains(new Assignment("o1", "a"), assignments);
        Assert.Contains(new Assignment("v2", "a"), assignments);
        Assert.Contains(new Assignment("v1", "b"), assignments);
    }

    [Fact]
    public void Observe_Counts_A_Failed_Task_Once_At_The_Time_It_Was_First_Seen()
    {
        var failures = new RecentFailures();
        failures.Observe([], AllNodes, AllServices, T0);
        var failed = Failed("f1", "a", at: T0.AddMinutes(-30));

        // Seen failing after the first observation: counted at the manager's now, whatever the node's clock said.
        failures.Observe([failed], AllNodes, AllServices, T0.AddSeconds(10));
        failures.Observe([failed], AllNodes, AllServices, T0.AddSeconds(20));
        failures.Observe([failed], AllNodes, AllServices, T0.AddSeconds(30));

        Assert.Equal(1, failures.CountOn("a", "svc", 1, T0.AddSeconds(30)));
        Assert.Equal(0, failures.CountOn("a", "svc", 1, T0.AddSeconds(11) + RecentFailures.Window));
    }

    [Fact]
    public void A_New_Scheduler_Takes_The_Recent_Failures_In_The_Store_At_Their_Own_Time()
    {
        var failures = new RecentFailures();
        var tasks = new[]
        {
            Failed("recent1", "a", at: T0.AddMinutes(-1)),
            Failed("recent2", "a", at: T0.AddMinutes(-2), state: TaskState.Failed),
            Failed("future", "a", at: T0.AddMinutes(10)),
            Failed("old", "a", at: T0.AddMinutes(-6)),
            Failed("global", "b", at: T0, slot: 0),
            Task("ended", "svc", "c", TaskState.Complete, TaskState.Shutdown),
            Task("shut", "svc", "c", TaskState.Shutdown, TaskState.Shutdown),
        };

        failures.Observe(tasks, AllNodes, AllServices, T0);

        // recent1, recent2 and the future one (counted at now); the old one is beyond the window; a
        // global task's node was not the scheduler's choice; ended and shut-down tasks are no failures.
        Assert.Equal(3, failures.CountOn("a", "svc", 1, T0));
        Assert.Equal(0, failures.CountOn("b", "svc", 1, T0));
        Assert.Equal(0, failures.CountOn("c", "svc", 1, T0));
        Assert.Equal(2, failures.CountOn("a", "svc", 1, T0.AddMinutes(-2) + RecentFailures.Window + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Observe_Says_When_A_Node_Reaches_The_Threshold_Once()
    {
        var failures = new RecentFailures();
        failures.Observe([], AllNodes, AllServices, T0);
        var tasks = new List<TaskObject>();
        var reached = new List<(string, string)>();
        for (var i = 0; i < 7; i++)
        {
            tasks.Add(Failed($"f{i}", "a"));
            reached.AddRange(failures.Observe(tasks, AllNodes, AllServices, T0.AddSeconds(i)));
        }

        Assert.Equal([("a", "svc")], reached);
    }

    [Fact]
    public void Removed_Nodes_And_Services_Are_Forgotten()
    {
        var failures = FailuresOn("a", 5, "svc");
        failures.Record("b", "svc", 1, T0);
        failures.Record("b", "other", 1, T0);

        failures.Prune(new HashSet<string> { "b", "c" }, new HashSet<string> { "svc" }, T0.AddMinutes(1));

        Assert.Equal(1, failures.Count);
        Assert.Equal(1, failures.CountOn("b", "svc", 1, T0.AddMinutes(1)));
    }

    [Fact]
    public void An_Image_On_One_Node_Only_Converges_There()
    {
        // The defect this rule fixes: busybox is on b only, so a and c reject every task they get.
        // The reconciler replaces each rejected task at once (no restart delay here), and the
        // scheduler places the replacement. Without the failures, a and c got replacements forever.
        var nodes = new[] { Node("a"), Node("b"), Node("c") };
        var failures = new RecentFailures();
        var tasks = new List<TaskObject> { Pending("t1-0", slot: 1), Pending("t2-0", slot: 2), Pending("t3-0", slot: 3) };
        var now = T0;
        for (var round = 0; round < 20; round++)
        {
            now = now.AddSeconds(5);
            failures.Observe(tasks, AllNodes, AllServices, now);
            var pending = tasks.Where(t => t.Status.State == TaskState.Pending).ToList();
            var (assignments, _) = Scheduler.Schedule(pending, nodes, tasks, failures, now);
            foreach (var assignment in assignments)
            {
                var index = tasks.FindIndex(t => t.Id == assignment.TaskId);
                var task = tasks[index];
                if (assignment.NodeId == "b")
                {
                    tasks[index] = task with { NodeId = "b", Status = new TaskObservedStatus(TaskState.Running, now) };
                }
                else
                {
                    tasks[index] = Failed(task.Id, assignment.NodeId, at: now, slot: task.Slot);
                    tasks.Add(Pending($"t{task.Slot}-{round + 1}", slot: task.Slot));
                }
            }
        }

        var running = tasks.Where(t => t.Status.State == TaskState.Running).ToList();
        Assert.Equal(3, running.Count);
        Assert.All(running, t => Assert.Equal("b", t.NodeId));
        Assert.Equal(5, failures.CountOn("a", "svc", 1, now));
        Assert.Equal(5, failures.CountOn("c", "svc", 1, now));
    }

    public static TheoryData<string, int, int, int> Swarms() => new()
    {
        // name, nodes, tasks, seed
        { "even", 10, 100, 11 },
        { "fewer tasks than nodes", 50, 7, 12 },
        { "tight on resources", 20, 500, 14 },
    };

    [Theory]
    [MemberData(nameof(Swarms))]
    public void A_Batch_With_Failures_Places_Exactly_As_One_Task_At_A_Time(string swarm, int nodeCount, int taskCount, int seed)
    {
        var demand = Demand(cpus: 0.25, memoryMiB: 256, constraints: ["node.labels.tier!=db"], maxPerNode: 40);
        var random = new Random(seed);
        var counts = Enumerable.Range(0, nodeCount).Where(_ => random.Next(3) == 0).ToDictionary(i => $"n{i:D4}", _ => random.Next(1, 9));

        var batch = Scheduler.PlaceBatch(demand, TaskIds(taskCount), SchedulerTests.RandomSwarm(nodeCount, seed), counts);
        var naive = OneTaskAtATime.Place(demand, TaskIds(taskCount), SchedulerTests.RandomSwarm(nodeCount, seed), counts);

        Assert.True(naive.SequenceEqual(batch.Assignments), $"{swarm}: the batch placed differently");
    }
}
