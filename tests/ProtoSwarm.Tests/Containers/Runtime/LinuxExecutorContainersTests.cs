using ProtoSwarm.Containers.Runtime;
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

    [Fact]
    public async Task Stats_Reads_The_Bytes_A_Container_Moved_Through_Its_Own_Interface_And_Its_Disk()
    {
        // The container writes and reads 2 MiB past the page cache, then pings the node over an interface the test gives it.
        const string Script =
            "dd if=/dev/zero of=/moved bs=64k count=32 oflag=direct 2>/dev/null; dd if=/moved of=/dev/null bs=64k iflag=direct 2>/dev/null; " +
            "while ! ip link show eth9 >/dev/null 2>&1; do sleep 0.1; done; ip addr add 10.231.0.2/24 dev eth9; ip link set eth9 up; " +
            "ping -c 3 -W 1 10.231.0.1 >/dev/null; echo pinged; sleep 1000";
        var id = "n" + Guid.NewGuid().ToString("N")[..24];
        var task = SleepingTask(id);
        task = task with { Spec = task.Spec with { Container = task.Spec.Container with { Command = ["sh", "-c", Script], User = "", CapabilityAdd = ["CAP_NET_ADMIN"] } } };
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        var host = "psv" + id[1..9];
        try
        {
            var pid = Assert.Single(Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("p", All: false), TimeProvider.System, _ => null, default)).Containers).Pid;
            Ip($"link add {host} type veth peer name eth9 netns {pid}");
            Ip($"addr add 10.231.0.1/24 dev {host}");
            Ip($"link set {host} up");
            for (var i = 0; i < 100 && !ContainerFixture.Printed(LinuxContainer.ReadLogs(id, Fixture.Options), ContainerLogStream.Stdout).Contains("pinged", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
            }

            var usage = Assert.Single(Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("s", All: false, Usage: true), TimeProvider.System, _ => null, default)).Containers).Usage;

            // Three echo requests of 84 bytes each way at least, on eth9 alone (its loopback left out).
            Assert.True(usage is { NetRxBytes: >= 3 * 84, NetTxBytes: >= 3 * 84 }, $"usage {usage}");
            Assert.True(usage!.NetRxBytes < 64 * 1024 && usage.NetTxBytes < 64 * 1024, $"usage {usage}");
            // The kernel counts a cgroup's block I/O once some throttle rule was ever set on the device (6.x's blk-throttle
            // starts lazily); docker reads the same file. Where the root of the hierarchy counts nothing, neither does this.
            var counting = !File.ReadAllText("/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes").Trim().EndsWith("Total 0", StringComparison.Ordinal);
            Assert.True(counting ? usage is { BlockWriteBytes: >= 2 << 20, BlockReadBytes: >= 2 << 20 } : usage is { BlockWriteBytes: 0 }, $"usage {usage}, counting {counting}");
        }
        finally
        {
            await controller.RemoveAsync(default);
            TryIp($"link del {host}");
        }
    }

    private static void Ip(string arguments)
    {
        using var ip = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", arguments) { RedirectStandardError = true })!;
        var error = ip.StandardError.ReadToEnd();
        ip.WaitForExit();
        Assert.True(ip.ExitCode == 0, $"ip {arguments}: {error}");
    }

    private static void TryIp(string arguments)
    {
        using var ip = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", arguments) { RedirectStandardError = true })!;
        ip.StandardError.ReadToEnd();
        ip.WaitForExit();
    }
}
