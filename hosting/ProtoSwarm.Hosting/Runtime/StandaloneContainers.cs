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

/// <summary>
/// Asks the managers for, and gives back, a standalone container's address on an attachable overlay
/// (<see cref="SwarmRuntime"/> through the node's member); null where the node is in no swarm.
/// </summary>
internal interface INetworkAttacher
{
    /// <summary>Throws <see cref="InvalidOperationException"/> with the managers' refusal (no such network, not attachable).</summary>
    Task<ContainerAttachment> AttachAsync(string network, string containerId, CancellationToken ct);

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

    public static bool Handles(object request) =>
        request is RunContainer or StartContainers or StopContainers or RemoveContainers or WaitContainer or ReadContainerLogs;

    /// <summary>The name of a standalone container, or null for a task's.</summary>
    public string? NameOf(string id) => _entries.TryGetValue(id, out var entry) ? entry.Name : null;

    /// <summary>One standalone container: the task made up for it, its controller, and what its end waits for.</summary>
    private sealed class Entry(string name, TaskObject task, bool autoRemove, ITaskController controller)
    {
        public string Name { get; } = name;
        public TaskObject Task { get; set; } = task;
        public bool AutoRemove { get; } = autoRemove;
        public ITaskController Controller { get; set; } = controller;
        public ContainerAttachment? Attachment { get; set; }
        public bool Started { get; set; }
        public int Attached;
        public TaskCompletionSource Detached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public SemaphoreSlim Gate { get; } = new(1, 1);
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
                    var attachment = Path.ChangeExtension(file, ".attachment");
                    var entry = new Entry(task.ServiceName, task, File.Exists(Path.ChangeExtension(file, ".rm")), controller)
                    {
                        Started = true,
                        Attachment = File.Exists(attachment) && !task.Networks.IsEmpty
                            ? new ContainerAttachment((await File.ReadAllTextAsync(attachment, ct)).Trim(), task.Networks[0])
                            : null,
                    };
                    _entries[task.Id] = entry;
                    entry.Detached.TrySetResult();
                    _ = WatchAsync(entry);
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

