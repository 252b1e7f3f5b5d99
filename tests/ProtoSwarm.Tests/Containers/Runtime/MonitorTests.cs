using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Containers.Runtime;
using Xunit.Abstractions;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The monitor with real containers, as root: the log it writes, and a node host that lets go and
// comes back.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed partial class MonitorTests(ContainerFixture fixture, ITestOutputHelper output)
{
    [GeneratedRegex(@"^(\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$")]
    private static partial Regex RecordPattern();

    private string StateDir(string id) => Path.Combine(fixture.Options.StateRoot, id);

    [Fact]
    public async Task Log_Has_A_Sequence_A_Timestamp_And_The_Stream_Of_Each_Line()
    {
        var before = DateTimeOffset.UtcNow;
        await using var container = await LinuxContainer.StartAsync(
            fixture.Spec("sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three"), fixture.Options);
        await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var after = DateTimeOffset.UtcNow;

        var raw = File.ReadAllLines(Path.Combine(StateDir(container.Id), "container.log"));
        var entries = container.ReadLogs();

        Assert.Equal(3, raw.Length);
        Assert.All(raw, line => Assert.Matches(RecordPattern(), line));
        Assert.Equal(["1 stdout F one", "2 stderr F two", "3 stdout F three"],
            raw.Select(l => RecordPattern().Match(l)).Select(m => $"{m.Groups[1]} {m.Groups[3]} {m.Groups[4]} {m.Groups[5]}"));
        Assert.Equal([(1L, ContainerLogStream.Stdout, "one"), (2L, ContainerLogStream.Stderr, "two"), (3L, ContainerLogStream.Stdout, "three")],
            entries.Select(e => (e.Sequence, e.Stream, e.Text)));
        Assert.All(entries, e => Assert.InRange(e.Timestamp, before.AddSeconds(-1), after.AddSeconds(1)));
        Assert.True(entries[1].Timestamp - entries[0].Timestamp >= TimeSpan.FromMilliseconds(90), $"{entries[0].Timestamp:O} {entries[1].Timestamp:O}");
    }

    [Fact]
    public async Task A_40_KiB_Line_Is_Written_In_Pieces_And_Read_Back_As_One_Line()
    {
        await using var container = await LinuxContainer.StartAsync(
            fixture.Spec("sh", "-c", "head -c 40960 /dev/zero | tr '\\0' a; echo; echo next"), fixture.Options);
        await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        var kinds = File.ReadAllLines(Path.Combine(StateDir(container.Id), "container.log")).Select(l => RecordPattern().Match(l).Groups[4].Value);
        var entries = container.ReadLogs();

        Assert.Equal(["P", "P", "F", "F"], kinds);
        Assert.Equal(2, entries.Count);
        Assert.Equal((3L, new string('a', 40960)), (entries[0].Sequence, entries[0].Text));
        Assert.Equal((4L, "next"), (entries[1].Sequence, entries[1].Text));
    }

    [Fact]
    public async Task Rotation_Keeps_Max_Files_And_Sequences_Keep_Counting()
    {
        var spec = fixture.Spec("seq", "1", "2000") with { Log = new ContainerLogOptions { MaxBytes = 8192, MaxFiles = 3 } };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        var dir = StateDir(container.Id);
        var entries = container.ReadLogs();

        Assert.True(File.Exists(Path.Combine(dir, "container.log.2")));
        Assert.False(File.Exists(Path.Combine(dir, "container.log.3")));
        Assert.All(Directory.GetFiles(dir, "container.log*"), f => Assert.InRange(new FileInfo(f).Length, 1, 8192));
        // seq prints its line number: the sequence counted every line, the oldest were dropped.
        Assert.All(entries, e => Assert.Equal(e.Sequence.ToString(CultureInfo.InvariantCulture), e.Text));
        Assert.Equal(Enumerable.Range((int)entries[0].Sequence, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.InRange(entries[0].Sequence, 2, 2000);
        Assert.Equal(2000, entries[^1].Sequence);
    }

    [Fact]
    public async Task Output_Written_Just_Before_Exit_Is_All_In_The_Log()
    {
        var spec = fixture.Spec("sh", "-c", "seq 1 30000; echo err >&2; printf 'no newline at the end'; exit 5") with
        {
            Log = new ContainerLogOptions { MaxBytes = 100 * 1024 * 1024 },
        };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        var exit = await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        var entries = container.ReadLogs();

        Assert.Equal(5, exit.ExitCode);
        Assert.Equal(30002, entries.Count);
        Assert.Equal("30000", entries.Last(e => e.Stream == ContainerLogStream.Stdout && e.Text != "no newline at the end").Text);
        Assert.Equal("no newline at the end", entries[^1].Text);
        Assert.Equal("err", entries.Single(e => e.Stream == ContainerLogStream.Stderr).Text);
    }

    [Fact]
    public async Task Follow_Yields_Lines_As_They_Come_And_Ends_With_The_Container()
    {
        await using var container = await LinuxContainer.StartAsync(
            fixture.Spec("sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"), fixture.Options);

        var texts = new List<string>();
        await foreach (var entry in container.FollowLogsAsync(interval: TimeSpan.FromMilliseconds(20)))
        {
            texts.Add(entry.Text);
        }

        Assert.Equal(["1", "2", "3"], texts);
        Assert.True(container.WaitAsync().IsCompleted);
    }

    [Fact]
    public async Task A_Fresh_Host_Object_Attaches_To_A_Running_Container_And_Stops_It()
    {
        var spec = fixture.Spec("sh", "-c", "trap 'echo bye; exit 3' TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done");
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        await ContainerFixture.WaitForOutputAsync(started, "tick 1");
        var cgroup = File.ReadAllLines($"/proc/{started.Pid}/cgroup").Single(l => l.Contains(":memory:", StringComparison.Ordinal)).Split(':', 3)[2];
        var monitorPid = started.MonitorPid;

        started.Detach();
        var seenAtDetach = started.ReadLogs()[^1].Sequence;
        await Task.Delay(300);
        var attached = await LinuxContainer.AttachAsync(spec.Id, fixture.Options);

        Assert.NotNull(attached);
        Assert.Equal(started.Pid, attached.Pid);
        Assert.Equal(monitorPid, attached.MonitorPid);
        Assert.False(attached.WaitAsync().IsCompleted);
        Assert.True(attached.ReadLogs(after: seenAtDetach).Count >= 2, "the monitor kept logging while no host was attached");
        Assert.Contains(spec.Id, LinuxContainer.List(fixture.Options));

        var exit = await attached.StopAsync(15, TimeSpan.FromSeconds(10));

        Assert.Equal(new ContainerExit(3, null, false), exit);
        Assert.Equal("bye", attached.ReadLogs()[^1].Text);
        await attached.RemoveAsync();
        Assert.False(Directory.Exists(StateDir(spec.Id)));
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + cgroup));
        Assert.DoesNotContain(spec.Id, LinuxContainer.List(fixture.Options));
    }

    [Fact]
    public async Task A_Container_That_Ended_While_No_Host_Was_Attached_Reports_Its_Recorded_Exit()
    {
        var spec = fixture.Spec("sh", "-c", "echo ready; sleep 0.3; echo done; exit 7");
        var started = await LinuxContainer.StartAsync(spec, fixture.Options);
        var cgroup = File.ReadAllLines($"/proc/{started.Pid}/cgroup").Single(l => l.Contains(":memory:", StringComparison.Ordinal)).Split(':', 3)[2];
        started.Detach();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (File.Exists(Path.Combine(StateDir(spec.Id), "monitor.sock")) || !File.Exists(Path.Combine(StateDir(spec.Id), "exit")))
        {
            Assert.True(DateTime.UtcNow < deadline, "the monitor did not record the end");
            await Task.Delay(20);
        }

        var attached = await LinuxContainer.AttachAsync(spec.Id, fixture.Options);

        Assert.NotNull(attached);
        Assert.True(attached.WaitAsync().IsCompleted);
        Assert.Equal(new ContainerExit(7, null, false), await attached.WaitAsync());
        Assert.Equal(["ready", "done"], attached.ReadLogs().Select(e => e.Text));
        Assert.Equal(["ready", "done"], LinuxContainer.ReadLogs(spec.Id, fixture.Options).Select(e => e.Text));
        await attached.RemoveAsync();
        Assert.False(Directory.Exists(StateDir(spec.Id)));
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + cgroup));
    }

    [Fact]
    public async Task Attach_To_An_Unknown_Container_Is_Null()
    {
        Assert.Null(await LinuxContainer.AttachAsync("no-such-container", fixture.Options));
    }

    [Fact]
    public async Task Monitor_Leads_A_Session_Of_Its_Own_And_Stays_Small()
    {
        await using var container = await LinuxContainer.StartAsync(fixture.Spec("sh", "-c", "echo ready; sleep 100"), fixture.Options);
        await ContainerFixture.WaitForOutputAsync(container, "ready");

        // /proc/<pid>/stat: "pid (comm) state ppid pgrp session ..."
        var stat = File.ReadAllText($"/proc/{container.MonitorPid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var own = File.ReadAllText("/proc/self/stat");
        var ownSession = own[(own.LastIndexOf(')') + 2)..].Split(' ')[3];

        Assert.Equal(container.MonitorPid.ToString(CultureInfo.InvariantCulture), fields[3]);
        Assert.Equal(container.MonitorPid.ToString(CultureInfo.InvariantCulture), fields[2]);
        Assert.NotEqual(ownSession, fields[3]);

        var memory = File.ReadAllLines($"/proc/{container.MonitorPid}/smaps_rollup")
            .Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[1].TrimEnd().EndsWith(" kB", StringComparison.Ordinal))
            .ToDictionary(p => p[0], p => long.Parse(p[1].Trim()[..^3].Trim(), CultureInfo.InvariantCulture));
        output.WriteLine($"monitor {container.MonitorPid}: Rss {memory["Rss"]} kB, Pss {memory["Pss"]} kB, " +
            $"Private_Clean {memory["Private_Clean"]} kB, Private_Dirty {memory["Private_Dirty"]} kB, Anonymous {memory["Anonymous"]} kB");
        Assert.InRange(memory["Private_Dirty"], 1, 4096);
    }
}
