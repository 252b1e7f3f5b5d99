using System.Diagnostics;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// docker exec against real containers, as root: the exec'd process must be in the container's
// namespaces and cgroups and confined exactly as its entrypoint.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class LinuxContainerExecTests(ContainerFixture fixture)
{
    private static ExecSpecification Exec(params string[] command) => new() { Command = command, Timeout = TimeSpan.FromSeconds(20) };

    [Fact]
    public async Task Exec_Works_In_A_Container_Reattached_By_A_Fresh_Host_Object()
    {
        // After a node host restart health probes and `protoswarm exec` run through the reattached container.
        var spec = fixture.Spec("sleep", "1000") with { Hostname = "again" };
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        started.Detach();
        await using var attached = await LinuxContainer.AttachAsync(spec.Id, fixture.Options);
        Assert.NotNull(attached);

        var result = await attached.ExecAsync(Exec("hostname"));

        Assert.Equal(new ExecResult(0, "again\n", "", false), result);
    }

    [Fact]
    public async Task Exec_Hostname_Prints_The_Containers_Hostname()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000") with { Hostname = "web1" }, fixture.Options);

        var result = await container.ExecAsync(Exec("hostname"));

        Assert.Equal(new ExecResult(0, "web1\n", "", false), result);
    }

    [Fact]
    public async Task Exec_Sees_The_Containers_Pid_1_Through_Its_Own_Proc()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var result = await container.ExecAsync(Exec("cat", "/proc/1/cmdline"));

        Assert.Equal("sleep\01000\0", result.Stdout);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Exec_Works_For_A_Container_Known_Only_By_Id_And_Pid()
    {
        var spec = fixture.Spec("sleep", "1000") with { Hostname = "other" };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);

        var result = await LinuxContainer.ExecAsync(spec.Id, container.Pid, fixture.Options, Exec("sh", "-c", "hostname; echo $$"));

        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("other", lines[0]);
        Assert.NotEqual("1", lines[1]);
    }

    [Fact]
    public async Task Exec_Gets_The_Containers_Env_Plus_Its_Own_And_Its_Working_Directory()
    {
        var spec = fixture.Spec("sleep", "1000") with { Env = ["FOO=container", "BAR=container"], WorkingDir = "/home/app" };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);

        var inherited = await container.ExecAsync(Exec("sh", "-c", "echo $FOO $BAR; pwd"));
        var overridden = await container.ExecAsync(Exec("sh", "-c", "echo $FOO $BAR; pwd") with { Env = ["BAR=exec"], WorkingDir = "/tmp" });

        Assert.Equal("container container\n/home/app\n", inherited.Stdout);
        Assert.Equal("container exec\n/tmp\n", overridden.Stdout);
    }

    [Fact]
    public async Task Exec_Runs_As_The_Containers_User_Unless_Told_Otherwise()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000") with { User = "app" }, fixture.Options);

        var asContainer = await container.ExecAsync(Exec("sh", "-c", "id; grep CapEff /proc/self/status"));
        var asRoot = await container.ExecAsync(Exec("id", "-u") with { User = "0" });

        Assert.Equal("uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\nCapEff:\t0000000000000000\n", asContainer.Stdout);
        Assert.Equal("0\n", asRoot.Stdout);
    }

    [Fact]
    public async Task Exec_Is_Confined_Like_The_Container()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var mount = await container.ExecAsync(Exec("mount", "-t", "tmpfs", "x", "/mnt"));
        var status = await container.ExecAsync(Exec("grep", "-E", "^(CapEff|CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status"));
        var cgroup = await container.ExecAsync(Exec("cat", "/proc/self/cgroup"));
        // Neither the entrypoint nor the exec gets a descriptor of init's or one the node host inherited.
        var fds = await container.ExecAsync(Exec("sh", "-c", "ls /proc/1/fd; ls /proc/$$/fd; true"));

        Assert.NotEqual(0, mount.ExitCode);
        Assert.Equal("CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n", status.Stdout);
        // In the container's cgroup namespace, its own cgroup is the root.
        Assert.Contains(":memory:/\n", cgroup.Stdout, StringComparison.Ordinal);
        Assert.Equal("0\n1\n2\n0\n1\n2\n", fds.Stdout);
    }

    [Fact]
    public async Task A_Missing_Command_Exits_127_With_Dockers_Message()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var result = await container.ExecAsync(Exec("foo", "bar"));

        Assert.Equal(127, result.ExitCode);
        Assert.Equal("exec: \"foo\": executable file not found in $PATH\n", result.Stderr);
    }

    [Fact]
    public async Task A_Timeout_Kills_The_Exec_And_What_It_Started()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var watch = Stopwatch.StartNew();
        var result = await container.ExecAsync(Exec("sh", "-c", "sleep 100 & echo started; sleep 100") with { Timeout = TimeSpan.FromMilliseconds(500) });
        var elapsed = watch.Elapsed;
        var left = await container.ExecAsync(Exec("ps", "-o", "args"));

        Assert.True(result.TimedOut);
        Assert.Equal(137, result.ExitCode);
        Assert.Equal("started\n", result.Stdout);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("sleep 100\n", left.Stdout, StringComparison.Ordinal);
        Assert.Contains("sleep 1000\n", left.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_Into_A_Stopped_Container_Is_Refused()
    {
        var spec = fixture.Spec("sleep", "1000");
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await container.StopAsync(9);

        var direct = await Assert.ThrowsAsync<ContainerExecException>(() => container.ExecAsync(Exec("true")));
        // Through init: the state is still there, the pid is not the container's any more.
        var byPid = await Assert.ThrowsAsync<ContainerExecException>(() => LinuxContainer.ExecAsync(spec.Id, container.Pid, fixture.Options, Exec("true")));

        Assert.Equal($"container {spec.Id} is not running", direct.Message);
        Assert.Equal($"container {spec.Id} is not running", byPid.Message);
    }

    [Fact]
    public async Task Output_Is_Cut_At_The_Limit()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var result = await container.ExecAsync(Exec("sh", "-c", "yes | head -c 100000; yes e | head -c 100000 >&2") with { OutputLimit = 1000 });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(1000, result.Stdout.Length);
        Assert.Equal(1000, result.Stderr.Length);
    }

    [Fact]
    public async Task Health_Check_Becomes_Healthy_Once_The_Container_Is_Ready()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sh", "-c", "sleep 1; touch /tmp/ready; sleep 1000"), fixture.Options);
        var check = new HealthCheck { Test = ["CMD-SHELL", "test -f /tmp/ready"], Interval = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromSeconds(5), Retries = 30 };
        using var health = new HealthMonitor(check, container.ExecAsync);

        var status = await health.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(HealthStatus.Healthy, status);
        Assert.Equal(0, health.State.Log[^1].ExitCode);
        Assert.All(health.State.Log.SkipLast(1), p => Assert.Equal(1, p.ExitCode));
    }

    [Fact]
    public async Task Health_Check_Becomes_Unhealthy_After_Retries_Failures()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);
        var check = new HealthCheck { Test = ["CMD", "false"], Interval = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromSeconds(5), Retries = 3 };
        using var health = new HealthMonitor(check, container.ExecAsync);

        var status = await health.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(HealthStatus.Unhealthy, status);
        Assert.Equal(3, health.State.FailingStreak);
        Assert.Equal([1, 1, 1], health.State.Log.Select(p => p.ExitCode));
    }
}
