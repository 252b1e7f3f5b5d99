using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class GlobalReconcileTests
{
    private static readonly ServiceSpec Global = Spec(ServiceMode.GlobalMode);

    [Fact]
    public void Every_Eligible_Node_Gets_One_Task_Named_For_It_In_Slot_Zero()
    {
        var nodes = new[]
        {
            Node("a"),
            Node("b"),
            Node("down", NodeState.Down),
            Node("paused", availability: NodeAvailability.Pause),
            Node("drained", availability: NodeAvailability.Drain),
            Node("unknown", NodeState.Unknown),
        };

        var outcome = Run(Service(Global), [], nodes, At(1));

        Assert.Equal("a:running b:running unknown:running", outcome.Creations());
        Assert.All(outcome.Created(), t => Assert.Equal(0, t.Slot));
    }

    [Fact]
    public void A_Node_That_Joins_Later_Gets_A_Task()
    {
        var tasks = new[] { Task("x1", 0, "a", spec: Global) };

        var outcome = Run(Service(Global), tasks, NodeList("a", "b"), At(1));

        Assert.Equal("b:running", outcome.Creations());
        Assert.Empty(outcome.Updated());
    }

    public static TheoryData<string, NodeObject, string> NodeConditions() => new()
    {
        // node condition, the node, the task's new desired state ("" unchanged)
        { "paused keeps its task", Node("a", availability: NodeAvailability.Pause), "" },
        { "down is left alone", Node("a", NodeState.Down), "" },
        { "drained stops its task", Node("a", availability: NodeAvailability.Drain), "x1:shutdown" },
        { "no longer matching stops its task", Node("a", labels: ("zone", "b")), "x1:shutdown" },
    };

    [Theory]
    [MemberData(nameof(NodeConditions))]
    public void A_Task_Follows_Its_Nodes_Condition(string why, NodeObject node, string desired)
    {
        var spec = Spec(ServiceMode.GlobalMode, constraints: ["node.labels.zone!=b"]);
        var tasks = new[] { Task("x1", 0, "a", spec: spec) };

        var outcome = Run(Service(spec), tasks, [node], At(1));

        Assert.True(outcome.DesiredChanges() == desired, $"{why}: {outcome.DesiredChanges()}");
        Assert.Empty(outcome.Deleted());
        Assert.Empty(outcome.Created());
    }

    [Fact]
    public void A_Drained_Nodes_Global_Task_Just_Stops_And_One_Made_After_It_Is_Active_Again_Waits_For_Its_Stop()
    {
        var store = new FakeStore(Service(Global), [Task("x1", 0, "a", spec: Global), Task("x2", 0, "b", spec: Global)], NodeList("a", "b"));
        Assert.Empty(store.Step(At(1)).Changes);

        store.Nodes = [Node("a", availability: NodeAvailability.Drain), Node("b")];
        var drained = store.Step(At(2));
        Assert.Equal("x1:shutdown", drained.DesiredChanges());
        Assert.Empty(drained.Created());

        // Active again before a reports the stop: the node's new task is placed there but waits, never running beside x1.
        store.Nodes = [.. NodeList("a", "b")];
        Assert.Equal("a:ready", store.Step(At(3)).Creations());
        store.Report("x1", TaskState.Shutdown, At(5));
        var started = store.Step(At(5));
        Assert.Matches("^t[0-9]+:running$", started.DesiredChanges());
        Assert.Empty(started.Created());
    }

    [Fact]
    public void A_Node_That_Left_Takes_Its_Tasks_With_It()
    {
        var tasks = new[]
        {
            Task("x1", 0, "gone", spec: Global),
            Task("x0", 0, "gone", TaskState.Failed, TaskState.Shutdown, Global),
            Task("x2", 0, "a", spec: Global),
        };

        var outcome = Run(Service(Global), tasks, NodeList("a"), At(1));

        // Nothing can report on a task of a node that left: it is deleted with its history.
        Assert.Equal(["x0", "x1"], outcome.Deleted());
        Assert.Empty(outcome.Created());
    }

    [Fact]
    public void Constraints_Choose_The_Nodes()
    {
        var spec = Spec(ServiceMode.GlobalMode, constraints: ["node.labels.zone==a"]);
        var nodes = new[] { Node("n1", labels: ("zone", "a")), Node("n2", labels: ("zone", "b")), Node("n3") };

        var outcome = Run(Service(spec), [], nodes, At(1));

        Assert.Equal("n1:running", outcome.Creations());
    }

    [Fact]
    public void Engine_Label_Constraints_Choose_The_Nodes_And_A_Node_Whose_Labels_No_Longer_Match_Stops_Its_Task()
    {
        var spec = Spec(ServiceMode.GlobalMode, constraints: ["engine.labels.disk==ssd"]);
        var nodes = new[] { Node("n1").WithEngineLabels(("disk", "ssd")), Node("n2", labels: ("disk", "ssd")), Node("n3") };

        Assert.Equal("n1:running", Run(Service(spec), [], nodes, At(1)).Creations());

        // n1's daemon restarted with --label disk=hdd: its description changed, its task no longer belongs there.
        var relabelled = Node("n1").WithEngineLabels(("disk", "hdd"));
        Assert.Equal("x1:shutdown", Run(Service(spec), [Task("x1", 0, "n1", spec: spec)], [relabelled], At(2)).DesiredChanges());
    }

    [Fact]
    public void A_Failed_Global_Task_Restarts_On_Its_Node_Per_The_Policy()
    {
        var spec = Spec(ServiceMode.GlobalMode, restart: new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(5)));
        var tasks = new[] { Task("x1", 0, "a", TaskState.Failed, TaskState.Running, spec, statusAt: 10) };

        var store = new FakeStore(Service(spec), tasks, NodeList("a"));
        var early = store.Step(At(11));
        var due = store.Step(At(15));

        // Made at once, held in Ready for the restart delay (swarmkit's restart supervisor), then started.
        Assert.Equal("x1:shutdown", early.DesiredChanges());
        Assert.Equal("a:ready", early.Creations());
        Assert.Equal(At(15), early.WakeAt);
        Assert.Equal($"{early.Created()[0].Id}:running", due.DesiredChanges());
    }

    [Fact]
    public void A_Paused_Node_Gets_No_Restart()
    {
        var tasks = new[] { Task("x1", 0, "a", TaskState.Failed, TaskState.Running, Global, statusAt: 1) };

        var outcome = Run(Service(Global), tasks, [Node("a", availability: NodeAvailability.Pause)], At(5));

        Assert.Equal("x1:shutdown", outcome.DesiredChanges());
        Assert.Empty(outcome.Created());
    }
}
