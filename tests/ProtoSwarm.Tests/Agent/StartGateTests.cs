using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

public sealed class StartGateTests
{
    [Fact]
    public async Task It_Lets_In_At_Most_Its_Limit_And_The_Rest_In_The_Order_They_Came()
    {
        var gate = new StartGate(2);
        var a = await gate.EnterAsync(CancellationToken.None);
        var b = await gate.EnterAsync(CancellationToken.None);
        var c = gate.EnterAsync(CancellationToken.None);
        var d = gate.EnterAsync(CancellationToken.None);
        var e = gate.EnterAsync(CancellationToken.None);
        Assert.Equal((2, 3), (gate.Inside, gate.Waiting));
        Assert.False(c.IsCompleted || d.IsCompleted || e.IsCompleted);

        b.Dispose();
        Assert.True(c.IsCompletedSuccessfully);
        Assert.False(d.IsCompleted || e.IsCompleted);

        a.Dispose();
        Assert.True(d.IsCompletedSuccessfully);
        Assert.False(e.IsCompleted);
        Assert.Equal((2, 1), (gate.Inside, gate.Waiting));

        (await d).Dispose();
        Assert.True(e.IsCompletedSuccessfully);
        (await c).Dispose();
        (await e).Dispose();
        Assert.Equal((0, 0), (gate.Inside, gate.Waiting));
    }

    [Fact]
    public async Task A_Pass_Given_Back_Twice_Frees_One_Place()
    {
        var gate = new StartGate(1);
        var a = await gate.EnterAsync(CancellationToken.None);
        var b = gate.EnterAsync(CancellationToken.None);
        var c = gate.EnterAsync(CancellationToken.None);

        a.Dispose();
        a.Dispose();

        Assert.True(b.IsCompletedSuccessfully);
        Assert.False(c.IsCompleted);
        Assert.Equal(1, gate.Inside);
    }

    [Fact]
    public async Task A_Caller_Cancelled_While_Waiting_Leaves_The_Queue_And_The_Next_Gets_Its_Turn()
    {
        var gate = new StartGate(1);
        var a = await gate.EnterAsync(CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        var b = gate.EnterAsync(cancelled.Token);
        var c = gate.EnterAsync(CancellationToken.None);

        cancelled.Cancel();

        Assert.True(b.IsCanceled);
        Assert.Equal(1, gate.Waiting);
        a.Dispose();
        Assert.True(c.IsCompletedSuccessfully);
        Assert.Equal((1, 0), (gate.Inside, gate.Waiting));
    }

    [Fact]
    public async Task A_Pass_Goes_Back_When_Its_Holders_Token_Is_Cancelled()
    {
        var gate = new StartGate(1);
        using var stopping = new CancellationTokenSource();
        _ = await gate.EnterAsync(stopping.Token);
        var next = gate.EnterAsync(CancellationToken.None);

        stopping.Cancel();

        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(1, gate.Inside);
    }

    [Fact]
    public async Task A_Pass_Handed_On_In_Turn_Also_Goes_Back_With_Its_Token()
    {
        var gate = new StartGate(1);
        var a = await gate.EnterAsync(CancellationToken.None);
        using var stopping = new CancellationTokenSource();
        var b = gate.EnterAsync(stopping.Token);
        var c = gate.EnterAsync(CancellationToken.None);
        a.Dispose();
        Assert.True(b.IsCompletedSuccessfully);

        stopping.Cancel();

        Assert.True(c.IsCompletedSuccessfully);
    }

    [Fact]
    public void An_Already_Cancelled_Caller_Is_Not_Let_In()
    {
        var gate = new StartGate(1);

        var entering = gate.EnterAsync(new CancellationToken(canceled: true));

        Assert.True(entering.IsCanceled);
        Assert.Equal((0, 0), (gate.Inside, gate.Waiting));
    }

    [Fact]
    public void A_Limit_Of_Zero_Lets_Everyone_In_At_Once()
    {
        var gate = new StartGate(0);

        var entered = Enumerable.Range(0, 100).Select(_ => gate.EnterAsync(CancellationToken.None)).ToList();

        Assert.All(entered, e => Assert.True(e.IsCompletedSuccessfully));
        Assert.Equal((0, 0), (gate.Inside, gate.Waiting));
    }

    [Fact]
    public void A_Negative_Limit_Is_Refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new StartGate(-1));
}

/// <summary>The start gate as a node's task actors go through it, on the fake executor.</summary>
public sealed class TaskStartGateTests
{
    private const string SlowStart = "FAKE_START_DELAY_MS=500";

