using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Agent;

/// <summary>A task's TTY reaches the executor that prepares its container (the test executor records it, as the Linux one gives the main process a terminal).</summary>
public sealed class TaskTtyTests : IAsyncLifetime
{
    private readonly TaskHarness _node = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_Executor_Prepares_A_Tty_Task_With_A_Terminal_And_Another_Without()
    {
        var plain = TestTasks.Task("t1");
        var withTty = plain with { Spec = plain.Spec with { Container = plain.Spec.Container with { TTY = true } } };
        _node.Send(TestTasks.Full(withTty, TestTasks.Task("t2")));

        await _node.WaitForAsync("t1", TaskState.Running);
        await _node.WaitForAsync("t2", TaskState.Running);

        Assert.True(_node.Executor.TtyOf("t1"));
        Assert.False(_node.Executor.TtyOf("t2"));
        Assert.Null(_node.Executor.TtyOf("t3"));
    }
}
