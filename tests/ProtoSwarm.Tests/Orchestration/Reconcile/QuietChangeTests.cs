using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>
/// The service actor skips its step for a quiet task change once a step found nothing to do; that
/// is only right if the step on the changed store would find nothing to do either, with the same wake-up.
/// </summary>
public class QuietChangeTests
{
    public static TheoryData<string, bool> Cases => new()
    {
        { "assigned -> running on the same node", true },
        { "pending -> assigned to a ready node", true },
        { "pending -> assigned to a down node", false },
        { "pending -> assigned to a drained node", false },
        { "pending -> assigned to a node not in the store", false },
        { "running -> failed", false },
        { "running -> complete", false },
        { "desired shutdown, still running", false },
        { "desired changed to shutdown", false },
        { "another task in the slot", false },
        { "an update under way", false },
        { "a rollback under way", false },
        { "a paused update", true },
        { "a job", false },
        { "global: starting -> running", true },
        { "global: moved to another node", false },
        { "moved from one node to another", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Only_A_Lone_Wanted_Task_Short_Of_Its_End_Changes_Quietly(string change, bool quiet)
    {
        var service = Service();
        var before = Task("t1", 1, "n1", TaskState.Assigned);
        var after = before with { Status = before.Status with { State = TaskState.Running, Timestamp = At(5) } };
        var alone = true;
        NodeObject? node = null;
        switch (change)
        {
            case "pending -> assigned to a ready node":
            case "pending -> assigned to a down node":
            case "pending -> assigned to a drained node":
            case "pending -> assigned to a node not in the store":
                before = Task("t1", 1, "", TaskState.Pending);
                after = before with { NodeId = "n1", Status = before.Status with { State = TaskState.Assigned } };
                node = change switch
                {
                    "pending -> assigned to a ready node" => Node("n1"),
                    "pending -> assigned to a down node" => Node("n1", NodeState.Down),
                    "pending -> assigned to a drained node" => Node("n1", availability: NodeAvailability.Drain),
                    _ => null,
                };
                break;
            case "running -> failed":
                before = Task("t1", 1, "n1");
                after = before with { Status = before.Status with { State = TaskState.Failed } };
                break;
            case "running -> complete":
                before = Task("t1", 1, "n1");
                after = before with { Status = before.Status with { State = TaskState.Complete } };
                break;
            case "desired shutdown, still running":
                before = Task("t1", 1, "n1", TaskState.Starting, TaskState.Shutdown);
                after = before with { Status = before.Status with { State = TaskState.Running } };
                break;
            case "desired changed to shutdown":
                after = before with { DesiredState = TaskState.Shutdown };
                break;
            case "another task in the slot":
                alone = false;
                break;
            case "an update under way":
                service = Service(status: new UpdateStatus(UpdateState.Updating, At(0), null, ""));
                break;
            case "a rollback under way":
                service = Service(status: new UpdateStatus(UpdateState.RollbackStarted, At(0), null, ""));
                break;
            case "a paused update":
                service = Service(status: new UpdateStatus(UpdateState.Paused, At(0), null, ""));
                break;
            case "a job":
                service = Service(Spec(ServiceMode.ReplicatedJobMode(1, 1)));
                break;
            case "global: starting -> running":
            case "global: moved to another node":
                service = Service(Spec(ServiceMode.GlobalMode));
                before = Task("t1", 0, "n1", TaskState.Starting);
                after = change.EndsWith("running", StringComparison.Ordinal)
                    ? before with { Status = before.Status with { State = TaskState.Running } }
                    : before with { NodeId = "n2" };
                node = Node("n2");
                break;
            case "moved from one node to another":
                after = before with { NodeId = "n2" };
                node = Node("n2");
                break;
        }

        Assert.Equal(quiet, QuietChange.IsQuiet(service, before, after, alone, node));
    }

    [Fact]
    public void A_Settled_Store_With_Quiet_Changes_Applied_Stays_Settled_With_The_Same_Wake_Up()
    {
        TaskState[] observed = [TaskState.New, TaskState.Pending, TaskState.Assigned, TaskState.Accepted, TaskState.Preparing,
            TaskState.Ready, TaskState.Starting, TaskState.Running, TaskState.Running, TaskState.Failed, TaskState.Complete];
        TaskState[] desired = [TaskState.Running, TaskState.Running, TaskState.Running, TaskState.Ready, TaskState.Shutdown];
        var quiet = 0;
        for (var seed = 0; seed < 4000; seed++)
        {
            var random = new Random(seed);
            var store = ReconcileIdempotenceTests.RandomStore(random, out var now);
            for (var i = 0; i < 5 && !store.Reconcile(now).Changes.IsEmpty; i++)
            {
                store.Step(now);
            }

            var settled = store.Reconcile(now);
            if (!settled.Changes.IsEmpty || store.Tasks.Count == 0)
            {
                continue;
            }

            var global = store.Service?.Spec.Mode.IsGlobal ?? false;
            for (var change = 0; change < 3; change++)
            {
                var before = store.Tasks.Values.ElementAt(random.Next(store.Tasks.Count));
                var state = observed[random.Next(observed.Length)];
                string[] nodeIds = [.. store.Nodes.Select(n => n.Id), "gone", before.NodeId];
                var after = before with
                {
                    NodeId = random.Next(3) == 0 ? nodeIds[random.Next(nodeIds.Length)] : before.NodeId,
                    DesiredState = random.Next(4) == 0 ? desired[random.Next(desired.Length)] : before.DesiredState,
                    Status = before.Status with
                    {
                        State = state,
                        Timestamp = now.AddSeconds(-random.Next(0, 90)),
                        StartedAt = state == TaskState.Running && random.Next(2) == 0 ? now.AddSeconds(-random.Next(0, 90)) : before.Status.StartedAt,
                    },
                };
                var alone = store.Tasks.Values.Count(t => SlotKey.Of(t, global) == SlotKey.Of(before, global)) == 1;
                var node = after.NodeId != before.NodeId ? store.Nodes.FirstOrDefault(n => n.Id == after.NodeId) : null;
                if (!QuietChange.IsQuiet(store.Service, before, after, alone, node))
                {
                    continue;
                }

                quiet++;
                store.Tasks[after.Id] = after;
                var again = store.Reconcile(now);
                Assert.True(again.Changes.IsEmpty,
                    $"seed {seed} change {change}: {before.Id} {before.Status.State}@{before.NodeId} -> {after.Status.State}@{after.NodeId} " +
                    $"made the step change {string.Join(", ", again.Changes.Select(c => $"{c.GetType().Name} {c.Id}"))}: {string.Join(" | ", again.Events)}");
                Assert.Equal(settled.WakeAt, again.WakeAt);
            }
        }

        // Enough of the random changes are quiet that the property is not vacuous.
        Assert.True(quiet > 300, $"only {quiet} quiet changes");
    }
}