    [Fact]
    public async Task At_Most_The_Limit_Of_Tasks_Prepare_Or_Start_At_Once()
    {
        await using var node = new TaskHarness(maxConcurrentStarts: 2);
        var ids = Enumerable.Range(1, 5).Select(i => $"t{i}").ToList();
        node.Send(TestTasks.Assign([.. ids.Select(id => TestTasks.Task(id, env: SlowStart))]));
        foreach (var id in ids)
        {
            await node.WaitForAsync(id, TaskState.Preparing);
        }

        foreach (var expected in new[] { 2, 4, 5 })
        {
            await Poll.Until(() => Count(node, Op.Start, ids) == expected, $"{expected} tasks starting", TestTimeout.Span);
            // The others reported Preparing, so they are at the gate: none of them may have prepared.
            Assert.Equal(expected, Count(node, Op.Prepare, ids));
            node.Time.Advance(TimeSpan.FromMilliseconds(500));
        }

        foreach (var id in ids)
        {
            await node.WaitForAsync(id, TaskState.Running);
        }
    }

    [Fact]
    public async Task Tasks_Go_Through_In_The_Order_They_Reached_The_Gate()
    {
        await using var node = new TaskHarness(maxConcurrentStarts: 1);
        node.Send(TestTasks.Assign(TestTasks.Task("t1", env: SlowStart)));
        await node.WaitForCallAsync("t1", Op.Start);
        string[] waiting = ["t4", "t2", "t3"];
        foreach (var id in waiting)
        {
            node.Send(TestTasks.Assign(TestTasks.Task(id, env: SlowStart)));
            await node.WaitForAsync(id, TaskState.Preparing);
        }

        foreach (var id in waiting)
        {
            node.Time.Advance(TimeSpan.FromMilliseconds(500));
            await node.WaitForCallAsync(id, Op.Start);
        }

        node.Time.Advance(TimeSpan.FromMilliseconds(500));
        await node.WaitForAsync("t3", TaskState.Running);
        Assert.Equal(["t1", .. waiting], node.Executor.Calls.Where(c => c.Operation == Op.Prepare).Select(c => c.TaskId));
    }

    [Fact]
    public async Task A_Failed_Prepare_Gives_Its_Place_To_The_Next()
    {
        await using var node = new TaskHarness(maxConcurrentStarts: 1);
        node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_PREPARE_ERROR=image busybox:1 not found on this node")));
        await node.WaitForAsync("t1", TaskState.Rejected);

        node.Send(TestTasks.Assign(TestTasks.Task("t2")));

        await node.WaitForAsync("t2", TaskState.Running);
    }

    [Fact]
    public async Task A_Task_Removed_While_It_Waits_Goes_At_Once_Without_Preparing()
    {
        await using var node = new TaskHarness(maxConcurrentStarts: 1);
        node.Send(TestTasks.Assign(TestTasks.Task("t1", env: SlowStart)));
        await node.WaitForCallAsync("t1", Op.Start);
        node.Send(TestTasks.Assign(TestTasks.Task("t2")));
        await node.WaitForAsync("t2", TaskState.Preparing);

        node.Send(TestTasks.Remove("t2"));

        // t1 still holds the only place (the clock has not moved), yet t2 is shut down and removed.
        await node.WaitForCallAsync("t2", Op.Remove);
        Assert.DoesNotContain(Op.Prepare, node.Executor.CallsOf("t2"));
        node.Send(TestTasks.Assign(TestTasks.Task("t3")));
        node.Time.Advance(TimeSpan.FromMilliseconds(500));
        await node.WaitForAsync("t1", TaskState.Running);
        await node.WaitForAsync("t3", TaskState.Running);
    }

    [Fact]
    public async Task A_Task_Stopped_While_Another_Starts_Is_Not_Held_Up_By_The_Gate()
    {
        await using var node = new TaskHarness(maxConcurrentStarts: 1);
        var running = TestTasks.Task("t1");
        node.Send(TestTasks.Assign(running));
        await node.WaitForAsync("t1", TaskState.Running);
        node.Send(TestTasks.Assign(TestTasks.Task("t2", env: SlowStart)));
        await node.WaitForCallAsync("t2", Op.Start);

        node.Send(TestTasks.Assign(running with { DesiredState = TaskState.Shutdown }));

        await node.WaitForAsync("t1", TaskState.Shutdown);
        Assert.DoesNotContain(TaskState.Running, node.StatesOf("t2"));
    }

    private static int Count(TaskHarness node, Op operation, IEnumerable<string> ids) =>
        ids.Count(id => node.Executor.CallsOf(id).Contains(operation));
}
