using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Docker's --init and --sysctl on real busybox containers, as root.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class InitAndSysctlTests(ContainerFixture fixture)
{
    private static ExecSpecification Exec(params string[] command) => new() { Command = command, Timeout = TimeSpan.FromSeconds(20) };

    [Fact]
    public async Task With_Init_Pid_1_Is_The_Init_And_The_Entrypoint_Is_Not()
    {
        var spec = fixture.Spec("sh", "-c", "echo $$; ps -o pid,comm; true") with { Init = true };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
        Assert.NotEqual("1", lines[0]);
        Assert.Equal("1 protoswarm-init", lines[2]);
        Assert.Equal($"{lines[0]} sh", lines[3]);
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 1)]
    public async Task An_Orphan_That_Ends_Is_Reaped_By_The_Init_And_Left_A_Zombie_Without_One(bool init, int zombies)
    {
        // The subshell's sleep is orphaned, so PID 1 inherits it; `sleep` as PID 1 never waits for it.
        var spec = fixture.Spec("sh", "-c", "(sleep 0.1 &); exec sleep 30") with { Init = init };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await Task.Delay(1000);

        var states = await container.ExecAsync(Exec("sh", "-c", "grep -h '^State' /proc/[0-9]*/status"));

        Assert.Equal(0, states.ExitCode);
        Assert.Equal(zombies, states.Stdout.Split('\n').Count(l => l.Contains("zombie", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Sigterm_Reaches_The_Entrypoint_Through_The_Init_And_Its_Exit_Code_Comes_Back()
    {
        var spec = fixture.Spec("sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; while true; do sleep 0.05; done") with { Init = true };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await ContainerFixture.WaitForOutputAsync(container, "ready");

        var exit = await container.StopAsync(15, TimeSpan.FromSeconds(10));

        Assert.Equal(new ContainerExit(3, null, false), exit);
        Assert.Contains(container.ReadLogs(), e => e.Text == "got TERM");
    }

    [Theory]
    [InlineData(true, 143)]
    [InlineData(false, 137)]
    public async Task An_Entrypoint_Without_A_Handler_Dies_Of_Sigterm_Only_Behind_An_Init(bool init, int code)
    {
        // PID 1 ignores a signal it has no handler for: without an init, only the grace period's SIGKILL ends `sleep`.
        var spec = fixture.Spec("sleep", "100") with { Init = init };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await Task.Delay(200);

        var watch = Stopwatch.StartNew();
        var exit = await container.StopAsync(15, TimeSpan.FromSeconds(1));

        Assert.Equal(code, exit.ExitCode);
        if (init)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(900), $"stopped after {watch.Elapsed}");
        }
    }

    [Fact]
    public async Task Exit_Codes_Pass_Through_The_Init()
    {
        var (exit, _, _) = await fixture.RunAsync(fixture.Spec("sh", "-c", "exit 42") with { Init = true });
        var (killed, _, _) = await fixture.RunAsync(fixture.Spec("sh", "-c", "kill -USR1 $$") with { Init = true });

        Assert.Equal(new ContainerExit(42, null, false), exit);
        Assert.Equal(128 + 10, killed.ExitCode);
    }

    [Fact]
    public async Task The_Init_Is_Confined_As_The_Entrypoint_And_Blocks_The_Signals_It_Forwards_In_Every_Thread()
    {
        var spec = fixture.Spec("sleep", "100") with { Init = true, User = "app" };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        var child = await ChildOfAsync(container.Pid);

        string[] fields = ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"];
        var init = Status(container.Pid, fields);
        var entrypoint = Status(child, fields);

        Assert.Equal(entrypoint, init);
        Assert.Contains("CapEff:\t0000000000000000", init);
        Assert.Contains("NoNewPrivs:\t1", init);
        foreach (var task in Directory.GetDirectories($"/proc/{container.Pid}/task"))
        {
            var blocked = ulong.Parse(File.ReadAllLines(Path.Combine(task, "status")).Single(l => l.StartsWith("SigBlk:", StringComparison.Ordinal))[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            Assert.True((blocked & (1UL << (15 - 1))) != 0 && (blocked & (1UL << (2 - 1))) != 0, $"thread {Path.GetFileName(task)} of the init does not block TERM and INT: {blocked:x}");
        }
        Assert.Equal("0000000000000000", File.ReadAllLines($"/proc/{child}/status").Single(l => l.StartsWith("SigBlk:", StringComparison.Ordinal))[7..].Trim());
    }

    [Fact]
    public async Task The_Inits_Command_Line_Names_No_Path_Of_The_Host()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000") with { Init = true }, fixture.Options);

        var cmdline = await container.ExecAsync(Exec("cat", "/proc/1/cmdline"));

        // It named the container's config by its path on the host (the node's state directory) before.
        Assert.Equal("protoswarm-init\0--stage2\0config.json\0", cmdline.Stdout);
        Assert.DoesNotContain(fixture.Options.StateRoot, cmdline.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_Joins_A_Container_Whose_Pid_1_Is_The_Init()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000") with { Init = true, Hostname = "web1" }, fixture.Options);

        var hostname = await container.ExecAsync(Exec("hostname"));
        var pid1 = await container.ExecAsync(Exec("cat", "/proc/1/comm"));

        Assert.Equal(new ExecResult(0, "web1\n", "", false), hostname);
        Assert.Equal("protoswarm-init\n", pid1.Stdout);
    }

    [Fact]
    public async Task Sysctls_Are_Set_In_The_Containers_Own_Namespaces_Only()
    {
        const string Port = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
        const string Rmid = "/proc/sys/kernel/shm_rmid_forced";
        var hostPort = File.ReadAllText(Port);
        var hostRmid = File.ReadAllText(Rmid);
        var spec = fixture.Spec("sh", "-c", $"cat {Port} {Rmid} /proc/sys/kernel/shmmax /proc/sys/net/core/somaxconn") with
        {
            Sysctls = new Dictionary<string, string>
            {
                ["net.ipv4.ip_unprivileged_port_start"] = "0",
                ["kernel.shm_rmid_forced"] = hostRmid.Trim() == "1" ? "0" : "1",
                ["kernel.shmmax"] = "1073741824",
                ["net.core.somaxconn"] = "1000",
            },
        };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.Equal("", error);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["0", hostRmid.Trim() == "1" ? "0" : "1", "1073741824", "1000"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(hostPort, File.ReadAllText(Port));
        Assert.Equal(hostRmid, File.ReadAllText(Rmid));
    }

    [Fact]
    public async Task A_Sysctl_That_Cannot_Be_Written_Fails_The_Start_Naming_The_Key_And_The_Errno()
    {
        var spec = fixture.Spec("true") with { Sysctls = new Dictionary<string, string> { ["net.ipv4.no_such_setting"] = "1" } };

        var e = await Assert.ThrowsAsync<ContainerStartException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

        Assert.Equal("container init: sysctl net.ipv4.no_such_setting=1: write /proc/sys/net/ipv4/no_such_setting: No such file or directory (errno 2)", e.Message);
    }

    private static async Task<int> ChildOfAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (children.Length == 1)
            {
                return int.Parse(children[0], CultureInfo.InvariantCulture);
            }

            Assert.True(DateTime.UtcNow < deadline, $"init {pid} has children [{string.Join(' ', children)}]");
            await Task.Delay(10);
        }
    }

    private static List<string> Status(int pid, string[] fields) =>
        [.. File.ReadAllLines($"/proc/{pid}/status").Where(l => fields.Contains(l.Split(':')[0]))];
}
