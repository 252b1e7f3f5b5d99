using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

public class FakeExecutorTests
{
    private readonly FakeTimeProvider _time = new(TestNodes.T0);

    [Theory]
    [InlineData("FAKE_RUN_MS=soon", "FAKE_RUN_MS=soon is not a number of milliseconds; give a whole number such as 500")]
    [InlineData("FAKE_EXIT_CODE=x", "FAKE_EXIT_CODE=x is not an exit code; give a whole number such as 3")]
    [InlineData("FAKE_HEALTH=fine", "FAKE_HEALTH=fine is not a health; give healthy, unhealthy or starting")]
    public async Task A_Variable_That_Does_Not_Parse_Fails_Prepare_With_What_To_Write(string variable, string error)
    {
        var controller = new FakeExecutor(_time).CreateController(TestTasks.Task(env: variable));

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => controller.PrepareAsync(TestTimeout.Token));

        Assert.Equal(error, thrown.Message);
    }

    [Fact]
    public async Task A_Task_Without_Variables_Runs_Until_Stopped()
    {
        var executor = new FakeExecutor(_time);
        var controller = executor.CreateController(TestTasks.Task());
        await controller.PrepareAsync(TestTimeout.Token);
        await controller.StartAsync(TestTimeout.Token);
        var wait = controller.WaitAsync(TestTimeout.Token);

        _time.Advance(TimeSpan.FromDays(1));
        Assert.False(wait.IsCompleted);
        await controller.ShutdownAsync(TestTimeout.Token);

        Assert.Equal(new ContainerExit(FakeExecutor.StoppedExitCode), await wait);
        Assert.Equal([new FakeExecutorCall("t1", Op.Prepare), new FakeExecutorCall("t1", Op.Start), new FakeExecutorCall("t1", Op.Wait), new FakeExecutorCall("t1", Op.Shutdown)],
            executor.Calls);
    }

    [Fact]
    public async Task Another_Executor_A_Restarted_Node_Host_Does_Not_Know_The_Container()
    {
        var task = TestTasks.Task();
        var before = new FakeExecutor(_time).CreateController(task);
        await before.PrepareAsync(TestTimeout.Token);
        await before.StartAsync(TestTimeout.Token);

        var inspection = await new FakeExecutor(_time).CreateController(task).InspectAsync(TestTimeout.Token);

        Assert.Equal(new ContainerInspection(true, TestNodes.T0), await before.InspectAsync(TestTimeout.Token));
        Assert.Equal(ContainerInspection.Gone, inspection);
    }

    [Fact]
    public async Task Removing_Forgets_The_Container()
    {
        var executor = new FakeExecutor(_time);
        var controller = executor.CreateController(TestTasks.Task(env: "FAKE_EXIT_CODE=0"));
        await controller.PrepareAsync(TestTimeout.Token);
        await controller.StartAsync(TestTimeout.Token);
        Assert.Equal(new ContainerExit(0), executor.ExitOf("t1"));

        await controller.RemoveAsync(TestTimeout.Token);

        Assert.Null(executor.ExitOf("t1"));
        Assert.Equal(ContainerInspection.Gone, await controller.InspectAsync(TestTimeout.Token));
    }

    [Fact]
    public async Task Leaving_The_Swarm_Kills_And_Forgets_Every_Container()
    {
        var executor = new FakeExecutor(_time);
        var running = executor.CreateController(TestTasks.Task());
        await running.PrepareAsync(TestTimeout.Token);
        await running.StartAsync(TestTimeout.Token);
        var wait = running.WaitAsync(TestTimeout.Token);

        await executor.RemoveAllAsync(TestTimeout.Token);

        Assert.Equal(new ContainerExit(FakeExecutor.KilledExitCode), await wait);
        Assert.Equal(ContainerInspection.Gone, await running.InspectAsync(TestTimeout.Token));
        Assert.Contains(new FakeExecutorCall("t1", Op.Remove), executor.Calls);
    }

    [Fact]
    public async Task A_Started_Task_Writes_Fake_Output_To_Stdout_And_Fake_Stderr_To_Stderr()
    {
        var controller = await StartedAsync(new FakeExecutor(_time), "FAKE_OUTPUT=hello\\nworld|bye", "FAKE_STDERR=oops");

        var log = await controller.ReadLogsAsync(0, null, TestTimeout.Token);

        Assert.Equal(
        [
            new TaskLogEntry(1, TestNodes.T0, LogStream.Stdout, "hello"),
            new TaskLogEntry(2, TestNodes.T0, LogStream.Stdout, "world"),
            new TaskLogEntry(3, TestNodes.T0, LogStream.Stdout, "bye"),
            new TaskLogEntry(4, TestNodes.T0, LogStream.Stderr, "oops"),
        ], log);
    }

    [Fact]
    public async Task Fake_Log_Every_Ms_Writes_A_Tick_That_Often_While_The_Task_Runs()
    {
        var controller = await StartedAsync(new FakeExecutor(_time), "FAKE_LOG_EVERY_MS=100");

        // The fake clock fires due timers at the time it is moved to, so move it one period at a time.
        _time.Advance(TimeSpan.FromMilliseconds(100));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        _time.Advance(TimeSpan.FromMilliseconds(50));
        await controller.ShutdownAsync(TestTimeout.Token);
        _time.Advance(TimeSpan.FromSeconds(1));

        var log = await controller.ReadLogsAsync(0, null, TestTimeout.Token);
        Assert.Equal(["tick 1", "tick 2"], log.Select(e => e.Line));
        Assert.Equal([TestNodes.T0.AddMilliseconds(100), TestNodes.T0.AddMilliseconds(200)], log.Select(e => e.Timestamp));
    }

    [Fact]
    public async Task Reading_After_A_Sequence_And_With_A_Tail_Gives_Only_Those_Lines()
    {
        var controller = await StartedAsync(new FakeExecutor(_time), "FAKE_OUTPUT=a|b|c|d|e");

        Assert.Equal(["d", "e"], (await controller.ReadLogsAsync(3, null, TestTimeout.Token)).Select(e => e.Line));
        Assert.Equal(["e"], (await controller.ReadLogsAsync(3, 1, TestTimeout.Token)).Select(e => e.Line));
        Assert.Equal(["c", "d", "e"], (await controller.ReadLogsAsync(0, 3, TestTimeout.Token)).Select(e => e.Line));
        Assert.Empty(await controller.ReadLogsAsync(0, 0, TestTimeout.Token));
        Assert.Empty(await controller.ReadLogsAsync(5, null, TestTimeout.Token));
    }

    [Fact]
    public async Task A_Container_Keeps_Only_Its_Last_Thousand_Lines_And_Their_Sequence_Goes_On()
    {
        var controller = await StartedAsync(new FakeExecutor(_time), "FAKE_LOG_EVERY_MS=1");

        _time.Advance(TimeSpan.FromMilliseconds(1_500));

        var log = await controller.ReadLogsAsync(0, null, TestTimeout.Token);
        Assert.Equal(FakeExecutor.MaxLogEntries, log.Count);
        Assert.Equal(("tick 501", 501L), (log[0].Line, log[0].Sequence));
        Assert.Equal(("tick 1500", 1500L), (log[^1].Line, log[^1].Sequence));
    }

    [Fact]
    public async Task The_Log_Outlives_The_Process_Until_The_Container_Is_Removed()
    {
        var executor = new FakeExecutor(_time);
        var controller = await StartedAsync(executor, "FAKE_OUTPUT=done", "FAKE_EXIT_CODE=0");
        Assert.Equal(new ContainerExit(0), executor.ExitOf("t1"));

        Assert.Equal(["done"], (await controller.ReadLogsAsync(0, null, TestTimeout.Token)).Select(e => e.Line));
        await controller.RemoveAsync(TestTimeout.Token);

        Assert.Empty(await controller.ReadLogsAsync(0, null, TestTimeout.Token));
        Assert.Empty(await new FakeExecutor(_time).CreateController(TestTasks.Task("t2")).ReadLogsAsync(0, null, TestTimeout.Token));
    }

    [Fact]
    public async Task Fake_Log_Every_Ms_Of_Zero_Fails_Prepare_With_What_To_Write()
    {
        var controller = new FakeExecutor(_time).CreateController(TestTasks.Task(env: "FAKE_LOG_EVERY_MS=0"));

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => controller.PrepareAsync(TestTimeout.Token));

        Assert.Contains("FAKE_LOG_EVERY_MS=0", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("at least 1", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Call_Log_Keeps_Only_The_Last_Ten_Thousand_Calls()
    {
        var executor = new FakeExecutor(_time);
        var controller = executor.CreateController(TestTasks.Task());

        for (var i = 0; i < FakeExecutor.MaxCalls + 5; i++)
        {
            await controller.InspectAsync(TestTimeout.Token);
        }

        await controller.ReadLogsAsync(0, null, TestTimeout.Token);
        Assert.Equal(FakeExecutor.MaxCalls, executor.Calls.Count);
        Assert.Equal(new FakeExecutorCall("t1", Op.ReadLogs), executor.Calls[^1]);
    }

    private static async Task<ITaskController> StartedAsync(FakeExecutor executor, params string[] env)
    {
        var controller = executor.CreateController(TestTasks.Task(env: env));
        await controller.PrepareAsync(TestTimeout.Token);
        await controller.StartAsync(TestTimeout.Token);
        return controller;
    }
}
