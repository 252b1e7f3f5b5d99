using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

public sealed class TaskSupervisorTests : IAsyncLifetime
{
    private readonly TaskHarness _node = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task An_Assigned_Task_Climbs_To_Running_One_State_At_A_Time()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1")));

        var running = await _node.WaitForAsync("t1", TaskState.Running);

        Assert.Equal([TaskState.Accepted, TaskState.Preparing, TaskState.Ready, TaskState.Starting, TaskState.Running], _node.StatesOf("t1"));
        Assert.Equal(TestNodes.T0, running.StartedAt);
        Assert.Equal("started", running.Message);
        Assert.Equal([Op.Prepare, Op.Start], _node.Executor.CallsOf("t1").Take(2));
        await _node.WaitForCallAsync("t1", Op.Wait);
    }

    [Fact]
    public async Task Exit_Code_3_Fails_The_Task_With_Its_Exit_Code()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_EXIT_CODE=3")));

        var failed = await _node.WaitForAsync("t1", TaskState.Failed);

        Assert.Equal(3, failed.ExitCode);
        Assert.Equal("task: non-zero exit (3)", failed.Err);
    }

    [Fact]
    public async Task A_Tasks_End_Is_Reported_Only_Once_What_It_Held_Beside_Its_Container_Was_Released()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_EXIT_CODE=3"), TestTasks.Task("t2")));
        await _node.WaitForAsync("t2", TaskState.Running);

        // The managers give a task's addresses out again as soon as they learn of its end: the node must have let go of them before.
        await _node.WaitForAsync("t1", TaskState.Failed);
        Assert.Equal([Op.Prepare, Op.Start, Op.Release], _node.Executor.CallsOf("t1").Where(c => c != Op.Wait));

        _node.Send(TestTasks.Assign(TestTasks.Task("t2", desired: TaskState.Shutdown)));
        await _node.WaitForAsync("t2", TaskState.Shutdown);
        Assert.Equal([Op.Prepare, Op.Start, Op.Shutdown, Op.Release], _node.Executor.CallsOf("t2").Where(c => c != Op.Wait));
    }

    [Fact]
    public async Task A_Task_That_Runs_A_While_Then_Exits_0_Completes_Then()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_RUN_MS=1000")));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Null(_node.Executor.ExitOf("t1"));
        _node.Time.Advance(TimeSpan.FromMilliseconds(1));

        var complete = await _node.WaitForAsync("t1", TaskState.Complete);
        Assert.Equal(0, complete.ExitCode);
        Assert.Equal(TestNodes.T0.AddSeconds(1), complete.Timestamp);
    }

    [Fact]
    public async Task A_Slow_Start_Leaves_The_Task_Ready_Until_It_Returns()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_START_DELAY_MS=500")));
        await _node.WaitForCallAsync("t1", Op.Start);
        _node.Forget();
        _node.Send(ResendTaskStatuses.Instance);
        Assert.Equal(TaskState.Ready, (await _node.NextAsync()).Status.State);

        _node.Time.Advance(TimeSpan.FromMilliseconds(500));

        var running = await _node.WaitForAsync("t1", TaskState.Running);
        Assert.Equal(TestNodes.T0.AddMilliseconds(500), running.StartedAt);
    }

    [Fact]
    public async Task Desired_Shutdown_Stops_The_Container_And_Reports_Shutdown()
    {
        var task = TestTasks.Task("t1");
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Send(TestTasks.Assign(task with { DesiredState = TaskState.Shutdown }));

        var shutdown = await _node.WaitForAsync("t1", TaskState.Shutdown);
        Assert.Equal("shutdown", shutdown.Message);
        Assert.Equal(FakeExecutor.StoppedExitCode, _node.Executor.ExitOf("t1")?.ExitCode);
        Assert.Contains(Op.Shutdown, _node.Executor.CallsOf("t1"));
    }

    [Theory]
    [InlineData(null, 10_000)]
    [InlineData(3_000, 3_000)]
    public async Task A_Container_That_Ignores_The_Stop_Signal_Is_Killed_After_The_Grace_Period(int? specGraceMs, int graceMs)
    {
        var task = TestTasks.Task("t1", stopGrace: specGraceMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, env: "FAKE_IGNORE_STOP=1");
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Send(TestTasks.Assign(task with { DesiredState = TaskState.Shutdown }));
        await _node.WaitForCallAsync("t1", Op.Shutdown);
        _node.Time.Advance(TimeSpan.FromMilliseconds(graceMs - 1));
        Assert.Null(_node.Executor.ExitOf("t1"));
        _node.Time.Advance(TimeSpan.FromMilliseconds(1));

        await _node.WaitForAsync("t1", TaskState.Shutdown);
        Assert.Equal(FakeExecutor.KilledExitCode, _node.Executor.ExitOf("t1")?.ExitCode);
    }

    [Fact]
    public async Task A_Stop_Grace_Period_Of_Zero_Kills_At_Once_After_The_Stop_Signal()
    {
        // Docker's --stop-grace-period 0: no wait, where an unset period waits 10 s (the case above).
        var task = TestTasks.Task("t1", stopGrace: TimeSpan.Zero, env: "FAKE_IGNORE_STOP=1");
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Send(TestTasks.Assign(task with { DesiredState = TaskState.Shutdown }));

        await _node.WaitForAsync("t1", TaskState.Shutdown);
        Assert.Equal(FakeExecutor.KilledExitCode, _node.Executor.ExitOf("t1")?.ExitCode);
    }

    [Fact]
    public async Task A_Prepare_Error_Rejects_The_Task_And_Nothing_Starts()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_PREPARE_ERROR=image busybox:1 not found on this node")));

        var rejected = await _node.WaitForAsync("t1", TaskState.Rejected);

        Assert.Equal("image busybox:1 not found on this node", rejected.Err);
        // What a failed prepare may have made (its network namespace) is released before the rejection is told.
        Assert.Equal([Op.Prepare, Op.Release], _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Healthy_Container_Is_Running()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", health: TestTasks.Check, env: "FAKE_HEALTH=healthy")));

        await _node.WaitForAsync("t1", TaskState.Running);

        Assert.Contains(Op.WatchHealth, _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Healthy_Container_Stopping_Through_Its_Grace_Period_Is_Not_Called_Unhealthy_Nor_Watched_Again()
    {
        var task = TestTasks.Task("t1", health: TestTasks.Check, env: ["FAKE_HEALTH=healthy", "FAKE_IGNORE_STOP=1"]);
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running);
        var watchesBefore = _node.Executor.CallsOf("t1").Count(c => c == Op.WatchHealth);

        _node.Send(TestTasks.Assign(task with { DesiredState = TaskState.Shutdown }));
        await _node.WaitForCallAsync("t1", Op.Shutdown);
        await Task.Delay(200);
        var watchesDuringGrace = _node.Executor.CallsOf("t1").Count(c => c == Op.WatchHealth) - watchesBefore;
        _node.Time.Advance(TimeSpan.FromSeconds(10));

        var shutdown = await _node.WaitForAsync("t1", TaskState.Shutdown);
        Assert.Equal("shutdown", shutdown.Message);
        Assert.Equal(FakeExecutor.KilledExitCode, _node.Executor.ExitOf("t1")?.ExitCode);
        // The watch under way when the stop began ends, and no other starts (it flipped between two answers, ~80,000 a second).
        Assert.Equal(0, watchesDuringGrace);
        Assert.DoesNotContain(TaskState.Failed, _node.StatesOf("t1"));
    }

    [Fact]
    public async Task An_Unhealthy_Container_Fails_The_Task_And_Is_Stopped()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", health: TestTasks.Check, env: "FAKE_HEALTH=unhealthy")));

        var failed = await _node.WaitForAsync("t1", TaskState.Failed);

        Assert.Equal("task: container unhealthy", failed.Err);
        Assert.DoesNotContain(TaskState.Running, _node.StatesOf("t1"));
        await _node.WaitForCallAsync("t1", Op.Shutdown);
    }

    [Fact]
    public async Task A_Container_Still_Starting_Its_Health_Keeps_The_Task_Starting()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", health: TestTasks.Check, env: "FAKE_HEALTH=starting")));
        await _node.WaitForAsync("t1", TaskState.Starting);
        await _node.WaitForCallAsync("t1", Op.WatchHealth);

        _node.Forget();
        _node.Send(ResendTaskStatuses.Instance);

        var latest = await _node.NextAsync();
        Assert.Equal(TaskState.Starting, latest.Status.State);
    }

    [Fact]
    public async Task Without_A_Health_Check_Fake_Health_Is_Not_Read()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_HEALTH=unhealthy")));

        await _node.WaitForAsync("t1", TaskState.Running);

        Assert.DoesNotContain(Op.WatchHealth, _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Removed_Task_Is_Shut_Down_Then_Removed()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1")));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Send(TestTasks.Remove("t1"));

        await _node.WaitForAsync("t1", TaskState.Shutdown);
        await _node.WaitForCallAsync("t1", Op.Remove);
        var calls = _node.Executor.CallsOf("t1").ToList();
        Assert.True(calls.IndexOf(Op.Shutdown) < calls.IndexOf(Op.Remove), string.Join(", ", calls));
    }

    [Fact]
    public async Task A_Task_Assigned_Again_While_Its_Removal_Runs_Starts_Afresh_Once_The_Old_Actor_Stopped()
    {
        var task = TestTasks.Task("t1");
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running);

        _node.Send(TestTasks.Remove("t1"));
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Running, nth: 2);

        Assert.Equal([TaskState.Shutdown, TaskState.Accepted], _node.StatesOf("t1").SkipWhile(s => s != TaskState.Shutdown).Take(2));
        Assert.Equal([Op.Prepare, Op.Start, Op.Shutdown, Op.Release, Op.Remove, Op.Prepare, Op.Start], _node.Executor.CallsOf("t1").Where(c => c != Op.Wait));
    }

    [Fact]
    public async Task A_Full_Assignment_Set_Drops_The_Tasks_Not_In_It()
    {
        var t1 = TestTasks.Task("t1");
        var t2 = TestTasks.Task("t2");
        _node.Send(TestTasks.Assign(t1, t2));
        await _node.WaitForAsync("t1", TaskState.Running);
        await _node.WaitForAsync("t2", TaskState.Running);

        _node.Send(TestTasks.Full(t2));

        await _node.WaitForAsync("t1", TaskState.Shutdown);
        await _node.WaitForCallAsync("t1", Op.Remove);
        Assert.DoesNotContain(Op.Shutdown, _node.Executor.CallsOf("t2"));
        Assert.DoesNotContain(TaskState.Shutdown, _node.StatesOf("t2"));
    }

    [Fact]
    public async Task Resend_Sends_The_Latest_Status_Of_Every_Task_Again()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1"), TestTasks.Task("t2", env: "FAKE_EXIT_CODE=3")));
        var running = await _node.WaitForAsync("t1", TaskState.Running);
        var failed = await _node.WaitForAsync("t2", TaskState.Failed);
        _node.Forget();

        _node.Send(ResendTaskStatuses.Instance);

        var resent = new[] { await _node.NextAsync(), await _node.NextAsync() }.OrderBy(s => s.TaskId, StringComparer.Ordinal).ToArray();
        Assert.Equal([new TaskStatusChanged("t1", running), new TaskStatusChanged("t2", failed)], resent);
    }

    [Fact]
    public async Task Desired_Ready_Stops_At_Ready_Until_Running_Is_Wanted()
    {
        var task = TestTasks.Task("t1", desired: TaskState.Ready);
        _node.Send(TestTasks.Assign(task));
        await _node.WaitForAsync("t1", TaskState.Ready);

        _node.Send(TestTasks.Assign(task with { DesiredState = TaskState.Running }));

        await _node.WaitForAsync("t1", TaskState.Running);
        Assert.Equal([TaskState.Accepted, TaskState.Preparing, TaskState.Ready, TaskState.Starting, TaskState.Running], _node.StatesOf("t1"));
    }

    [Fact]
    public async Task A_Task_Arriving_Ended_Gets_No_Controller_Call()
    {
        var ended = TestTasks.Task("t1", state: TaskState.Complete);
        _node.Send(TestTasks.Assign(ended, TestTasks.Task("t2")));
        await _node.WaitForAsync("t2", TaskState.Running);
        _node.Forget();

        _node.Send(ResendTaskStatuses.Instance);

        Assert.Equal("t2", (await _node.NextAsync()).TaskId);
        Assert.Empty(_node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Running_Task_Whose_Container_Died_With_The_Node_Host_Is_Failed_Not_Started_Again()
    {
        var task = TestTasks.Task("t1");
        _node.Send(TestTasks.Assign(task));
        var running = await _node.WaitForAsync("t1", TaskState.Running);

        await using var restarted = new TaskHarness();
        restarted.Send(TestTasks.Full(task with { Status = running }));

        var failed = await restarted.WaitForAsync("t1", TaskState.Failed);
        Assert.Equal("its container is gone (the node host restarted)", failed.Err);
        Assert.Equal([Op.Inspect, Op.Release], restarted.Executor.CallsOf("t1"));
    }
}
