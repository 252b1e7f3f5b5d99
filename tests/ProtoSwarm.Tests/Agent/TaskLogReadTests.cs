using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

/// <summary>The supervisor answers a manager's log read by asking each task actor, which asks its controller.</summary>
public sealed class TaskLogReadTests : IAsyncLifetime
{
    private readonly TaskHarness _node = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_Supervisor_Answers_Each_Tasks_Lines_And_None_For_A_Task_It_Does_Not_Hold()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_OUTPUT=one|two"), TestTasks.Task("t2", env: "FAKE_STDERR=bad")));
        await _node.WaitForAsync("t1", TaskState.Running);
        await _node.WaitForAsync("t2", TaskState.Running);

        var logs = await _node.ReadLogsAsync(null, new TaskLogCursor("t1"), new TaskLogCursor("t2"), new TaskLogCursor("elsewhere"));

        Assert.Equal(["t1", "t2", "elsewhere"], logs.Tasks.Select(t => t.TaskId));
        Assert.Equal(
            [new TaskLogEntry(1, TestNodes.T0, LogStream.Stdout, "one"), new TaskLogEntry(2, TestNodes.T0, LogStream.Stdout, "two")],
            logs.Tasks[0].Entries.ToArray());
        Assert.Equal([new TaskLogEntry(1, TestNodes.T0, LogStream.Stderr, "bad")], logs.Tasks[1].Entries.ToArray());
        Assert.Empty(logs.Tasks[2].Entries);
    }

    [Fact]
    public async Task A_Read_Passes_The_Cursor_And_The_Tail_To_The_Controller()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_OUTPUT=a|b|c|d")));
        await _node.WaitForAsync("t1", TaskState.Running);

        Assert.Equal(["c", "d"], await _node.LinesOfAsync("t1", after: 2));
        Assert.Equal(["d"], await _node.LinesOfAsync("t1", after: 1, tail: 1));
    }

    [Fact]
    public async Task An_Ended_Tasks_Lines_Stay_Readable_Until_It_Is_Removed_From_The_Node()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: ["FAKE_OUTPUT=last words", "FAKE_EXIT_CODE=0"])));
        await _node.WaitForAsync("t1", TaskState.Complete);

        Assert.Equal(["last words"], await _node.LinesOfAsync("t1"));

        _node.Send(TestTasks.Remove("t1"));
        await _node.WaitForCallAsync("t1", Op.Remove);
        Assert.Empty(await _node.LinesOfAsync("t1"));
    }

    [Fact]
    public async Task A_Read_Is_Answered_While_A_Slow_Start_Is_Still_In_Flight()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_START_DELAY_MS=60000")));
        await _node.WaitForCallAsync("t1", Op.Start);

        Assert.Empty(await _node.LinesOfAsync("t1"));
        Assert.Contains(Op.ReadLogs, _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task Ticks_Written_While_The_Task_Runs_Come_Back_In_Order()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_LOG_EVERY_MS=1000")));
        await _node.WaitForAsync("t1", TaskState.Running);

        for (var second = 0; second < 3; second++)
        {
            _node.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(["tick 1", "tick 2", "tick 3"], await _node.LinesOfAsync("t1"));
        Assert.Equal(["tick 3"], await _node.LinesOfAsync("t1", after: 2));
    }

    [Fact]
    public async Task A_Long_Log_Comes_In_Pages_Of_At_Most_The_Bytes_Asked_For_Each_Resuming_After_The_Last()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_OUTPUT=" + string.Join('|', Enumerable.Range(1, 10).Select(n => $"line {n:00}")))));
        await _node.WaitForAsync("t1", TaskState.Running);
        var page = 4 * TaskLogPaging.BytesOf("line 01");

        var first = Assert.Single((await _node.ReadLogsAsync(new ReadTaskLogs([new TaskLogCursor("t1")], MaxBytes: page))).Tasks);
        var last = Assert.Single((await _node.ReadLogsAsync(new ReadTaskLogs([new TaskLogCursor("t1", 8)], MaxBytes: page))).Tasks);
        var tail = Assert.Single((await _node.ReadLogsAsync(new ReadTaskLogs([new TaskLogCursor("t1")], Tail: 6, MaxBytes: page))).Tasks);

        Assert.Equal(["line 01", "line 02", "line 03", "line 04"], first.Entries.Select(e => e.Line));
        Assert.True(first.More);
        Assert.Equal(["line 09", "line 10"], last.Entries.Select(e => e.Line));
        Assert.False(last.More);
        Assert.Equal(["line 05", "line 06", "line 07", "line 08"], tail.Entries.Select(e => e.Line));
        Assert.Equal((true, 4L), (tail.More, tail.Start));
    }

    [Fact]
    public async Task Since_Is_Applied_On_The_Node_Before_The_Tail()
    {
        _node.Send(TestTasks.Assign(TestTasks.Task("t1", env: "FAKE_LOG_EVERY_MS=1000")));
        await _node.WaitForAsync("t1", TaskState.Running);
        for (var second = 0; second < 4; second++)
        {
            _node.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await Poll.Until(async () => (await _node.LinesOfAsync("t1")).Count == 4, "four ticks are written");
        var read = new ReadTaskLogs([new TaskLogCursor("t1")], Tail: 1, Since: TestNodes.T0.AddSeconds(2));

        var log = Assert.Single((await _node.ReadLogsAsync(read)).Tasks);

        Assert.Equal(["tick 4"], log.Entries.Select(e => e.Line));
        Assert.Equal(3, log.Start);
    }
}
