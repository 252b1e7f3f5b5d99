using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Services;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ConvergenceTests
{
    private static readonly ServiceReplicas Three = new(3, 3);

    private static ServiceProgress Evaluate(ServiceObject service, params TaskObject[] tasks) =>
        ServiceConvergence.Evaluate(service, Three, tasks);

    private static TaskObject[] Running(int count, ulong specVersion = 1) =>
        [.. Enumerable.Range(1, count).Select(slot => Task($"task{slot}", slot, specVersion: specVersion))];

    [Fact]
    public void Replicated_Service_Converges_When_Every_Slot_Runs_The_Current_Spec()
    {
        var progress = Evaluate(Service(), Running(3));

        Assert.Equal(ConvergenceState.Converged, progress.State);
        Assert.Equal((3L, 3L), (progress.Done, progress.Desired));
        Assert.Equal(["1/3", "2/3", "3/3"], progress.Slots.Select(s => s.Label));
    }

    [Fact]
    public void A_Pending_Slot_Keeps_It_In_Progress_With_Its_Explanation()
    {
        var progress = Evaluate(Service(), [.. Running(2), Task("task3", 3, TaskState.Pending, err: "no suitable node (insufficient resources on 3 nodes)")]);

        Assert.Equal(ConvergenceState.InProgress, progress.State);
        Assert.Equal(2, progress.Done);
        Assert.Equal(new SlotProgress("3/3", TaskState.Pending, "no suitable node (insufficient resources on 3 nodes)"), progress.Slots[2]);
    }

    [Fact]
    public void An_Old_Task_Still_Wanted_Running_Blocks_Convergence()
    {
        // A start-first update: the old task runs on until the new one has run a while.
        var old = Task("old1", 1, TaskState.Running, TaskState.Running, specVersion: 1, image: "nginx:0");

        var progress = Evaluate(Service(specVersion: 2), [.. Running(3, specVersion: 2), old]);

        Assert.Equal(ConvergenceState.InProgress, progress.State);
        Assert.Equal(3, progress.Done);
    }

    [Fact]
    public void A_Task_No_Longer_Wanted_Does_Not_Hold_The_Wait_Though_Its_Node_Has_Not_Stopped_It()
    {
        // Its node may be Down and never report it stopped; the slot's new task is what counts.
        var stale = Task("old1", 1, TaskState.Running, TaskState.Shutdown, specVersion: 1);

        var progress = Evaluate(Service(specVersion: 2), [.. Running(3, specVersion: 2), stale]);

        Assert.Equal(ConvergenceState.Converged, progress.State);
    }

    [Fact]
    public void Old_Tasks_That_Ended_Or_Never_Reached_A_Node_Do_Not_Block()
    {
        TaskObject[] old = [Task("old1", 1, TaskState.Shutdown, TaskState.Shutdown), Task("old2", 2, TaskState.Pending, TaskState.Shutdown)];

        Assert.Equal(ConvergenceState.Converged, Evaluate(Service(specVersion: 2), [.. Running(3, specVersion: 2), .. old]).State);
    }

    [Fact]
    public void Slots_Beyond_A_Scale_Down_Count_Once_They_Are_No_Longer_Wanted()
    {
        var service = Service(spec: Spec(replicas: 2));

        var wanted = Evaluate(service, [.. Running(2), Task("task3", 3, TaskState.Running, TaskState.Running)]);
        var retired = Evaluate(service, [.. Running(2), Task("task3", 3, TaskState.Running, TaskState.Remove)]);

        Assert.Equal(ConvergenceState.InProgress, wanted.State);
        Assert.Equal(ConvergenceState.Converged, retired.State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(UpdateState.Completed)]
    public void Slots_Left_With_A_Gap_By_A_Scale_Down_Count_And_Fill_The_Lines_In_Order(UpdateState? state)
    {
        // The operator's case: 3 replicas on m1, a constraint removed, scaled to 4 (slot 4 on w1), then to 3: the
        // managers remove slot 3 and keep 1, 2 and 4. Counting only slots 1..3 waited forever at 2 out of 3, and a
        // later update the managers completed ended without verifying.
        var service = Service(status: state is { } s ? Status(s, "update completed") : null);
        TaskObject[] tasks = [Task("task1", 1), Task("task2", 2), Task("task3", 3, TaskState.Shutdown, TaskState.Remove), Task("task4", 4, node: "nodewwwwwwwwwwwwwwwwwwww1")];

        var progress = Evaluate(service, tasks);

        Assert.Equal((ConvergenceState.Converged, 3L, 3L), (progress.State, progress.Done, progress.Desired));
        Assert.Equal(["1/3: running", "2/3: running", "3/3: running"], progress.Slots.Select(l => $"{l.Label}: {l.State?.ToString().ToLowerInvariant()}"));
    }

    [Fact]
    public void A_Slot_Beyond_The_Replicas_Still_Wanted_Running_Keeps_The_Wait_Without_A_Line()
    {
        // Scaled from 4 to 3 and the managers have not removed a slot yet: four run where three are wanted.
        var progress = Evaluate(Service(), [.. Running(2), Task("task4", 4), Task("task5", 5)]);

        Assert.Equal((ConvergenceState.InProgress, 4L), (progress.State, progress.Done));
        Assert.Equal(["1/3", "2/3", "3/3"], progress.Slots.Select(l => l.Label));
    }

    [Fact]
    public void A_Down_Nodes_Stale_Task_Of_A_Global_Service_Is_Left_Out_So_The_Update_Verifies()
    {
        // A global update with node c down: the update cannot reach c, whose old task the managers leave alone (still
        // wanted running); it used to count as a leftover, and the completed update ended without verifying.
        var service = Service(spec: Spec(image: "nginx:1.28") with { Mode = ServiceMode.GlobalMode }, status: Status(UpdateState.Completed, "update completed"));
        TaskObject[] tasks =
        [
            Task("ga", 0, node: "nodeaaaaaaaaaaaaaaaaaaaaa", image: "nginx:1.28"),
            Task("gb", 0, node: "nodebbbbbbbbbbbbbbbbbbbbb", image: "nginx:1.28"),
            Task("gc", 0, node: "nodeccccccccccccccccccccc", image: "nginx:1.27"),
        ];

        var seeingDown = ServiceConvergence.Evaluate(service, new(2, 2), tasks, new HashSet<string>(["nodeccccccccccccccccccccc"]));
        var blind = ServiceConvergence.Evaluate(service, new(2, 2), tasks);

        Assert.Equal((ConvergenceState.Converged, 2L, 2L), (seeingDown.State, seeingDown.Done, seeingDown.Desired));
        Assert.Equal(["nodeaaaaaaaa", "nodebbbbbbbb"], seeingDown.Slots.Select(s => s.Label));
        Assert.Equal(ConvergenceState.UpdateCompleted, blind.State);
    }

    [Fact]
    public void A_Down_Nodes_Task_Of_A_Replicated_Service_Neither_Counts_Nor_Shows()
    {
        // Docker's CLI leaves out tasks of nodes that are down: such a node reports nothing, so its task's last
        // report (running) says nothing of the slot.
        var progress = ServiceConvergence.Evaluate(Service(), Three, [.. Running(2), Task("task3", 3, node: "nodeddddddddddddddddddddd")], new HashSet<string>(["nodeddddddddddddddddddddd"]));

        Assert.Equal((ConvergenceState.InProgress, 2L), (progress.State, progress.Done));
        Assert.Equal(new SlotProgress("3/3", null, string.Empty), progress.Slots[2]);
    }

    [Fact]
    public void During_A_Rollback_A_Slot_Still_On_The_Spec_Rolled_Back_Is_Blank_Rather_Than_Shutdown()
    {
        // The slot's task of the restored spec is the one the update stopped; docker draws nothing for a stopped task.
        var restored = Service(status: Status(UpdateState.RollbackStarted, "manually requested rollback"));
        TaskObject[] tasks =
        [
            Task("before1", 1, TaskState.Shutdown, TaskState.Shutdown, created: Joined),
            Task("update1", 1, created: Joined.AddMinutes(1), image: "nginx:1.28"),
            Task("back2", 2, TaskState.Starting, created: Joined.AddMinutes(2)),
            Task("back3", 3, created: Joined.AddMinutes(2)),
        ];

        var progress = Evaluate(restored, tasks);

        Assert.Equal([null, TaskState.Starting, TaskState.Running], progress.Slots.Select(s => s.State));
        Assert.Equal(1, progress.Done);
    }

    [Fact]
    public void A_Stopped_Task_With_An_Error_Still_Shows_Its_Error()
    {
        var progress = Evaluate(Service(), [.. Running(2), Task("task3", 3, TaskState.Failed, TaskState.Shutdown, err: "task: non-zero exit (1)")]);

        Assert.Equal(new SlotProgress("3/3", TaskState.Failed, "task: non-zero exit (1)"), progress.Slots[2]);
    }

    [Fact]
    public void A_Restarted_Slot_Shows_The_Task_Wanted_Running()
    {
        var failed = Task("failed", 1, TaskState.Failed, TaskState.Shutdown, err: "exit 1", created: Joined);
        var starting = Task("restart", 1, TaskState.Starting, created: Joined.AddSeconds(5));

        var progress = ServiceConvergence.Evaluate(Service(spec: Spec(replicas: 1)), new(0, 1), [failed, starting]);

        Assert.Equal(new SlotProgress("1/1", TaskState.Starting, string.Empty), progress.Slots.Single());
    }

    [Theory]
    [InlineData(UpdateState.Paused, ConvergenceState.UpdatePaused)]
    [InlineData(UpdateState.RollbackPaused, ConvergenceState.RollbackPaused)]
    [InlineData(UpdateState.RollbackCompleted, ConvergenceState.RolledBack)]
    [InlineData(UpdateState.RollbackStarted, ConvergenceState.RolledBack)]
    [InlineData(UpdateState.Updating, ConvergenceState.Converged)]
    [InlineData(UpdateState.Completed, ConvergenceState.Converged)]
    public void Update_Status_Decides_How_Waiting_Ends(UpdateState state, ConvergenceState expected)
    {
        var progress = Evaluate(Service(status: Status(state, "update rolled back due to failure or early termination of task x")), Running(3));

        Assert.Equal(expected, progress.State);
        Assert.Equal(state is UpdateState.RollbackPaused or UpdateState.RollbackCompleted or UpdateState.RollbackStarted, progress.RollingBack);
    }

    [Theory]
    [InlineData(UpdateState.Updating, ConvergenceState.InProgress, false)]
    [InlineData(UpdateState.RollbackStarted, ConvergenceState.InProgress, false)]
    [InlineData(UpdateState.Completed, ConvergenceState.UpdateCompleted, true)]
    [InlineData(UpdateState.RollbackCompleted, ConvergenceState.RollbackCompleted, true)]
    public void An_Update_The_Managers_Completed_Ends_The_Wait_Though_A_Task_Still_Fails(UpdateState state, ConvergenceState expected, bool final)
    {
        // --update-failure-action continue: the managers went through every slot; the failing one will not run by waiting.
        var progress = Evaluate(Service(status: Status(state, "done")), [.. Running(2), Task("task3", 3, TaskState.Failed, TaskState.Shutdown, err: "non-zero exit (1)")]);

        Assert.Equal(expected, progress.State);
        Assert.Equal(final, progress.IsFinal);
    }

    [Fact]
    public void The_Monitor_Period_Is_The_Update_Configs_Or_Docker_s_Five_Seconds()
    {
        var watched = Spec() with { Update = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(30) }, Rollback = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(7) } };
        var unset = Spec() with { Update = UpdateConfig.Default with { Monitor = TimeSpan.Zero } };

        Assert.Equal(TimeSpan.FromSeconds(5), ServiceConvergence.MonitorPeriod(Service()));
        Assert.Equal(TimeSpan.FromSeconds(5), ServiceConvergence.MonitorPeriod(Service(spec: unset)));
        Assert.Equal(TimeSpan.FromSeconds(30), ServiceConvergence.MonitorPeriod(Service(spec: watched, status: Status(UpdateState.Updating, "update in progress"))));
        Assert.Equal(TimeSpan.FromSeconds(30), ServiceConvergence.MonitorPeriod(Service(spec: watched, status: Status(UpdateState.Completed, "update completed"))));
    }

    [Theory]
    [InlineData(UpdateState.RollbackStarted)]
    [InlineData(UpdateState.RollbackCompleted)]
    public void A_Rollback_Is_Watched_For_The_Rollback_Configs_Monitor_Period(UpdateState state)
    {
        var spec = Spec() with { Update = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(30) }, Rollback = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(7) } };

        Assert.Equal(TimeSpan.FromSeconds(7), ServiceConvergence.MonitorPeriod(Service(spec: spec, status: Status(state, "manually requested rollback"))));
    }

    [Fact]
    public void A_Paused_Update_Stops_Waiting_Even_Before_Tasks_Run()
    {
        var progress = Evaluate(Service(status: Status(UpdateState.Paused, "update paused due to failure")), Task("t1", 1, TaskState.Failed, TaskState.Shutdown));

        Assert.Equal(ConvergenceState.UpdatePaused, progress.State);
        Assert.True(progress.IsFinal);
    }

    [Fact]
    public void Global_Service_Converges_When_Every_Eligible_Node_Runs_One()
    {
        var service = Service(spec: Spec() with { Mode = ServiceMode.GlobalMode });
        var a = Task("ga", 0, node: "nodeaaaaaaaaaaaaaaaaaaaaa");
        var b = Task("gb", 0, TaskState.Preparing, node: "nodebbbbbbbbbbbbbbbbbbbbb");

        var preparing = ServiceConvergence.Evaluate(service, new(1, 2), [a, b]);
        var missing = ServiceConvergence.Evaluate(service, new(1, 2), [a]);
        var done = ServiceConvergence.Evaluate(service, new(2, 2), [a, b with { Status = a.Status }]);

        Assert.Equal(ConvergenceState.InProgress, preparing.State);
        Assert.Equal(["nodeaaaaaaaa", "nodebbbbbbbb"], preparing.Slots.Select(s => s.Label));
        Assert.Equal((1L, 2L), (missing.Done, missing.Desired));
        Assert.Equal(ConvergenceState.InProgress, missing.State);
        Assert.Equal(ConvergenceState.Converged, done.State);
    }

    [Fact]
    public void A_Job_Is_Done_When_Its_Completions_Are()
    {
        var service = Service(spec: Spec() with { Mode = ServiceMode.ReplicatedJobMode(2, 3) });
        TaskObject[] two = [Task("j1", 1, TaskState.Complete, TaskState.Complete), Task("j2", 2, TaskState.Complete, TaskState.Complete)];

        var running = ServiceConvergence.Evaluate(service, new(1, 3), [.. two, Task("j3", 3, TaskState.Running, TaskState.Complete)]);
        var done = ServiceConvergence.Evaluate(service, new(0, 3, 3), [.. two, Task("j3", 3, TaskState.Complete, TaskState.Complete)]);

        Assert.Equal((ConvergenceState.InProgress, 2L, 3L), (running.State, running.Done, running.Desired));
        // As docker's job progress: a line per slot 1..total, a completed slot's reading "complete".
        Assert.Equal(["1/3", "2/3", "3/3"], running.Slots.Select(s => s.Label));
        Assert.Equal([TaskState.Complete, TaskState.Complete, TaskState.Running], running.Slots.Select(s => s.State));
        Assert.Equal(ConvergenceState.JobComplete, done.State);
        Assert.True(done.IsFinal);
    }

    /// <summary>A replicated service of <paramref name="replicas"/> whose tasks run once: `--restart-condition none` (or as given).</summary>
    private static ServiceObject OneShot(long replicas, RestartPolicy? restart = null, UpdateStatus? status = null) =>
        Service(spec: Spec(replicas: replicas) with { TaskTemplate = new TaskSpec(new ContainerSpec("busybox"), Restart: restart ?? new RestartPolicy(RestartCondition.None, TimeSpan.Zero)) }, status: status);

    /// <summary>A task of the service's spec as the managers leave it: running, or ended with its exit code and desired Shutdown.</summary>
    private static TaskObject ServiceTask(ServiceObject service, string id, long slot, TaskState state, int? exit = null, int minute = 0, string node = "node00000000000000000000a") =>
        Task(id, slot, state, state == TaskState.Running ? TaskState.Running : TaskState.Shutdown, node: node, created: Joined.AddMinutes(minute)) with
        {
            Spec = service.Spec.TaskTemplate,
            Status = new TaskObservedStatus(state, Joined.AddMinutes(minute), Err: exit is not (null or 0) ? $"task: non-zero exit ({exit})" : "", ExitCode: exit),
        };

    [Fact]
    public void A_Service_Whose_Only_Task_Completed_Under_Restart_Condition_None_Has_Converged_As_Far_As_It_Will()
    {
        // The operator's case: `service update --label-add x=y` changes no task, so the managers keep no update
        // status, and the one task completed long ago. Docker's CLI counts running tasks only and waits forever.
        var service = OneShot(1);

        var progress = ServiceConvergence.Evaluate(service, new(0, 1), [ServiceTask(service, "t1", 1, TaskState.Complete, 0)]);

        Assert.Equal(ConvergenceState.TasksEnded, progress.State);
        Assert.True(progress.IsConverged);
        Assert.Equal((0L, 1L, 1L, 0L), (progress.Done, progress.Desired, progress.Ended, progress.Failed));
        Assert.Equal(["overall progress: 0 out of 1 tasks", "1/1: complete"], ServiceProgressView.Lines(progress).Select(l => l.ToString()));
        Assert.Null(ServiceProgressView.Failure(progress, rollbackRequested: false));
        Assert.Equal(
            "verify: Service converged; 1 of 1 tasks completed and their restart policy will not start them again",
            ServiceProgressView.Lines(progress with { Verified = true })[^1].ToString());
    }

    [Fact]
    public void Tasks_That_Failed_For_Good_End_The_Wait_With_An_Error_Naming_Them()
    {
        var service = OneShot(2);

        var progress = ServiceConvergence.Evaluate(service, new(0, 2), [ServiceTask(service, "t1", 1, TaskState.Failed, 3), ServiceTask(service, "t2", 2, TaskState.Complete, 0)]);

        Assert.Equal((ConvergenceState.TasksEnded, 2L, 1L), (progress.State, progress.Ended, progress.Failed));
        Assert.Equal("1/2: failed    task: non-zero exit (3)", ServiceProgressView.Lines(progress)[1].ToString());
        Assert.Equal(
            "service web: 1 of 2 tasks failed and their restart policy will not start them again; see `protoswarm service ps web`",
            ServiceProgressView.Failure(progress, rollbackRequested: false));
    }

    [Theory]
    [InlineData("condition any: the managers start it again", RestartCondition.Any, 0, 0, 1, false)]
    [InlineData("on-failure after a clean exit: it stays so", RestartCondition.OnFailure, 0, 0, 1, true)]
    [InlineData("on-failure after a failure: it restarts", RestartCondition.OnFailure, 0, 3, 1, false)]
    [InlineData("on-failure with its one attempt used up", RestartCondition.OnFailure, 1, 3, 2, true)]
    [InlineData("on-failure with an attempt left", RestartCondition.OnFailure, 2, 3, 2, false)]
    public void Only_A_Slot_Its_Restart_Policy_Gives_Up_On_Counts_As_Ended(string why, RestartCondition condition, long maxAttempts, int exit, int tasks, bool ended)
    {
        var service = OneShot(1, new RestartPolicy(condition, TimeSpan.Zero, maxAttempts));
        var slot = Enumerable.Range(0, tasks).Select(i => ServiceTask(service, $"t{i}", 1, condition == RestartCondition.Any ? TaskState.Complete : exit == 0 ? TaskState.Complete : TaskState.Failed, exit, minute: i)).ToArray();

        var progress = ServiceConvergence.Evaluate(service, new(0, 1), slot);

        Assert.True(progress.State == (ended ? ConvergenceState.TasksEnded : ConvergenceState.InProgress), why);
    }

    [Fact]
    public void Running_Slots_And_Ended_Ones_Together_Converge_While_A_Slot_On_Its_Way_Does_Not()
    {
        var service = OneShot(3);
        TaskObject[] settled = [ServiceTask(service, "a", 1, TaskState.Running), ServiceTask(service, "b", 2, TaskState.Running), ServiceTask(service, "c", 3, TaskState.Complete, 0)];

        var mixed = ServiceConvergence.Evaluate(service, new(2, 3), settled);
        var starting = ServiceConvergence.Evaluate(service, new(2, 3), [.. settled[..2], ServiceTask(service, "c", 3, TaskState.Starting) with { DesiredState = TaskState.Running }]);

        Assert.Equal((ConvergenceState.TasksEnded, 2L, 1L), (mixed.State, mixed.Done, mixed.Ended));
        Assert.Equal(ConvergenceState.InProgress, starting.State);
    }

    [Fact]
    public void A_Slot_Whose_Last_Task_Ran_An_Older_Spec_Is_Still_On_Its_Way()
    {
        // An update of the task spec: the slot's ended task is of the old spec, so the managers will start the new one.
        var old = OneShot(1);
        var updated = Service(spec: old.Spec with { TaskTemplate = old.Spec.TaskTemplate with { Container = new ContainerSpec("busybox:2") } });

        var progress = ServiceConvergence.Evaluate(updated, new(0, 1), [ServiceTask(old, "t1", 1, TaskState.Complete, 0)]);

        Assert.Equal(ConvergenceState.InProgress, progress.State);
    }

    [Fact]
    public void A_Global_Service_Whose_Task_Ended_On_A_Node_Counts_That_Node_As_Ended()
    {
        var service = Service(spec: OneShot(1).Spec with { Mode = ServiceMode.GlobalMode });
        var a = ServiceTask(service, "ga", 0, TaskState.Running, node: "nodeaaaaaaaaaaaaaaaaaaaaa");
        var b = ServiceTask(service, "gb", 0, TaskState.Complete, 0, node: "nodebbbbbbbbbbbbbbbbbbbbb");

        var progress = ServiceConvergence.Evaluate(service, new(1, 2), [a, b]);

        Assert.Equal((ConvergenceState.TasksEnded, 1L, 2L, 1L), (progress.State, progress.Done, progress.Desired, progress.Ended));
        Assert.Equal(["nodeaaaaaaaa", "nodebbbbbbbb"], progress.Slots.Select(s => s.Label));
    }

    [Fact]
    public async Task Wait_On_A_Service_Whose_Tasks_All_Ended_Returns_At_Once()
    {
        // `service update --label-add x=y` on a one-shot service that completed: it used to wait forever.
        var service = OneShot(1);
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(service, new(0, 1)),
            ListTasks => new TaskList([ServiceTask(service, "t1", 1, TaskState.Complete, 0)], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(1);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var final = await client.Services.WaitConvergedAsync("once", ct: cts.Token);

        Assert.True(final.Verified);
        Assert.Equal(ConvergenceState.TasksEnded, final.State);
        Assert.Equal(3, node.Requests.Count);
    }

    private static ServiceObject FailingJob(long total, RestartPolicy restart) =>
        Service(spec: Spec() with { Mode = ServiceMode.ReplicatedJobMode(total, total), TaskTemplate = new TaskSpec(new ContainerSpec("busybox"), Restart: restart) });

    /// <summary>A job task as the managers leave it: ended, or live; a failed one desired Shutdown with the node's error.</summary>
    private static TaskObject JobTask(ServiceObject job, string id, long slot, TaskState state, int? exit = null, int minute = 0) =>
        Task(id, slot, state, state is TaskState.Failed ? TaskState.Shutdown : TaskState.Complete, created: Joined.AddMinutes(minute),
            err: state is TaskState.Failed ? $"task: non-zero exit ({exit})" : "") with
        {
            Spec = job.Spec.TaskTemplate,
            Status = new TaskObservedStatus(state, Joined.AddMinutes(minute), Err: state is TaskState.Failed ? $"task: non-zero exit ({exit})" : "", ExitCode: exit),
        };

    [Fact]
    public void A_Failed_Job_Task_Shows_Its_Failure_On_Its_Slot_Line()
    {
        var job = FailingJob(2, new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(1), MaxAttempts: 1));

        var progress = ServiceConvergence.Evaluate(job, new(0, 2), [JobTask(job, "f1", 1, TaskState.Failed, 3), JobTask(job, "r2", 2, TaskState.Running)]);

        Assert.Equal(
            ["job progress: 0 out of 2 complete", "1/2: failed    task: non-zero exit (3)", "2/2: running   [==================================================>]"],
            ServiceProgressView.Lines(progress).Select(l => l.ToString()));
        // The first failure has its restart coming: waiting goes on.
        Assert.Equal(ConvergenceState.InProgress, progress.State);
        Assert.False(progress.IsFinal);
    }

    [Fact]
    public void A_Restarted_Job_Slot_Shows_Its_New_Task_Not_The_Failure()
    {
        var job = FailingJob(1, new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(1), MaxAttempts: 1));

        var progress = ServiceConvergence.Evaluate(job, new(0, 1), [JobTask(job, "f1", 1, TaskState.Failed, 3), JobTask(job, "f2", 1, TaskState.Assigned, minute: 1)]);

        Assert.Equal((ConvergenceState.InProgress, TaskState.Assigned), (progress.State, progress.Slots.Single().State));
    }

    [Fact]
    public void A_Job_Whose_Every_Slot_Gave_Up_Ends_The_Wait_With_An_Error()
    {
        var job = FailingJob(2, new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(1), MaxAttempts: 1));
        TaskObject[] tasks =
        [
            JobTask(job, "a1", 1, TaskState.Failed, 3), JobTask(job, "a2", 1, TaskState.Failed, 3, minute: 1),
            JobTask(job, "b1", 2, TaskState.Failed, 3), JobTask(job, "b2", 2, TaskState.Failed, 3, minute: 1),
        ];

        var progress = ServiceConvergence.Evaluate(job, new(0, 2), tasks);

        Assert.Equal(ConvergenceState.JobFailed, progress.State);
        Assert.True(progress.IsFinal);
        Assert.Equal(["1/2: failed    task: non-zero exit (3)", "2/2: failed    task: non-zero exit (3)"], ServiceProgressView.Lines(progress).Skip(1).Select(l => l.ToString()));
        Assert.Equal("job cannot complete: 2 of 2 tasks failed and their restart policy will not run them again", ServiceProgressView.Failure(progress, rollbackRequested: false));
    }

    [Theory]
    [InlineData("a slot still runs", TaskState.Running, null, false)]
    [InlineData("the other slot completed", TaskState.Complete, 0, true)]
    [InlineData("the other slot has its restart coming", TaskState.Failed, 3, false)]
    public void A_Job_With_A_Slot_That_Gave_Up_Ends_Once_No_Slot_Can_Move(string why, TaskState other, int? exit, bool final)
    {
        var job = FailingJob(2, new RestartPolicy(RestartCondition.None, TimeSpan.Zero));
        var restartable = FailingJob(2, new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero));
        var second = JobTask(other == TaskState.Failed ? restartable : job, "b1", 2, other, exit);

        var progress = ServiceConvergence.Evaluate(job, new(0, 2), [JobTask(job, "a1", 1, TaskState.Failed, 3), second]);

        Assert.True(progress.IsFinal == final, why);
        Assert.Equal(final ? ConvergenceState.JobFailed : ConvergenceState.InProgress, progress.State);
    }

    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(2, 0, false)]
    [InlineData(2, 60, false)]
    [InlineData(1, 0, true)]
    public void Max_Attempts_Decide_When_A_Job_Slot_Gave_Up(long maxAttempts, double windowSeconds, bool gaveUp)
    {
        // Two failures: one attempt made. No limit, a limit not reached, or a window that lets attempts age out: a restart is coming.
        var job = FailingJob(1, new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero, maxAttempts, TimeSpan.FromSeconds(windowSeconds)));
        TaskObject[] slot = [JobTask(job, "a1", 1, TaskState.Failed, 3), JobTask(job, "a2", 1, TaskState.Failed, 3, minute: 1)];

        Assert.Equal(gaveUp, ServiceConvergence.GaveUp(slot, slot[1]));
    }

    [Fact]
    public void A_Non_Zero_Exit_Reported_Complete_Is_No_Completion()
    {
        var job = FailingJob(1, new RestartPolicy(RestartCondition.None, TimeSpan.Zero));

        var progress = ServiceConvergence.Evaluate(job, new(0, 1), [JobTask(job, "a1", 1, TaskState.Complete, 2)]);

        Assert.Equal((ConvergenceState.JobFailed, 0L), (progress.State, progress.Done));
    }

    [Fact]
    public void Progress_Lines_Read_As_Docker_Prints_Them()
    {
        var progress = Evaluate(Service(), [.. Running(1), Task("task2", 2, TaskState.Preparing), Task("task3", 3, TaskState.Pending, err: "no suitable node (1 node not available for new tasks)")]);

        var lines = ServiceProgressView.Lines(progress).Select(l => l.ToString()).ToList();

        Assert.Equal(
            [
                "overall progress: 1 out of 3 tasks",
                "1/3: running   [==================================================>]",
                "2/3: preparing [=================================>                 ]",
                "3/3: pending   no suitable node (1 node not available for new tasks)",
            ],
            lines);
    }

    [Fact]
    public void Verification_And_Rollback_Lines()
    {
        var rolling = Evaluate(Service(status: Status(UpdateState.RollbackStarted, "manually requested rollback")), Running(3)) with { VerifyRemaining = TimeSpan.FromMilliseconds(800) };
        var verified = Evaluate(Service(), Running(3)) with { Verified = true };

        Assert.Equal(
            ["rollback: manually requested rollback", "overall progress: rolling back update: 3 out of 3 tasks"],
            ServiceProgressView.Lines(rolling).Take(2).Select(l => l.ToString()));
        Assert.Equal("verify: Waiting 1 seconds to verify that tasks are stable...", ServiceProgressView.Lines(rolling)[^1].ToString());
        Assert.Equal("verify: Service converged", ServiceProgressView.Lines(verified)[^1].ToString());
    }

    [Theory]
    [InlineData(TaskState.New, 5)]
    [InlineData(TaskState.Pending, 16)]
    [InlineData(TaskState.Assigned, 22)]
    [InlineData(TaskState.Starting, 44)]
    [InlineData(TaskState.Running, 50)]
    public void The_Bar_Fills_By_Docker_Steps(TaskState state, int filled)
    {
        var bar = ServiceProgressView.Bar(state);

        Assert.Equal(ServiceProgressView.BarWidth + 3, bar.Length);
        Assert.Equal(filled, bar.Count(c => c == '='));
    }

    [Fact]
    public void Long_Errors_Are_Cut_To_One_Line()
    {
        var line = ServiceProgressView.Slot(new SlotProgress("1/1", TaskState.Rejected, new string('x', 100) + "\nmore"));

        Assert.Equal("rejected  " + new string('x', 74) + "…", line.Text);
    }

    [Fact]
    public void An_Update_The_Managers_Completed_Before_Its_Tasks_Run_Ends_With_Its_Verdict_Line()
    {
        var progress = new ServiceProgress("id", "web", ServiceModeKind.Replicated, ConvergenceState.UpdateCompleted, 0, 1, false, "update completed",
            [new SlotProgress("1/1", TaskState.Complete, string.Empty)], FailureDetected: true);

        Assert.Equal("verify: update completed; 0 out of 1 tasks running", ServiceProgressView.Lines(progress)[^1].ToString());
        Assert.Equal("verify: update completed; 0 out of 1 tasks running", ServiceProgressView.Lines(progress with { Message = string.Empty })[^1].ToString());
    }

    [Theory]
    [InlineData(ConvergenceState.UpdatePaused, false, "service update paused: boom")]
    [InlineData(ConvergenceState.RollbackPaused, false, "service rollback paused: boom")]
    [InlineData(ConvergenceState.RolledBack, false, "service rolled back: boom")]
    [InlineData(ConvergenceState.RolledBack, true, null)]
    [InlineData(ConvergenceState.RollbackCompleted, false, "service rolled back: boom")]
    [InlineData(ConvergenceState.RollbackCompleted, true, null)]
    [InlineData(ConvergenceState.UpdateCompleted, false, null)]
    [InlineData(ConvergenceState.Converged, false, null)]
    public void Failures_Name_The_Update_Status_Message(ConvergenceState state, bool rollbackRequested, string? expected)
    {
        var progress = new ServiceProgress("id", "web", ServiceModeKind.Replicated, state, 1, 1, false, "boom", []);

        Assert.Equal(expected, ServiceProgressView.Failure(progress, rollbackRequested));
    }

    [Fact]
    public void Without_A_Terminal_Only_Changed_Lines_Are_Printed()
    {
        using var output = new StringWriter();
        var printer = new ProgressPrinter(output, terminal: false);

        printer.Report(Evaluate(Service(), [.. Running(1), Task("task2", 2, TaskState.Pending)]));
        printer.Report(Evaluate(Service(), [.. Running(1), Task("task2", 2, TaskState.Pending)]));
        printer.Report(Evaluate(Service(), Running(2)));

        Assert.Equal(
            "overall progress: 1 out of 3 tasks\n" +
            "1/3: running   [==================================================>]\n" +
            "2/3: pending   [================>                                  ]\n" +
            "3/3:\n" +
            "overall progress: 2 out of 3 tasks\n" +
            "2/3: running   [==================================================>]\n",
            output.ToString());
    }

    [Fact]
    public void Without_A_Terminal_A_Slot_Whose_Tasks_Keep_Being_Rejected_Prints_Each_Line_Once()
    {
        using var output = new StringWriter();
        var printer = new ProgressPrinter(output, terminal: false);
        static ServiceProgress Slot(TaskState state, string error = "") =>
            new("id", "web", ServiceModeKind.Replicated, ConvergenceState.InProgress, 0, 1, false, "", [new SlotProgress("1/1", state, error)]);

        // An image no node has: each new task of the slot is assigned, prepared and rejected, over and over.
        for (var round = 0; round < 4; round++)
        {
            printer.Report(Slot(TaskState.Assigned));
            printer.Report(Slot(TaskState.Preparing));
            printer.Report(Slot(TaskState.Rejected, "No such image: nosuch:latest on this node"));
        }

        printer.Report(Slot(TaskState.Rejected, "No such image: nosuch:latest on this node, and the registry said no"));

        Assert.Equal(
            "overall progress: 0 out of 1 tasks\n" +
            "1/1: assigned  [======================>                            ]\n" +
            "1/1: preparing [=================================>                 ]\n" +
            "1/1: rejected  No such image: nosuch:latest on this node\n" +
            "1/1: rejected  No such image: nosuch:latest on this node, and the registry said no\n",
            output.ToString());
    }

    [Fact]
    public void On_A_Terminal_The_Block_Is_Redrawn_In_Place()
    {
        using var output = new StringWriter();
        var printer = new ProgressPrinter(output, terminal: true);

        printer.Report(Evaluate(Service(), Running(1)));
        printer.Report(Evaluate(Service(), Running(2)));

        var text = output.ToString();
        Assert.StartsWith("\u001b[2Koverall progress: 1 out of 3 tasks\n", text, StringComparison.Ordinal);
        Assert.Contains("\u001b[4A\u001b[2Koverall progress: 2 out of 3 tasks\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_Polls_Until_Converged_Then_Verifies_Stability()
    {
        var looks = new Queue<TaskObject[]>([
            [Task("t1", 1, TaskState.Pending)],
            [Task("t1", 1, TaskState.Starting)],
            [Task("t1", 1)],
        ]);
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(Service(spec: Spec(replicas: 1)), new(1, 1)),
            ListTasks => new TaskList([.. looks.Count > 1 ? looks.Dequeue() : looks.Peek()], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(1);
        client.Services.StableFor = TimeSpan.FromMilliseconds(50);
        var seen = new List<ServiceProgress>();

        var final = await client.Services.WaitConvergedAsync("web", new SynchronousProgress(seen.Add));

        Assert.True(final.Verified);
        Assert.Equal(ConvergenceState.Converged, final.State);
        Assert.Equal([TaskState.Pending, TaskState.Starting, TaskState.Running], seen.Select(s => s.Slots[0].State!.Value).Distinct());
        Assert.Contains(seen, s => s.VerifyRemaining is not null);
    }

    [Fact]
    public async Task Wait_Stops_At_Once_When_The_Update_Paused()
    {
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(Service(status: Status(UpdateState.Paused, "update paused due to failure or early termination of task abc")), Three),
            ListTasks => new TaskList([], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));

        var final = await client.Services.WaitConvergedAsync("web");

        Assert.Equal(ConvergenceState.UpdatePaused, final.State);
        Assert.Equal(3, node.Requests.Count);
    }

    [Fact]
    public async Task Wait_Ends_On_Cancellation_Without_Sending_Anything_But_Queries()
    {
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(Service(), Three),
            ListTasks => new TaskList([], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(5);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Services.WaitConvergedAsync("web", ct: cts.Token));
        Assert.All(node.Requests, r => Assert.True(r is InspectService or ListTasks or ListNodes));
    }

    [Fact]
    public async Task Wait_Watches_A_Converged_Service_For_Its_Monitor_Period_Counting_The_Seconds_Down()
    {
        var time = new FakeTimeProvider(Joined);
        var spec = Spec(replicas: 1) with { Update = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(3) } };
        var node = new FakeNode(request =>
        {
            if (request is InspectService)
            {
                // Each look is a second after the last.
                time.Advance(TimeSpan.FromSeconds(1));
                return new ServiceDetails(Service(spec: spec, status: Status(UpdateState.Updating, "update in progress")), new(1, 1));
            }

            return request switch
            {
                ListTasks => new TaskList([Task("t1", 1)], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
                ListNodes => new NodeList([]),
                _ => new CommandRejected(RejectCode.Internal, "unexpected"),
            };
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.Zero;
        client.Services.Time = time;
        var verify = new List<string>();

        var final = await client.Services.WaitConvergedAsync("web", new SynchronousProgress(p => verify.Add(ServiceProgressView.Lines(p)[^1].ToString())));

        Assert.True(final.Verified);
        Assert.Equal(
            [
                "verify: Waiting 3 seconds to verify that tasks are stable...",
                "verify: Waiting 2 seconds to verify that tasks are stable...",
                "verify: Waiting 1 seconds to verify that tasks are stable...",
                "verify: Service converged",
            ],
            verify);
    }

    [Fact]
    public async Task A_Task_That_Fails_While_Verified_Is_Detected_And_The_Paused_Update_Ends_The_Wait()
    {
        // The operator's case: `--args "sh -c 'sleep 2; exit 1'"` runs, fails two seconds later, and the managers pause the update.
        var running = Task("t1", 1);
        var failed = Task("t1", 1, TaskState.Failed, TaskState.Shutdown, err: "non-zero exit (1)");
        var looks = new Queue<(UpdateState, TaskObject)>([
            (UpdateState.Updating, running), (UpdateState.Updating, running), (UpdateState.Updating, failed),
            (UpdateState.Paused, failed),
        ]);
        var current = looks.Peek();
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(Service(spec: Spec(replicas: 1), status: Status((current = looks.Dequeue()).Item1, "update paused due to failure or early termination of task t1")), new(1, 1)),
            ListTasks => new TaskList([current.Item2], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(1);
        var seen = new List<ServiceProgress>();

        var final = await client.Services.WaitConvergedAsync("web", new SynchronousProgress(seen.Add));

        Assert.Equal(ConvergenceState.UpdatePaused, final.State);
        Assert.Equal("service update paused: update paused due to failure or early termination of task t1", ServiceProgressView.Failure(final, rollbackRequested: false));
        Assert.All(seen.Take(2), s => Assert.NotNull(s.VerifyRemaining));
        Assert.Equal("verify: Detected task failure", ServiceProgressView.Lines(seen[2])[^1].ToString());
        Assert.True(final.FailureDetected);
    }

    [Fact]
    public async Task A_Rollback_The_Caller_Asked_For_Is_Waited_On_After_The_Managers_Completed_It()
    {
        // A rollback to more replicas: the managers are done before the added tasks run.
        var looks = new Queue<TaskObject[]>([Running(2), Running(3)]);
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(Service(status: Status(UpdateState.RollbackCompleted, "rollback completed")), Three),
            ListTasks => new TaskList([.. looks.Count > 1 ? looks.Dequeue() : looks.Peek()], ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(1);
        client.Services.StableFor = TimeSpan.Zero;

        var requested = await client.Services.WaitConvergedAsync("web", rollbackRequested: true);
        looks = new Queue<TaskObject[]>([Running(2), Running(3)]);
        var unasked = await client.Services.WaitConvergedAsync("web");

        Assert.Equal((ConvergenceState.RolledBack, true), (requested.State, requested.Verified));
        Assert.Equal(ConvergenceState.RollbackCompleted, unasked.State);
    }

    [Fact]
    public async Task Wait_Asks_Which_Nodes_Are_Down_And_Leaves_Their_Tasks_Out()
    {
        var service = Service(spec: Spec(replicas: 1) with { Mode = ServiceMode.GlobalMode });
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(service, new(1, 1)),
            ListTasks => new TaskList(
                [Task("ga", 0, node: "nodeaaaaaaaaaaaaaaaaaaaaa"), Task("gd", 0, TaskState.Running, node: "nodeddddddddddddddddddddd", image: "nginx:1.26")],
                ImmutableSortedDictionary<string, string>.Empty, ImmutableSortedDictionary<string, string>.Empty),
            ListNodes => new NodeList([Node("nodeaaaaaaaaaaaaaaaaaaaaa", "a"), Node("nodeddddddddddddddddddddd", "d", state: NodeState.Down)]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
        var client = new SwarmClient(new NodeConnectionChannel(node));
        client.Services.PollInterval = TimeSpan.FromMilliseconds(1);
        client.Services.StableFor = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var final = await client.Services.WaitConvergedAsync("web", ct: cts.Token);

        Assert.Equal((ConvergenceState.Converged, true, 1L), (final.State, final.Verified, final.Desired));
    }

    private sealed class SynchronousProgress(Action<ServiceProgress> report) : IProgress<ServiceProgress>
    {
        public void Report(ServiceProgress value) => report(value);
    }
}
