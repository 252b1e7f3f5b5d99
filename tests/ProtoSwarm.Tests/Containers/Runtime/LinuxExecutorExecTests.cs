using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// `protoswarm exec` as the node host runs it, as root: a task started by the Linux executor from an
// image in the node's store, then entered by a prefix of its id.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class LinuxExecutorExecTests(ContainerFixture fixture) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-executor-exec-").FullName;
    private ImageStore _images = null!;
    private LinuxExecutor _executor = null!;

    public async Task InitializeAsync()
    {
        (_images, _executor) = await fixture.BusyboxExecutorAsync(_dir, "busybox:exec");
    }

    public Task DisposeAsync()
    {
        _images.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private static TaskObject SleepingTask(string id) => new(
        id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
        new TaskSpec(new ContainerSpec("busybox:exec", Command: ["sleep", "1000"], Env: ["FROM_TASK=yes"])), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));

    [Fact]
    public async Task Exec_By_Id_Prefix_Runs_In_The_Tasks_Container_Until_The_Task_Ends()
    {
        var task = SleepingTask("e" + Guid.NewGuid().ToString("N")[..24]);
        var controller = _executor.CreateController(task);
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        try
        {
            var (taskId, result) = await _executor.ExecAsync(task.Id[..8], new ExecSpecification
            {
                Command = ["sh", "-c", "cat /proc/1/cmdline; echo; echo $FROM_TASK $ADDED; echo oops >&2; exit 7"],
                Env = ["ADDED=1"],
                Timeout = TimeSpan.FromSeconds(20),
            }, default);
            var reply = await LocalExec.HandleAsync(_executor, new ExecInTask("r1", task.Id, ["pwd"], [], "1000", "/tmp", TimeSpan.FromSeconds(20)), default);
            var unknown = await Assert.ThrowsAsync<TaskExecException>(() => _executor.ExecAsync("zz", new ExecSpecification { Command = ["true"] }, default));

            await controller.TerminateAsync(default);
            var ended = await Assert.ThrowsAsync<TaskExecException>(() => _executor.ExecAsync(task.Id, new ExecSpecification { Command = ["true"] }, default));

            Assert.Equal(task.Id, taskId);
            Assert.Equal(new ExecResult(7, "sleep\01000\0\nyes 1\n", "oops\n", false), result);
            Assert.Equal(new ExecCompleted(task.Id, 0, "/tmp\n", "", false), reply);
            Assert.Equal(RejectCode.NotFound, unknown.Code);
            Assert.Equal((RejectCode.Conflict, $"task {task.Id} is not running; `protoswarm service ps` shows its state"), (ended.Code, ended.Message));
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }
}
