using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>
/// Tasks of a node removed from the swarm (`node rm`): no node will report on them again, so they end
/// Orphaned, their slots are filled elsewhere, and history pruning takes them as any ended task.
/// </summary>
public class RemovedNodeTests
{
    [Fact]
    public void A_Running_Task_Of_A_Removed_Node_Is_Orphaned_Stopped_And_Replaced_At_Once()
    {
        var tasks = new[] { Task("x1", 1, "a"), Task("x2", 2, "gone") };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(2))), tasks, NodeList("a"), At(5));

        var lost = outcome.Updated("x2");
        Assert.Equal(TaskState.Orphaned, lost.Status.State);
        Assert.Equal(TaskState.Shutdown, lost.DesiredState);
        Assert.Equal("node gone was removed from the swarm", lost.Status.Message);
        Assert.Equal(At(5), lost.Status.Timestamp);
        Assert.Equal(At(0), lost.Status.StartedAt); // what ran, and since when, stays readable
        Assert.Equal("2:running", outcome.Creations());
        Assert.Contains(outcome.Events, e => e.Contains("task x2 (slot 2) is orphaned: node gone was removed from the swarm", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(TaskState.Assigned)]
    [InlineData(TaskState.Preparing)]
    [InlineData(TaskState.Starting)]
    public void A_Task_Still_Starting_On_A_Removed_Node_Is_Orphaned_Too(TaskState observed)
    {
        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), [Task("x1", 1, "gone", observed)], NodeList("a"), At(5));

        Assert.Equal(TaskState.Orphaned, outcome.Updated("x1").Status.State);
        Assert.Equal("1:running", outcome.Creations());
    }

    [Fact]
    public void A_Task_Already_Stopping_On_A_Removed_Node_Is_Orphaned_Rather_Than_Left_Running()
    {
        // Asked to stop (an update, a drain) just before its node went away, so it never reported the stop.
        var tasks = new[] { Task("old", 1, "gone", TaskState.Running, TaskState.Shutdown, created: 0), Task("new", 1, "a", created: 1) };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(5));

        Assert.Equal(TaskState.Orphaned, outcome.Updated("old").Status.State);
        Assert.Empty(outcome.Created());
    }

    [Fact]
    public void Ended_Tasks_And_A_Down_Nodes_Tasks_Are_Not_Orphaned()
    {
        var tasks = new[]
        {
            Task("ended", 1, "gone", TaskState.Failed, TaskState.Shutdown, created: 0),
            Task("on-down", 2, "down"),
            Task("live", 1, "a", created: 1),
        };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(2))), tasks, [Node("a"), Node("down", NodeState.Down)], At(5));

        Assert.DoesNotContain(outcome.Updated(), t => t.Status.State == TaskState.Orphaned);
        // A Down node may come back and report its task: it stays as last reported, stopped and replaced.
        Assert.Equal(TaskState.Running, outcome.Updated("on-down").Status.State);
        Assert.Equal("on-down:shutdown", outcome.DesiredChanges());
    }

    [Theory]
    [InlineData(RestartCondition.None)]
    [InlineData(RestartCondition.OnFailure)]
    public void A_Slot_Whose_Last_Task_Was_Orphaned_Is_Filled_Whatever_The_Restart_Condition(RestartCondition condition)
    {
        // The orphaned task was written by an earlier step that did not fill the slot (or the replacement was lost too).
        var spec = Spec(ServiceMode.ReplicatedMode(1), restart: new RestartPolicy(condition, TimeSpan.FromSeconds(30)));
        var orphaned = Task("x1", 1, "gone", TaskState.Orphaned, TaskState.Shutdown, spec, statusAt: 4);

        var outcome = Run(Service(spec), [orphaned], NodeList("a"), At(5));

        Assert.Equal("1:running", outcome.Creations());
        Assert.Null(outcome.WakeAt);
    }

    [Fact]
    public void An_Orphaned_Task_Is_Pruned_As_History_Where_One_Left_Running_Never_Was()
    {
        var tasks = new[] { Task("x1", 1, "gone", created: 0) };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(5), history: 0);

        Assert.Equal(["x1"], outcome.Deleted());
        Assert.Equal("1:running", outcome.Creations());
    }

    [Fact]
    public void After_Node_Rm_The_Slot_Settles_With_The_Old_Task_Orphaned_And_Its_Replacement_Running()
    {
        var store = new FakeStore(Service(Spec(ServiceMode.ReplicatedMode(2))), [Task("x1", 1, "a"), Task("x2", 2, "b")], NodeList("a", "b"));
        store.Step(At(1));
        Assert.Empty(store.Reconcile(At(1)).Changes);

        store.Nodes = [.. NodeList("a")]; // node rm b
        store.Step(At(2));
        var replacement = store.Tasks.Values.Single(t => t.Slot == 2 && t.Id != "x2");
        store.Assign(replacement.Id, "a", At(3));
        store.Report(replacement.Id, TaskState.Running, At(4));

        Assert.Empty(store.Reconcile(At(5)).Changes);
        Assert.Equal(TaskState.Orphaned, store.Tasks["x2"].Status.State);
        Assert.Equal(TaskState.Shutdown, store.Tasks["x2"].DesiredState);
        Assert.DoesNotContain(store.Tasks.Values, t => t.NodeId == "b" && !TaskStates.IsTerminal(t.Status.State));
        Assert.Equal(2, store.Live.Count());
    }

    [Fact]
    public void A_Global_Task_Of_A_Removed_Node_Is_Deleted()
    {
        var spec = Spec(ServiceMode.GlobalMode);
        var outcome = Run(Service(spec), [Task("a1", 0, "a", spec: spec), Task("g1", 0, "gone", spec: spec)], NodeList("a"), At(5));

        Assert.Equal(["g1"], outcome.Deleted());
        Assert.Empty(outcome.Created());
    }
}
