using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>
/// A service update that changes only the placement (constraints, preferences, max replicas per node)
/// restarts no task whose node meets the new placement, as swarmkit's IsTaskDirty; the others are
/// replaced by the rolling update (replicated) or follow their node's eligibility (global).
/// </summary>
public class PlacementChangeTests
{
    private static readonly UpdateConfig OneAtATime = new(1, TimeSpan.Zero, FailureAction.Pause, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst);

    private static readonly ServiceSpec Before = Spec(update: OneAtATime);

    private static readonly UpdateStatus Updating = new(UpdateState.Updating, At(10), null, "update in progress");

    private static ServiceSpec Placed(ServiceSpec spec, Placement placement) =>
        spec with { TaskTemplate = spec.TaskTemplate with { Placement = placement } };

    private static ServiceSpec Constrained(params string[] constraints) => Placed(Before, new Placement([.. constraints]));

    private static ServiceObject Updated(ServiceSpec spec, ServiceSpec? previous = null) =>
        Service(spec, specVersion: 2, status: Updating, previous: previous ?? Before);

    private static TaskObject[] OldTasks(ServiceSpec? spec = null) =>
        [Task("x1", 1, "a", spec: spec ?? Before), Task("x2", 2, "b", spec: spec ?? Before), Task("x3", 3, "c", spec: spec ?? Before)];

    private static NodeObject[] Zones() =>
        [Node("a", labels: ("zone", "east")), Node("b", labels: ("zone", "east")), Node("c", labels: ("zone", "west"))];

    [Fact]
    public void A_Constraint_Added_Keeps_The_Tasks_Whose_Node_Meets_It_And_Replaces_The_Others_Through_The_Update()
    {
        var after = Constrained("node.labels.zone==east");

        var outcome = Run(Updated(after), OldTasks(), Zones(), At(10));

        // x1 and x2 keep running, now of the new spec; x3's node is west: the update's first (and only) batch.
        Assert.Equal("x1:running x2:running x3:shutdown", outcome.DesiredChanges());
        Assert.Equal("3:ready", outcome.Creations());
        foreach (var id in new[] { "x1", "x2" })
        {
            var kept = outcome.Updated(id);
            Assert.Equal("node.labels.zone==east", Assert.Single(kept.Spec.Placement.Constraints));
            Assert.Equal(2UL, kept.SpecVersion);
            Assert.Equal(TaskState.Running, kept.DesiredState);
        }

        Assert.Empty(outcome.Updated("x3").Spec.Placement.Constraints);
    }

    [Fact]
    public void A_Placement_Change_Every_Node_Meets_Restarts_Nothing_And_Completes_The_Update()
    {
        var after = Constrained("node.labels.zone!=north");
        var store = new FakeStore(Updated(after), OldTasks(), Zones());

        var first = store.Step(At(10));
        var again = store.Reconcile(At(10));
        var later = store.Reconcile(At(100));

        Assert.Empty(first.Created());
        Assert.All(first.Updated(), t => Assert.Equal(TaskState.Running, t.DesiredState));
        Assert.All(store.Tasks.Values, t => Assert.True(SpecEquality.IsCurrent(t, after), $"{t.Id} is not of the current spec"));
        Assert.Equal(UpdateState.Completed, store.Service!.UpdateStatus!.State);
        Assert.Empty(again.Changes);
        Assert.Empty(later.Changes);
    }

    [Fact]
    public void A_Change_Of_Preferences_Or_Max_Replicas_Alone_Keeps_Every_Task_It_Allows()
    {
        var spread = Placed(Before, new Placement(Preferences: [new PlacementPreference("node.labels.zone")]));
        var capped = Placed(Before, new Placement(MaxReplicasPerNode: 1));

        var spreadOutcome = Run(Updated(spread), OldTasks(), Zones(), At(10));
        var cappedOutcome = Run(Updated(capped), OldTasks(), Zones(), At(10));

        Assert.Empty(spreadOutcome.Created());
        Assert.Equal("x1:running x2:running x3:running", spreadOutcome.DesiredChanges());
        Assert.Empty(cappedOutcome.Created());
        Assert.Equal("x1:running x2:running x3:running", cappedOutcome.DesiredChanges());
    }

    [Fact]
    public void A_Lower_Max_Replicas_Per_Node_Keeps_That_Many_Tasks_On_A_Node_And_Replaces_The_Rest()
    {
        var capped = Placed(Before, new Placement(MaxReplicasPerNode: 2));
        var tasks = new[]
        {
            Task("x1", 1, "a", spec: Before), Task("x2", 2, "a", spec: Before), Task("x3", 3, "a", spec: Before),
        };

        var outcome = Run(Updated(capped), tasks, Zones(), At(10));

        Assert.Equal("x1:running x2:running x3:shutdown", outcome.DesiredChanges());
        Assert.Equal(2L, outcome.Updated("x1").Spec.Placement.MaxReplicasPerNode);
        Assert.Equal(0L, outcome.Updated("x3").Spec.Placement.MaxReplicasPerNode);
        Assert.Equal("3:ready", outcome.Creations());
    }

