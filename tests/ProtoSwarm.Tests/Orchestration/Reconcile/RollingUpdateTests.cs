using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class RollingUpdateTests
{
    private static readonly ServiceSpec V1 = Spec(image: "app:1");

    private static ServiceSpec V2(long parallelism = 1, UpdateOrder order = UpdateOrder.StopFirst, double monitor = 5, double delay = 0,
        FailureAction onFailure = FailureAction.Pause, double ratio = 0) =>
        Spec(image: "app:2", update: new UpdateConfig(parallelism, TimeSpan.FromSeconds(delay), onFailure, TimeSpan.FromSeconds(monitor), ratio, order));

    private static readonly UpdateStatus Updating = new(UpdateState.Updating, At(10), null, "update in progress");

    private static ServiceObject Updated(ServiceSpec spec, UpdateStatus? status = null) =>
        Service(spec, specVersion: 2, status: status ?? Updating, previous: V1);

    private static TaskObject[] OldTasks() =>
        [Task("x1", 1, "a", spec: V1), Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1)];

    [Fact]
    public void Stop_First_Stops_A_Batch_Of_Old_Tasks_And_Makes_Their_Replacements_Wait_In_Ready()
    {
        var outcome = Run(Updated(V2(parallelism: 2)), OldTasks(), NodeList("a", "b", "c"), At(10));

        Assert.Equal("x1:shutdown x2:shutdown", outcome.DesiredChanges());
        Assert.Equal("1:ready 2:ready", outcome.Creations());
        Assert.All(outcome.Created(), t => Assert.Equal("app:2", t.Spec.Container.Image));
    }

    [Fact]
    public void A_Stop_First_Replacement_Starts_Once_The_Old_Task_Stopped_Or_Its_Node_Is_Down()
    {
        var spec = V2();
        TaskObject[] Slot1(TaskState oldState) =>
        [
            Task("x1", 1, "a", oldState, TaskState.Shutdown, V1),
            Task("n1", 1, "", TaskState.Pending, TaskState.Ready, spec, created: 10),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        ];

        var stopping = Run(Updated(spec), Slot1(TaskState.Running), NodeList("a", "b", "c"), At(11));
        var stopped = Run(Updated(spec), Slot1(TaskState.Shutdown), NodeList("a", "b", "c"), At(11));
        var nodeDown = Run(Updated(spec), Slot1(TaskState.Running), [Node("a", NodeState.Down), Node("b"), Node("c")], At(11));

        Assert.Empty(stopping.Changes);
        Assert.Equal("n1:running", stopped.DesiredChanges());
        Assert.Equal("n1:running", nodeDown.DesiredChanges());
    }

    [Fact]
    public void Start_First_Starts_The_Replacement_And_Stops_The_Old_Task_Once_It_Runs()
    {
        var spec = V2(order: UpdateOrder.StartFirst);

        var start = Run(Updated(spec), OldTasks(), NodeList("a", "b", "c"), At(10));
        var starting = Run(Updated(spec), [.. OldTasks(), Task("n1", 1, "a", TaskState.Starting, spec: spec, created: 10)], NodeList("a", "b", "c"), At(11));
        var running = Run(Updated(spec), [.. OldTasks(), Task("n1", 1, "a", TaskState.Running, spec: spec, created: 10, statusAt: 11)], NodeList("a", "b", "c"), At(11));

        Assert.Empty(start.Updated());
        Assert.Equal("1:running", start.Creations());
        Assert.Empty(starting.Changes);
        Assert.Equal("x1:shutdown", running.DesiredChanges());
    }

    [Fact]
    public void The_Next_Batch_Starts_Once_The_Last_One_Runs_Without_Waiting_Out_Its_Monitor()
    {
        // swarm's updater: a worker takes the next slot once its task reached Running (plus the delay).
        var spec = V2(monitor: 5);
        TaskObject[] Tasks(TaskState n1) =>
        [
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", n1, spec: spec, created: 10, statusAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        ];

        var starting = Run(Updated(spec), Tasks(TaskState.Starting), NodeList("a", "b", "c"), At(12));
        var running = Run(Updated(spec), Tasks(TaskState.Running), NodeList("a", "b", "c"), At(12));

        Assert.Empty(starting.Changes);
        Assert.Equal("x2:shutdown", running.DesiredChanges());
        Assert.Equal("2:ready", running.Creations());
    }

    [Fact]
    public void The_Next_Batch_Starts_The_Update_Delay_After_The_Last_One_Started_Running()
    {
        var spec = V2(monitor: 5, delay: 10);
        TaskObject[] Tasks() =>
        [
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Running, spec: spec, created: 10, statusAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        ];

        var delayed = Run(Updated(spec), Tasks(), NodeList("a", "b", "c"), At(20));
        var due = Run(Updated(spec), Tasks(), NodeList("a", "b", "c"), At(22));

        Assert.Empty(delayed.Changes);
        Assert.Equal(At(22), delayed.WakeAt);
        Assert.Equal("2:ready", due.Creations());
    }

    [Fact]
    public void A_Task_Of_An_Earlier_Batch_Failing_Within_Its_Monitor_Pauses_The_Update_While_Later_Batches_Run()
    {
        var spec = V2(monitor: 5);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, spec: spec, created: 10, statusAt: 14, startedAt: 12, exit: 1),
            Task("x2", 2, "b", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n2", 2, "b", TaskState.Running, spec: spec, created: 12, statusAt: 13),
            Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(14));

        Assert.Equal(UpdateState.Paused, outcome.ServiceWritten()!.UpdateStatus!.State);
        Assert.DoesNotContain("x3", outcome.DesiredChanges(), StringComparison.Ordinal);
        Assert.DoesNotContain("3:", outcome.Creations(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parallelism_Zero_Updates_Every_Task_At_Once()
    {
        var outcome = Run(Updated(V2(parallelism: 0)), OldTasks(), NodeList("a", "b", "c"), At(10));

        Assert.Equal("1:ready 2:ready 3:ready", outcome.Creations());
    }

    [Fact]
    public void The_Update_Completes_When_No_Dirty_Task_Is_Left_And_The_Last_Batch_Passed_Its_Monitor()
    {
        var spec = V2();
        var tasks = new[]
        {
            Task("n1", 1, "a", spec: spec, created: 10, statusAt: 11),
            Task("n2", 2, "b", spec: spec, created: 20, statusAt: 21),
            Task("n3", 3, "c", spec: spec, created: 30, statusAt: 31),
        };

        var watching = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(33));
        var done = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(36));

        Assert.Empty(watching.Changes);
        Assert.Equal(new UpdateStatus(UpdateState.Completed, At(10), At(36), "update completed"), done.ServiceWritten()!.UpdateStatus);
        Assert.Single(done.Changes);
    }

    [Fact]
    public void A_Spec_Change_That_Leaves_Every_Task_Clean_Does_No_Rolling_Update()
    {
        var relabelled = V1 with { Name = "web2", Mode = ServiceMode.ReplicatedMode(3), Labels = V1.Labels.Add("tier", "front") };

        var outcome = Run(Updated(relabelled), OldTasks(), NodeList("a", "b", "c"), At(10));

        Assert.Equal(UpdateState.Completed, outcome.ServiceWritten()!.UpdateStatus!.State);
        Assert.Empty(outcome.Created());
        Assert.Empty(outcome.Updated());
    }

    [Fact]
    public void Equal_Specs_Read_Apart_Are_Clean_Though_Records_Compare_Arrays_By_Reference()
    {
        var withEnv = V1.With(t => t with { Container = t.Container with { Env = ["A=1"] } });
        var sameAgain = V1.With(t => t with { Container = t.Container with { Env = ["A=1"] } });
        Assert.NotEqual(withEnv.TaskTemplate, sameAgain.TaskTemplate);

        var outcome = Run(Updated(sameAgain), [Task("x1", 1, "a", spec: withEnv), Task("x2", 2, "a", spec: withEnv), Task("x3", 3, "a", spec: withEnv)], NodeList("a"), At(10));

        Assert.Empty(outcome.Created());
        Assert.Equal(UpdateState.Completed, outcome.ServiceWritten()!.UpdateStatus!.State);
    }

    [Fact]
    public void Force_Update_Makes_Every_Task_Dirty()
    {
        var forced = V1.With(t => t with { ForceUpdate = 1 }) with { Update = new UpdateConfig(0, TimeSpan.Zero, FailureAction.Pause, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst) };

        var outcome = Run(Updated(forced), OldTasks(), NodeList("a", "b", "c"), At(10));

        Assert.Equal("1:ready 2:ready 3:ready", outcome.Creations());
    }

    [Fact]
    public void A_Failure_Within_The_Monitor_Pauses_The_Update_And_Nothing_More_Is_Updated()
    {
        var spec = V2();
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 13, startedAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(14));
        var later = Run(outcome.ServiceWritten(), [.. tasks.Where(t => t.Id != "n1"), .. outcome.Updated(), .. outcome.Created()], NodeList("a", "b", "c"), At(100));

        var status = outcome.ServiceWritten()!.UpdateStatus!;
        Assert.Equal(UpdateState.Paused, status.State);
        Assert.Equal("update paused due to failure or early termination of task n1", status.Message);
        Assert.DoesNotContain(outcome.Updated(), t => t.Id is "x2" or "x3");

        // The failed slot still restarts (with the new spec): restarts follow the restart policy, not the update.
        Assert.Equal("1:running", outcome.Creations());
        Assert.DoesNotContain(later.Updated(), t => t.Id is "x2" or "x3");
        Assert.Empty(later.Created());
    }

    [Theory]
    [InlineData(FailureAction.Pause, UpdateState.Paused)]
    [InlineData(FailureAction.Rollback, UpdateState.RollbackStarted)]
    public void A_Task_That_Exits_Cleanly_Within_The_Monitor_Is_An_Early_Termination_As_Swarmkit_Counts_It(FailureAction onFailure, UpdateState expected)
    {
        // `service update --args "sh -c 'sleep 2; exit 0'"`: each new task ran 2 s and completed, restarted by its
        // policy; swarmkit's updater counts a task of the update that goes past Running within the monitor,
        // Completed included ("failure or early termination"). Only failures counted, and the update completed.
        var spec = V2(monitor: 5, onFailure: onFailure);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Complete, TaskState.Running, spec, created: 10, statusAt: 14, startedAt: 12, runningAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(15));

        Assert.Equal(expected, outcome.ServiceWritten()?.UpdateStatus?.State);
        Assert.EndsWith("due to failure or early termination of task n1", outcome.ServiceWritten()!.UpdateStatus!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Failure_After_The_Monitor_Period_Does_Not_Count()
    {
        var spec = V2(monitor: 5);
        var tasks = new[]
        {
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 30, startedAt: 12, runningAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(30));

        Assert.Null(outcome.ServiceWritten());
    }

    [Theory]
    [InlineData(FailureAction.Pause, UpdateState.Paused)]
    [InlineData(FailureAction.Rollback, UpdateState.RollbackStarted)]
    public void A_Task_That_Failed_Before_It_Ever_Ran_Counts_However_Long_Ago_Its_Container_Started(FailureAction onFailure, UpdateState expected)
    {
        // A health-gated task: its container started at 12, it sat in Starting until its health check gave
        // up at 40 (long past the 5 s monitor after the container's start), and it never reached Running.
        var spec = V2(monitor: 5, onFailure: onFailure);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 40, startedAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(41));

        Assert.Equal(expected, outcome.ServiceWritten()?.UpdateStatus?.State);
        Assert.DoesNotContain(outcome.Updated(), t => t.Id is "x2" or "x3");
    }

    [Fact]
    public void The_Monitor_Period_Runs_From_When_The_Task_Reached_Running_Not_From_Its_Container_Start()
    {
        // Container started at 12, healthy (Running) at 20, failed at 30: within 15 s of running, not of starting.
        var spec = V2(monitor: 15);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 30, startedAt: 12, runningAt: 20),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(31));

        Assert.Equal(UpdateState.Paused, outcome.ServiceWritten()?.UpdateStatus?.State);
    }

    [Fact]
    public void The_Update_Delay_Is_Kept_After_A_Batch_Whose_Task_Failed()
    {
        // Continue goes on despite the failure, but only the delay after the failed task's slot settled
        // (it ran at 12): the delay is what slows a bad version's spread. No restart (condition none)
        // stands in the slot meanwhile.
        var spec = Spec(image: "app:2", restart: new RestartPolicy(RestartCondition.None, TimeSpan.Zero),
            update: new UpdateConfig(1, TimeSpan.FromSeconds(10), FailureAction.Continue, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst));
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 13, startedAt: 12, runningAt: 12, exit: 1),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };
        var neverRan = tasks.Select(t => t.Id == "n1" ? t with { Status = t.Status with { RunningAt = null } } : t).ToArray();

        var delayed = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(14));
        var due = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(22));
        var delayedFromItsEnd = Run(Updated(spec), neverRan, NodeList("a", "b", "c"), At(22));

        Assert.Empty(delayed.Creations());
        Assert.DoesNotContain("x2", delayed.DesiredChanges(), StringComparison.Ordinal);
        Assert.Equal(At(22), delayed.WakeAt);
        Assert.Equal("2:ready", due.Creations());
        // One that failed before it ever ran settled when it ended, at 13.
        Assert.Empty(delayedFromItsEnd.Creations());
        Assert.Equal(At(23), delayedFromItsEnd.WakeAt);
    }

    [Fact]
    public void The_Update_Delay_Runs_From_A_Slots_First_Task_Of_The_Update_Not_From_Its_Restarts()
    {
        // Slot 1's new task ran at 12 and failed; its restart runs since 21 and will crash too: the
        // delay after slot 1 ended at 22, the restarts of a crash loop do not hold the update forever.
        var spec = V2(delay: 10, onFailure: FailureAction.Continue);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 10, statusAt: 13, startedAt: 12, runningAt: 12, exit: 1),
            Task("r1", 1, "a", TaskState.Running, spec: spec, created: 18, statusAt: 21, runningAt: 21),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(23));

        Assert.Equal("2:ready", outcome.Creations());
    }

    [Theory]
    [InlineData(0.5, 1, 1, false)]
    [InlineData(0.5, 2, 1, true)]
    [InlineData(0.7, 2, 1, false)]
    [InlineData(0.0, 1, 3, true)]
    [InlineData(0.0, 0, 3, false)]
    public void Failures_Beyond_The_Max_Failure_Ratio_Trigger_The_Failure_Action(double ratio, int failed, int succeeded, bool paused)
    {
        var spec = V2(ratio: ratio, parallelism: 0) with { Mode = ServiceMode.ReplicatedMode(failed + succeeded) };
        var tasks = Enumerable.Range(1, failed).Select(i => Task($"f{i}", i, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 10, statusAt: 11))
            .Concat(Enumerable.Range(1, failed).Select(i => Task($"r{i}", i, "a", TaskState.Running, TaskState.Running, spec, created: 11, statusAt: 11)))
            .Concat(Enumerable.Range(1, succeeded).Select(i => Task($"s{i}", failed + i, "a", spec: spec, created: 10, statusAt: 11)));

        var outcome = Run(Updated(spec), tasks, NodeList("a"), At(12));

        // Failures are divided by the slots: a restart (r) of a failed task does not dilute them.
        Assert.Equal(paused, outcome.ServiceWritten()?.UpdateStatus?.State == UpdateState.Paused);
    }

    [Fact]
    public void The_Failure_Ratio_Is_Out_Of_Every_Slot_The_Update_Takes_And_Names_The_Failure_That_Crossed_It()
    {
        // Swarmkit's updater divides by its dirty slots: one failure in five is 0.2, within 0.3, so the update goes on.
        var spec = V2(ratio: 0.3, monitor: 30) with { Mode = ServiceMode.ReplicatedMode(5) };
        TaskObject[] Old(int from) => [.. Enumerable.Range(from, 6 - from).Select(i => Task($"x{i}", i, "a", spec: V1))];
        var first = new[] { Task("f1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 10, statusAt: 12, startedAt: 11) };

        var once = Run(Updated(spec), [.. first, .. Old(2)], NodeList("a"), At(13));
        var second = new[] { Task("f2", 2, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 14, statusAt: 16, startedAt: 15) };
        var twice = Run(Updated(spec), [.. first, .. second, .. Old(3)], NodeList("a"), At(17));

        Assert.NotEqual(UpdateState.Paused, once.ServiceWritten()?.UpdateStatus?.State);
        Assert.Equal("update paused due to failure or early termination of task f2", twice.ServiceWritten()!.UpdateStatus!.Message);
    }

    [Fact]
    public void Continue_Goes_On_Despite_Failures()
    {
        var spec = V2(onFailure: FailureAction.Continue, monitor: 0);
        var tasks = new[]
        {
            Task("n1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 10, statusAt: 11),
            Task("r1", 1, "a", TaskState.Running, TaskState.Running, spec, created: 11, statusAt: 11),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(12));

        Assert.Null(outcome.ServiceWritten());
        Assert.Equal("2:ready", outcome.Creations());
    }

    [Fact]
    public void Failure_Action_Rollback_Writes_The_Previous_Spec_Back_And_Starts_Rolling_Back_At_Once()
    {
        var spec = V2(onFailure: FailureAction.Rollback);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 12),
            Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1),
        };

        var outcome = Run(Updated(spec), tasks, NodeList("a", "b", "c"), At(14));

        var service = outcome.ServiceWritten()!;
        Assert.Same(V1, service.Spec);
        Assert.Same(spec, service.PreviousSpec);
        Assert.Equal(3UL, service.SpecVersion);
        Assert.Equal(new UpdateStatus(UpdateState.RollbackStarted, At(14), null, "update rolled back due to failure or early termination of task n1"), service.UpdateStatus);

        // Slot 1 lost its task and gets one of the rolled-back spec; x2 and x3 already run it.
        Assert.Equal("1:running", outcome.Creations());
        Assert.Equal("app:1", outcome.Created().Single().Spec.Container.Image);
        Assert.Equal(3UL, outcome.Created().Single().SpecVersion);
    }

    [Fact]
    public void A_Rollback_Replaces_The_New_Spec_Tasks_In_Batches_And_Completes()
    {
        var failed = V2();
        var rollingBack = new UpdateStatus(UpdateState.RollbackStarted, At(20), null, "update rolled back");
        var service = Service(V1, specVersion: 3, status: rollingBack, previous: failed);
        var tasks = new[] { Task("n1", 1, "a", spec: failed, created: 10), Task("x2", 2, "b", spec: V1), Task("x3", 3, "c", spec: V1) };
        var back = new[] { Task("n1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, failed, created: 10), Task("b1", 1, "a", spec: V1, created: 20, statusAt: 21), tasks[1], tasks[2] };

        var first = Run(service, tasks, NodeList("a", "b", "c"), At(20));
        var done = Run(service, back, NodeList("a", "b", "c"), At(30));

        Assert.Equal("n1:shutdown", first.DesiredChanges());
        Assert.Equal("1:ready", first.Creations());
        Assert.Equal(new UpdateStatus(UpdateState.RollbackCompleted, At(20), At(30), "rollback completed"), done.ServiceWritten()!.UpdateStatus);
    }

    [Fact]
    public void A_Rollback_That_Fails_Too_Pauses()
    {
        var failed = V2();
        var rollingBack = new UpdateStatus(UpdateState.RollbackStarted, At(20), null, "update rolled back");
        var service = Service(V1 with { Rollback = new UpdateConfig(1, TimeSpan.Zero, FailureAction.Rollback, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst) },
            specVersion: 3, status: rollingBack, previous: failed);
        var tasks = new[]
        {
            Task("b1", 1, "a", TaskState.Rejected, TaskState.Running, V1, created: 20, statusAt: 21),
            Task("x2", 2, "b", spec: failed), Task("x3", 3, "c", spec: failed),
        };

        var outcome = Run(service, tasks, NodeList("a", "b", "c"), At(22));

        var status = outcome.ServiceWritten()!.UpdateStatus!;
        Assert.Equal(UpdateState.RollbackPaused, status.State);
        Assert.Equal("rollback paused due to failure or early termination of task b1", status.Message);
        Assert.DoesNotContain(outcome.Updated(), t => t.Id is "x2" or "x3");
    }

    [Fact]
    public void A_Paused_Update_Does_Not_Resume_On_Its_Own()
    {
        var paused = new UpdateStatus(UpdateState.Paused, At(10), null, "update paused due to failure or early termination of task n1");

        var outcome = Run(Updated(V2(), paused), OldTasks(), NodeList("a", "b", "c"), At(1000));

        Assert.Empty(outcome.Changes);
        Assert.Null(outcome.WakeAt);
    }

    [Fact]
    public void A_Global_Service_Updates_Only_Its_Eligible_Nodes()
    {
        var v1 = V1 with { Mode = ServiceMode.GlobalMode };
        var v2 = V2() with { Mode = ServiceMode.GlobalMode };
        var tasks = new[] { Task("x1", 0, "a", spec: v1), Task("x2", 0, "b", spec: v1), Task("x3", 0, "c", spec: v1) };

        var outcome = Run(Updated(v2 with { Update = v2.Update with { Parallelism = 0 } }), tasks,
            [Node("a", NodeState.Down), Node("b"), Node("c", availability: NodeAvailability.Pause)], At(10));

        // The task on the down node is left alone: it can neither stop nor be replaced while its node
        // is away; the paused node's task stays, as a paused node takes no new task.
        Assert.Equal("x2:shutdown", outcome.DesiredChanges());
        Assert.Equal("b:ready", outcome.Creations());
    }

    [Theory]
    [InlineData("down")]
    [InlineData("paused")]
    public void A_Global_Node_Missed_By_The_Update_Gets_The_Current_Spec_Once_It_Is_Eligible_Again(string condition)
    {
        var v1 = V1 with { Mode = ServiceMode.GlobalMode };
        var v2 = V2() with { Mode = ServiceMode.GlobalMode };
        var away = condition == "down" ? Node("a", NodeState.Down) : Node("a", availability: NodeAvailability.Pause);
        var store = new FakeStore(Updated(v2), [Task("x1", 0, "a", spec: v1), Task("x2", 0, "b", spec: v1)], [away, Node("b")]);

        // The update takes b only, and completes once b's new task has run through its monitor.
        Assert.Equal("b:ready", store.Step(At(10)).Creations());
        store.Report("x2", TaskState.Shutdown, At(11));
        var started = store.Step(At(11));
        var b = Assert.Single(started.Updated(), t => t.DesiredState == TaskState.Running);
        store.Report(b.Id, TaskState.Running, At(12));
        store.Step(At(12));
        store.Step(At(20));
        Assert.Equal(UpdateState.Completed, store.Service!.UpdateStatus!.State);
        Assert.Equal("app:1", store.Tasks["x1"].Spec.Container.Image);

        // Back, a's task is replaced by one of the current spec in the update's order (stop-first here).
        store.Nodes = [.. NodeList("a", "b")];
        var back = store.Step(At(30));
        Assert.Equal("x1:shutdown", back.DesiredChanges());
        Assert.Equal("a:ready", back.Creations());
        Assert.Equal("app:2", back.Created()[0].Spec.Container.Image);
        store.Report("x1", TaskState.Shutdown, At(31));
        Assert.Equal($"{back.Created()[0].Id}:running", store.Step(At(31)).DesiredChanges());
        Assert.Empty(store.Step(At(32)).Changes);
    }

    [Fact]
    public void A_Start_First_Global_Service_Starts_The_Returning_Nodes_New_Task_Before_Stopping_The_Old_One()
    {
        var v1 = V1 with { Mode = ServiceMode.GlobalMode };
        var v2 = V2(order: UpdateOrder.StartFirst) with { Mode = ServiceMode.GlobalMode };
        var completed = new UpdateStatus(UpdateState.Completed, At(10), At(20), "update completed");
        var tasks = new[] { Task("x1", 0, "a", spec: v1), Task("n2", 0, "b", spec: v2, created: 10, statusAt: 11) };

        var outcome = Run(Updated(v2, completed), tasks, NodeList("a", "b"), At(30));

        Assert.Equal("a:running", outcome.Creations());
        Assert.Empty(outcome.DesiredChanges());
    }

    [Theory]
    [InlineData(UpdateState.Paused)]
    [InlineData(UpdateState.RollbackPaused)]
    public void A_Paused_Update_Leaves_A_Returning_Global_Node_On_The_Old_Spec(UpdateState state)
    {
        var v1 = V1 with { Mode = ServiceMode.GlobalMode };
        var v2 = V2() with { Mode = ServiceMode.GlobalMode };
        var paused = new UpdateStatus(state, At(10), null, "paused due to failure or early termination of task n2");
        var tasks = new[] { Task("x1", 0, "a", spec: v1), Task("n2", 0, "b", spec: v2, created: 10, statusAt: 11) };

        var outcome = Run(Updated(v2, paused), tasks, NodeList("a", "b"), At(30));

        Assert.Empty(outcome.Changes);
    }

    [Fact]
    public void A_Restart_Held_For_Its_Restart_Delay_Is_No_Batch_Coming_Up()
    {
        var v2 = V2(onFailure: FailureAction.Continue);
        v2 = v2 with { Mode = ServiceMode.ReplicatedMode(2), TaskTemplate = v2.TaskTemplate with { Restart = new RestartPolicy(RestartCondition.Any, TimeSpan.FromSeconds(5)) } };
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Shutdown, TaskState.Shutdown, V1),
            Task("n1", 1, "a", TaskState.Failed, TaskState.Shutdown, v2, created: 10, statusAt: 11),
            Task("n2", 1, "", TaskState.Pending, TaskState.Ready, v2, created: 11),
            Task("x2", 2, "b", spec: V1),
        };

        var outcome = Run(Updated(v2), tasks, NodeList("a", "b"), At(12));

        // Slot 1 crash-loops under Continue: its restart waits out the delay in Ready, and the update goes on meanwhile,
        // as it did when the restart was made only once the delay had passed.
        Assert.Equal("x2:shutdown", outcome.DesiredChanges());
        Assert.Equal("2:ready", outcome.Creations());
        Assert.Equal(At(16), outcome.WakeAt);
    }
}
