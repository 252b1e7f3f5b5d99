using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// A container whose entrypoint switches user itself (su, gosu) loses the parent-death signal its
// monitor gave it: the kernel clears it on a credential change. As root, with real containers: such a
// container outlives a SIGKILLed monitor, and what comes next (the host that watched, an attach after a
// restart, the executor's sweep and reattach) kills it and leaves no process and no cgroup.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class MonitorGoneTests(ContainerFixture fixture) : IDisposable
{
    private const int Nobody = 65534;
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-monitor-gone-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // busybox's su and a nobody user, in a layer over the fixture's busybox.
    private string SuLayer()
    {
        var layer = Path.Combine(_dir, "su-layer");
        if (!Directory.Exists(layer))
        {
            Directory.CreateDirectory(Path.Combine(layer, "bin"));
            Directory.CreateDirectory(Path.Combine(layer, "etc"));
            File.CreateSymbolicLink(Path.Combine(layer, "bin", "su"), "busybox");
            File.WriteAllText(Path.Combine(layer, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
            File.WriteAllText(Path.Combine(layer, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        }
        return layer;
    }

    // Runs as root in the container, then becomes nobody and execs sleep: PID 1 ends up sleep as uid 65534.
    private ContainerSpecification SwitchingUser(string? id = null)
    {
        var spec = fixture.Spec("su", "nobody", "-s", "/bin/sh", "-c", "exec sleep 1000") with { Layers = [fixture.Layer, SuLayer()] };
        return id is null ? spec : spec with { Id = id };
    }

    [Fact]
    public async Task A_Container_That_Changed_Its_User_Outlives_A_Killed_Monitor_Until_Attach_Kills_It()
    {
        var spec = SwitchingUser();
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        var pid = started.Pid;
        await WaitUntilSleepingAsNobodyAsync(pid);
        var cgroups = CgroupDirectories(pid);
        started.Detach(); // the node host goes away

        await KillMonitorAsync(started.MonitorPid);
        await Task.Delay(300);
        // The defect this guards against: the kernel cleared PID 1's parent-death signal at su's setuid.
        Assert.True(Running(pid), "PID 1 died with its monitor: the test no longer shows the case it is about");
        Assert.Contains(pid, Members(cgroups));

        var attached = await LinuxContainer.AttachAsync(spec.Id, fixture.Options);

        Assert.NotNull(attached);
        Assert.Equal(new ContainerExit(137, 9, false, "monitor gone: the container's processes were killed"), await attached.WaitAsync());
        Assert.Empty(Members(cgroups));
        Assert.False(Running(pid));
        await attached.RemoveAsync();
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
        Assert.DoesNotContain(spec.Id, LinuxContainer.List(fixture.Options));
    }

    [Fact]
    public async Task A_Stopped_Monitor_That_Cannot_Answer_An_Attach_Is_Killed_With_Its_Container()
    {
        var spec = fixture.Spec("sleep", "1000");
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        var pid = started.Pid;
        var monitorPid = started.MonitorPid;
        var cgroups = CgroupDirectories(pid);
        started.Detach(); // the node host goes away
        Assert.Equal(0, Tmds.Linux.LibC.kill(monitorPid, Tmds.Linux.LibC.SIGSTOP)); // alive, and mute

        var attached = await LinuxContainer.AttachAsync(spec.Id, fixture.Options with { StartTimeout = TimeSpan.FromMilliseconds(500) });

        Assert.NotNull(attached);
        Assert.Equal(new ContainerExit(137, 9, false, "monitor did not answer within 0.5 s: it was killed with the container's processes"), await attached.WaitAsync());
        Assert.Empty(Members(cgroups));
        Assert.False(Running(pid));
        Assert.False(Running(monitorPid));
        await attached.RemoveAsync();
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
    }

    [Fact]
    public async Task A_Killed_Monitor_Ends_A_Container_That_Changed_Its_User_While_The_Host_Watches()
    {
        var spec = SwitchingUser();
        var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        var pid = container.Pid;
        await WaitUntilSleepingAsNobodyAsync(pid);
        var cgroups = CgroupDirectories(pid);

        await KillMonitorAsync(container.MonitorPid);
        var exit = await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new ContainerExit(137, 9, false, LinuxContainer.MonitorGoneMessage), exit);
        Assert.Empty(Members(cgroups));
        Assert.False(Running(pid));
        await container.RemoveAsync();
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
    }

    [Fact]
    public async Task The_Sweep_Of_A_Restarted_Node_Host_Kills_And_Removes_An_Unowned_Container()
    {
        var (executor, images) = Executor();
        using var _ = images;
        var spec = SwitchingUser("s" + Guid.NewGuid().ToString("N")[..24]);
        var (pid, cgroups) = await LeaveRunningWithoutMonitorAsync(spec);

        await executor.RetainOnlyAsync(new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal), default);

        Assert.False(Running(pid));
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
        Assert.DoesNotContain(spec.Id, LinuxContainer.List(fixture.Options));
    }

    [Fact]
    public async Task A_Task_Reattached_With_Its_Monitor_Gone_Is_Reported_Exited_And_Not_Started_Again()
    {
        var (executor, images) = Executor();
        using var _ = images;
        var spec = SwitchingUser("r" + Guid.NewGuid().ToString("N")[..24]);
        var (pid, cgroups) = await LeaveRunningWithoutMonitorAsync(spec);
        var task = new TaskObject(
            spec.Id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec("busybox:su", Command: ["su", "nobody", "-s", "/bin/sh", "-c", "exec sleep 1000"])), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Running, DateTimeOffset.UtcNow));
        var controller = executor.CreateController(task);

        var inspection = await controller.InspectAsync(default);
        var exit = await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(10));
        await controller.StartAsync(default); // the task actor's start of a reattached task: nothing more may start

        Assert.True(inspection.Exists);
        Assert.Equal(new ProtoSwarm.Actors.Agent.Tasks.ContainerExit(137, false, LinuxContainer.MonitorGoneMessage), exit);
        Assert.False(Running(pid));
        Assert.Empty(Members(cgroups));
        Assert.Equal([spec.Id], LinuxContainer.List(fixture.Options).Where(id => id == spec.Id));
        await controller.RemoveAsync(default);
        Assert.All(cgroups, dir => Assert.False(Directory.Exists(dir), dir));
        Assert.DoesNotContain(spec.Id, LinuxContainer.List(fixture.Options));
    }

    // A fresh node host's executor over the fixture's state root (its image store is empty: a
    // reattached task needs none).
    private (LinuxExecutor Executor, ImageStore Images) Executor()
    {
        var images = new ImageStore(Path.Combine(_dir, "images"));
        var volumes = new VolumeStore(Path.Combine(_dir, "volumes"));
        return (new LinuxExecutor(() => images, () => volumes, fixture.Options, NullLoggerFactory.Instance, files: new TaskFileStore(Path.Combine(_dir, "secrets"))), images);
    }

    // What a node host that died, and a monitor killed after it, leave: the container running unowned.
    private async Task<(int Pid, IReadOnlyList<string> Cgroups)> LeaveRunningWithoutMonitorAsync(ContainerSpecification spec)
    {
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        await WaitUntilSleepingAsNobodyAsync(started.Pid);
        var cgroups = CgroupDirectories(started.Pid);
        started.Detach();
        await KillMonitorAsync(started.MonitorPid);
        await Task.Delay(300);
        Assert.True(Running(started.Pid), "PID 1 died with its monitor: the test no longer shows the case it is about");
        return (started.Pid, cgroups);
    }

    private static async Task WaitUntilSleepingAsNobodyAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(Status(pid) is { } status && status["Name"] == "sleep" && status["Uid"].Split('\t')[0] == Nobody.ToString(CultureInfo.InvariantCulture)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"PID 1 ({pid}) did not become sleep as uid {Nobody}: {string.Join(", ", (IEnumerable<KeyValuePair<string, string>>?)Status(pid) ?? [])}");
            await Task.Delay(20);
        }
        // Every id su changed, not just the effective one.
        Assert.Equal($"{Nobody}\t{Nobody}\t{Nobody}\t{Nobody}", Status(pid)!["Uid"]);
        Assert.Equal($"{Nobody}\t{Nobody}\t{Nobody}\t{Nobody}", Status(pid)!["Gid"]);
    }

    private static async Task KillMonitorAsync(int monitorPid)
    {
        Assert.NotEqual(0, monitorPid);
        using (var monitor = Process.GetProcessById(monitorPid))
        {
            monitor.Kill(); // SIGKILL
        }
        // It is the test process's child: the container object that spawned it reaps it.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists($"/proc/{monitorPid}") && Status(monitorPid)?["State"].StartsWith('Z') != true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"monitor {monitorPid} did not die");
            await Task.Delay(20);
        }
    }

    /// <summary>Running: a process that exists and is not a zombie waiting for its parent.</summary>
    private static bool Running(int pid) => Status(pid) is { } status && !status["State"].StartsWith('Z');

    private static Dictionary<string, string>? Status(int pid)
    {
        try
        {
            return File.ReadAllLines($"/proc/{pid}/status")
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => p[1].Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // The container's cgroup directories, from its PID 1's own view (v1: one per hierarchy; v2: one).
    private static List<string> CgroupDirectories(int pid)
    {
        var dirs = new List<string>();
        foreach (var line in File.ReadAllLines($"/proc/{pid}/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (!parts[2].Contains("/protoswarm/", StringComparison.Ordinal))
            {
                continue;
            }
            var mount = parts[1].Length == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + parts[1].Replace("name=", "", StringComparison.Ordinal);
            dirs.Add(mount + parts[2]);
        }
        Assert.NotEmpty(dirs);
        Assert.All(dirs, dir => Assert.True(Directory.Exists(dir), dir));
        return dirs;
    }

    private static List<int> Members(IEnumerable<string> cgroups) =>
    [
        .. cgroups.Where(Directory.Exists)
            .SelectMany(dir => File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
            .Select(l => int.Parse(l, CultureInfo.InvariantCulture))
            .Distinct(),
    ];
}
