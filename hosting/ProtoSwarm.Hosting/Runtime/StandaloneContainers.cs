using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// A network attachment the managers gave a standalone container (swarmkit's network attachment task): the
/// attachment's id, to give it back with, and the container's address on the network.
/// </summary>
internal sealed record ContainerAttachment(string AttachmentId, AttachedNetwork Network);

/// <summary>What a standalone container asks of the managers for one network: its id and name, and `network connect`'s --alias and --ip.</summary>
internal sealed record ContainerNetworkRequest(string Network, string ContainerId, string ContainerName, ImmutableArray<string> Aliases, string Address = "");

/// <summary>
/// Asks the managers for, and gives back, a standalone container's address on an attachable overlay
/// (<see cref="SwarmRuntime"/> through the node's member); null where the node is in no swarm.
/// </summary>
internal interface INetworkAttacher
{
    /// <summary>Throws <see cref="InvalidOperationException"/> with the managers' refusal (no such network, not attachable).</summary>
    Task<ContainerAttachment> AttachAsync(ContainerNetworkRequest request, CancellationToken ct);

    Task DetachAsync(string attachmentId, CancellationToken ct);
}

/// <summary>
/// The node's standalone containers (`protoswarm run`, `container create|start|stop|rm|logs|wait`), as docker's engine
/// runs `docker run`'s: each is a container of the node's <see cref="LinuxExecutor"/>, made, started, logged and removed
/// by the same controller a task's is, from a task made up for it (no service, no slot, the run's flags as its container
/// spec), so it gets what a task with the same spec gets: a task on no network is on the node's gateway bridge, masqueraded
/// out (docker's default bridge); one run with --network on an attachable overlay gets the address the managers allocated
/// for its attachment, the overlay's interface and the embedded DNS at 127.0.0.11. Each is kept in a file of its own
/// (the made-up task, its name, --rm), so the executor's retain and a swarm leave leave it alone and a node host that
/// restarts finds it again.
/// </summary>
internal sealed partial class StandaloneContainers : IDisposable
{
    /// <summary>docker's rule for a container name (a leading '/' is dropped first).</summary>
    private static readonly Regex ValidName = new("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", RegexOptions.CultureInvariant);

    private static readonly string[] Adjectives =
    [
        "admiring", "brave", "clever", "dreamy", "eager", "festive", "gifted", "happy", "jolly", "keen",
        "lucid", "modest", "nifty", "optimistic", "peaceful", "quirky", "relaxed", "serene", "tender", "vibrant",
    ];

    private static readonly string[] Surnames =
    [
        "babbage", "curie", "darwin", "euler", "feynman", "gauss", "hopper", "johnson", "kepler", "lovelace",
        "meitner", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak", "yonath", "zuse",
    ];

    private readonly LinuxExecutor _executor;
    private readonly string _dir;
    private readonly Func<string> _nodeId;
    private readonly Func<INetworkAttacher?> _attacher;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _names = new(1, 1);
    private readonly TaskCompletionSource _networksReady = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StandaloneContainers(LinuxExecutor executor, string dir, Func<string> nodeId, Func<INetworkAttacher?> attacher, ILoggerFactory loggerFactory)
    {
        _executor = executor;
        _dir = dir;
        _nodeId = nodeId;
        _attacher = attacher;
        _logger = loggerFactory.CreateLogger<StandaloneContainers>();
        executor.IsStandalone = id => _entries.ContainsKey(id) || File.Exists(RecordPath(id));
        executor.StandaloneNamed = name => _entries.FirstOrDefault(e => e.Value.Name == name.TrimStart('/')).Key;
    }

    public void Dispose() => _names.Dispose();

    /// <summary>The node host has its networks (or has none: no swarm): the containers it found ended may start again by their policy.</summary>
    public void NetworksReady() => _networksReady.TrySetResult();

    public static bool Handles(object request) =>
        request is RunContainer or StartContainers or StopContainers or RestartContainers or KillContainers or RemoveContainers or PruneContainers
            or WaitContainer or ReadContainerLogs or ConnectContainerNetwork or DisconnectContainerNetwork;

    /// <summary>The name of a standalone container, or null for a task's.</summary>
    public string? NameOf(string id) => _entries.TryGetValue(id, out var entry) ? entry.Name : null;

    /// <summary>A standalone container's restart policy and restarts, for `ps` and `inspect`; null for a task's.</summary>
    /// <summary>A standalone container's --expose, --tmpfs and --shm-size, for inspect; null for a task's.</summary>
    public RunSettings? SettingsOf(string id) => _entries.TryGetValue(id, out var entry) ? entry.Settings : null;

    public StandaloneRestart? RestartOf(string id) => _entries.TryGetValue(id, out var entry)
        ? new StandaloneRestart(entry.Policy, entry.Restart.Restarts, entry.Restarting, entry.StartFailure)
        : null;

    /// <summary>One standalone container: the task made up for it, its controller, and what its end waits for.</summary>
    private sealed class Entry(string name, TaskObject task, bool autoRemove, ITaskController controller, ContainerRestartPolicy policy)
    {
        public string Name { get; } = name;
        public TaskObject Task { get; set; } = task;
        public bool AutoRemove { get; } = autoRemove;
        public ContainerRestartPolicy Policy { get; } = policy;
        public ITaskController Controller { get; set; } = controller;
        /// <summary>Its network attachments, in the order of its task's networks (run --network's first, then network connect's).</summary>
        public ImmutableList<ContainerAttachment> Attachments { get; set; } = [];

        /// <summary>The names of its networks by id, as they were when it joined (`network disconnect NAME` of an ended one: no view names them then).</summary>
        public ImmutableDictionary<string, string> NetworkNames { get; set; } = ImmutableDictionary<string, string>.Empty;

        /// <summary>The resolv.conf a created container is to get when it starts: `network connect` gave it the embedded DNS meanwhile.</summary>
        public string? PendingResolvConf { get; set; }

        /// <summary>The /etc/hosts changes (a line added or removed for an address) `network connect|disconnect` made while it was created, for its start.</summary>
        public ImmutableList<(bool Add, string Address)> PendingHosts { get; set; } = [];
        public bool Started { get; set; }

        /// <summary>What of its run inspect shows and its spec does not keep apart: --expose, --tmpfs and --shm-size as given.</summary>
        public RunSettings Settings { get; set; } = RunSettings.None;
        public int Attached;
        public TaskCompletionSource Detached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The restarts made by the policy, and its last wait.</summary>
        public RestartState Restart { get; set; } = RestartState.Initial;

        /// <summary>`stop` stopped it (docker's HasBeenManuallyStopped): no restart, and an unless-stopped one stays down after a node host restart.</summary>
        public bool StoppedByUser { get; set; }

        /// <summary>Ended, and waiting for its restart; cancelled by stop, start and rm -f.</summary>
        public CancellationTokenSource? Pending { get; set; }

        public bool Restarting => Pending is not null;

        /// <summary>Which start this is: a watch of an older run that ends late does not decide for the newer.</summary>
        public int Run { get; set; }

        /// <summary>The watch of its current run: `restart` waits for it to let go of the run it stopped before it starts the next.</summary>
        public System.Threading.Tasks.Task Watching { get; set; } = System.Threading.Tasks.Task.CompletedTask;

        /// <summary>`restart` stops it to start it again: an --rm one is kept through the stop, as docker's restart keeps it.</summary>
        public bool KeptThroughStop { get; set; }

        /// <summary>Why its last start failed (inspect's State.Error and ExitCode), until a start succeeds.</summary>
        public ContainerStartFailure? StartFailure { get; set; }
    }

    /// <summary>Finds again, after a node host restart, the standalone containers its files name (ended ones included).</summary>
    public async Task RestoreAsync(CancellationToken ct)
    {
        if (!Directory.Exists(_dir))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(_dir, "*.task"))
        {
            try
            {
                var task = ContractRegistry.Deserialize<TaskObject>(await File.ReadAllBytesAsync(file, ct));
                var controller = _executor.CreateController(task);
                if ((await controller.InspectAsync(ct)).Exists)
                {
                    var entry = await ReadEntryAsync(file, task, controller, started: true, ct);
                    _entries[task.Id] = entry;
                    entry.Detached.TrySetResult();
                    entry.Watching = WatchAsync(entry, restored: true);
                    // A node host that stopped between its start and the record's change left the mark of one only created.
                    File.Delete(Path.ChangeExtension(file, ".created"));
                }
                else if (File.Exists(Path.ChangeExtension(file, ".created")))
                {
                    await RestoreCreatedAsync(file, task, controller, ct);
                }
                else
                {
                    DeleteRecord(task.Id);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRestoreFailed(_logger, file, e);
            }
        }
    }

