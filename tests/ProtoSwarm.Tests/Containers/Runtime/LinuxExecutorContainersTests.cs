using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// `protoswarm ps` / `stats` as the node host answers them, as root: a task's real container, running, then exited.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class LinuxExecutorContainersTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-executor-ps-", "busybox:ps")
{
    private static TaskObject SleepingTask(string id) => new(
        id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 2, "node",
        new TaskSpec(new ContainerSpec("busybox:ps", Command: ["sleep", "1000"], Env: ["FROM_TASK=yes"], User: "1000")), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow), ServiceName: "web");

    [Fact]
    public async Task A_Running_Container_Is_Listed_With_Its_Usage_And_Stays_Listed_Once_Exited()
    {
        var task = SleepingTask("p" + Guid.NewGuid().ToString("N")[..24]);
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        var created = await LocalContainers.HandleAsync(Executor, new ListContainers("r0", All: true), TimeProvider.System, _ => null, default);
        await controller.StartAsync(default);
        try
        {
            var running = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("r1", All: false, Usage: true), TimeProvider.System, _ => null, default));
            await controller.TerminateAsync(default);
            var hidden = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("r2", All: false), TimeProvider.System, _ => null, default));
            var exited = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("r3", All: true), TimeProvider.System, _ => null, default));

            Assert.Equal("created", Assert.Single(Assert.IsType<ContainerList>(created).Containers).State);
            var container = Assert.Single(running.Containers);
            Assert.Equal(($"web.2.{task.Id}", "running", "sleep", "1000", "1000"), (container.Name, container.State, container.Path, container.Args.Single(), container.User));
            Assert.True(container.Pid > 0);
            Assert.Contains("FROM_TASK=yes", container.Env);
            Assert.NotNull(container.StartedAt);
            Assert.True(container.Usage is { MemoryBytes: > 0, Pids: >= 1 }, $"usage {container.Usage}");
            Assert.Empty(hidden.Containers);
            var ended = Assert.Single(exited.Containers);
            Assert.Equal(("exited", 137, 0), (ended.State, ended.ExitCode, ended.Pid));
            Assert.NotNull(ended.FinishedAt);
            Assert.True(ended.FinishedAt >= container.StartedAt);
        }
        finally
        {
            await controller.RemoveAsync(default);
        }

        Assert.Empty(Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("r4", All: true), TimeProvider.System, _ => null, default)).Containers);
    }

    [Fact]
    public async Task A_Container_Found_Again_After_A_Node_Host_Restart_Keeps_Its_Creation_Time_And_Its_Process()
    {
        var task = SleepingTask("q" + Guid.NewGuid().ToString("N")[..24]);
        task = task with { Spec = task.Spec with { Container = task.Spec.Container with { Command = ["sleep"], Args = ["1000"] } } };
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        // Made well before it starts: a Created read back from its start (or its attach) would differ.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        await controller.StartAsync(default);
        var (restartedImages, restarted) = await Fixture.BusyboxExecutorAsync(Path.Combine(Dir, "restarted"), "busybox:ps");
        using var _ = restartedImages;
        var again = restarted.CreateController(task);
        try
        {
            var before = Assert.Single(Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("r1", All: true), TimeProvider.System, _ => null, default)).Containers);
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            Assert.True((await again.InspectAsync(default)).Exists);
            var after = Assert.Single(Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(restarted, new ListContainers("r2", All: true), TimeProvider.System, _ => null, default)).Containers);

            Assert.Equal(before.Created, after.Created);
            Assert.Equal(before.StartedAt, after.StartedAt);
            Assert.True(after.StartedAt - after.Created >= TimeSpan.FromSeconds(1), $"created {after.Created:O}, started {after.StartedAt:O}");
            Assert.Equal(("sleep", "1000"), (after.Path, after.Args.Single()));
            Assert.Equal(["sleep"], before.Entrypoint.ToArray());
            Assert.Equal(["1000"], before.Cmd.ToArray());
            Assert.Equal(["sleep"], after.Entrypoint.ToArray());
            Assert.Equal(["1000"], after.Cmd.ToArray());
        }
        finally
        {
            await again.TerminateAsync(default);
            await again.RemoveAsync(default);
            await controller.RemoveAsync(default);
        }
    }
}
