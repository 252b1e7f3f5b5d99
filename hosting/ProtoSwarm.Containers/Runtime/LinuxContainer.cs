using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// One container started through protoswarm-init. Init stays outside the container as its monitor: it
/// reports "started", then the container's wait status, on a socket, delivers signals through a pidfd
/// (nothing here ever signals a pid that may have been reused), and writes the container's output to
/// its log. The monitor outlives this process: a node host that restarts finds it again with
/// <see cref="AttachAsync(string, ContainerRuntimeOptions, CancellationToken)"/>.
/// </summary>
public sealed partial class LinuxContainer : IAsyncDisposable
{
    private readonly ISyscalls _sys;
    private readonly ICgroupDriver _cgroups;
    private readonly CgroupPlacement _placement;
    private readonly ContainerPaths _paths;
    private readonly ContainerLogReader _log;
    private readonly InitProcess? _init;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource<ContainerExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _send = new(1, 1);
    private int _removed;
    private Stream? _stdin;
    private volatile bool _detached;

    private LinuxContainer(string id, int pid, ISyscalls sys, ICgroupDriver cgroups, CgroupPlacement placement,
        ContainerPaths paths, InitProcess? init, TimeProvider time)
    {
        Id = id;
        Pid = pid;
        _sys = sys;
        _cgroups = cgroups;
        _placement = placement;
        _paths = paths;
        _log = new ContainerLogReader(paths.Root);
        _init = init;
        _time = time;
    }

    public string Id { get; }

    /// <summary>The write end of the main process's stdin with <see cref="ContainerSpecification.OpenStdin"/> (docker's -i);
    /// null without it, once <see cref="CloseStdin"/> closed it, or for a container this node host attached to.</summary>
    public Stream? Stdin => Volatile.Read(ref _stdin);

    /// <summary>Closes the main process's stdin: it reads end of file (once what was written is read).</summary>
    public void CloseStdin() => Interlocked.Exchange(ref _stdin, null)?.Dispose();

    /// <summary>Attaches to the terminal of a container started with <see cref="ContainerSpecification.Tty"/> (docker's attach):
    /// what it prints from now on (and, for the first attach of a run, what it printed before), keys and sizes for it. Null when
    /// the container has ended (or ends now) or has no terminal: its log has all it printed.</summary>
    public TerminalAttachment? AttachTerminal() => TerminalAttachment.Connect(_paths.AttachSocket);

