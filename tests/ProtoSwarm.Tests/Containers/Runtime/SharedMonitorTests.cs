using System.Diagnostics;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The node host's shared monitor (`protoswarm-init --host`), as root with real containers: the containers a
// process starts share one monitor and still end, log and fail each on its own; one monitor per container
// is still there for the asking; a shared monitor that dies takes its containers with it, reported as a
// monitor of their own would be, and the next start gets a new one.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class SharedMonitorTests(ContainerFixture fixture)
{
    [Fact]
    public async Task The_Containers_Of_A_Node_Host_Share_One_Monitor_And_End_Each_On_Its_Own()
    {
        Assert.True(fixture.Options.SharedMonitor, "shared is the default");
        await using var sleeper = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);
        await using var talker = await LinuxContainer.StartAsync(fixture.Spec("sh", "-c", "echo hello; exit 3"), fixture.Options);

        Assert.Equal(sleeper.MonitorPid, talker.MonitorPid);
        Assert.Equal(["protoswarm-init", "--host"], CommandLine(sleeper.MonitorPid));
        Assert.Equal(3, (await talker.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
        Assert.Equal(["hello"], talker.ReadLogs().Select(e => e.Text));
        Assert.True(Running(sleeper.Pid));
        // The monitor runs at a higher weight; what it starts gets the normal one back (SCHED_RESET_ON_FORK).
        Assert.Equal((-10, 0), (Nice(sleeper.MonitorPid), Nice(sleeper.Pid)));
        // The OOM killer spares the monitor (its death would end every container), not the containers.
        Assert.Equal((SparedMonitorScore, "0"), (OomScoreAdjust(sleeper.MonitorPid), OomScoreAdjust(sleeper.Pid)));
        // What the monitor holds for the other containers is close-on-exec: PID 1 has only its stdio.
        Assert.Equal(["0", "1", "2"], Directory.GetFiles($"/proc/{sleeper.Pid}/fd").Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var stopped = await sleeper.StopAsync(15, TimeSpan.FromMilliseconds(200));

        Assert.Equal(137, stopped.ExitCode); // sleep as PID 1 ignores SIGTERM: killed after the grace period
        Assert.True(Running(sleeper.MonitorPid), "the shared monitor serves the node host on, with no container");
    }

    [Fact]
    public async Task Per_Container_Mode_Gives_Each_Container_A_Monitor_Of_Its_Own()
    {
        var options = fixture.Options with { SharedMonitor = false };
        await using var first = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), options);
        await using var second = await LinuxContainer.StartAsync(fixture.Spec("sh", "-c", "echo own; exit 4"), options);

        Assert.NotEqual(first.MonitorPid, second.MonitorPid);
        Assert.Equal(2, CommandLine(first.MonitorPid).Length); // protoswarm-init CONFIG
        Assert.Equal((SparedMonitorScore, "0"), (OomScoreAdjust(first.MonitorPid), OomScoreAdjust(first.Pid)));
        Assert.EndsWith("config.json", CommandLine(first.MonitorPid)[1], StringComparison.Ordinal);
        Assert.Equal(4, (await second.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
        Assert.Equal(["own"], second.ReadLogs().Select(e => e.Text));
        await WaitUntilAsync(() => !Running(second.MonitorPid), "a monitor of its own ends with its container");
        Assert.True(Running(first.Pid));
    }

    [Fact]
    public async Task A_Start_That_Fails_Leaves_The_Other_Containers_Of_The_Shared_Monitor_Running()
    {
        await using var sleeper = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);

        var e = await Assert.ThrowsAsync<ContainerStartException>(() =>
            LinuxContainer.StartAsync(fixture.Spec("/no/such/program"), fixture.Options));

        Assert.StartsWith("exec: ", e.Message, StringComparison.Ordinal);
        Assert.True(Running(sleeper.Pid));
        await sleeper.KillAsync(9);
        Assert.Equal(137, (await sleeper.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
    }

    [Fact]
    public async Task A_Killed_Shared_Monitor_Ends_All_Its_Containers_As_Monitor_Gone_And_The_Next_Start_Gets_A_New_One()
    {
        var first = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);
        var second = await LinuxContainer.StartAsync(fixture.Spec("sleep", "1000"), fixture.Options);
        var monitor = first.MonitorPid;
        Assert.Equal(monitor, second.MonitorPid);

        using (var process = Process.GetProcessById(monitor))
        {
            process.Kill(); // SIGKILL
        }

        foreach (var container in new[] { first, second })
        {
            Assert.Equal(new ContainerExit(137, 9, false, LinuxContainer.MonitorGoneMessage), await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.False(Running(container.Pid));
            await container.RemoveAsync();
        }
        await using var next = await LinuxContainer.StartAsync(fixture.Spec("sh", "-c", "echo again"), fixture.Options);
        Assert.NotEqual(monitor, next.MonitorPid);
        Assert.Equal(0, (await next.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
        Assert.Equal(["again"], next.ReadLogs().Select(e => e.Text));
    }

    // /proc/PID/stat's 19th field, after the command in parentheses.
    private static int Nice(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string OomScoreAdjust(int pid) => File.ReadAllText($"/proc/{pid}/oom_score_adj").Trim();

    // Lowering an OOM score takes CAP_SYS_RESOURCE (capability 24), which some root sandboxes withhold (this project's
    // test machines do): there the monitor's attempt fails and it keeps the score of the process that started it.
    private static string SparedMonitorScore =>
        (Convert.ToUInt64(File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal))[7..].Trim(), 16) & (1UL << 24)) != 0
            ? "-998"
            : OomScoreAdjust(Environment.ProcessId);

    private static string[] CommandLine(int pid) =>
        File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);

    private static bool Running(int pid)
    {
        try
        {
            var state = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("State:", StringComparison.Ordinal));
            return !state.Contains("zombie", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(20);
        }
    }
}
