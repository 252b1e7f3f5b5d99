using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// `service ps --stats` on the node side, as root: a task started by the Linux executor, measured
// through its real cgroups by the sampler the task supervisor uses.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class TaskUsageRootTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-usage-", "busybox:usage")
{
    private const long Allocated = 32 << 20;

    /// <summary>utime + stime of every process in the container's cgroup, in clock ticks (100 a second).</summary>
    private long ContainerTicks(string id)
    {
        var cgroup = File.ReadAllLines(Path.Combine(Fixture.Options.StateRoot, id, "cgroups"))[0];
        return File.ReadAllLines(cgroup + "/cgroup.procs").Sum(pid =>
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    [Fact]
    public async Task A_Busy_Task_Shows_Its_Cpu_Memory_And_Processes()
    {
        // Two sleeping children, 32 MiB held in a shell variable, then busy loops: three in subshells and
        // one in the shell itself (PID 1). Four, so that on a loaded machine (other builds) the
        // container still gets more than half a core; one loop alone on an idle one reads about 100%.
        var script = $"sleep 1000 & sleep 1000 & x=$(head -c {Allocated} /dev/zero | tr '\\0' a); "
            + "for i in 1 2 3; do (while :; do :; done) & done; echo ready; while :; do :; done";
        var task = new TaskObject(
            "u" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec("busybox:usage", Command: ["sh", "-c", script]),
                new ResourceRequirements(new ResourceAmounts(0, 256 << 20, 50), ResourceAmounts.None)),
            1, TaskState.Running, new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!LinuxContainer.ReadLogs(task.Id, Fixture.Options).Any(e => e.Text == "ready"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the task never printed ready");
                await Task.Delay(20);
            }

            var sampler = new TaskUsageSampler(Executor, TimeProvider.System);
            var usage = Assert.Single(await sampler.ReadAsync([task.Id, "not-here"], default));

            Assert.Equal(task.Id, usage.TaskId);
            Assert.True(usage.MemoryBytes > Allocated, $"memory {usage.MemoryBytes} after allocating {Allocated}");
            Assert.Equal(256L << 20, usage.MemoryLimitBytes);
            Assert.Equal(6, usage.Pids);
            Assert.Equal(50, usage.PidsLimit);

            // The CPU % against the kernel's own per-process accounting (/proc/PID/stat, not the cgroup
            // files) over the same two seconds: the next question measures from the reading kept now.
            // Other builds share this machine's cores, so the busy loops' share is whatever the load leaves them.
            var (ticksBefore, at) = (ContainerTicks(task.Id), DateTime.UtcNow);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var measured = Assert.Single(await sampler.ReadAsync([task.Id], default)).CpuPercent;
            var reference = (ContainerTicks(task.Id) - ticksBefore) * 10.0 / (DateTime.UtcNow - at).TotalMilliseconds * 100;

            Assert.True(Math.Abs(measured - reference) < 10, $"CPU {measured:0.00}% by the cgroup, {reference:0.00}% by /proc");
            // Alone on a core a busy loop reads about 100%; with a load average near 20 on this machine's two
            // cores, the container's cgroup (one group entity to the scheduler) got 40-56%, so only "busy" is asserted.
            Assert.True(measured > 20, $"CPU {measured:0.00}% for four busy loops");
            Assert.True(measured < (Environment.ProcessorCount * 100) + 10, $"CPU {measured:0.00}% on {Environment.ProcessorCount} cores");
        }
        finally
        {
            await controller.TerminateAsync(default);
            await controller.RemoveAsync(default);
        }

        Assert.Empty(await Executor.SampleUsageAsync([task.Id], default));
    }
}
