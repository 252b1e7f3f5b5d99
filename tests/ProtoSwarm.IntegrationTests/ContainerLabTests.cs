using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Real containers on a lab swarm (1 manager, 2 workers, `--executor linux`), tried as a new user
/// would: a busybox image imported from a tar on every node, services created with the CLI on m1,
/// and what runs checked from this machine's /proc.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class ContainerLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_Busybox_Service_Runs_As_Pid_1_In_Its_Own_Namespaces_On_Every_Node()
    {
        await using var lab = await ContainerLab.UpAsync();
        var create = await ServiceAsync(lab, "create", "--name", "pid1", "--replicas", "3", "--replicas-max-per-node", "1",
            "busybox:latest", "sh", "-c", "echo pid=$$ host=$(hostname); exec sleep 1000");
        Assert.True(create.ExitCode == 0, create.ToString());

        var tasks = await RunningAsync(lab, "pid1");
        Assert.Equal(["m1", "w1", "w2"], tasks.Select(t => t.Node).Order());
        foreach (var task in tasks)
        {
            var pid = ContainerPid(lab, task);
            var status = File.ReadAllLines($"/proc/{pid}/status");
            var nspid = status.Single(l => l.StartsWith("NSpid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("1", nspid[^1]);
            Assert.Equal("sleep 1000", File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim());
            foreach (var ns in new[] { "pid", "mnt", "net", "uts", "ipc", "cgroup" })
            {
                Assert.NotEqual(Link($"/proc/self/ns/{ns}"), Link($"/proc/{pid}/ns/{ns}"));
            }

            output.WriteLine($"{task.Service}.{task.Task.Slot} on {task.Node}: host pid {pid}, NSpid {string.Join(' ', nspid[1..])}");
        }

        // Usage from every node's cgroups, asked on m1: one process each (sleep), some memory, no limit but the node's.
        var stats = await ServiceAsync(lab, "ps", "--stats", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}} {{.CPUPerc}}", "pid1");
        Assert.True(stats.ExitCode == 0, stats.ToString());
        var rows = stats.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length);
        Assert.All(rows, row => Assert.Matches(@"^pid1\.[123] 1 [0-9.]+[KM]iB / [0-9.]+GiB [0-9.]+%$", row));
        output.WriteLine(stats.StdOut);

        // exec -i streams stdin in and output out, between what the shell around it prints.
        var task1 = tasks.First(t => t.Node == "w1");
        var piped = await lab.ExecAsync("w1", "sh", "-c", $"echo start; echo hello | protoswarm exec -i {task1.Task.Id} sh -c 'cat; exit 7'; echo exit=$?");
        Assert.Equal("start\nhello\nexit=7\n", piped.StdOut);

        // Health checks run inside the container and gate RUNNING: Starting (failures in the start period do not
        // count) until the file appears, then Running; a check that never passes fails the task.
        string[] health = ["--detach", "--health-interval", "200ms", "--health-retries", "2", "--restart-condition", "none"];
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "sick", .. health, "--health-cmd", "false", "busybox:latest", "sleep", "1000"])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "slow", .. health, "--health-start-period", "20s", "--health-cmd", "test -f /tmp/ready",
            "busybox:latest", "sh", "-c", "sleep 5; touch /tmp/ready; exec sleep 1000"])).ExitCode);
        var starting = await PollAsync(lab, Converge, "slow", list => list.Any(t => t.Task.Status.State == TaskState.Starting));
        Assert.True(starting.Met, $"slow was never seen Starting while its check failed: {starting.Last}");
        var healthy = await PollAsync(lab, Converge, "slow", list => list.Any(t => t.Task.Status.State == TaskState.Running));
        Assert.True(healthy.Met, $"slow did not turn Running once healthy: {healthy.Last}");
        var sick = await PollAsync(lab, Converge, "sick", list => list.Any(t => t.Task.Status.State == TaskState.Failed));
        Assert.True(sick.Met, $"sick did not fail: {sick.Last}");
        var failed = sick.Tasks.First(t => t.Task.Status.State == TaskState.Failed);
        Assert.Contains("unhealthy", failed.Task.Status.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(sick.Tasks, t => t.Task.Status.State == TaskState.Running);
    }

    [Fact]
    public async Task Confinement_Probes_Are_Denied_A_Memory_Limit_Ends_In_An_Oom_Kill_And_A_Missing_Image_Is_Rejected()
    {
        await using var lab = await ContainerLab.UpAsync();
        string[] job = ["--detach", "--mode", "replicated-job", "--restart-condition", "none"];
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "probe", .. job, "busybox:latest", "mount", "-t", "tmpfs", "x", "/mnt"])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "admin", .. job, "--cap-add", "SYS_ADMIN", "busybox:latest", "mount", "-t", "tmpfs", "x", "/mnt"])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "hog", .. job, "--limit-memory", "8m",
            "busybox:latest", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}"])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "ghost", .. job, "nosuch:1"])).ExitCode);

        var ended = await PollAsync(lab, Converge, null, list => list.Count(t => t.Task.Status.State >= TaskState.Complete) == 4);
        Assert.True(ended.Met, $"The four jobs did not end within {Converge.TotalSeconds} s: {ended.Last}");
        var byService = ended.Tasks.ToDictionary(t => t.Service, t => t.Task.Status);
        output.WriteLine(string.Join("\n", byService.Select(p => $"{p.Key}: {p.Value.State} exit {p.Value.ExitCode} {p.Value.Err}")));

        Assert.Equal(TaskState.Failed, byService["probe"].State);
        Assert.NotEqual(0, byService["probe"].ExitCode);
        Assert.Equal(TaskState.Complete, byService["admin"].State);
        Assert.Equal(TaskState.Failed, byService["hog"].State);
        Assert.Contains("OOM", byService["hog"].Err, StringComparison.Ordinal);
        Assert.Equal(TaskState.Rejected, byService["ghost"].State);
        Assert.Contains("No such image: nosuch:1", byService["ghost"].Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Node_Host_Restart_Reattaches_Its_Container_Logs_Carry_On_And_A_Volume_Outlives_The_Task()
    {
        await using var lab = await ContainerLab.UpAsync();

        // As docker's 5 s heartbeat: a node host restart is over before its node is declared down (20 s) and its tasks moved.
        var heartbeat = await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--dispatcher-heartbeat", "5s");
        Assert.True(heartbeat.ExitCode == 0, heartbeat.ToString());
        var create = await ServiceAsync(lab, "create", "--name", "keeper", "--constraint", "node.hostname==w1",
            "--mount", "type=volume,source=data,target=/data", "busybox:latest",
            "sh", "-c", "echo runs=$(cat /data/runs 2>/dev/null | wc -l) pid=$$; echo run >> /data/runs; i=0; while true; i=$((i+1)); do echo tick $i; sleep 0.2; done");
        Assert.True(create.ExitCode == 0, create.ToString());
        var before = Assert.Single(await RunningAsync(lab, "keeper"));
        var pid = ContainerPid(lab, before);

        Assert.Equal(0, (await lab.LabAsync("stop", "w1", "--kill")).ExitCode);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(LabFixture.IsAlive(pid), "The container died with its node host");
        await lab.StartNodeAsync("w1");
        Assert.True(await PollNodesReadyAsync(lab, 3, Converge), "w1 did not come back Ready");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = Assert.Single(await TasksAsync(lab, "keeper"));
        Assert.Equal((before.Task.Id, TaskState.Running, TaskState.Running), (after.Task.Id, after.Task.DesiredState, after.Task.Status.State));
        Assert.Equal(pid, ContainerPid(lab, after));

        // The managers reach the restarted node host once Proto.Remote has let go of its old endpoint.
        var attempt = 0;
        var logs = await RepeatUntilAsync(() => ServiceAsync(lab, "logs", "--raw", "keeper"), r => r.StdOut.StartsWith("runs=", StringComparison.Ordinal),
            Converge, TimeSpan.FromMilliseconds(500), r => output.WriteLine($"service logs, attempt {attempt++}: {r}"));

        Assert.True(logs.ExitCode == 0, logs.ToString());
        var lines = logs.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 0 && lines[0] == "runs=0 pid=1", logs.ToString());
        var ticks = lines.Skip(1).Select(l => int.Parse(l["tick ".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, ticks.Count), ticks);
        Assert.True(ticks.Count >= 5, $"Only {ticks.Count} ticks logged across the restart");

        var inUse = await lab.ExecAsync("w1", "protoswarm", "volume", "rm", "data");
        Assert.NotEqual(0, inUse.ExitCode);
        Assert.Contains("in use", inUse.StdErr, StringComparison.Ordinal);

        var update = await ServiceAsync(lab, "update", "--force", "keeper");
        Assert.True(update.ExitCode == 0, update.ToString());
        var replaced = Assert.Single(await RunningAsync(lab, "keeper"));
        Assert.NotEqual(before.Task.Id, replaced.Task.Id);
        var second = await ServiceAsync(lab, "logs", "--raw", replaced.Task.Id);
        Assert.StartsWith("runs=1 pid=1\n", second.StdOut, StringComparison.Ordinal);
        Assert.Equal(["run", "run"], File.ReadAllLines(Path.Combine(lab.StateRoot, "w1", "volumes", "data", "_data", "runs")));
        Assert.False(LabFixture.IsAlive(pid), "The replaced task's container still runs");
    }

    /// <summary>The container's PID 1 as this machine sees it: the one process of the container's cgroup
    /// (listed in its state directory's `cgroups`) whose parent is outside it, its monitor, whether that
    /// monitor is the node host's shared one or the container's own.</summary>
    internal static int ContainerPid(LabFixture lab, LabTask task)
    {
        var state = Path.Combine(lab.StateRoot, task.Node, "containers", task.Task.Id);
        var cgroup = File.ReadAllLines(Path.Combine(state, "cgroups")).First(line => line.Length > 0);
        var members = File.ReadAllText(Path.Combine(cgroup, "cgroup.procs"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(pid => int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture))
            .ToHashSet();
        // A short-lived child (the shell's `sleep`) listed in cgroup.procs may be gone by the time its
        // parent is read: it is no root, only skipped.
        var roots = members.Where(pid => ParentOf(pid) is { } parent && !members.Contains(parent)).ToList();
        return roots.Count == 1
            ? roots[0]
            : throw new Xunit.Sdk.XunitException($"The container of {state} has {roots.Count} processes whose parent is outside its cgroup {cgroup}, not one");
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return int.Parse(line["PPid:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null; // it ended meanwhile
        }
    }

    private static string Link(string path) => new FileInfo(path).LinkTarget ?? "";
}
