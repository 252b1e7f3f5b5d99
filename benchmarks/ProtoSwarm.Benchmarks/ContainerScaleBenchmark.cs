using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// N containers running `sleep 100000` on the busybox root, started a few at a time, all running at
/// once, then removed: ProtoSwarm's LinuxContainer against crun from Debian (`crun run -d`, no resident
/// process per container) in the same run, and, for the memory a resident supervisor costs, conmon from
/// Debian supervising crun containers as podman runs them. While all N run it sums Pss and private
/// memory (/proc/PID/smaps_rollup) over the supervisors: our monitors (the parent of each container's
/// PID 1) and conmon; the containers' own `sleep` for comparison; and this process's growth, as the node
/// host's cost per container. Needs root; crun's and conmon's commands run in a private mount namespace
/// with /sys/fs/cgroup/unified unmounted, as in <see cref="ContainerStartBenchmark"/>.
/// </summary>
public static class ContainerScaleBenchmark
{
    private const string UnmountUnified = "umount /sys/fs/cgroup/unified 2>/dev/null; exec";

    public sealed record Memory(long Rss, long Pss, long PrivateClean, long PrivateDirty)
    {
        public static readonly Memory Zero = new(0, 0, 0, 0);

        public Memory Plus(Memory other) => new(Rss + other.Rss, Pss + other.Pss, PrivateClean + other.PrivateClean, PrivateDirty + other.PrivateDirty);
    }

    /// <summary>One runtime's batch: rates, and the memory summed over all N while they ran (kB).</summary>
    public sealed record Phase(Harness.Result Start, Harness.Result Remove, Memory? Supervisors, Memory Containers, long HostHeapBytes, long HostRssBytes, long MemAvailableKb, int Running);

    public sealed record Report(int Count, int Parallelism, Phase ProtoSwarm, Phase Crun, Phase? Conmon, string? ConmonNote, string CrunVersion, string ConmonVersion);