    /// <summary>
    /// The node path each of its bind mounts comes from, by its path in the container, as its config was written at its start:
    /// what a node host that finds it again cannot read from its task (an anonymous volume's directory). Empty when the config
    /// is gone or cannot be read.
    /// </summary>
    public IReadOnlyDictionary<string, string> BindSources()
    {
        try
        {
            return InitConfigReader.Read(File.ReadAllBytes(_paths.Config)).Mounts.Where(m => m.Type == "bind")
                .GroupBy(m => m.Target, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Source, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return new Dictionary<string, string>();
        }
    }

    /// <summary>When the container was started: its config is written just before (null once it is removed).</summary>
    public DateTimeOffset? StartedAt => File.Exists(_paths.Config) ? new DateTimeOffset(File.GetLastWriteTimeUtc(_paths.Config), TimeSpan.Zero) : null;

    /// <summary>
    /// When the container was made (its specification's <see cref="ContainerSpecification.Created"/>), as its state
    /// directory keeps it: the same for a node host that attaches to it later. Null once it is removed, or for a
    /// container started before the time was kept.
    /// </summary>
    public DateTimeOffset? Created =>
        _sys.FileExists(_paths.Created) && DateTimeOffset.TryParseExact(_sys.ReadFile(_paths.Created).Trim(), "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var created)
            ? created
            : null;

    /// <summary>When the container ended: its monitor writes the exit file then (null while it runs, or when none was written).</summary>
    public DateTimeOffset? FinishedAt => HasExited && File.Exists(_paths.Exit) ? new DateTimeOffset(File.GetLastWriteTimeUtc(_paths.Exit), TimeSpan.Zero) : null;

    /// <summary>Whether the container has ended (its root is then no longer mounted from its image's layers).</summary>
    public bool HasExited => _exit.Task.IsCompleted;

    /// <summary>The container's PID 1 as this node sees it; 0 when attached after the container ended.</summary>
    public int Pid { get; }

    /// <summary>The monitor (protoswarm-init outside the container); 0 when it had ended before an attach.</summary>
    internal int MonitorPid => _init?.Pid ?? 0;

    /// <summary>The cgroup driver chosen for this node, "cgroupfs v1" or "cgroupfs v2".</summary>
    public string CgroupDriver => _cgroups.Name;

    /// <summary>Starts the container and returns once its entrypoint was exec'd; a failure of any step
    /// throws <see cref="ContainerStartException"/> naming it, and leaves nothing behind.</summary>
    public static Task<LinuxContainer> StartAsync(ContainerSpecification spec, ContainerRuntimeOptions options, CancellationToken cancellationToken = default)
    {
        var sys = LinuxSyscalls.Instance;
        return StartAsync(spec, options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, cancellationToken);
    }

    /// <summary>What keeps the specification from running on this node (missing layers, bad limits, ...), one line each; empty when it can run.</summary>
    public static IReadOnlyList<string> Validate(ContainerSpecification spec) => InitConfigBuilder.Validate(spec, LinuxSyscalls.Instance);

    /// <summary>Whether this node's kernel has mount_setattr(2) (Linux 5.12 or later): without it, a read-only bind is read-only at its top
    /// mount only (docker's fall back), and one with <see cref="ContainerMount.ReadOnlyForceRecursive"/> does not start.</summary>
    public static bool SupportsRecursiveReadOnly => LinuxSyscalls.Instance.SupportsRecursiveReadOnly();

    /// <summary>
    /// Starts an ended container again (docker's `start` of an exited container, and its restart policies): the same id,
    /// state directory, writable layer (what it wrote before is there) and log (appended to); a new cgroup, monitor and
    /// config. Throws <see cref="ContainerStartException"/> when there is no such ended container; a failed start leaves
    /// it as it was, ended.
    /// </summary>
    public static Task<LinuxContainer> RestartAsync(ContainerSpecification spec, ContainerRuntimeOptions options, CancellationToken cancellationToken = default)
    {
        var sys = LinuxSyscalls.Instance;
        return StartAsync(spec, options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, cancellationToken, again: true);
    }

    internal static async Task<LinuxContainer> StartAsync(ContainerSpecification spec, ContainerRuntimeOptions options,
        ISyscalls sys, ICgroupDriver cgroups, TimeProvider time, CancellationToken cancellationToken, bool again = false)
    {
        var problems = InitConfigBuilder.Validate(spec, sys);
        if (problems.Count > 0)
        {
            throw new InvalidContainerSpecificationException(problems);
        }
        if (!sys.FileExists(options.InitPath))
        {
            throw new ContainerStartException($"container init: {options.InitPath} not found (publish hosting/ProtoSwarm.ContainerInit next to protoswarmd)");
        }
        var paths = new ContainerPaths(Path.Combine(options.StateRoot, spec.Id));
        if (!again && sys.DirectoryExists(paths.Root))
        {
            throw new ContainerStartException($"container {spec.Id} already exists ({paths.Root})");
        }
        if (again && (!sys.FileExists(paths.Config) || sys.ConnectMonitor(paths.MonitorSocket) is { } running && Answers(running)))
        {
            throw new ContainerStartException($"container {spec.Id} cannot start again: it is running, or gone ({paths.Root})");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(paths.MonitorSocket) > 107)
        {
            throw new ContainerStartException($"container {spec.Id}: {paths.MonitorSocket} is longer than a unix socket path may be (107 bytes); choose a shorter state root");
        }

        CgroupPlacement? placement = null;
        InitProcess? init = null;
        Stream? stdin = null;
        try
        {
            // The container's directory holds its config (the environment: often passwords), its writable layer and
            // its log: root's alone, as docker keeps its containers' (other users could read them all before).
            if (again)
            {
                // The ended run's cgroup goes (whatever its monitor left in it with it); its layer, log and times stay.
                var ended = new CgroupPlacement(sys.FileExists(paths.Cgroups) ? sys.ReadFile(paths.Cgroups).Split('\n', StringSplitOptions.RemoveEmptyEntries) : []);
                cgroups.KillAll(ended);
                cgroups.Remove(ended);
                sys.DeleteFile(paths.Stdin);
            }
            else
            {
                sys.CreatePrivateDirectory(paths.Root);
                sys.WriteFile(paths.Created, (spec.Created ?? time.GetUtcNow()).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                sys.CreateDirectory(paths.Upper);
                sys.CreateDirectory(paths.Work);
                sys.CreateDirectory(paths.Rootfs);
            }
            placement = cgroups.Create(spec.Id, spec.Resources);
            sys.WriteFile(paths.Cgroups, string.Concat(placement.Directories.Select(d => d + "\n")));
            var resolv = sys.FileExists("/etc/resolv.conf") ? sys.ReadFile("/etc/resolv.conf") : "";
            var labelled = SelinuxLabels.Enforcing(sys);
            lock (SelinuxLabels.Gate)
            {
                // The categories other containers have are read from their configs: this one's is written before the lock is left.
                var labels = labelled ? SelinuxLabels.Choose(options.LabelRandom, SelinuxLabels.LevelsInUse(sys, options.StateRoot)) : null;
                var config = InitConfigBuilder.Build(spec, paths, placement, resolv, labels, cgroups.View(placement), sys.SupportsRecursiveReadOnly());
                sys.WriteFile(paths.Config, JsonSerializer.Serialize(config, InitConfigJson.Default.InitConfig));
            }

            stdin = spec.OpenStdin && !spec.Tty ? sys.OpenStdinFifo(paths.Stdin) : null;
            init = sys.SpawnInit(options.InitPath, paths.Config, options.SharedMonitor);
            var reader = new StatusReader(init.Status);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ContainerStartException($"container init: no answer within {options.StartTimeout.TotalSeconds:0.#} s");
            }
            if (line is not null && line.StartsWith(InitProtocol.Started + " ", StringComparison.Ordinal))
            {
                var pid = int.Parse(line.AsSpan(InitProtocol.Started.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture);
                if (again)
                {
                    // The last run's exit is no longer this one's (a monitor killed later must not read it as its end).
                    sys.DeleteFile(paths.Exit);
                }
                var container = new LinuxContainer(spec.Id, pid, sys, cgroups, placement, paths, init, time);
                container._initPath = options.InitPath;
                container._stdin = stdin;
                stdin = null;
                _ = container.WatchAsync(reader);
                return container;
            }
            throw new ContainerStartException(StartFailure(line));
        }
        catch (Exception e) when (e is not ContainerStartException and not OperationCanceledException)
        {
            stdin?.Dispose();
            Cleanup(sys, cgroups, placement, paths, init, again);
            throw new ContainerStartException($"container init: {e.Message}", e);
        }
        catch
        {
            stdin?.Dispose();
            Cleanup(sys, cgroups, placement, paths, init, again);
            throw;
        }
    }

    /// <summary>
    /// Finds a container this node started earlier, by another node host process perhaps: through its
    /// monitor's socket while it runs (WaitAsync, KillAsync, StopAsync, RemoveAsync and the logs work as
    /// for a started one), or through the exit status its monitor left when it has ended (WaitAsync is
    /// then complete). Null when there is no such container. A state directory whose monitor is gone
    /// and left no exit status (the monitor was killed) reads as killed, 137, with the message
    /// <see cref="MonitorGoneMessage"/>; whatever still ran in the container's cgroup (a PID 1 that
    /// changed its user lost the parent-death signal) is killed first, so it never runs unowned. A monitor
    /// that listens but does not answer within the start timeout is killed, and the container with it.
    /// </summary>
    public static Task<LinuxContainer?> AttachAsync(string id, ContainerRuntimeOptions options, CancellationToken cancellationToken = default)
    {
        var sys = LinuxSyscalls.Instance;
        return AttachAsync(id, options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, cancellationToken);
    }

    internal static async Task<LinuxContainer?> AttachAsync(string id, ContainerRuntimeOptions options,
        ISyscalls sys, ICgroupDriver cgroups, TimeProvider time, CancellationToken cancellationToken)
    {
        var paths = new ContainerPaths(Path.Combine(options.StateRoot, id));
        if (id.Contains('/', StringComparison.Ordinal) || !sys.DirectoryExists(paths.Root) || !sys.FileExists(paths.Config))
        {
            return null;
        }
        var placement = new CgroupPlacement(sys.FileExists(paths.Cgroups)
            ? sys.ReadFile(paths.Cgroups).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            : []);
        var monitor = sys.ConnectMonitor(paths.MonitorSocket);
        // Nobody listens on the socket, or the monitor hung up without a word: it is gone (a monitor that
        // is merely slow to answer is not).
        var monitorGone = monitor is null;
        if (monitor is not null)
        {
            var reader = new StatusReader(monitor.Status);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            string? line = null;
            var silent = false;
            try
            {
                line = await reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                silent = true;
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                monitorGone = true;
            }
            monitorGone |= line is null && reader.AtEnd;
            if (line is not null && line.StartsWith(InitProtocol.Started + " ", StringComparison.Ordinal))
            {
                var pid = int.Parse(line.AsSpan(InitProtocol.Started.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture);
                // Exec and health probes of a reattached container start protoswarm-init as those of a started one do.
                var container = new LinuxContainer(id, pid, sys, cgroups, placement, paths, monitor, time) { _initPath = options.InitPath };
                _ = container.WatchAsync(reader);
                return container;
            }
            if (silent)
            {
                // Alive but mute (stopped, or stuck): this node could neither watch the container nor stop
                // it, and reporting it ended would start a replacement beside it. The monitor is killed
                // and the container's processes with it, then reported as such.
                sys.KillMonitor(monitor);
                monitor.Status.Dispose();
                var unanswered = new LinuxContainer(id, 0, sys, cgroups, placement, paths, null, time);
                unanswered.MonitorGone($"monitor did not answer within {options.StartTimeout.TotalSeconds:0.#} s: it was killed with the container's processes");
                return unanswered;
            }
            // Connected while the monitor was closing down: its exit file is there by now.
            monitor.Status.Dispose();
        }
        var ended = new LinuxContainer(id, 0, sys, cgroups, placement, paths, null, time);
        var recorded = ended.RecordedExit();
        if (recorded < 0 && monitorGone)
        {
            ended.MonitorGone(MonitorGoneMessage);
        }
        else
        {
            ended.Ended(recorded);
        }
        return ended;
    }

    /// <summary>The containers in the state root (running or ended, not yet removed), by id.</summary>
    public static IReadOnlyList<string> List(ContainerRuntimeOptions options) => List(options, LinuxSyscalls.Instance);

    internal static IReadOnlyList<string> List(ContainerRuntimeOptions options, ISyscalls sys) =>
        [.. sys.ListDirectories(options.StateRoot)
            .Where(id => sys.FileExists(Path.Combine(options.StateRoot, id, "config.json")))
            .Order(StringComparer.Ordinal)];

    /// <summary>The container's log (see <see cref="ContainerLog"/>): entries after the sequence
    /// <paramref name="after"/>, oldest first, the last <paramref name="tail"/> only when given. Read through one
    /// <see cref="ContainerLogReader"/>, so a follow's polls resume where the last one stopped.</summary>
    public IReadOnlyList<ContainerLogEntry> ReadLogs(long after = 0, int? tail = null) => _log.Read(after, tail);

    /// <summary>
    /// The container's CPU time, memory and processes from its cgroup(s) now (see <see cref="ContainerUsage"/>);
    /// null once its cgroup is gone, or when it went while being read.
    /// </summary>
    public ContainerUsage? ReadUsage()
    {
        try
        {
            return _placement.Directories.Count == 0 ? null : _cgroups.ReadUsage(_placement);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The log of a container by id, running or ended; it lasts until the container is removed.</summary>
    public static IReadOnlyList<ContainerLogEntry> ReadLogs(string id, ContainerRuntimeOptions options, long after = 0, int? tail = null, int? limit = null) =>
        ContainerLog.Read(Path.Combine(options.StateRoot, id), after, tail, limit);

    /// <summary>
    /// The bytes of the files in a container's writable layer (docker's SizeRw): what removing it gives back beside its
    /// log. Links are counted as themselves, not followed; a file that goes meanwhile counts nothing. 0 when it has none.
    /// </summary>
    public static long WritableLayerSize(string id, ContainerRuntimeOptions options)
    {
        var upper = new DirectoryInfo(new ContainerPaths(Path.Combine(options.StateRoot, id)).Upper);
        if (!upper.Exists)
        {
            return 0;
        }

        long total = 0;
        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (var file in upper.EnumerateFiles("*", walk))
        {
            try
            {
                total += file.LinkTarget is null ? file.Length : 0;
            }
            catch (IOException)
            {
            }
        }

        return total;
    }

    /// <summary>A reader of the log of a container by id that resumes each read where its last one stopped (see <see cref="ContainerLogReader"/>).</summary>
    public static ContainerLogReader LogReader(string id, ContainerRuntimeOptions options) => new(Path.Combine(options.StateRoot, id));

    /// <summary>Docker's logs --follow: the entries after <paramref name="after"/>, then each new one as
    /// the log is polled, until the container has ended and its last lines were read.</summary>
    public async IAsyncEnumerable<ContainerLogEntry> FollowLogsAsync(long after = 0, TimeSpan? interval = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            // Ended is checked before the read: the monitor drained the pipes before it reported the end.
            var ended = _exit.Task.IsCompleted;
            foreach (var entry in ReadLogs(after))
            {
                after = entry.Sequence;
                yield return entry;
            }
            if (ended)
            {
                yield break;
            }
            try
            {
                await _exit.Task.WaitAsync(interval ?? TimeSpan.FromMilliseconds(100), _time, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    internal static string StartFailure(string? line)
    {
        if (line is null)
        {
            return "container init: exited without reporting (see the node host's log)";
        }
        var message = line.StartsWith(InitProtocol.Error + " ", StringComparison.Ordinal) ? line[(InitProtocol.Error.Length + 1)..] : line;
        // An entrypoint that cannot run reads as docker shows it; every other step names init.
        return message.StartsWith("exec:", StringComparison.Ordinal) ? message : "container init: " + message;
    }

    // A monitor that takes a connection on the container's socket: the container runs.
    private static bool Answers(InitProcess monitor)
    {
        monitor.Status.Dispose();
        return true;
    }

    // A failed start leaves nothing behind; a failed start again leaves the ended container as it was.
    private static void Cleanup(ISyscalls sys, ICgroupDriver cgroups, CgroupPlacement? placement, ContainerPaths paths, InitProcess? init, bool again = false)
    {
        if (init is not null)
        {
            init.Status.Dispose();
            if (init.IsChild)
            {
                sys.Reap(init.Pid);
            }
        }
        if (placement is not null)
        {
            cgroups.Remove(placement);
        }
        if (!again)
        {
            sys.RemoveTree(paths.Root);
        }
    }

    /// <summary>Completes when the container's PID 1 has ended: its exit code (128 + signal when a signal
    /// ended it) and whether the memory cgroup's OOM killer did it.</summary>
    public Task<ContainerExit> WaitAsync(CancellationToken cancellationToken = default) => _exit.Task.WaitAsync(cancellationToken);

    /// <summary>Sends a signal to the container's PID 1 (a signal it has no handler for is ignored by a PID 1, except SIGKILL).</summary>
    public async Task KillAsync(int signal, CancellationToken cancellationToken = default)
    {
        if (_exit.Task.IsCompleted)
        {
            return;
        }
        await _send.WaitAsync(cancellationToken);
        try
        {
            await _init!.Status.SendAsync(Encoding.ASCII.GetBytes($"{InitProtocol.Kill} {signal.ToString(CultureInfo.InvariantCulture)}\n"), cancellationToken);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // init is gone, so is the container: WaitAsync has or will have its end.
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>Docker's stop: the stop signal, then SIGKILL once the grace period has passed.</summary>
    public Task<ContainerExit> StopAsync(int signal = 15, TimeSpan? grace = null, CancellationToken cancellationToken = default) =>
        StopAsync(signal, grace, killing: null, cancellationToken);

    /// <summary>Docker's stop; <paramref name="killing"/> is told just before the SIGKILL, when the grace period passed
    /// (docker's second kill event, signal 9).</summary>
    public async Task<ContainerExit> StopAsync(int signal, TimeSpan? grace, Action? killing, CancellationToken cancellationToken = default)
    {
        await KillAsync(signal, cancellationToken);
        try
        {
            return await _exit.Task.WaitAsync(grace ?? TimeSpan.FromSeconds(10), _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            killing?.Invoke();
            await KillAsync(9, cancellationToken);
            return await _exit.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Kills the container if it still runs, then removes its cgroups, writable layer and state
    /// (its mounts lived in its own mount namespace and went with it).</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken = default)
    {
        if (!_exit.Task.IsCompleted)
        {
            await KillAsync(9, cancellationToken);
            await _exit.Task.WaitAsync(cancellationToken);
        }
        CloseStdin();
        if (Interlocked.Exchange(ref _removed, 1) == 0)
        {
            // Ended, yet something may be left in the cgroup (a monitor that was killed): a cgroup with
            // processes cannot be removed, and they must not run on unowned.
            _cgroups.KillAll(_placement);
            // The cgroup goes before the writable layer: its reclaim evicts the clean metadata blocks the
            // container's files brought in, and the deletion then reads back what it needs, charged to
            // this process's cgroup rather than to the removed container's.
            _cgroups.Remove(_placement);
            _sys.RemoveTree(_paths.Root);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_detached)
        {
            await RemoveAsync();
        }
    }

    /// <summary>Lets go of the container without signalling it, as a node host that exits does: the
    /// monitor keeps it running and logging, and <see cref="AttachAsync(string, ContainerRuntimeOptions, CancellationToken)"/>
    /// finds it again. This object is done with (WaitAsync never completes).</summary>
    public void Detach()
    {
        _detached = true;
        _init?.Status.Dispose();
    }

    private async Task WatchAsync(StatusReader reader)
    {
        var status = -1;
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync(CancellationToken.None)) is not null)
            {
                if (line.StartsWith(InitProtocol.Exit + " ", StringComparison.Ordinal))
                {
                    status = int.Parse(line.AsSpan(InitProtocol.Exit.Length + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        if (_init!.IsChild)
        {
            // The monitor reports the end just before it exits; after a detach it lives on, so its
            // reaping waits on a thread of its own rather than one of the pool's.
            await Task.Factory.StartNew(() => _sys.Reap(_init.Pid), CancellationToken.None,
                _detached ? TaskCreationOptions.LongRunning : TaskCreationOptions.None, TaskScheduler.Default);
        }
        _init.Status.Dispose();
        if (_detached)
        {
            return;
        }
        var end = status >= 0 ? status : RecordedExit();
        if (end < 0)
        {
            // The monitor hung up without a word and left no exit status: it was killed.
            await Task.Run(() => MonitorGone(MonitorGoneMessage));
            return;
        }
        Ended(end);
    }

    // The exit file the monitor writes before it reports; -1 when there is none.
    private int RecordedExit()
    {
        try
        {
            return _sys.FileExists(_paths.Exit)
                ? int.Parse(_sys.ReadFile(_paths.Exit).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
                : -1;
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return -1;
        }
    }

    /// <summary>What a container whose monitor was killed reports: its processes went with it, by the
    /// parent-death signal or by <see cref="MonitorGone"/>.</summary>
    public const string MonitorGoneMessage = "monitor gone: the container's processes were killed";

    /// <summary>The monitor was killed. Its PID 1 had the parent-death signal, but the kernel clears
    /// that when a process changes its credentials (an entrypoint that switches user, su or gosu), so
    /// the container may still run, with nobody to reap it, report its end or clean it up: whatever is
    /// left in its cgroup is killed now.</summary>
    private void MonitorGone(string message)
    {
        _cgroups.KillAll(_placement);
        _exit.TrySetResult(new ContainerExit(137, 9, false, message));
    }

    private void Ended(int status)
    {
        if (status < 0)
        {
            // No exit status and no certainty the monitor is gone (it did not answer in time).
            _exit.TrySetResult(new ContainerExit(137, 9, false));
            return;
        }
        var exit = ContainerExit.FromWaitStatus(status, oomKilled: false);
        // 137: SIGKILL, or an --init that exits 128 + 9 for the child the OOM killer ended; the cgroup's count decides.
        var oom = exit.ExitCode == 137 && _placement.Directories.Count > 0 && _cgroups.WasOomKilled(_placement);
        _exit.TrySetResult(exit with { OomKilled = oom });
    }

    private sealed class StatusReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[512];
        private readonly StringBuilder _pending = new();
        private bool _eof;

        /// <summary>The peer closed the connection and every line was read.</summary>
        public bool AtEnd => _eof && _pending.Length == 0;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var text = _pending.ToString();
                var newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline >= 0)
                {
                    _pending.Remove(0, newline + 1);
                    return text[..newline];
                }
                if (_eof)
                {
                    return null;
                }
                var n = await socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    _eof = true;
                    if (_pending.Length > 0)
                    {
                        var rest = _pending.ToString();
                        _pending.Clear();
                        return rest;
                    }
                    return null;
                }
                _pending.Append(Encoding.UTF8.GetString(_buffer, 0, n));
            }
        }
    }
}
