using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// `protoswarm exec` as the node host runs it, as root: a task started by the Linux executor from an
// image in the node's store, then entered by a prefix of its id.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class LinuxExecutorExecTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-executor-exec-", "busybox:exec")
{

    private static TaskObject SleepingTask(string id) => new(
        id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
        new TaskSpec(new ContainerSpec("busybox:exec", Command: ["sleep", "1000"], Env: ["FROM_TASK=yes"])), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));

    [Fact]
    public async Task Exec_By_Id_Prefix_Runs_In_The_Tasks_Container_Until_The_Task_Ends()
    {
        var task = SleepingTask("e" + Guid.NewGuid().ToString("N")[..24]);
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        try
        {
            var (taskId, result) = await Executor.ExecAsync(task.Id[..8], new ExecSpecification
            {
                Command = ["sh", "-c", "cat /proc/1/cmdline; echo; echo $FROM_TASK $ADDED; echo oops >&2; exit 7"],
                Env = ["ADDED=1"],
                Timeout = TimeSpan.FromSeconds(20),
            }, default);
            var reply = await LocalExec.HandleAsync(Executor, new ExecInTask("r1", task.Id, ["pwd"], [], "1000", "/tmp", TimeSpan.FromSeconds(20)), default);
            var unknown = await Assert.ThrowsAsync<TaskExecException>(() => Executor.ExecAsync("zz", new ExecSpecification { Command = ["true"] }, default));

            await controller.TerminateAsync(default);
            var ended = await Assert.ThrowsAsync<TaskExecException>(() => Executor.ExecAsync(task.Id, new ExecSpecification { Command = ["true"] }, default));

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

    [Fact]
    public async Task A_Detached_Exec_Outlives_A_Node_Host_Restart_And_Ends_With_Its_Container()
    {
        var task = SleepingTask("d" + Guid.NewGuid().ToString("N")[..24]);
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        var (restartedImages, restarted) = await Fixture.BusyboxExecutorAsync(Path.Combine(Dir, "restarted"), "busybox:exec");
        using var _ = restartedImages;
        var again = restarted.CreateController(task);
        try
        {
            // What LocalExec starts for `protoswarm exec -d` (LocalExecTests); its output goes to /dev/null, so writing costs it nothing.
            var (_, detached) = await Executor.StartExecAsync(task.Id[..8], new ExecSpecification
            {
                Command = ["sh", "-c", "echo out; echo err >&2; sleep 2931; echo late"],
                Detached = true,
            }, default);
            var (_, attached) = await Executor.StartExecAsync(task.Id[..8], new ExecSpecification { Command = ["sleep", "2932"] }, default);
            var sleeper = await HostPidAsync("sleep\02931\0");
            var plain = await HostPidAsync("sleep\02932\0");

            // The node host stops: its ends of the status sockets close, nothing is killed on purpose.
            detached.Detach();
            attached.Detach();
            var plainEnded = await attached.Completion.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True((await again.InspectAsync(default)).Exists);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var (_, ps) = await restarted.ExecAsync(task.Id, new ExecSpecification { Command = ["ps", "-o", "args"], Timeout = TimeSpan.FromSeconds(20) }, default);

            Assert.True(Running(sleeper), "the detached command died with the node host's connection");
            Assert.Contains("sleep 2931", ps.Stdout, StringComparison.Ordinal);
            Assert.Equal(137, plainEnded.ExitCode);
            Assert.False(Running(plain), "a command that is not detached outlived the node host");
            Assert.False(detached.Completion.IsCompleted);
            Assert.Empty(Directory.GetFiles(Path.Combine(Fixture.Options.StateRoot, task.Id), "exec-*.json"));

            await again.TerminateAsync(default);
            await again.RemoveAsync(default);
            var ended = await detached.Completion.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.False(Running(sleeper), "the detached command outlived its container");
            Assert.Equal(137, ended.ExitCode);
        }
        finally
        {
            await again.RemoveAsync(default);
            await controller.RemoveAsync(default);
        }
    }

    // The host pid of the one process whose /proc/PID/cmdline is exactly `cmdline`, once it runs.
    private static async Task<int> HostPidAsync(string cmdline)
    {
        for (var i = 0; i < 100; i++)
        {
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && ReadOrEmpty($"{dir}/cmdline") == cmdline)
                {
                    return pid;
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"no process runs {cmdline.Replace('\0', ' ')}");
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static bool Running(int pid)
    {
        var state = ReadOrEmpty($"/proc/{pid}/status").Split('\n').FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal));
        return state is not null && !state[6..].Trim().StartsWith('Z');
    }
}