    [Fact]
    public void A_Change_Of_What_The_Task_Runs_Beside_The_Placement_Still_Replaces_Every_Task()
    {
        var after = Placed(Spec(image: "nginx:1.28", update: OneAtATime), new Placement(["node.labels.zone==east"]));

        var outcome = Run(Updated(after), OldTasks(), Zones(), At(10));

        Assert.Equal("x1:shutdown", outcome.DesiredChanges());
        Assert.Equal("1:ready", outcome.Creations());
    }

    [Fact]
    public void A_Task_Not_Yet_Placed_Or_On_A_Drained_Or_Down_Node_Is_Not_Kept()
    {
        var after = Constrained("node.labels.zone!=north");
        var tasks = new[]
        {
            Task("x1", 1, "", TaskState.Pending, spec: Before),
            Task("x2", 2, "b", spec: Before),
            Task("x3", 3, "c", spec: Before),
        };
        var nodes = new[]
        {
            Node("a"), Node("b", availability: NodeAvailability.Drain, labels: ("zone", "east")), Node("c", NodeState.Down, labels: ("zone", "west")),
        };

        var outcome = Run(Updated(after), tasks, nodes, At(10));

        // x2 and x3 stop for their nodes; the pending x1 waits for the update, whose batch (their replacements) is coming up.
        Assert.Equal("x2:shutdown x3:shutdown", outcome.DesiredChanges());
        Assert.All(outcome.Updated(), t => Assert.False(SpecEquality.IsCurrent(t, after), $"{t.Id} took the new spec"));
    }

    [Fact]
    public void A_Kept_Task_Is_Judged_By_The_New_Constraints_When_Its_Node_Changes_Later()
    {
        var after = Constrained("node.labels.zone==east") with { Mode = ServiceMode.ReplicatedMode(1) };
        var store = new FakeStore(Updated(after), [Task("x1", 1, "a", spec: Before)], [Node("a", labels: ("zone", "east"))]);
        store.Step(At(10));
        Assert.Equal(TaskState.Running, store.Tasks["x1"].DesiredState);

        // The label goes: the constraint enforcer stops the task, by the constraint it now carries.
        store.Nodes = [Node("a", labels: ("zone", "west"))];
        var outcome = store.Step(At(20));

        Assert.Equal("x1:shutdown", outcome.DesiredChanges());
        Assert.Contains(outcome.Events, e => e.Contains("no longer meets the task's placement constraints", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Global_Placement_Change_Keeps_Tasks_On_Nodes_Still_Eligible_Stops_The_Others_And_Starts_On_New_Ones()
    {
        var before = Spec(ServiceMode.GlobalMode, constraints: ["node.labels.tier==front"]);
        var after = Spec(ServiceMode.GlobalMode, constraints: ["node.labels.zone==east"]);
        var nodes = new[]
        {
            Node("a", labels: [("zone", "east"), ("tier", "front")]),
            Node("b", labels: [("zone", "west"), ("tier", "front")]),
            Node("c", labels: [("zone", "east"), ("tier", "back")]),
        };
        var tasks = new[] { Task("x1", 0, "a", spec: before), Task("x2", 0, "b", spec: before) };

        var outcome = Run(Service(after, specVersion: 2, status: Updating, previous: before), tasks, nodes, At(10));

        Assert.Equal("x1:running x2:shutdown", outcome.DesiredChanges());
        Assert.True(SpecEquality.IsCurrent(outcome.Updated("x1"), after));
        Assert.Equal("c:running", outcome.Creations());
    }

    [Fact]
    public void The_Comparer_Tells_A_Task_Dirty_By_Placement_Alone()
    {
        var comparer = new SpecComparer(Constrained("node.labels.zone==east"));
        var placedElsewhere = Task("x1", 1, "a", spec: Placed(Before, new Placement(["node.labels.zone==west"], [new PlacementPreference("node.labels.rack")], 3)));
        var otherImage = Task("x2", 1, "a", spec: Placed(Spec(image: "nginx:1.28", update: OneAtATime), new Placement(["node.labels.zone==east"])));
        var otherEndpoint = Task("x3", 1, "a", spec: Before) with { Endpoint = new EndpointSpec(EndpointMode.Dnsrr) };
        var current = Task("x4", 1, "a", spec: Constrained("node.labels.zone==east"));

        Assert.True(comparer.IsDirtyByPlacementOnly(placedElsewhere));
        Assert.True(comparer.IsDirtyByPlacementOnly(Task("x5", 1, "a", spec: Before)));
        Assert.False(comparer.IsDirtyByPlacementOnly(otherImage));
        Assert.False(comparer.IsDirtyByPlacementOnly(otherEndpoint));
        Assert.False(comparer.IsDirtyByPlacementOnly(current));
        Assert.False(comparer.IsDirty(current));
    }
}
