using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class RemovalAndHistoryTests
{
    [Fact]
    public void A_Removed_Service_Asks_Every_Task_To_Go_And_Deletes_Those_Nothing_Runs()
    {
        var tasks = new[]
        {
            Task("running", 1, "a"),
            Task("ended", 2, "a", TaskState.Failed, TaskState.Shutdown),
            Task("pending", 3, "", TaskState.Pending),
            Task("assigned-nowhere", 4, "a", TaskState.Pending),
            Task("on-down-node", 5, "down"),
            Task("on-gone-node", 6, "gone"),
            Task("stopping", 7, "a", TaskState.Running, TaskState.Remove),
        };

        var outcome = Run(null, tasks, [Node("a"), Node("down", NodeState.Down)], At(1));

        Assert.Equal("running:remove", outcome.DesiredChanges());
        Assert.Equal(["assigned-nowhere", "ended", "on-down-node", "on-gone-node", "pending"], outcome.Deleted());
        Assert.Empty(outcome.Created());
        Assert.Contains(outcome.Events, e => e.Contains("was removed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Removed_Services_Task_Is_Deleted_Once_Its_Node_Reports_It_Stopped()
    {
        var outcome = Run(null, [Task("x1", 1, "a", TaskState.Shutdown, TaskState.Remove)], NodeList("a"), At(1));

        Assert.Equal(["x1"], outcome.Deleted());
    }

    [Fact]
    public void History_Keeps_The_Newest_Tasks_Per_Slot_The_Live_One_Counted()
    {
        var tasks = Enumerable.Range(1, 6)
            .Select(i => Task($"d{i}", 1, "a", TaskState.Failed, TaskState.Shutdown, created: i, statusAt: i))
            .Append(Task("still-stopping", 1, "a", TaskState.Running, TaskState.Shutdown, created: 0, statusAt: 0))
            .Append(Task("live", 1, "a", created: 7))
            .Append(Task("other", 2, "a", TaskState.Failed, TaskState.Shutdown, created: 0))
            .Append(Task("live2", 2, "a", created: 1));

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(2))), tasks, NodeList("a"), At(10), history: 3);

        // Slot 1 has 8 tasks, 3 kept as swarmkit's retention limit counts them (the live one included); the one
        // still stopping cannot go (it holds its node) but counts, so the live one, it and d6 stay.
        Assert.Equal(["d1", "d2", "d3", "d4", "d5"], outcome.Deleted());
    }

    [Fact]
    public void History_Is_Kept_Per_Node_For_A_Global_Service()
    {
        var spec = Spec(ServiceMode.GlobalMode);
        var tasks = new[]
        {
            Task("a1", 0, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 1),
            Task("a2", 0, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 2),
            Task("a3", 0, "a", spec: spec, created: 3),
            Task("b1", 0, "b", TaskState.Failed, TaskState.Shutdown, spec, created: 1),
            Task("b2", 0, "b", spec: spec, created: 2),
        };

        var outcome = Run(Service(spec), tasks, NodeList("a", "b"), At(10), history: 2);

        // Two tasks per node, the live one included.
        Assert.Equal(["a1"], outcome.Deleted());
    }

    [Theory]
    [InlineData(5, "d1")]
    [InlineData(6, "")]
    [InlineData(2, "d1 d2 d3 d4")]
    [InlineData(1, "d1 d2 d3 d4 d5")]
    [InlineData(0, "d1 d2 d3 d4 d5")]
    public void The_Live_Task_Counts_Toward_The_Limit_As_Swarmkits_Task_History_Retention_Limit(int limit, string deleted)
    {
        // swarmkit's task reaper: a slot keeps at most TaskHistoryRetentionLimit tasks, the running one among them;
        // 0 and 1 both leave the live task alone.
        var tasks = Enumerable.Range(1, 5)
            .Select(i => Task($"d{i}", 1, "a", TaskState.Failed, TaskState.Shutdown, created: i, statusAt: i))
            .Append(Task("live", 1, "a", created: 6));

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(10), history: limit);

        Assert.Equal(deleted, string.Join(' ', outcome.Deleted()));
    }

    [Fact]
    public void The_Default_History_Is_Five_Tasks_Per_Slot()
    {
        var tasks = Enumerable.Range(1, 5)
            .Select(i => Task($"d{i}", 1, "a", TaskState.Failed, TaskState.Shutdown, created: i, statusAt: i))
            .Append(Task("live", 1, "a", created: 6));

        var outcome = ServiceReconciler.Reconcile(new ServiceInputs(Sid, Service(Spec(ServiceMode.ReplicatedMode(1))), [.. tasks], NodeList("a"), At(10)), () => "new");

        Assert.Equal(["d1"], outcome.Deleted());
    }

    [Fact]
    public void History_Never_Drops_What_The_Restart_Policy_Still_Reads()
    {
        // Out of attempts: the history limit of 0 would delete every dead task, but then the slot would
        // look empty and restart. The last task and the counted attempts stay.
        var spec = Spec(ServiceMode.ReplicatedMode(1), restart: new RestartPolicy(RestartCondition.Any, TimeSpan.Zero, MaxAttempts: 1));
        var tasks = new[]
        {
            Task("x0", 1, "a", TaskState.Shutdown, TaskState.Shutdown, spec, created: 0, statusAt: 0),
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 1, statusAt: 2),
            Task("x2", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 2, statusAt: 3),
        };

        var outcome = Run(Service(spec), tasks, NodeList("a"), At(10), history: 0);

        Assert.Equal(["x0"], outcome.Deleted());
        Assert.Empty(outcome.Created());
    }

    [Fact]
    public void Negative_History_Keeps_Everything()
    {
        var tasks = Enumerable.Range(1, 8).Select(i => Task($"d{i}", 1, "a", TaskState.Failed, TaskState.Shutdown, created: i)).Append(Task("live", 1, "a", created: 9));

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(10), history: -1);

        Assert.Empty(outcome.Changes);
    }

    [Fact]
    public void Replicas_Counts_Running_Tasks_Wanted_Running_Out_Of_The_Replicas()
    {
        var tasks = new[]
        {
            Task("x1", 1, "a"),
            Task("x2", 2, "a"),
            Task("x3", 3, "", TaskState.Pending),
            Task("stopping", 3, "a", TaskState.Running, TaskState.Shutdown),
            Task("other", 1, "a") with { ServiceId = "other" },
        };

        var replicas = ServiceReconciler.Replicas(Service(), tasks, NodeList("a"));

        Assert.Equal(new ServiceReplicas(2, 3), replicas);
    }

    [Fact]
    public void Replicas_Of_A_Global_Service_Are_Out_Of_Its_Eligible_Nodes()
    {
        var spec = Spec(ServiceMode.GlobalMode, constraints: ["node.labels.zone==a"]);
        var nodes = new[] { Node("a", labels: ("zone", "a")), Node("b", labels: ("zone", "a")), Node("c", labels: ("zone", "b")), Node("d", NodeState.Down, labels: ("zone", "a")) };

        var replicas = ServiceReconciler.Replicas(Service(spec), [Task("x1", 0, "a", spec: spec)], nodes);

        Assert.Equal(new ServiceReplicas(1, 2), replicas);
    }

    [Fact]
    public void Replicas_Leave_Out_A_Task_A_Down_Node_Last_Reported_Running_As_Docker_Counts_Them()
    {
        var spec = Spec(ServiceMode.GlobalMode);
        var nodes = new[] { Node("a"), Node("b"), Node("c", NodeState.Down) };
        var tasks = new[] { Task("x1", 0, "a", spec: spec), Task("x2", 0, "b", spec: spec), Task("x3", 0, "c", spec: spec) };

        Assert.Equal(new ServiceReplicas(2, 2), ServiceReconciler.Replicas(Service(spec), tasks, nodes));
        Assert.Equal(new ServiceReplicas(2, 3), ServiceReconciler.Replicas(Service(), [.. tasks.Select(t => t with { Spec = Spec().TaskTemplate })], nodes));
    }

    [Fact]
    public void Replicas_Of_A_Job_Count_Completions_Of_The_Current_Run()
    {
        var spec = Spec(ServiceMode.ReplicatedJobMode(2, 5));
        var tasks = new[]
        {
            Task("j1", 1, "a", TaskState.Complete, TaskState.Complete, spec, iteration: 2),
            Task("j2", 2, "a", TaskState.Running, TaskState.Complete, spec, iteration: 2),
            Task("j3", 3, "a", TaskState.Failed, TaskState.Shutdown, spec, iteration: 2),
            Task("old", 1, "a", TaskState.Complete, TaskState.Complete, spec, iteration: 1),
        };

        var replicas = ServiceReconciler.Replicas(Service(spec, jobIteration: 2), tasks, NodeList("a"));

        Assert.Equal(new ServiceReplicas(1, 5, 1), replicas);
    }

    [Fact]
    public void Replicas_Of_A_Global_Job_Are_Out_Of_Its_Eligible_Nodes()
    {
        var spec = Spec(ServiceMode.GlobalJobMode);
        var tasks = new[] { Task("g1", 0, "a", TaskState.Complete, TaskState.Complete, spec), Task("g2", 0, "b", TaskState.Running, TaskState.Complete, spec) };

        var replicas = ServiceReconciler.Replicas(Service(spec), tasks, NodeList("a", "b", "c"));

        Assert.Equal(new ServiceReplicas(1, 3, 1), replicas);
    }
}