    public static async Task<Report> RunAsync(int count, int parallelism)
    {
        var init = ContainerStartBenchmark.FindInit();
        // Short: a monitor's socket path must stay under 108 bytes.
        var root = Path.Combine(Path.GetTempPath(), "psscale-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var layer = ContainerStartBenchmark.BusyboxRoot(root, "sh", "sleep");
        ContainerStartBenchmark.EnsureInstalled("runc", "crun", "conmon");
        var bundle = ContainerStartBenchmark.WriteBundle(root, layer, "sleep", "100000");
        var crunRoot = Path.Combine(root, "crun");
        Directory.CreateDirectory(crunRoot);
        Directory.CreateDirectory(Path.Combine(root, "out"));

        var ours = new ConcurrentDictionary<int, LinuxContainer>();
        var crunIds = new ConcurrentDictionary<string, byte>();
        var conmons = new ConcurrentDictionary<int, byte>();
        try
        {
            var protoSwarm = await RunProtoSwarmAsync(count, parallelism, init, root, layer, ours);
            var crun = await RunCrunAsync(count, parallelism, root, bundle, crunRoot, crunIds);
            Phase? conmon = null;
            string? conmonNote = null;
            if (File.Exists("/usr/bin/conmon"))
            {
                (conmon, conmonNote) = await RunConmonAsync(count, parallelism, root, bundle, crunRoot, crunIds, conmons);
            }
            else
            {
                conmonNote = "conmon is not installed (apt-get install conmon failed)";
            }
            return new Report(count, parallelism, protoSwarm, crun, conmon, conmonNote,
                ContainerStartBenchmark.Version("crun"), File.Exists("/usr/bin/conmon") ? ContainerStartBenchmark.Version("conmon") : "");
        }
        finally
        {
            await CleanupAsync(ours, crunRoot, crunIds, conmons);
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<Phase> RunProtoSwarmAsync(int count, int parallelism, string init, string root, string layer, ConcurrentDictionary<int, LinuxContainer> started)
    {
        var options = new ContainerRuntimeOptions { InitPath = init, StateRoot = Path.Combine(root, "state") };
        var prefix = "ps" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-";
        // One warm-up container: the first start loads code this process would load anyway.
        await using (var warm = await LinuxContainer.StartAsync(new ContainerSpecification { Id = prefix + "warm", Command = ["sleep", "100000"], Layers = [layer] }, options))
        {
        }
        var (heapBefore, rssBefore, availableBefore) = HostSnapshot();

        var (startSeconds, startMs) = await BatchAsync(count, parallelism, async i =>
        {
            var container = await LinuxContainer.StartAsync(new ContainerSpecification { Id = prefix + i.ToString(CultureInfo.InvariantCulture), Command = ["sleep", "100000"], Layers = [layer] }, options);
            started[i] = container;
        });
        await Task.Delay(500);
        var monitors = Memory.Zero;
        var sleeps = Memory.Zero;
        foreach (var container in started.Values)
        {
            var monitor = ParentOf(container.Pid);
            var exe = Path.GetFileName(new FileInfo($"/proc/{monitor}/exe").LinkTarget ?? "");
            if (exe != "protoswarm-init")
            {
                throw new InvalidOperationException($"container {container.Id}: the parent of its PID 1 ({container.Pid}) is {monitor} ({exe}), not a protoswarm-init monitor");
            }
            monitors = monitors.Plus(Rollup(monitor));
            sleeps = sleeps.Plus(Rollup(container.Pid));
        }
        var (heapAfter, rssAfter, availableAfter) = HostSnapshot();

        var (removeSeconds, removeMs) = await BatchAsync(count, parallelism, async i =>
        {
            await started[i].RemoveAsync();
            started.TryRemove(i, out _);
        });
        return new Phase(
            Harness.FromBatch($"ProtoSwarm: start (LinuxContainer.StartAsync, returns once `sleep` was exec'd)", parallelism, startSeconds, startMs),
            Harness.FromBatch("ProtoSwarm: remove (RemoveAsync: SIGKILL, wait, cgroups and state removed)", parallelism, removeSeconds, removeMs),
            monitors, sleeps, heapAfter - heapBefore, rssAfter - rssBefore, availableBefore - availableAfter, count);
    }

    private static async Task<Phase> RunCrunAsync(int count, int parallelism, string root, string bundle, string crunRoot, ConcurrentDictionary<string, byte> ids)
    {
        var prefix = "psc" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-";
        await CrunRunDetachedAsync(root, bundle, crunRoot, prefix + "warm", ids);
        await CrunDeleteAsync(crunRoot, prefix + "warm", ids);
        var (_, _, availableBefore) = HostSnapshot();

        var (startSeconds, startMs) = await BatchAsync(count, parallelism, i => CrunRunDetachedAsync(root, bundle, crunRoot, prefix + i.ToString(CultureInfo.InvariantCulture), ids));
        await Task.Delay(500);
        var sleeps = Memory.Zero;
        for (var i = 0; i < count; i++)
        {
            sleeps = sleeps.Plus(Rollup(ReadPid(Path.Combine(root, "out", prefix + i.ToString(CultureInfo.InvariantCulture) + ".pid"))));
        }
        var (_, _, availableAfter) = HostSnapshot();

        var (removeSeconds, removeMs) = await BatchAsync(count, parallelism, i => CrunDeleteAsync(crunRoot, prefix + i.ToString(CultureInfo.InvariantCulture), ids));
        return new Phase(
            Harness.FromBatch("crun: run -d (returns once `sleep` was exec'd; no process stays but the container's)", parallelism, startSeconds, startMs),
            Harness.FromBatch("crun: delete -f", parallelism, removeSeconds, removeMs),
            null, sleeps, 0, 0, availableBefore - availableAfter, count);
    }

    // As podman runs it: conmon forks itself off and runs `crun create`; the caller waits for the
    // container's pid file, then runs `crun start`.
    private static async Task<(Phase, string?)> RunConmonAsync(int count, int parallelism, string root, string bundle, string crunRoot,
        ConcurrentDictionary<string, byte> ids, ConcurrentDictionary<int, byte> conmons)
    {
        string? note = null;
        var prefix = "psm" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-";
        var (_, _, availableBefore) = HostSnapshot();
        // conmon reports its own failures to syslog, which this machine lacks: a container that does not
        // come up is counted and its traces kept, and the memory is summed over those that did.
        var failures = new ConcurrentQueue<string>();
        var up = new ConcurrentDictionary<string, byte>();
        var (startSeconds, startMs) = await BatchAsync(count, parallelism, async i =>
        {
            var id = prefix + i.ToString(CultureInfo.InvariantCulture);
            try
            {
                await ConmonStartAsync(root, bundle, crunRoot, id, ids, conmons);
                up[id] = 0;
            }
            catch (InvalidOperationException e)
            {
                failures.Enqueue(e.Message);
            }
        });
        await Task.Delay(500);
        var supervisors = Memory.Zero;
        var sleeps = Memory.Zero;
        foreach (var id in up.Keys)
        {
            var conmon = ReadPid(Path.Combine(root, "out", id + ".conmon.pid"));
            var pid = ReadPid(Path.Combine(root, "out", id + ".pid"));
            if (ParentOf(pid) != conmon)
            {
                throw new InvalidOperationException($"conmon {id}: the container's PID 1 ({pid}) is not conmon's ({conmon}) child");
            }
            supervisors = supervisors.Plus(Rollup(conmon));
            sleeps = sleeps.Plus(Rollup(pid));
        }
        var (_, _, availableAfter) = HostSnapshot();

        var upIds = up.Keys.ToArray();
        var (removeSeconds, removeMs) = await BatchAsync(upIds.Length, parallelism, i => CrunDeleteAsync(crunRoot, upIds[i], ids));
        await WaitGoneAsync(conmons, TimeSpan.FromSeconds(30));
        if (!failures.IsEmpty)
        {
            note = $"conmon: {failures.Count} of {count} containers did not come up (the memory is over the {upIds.Length} that did; the start rate counts all attempts); first: {failures.First()}";
        }
        return (new Phase(
            Harness.FromBatch("conmon + crun create, crun start (pid file polled every 2 ms)", parallelism, startSeconds, startMs),
            Harness.FromBatch("conmon + crun: crun delete -f", parallelism, removeSeconds, removeMs),
            supervisors, sleeps, 0, 0, availableBefore - availableAfter, upIds.Length), note);
    }

    private static async Task CrunRunDetachedAsync(string root, string bundle, string crunRoot, string id, ConcurrentDictionary<string, byte> ids)
    {
        ids[id] = 0;
        var pidFile = Path.Combine(root, "out", id + ".pid");
        // The container inherits crun's stdio: /dev/null, so that no pipe of ours stays open in it.
        await ShellAsync(root, id, $"{UnmountUnified} crun --root {crunRoot} run -d --pid-file {pidFile} --bundle {bundle} {id}");
    }

    private static async Task ConmonStartAsync(string root, string bundle, string crunRoot, string id, ConcurrentDictionary<string, byte> ids, ConcurrentDictionary<int, byte> conmons)
    {
        ids[id] = 0;
        var output = Path.Combine(root, "out");
        var pidFile = Path.Combine(output, id + ".pid");
        var conmonPidFile = Path.Combine(output, id + ".conmon.pid");
        var exits = Path.Combine(output, "exits");
        Directory.CreateDirectory(exits);
        await ShellAsync(root, id,
            $"{UnmountUnified} conmon --api-version 1 -c {id} -u {id} -n {id} -r /usr/bin/crun --runtime-arg --root={crunRoot} " +
            $"-b {bundle} -p {pidFile} -P {conmonPidFile} -l k8s-file:{Path.Combine(output, id + ".log")} --exit-dir {exits} " +
            $"--socket-dir-path {output} --log-level error");
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (!File.Exists(pidFile) || new FileInfo(pidFile).Length == 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                var traces = string.Join(" | ", new[] { Path.Combine(output, id + ".err"), Path.Combine(output, id + ".log"), Path.Combine(exits, id) }
                    .Where(File.Exists).Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f).Trim()}"));
                throw new InvalidOperationException($"conmon {id}: no container pid file after 30 s ({(traces.Length == 0 ? "no trace" : traces)})");
            }
            await Task.Delay(2);
        }
        conmons[ReadPid(conmonPidFile)] = 0;
        await ShellAsync(root, id, $"{UnmountUnified} crun --root {crunRoot} start {id}");
    }

    private static async Task CrunDeleteAsync(string crunRoot, string id, ConcurrentDictionary<string, byte> ids)
    {
        await ShellAsync(null, id, $"{UnmountUnified} crun --root {crunRoot} delete -f {id}");
        ids.TryRemove(id, out _);
    }

    private static async Task ShellAsync(string? root, string id, string command)
    {
        var errors = root is null ? "/dev/null" : Path.Combine(root, "out", id + ".err");
        using var p = Process.Start("unshare", ["-m", "sh", "-c", $"{command} </dev/null >/dev/null 2>{errors}"])!;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            var message = root is null || !File.Exists(errors) ? "" : await File.ReadAllTextAsync(errors);
            throw new InvalidOperationException($"{command}: exit {p.ExitCode}: {message.Trim()}");
        }
    }

