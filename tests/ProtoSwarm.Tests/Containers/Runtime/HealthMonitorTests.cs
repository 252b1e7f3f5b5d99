using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Docker's health check rules as a pure step, then the monitor's timing on a fake clock with scripted
// probe results: no container, no root.
public sealed class HealthMonitorTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static HealthProbe Probe(double atSeconds, int exitCode) => new(T0.AddSeconds(atSeconds), T0.AddSeconds(atSeconds + 0.1), exitCode, "");

    public static TheoryData<string, HealthStatus, int, double, int, HealthStatus, int> Steps => new()
    {
        // name, status before, streak before, probe at (s), exit code, status after, streak after  (start period 60 s, retries 3)
        { "a success makes it healthy", HealthStatus.Starting, 0, 10, 0, HealthStatus.Healthy, 0 },
        { "a success in the start period too", HealthStatus.Starting, 0, 1, 0, HealthStatus.Healthy, 0 },
        { "a failure in the start period does not count", HealthStatus.Starting, 0, 59, 1, HealthStatus.Starting, 0 },
        { "after the start period it counts", HealthStatus.Starting, 0, 60, 1, HealthStatus.Starting, 1 },
        { "retries failures in a row make it unhealthy", HealthStatus.Starting, 2, 90, 1, HealthStatus.Unhealthy, 3 },
        { "a healthy container counts failures in the start period", HealthStatus.Healthy, 0, 30, 1, HealthStatus.Healthy, 1 },
        { "healthy then retries failures", HealthStatus.Healthy, 2, 30, 2, HealthStatus.Unhealthy, 3 },
        { "a timed-out or failed run (-1) is a failure", HealthStatus.Healthy, 0, 90, -1, HealthStatus.Healthy, 1 },
        { "a success ends the streak and unhealthiness", HealthStatus.Unhealthy, 5, 200, 0, HealthStatus.Healthy, 0 },
        { "unhealthy stays so", HealthStatus.Unhealthy, 3, 200, 1, HealthStatus.Unhealthy, 4 },
    };

    [Theory]
    [MemberData(nameof(Steps))]
    public void Health_Step_Follows_Dockers_Rules(string name, HealthStatus before, int streak, double at, int exitCode, HealthStatus after, int streakAfter)
    {
        var check = new HealthCheck { Test = ["CMD", "true"], StartPeriod = TimeSpan.FromSeconds(60), Retries = 3 };

        var next = HealthRules.Next(new HealthState(before, streak, []), Probe(at, exitCode), check, T0);

        Assert.True((after, streakAfter) == (next.Status, next.FailingStreak), $"{name}: {next.Status} {next.FailingStreak}");
        Assert.Single(next.Log);
    }

    [Fact]
    public void Zero_Retries_Means_Dockers_Three_And_The_Log_Keeps_The_Last_Five()
    {
        var check = new HealthCheck { Test = ["CMD", "true"] };
        var state = HealthState.Starting;
        var statuses = new List<HealthStatus>();
        for (var i = 1; i <= 7; i++)
        {
            state = HealthRules.Next(state, Probe(i, 1), check, T0);
            statuses.Add(state.Status);
        }

        Assert.Equal([HealthStatus.Starting, HealthStatus.Starting, HealthStatus.Unhealthy, HealthStatus.Unhealthy, HealthStatus.Unhealthy, HealthStatus.Unhealthy, HealthStatus.Unhealthy], statuses);
        Assert.Equal([3.0, 4, 5, 6, 7], state.Log.Select(p => (p.Start - T0).TotalSeconds));
    }

    [Theory]
    [InlineData(new[] { "CMD" }, "healthcheck CMD needs a command")]
    [InlineData(new[] { "CMD-SHELL", "a", "b" }, "healthcheck CMD-SHELL takes one command line")]
    [InlineData(new[] { "SHELL", "x" }, "healthcheck test \"SHELL\": use NONE, CMD or CMD-SHELL")]
    [InlineData(new[] { "NONE", "x" }, "healthcheck NONE takes no arguments")]
    public void A_Bad_Test_Is_Refused(string[] test, string problem)
    {
        Assert.Equal([problem], HealthCheck.Validate(new HealthCheck { Test = test }));
    }

    [Fact]
    public void Output_Is_Kept_Up_To_4_KiB_And_Timeouts_Read_As_In_Docker()
    {
        Assert.Equal(4096, HealthRules.Output(new ExecResult(1, new string('o', 3000), new string('e', 3000), false)).Length);
        Assert.Equal("oe", HealthRules.Output(new ExecResult(1, "o", "e", false)));
        Assert.Equal(["30s", "500ms", "1m30s", "1.5s"], new[] { 30.0, 0.5, 90, 1.5 }.Select(s => HealthRules.GoDuration(TimeSpan.FromSeconds(s))));
    }

    private sealed record Call(ExecSpecification Spec, TaskCompletionSource<ExecResult> Result, CancellationToken Token)
    {
        public void Exit(int code, string output = "") => Result.SetResult(new ExecResult(code, output, "", false));
    }

    private sealed class ScriptedProbes
    {
        private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();

        public Task<ExecResult> Exec(ExecSpecification spec, CancellationToken token)
        {
            var call = new Call(spec, new TaskCompletionSource<ExecResult>(TaskCreationOptions.RunContinuationsAsynchronously), token);
            _calls.Writer.TryWrite(call);
            return call.Result.Task.WaitAsync(token);
        }

        public async Task<Call> NextAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        public async Task<bool> NoneWithinAsync(TimeSpan wait)
        {
            await Task.Delay(wait);
            return !_calls.Reader.TryPeek(out _);
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 5 s");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Probes_Start_One_Interval_After_The_Start_And_Run_Cmd_Shell_Through_Sh()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        using var monitor = new HealthMonitor(new HealthCheck { Test = ["CMD-SHELL", "test -f /ready"], Interval = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(3) }, probes.Exec, time);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(await probes.NoneWithinAsync(TimeSpan.FromMilliseconds(50)));
        time.Advance(TimeSpan.FromSeconds(1));
        var first = await probes.NextAsync();

        Assert.Equal(["/bin/sh", "-c", "test -f /ready"], first.Spec.Command);
        Assert.Equal(TimeSpan.FromSeconds(3), first.Spec.Timeout);
        Assert.Equal(HealthStatus.Starting, monitor.Status);
        first.Exit(0, "ok");
        Assert.Equal(HealthStatus.Healthy, await monitor.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(new HealthProbe(T0.AddSeconds(10), T0.AddSeconds(10), 0, "ok"), monitor.State.Log.Single());
    }

    [Fact]
    public async Task Failures_In_The_Start_Period_Do_Not_Count_And_Retries_Failures_After_It_Make_It_Unhealthy()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        var check = new HealthCheck { Test = ["CMD", "false"], Interval = TimeSpan.FromSeconds(10), StartPeriod = TimeSpan.FromSeconds(25), Retries = 2 };
        using var monitor = new HealthMonitor(check, probes.Exec, time);
        var unhealthy = monitor.WaitChangeAsync(HealthStatus.Starting);

        // Docker's (Engine 25+): within the start period, while starting, a probe every start interval (5 s by default).
        double[] at = [5, 10, 15, 20, 25, 35];
        for (var i = 0; i < at.Length; i++)
        {
            time.Advance(TimeSpan.FromSeconds(at[i] - (i == 0 ? 0 : at[i - 1])));
            (await probes.NextAsync()).Exit(1);
            var start = T0.AddSeconds(at[i]);
            await UntilAsync(() => monitor.State.Log is [.., var last] && last.Start == start);
            Assert.Equal(i < at.Length - 1 ? HealthStatus.Starting : HealthStatus.Unhealthy, monitor.Status);
        }

        // Probes at 5 to 20 s are in the start period; 25 and 35 s count (the log keeps docker's last five).
        Assert.Equal(HealthStatus.Unhealthy, await unhealthy.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(2, monitor.State.FailingStreak);
        Assert.Equal(at[1..], monitor.State.Log.Select(p => (p.Start - T0).TotalSeconds));
    }

    [Fact]
    public async Task The_Start_Interval_Paces_Probes_Only_Until_The_First_Success_Or_The_End_Of_The_Start_Period()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        var check = new HealthCheck { Test = ["CMD", "ready"], Interval = TimeSpan.FromSeconds(30), StartPeriod = TimeSpan.FromSeconds(60), StartInterval = TimeSpan.FromSeconds(2) };
        using var monitor = new HealthMonitor(check, probes.Exec, time);

        time.Advance(TimeSpan.FromSeconds(2));
        (await probes.NextAsync()).Exit(1);
        await UntilAsync(() => monitor.State.Log.Count == 1);
        time.Advance(TimeSpan.FromSeconds(2));
        (await probes.NextAsync()).Exit(0);
        Assert.Equal(HealthStatus.Healthy, await monitor.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(5)));

        // Healthy: the interval again, though the start period lasts until 60 s.
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(await probes.NoneWithinAsync(TimeSpan.FromMilliseconds(50)));
        time.Advance(TimeSpan.FromSeconds(1));
        (await probes.NextAsync()).Exit(0);
        await UntilAsync(() => monitor.State.Log.Count == 3);
        Assert.Equal([2.0, 4, 34], monitor.State.Log.Select(p => (p.Start - T0).TotalSeconds));
    }

    [Fact]
    public async Task A_Probe_That_Outlives_Its_Timeout_Is_Cancelled_And_Fails()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        using var monitor = new HealthMonitor(new HealthCheck { Test = ["CMD", "sleep", "100"], Interval = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(5), Retries = 1 }, probes.Exec, time);

        time.Advance(TimeSpan.FromSeconds(10));
        var hung = await probes.NextAsync();
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(HealthStatus.Unhealthy, await monitor.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(hung.Token.IsCancellationRequested);
        Assert.Equal(new HealthProbe(T0.AddSeconds(10), T0.AddSeconds(15), -1, "Health check exceeded timeout (5s)"), monitor.State.Log.Single());
        // The next probe is due one interval after this one ended.
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(await probes.NoneWithinAsync(TimeSpan.FromMilliseconds(50)));
        time.Advance(TimeSpan.FromSeconds(1));
        await probes.NextAsync();
    }

    [Fact]
    public async Task A_Probe_That_Cannot_Run_Is_A_Failure_With_The_Reason()
    {
        var time = new FakeTimeProvider(T0);
        using var monitor = new HealthMonitor(new HealthCheck { Test = ["CMD", "true"], Retries = 1 },
            (_, _) => Task.FromException<ExecResult>(new ContainerExecException("container c1 is not running")), time);

        time.Advance(HealthCheck.DefaultInterval);

        Assert.Equal(HealthStatus.Unhealthy, await monitor.WaitChangeAsync(HealthStatus.Starting).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal((-1, "container c1 is not running"), (monitor.State.Log[0].ExitCode, monitor.State.Log[0].Output));
    }

    [Fact]
    public async Task None_Never_Probes()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        using var monitor = new HealthMonitor(new HealthCheck { Test = ["NONE"] }, probes.Exec, time);

        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(HealthStatus.None, monitor.Status);
        Assert.True(await probes.NoneWithinAsync(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task Dispose_Stops_Probing_And_Releases_Waiters()
    {
        var time = new FakeTimeProvider(T0);
        var probes = new ScriptedProbes();
        var monitor = new HealthMonitor(new HealthCheck { Test = ["CMD", "true"] }, probes.Exec, time);
        var waiter = monitor.WaitChangeAsync(HealthStatus.Starting);

        monitor.Dispose();
        time.Advance(TimeSpan.FromHours(1));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter);
        await monitor.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(await probes.NoneWithinAsync(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task A_Disposed_Monitor_Refuses_Every_Later_Question_Even_One_Its_Last_Status_Would_Answer()
    {
        var monitor = new HealthMonitor(new HealthCheck { Test = ["CMD", "true"] }, new ScriptedProbes().Exec, new FakeTimeProvider(T0));

        monitor.Dispose();

        // Starting is its last status: a caller that knew Healthy used to get Starting back at once, forever.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => monitor.WaitChangeAsync(HealthStatus.Healthy));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => monitor.WaitChangeAsync(HealthStatus.Starting));
    }
}