    public async Task<object> HandleAsync(object request, CancellationToken ct)
    {
        try
        {
            return request switch
            {
                RunContainer m => await CreateAsync(m, ct) is var (entry, refusal) && entry is null ? refusal! : new ContainerCreated(entry!.Task.Id, entry.Name),
                StartContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, StartAsync, ct)))]),
                StopContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => StopAsync(id, m.TimeoutSeconds, t), ct)))]),
                RemoveContainers m => new ContainersChanged([.. await Task.WhenAll(m.Containers.Select(c => ChangeAsync(c, (id, t) => RemoveAsync(id, m.Force, t), ct)))]),
                WaitContainer m => await WaitAsync(m, ct),
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
    public static bool Streams(object request) => request is RunContainer { Attach: true, Start: true } or ReadContainerLogs;

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
                    await ControlFraming.WriteAsync(connection, new ContainerCreated(entry.Task.Id, entry.Name), ct);
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
                    // The client went away (^C): docker's run passes SIGINT to the container, which goes on if it ignores it.
                    if (_executor.ContainerOf(entry.Task.Id) is { HasExited: false } container)
                    {
                        await container.KillAsync(2, CancellationToken.None);
                    }
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
    private async Task FollowAsync(string id, Stream connection, bool follow, int? tail, CancellationToken ct)
    {
        using var writer = new ExecFrameWriter(connection);
        var reader = LinuxContainer.LogReader(id, _executor.Options);
        long after = 0;
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

        var command = run.Command.IsDefault ? [] : run.Command;
        var entrypoint = run.Entrypoint is { IsDefault: false } given ? given : (ImmutableArray<string>?)null;
        var id = SwarmIds.New();
        Entry entry;
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
                TTY: run.Tty,
                OpenStdin: run.Interactive);
            var now = DateTimeOffset.UtcNow;
            var task = new TaskObject(id, ObjectMeta.New(now), string.Empty, 0, _nodeId(), new TaskSpec(spec), 0, TaskState.Running,
                new TaskObservedStatus(TaskState.New, now), ServiceName: name);
            entry = new Entry(name, task, run.AutoRemove, _executor.CreateController(task));
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
            if (run.Network.Length > 0)
            {
                var attacher = _attacher() ?? throw new ContainerRefusal(RejectCode.Conflict,
                    $"network {run.Network} not found: this node is in no swarm, and a standalone container joins only the swarm's attachable overlays; run it without --network, or join a swarm first");
                entry.Attachment = await attacher.AttachAsync(run.Network, id, ct);
                entry.Task = entry.Task with
                {
                    Spec = entry.Task.Spec with { Networks = [new NetworkAttachment(entry.Attachment.Network.NetworkId)] },
                    Networks = [entry.Attachment.Network],
                };

                entry.Controller = _executor.CreateController(entry.Task);
            }

            await WriteRecordAsync(entry, ct);
            await entry.Controller.PrepareAsync(ct);
            if (run.Start)
            {
                await entry.Controller.StartAsync(ct);
                entry.Started = true;
                LogStarted(_logger, id, entry.Name, run.Image);
                _ = WatchAsync(entry);
            }

            return (entry, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await DropAsync(entry);
            return (null, e switch
            {
                ContainerRefusal r => new CommandRejected(r.Code, r.Message),
                InvalidOperationException when e.Message.StartsWith("No such image", StringComparison.Ordinal) => new CommandRejected(RejectCode.NotFound, e.Message),
                InvalidOperationException => new CommandRejected(RejectCode.InvalidArgument, e.Message),
                _ => new CommandRejected(RejectCode.Internal, $"the container could not be made: {e.Message}; see protoswarmd's log"),
            });
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
        if (entry.Attachment is { } attachment && _attacher() is { } attacher)
        {
            entry.Attachment = null;
            File.Delete(Path.ChangeExtension(RecordPath(entry.Task.Id), ".attachment"));
            try
            {
                await attacher.DetachAsync(attachment.AttachmentId, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogDetachFailed(_logger, entry.Task.Id, e);
            }
        }
    }

    /// <summary>
    /// The container's end: its network namespace goes at once (as a task's), and with --rm the container too, once
    /// an attached client has read its last lines, as docker's run --rm.
    /// </summary>
    private async Task WatchAsync(Entry entry)
    {
        try
        {
            var exit = await entry.Controller.WaitAsync(CancellationToken.None);
            LogExited(_logger, entry.Task.Id, entry.Name, exit.ExitCode);
            await entry.Controller.ReleaseAsync(CancellationToken.None);
            // As docker's daemon detaches a stopped container from a swarm network: the address goes back at once.
            await ReleaseAttachmentAsync(entry);
            if (entry.AutoRemove)
            {
                await entry.Detached.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
                if (_entries.ContainsKey(entry.Task.Id))
                {
                    await RemoveEntryAsync(entry);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWatchFailed(_logger, entry.Task.Id, e);
        }
    }

    private async Task RemoveEntryAsync(Entry entry)
    {
        await entry.Gate.WaitAsync();
        try
        {
            await entry.Controller.RemoveAsync(CancellationToken.None);
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

    private async Task<ContainerChange> ChangeAsync(string reference, Func<string, CancellationToken, Task> change, CancellationToken ct)
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
        catch (InvalidOperationException e)
        {
            return new ContainerChange(reference, $"{reference}: {e.Message}");
        }
    }

    /// <summary>docker's start: a created container starts; a running one is left as it is; an ended one cannot start again here yet.</summary>
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
                if (_executor.ContainerOf(id) is { HasExited: true })
                {
                    throw new ContainerRefusal(RejectCode.Conflict,
                        $"cannot start container {entry.Name}: it has exited, and starting an ended container again is not supported yet; remove it and run a new one (`protoswarm rm {entry.Name}`, `protoswarm run ...`)");
                }

                return;
            }

            await entry.Controller.StartAsync(ct);
            entry.Started = true;
            _ = WatchAsync(entry);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task StopAsync(string id, int? timeoutSeconds, CancellationToken ct)
    {
        if (_entries.TryGetValue(id, out var entry) && !entry.Started)
        {
            return;
        }

        await _executor.StopContainerAsync(id, timeoutSeconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : null, ct);
    }

    private async Task RemoveAsync(string id, bool force, CancellationToken ct)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot remove container \"/{DisplayName(id)}\": it is a task's container, removed with its task; scale or remove its service (`protoswarm service rm`), or stop it and the swarm replaces it");
        }

        if (!force && _executor.ContainerOf(id) is { HasExited: false })
        {
            throw new ContainerRefusal(RejectCode.Conflict,
                $"cannot remove container \"/{entry.Name}\": container is running: stop the container before removing or force remove");
        }

        ct.ThrowIfCancellationRequested();
        await RemoveEntryAsync(entry);
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

        if (entry.Attachment is { } attachment)
        {
            await File.WriteAllTextAsync(Path.ChangeExtension(path, ".attachment"), attachment.AttachmentId, ct);
        }
    }

    private void DeleteRecord(string id)
    {
        File.Delete(RecordPath(id));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".rm"));
        File.Delete(Path.ChangeExtension(RecordPath(id), ".attachment"));
    }

    /// <summary>A refusal of one container command, with its code.</summary>
    private sealed class ContainerRefusal(RejectCode code, string message) : Exception(message)
    {
        public RejectCode Code { get; } = code;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) started from {Image}")]
    private static partial void LogStarted(ILogger logger, string id, string name, string image);

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
