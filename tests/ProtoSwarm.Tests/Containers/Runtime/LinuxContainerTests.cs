using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Real containers, as root: busybox in its own namespaces, confined like a docker default container.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class LinuxContainerTests(ContainerFixture fixture)
{
    [Fact]
    public async Task Entrypoint_Is_Pid_1_And_Sees_Only_Its_Own_Processes()
    {
        var (exit, output, error) = await fixture.RunAsync(fixture.Spec("sh", "-c", "echo $$; ps -o pid,comm; true"));

        Assert.Equal(0, exit.ExitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
        Assert.Equal("1", lines[0]);
        // The header, the shell as PID 1, and ps: nothing of the host.
        Assert.Equal(3, lines.Count - 1);
        Assert.Equal("1 sh", lines[2]);
        Assert.EndsWith(" ps", lines[3], StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task Hostname_And_Etc_Files_Are_The_Given_Ones()
    {
        var spec = fixture.Spec("sh", "-c", "hostname; cat /etc/hostname; grep web1 /etc/hosts; grep db /etc/hosts; cat /etc/resolv.conf") with
        {
            Hostname = "web1",
            ExtraHosts = ["db:10.0.0.5"],
            ResolvConf = "nameserver 10.0.0.53\n",
        };

        var (exit, output, _) = await fixture.RunAsync(spec);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["web1", "web1", "127.0.1.1\tweb1", "10.0.0.5\tdb", "nameserver 10.0.0.53"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Exit_Codes_Come_Through()
    {
        var (exit, _, _) = await fixture.RunAsync(fixture.Spec("sh", "-c", "exit 42"));

        Assert.Equal(new ContainerExit(42, null, false), exit);
    }

    [Fact]
    public async Task Default_Container_Has_Dockers_Capabilities_And_No_New_Privileges()
    {
        var (_, output, _) = await fixture.RunAsync(fixture.Spec("sh", "-c", "grep -E '^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"));

        Assert.Contains("CapEff:\t00000000a80425fb", output, StringComparison.Ordinal);
        Assert.Contains("CapBnd:\t00000000a80425fb", output, StringComparison.Ordinal);
        Assert.Contains("CapInh:\t0000000000000000", output, StringComparison.Ordinal);
        Assert.Contains("CapAmb:\t0000000000000000", output, StringComparison.Ordinal);
        Assert.Contains("NoNewPrivs:\t1", output, StringComparison.Ordinal);
        Assert.Contains("Seccomp:\t2", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mount -t tmpfs none /mnt")]
    [InlineData("umount /proc")]
    [InlineData("reboot -f")]
    [InlineData("unshare -n true")]
    [InlineData("hostname other")]
    [InlineData("echo other > /proc/sys/kernel/hostname")]

    // MKNOD is among docker's capabilities: the devices cgroup is what keeps a container off the host's disks.
    [InlineData("mknod /tmp/disk b 7 0 && head -c 1 /tmp/disk > /dev/null")]
    public async Task Confinement_Probe_Is_Denied_In_A_Default_Container(string probe)
    {
        var (exit, output, _) = await fixture.RunAsync(fixture.Spec("sh", "-c", probe + " && echo ALLOWED; hostname"));

        Assert.DoesNotContain("ALLOWED", output, StringComparison.Ordinal);
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact]
    public async Task Mount_Is_Allowed_When_Sys_Admin_Is_Added()
    {
        var spec = fixture.Spec("sh", "-c", "mount -t tmpfs none /mnt && echo ALLOWED") with { CapAdd = ["SYS_ADMIN"] };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.True(output.Contains("ALLOWED", StringComparison.Ordinal), error);
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact]
    public async Task User_Is_Resolved_From_The_Images_Passwd_With_Its_Groups_And_No_Capabilities()
    {
        var spec = fixture.Spec("sh", "-c", "id; pwd; echo $HOME; grep CapEff /proc/self/status") with { User = "app", WorkingDir = "/home/app" };

        var (_, output, _) = await fixture.RunAsync(spec);

        Assert.Equal(["uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)", "/home/app", "/home/app", "CapEff:\t0000000000000000"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_Containers_Directory_Is_Roots_Alone_And_A_Users_Container_Still_Runs()
    {
        // config.json holds the environment (passwords, often): it was readable by every local user.
        var spec = fixture.Spec("sh", "-c", "id -u; cat /etc/passwd > /dev/null && echo ok") with { User = "app", Env = ["PATH=/bin:/usr/bin", "DB_PASSWORD=hunter2"] };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);

        var mode = File.GetUnixFileMode(Path.Combine(fixture.Options.StateRoot, spec.Id));
        var exit = await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, mode);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("1000\nok\n", ContainerFixture.Printed(container.ReadLogs(), ContainerLogStream.Stdout));
    }

    [Fact]
    public async Task A_Command_Not_In_The_Image_Fails_To_Start_With_A_Clear_Message()
    {
        var spec = fixture.Spec("foo", "bar");

        var e = await Assert.ThrowsAsync<ContainerStartException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

        Assert.Equal("exec: \"foo\": executable file not found in $PATH", e.Message);
        Assert.False(Directory.Exists(Path.Combine(fixture.Options.StateRoot, spec.Id)));
    }

    [Fact]
    public async Task A_Failed_Init_Step_Is_Named()
    {
        var spec = fixture.Spec("true") with { User = "nobody" };

        var e = await Assert.ThrowsAsync<ContainerStartException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

        Assert.Equal("container init: unable to find user nobody: no matching entries in passwd file", e.Message);
    }

    [Theory]
    [InlineData("4294967295")]
    [InlineData("0:4294967295")]
    [InlineData("2147483648")]
    public async Task An_Id_Beyond_Ints_Range_Is_Refused_Not_Run_As_Root(string user)
    {
        // setresuid(-1, ...) leaves the ids unchanged: 4294967295 ran the command as root.
        var spec = fixture.Spec("true") with { User = user };

        var e = await Assert.ThrowsAsync<ContainerStartException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

        Assert.Equal("container init: uids and gids must be in range 0-2147483647", e.Message);
    }

    [Fact]
    public async Task Memory_Limit_Ends_In_An_Oom_Kill_That_Is_Reported()
    {
        var spec = fixture.Spec("sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived") with
        {
            Resources = new ContainerResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };

        var (exit, output, _) = await fixture.RunAsync(spec);

        Assert.DoesNotContain("survived", output, StringComparison.Ordinal);
        Assert.True(exit.OomKilled, $"{exit}");
        Assert.Equal(137, exit.ExitCode);
    }

    [Fact]
    public async Task An_Oom_Kill_Under_Init_Is_Reported_Too()
    {
        // The init is not killed: it exits 137 for its child, which the OOM killer ended.
        var spec = fixture.Spec("sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived") with
        {
            Init = true,
            Resources = new ContainerResources { MemoryLimitBytes = 32 * 1024 * 1024 },
        };

        var (exit, output, _) = await fixture.RunAsync(spec);

        Assert.DoesNotContain("survived", output, StringComparison.Ordinal);
        Assert.Equal(137, exit.ExitCode);
        Assert.True(exit.OomKilled, $"{exit}");
    }

    [Fact]
    public async Task Pids_Limit_Stops_A_Fork_Bomb()
    {
        // busybox sh gives up at the first fork that fails; each line is a sleep that did start.
        var spec = fixture.Spec("sh", "-c", "for i in $(seq 1 50); do sleep 30 & echo $i; done") with
        {
            Resources = new ContainerResources { PidsLimit = 10 },
        };

        var (exit, output, error) = await fixture.RunAsync(spec);

        var started = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.InRange(started, 1, 9); // the shell is the tenth pid
        Assert.Contains("can't fork", error, StringComparison.Ordinal);
        Assert.NotEqual(0, exit.ExitCode);
    }

    [Fact]
    public async Task Stop_Kills_After_The_Grace_Period_When_Sigterm_Is_Ignored()
    {
        var spec = fixture.Spec("sh", "-c", "trap '' TERM; echo ready; sleep 100");
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await ContainerFixture.WaitForOutputAsync(container, "ready");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var killing = 0;
        var exit = await container.StopAsync(15, TimeSpan.FromMilliseconds(500), () => killing++);

        Assert.Equal(new ContainerExit(137, 9, false), exit);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
        Assert.Equal(1, killing); // docker's second kill event (signal 9) is told from here
    }

    [Fact]
    public async Task Stop_Ends_A_Container_That_Handles_Sigterm_Within_The_Grace_Period()
    {
        var spec = fixture.Spec("sh", "-c", "trap 'exit 3' TERM; echo ready; while true; do sleep 0.05; done");
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await ContainerFixture.WaitForOutputAsync(container, "ready");

        var killing = 0;
        var exit = await container.StopAsync(15, TimeSpan.FromSeconds(10), () => killing++);

        Assert.Equal(new ContainerExit(3, null, false), exit);
        Assert.Equal(0, killing);
    }

    [Fact]
    public async Task Remove_Leaves_No_Cgroup_And_No_State()
    {
        var spec = fixture.Spec("sleep", "100");
        var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        var cgroup = File.ReadAllLines($"/proc/{container.Pid}/cgroup").Single(l => l.Contains(":memory:", StringComparison.Ordinal)).Split(':', 3)[2];

        await container.RemoveAsync();

        Assert.EndsWith("/protoswarm/" + spec.Id, cgroup, StringComparison.Ordinal);
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + cgroup));
        Assert.False(Directory.Exists(Path.Combine(fixture.Options.StateRoot, spec.Id)));
        Assert.Equal(137, (await container.WaitAsync()).ExitCode);
    }
}
