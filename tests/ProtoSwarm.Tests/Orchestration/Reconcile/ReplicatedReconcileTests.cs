using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class ReplicatedReconcileTests
{
    [Fact]
    public void A_New_Service_Gets_One_Pending_Task_Per_Slot_Made_From_Its_Spec()
    {
        var service = Service(specVersion: 4);

        var outcome = Run(service, [], NodeList("a"), At(1));

        var created = outcome.Created();
        Assert.Equal([1L, 2L, 3L], created.Select(t => t.Slot));
        Assert.All(created, t =>
        {
            Assert.Equal(Sid, t.ServiceId);
            Assert.Equal("", t.NodeId);
            Assert.Same(service.Spec.TaskTemplate, t.Spec);
            Assert.Same(service.Spec.Endpoint, t.Endpoint);
            Assert.Equal(4UL, t.SpecVersion);
            Assert.Equal(TaskState.Running, t.DesiredState);
            Assert.Equal(new TaskObservedStatus(TaskState.Pending, At(1), "pending task scheduling"), t.Status);
            Assert.Equal(ObjectMeta.New(At(1)), t.Meta);
        });
        Assert.Equal(["new1", "new2", "new3"], created.Select(t => t.Id));
        Assert.Null(outcome.WakeAt);
    }

    [Fact]
    public void A_Converged_Service_Needs_No_Change()
    {
        var tasks = new[] { Task("x1", 1, "a"), Task("x2", 2, "b"), Task("x3", 3, "a") };

        var outcome = Run(Service(), tasks, NodeList("a", "b"), At(100));

        Assert.Empty(outcome.Changes);
        Assert.Null(outcome.WakeAt);
    }

    [Fact]
    public void Scaling_Up_Takes_The_Lowest_Free_Slot_Numbers()
    {
        var tasks = new[] { Task("x1", 1, "a"), Task("x3", 3, "a") };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(4))), tasks, NodeList("a"), At(1));

        Assert.Equal("2:running 4:running", outcome.Creations());
    }

    [Fact]
    public void A_Large_Scale_Up_Is_Made_In_Bounded_Decisions_Each_Going_On_From_The_Last()
    {
        var store = new FakeStore(Service(Spec(ServiceMode.ReplicatedMode(5000))), [], NodeList("a"));

        var sizes = new List<int>();
        for (var step = 0; step < 5; step++)
        {
            sizes.Add(store.Step(At(1)).Created().Count);
        }

        Assert.Equal([ReconcileState.MaxNewTasksPerDecision, ReconcileState.MaxNewTasksPerDecision, 5000 - (2 * ReconcileState.MaxNewTasksPerDecision), 0, 0], sizes);
        Assert.Equal(Enumerable.Range(1, 5000).Select(i => (long)i), store.Tasks.Values.Select(t => t.Slot).Order());
    }

    public static TheoryData<string, string[], long, string> ScaleDownCases() => new()
    {
        // name, tasks as "slot:node:state", replicas, slots removed
        { "not yet running first", ["1:a:running", "2::pending", "3:b:running"], 2, "2" },
        { "then the node with most tasks of the service", ["1:a:running", "2:a:running", "3:b:running", "4:c:running"], 3, "2" },
        { "nodes counted again after each removal", ["1:a:running", "2:a:running", "3:b:running", "4:b:running", "5:c:running"], 3, "2 4" },
        { "then the highest slot", ["1:a:running", "2:b:running", "3:c:running"], 1, "2 3" },
        { "to zero", ["1:a:running", "2:b:running"], 0, "1 2" },
    };

    [Theory]
    [MemberData(nameof(ScaleDownCases))]
    public void Scaling_Down_Removes_Whole_Slots_In_Swarms_Order(string why, string[] tasks, long replicas, string removedSlots)
    {
        var input = tasks.Select((t, i) => t.Split(':') is var p
            ? Task($"x{i + 1}", long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p[1], p[2] == "running" ? TaskState.Running : TaskState.Pending)
            : null!).ToList();

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(replicas))), input, NodeList("a", "b", "c"), At(1));

        var removed = outcome.Updated().Concat(input.Where(t => outcome.Deleted().Contains(t.Id)))
            .Where(t => outcome.Deleted().Contains(t.Id) || t.DesiredState == TaskState.Remove)
            .Select(t => t.Slot).Distinct().Order();
        Assert.True(string.Join(' ', removed) == removedSlots, $"{why}: removed {string.Join(' ', removed)}");
        Assert.Empty(outcome.Created());
    }

    [Fact]
    public void A_Removed_Slot_Takes_Its_History_Along_And_Unassigned_Or_Ended_Tasks_Are_Deleted_At_Once()
    {
        var tasks = new[]
        {
            Task("x1", 1, "a"),
            Task("x2", 2, "a"),
            Task("x2old", 2, "a", TaskState.Failed, TaskState.Shutdown),
        };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(1));

        Assert.Equal("x2:remove", outcome.DesiredChanges());
        Assert.Equal(["x2old"], outcome.Deleted());
    }

    [Fact]
    public void A_Scaled_Down_Task_Is_Deleted_Once_Its_Node_Reports_It_Ended()
    {
        var tasks = new[] { Task("x1", 1, "a"), Task("x2", 2, "a", TaskState.Shutdown, TaskState.Remove) };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a"), At(1));

        Assert.Equal(["x2"], outcome.Deleted());
        Assert.Empty(outcome.Created());
    }

    public static TheoryData<string, NodeObject[], string, double?> LostNodes() => new()
    {
        // A down or gone node runs nothing any more: the replacement starts at once. A drained node's task
        // is still running until its node reports the stop: the replacement waits in Ready (swarmkit's waitStop),
        // and the step asks to run again when that wait times out (a minute after the replacement was made).
        { "down", [Node("a"), Node("b", NodeState.Down)], "2:running", null },
        { "drained", [Node("a"), Node("b", availability: NodeAvailability.Drain)], "2:ready", 61 },
        { "gone", [Node("a")], "2:running", null },
    };

    [Theory]
    [MemberData(nameof(LostNodes))]
    public void A_Task_On_A_Lost_Node_Stops_And_Is_Replaced_In_The_Same_Step_With_No_Restart_Delay(string why, NodeObject[] nodes, string created, double? wakeAt)
    {
        var slow = Spec(restart: new RestartPolicy(RestartCondition.Any, TimeSpan.FromSeconds(30), MaxAttempts: 1));
        var tasks = new[] { Task("x1", 1, "a", spec: slow), Task("x2", 2, "b", spec: slow) };

        var outcome = Run(Service(slow with { Mode = ServiceMode.ReplicatedMode(2) }), tasks, nodes, At(1));

        Assert.Equal("x2:shutdown", outcome.DesiredChanges());
        Assert.True(outcome.Creations() == created, $"{why}: {outcome.Creations()}");
        Assert.True(outcome.WakeAt == (wakeAt is { } w ? At(w) : null), $"{why}: wake-up at {outcome.WakeAt}");
    }

    public static TheoryData<string, NodeObject[]> NodesTheTaskMustLeave() => new()
    {
        { "node update --availability drain", [Node("w1", labels: ("zone", "c")), Node("w2", availability: NodeAvailability.Drain, labels: ("zone", "c")) with { Role = NodeRole.Manager }] },
        { "node update --label-rm zone (a constraint needs it)", [Node("w1", labels: ("zone", "c")), Node("w2")] },
        { "node demote (node.role==manager)", [Node("w1", labels: ("zone", "c")) with { Role = NodeRole.Manager }, Node("w2", labels: ("zone", "c"))] },
    };

    [Theory]
    [MemberData(nameof(NodesTheTaskMustLeave))]
    public void A_Task_Moved_Off_A_Node_Still_Up_Is_Replaced_Only_Once_It_Has_Stopped(string why, NodeObject[] nodes)
    {
        // One replica holding a lock or a volume: its two copies must never run together, for the stop grace period or longer.
        var spec = Spec(ServiceMode.ReplicatedMode(1), constraints: why.Contains("demote", StringComparison.Ordinal) ? ["node.role==manager"] : ["node.labels.zone==c"]);
        var before = nodes.Select(n => n.Id == "w2" ? Node("w2", labels: ("zone", "c")) with { Role = NodeRole.Manager } : n).ToList();
        var store = new FakeStore(Service(spec), [Task("x1", 1, "w2", spec: spec)], before);
        Assert.Empty(store.Step(At(1)).Changes);

        store.Nodes = [.. nodes];
        var first = store.Step(At(2));
        Assert.True(first.DesiredChanges() == "x1:shutdown", $"{why}: {first.DesiredChanges()}");
        var replacement = first.Created().Single();
        Assert.True(replacement.DesiredState == TaskState.Ready, $"{why}: the replacement is made {TaskStates.Name(replacement.DesiredState)} while x1 still runs");
        Assert.Contains(first.Events, e => e.Contains("it starts once task x1 has stopped", StringComparison.Ordinal));

        // Placed and prepared on w1 meanwhile, it still waits: x1 is running (its stop grace period).
        store.Assign(replacement.Id, "w1", At(3));
        store.Report(replacement.Id, TaskState.Ready, At(4));
        Assert.Empty(store.Step(At(5)).Changes);
        Assert.Equal(TaskState.Ready, store.Tasks[replacement.Id].DesiredState);

        // w2 reports the stop: now it starts.
        store.Report("x1", TaskState.Shutdown, At(8));
        var second = store.Step(At(8));
        Assert.Equal($"{replacement.Id}:running", second.DesiredChanges());
        Assert.Empty(second.Created());
        Assert.Empty(store.Step(At(9)).Changes);
    }

    [Fact]
    public void A_Replacement_Waiting_For_A_Drained_Nodes_Task_Starts_When_That_Node_Goes_Down()
    {
        var store = new FakeStore(Service(Spec(ServiceMode.ReplicatedMode(1))), [Task("x1", 1, "w2")], [Node("w1"), Node("w2", availability: NodeAvailability.Drain)]);
        var replacement = store.Step(At(1)).Created().Single();
        Assert.Equal(TaskState.Ready, replacement.DesiredState);

        // w2 never reports the stop: it went down, so nothing runs there any more.
        store.Nodes = [Node("w1"), Node("w2", NodeState.Down, NodeAvailability.Drain)];

        Assert.Equal($"{replacement.Id}:running", store.Step(At(4)).DesiredChanges());
    }

    [Fact]
    public void A_Replacement_Whose_Old_Task_Never_Reports_Its_Stop_Starts_When_The_Wait_Times_Out()
    {
        // w2 is drained and goes on beating, but its stop of x1 hangs (a stuck container stop, an agent bug): no report comes.
        var store = new FakeStore(Service(Spec(ServiceMode.ReplicatedMode(1))), [Task("x1", 1, "w2")], [Node("w1"), Node("w2", availability: NodeAvailability.Drain)]);
        var first = store.Step(At(2));
        var replacement = first.Created().Single();
        Assert.Equal(TaskState.Ready, replacement.DesiredState);
        // The step asks to run again when the wait times out, so nothing else need happen meanwhile.
        Assert.Equal(At(2) + SlotRules.OldTaskStopTimeout, first.WakeAt);
        Assert.Equal(TimeSpan.FromMinutes(1), SlotRules.OldTaskStopTimeout);

        store.Assign(replacement.Id, "w1", At(3));
        store.Report(replacement.Id, TaskState.Ready, At(4));
        var before = store.Step(At(61.9));
        Assert.Empty(before.Changes);
        Assert.Equal(At(62), before.WakeAt);

        var timedOut = store.Step(At(62));
        Assert.Equal($"{replacement.Id}:running", timedOut.DesiredChanges());
        Assert.Empty(timedOut.Created());
        Assert.Contains(timedOut.Events, e => e.Contains($"task {replacement.Id} starts: task x1 has not reported its stop within 60 s", StringComparison.Ordinal));
        Assert.Null(timedOut.WakeAt);
        Assert.Equal(TaskState.Shutdown, store.Tasks["x1"].DesiredState);
        Assert.Empty(store.Step(At(63)).Changes);
    }

    [Fact]
    public void A_Replacement_Whose_Old_Task_Stops_In_Time_Starts_At_Once_Not_At_The_Timeout()
    {
        var store = new FakeStore(Service(Spec(ServiceMode.ReplicatedMode(1))), [Task("x1", 1, "w2")], [Node("w1"), Node("w2", availability: NodeAvailability.Drain)]);
        var replacement = store.Step(At(2)).Created().Single();
        store.Assign(replacement.Id, "w1", At(3));
        store.Report(replacement.Id, TaskState.Ready, At(4));
        Assert.Empty(store.Step(At(5)).Changes);

        // w2 reports the stop after its grace period: the replacement starts then, and no wake-up for the timeout is left.
        store.Report("x1", TaskState.Shutdown, At(12));
        var stopped = store.Step(At(12));
        Assert.Equal($"{replacement.Id}:running", stopped.DesiredChanges());
        Assert.Contains(stopped.Events, e => e.Contains("the task it replaces has stopped", StringComparison.Ordinal));
        Assert.Null(stopped.WakeAt);
        Assert.Empty(store.Step(At(62)).Changes);
    }

    [Fact]
    public void A_Stop_First_Update_Replacement_Also_Starts_When_The_Old_Tasks_Stop_Times_Out()
    {
        // As swarmkit's updater, which waits for the old task through the restart supervisor's DelayStart and its timeout.
        var v1 = Spec(ServiceMode.ReplicatedMode(1), image: "app:1");
        var v2 = Spec(ServiceMode.ReplicatedMode(1), image: "app:2", update: new UpdateConfig(1, TimeSpan.Zero, FailureAction.Pause, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst));
        var service = Service(v2, specVersion: 2, status: new UpdateStatus(UpdateState.Updating, At(10), null, "update in progress"), previous: v1);
        TaskObject[] tasks =
        [
            Task("x1", 1, "a", TaskState.Running, TaskState.Shutdown, v1),
            Task("n1", 1, "b", TaskState.Ready, TaskState.Ready, v2, created: 10, statusAt: 12),
        ];

        var waiting = Run(service, tasks, NodeList("a", "b"), At(69));
        Assert.Empty(waiting.Changes);
        Assert.Equal(At(70), waiting.WakeAt);

        Assert.Equal("n1:running", Run(service, tasks, NodeList("a", "b"), At(70)).DesiredChanges());
    }

    [Fact]
    public void A_Task_Whose_Node_No_Longer_Meets_Its_Constraints_Stops_And_Is_Replaced_Where_They_Hold()
    {
        var ssd = Spec(ServiceMode.ReplicatedMode(2), constraints: ["node.labels.ssd==true"]);
        var tasks = new[] { Task("x1", 1, "a", spec: ssd), Task("x2", 2, "b", spec: ssd) };
        // b's label was removed after its task was placed (swarmkit's constraint enforcer stops such a task).
        var nodes = new[] { Node("a", labels: ("ssd", "true")), Node("b") };

        var outcome = Run(Service(ssd), tasks, nodes, At(1));

        Assert.Equal("x2:shutdown", outcome.DesiredChanges());
        // Made Ready: it starts once x2, still running on b, has stopped.
        Assert.Equal("2:ready", outcome.Creations());
        Assert.Contains(outcome.Events, e => e.Contains("no longer meets the task's placement constraints", StringComparison.Ordinal));
        // The reason is noted at once (service ps shows it while the task stops); the state stays its node's to report.
        Assert.Equal((TaskState.Running, ConstraintRejection.Error), (outcome.Updated("x2").Status.State, outcome.Updated("x2").Status.Err));
    }

    [Fact]
    public void A_Task_Stopped_For_Its_Nodes_Constraints_Ends_Rejected_As_Swarmkits_Constraint_Enforcer_Has_It()
    {
        var zoned = Spec(ServiceMode.ReplicatedMode(1), constraints: ["node.labels.zone==c"]);
        var store = new FakeStore(Service(zoned), [Task("x1", 1, "w2", spec: zoned)], [Node("w1", labels: ("zone", "c")), Node("w2", labels: ("zone", "c"))]);
        Assert.Empty(store.Step(At(1)).Changes);

        // node update --label-add zone=b w2: the task stops, its node reports the stop, and it is stored as the rejection.
        store.Nodes = [Node("w1", labels: ("zone", "c")), Node("w2", labels: ("zone", "b"))];
        var replacement = store.Step(At(2)).Created().Single();
        store.Report("x1", TaskState.Shutdown, At(3));

        var ended = store.Tasks["x1"];
        Assert.Equal((TaskState.Rejected, TaskState.Shutdown), (ended.Status.State, ended.DesiredState));
        Assert.Equal(("assigned node no longer meets constraints", "task rejected by constraint enforcer"), (ended.Status.Err, ended.Status.Message));
        Assert.Equal((1L, TaskState.Ready), (replacement.Slot, replacement.DesiredState));
        var after = store.Step(At(4));
        Assert.Empty(after.Created());
        Assert.Equal($"{replacement.Id}:running", after.DesiredChanges());
    }

    [Fact]
    public void A_Task_Is_Judged_By_Its_Own_Constraints_So_A_Rolling_Update_Replaces_The_Old_Ones_In_Batches()
    {
        var before = Spec(ServiceMode.ReplicatedMode(2));
        var after = Spec(ServiceMode.ReplicatedMode(2), constraints: ["node.labels.ssd==true"],
            update: new UpdateConfig(1, TimeSpan.Zero, FailureAction.Pause, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst));
        var tasks = new[] { Task("x1", 1, "a", spec: before), Task("x2", 2, "b", spec: before) };
        var nodes = new[] { Node("a"), Node("b") };

        var outcome = Run(Service(after, specVersion: 2, status: new UpdateStatus(UpdateState.Updating, At(0), null, "")), tasks, nodes, At(1));

        // One batch of one (the updater's), not both at once by the constraint rule.
        Assert.Single(outcome.DesiredChanges().Split(','));
    }

    [Fact]
    public void A_Paused_Node_Keeps_Its_Tasks()
    {
        var tasks = new[] { Task("x1", 1, "a") };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, [Node("a", availability: NodeAvailability.Pause)], At(1));

        Assert.Empty(outcome.Changes);
    }

    [Fact]
    public void A_Node_Loss_Uses_Up_No_Restart_Attempt()
    {
        var once = Spec(ServiceMode.ReplicatedMode(1), restart: new RestartPolicy(RestartCondition.Any, TimeSpan.Zero, MaxAttempts: 1));
        var tasks = new[]
        {
            // Stopped because its node went down, then reported shut down when the node came back.
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, once, created: 0, statusAt: 5),
            Task("x2", 1, "a", TaskState.Failed, TaskState.Running, once, created: 5, statusAt: 8),
        };

        var outcome = Run(Service(once), tasks, NodeList("a"), At(10));

        Assert.Equal("x2:shutdown", outcome.DesiredChanges());
        Assert.Equal("1:running", outcome.Creations());
    }

    [Fact]
    public void Two_Live_Tasks_In_One_Slot_Keep_The_Most_Advanced()
    {
        var tasks = new[] { Task("x1", 1, "a", TaskState.Assigned), Task("x2", 1, "b") };

        var outcome = Run(Service(Spec(ServiceMode.ReplicatedMode(1))), tasks, NodeList("a", "b"), At(1));

        Assert.Equal("x1:shutdown", outcome.DesiredChanges());
        Assert.Empty(outcome.Created());
    }
}