    private static async Task CleanupAsync(ConcurrentDictionary<int, LinuxContainer> ours, string crunRoot,
        ConcurrentDictionary<string, byte> crunIds, ConcurrentDictionary<int, byte> conmons)
    {
        await Parallel.ForEachAsync(ours.Values, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, _) =>
        {
            try
            {
                await c.RemoveAsync(CancellationToken.None);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"cleanup: remove {c.Id}: {e.Message}");
            }
        });
        await Parallel.ForEachAsync(crunIds.Keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (id, _) =>
        {
            try
            {
                await CrunDeleteAsync(crunRoot, id, crunIds);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"cleanup: crun delete -f {id}: {e.Message}");
            }
        });
        await WaitGoneAsync(conmons, TimeSpan.FromSeconds(10));
        foreach (var pid in conmons.Keys)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (p.ProcessName == "conmon")
                {
                    p.Kill();
                }
            }
            catch (ArgumentException)
            {
            }
        }
    }

    private static async Task WaitGoneAsync(ConcurrentDictionary<int, byte> pids, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var pid in pids.Keys.Where(pid => !Directory.Exists($"/proc/{pid}")))
            {
                pids.TryRemove(pid, out _);
            }
            if (pids.IsEmpty)
            {
                return;
            }
            await Task.Delay(50);
        }
    }

    private static async Task<(double Seconds, double[] LatenciesMs)> BatchAsync(int count, int parallelism, Func<int, Task> operation)
    {
        var latencies = new double[count];
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, _) =>
        {
            var start = Stopwatch.GetTimestamp();
            await operation(i);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        });
        return (sw.Elapsed.TotalSeconds, latencies);
    }

    // This process as the node host: live managed bytes after a full collection, resident set, and the
    // machine's MemAvailable (kB; other work on a shared machine moves it too).
    private static (long Heap, long Rss, long AvailableKb) HostSnapshot()
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        return (heap, Rollup(Environment.ProcessId).Rss * 1024, Field(File.ReadAllLines("/proc/meminfo"), "MemAvailable:"));
    }

    private static Memory Rollup(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/smaps_rollup");
        return new Memory(Field(lines, "Rss:"), Field(lines, "Pss:"), Field(lines, "Private_Clean:"), Field(lines, "Private_Dirty:"));
    }

    private static int ParentOf(int pid) => (int)Field(File.ReadAllLines($"/proc/{pid}/status"), "PPid:");

    private static int ReadPid(string file) => int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

    private static long Field(string[] lines, string name)
    {
        var line = lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no {name} line");
        return long.Parse(line.AsSpan(name.Length).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    public static void Print(Report report)
    {
        var n = report.Count;
        var rows = new List<Harness.Result> { report.ProtoSwarm.Start, report.Crun.Start, report.ProtoSwarm.Remove, report.Crun.Remove };
        if (report.Conmon is not null)
        {
            rows.Add(report.Conmon.Start);
            rows.Add(report.Conmon.Remove);
        }
        Harness.Print($"{n} sleeping containers: start and removal, {report.Parallelism} at a time, busybox root (ops/s = {n} / batch time; baseline crun {report.CrunVersion})",
            rows, r => r.Name.Contains("remove", StringComparison.OrdinalIgnoreCase) || r.Name.Contains("delete", StringComparison.Ordinal)
                ? report.Crun.Remove : report.Crun.Start);

        Console.WriteLine();
        Console.WriteLine($"## Memory per container with all {n} running (kB; smaps_rollup summed over the processes, / {n})");
        Console.WriteLine();
        Console.WriteLine("| process | Rss | Pss | Private_Clean | Private_Dirty | private (clean + dirty) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Row("ProtoSwarm monitor (protoswarm-init, NativeAOT)", report.ProtoSwarm.Supervisors!, n);
        if (report.Conmon is not null)
        {
            Row($"conmon {report.ConmonVersion} supervising crun", report.Conmon.Supervisors!, report.Conmon.Running);
        }
        Console.WriteLine("| crun run -d | no resident process | | | | |");
        Row("container's `sleep` (ProtoSwarm)", report.ProtoSwarm.Containers, n);
        Row("container's `sleep` (crun)", report.Crun.Containers, n);
        if (report.Conmon is not null)
        {
            Row("container's `sleep` (conmon + crun)", report.Conmon.Containers, report.Conmon.Running);
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Node host (this process) growth per container: managed heap {report.ProtoSwarm.HostHeapBytes / 1024.0 / n:0.0} kB (live, after a full GC), RSS {report.ProtoSwarm.HostRssBytes / 1024.0 / n:0.0} kB."));
        var conmonAvailable = report.Conmon is null ? "" : string.Create(CultureInfo.InvariantCulture, $", conmon + crun {report.Conmon.MemAvailableKb / (double)report.Conmon.Running:0} kB");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Machine MemAvailable drop per container (kernel objects included; other work on the machine moves it): ProtoSwarm {report.ProtoSwarm.MemAvailableKb / (double)n:0} kB, crun {report.Crun.MemAvailableKb / (double)n:0} kB{conmonAvailable}."));
        if (report.ConmonNote is not null)
        {
            Console.WriteLine(report.ConmonNote);
        }

        static void Row(string name, Memory m, int n) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {m.Rss / (double)n:0} | {m.Pss / (double)n:0} | {m.PrivateClean / (double)n:0} | {m.PrivateDirty / (double)n:0} | {(m.PrivateClean + m.PrivateDirty) / (double)n:0} |"));
    }
}