    /// <summary>
    /// After a node host restart, the running containers were found again (<see cref="RestoreAsync"/>) before the node's
    /// networks existed, which are made as it rejoins its swarm: they get back now what their namespaces lost with the node
    /// host that ran them (they kept their interfaces): those on the node's bridge their address and published ports, those
    /// on overlays their embedded DNS server and rules too, each once its networks' views from the managers are here. Each
    /// on its own, so one whose views are late holds back no other.
    /// </summary>
    public Task RestoreNetworksAsync(CancellationToken ct) =>
        Task.WhenAll(_entries.Values.Where(e => e.Started).ToList().Select(async entry =>
        {
            try
            {
                await _executor.RestoreNetworksAsync(entry.Task, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRestoreFailed(_logger, RecordPath(entry.Task.Id), e);
            }
        }));

    /// <summary>
    /// A container made and never started (docker's `create`, or a `run` whose start failed) has no state directory to find
    /// again: it is made ready to start again from its record, as it was (its name, its volumes, its Created), and waits for `start`.
    /// </summary>
    private async Task RestoreCreatedAsync(string file, TaskObject task, ITaskController controller, CancellationToken ct)
    {
        var entry = await ReadEntryAsync(file, task, controller, started: false, ct);
        _entries[task.Id] = entry;
        entry.Detached.TrySetResult();
        // Listed (ps -a) once prepared; one that cannot be prepared now (its network not there yet) is prepared by its start.
        await controller.PrepareAsync(ct);
    }

    /// <summary>A container as its record and the files beside it keep it (restart policy, networks' names, run settings, attachments).</summary>
    private static async Task<Entry> ReadEntryAsync(string file, TaskObject task, ITaskController controller, bool started, CancellationToken ct)
    {
        var attachment = Path.ChangeExtension(file, ".attachment");
        var (policy, restart, stopped) = await ReadRestartAsync(Path.ChangeExtension(file, ".restart"), ct);
        return new Entry(task.ServiceName, task, File.Exists(Path.ChangeExtension(file, ".rm")), controller, policy)
        {
            Restart = restart,
            StoppedByUser = stopped,
            Started = started,
            NetworkNames = await ReadNetworkNamesAsync(Path.ChangeExtension(file, ".networks"), ct),
            Settings = await ReadSettingsAsync(Path.ChangeExtension(file, ".settings"), ct),
            StartFailure = await ReadStartFailureAsync(Path.ChangeExtension(file, ".error"), ct),
            Attachments = File.Exists(attachment)
                ? [.. (await File.ReadAllLinesAsync(attachment, ct)).Where(l => l.Length > 0).Zip(task.Networks, (a, n) => new ContainerAttachment(a.Trim(), n))]
                : [],
        };
    }

    public async Task<object> HandleAsync(object request, CancellationToken ct)
    {
        try
        {
            return request switch
            {
                RunContainer m => await CreateAsync(m, ct) is var (entry, refusal) && entry is null ? refusal! : new ContainerCreated(entry!.Task.Id, entry.Name),
                StartContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, StartAsync, ct, start: true)))]),
                StopContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => StopAsync(id, m.TimeoutSeconds, m.Signal, t), ct)))]),
                RestartContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => RestartAsync(id, m.TimeoutSeconds, m.Signal, t), ct)))]),
                KillContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => KillAsync(c, id, m.Signal, t), ct)))]),
                PruneContainers m => await PruneAsync(m, ct),
                RemoveContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => RemoveAsync(id, m.Force, m.RemoveVolumes, t), ct)))]),
                WaitContainer m => await WaitAsync(m, ct),
                ConnectContainerNetwork m => await ConnectAsync(m, ct),
                DisconnectContainerNetwork m => await DisconnectAsync(m, ct),
                ReadContainerLogs m => Resolve(m.Container) is var (id, error) && error is not null
                    ? new CommandRejected(RejectCode.NotFound, error)
                    : new CommandRejected(RejectCode.InvalidArgument, "container logs streams its answer; this connection cannot stream (use the node's control socket)"),
                _ => new CommandRejected(RejectCode.InvalidArgument, $"{request.GetType().Name} is not a container command"),
            };
        }
        catch (ContainerRefusal e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
    }

    /// <summary>`run` without -d, and `container logs`: the answer is a stream of exec frames on the connection.</summary>
    public static bool Streams(object request) => request is RunContainer { Attach: true, Start: true } or ReadContainerLogs or StartContainers { Attach: true };

    public async Task StreamAsync(object request, Stream connection, CancellationToken ct)
    {
        switch (request)
        {
            case RunContainer run:
            {
                var (entry, refusal) = await CreateAsync(run, ct, attach: true);
                if (entry is null)
                {
                    await ControlFraming.WriteAsync(connection, refusal!, ct);
                    return;
                }

                using var inputStop = new CancellationTokenSource();
                var input = Task.CompletedTask;
                try
                {
                    await ControlFraming.WriteAsync(connection, new ContainerCreated(entry.Task.Id, entry.Name, run.Tty), ct);
                    if (run.Tty)
                    {
                        // With -i the client's end is docker's detach (^P^Q): the container goes on. Without, as below.
                        if (await TerminalAsync(entry.Task.Id, connection, run.Interactive, 0, ct) && !run.Interactive)
                        {
                            await InterruptAsync(entry.Task.Id);
                        }

                        return;
                    }

                    if (run.Interactive && _executor.ContainerOf(entry.Task.Id) is { } running)
                    {
                        input = Task.Factory.StartNew(() => RelayInput(running, connection, inputStop.Token), CancellationToken.None,
                            TaskCreationOptions.LongRunning, TaskScheduler.Default);
                    }

                    await FollowAsync(entry.Task.Id, connection, follow: true, tail: null, ct);
                    await inputStop.CancelAsync();
                    await input;
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                    await InterruptAsync(entry.Task.Id);
                }
                finally
                {
                    await inputStop.CancelAsync();
                    if (Interlocked.Decrement(ref entry.Attached) == 0)
                    {
                        entry.Detached.TrySetResult();
                    }
                }

                return;
            }

            case StartContainers { Containers: [var reference] } start:
            {
                // docker's start -a: this run's output (the log after what earlier runs wrote), then its exit code.
                var (id, error) = Resolve(reference);
                var spec = id is not null && _entries.TryGetValue(id, out var started) ? started.Task.Spec.Container : null;
                if (spec is { TTY: true } && start.Interactive && !start.InputIsTerminal)
                {
                    // docker's words, before anything starts.
                    await ControlFraming.WriteAsync(connection, new CommandRejected(RejectCode.InvalidArgument, "the input device is not a TTY"), ct);
                    return;
                }

                var after = id is null ? 0 : LinuxContainer.LogReader(id, _executor.Options).Read(0, 1, null) is [.., var last] ? last.Sequence : 0;
                var change = error is null ? await ChangeAsync(reference, StartAsync, ct, start: true) : new ContainerChange(reference, error);
                if (change.Error.Length > 0)
                {
                    await ControlFraming.WriteAsync(connection, new CommandRejected(error is null ? RejectCode.Conflict : RejectCode.NotFound, change.Error), ct);
                    return;
                }

                using var inputStop = new CancellationTokenSource();
                var input = Task.CompletedTask;
                try
                {
                    await ControlFraming.WriteAsync(connection, new ContainerCreated(id!, DisplayName(id!), spec?.TTY ?? false), ct);
                    if (spec is { TTY: true })
                    {
                        await TerminalAsync(id!, connection, start.Interactive, after, ct);
                        return;
                    }

                    if (start.Interactive && spec is { OpenStdin: true } && _executor.ContainerOf(id!) is { } running)
                    {
                        input = Task.Factory.StartNew(() => RelayInput(running, connection, inputStop.Token), CancellationToken.None,
                            TaskCreationOptions.LongRunning, TaskScheduler.Default);
                    }

                    await FollowAsync(id!, connection, follow: true, tail: null, ct, after);
                    await inputStop.CancelAsync();
                    await input;
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                }

                return;
            }

            case ReadContainerLogs logs:
            {
                var (id, error) = Resolve(logs.Container);
                if (error is not null)
                {
                    await ControlFraming.WriteAsync(connection, new CommandRejected(RejectCode.NotFound, error), ct);
                    return;
                }

                try
                {
                    await ControlFraming.WriteAsync(connection, new ContainerCreated(id!, DisplayName(id!)), ct);
                    await FollowAsync(id!, connection, logs.Follow, logs.Tail, ct);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                }

                return;
            }
        }
    }

    /// <summary>The client of an attached run went away (^C): docker's run passes SIGINT to the container, which goes on if it ignores it.</summary>
    private async Task InterruptAsync(string id)
    {
        if (_executor.ContainerOf(id) is { HasExited: false } container)
        {
            await container.KillAsync(2, CancellationToken.None);
        }
    }

    /// <summary>
    /// An attached TTY container (run -t, start -a): its terminal, attached through its monitor, raw in Stdout frames as it
    /// prints (a prompt without a newline too, which its log holds back until the line ends); with <paramref name="interactive"/>
    /// the client's Stdin frames are typed on it. Its Resize frames size it either way, as docker sizes a -t container's
    /// terminal to its client's. Then the exit frame. True when the client went away first (docker's detach, ^P^Q, ends so):
    /// the container goes on. A container that ended before the attach came gives this run's log instead (after
    /// <paramref name="after"/>), as a container without a terminal does.
    /// </summary>
    private async Task<bool> TerminalAsync(string id, Stream connection, bool interactive, long after, CancellationToken ct)
    {
        var container = _executor.ContainerOf(id);
        using var terminal = container?.AttachTerminal();
        if (terminal is null)
        {
            await FollowAsync(id, connection, follow: true, tail: null, ct, after);
            return false;
        }

        using var writer = new ExecFrameWriter(connection);
        using var inputStop = new CancellationTokenSource();
        var output = Task.Factory.StartNew(() => RelayTerminalOutput(terminal, writer), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var input = Task.Factory.StartNew(() => RelayTerminalInput(terminal, connection, interactive, inputStop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var first = await Task.WhenAny(output, input);
        if (first == input || !await output)
        {
            // The client's connection ended, or took no more: detached.
            terminal.Detach();
            await output;
            await inputStop.CancelAsync();
            await input;
            return true;
        }

        await inputStop.CancelAsync();
        await input;
        var exit = await container!.WaitAsync(ct);
        await writer.WriteAsync(ExecFrameKind.Exit, ExecFrames.Exit(exit.ExitCode, false));
        return false;
    }

    /// <summary>The terminal's output to the client until the terminal's end (true) or the client's (false).</summary>
    private static bool RelayTerminalOutput(TerminalAttachment terminal, ExecFrameWriter writer)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        int n;
        while ((n = terminal.Read(buffer)) > 0)
        {
            try
            {
                writer.WriteAsync(ExecFrameKind.Stdout, buffer.AsMemory(0, n)).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The client's frames to the terminal until the client's end, or <paramref name="stop"/>: keys with -i, sizes always. Its
    /// CloseStdin is not the terminal's end (docker's -it keeps the terminal), so nothing closes.
    /// </summary>
    private static void RelayTerminalInput(TerminalAttachment terminal, Stream connection, bool interactive, CancellationToken stop)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        try
        {
            while (ExecFrames.ReadAsync(connection, buffer, stop).GetAwaiter().GetResult() is var (kind, length))
            {
                if (kind == ExecFrameKind.Stdin && interactive)
                {
                    terminal.Write(buffer.AsSpan(0, length));
                }
                else if (kind == ExecFrameKind.Resize)
                {
                    var (rows, columns) = ExecFrames.ReadResize(buffer.AsSpan(0, length));
                    terminal.Resize(rows, columns);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidDataException or ObjectDisposedException)
        {
            // The container ended (stop), or the client went away or spoke nonsense: either way its input ends here.
        }
    }

    /// <summary>
    /// `run -i`: the client's Stdin frames written to the main process's stdin, in order, on a thread of its own (a full
    /// FIFO blocks the write, and so the client: nothing grows here); its CloseStdin frame, or the client's end of the
    /// connection, closes it. Input the process no longer reads (it closed its stdin, or ended: EPIPE) is dropped, as
    /// docker drops it. Ends with the attach (<paramref name="stop"/>).
    /// </summary>
    private static void RelayInput(LinuxContainer container, Stream connection, CancellationToken stop)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        try
        {
            while (ExecFrames.ReadAsync(connection, buffer, stop).GetAwaiter().GetResult() is var (kind, length))
            {
                if (kind == ExecFrameKind.CloseStdin)
                {
                    break;
                }

                if (kind == ExecFrameKind.Stdin && container.Stdin is { } stdin)
                {
                    try
                    {
                        stdin.Write(buffer.AsSpan(0, length));
                        stdin.Flush();
                    }
                    catch (IOException)
                    {
                        container.CloseStdin();
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidDataException or ObjectDisposedException)
        {
            // The attach ended, or the client went away or spoke nonsense: its input ends here.
        }

        container.CloseStdin();
    }

    /// <summary>
    /// The container's log as exec frames, each line on its stream, then an exit frame: its exit code once it ended when
    /// following (0 when it still runs and the follow was not asked for). A container removed meanwhile ends the stream.
    /// </summary>
    private async Task FollowAsync(string id, Stream connection, bool follow, int? tail, CancellationToken ct, long after = 0)
    {
        using var writer = new ExecFrameWriter(connection);
        var reader = LinuxContainer.LogReader(id, _executor.Options);
        var first = true;
        while (true)
        {
            var container = _executor.ContainerOf(id);
            var ended = container is null || container.HasExited;
            var entries = reader.Read(after, first ? tail : null, null);
            first = false;
            foreach (var entry in entries)
            {
                after = entry.Sequence;
                await writer.WriteAsync(entry.Stream == ContainerLogStream.Stderr ? ExecFrameKind.Stderr : ExecFrameKind.Stdout,
                    Encoding.UTF8.GetBytes(entry.Text + "\n"));
            }

            if (!follow || ended)
            {
                var code = container is { HasExited: true } ? (await container.WaitAsync(ct)).ExitCode : 0;
                await writer.WriteAsync(ExecFrameKind.Exit, ExecFrames.Exit(code, false));
                return;
            }

            try
            {
                await container!.WaitAsync(ct).WaitAsync(TimeSpan.FromMilliseconds(100), ct);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>docker's run and create: the made-up task, its container prepared (and started), its end watched.</summary>
    private async Task<(Entry? Entry, CommandRejected? Refusal)> CreateAsync(RunContainer run, CancellationToken ct, bool attach = false)
    {
        if (run.Image.Length == 0)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "\"protoswarm run\" requires at least 1 argument: an IMAGE"));
        }

        var (policy, policyError) = ContainerRestartPolicy.Parse(run.Restart);
        if (policy is null)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, policyError!));
        }

        if (run.AutoRemove && !policy.IsNone)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "Conflicting options: --restart and --rm"));
        }

        var (mounts, mountError) = Mounts(run);
        if (mountError is not null)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, mountError));
        }

        var (ports, portError) = Ports(run);
        if (portError is not null)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, portError));
        }

        // docker's --network bridge (and default) is the default bridge: where a container run without --network is.
        var network = run.Network is LocalNetwork.Bridge or "default" ? string.Empty : run.Network;
        var mode = PredefinedNetworks.IsMode(network) ? network : null;
        if (NetworkModePortsError(mode, ports.Count > 0 || run.PublishAll) is { } modeError)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, modeError));
        }

        if (mode == PredefinedNetworks.Host)
        {
            // docker discards them (its CLI warns); the container binds the node's own ports itself.
            ports = [];
            run = run with { PublishAll = false };
        }

        if (ResourcesError(run) is { } resourcesError)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, resourcesError));
        }

        if (ConfinementError(run) is { } confinementError)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, confinementError));
        }

        if (run.PublishAll)
        {
            try
            {
                ports = PublishAll(ports, [.. await _executor.ExposedPortsAsync(run.Image, ct), .. ExposedPorts(run)]);
            }
            catch (InvalidOperationException e)
            {
                return (null, new CommandRejected(e.Message.StartsWith("No such image", StringComparison.Ordinal) ? RejectCode.NotFound : RejectCode.InvalidArgument, e.Message));
            }
        }

        var command = run.Command.IsDefault ? [] : run.Command;
        var entrypoint = run.Entrypoint is { IsDefault: false } given ? given : (ImmutableArray<string>?)null;
        var id = SwarmIds.New();
        Entry entry;
        var made = false;
        await _names.WaitAsync(ct);
        try
        {
            var name = run.Name.TrimStart('/');
            if (name.Length > 0 && !ValidName.IsMatch(name))
            {
                return (null, new CommandRejected(RejectCode.InvalidArgument, $"Invalid container name ({run.Name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
            }

            if (name.Length == 0)
            {
                name = GenerateName();
            }
            else if (Names().FirstOrDefault(n => n.Name == name) is { Id: { } holder })
            {
                return (null, new CommandRejected(RejectCode.Conflict,
                    $"Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."));
            }

            var spec = new ContainerSpec(
                run.Image,
                Command: entrypoint is { } e ? (e.IsEmpty ? command : e) : [],
                Args: entrypoint is { IsEmpty: true } ? [] : command,
                Env: run.Env.IsDefault ? [] : run.Env,
                Dir: run.WorkingDir,
                User: run.User,
                Labels: run.Labels,
                Hostname: run.Hostname,
                TTY: run.Tty,
                OpenStdin: run.Interactive) { Mounts = [.. mounts] };
            spec = Confined(spec, run);
            // docker's --cpus, --memory, --memory-reservation and --pids-limit are what a service's --limit-cpu, --limit-memory,
            // --reserve-memory and --limit-pids are to its tasks: the same cgroup settings.
            var resources = new ResourceRequirements(new ResourceAmounts(run.NanoCpus, run.MemoryBytes, run.PidsLimit), new ResourceAmounts(0, run.MemoryReservationBytes));
            var now = DateTimeOffset.UtcNow;
            var task = new TaskObject(id, ObjectMeta.New(now), string.Empty, 0, _nodeId(),
                new TaskSpec(spec, resources, Networks: mode is null ? [] : [new NetworkAttachment(mode)], LogDriver: run.LogDriver), 0, TaskState.Running,
                new TaskObservedStatus(TaskState.New, now), ServiceName: name, Endpoint: ports.Count > 0 ? new EndpointSpec(Ports: [.. ports]) : null);
            entry = new Entry(name, task, run.AutoRemove, _executor.CreateController(task), policy) { Settings = RunSettings.Of(run) };
            if (attach)
            {
                entry.Attached = 1;
            }
            else
            {
                entry.Detached.TrySetResult();
            }

            _entries[id] = entry;
        }
        finally
        {
            _names.Release();
        }

        try
        {
            if (network.Length > 0 && mode is null)
            {
                var attacher = _attacher() ?? throw new ContainerRefusal(RejectCode.Conflict,
                    $"network {network} not found: this node is in no swarm, and a standalone container joins only the swarm's attachable overlays (or host, or none); run it without --network, or join a swarm first");
                var attachment = await attacher.AttachAsync(new ContainerNetworkRequest(network, id, entry.Name, []), ct);
                entry.Attachments = [attachment];
                if (!attachment.Network.NetworkId.StartsWith(network, StringComparison.Ordinal))
                {
                    entry.NetworkNames = entry.NetworkNames.SetItem(attachment.Network.NetworkId, network);
                }

                entry.Task = entry.Task with
                {
                    Spec = entry.Task.Spec with { Networks = [new NetworkAttachment(attachment.Network.NetworkId)] },
                    Networks = [attachment.Network],
                };

                entry.Controller = _executor.CreateController(entry.Task);
            }

            // docker's create gives each path the image declares VOLUME for an anonymous volume, unless a -v or --mount is there.
            if (TaskContainers.ImageVolumes(await _executor.ImageVolumesAsync(run.Image, ct), entry.Task.Spec.Container.Mounts) is { Count: > 0 } imageVolumes)
            {
                entry.Task = entry.Task with
                {
                    Spec = entry.Task.Spec with { Container = entry.Task.Spec.Container with { Mounts = [.. entry.Task.Spec.Container.Mounts, .. imageVolumes] } },
                };
            }

            if (entry.Task.Spec.Container.Mounts.Any(m => (m.Type == MountType.Volume && m.Source.Length == 0) || m.Type == MountType.Bind))
            {
                entry.Task = entry.Task with
                {
                    Spec = entry.Task.Spec with { Container = entry.Task.Spec.Container with { Mounts = [.. MakeSources(id, entry.Task.Spec.Container.Mounts, run)] } },
                };
                entry.Controller = _executor.CreateController(entry.Task);
            }

            await WriteRecordAsync(entry, ct);
            await entry.Controller.PrepareAsync(ct);
            made = true;
            if (run.Start)
            {
                await entry.Controller.StartAsync(ct);
                MarkStarted(entry);
                LogStarted(_logger, id, entry.Name, run.Image);
                entry.Watching = WatchAsync(entry);
            }

            return (entry, null);
        }
        catch (Exception e) when (made && !run.AutoRemove && e is InvalidOperationException)
        {
            // docker's run: the container was created and its start failed; it stays, created, for `ps -a`, `start` and `rm`.
            LogRunStartFailed(_logger, id, entry.Name, e.Message);
            await RecordStartFailureAsync(entry, e);
            return (null, new CommandRejected(RejectCode.InvalidArgument, StartError(e)));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A --rm one goes with what was made for it, its anonymous volumes too, as docker's daemon removes it when its start fails.
            await DropAsync(entry);
            return (null, e switch
            {
                ContainerRefusal r => new CommandRejected(r.Code, r.Message),
                InvalidOperationException when e.Message.StartsWith("No such image", StringComparison.Ordinal) => new CommandRejected(RejectCode.NotFound, e.Message),
                InvalidOperationException when made => new CommandRejected(RejectCode.InvalidArgument, StartError(e)),
                InvalidOperationException => new CommandRejected(RejectCode.InvalidArgument, e.Message),
                _ => new CommandRejected(RejectCode.Internal, $"the container could not be made: {e.Message}; see protoswarmd's log"),
            });
        }
    }

    /// <summary>
    /// A failed start in docker's daemon's words: the container's process could not be made (its command not found, not
    /// executable, its init refused) is docker's "failed to create task for container: ..." (the CLI tells 127 and 126 apart
    /// by its words, <c>exec: "x": executable file not found in $PATH</c> or <c>permission denied</c>); a host port taken
    /// meanwhile and the like keep their own words. Never prefixed with the container's name, as docker's are not.
    /// </summary>
    internal static string StartError(Exception e) =>
        e.InnerException is ContainerStartException or InvalidContainerSpecificationException ? "failed to create task for container: " + e.Message : e.Message;

    /// <summary>
    /// The refusal of ports published from a container on none, which has loopback alone, so nothing could reach them (docker
    /// would start it and publish nothing); null otherwise. Those of one on host are dropped instead, with docker's warning.
    /// </summary>
    internal static string? NetworkModePortsError(string? mode, bool publishes) =>
        mode == PredefinedNetworks.None && publishes ? PredefinedNetworks.NonePublishConflict : null;

    /// <summary>docker's -p of a run as host-mode ports, or the refusal of one (a bad -p, one host port twice).</summary>
    internal static (IReadOnlyList<PortConfig> Ports, string? Error) Ports(RunContainer run)
    {
        var ports = new List<PortConfig>();
        foreach (var text in run.Publish.IsDefault ? [] : run.Publish)
        {
            var (port, error) = PublishFlag.Parse(text);
            if (port is null)
            {
                return ([], error);
            }

            if (port.PublishedPort > 0 && ports.Any(p => p.PublishedPort == port.PublishedPort && p.Protocol == port.Protocol))
            {
                return ([], string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Bind for 0.0.0.0:{port.PublishedPort} failed: port is already allocated"));
            }

            ports.Add(port);
        }

        return (ports, null);
    }

    /// <summary>docker's refusals of --cpus, --memory and --memory-reservation the CLI checked too (another client may not have).</summary>
    internal static string? ResourcesError(RunContainer run) =>
        run.NanoCpus < 0 ? "invalid argument for --cpus: the number of CPUs must not be negative"
        : run.MemoryBytes < 0 || run.MemoryReservationBytes < 0 ? "invalid argument for --memory: a size must not be negative"
        : run.MemoryBytes > 0 && run.MemoryReservationBytes > run.MemoryBytes ? "Minimum memory limit can not be less than memory reservation limit, see usage"
        : null;

    /// <summary>
    /// docker's -P: each port the image EXPOSEs ("80/tcp", "53/udp", "8080") published on a free port of the node (a host port of 0
    /// is one the node picks, as for `-p 80`), unless a -p publishes that port already.
    /// </summary>
    internal static IReadOnlyList<PortConfig> PublishAll(IReadOnlyList<PortConfig> ports, IEnumerable<string> exposed)
    {
        var all = ports.ToList();
        foreach (var text in exposed)
        {
            if (PublishFlag.Parse(text).Port is { } port && !all.Any(p => p.TargetPort == port.TargetPort && p.Protocol == port.Protocol))
            {
                all.Add(port);
            }
        }

        return all;
    }

    /// <summary>
    /// A run's confinement, health, resolver and log settings laid on its container spec, where a service's flags of the same
    /// meaning put them, so the executor runs them as it runs a task's (--stop-timeout is the stop grace period in seconds).
    /// </summary>
    internal static ContainerSpec Confined(ContainerSpec spec, RunContainer run) => spec with
    {
        CapabilityAdd = run.CapAdd,
        CapabilityDrop = run.CapDrop,
        ReadOnly = run.ReadOnly,
        Init = run.Init,
        StopSignal = run.StopSignal,
        StopGracePeriod = run.StopTimeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        HealthCheck = run.HealthCheck,
        Hosts = run.Hosts,
        Dns = run.Dns,
        Sysctls = run.Sysctls,
        Ulimits = run.Ulimits,
        Groups = run.GroupAdd,
    };

    /// <summary>
    /// The refusal of a run's confinement, health, resolver, log or --expose settings the CLI checked too (another client may
    /// not have), or null: each judged by the checks a service's spec passes (<see cref="ServiceSpecValidator"/>), on a spec
    /// that holds only them, so the problems found are theirs.
    /// </summary>
    internal static string? ConfinementError(RunContainer run)
    {
        if (run.StopTimeout < 0)
        {
            return "invalid argument for --stop-timeout: give the seconds to wait for the stop signal before SIGKILL, 0 or more";
        }

        if (run.StopSignal.Length > 0 && SignalRule.Parse(run.StopSignal) is null)
        {
            return $"Invalid signal: {run.StopSignal}";
        }

        if (run.PidsLimit < 0 || run.ShmSize < 0)
        {
            return run.PidsLimit < 0 ? "invalid argument for --pids-limit: give the most processes, 0 for no limit" : "invalid argument for --shm-size: a size must not be negative";
        }

        if (run.Expose.Select(RunFlags.Expose).FirstOrDefault(e => e.Error is not null).Error is { } exposeError)
        {
            return exposeError;
        }

        var (mounts, _) = Mounts(RunSettings.Holder with { Tmpfs = run.Tmpfs });
        var container = Confined(new ContainerSpec("busybox") { Mounts = [.. mounts] }, run);
        var spec = new ServiceSpec("standalone", ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(),
            new TaskSpec(container, new ResourceRequirements(new ResourceAmounts(0, 0, run.PidsLimit), ResourceAmounts.None), LogDriver: run.LogDriver));
        return ServiceSpecValidator.Validate(spec) is [var first, ..] ? $"invalid argument: {first.Problem}; {first.Fix}" : null;
    }

    /// <summary>docker's --expose of a run as Config.ExposedPorts keys ("80/tcp"), each checked before (<see cref="ConfinementError"/>).</summary>
    internal static IReadOnlyList<string> ExposedPorts(RunContainer run) => [.. run.Expose.SelectMany(e => RunFlags.Expose(e).Ports).Distinct(StringComparer.Ordinal)];

    /// <summary>docker's -v and --mount of a run, in that order, or the refusal of one (a bad -v, two mounts on one path).</summary>
    internal static (IReadOnlyList<MountSpec> Mounts, string? Error) Mounts(RunContainer run)
    {
        var mounts = new List<MountSpec>();
        foreach (var text in run.Volumes.IsDefault ? [] : run.Volumes)
        {
            var (mount, error) = VolumeFlag.Parse(text);
            if (mount is null)
            {
                return ([], error);
            }

            mounts.Add(mount);
        }

        mounts.AddRange(run.Mounts.IsDefault ? [] : run.Mounts);
        foreach (var text in run.Tmpfs)
        {
            var (mount, error) = RunFlags.Tmpfs(text);
            if (mount is null)
            {
                return ([], error);
            }

            mounts.Add(mount);
        }

        if (mounts.GroupBy(m => m.Target.TrimEnd('/'), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return ([], $"Duplicate mount point: {twice.First().Target}");
        }

        // docker's --shm-size resizes the container's /dev/shm; a mount of the operator's own there wins, as in docker.
        if (run.ShmSize > 0 && !mounts.Any(m => m.Target.TrimEnd('/') == "/dev/shm"))
        {
            mounts.Add(RunFlags.ShmMount(run.ShmSize));
        }

        return (mounts, null);
    }

    /// <summary>
    /// What docker's create makes for the mounts: an anonymous volume (named now, kept by the container across its starts,
    /// removed with it by `rm -v` or --rm, else left for `volume prune`) for each volume without a source (an image VOLUME's
    /// too), and the host
    /// directory of a -v bind that is missing.
    /// </summary>
    private IEnumerable<MountSpec> MakeSources(string id, IEnumerable<MountSpec> mounts, RunContainer run)
    {
        var volumeBinds = (run.Volumes.IsDefault ? [] : run.Volumes).Select(v => VolumeFlag.Parse(v).Mount).OfType<MountSpec>()
            .Where(m => m.Type == MountType.Bind).Select(m => m.Source).ToHashSet(StringComparer.Ordinal);
        foreach (var mount in mounts)
        {
            if (mount.Type == MountType.Volume && mount.Source.Length == 0)
            {
                yield return mount with { Source = _executor.Volumes.Create(string.Empty, mount.VolumeLabels, options: mount.VolumeOptions, anonymousFor: id).Name };
                continue;
            }

            if (mount.Type == MountType.Bind && volumeBinds.Contains(mount.Source) && !Path.Exists(mount.Source))
            {
                Directory.CreateDirectory(mount.Source);
            }

            yield return mount;
        }
    }

    /// <summary>A container that could not be made: whatever was made for it goes, and so does its attachment.</summary>
    private async Task DropAsync(Entry entry)
    {
        _entries.TryRemove(entry.Task.Id, out _);
        try
        {
            await entry.Controller.RemoveAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCleanupFailed(_logger, entry.Task.Id, e);
        }

        await ReleaseAttachmentAsync(entry);
        DeleteRecord(entry.Task.Id);
    }

    private async Task ReleaseAttachmentAsync(Entry entry)
    {
        if (!entry.Attachments.IsEmpty && _attacher() is { } attacher)
        {
            var attachments = entry.Attachments;
            entry.Attachments = [];
            File.Delete(Path.ChangeExtension(RecordPath(entry.Task.Id), ".attachment"));
            foreach (var attachment in attachments)
            {
                await GiveBackAsync(attacher, entry, attachment);
            }
        }
    }

    private async Task GiveBackAsync(INetworkAttacher attacher, Entry entry, ContainerAttachment attachment)
    {
        try
        {
            await attacher.DetachAsync(attachment.AttachmentId, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDetachFailed(_logger, entry.Task.Id, e);
        }
    }

    /// <summary>
    /// The container's end: its network namespace goes at once (as a task's), and with --rm the container too, once
    /// an attached client has read its last lines, as docker's run --rm. Its restart policy may start it again, after
    /// the policy's wait; a node host that finds it ended (<paramref name="restored"/>) starts it at once, as docker's
    /// daemon starts its always and unless-stopped containers.
    /// </summary>
    /// <summary>
    /// Runs a started container's health check (its own or its image's) for as long as it runs, as docker's daemon does for
    /// every container: a task's is run by its task actor, which waits on it; nothing else does for a standalone one. Its
    /// state is only shown (ps, inspect): unhealthy restarts no standalone container, as docker's.
    /// </summary>
    private static async Task FollowHealthAsync(ITaskController controller)
    {
        if (controller.HealthChecked != true)
        {
            return;
        }

        try
        {
            for (var known = ContainerHealth.Starting; ;)
            {
                var next = await controller.WaitHealthAsync(known, CancellationToken.None);
                if (next == known)
                {
                    return;
                }

                known = next;
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The container stopped: its checks ended with it, and its next start runs them again.
        }
    }

    private async Task WatchAsync(Entry entry, bool restored = false)
    {
        try
        {
            _ = FollowHealthAsync(entry.Controller);
            var run = entry.Run;
            var container = _executor.ContainerOf(entry.Task.Id);
            // Found ended by a node host that starts: docker's daemon decides on its start with the policy alone.
            var foundEnded = restored && container is { HasExited: true };
            var startedAt = container?.StartedAt;
            var exit = await entry.Controller.WaitAsync(CancellationToken.None);
            LogExited(_logger, entry.Task.Id, entry.Name, exit.ExitCode);
            await entry.Controller.ReleaseAsync(CancellationToken.None);
            // As docker's daemon detaches a stopped container from a swarm network: the address goes back at once.
            await ReleaseAttachmentAsync(entry);
            if (!entry.Policy.IsNone)
            {
                // A newer start watches its own end; a removed container is done; `stop` ended the restarting.
                if (run != entry.Run || !_entries.ContainsKey(entry.Task.Id) || (entry.StoppedByUser && !foundEnded))
                {
                    return;
                }

                var ran = foundEnded ? ContainerRestartPolicy.ResetAfter : DateTimeOffset.UtcNow - (startedAt ?? DateTimeOffset.UtcNow);
                var decision = entry.Policy.Decide(exit.ExitCode, entry.StoppedByUser, ran, entry.Restart);
                entry.Restart = decision.Next;
                if (decision.Restart)
                {
                    if (foundEnded)
                    {
                        await _networksReady.Task;
                    }

                    await RestartLaterAsync(entry, foundEnded ? TimeSpan.Zero : decision.Delay);
                }

                return;
            }

            if (entry.AutoRemove && !entry.KeptThroughStop)
            {
                await entry.Detached.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
                if (_entries.ContainsKey(entry.Task.Id))
                {
                    // docker's --rm takes the container's anonymous volumes with it.
                    await RemoveEntryAsync(entry, removeVolumes: true);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWatchFailed(_logger, entry.Task.Id, e);
        }
    }

    /// <summary>The policy's restart: after <paramref name="delay"/> (`ps` shows it restarting), unless stop, start or rm came first.</summary>
    private async Task RestartLaterAsync(Entry entry, TimeSpan delay)
    {
        using var pending = new CancellationTokenSource();
        await entry.Gate.WaitAsync();
        try
        {
            entry.Pending = pending;
            await WriteRestartAsync(entry);
        }
        finally
        {
            entry.Gate.Release();
        }

        try
        {
            await Task.Delay(delay, pending.Token);
            await entry.Gate.WaitAsync(pending.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            entry.Pending = null;
            if (!_entries.ContainsKey(entry.Task.Id))
            {
                return; // removed meanwhile
            }

            LogRestarting(_logger, entry.Task.Id, entry.Name, entry.Restart.Restarts);
            await StartAgainAsync(entry, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // docker's daemon gives up on a container its restart could not start: it stays exited.
            LogRestartFailed(_logger, entry.Task.Id, e);
            await RecordStartFailureAsync(entry, e);
        }
        finally
        {
            entry.Pending = null;
            entry.Gate.Release();
        }
    }

    /// <summary>A pending restart is called off (stop, start, rm); under the entry's gate.</summary>
    private static void CancelRestart(Entry entry)
    {
        if (entry.Pending is { } pending)
        {
            entry.Pending = null;
            pending.Cancel();
        }
    }

    private async Task RemoveEntryAsync(Entry entry, bool removeVolumes)
    {
        await entry.Gate.WaitAsync();
        try
        {
            await _executor.RemoveContainerAsync(entry.Task.Id, removeVolumes, CancellationToken.None);
            await ReleaseAttachmentAsync(entry);
            DeleteRecord(entry.Task.Id);
            _entries.TryRemove(entry.Task.Id, out _);
            LogRemoved(_logger, entry.Task.Id, entry.Name);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<ContainerChange> ChangeAsync(string reference, Func<string, CancellationToken, Task> change, CancellationToken ct, bool start = false)
    {
        var (id, error) = Resolve(reference);
        if (error is not null)
        {
            return new ContainerChange(reference, error);
        }

        try
        {
            await change(id!, ct);
            return new ContainerChange(reference, string.Empty);
        }
        catch (ContainerRefusal e)
        {
            return new ContainerChange(reference, e.Message);
        }
        catch (InvalidOperationException e) when (start)
        {
            // docker's start names the container once, on the CLI's last line (Error: failed to start containers: NAME).
            return new ContainerChange(reference, StartError(e));
        }
        catch (InvalidOperationException e)
        {
            return new ContainerChange(reference, $"{reference}: {e.Message}");
        }
    }

    /// <summary>docker's start: a created container starts; a running one is left as it is; an ended one starts again.</summary>
    private async Task StartAsync(string id, CancellationToken ct)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot start container {DisplayName(id)}: it is a task's container; its node starts it, and the swarm replaces it when it ends");
        }

        await entry.Gate.WaitAsync(ct);
        try
        {
            if (entry.Started)
            {
                if (_executor.ContainerOf(id) is not { HasExited: true })
                {
                    return;
                }

                // docker's start of an ended container resets what its policy counted, and what `stop` said.
                CancelRestart(entry);
                entry.StoppedByUser = false;
                entry.Restart = RestartState.Initial;
                await StartAgainAsync(entry, ct);
                return;
            }

            // Prepared already, unless a node host restart found it created and could not prepare it then.
            await entry.Controller.PrepareAsync(ct);
            await entry.Controller.StartAsync(ct);
            MarkStarted(entry);
            if (entry.PendingResolvConf is { } resolvConf)
            {
                entry.PendingResolvConf = null;
                GiveResolvConf(entry, resolvConf);
            }

            foreach (var (add, address) in entry.PendingHosts)
            {
                ChangeHosts(entry, add, address);
            }

            entry.PendingHosts = [];

            entry.Watching = WatchAsync(entry);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await RecordStartFailureAsync(entry, e);
            throw;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>
    /// docker's start of an exited container: the same container (id, name, spec, writable layer, log) runs again, on its
    /// network again (an overlay gives it an address anew, as docker's daemon attaches it again). Called under its gate.
    /// </summary>
    private async Task StartAgainAsync(Entry entry, CancellationToken ct)
    {
        // Each network of its record (run's --network, then those `network connect` added), with its aliases and --ip again;
        // host and none are the node's own, nothing to attach.
        var networks = PredefinedNetworks.Networks(entry.Task.Spec.Networks).ToImmutableArray();
        if (!networks.IsEmpty && entry.Attachments.IsEmpty)
        {
            var attacher = _attacher() ?? throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot start container {entry.Name}: its network {networks[0].Target} is a swarm's, and this node is in no swarm now; remove it (`protoswarm rm {entry.Name}`)");
            try
            {
                foreach (var network in networks)
                {
                    entry.Attachments = entry.Attachments.Add(await attacher.AttachAsync(
                        new ContainerNetworkRequest(network.Target, entry.Task.Id, entry.Name, network.Aliases, network.Addresses.FirstOrDefault() ?? string.Empty), ct));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await ReleaseAttachmentAsync(entry);
                throw;
            }

            entry.Task = entry.Task with { Networks = [.. entry.Attachments.Select(a => a.Network)] };
            entry.Controller = _executor.CreateController(entry.Task);
            await WriteRecordAsync(entry, ct);
        }

        try
        {
            await _executor.RestartAsync(entry.Task, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await ReleaseAttachmentAsync(entry);
            throw;
        }

        LogStartedAgain(_logger, entry.Task.Id, entry.Name);
        ClearStartFailure(entry);
        entry.StoppedByUser = false;
        entry.Run++;
        await WriteRestartAsync(entry);
        entry.Watching = WatchAsync(entry);
    }

    /// <summary>docker's stop: <paramref name="signalText"/> (stop -s; empty: the container's stop signal), then SIGKILL after the grace period.</summary>
    private async Task StopAsync(string id, int? timeoutSeconds, string signalText, CancellationToken ct)
    {
        var signal = StopSignal(signalText);
        if (_entries.TryGetValue(id, out var entry))
        {
            if (!entry.Started)
            {
                return;
            }

            // docker's stop ends the restarting: a pending restart is called off, and the container's end is not restarted.
            await entry.Gate.WaitAsync(ct);
            try
            {
                entry.StoppedByUser = true;
                CancelRestart(entry);
                await WriteRestartAsync(entry);
            }
            finally
            {
                entry.Gate.Release();
            }
        }

        await _executor.StopContainerAsync(id, timeoutSeconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : null, ct, signal);
    }

    /// <summary>The signal stop -s names (null when none is given: the container's own), or the refusal of one that is none, as kill's.</summary>
    private static int? StopSignal(string signalText) =>
        signalText.Length == 0 ? null : SignalRule.Parse(signalText) ?? throw new ContainerRefusal(RejectCode.InvalidArgument, InvalidSignal(signalText));

    private static string InvalidSignal(string signalText) =>
        $"invalid signal: {signalText}: give a signal name such as KILL, SIGTERM or HUP, or its number (1-64)";

    /// <summary>
    /// docker's restart: `stop` with its signal and grace period, then `start`; a created or ended one just starts. The stopped run's watch has
    /// let go of it (its network attachment given back, no --rm removal) before the next run starts, so the two never share one.
    /// </summary>
    private async Task RestartAsync(string id, int? timeoutSeconds, string signalText, CancellationToken ct)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot restart container {DisplayName(id)}: it is a task's container, which its node starts; stop it (`protoswarm stop {DisplayName(id)}`) and the swarm replaces it");
        }

        entry.KeptThroughStop = true;
        try
        {
            await StopAsync(id, timeoutSeconds, signalText, ct);
            await entry.Watching.WaitAsync(ct);
        }
        finally
        {
            entry.KeptThroughStop = false;
        }

        if (!_entries.ContainsKey(id))
        {
            throw new ContainerRefusal(RejectCode.NotFound, $"No such container: {entry.Name}");
        }

        await StartAsync(id, ct);
    }

    /// <summary>
    /// docker's kill: the signal to a running container (a task's too). KILL, or the container's own stop signal, ends it as
    /// `stop` would, so, as docker's daemon, its restart policy does not start it again and a pending restart is called off;
    /// any other signal leaves the policy to judge the end, if it ends. <paramref name="reference"/> is the name as given.
    /// </summary>
    private async Task KillAsync(string reference, string id, string signalText, CancellationToken ct)
    {
        var signal = SignalRule.Parse(signalText) ?? throw new ContainerRefusal(RejectCode.InvalidArgument, InvalidSignal(signalText));
        var wasRestarting = false;
        if (_entries.TryGetValue(id, out var entry))
        {
            if (!entry.Started)
            {
                throw new ContainerRefusal(RejectCode.Conflict, $"cannot kill container: {reference}: container {id} is not running");
            }

            if (signal == Signals.Kill || signal == _executor.StopSignalOf(id))
            {
                await entry.Gate.WaitAsync(ct);
                try
                {
                    wasRestarting = entry.Restarting;
                    if (wasRestarting || _executor.ContainerOf(id) is { HasExited: false })
                    {
                        entry.StoppedByUser = true;
                        CancelRestart(entry);
                        await WriteRestartAsync(entry);
                    }
                }
                finally
                {
                    entry.Gate.Release();
                }
            }
        }

        if (!await _executor.KillContainerAsync(id, signal, ct) && !wasRestarting)
        {
            throw new ContainerRefusal(RejectCode.Conflict, $"cannot kill container: {reference}: container {id} is not running");
        }
    }

    /// <summary>
    /// docker's container prune, of the ids the client chose by its filters: each that is still a standalone container and not
    /// running (created, or ended and not waiting for its policy's restart) is removed as `rm` removes it; its writable layer's
    /// size, taken just before, is what it gave back. Any other is left alone without a word, as docker's prune skips it.
    /// </summary>
    private async Task<ContainersPruned> PruneAsync(PruneContainers request, CancellationToken ct)
    {
        var deleted = ImmutableArray.CreateBuilder<string>();
        long reclaimed = 0;
        foreach (var id in request.Ids.Distinct(StringComparer.Ordinal))
        {
            if (!_entries.TryGetValue(id, out var entry) || entry.Restarting || _executor.ContainerOf(id) is { HasExited: false })
            {
                continue;
            }

            var size = LinuxContainer.WritableLayerSize(id, _executor.Options);
            try
            {
                await RemoveAsync(id, force: false, removeVolumes: false, ct);
            }
            catch (ContainerRefusal)
            {
                continue; // it started meanwhile
            }

            deleted.Add(id);
            reclaimed += size;
        }

        return new ContainersPruned(deleted.ToImmutable(), reclaimed);
    }

    /// <summary>docker's rm: its anonymous volumes go only with <paramref name="removeVolumes"/> (-v); docker's container prune never removes them.</summary>
    private async Task RemoveAsync(string id, bool force, bool removeVolumes, CancellationToken ct)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot remove container \"/{DisplayName(id)}\": it is a task's container, removed with its task; scale or remove its service (`protoswarm service rm`), or stop it and the swarm replaces it");
        }

        if (entry.Restarting)
        {
            if (!force)
            {
                throw new ContainerRefusal(RejectCode.Conflict,
                    $"cannot remove container \"/{entry.Name}\": container is restarting: stop the container before removing or force remove");
            }

            await entry.Gate.WaitAsync(ct);
            CancelRestart(entry);
            entry.Gate.Release();
        }

        if (!force && _executor.ContainerOf(id) is { HasExited: false })
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot remove container \"/{entry.Name}\": container is running: stop the container before removing or force remove");
        }

        ct.ThrowIfCancellationRequested();
        await RemoveEntryAsync(entry, removeVolumes);
    }

    private async Task<object> WaitAsync(WaitContainer request, CancellationToken ct)
    {
        var (id, error) = Resolve(request.Container);
        if (error is not null)
        {
            return new CommandRejected(RejectCode.NotFound, error);
        }

        if (_entries.TryGetValue(id!, out var entry) && !entry.Started)
        {
            // docker's wait on a created container waits for it to start and end.
            while (!entry.Started && _entries.ContainsKey(id!))
            {
                await Task.Delay(200, ct);
            }
        }

        var container = _executor.ContainerOf(id!);
        if (container is null)
        {
            return new CommandRejected(RejectCode.NotFound, $"No such container: {request.Container}");
        }

        var exit = await container.WaitAsync(ct);
        return new ContainerExited(id!, exit.ExitCode);
    }

    /// <summary>Every container's name on this node: the standalone ones' and docker's names of the tasks' containers.</summary>
    private IEnumerable<(string Id, string Name)> Names() =>
        _executor.Kept.Select(k => (k.Id, _entries.TryGetValue(k.Id, out var e) ? e.Name : k.Task is { } t ? LocalContainers.NameOf(t) : k.Id))
            .Concat(_entries.Select(e => (e.Key, e.Value.Name)))
            .DistinctBy(n => n.Item1, StringComparer.Ordinal);

    private string DisplayName(string id) => Names().FirstOrDefault(n => n.Id == id).Name ?? id;

    /// <summary>docker's lookup: a whole id, a name (a leading '/' allowed), then a unique id prefix.</summary>
    internal (string? Id, string? Error) Resolve(string reference)
    {
        var names = Names().ToList();
        return Resolve(reference, names);
    }

    internal static (string? Id, string? Error) Resolve(string reference, IReadOnlyList<(string Id, string Name)> names)
    {
        if (reference.Length == 0)
        {
            return (null, "No such container: (empty)");
        }

        if (names.FirstOrDefault(n => n.Id == reference) is { Id: { } exact })
        {
            return (exact, null);
        }

        var name = reference.TrimStart('/');
        if (names.FirstOrDefault(n => n.Name == name) is { Id: { } named })
        {
            return (named, null);
        }

        var prefixed = names.Where(n => n.Id.StartsWith(reference, StringComparison.Ordinal)).ToList();
        return prefixed.Count switch
        {
            1 => (prefixed[0].Id, null),
            0 => (null, $"No such container: {reference}"),
            _ => (null, $"multiple IDs found with provided prefix: {reference}"),
        };
    }

    private string GenerateName()
    {
        var taken = Names().Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            var name = $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}_{Surnames[Random.Shared.Next(Surnames.Length)]}";
            if (!taken.Contains(name))
            {
                return name;
            }

            name += Random.Shared.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!taken.Contains(name))
            {
                return name;
            }
        }
    }

    private string RecordPath(string id) => Path.Combine(_dir, id + ".task");

    private async Task WriteRecordAsync(Entry entry, CancellationToken ct)
    {
        Directory.CreateDirectory(_dir);
        var path = RecordPath(entry.Task.Id);
        await File.WriteAllBytesAsync(path + ".new", ContractRegistry.SerializeTyped(entry.Task), ct);
        File.Move(path + ".new", path, overwrite: true);
        if (entry.AutoRemove)
        {
            await File.WriteAllTextAsync(Path.ChangeExtension(path, ".rm"), string.Empty, ct);
        }

        if (!entry.Attachments.IsEmpty)
        {
            await File.WriteAllLinesAsync(Path.ChangeExtension(path, ".attachment"), entry.Attachments.Select(a => a.AttachmentId), ct);
        }
        else
        {
            File.Delete(Path.ChangeExtension(path, ".attachment"));
        }

        await WriteNetworkNamesAsync(entry, path, ct);
        await WriteSettingsAsync(entry, path, ct);

        await WriteRestartAsync(entry);
        if (!entry.Started)
        {
            await File.WriteAllTextAsync(Path.ChangeExtension(path, ".created"), string.Empty, ct);
        }
    }

    /// <summary>
    /// It has started once: a node host restart finds it by its state directory from now on, and no longer needs the record's
    /// mark of a container only created (<see cref="RestoreCreatedAsync"/>).
    /// </summary>
    private void MarkStarted(Entry entry)
    {
        entry.Started = true;
        File.Delete(Path.ChangeExtension(RecordPath(entry.Task.Id), ".created"));
        ClearStartFailure(entry);
    }

    /// <summary>
    /// A failed start, kept as docker's daemon keeps it on the container (inspect's State.Error and ExitCode) until a start
    /// succeeds: in the record's error file (its exit code, then its words), so a node host restart shows it too.
    /// </summary>
    private async Task RecordStartFailureAsync(Entry entry, Exception e)
    {
        entry.StartFailure = ContainerStartFailure.Of(e is InvalidOperationException ? StartError(e) : e.Message);
        var path = Path.ChangeExtension(RecordPath(entry.Task.Id), ".error");
        if (File.Exists(RecordPath(entry.Task.Id)))
        {
            await File.WriteAllTextAsync(path + ".new", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{entry.StartFailure.ExitCode}\n{entry.StartFailure.Error}"));
            File.Move(path + ".new", path, overwrite: true);
        }
    }

    private void ClearStartFailure(Entry entry)
    {
        entry.StartFailure = null;
        File.Delete(Path.ChangeExtension(RecordPath(entry.Task.Id), ".error"));
    }

    private static async Task<ContainerStartFailure?> ReadStartFailureAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = await File.ReadAllTextAsync(path, ct);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline > 0 && int.TryParse(text.AsSpan(0, newline), System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? new ContainerStartFailure(code, text[(newline + 1)..])
            : null;
    }

    /// <summary>The settings' file (only when the run gave one): a RunContainer that holds just them, as the node's contracts serialize it.</summary>
    private static async Task WriteSettingsAsync(Entry entry, string recordPath, CancellationToken ct)
    {
        var path = Path.ChangeExtension(recordPath, ".settings");
        if (entry.Settings == RunSettings.None)
        {
            File.Delete(path);
            return;
        }

        var holder = RunSettings.Holder with
        {
            Expose = entry.Settings.Expose,
            Tmpfs = entry.Settings.Tmpfs,
            ShmSize = entry.Settings.ShmSize,
        };
        await File.WriteAllBytesAsync(path + ".new", ContractRegistry.SerializeTyped(holder), ct);
        File.Move(path + ".new", path, overwrite: true);
    }

    private static async Task<RunSettings> ReadSettingsAsync(string path, CancellationToken ct) =>
        File.Exists(path) ? RunSettings.Of(ContractRegistry.Deserialize<RunContainer>(await File.ReadAllBytesAsync(path, ct))) : RunSettings.None;

    /// <summary>The restart policy's file: the policy, the restarts made, and whether `stop` stopped it (1), a line each.</summary>
    private async Task WriteRestartAsync(Entry entry)
    {
        if (entry.Policy.IsNone || !File.Exists(RecordPath(entry.Task.Id)))
        {
            return;
        }

        var path = Path.ChangeExtension(RecordPath(entry.Task.Id), ".restart");
        await File.WriteAllTextAsync(path + ".new", string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{entry.Policy}\n{entry.Restart.Restarts}\n{(entry.StoppedByUser ? 1 : 0)}\n"));
        File.Move(path + ".new", path, overwrite: true);
    }

    private static async Task<(ContainerRestartPolicy Policy, RestartState State, bool StoppedByUser)> ReadRestartAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            return (ContainerRestartPolicy.None, RestartState.Initial, false);
        }

        var lines = (await File.ReadAllTextAsync(path, ct)).Split('\n');
        var policy = ContainerRestartPolicy.Parse(lines[0]).Policy ?? ContainerRestartPolicy.None;
        var restarts = lines.Length > 1 && int.TryParse(lines[1], System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
        return (policy, new RestartState(restarts, TimeSpan.Zero), lines.Length > 2 && lines[2] == "1");
    }

    private void DeleteRecord(string id)
    {
        File.Delete(RecordPath(id));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".rm"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".attachment"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".restart"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".networks"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".settings"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".created"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".error"));
    }

    /// <summary>A refusal of one container command, with its code.</summary>
    private sealed class ContainerRefusal(RejectCode code, string message) : Exception(message)
    {
        public RejectCode Code { get; } = code;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) started from {Image}")]
    private static partial void LogStarted(ILogger logger, string id, string name, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) created, its start failed (it stays created): {Reason}")]
    private static partial void LogRunStartFailed(ILogger logger, string id, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) started again")]
    private static partial void LogStartedAgain(ILogger logger, string id, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) restarting by its restart policy (restart {Count})")]
    private static partial void LogRestarting(ILogger logger, string id, string name, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: its restart policy could not start it again; it stays exited")]
    private static partial void LogRestartFailed(ILogger logger, string id, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) exited {ExitCode}")]
    private static partial void LogExited(ILogger logger, string id, string name, int exitCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) removed")]
    private static partial void LogRemoved(ILogger logger, string id, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: watching its end failed")]
    private static partial void LogWatchFailed(ILogger logger, string id, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: cleaning up after a failed create failed")]
    private static partial void LogCleanupFailed(ILogger logger, string id, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: giving its network attachment back failed; the managers free it when this node leaves")]
    private static partial void LogDetachFailed(ILogger logger, string id, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "standalone container record {File} could not be restored")]
    private static partial void LogRestoreFailed(ILogger logger, string file, Exception e);
}

/// <summary>
/// What of a standalone container's run inspect shows apart from its spec: docker's Config.ExposedPorts of --expose (each port
/// as "80/tcp"), HostConfig.Tmpfs (--tmpfs as given, path to options) and HostConfig.ShmSize (0: docker's 64 MiB).
/// </summary>
internal sealed record RunSettings(ImmutableArray<string> Expose, ImmutableArray<string> Tmpfs, long ShmSize)
{
    public static readonly RunSettings None = new([], [], 0);

    /// <summary>A run that says nothing else: what the settings' file and the check of a run's --tmpfs alone are written on.</summary>
    public static readonly RunContainer Holder = new(string.Empty, string.Empty, [], null, [], string.Empty, string.Empty, string.Empty, false, false, string.Empty);

    public static RunSettings Of(RunContainer run) =>
        run.Expose.IsEmpty && run.Tmpfs.IsEmpty && run.ShmSize == 0 ? None : new(run.Expose, run.Tmpfs, run.ShmSize);

    public bool Equals(RunSettings? other) =>
        other is not null && Expose.SequenceEqual(other.Expose) && Tmpfs.SequenceEqual(other.Tmpfs) && ShmSize == other.ShmSize;

    public override int GetHashCode() => HashCode.Combine(Expose.Length, Tmpfs.Length, ShmSize);
}
