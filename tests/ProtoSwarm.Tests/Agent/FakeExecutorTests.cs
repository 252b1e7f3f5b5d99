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
}
