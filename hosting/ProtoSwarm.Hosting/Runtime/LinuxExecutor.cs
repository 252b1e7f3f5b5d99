using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Client;
using ActorExit = ProtoSwarm.Actors.Agent.Tasks.ContainerExit;
using HealthCheck = ProtoSwarm.Contracts.HealthCheck;
using HostResolvConf = ProtoSwarm.Networking.Dns.ResolvConf;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's real executor (`protoswarmd --executor linux`): each task is a container started
/// through protoswarm-init (<see cref="LinuxContainer"/>) from an image in the node's own store, named
/// by the task's id. One per node host; it keeps the containers it runs by task id, so a controller
/// made again for the same task finds its container. Containers outlive the node host (each has its
/// own monitor): after a restart a task that arrives running is reattached
/// (<see cref="LinuxContainer.AttachAsync"/>), and containers of tasks no longer assigned are removed
/// when the first full assignment set comes (<see cref="RetainOnlyAsync"/>). A task's network
/// namespace goes as soon as its container has ended (<see cref="ITaskController.ReleaseAsync"/>,
/// before its end is reported), not with the container: the managers give its addresses out again
/// at once, and a stopped container keeps only its log and exit. The log is the
/// monitor's, so it has every line, also those written while the host was down. A task's secrets
/// and configs are files on the node's tmpfs (<see cref="TaskFileStore"/>), bound read-only into its
/// container, and deleted with it.
/// </summary>
internal sealed partial class LinuxExecutor : ITaskExecutor
{
    private readonly Func<ImageStore> _images;
    private readonly Func<VolumeStore> _volumes;
    private readonly ContainerRuntimeOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskContainer> _containers = new(StringComparer.Ordinal);
    private readonly Func<NodeNetworks?> _nodeNetworks;
    private readonly Func<string, CancellationToken, Task>? _pull;
    private readonly TaskFileStore _files;
    private readonly Lazy<long> _hostMemory = new(() => HostMemory.TotalBytes());

    /// <summary>
    /// <paramref name="pull"/> fetches an image the node lacks from the swarm's registry (null: images are only what was loaded).
    /// <paramref name="files"/> keeps the tasks' secret and config files (default: "secrets" beside the containers' state root).
    /// </summary>
    public LinuxExecutor(Func<ImageStore> images, Func<VolumeStore> volumes, ContainerRuntimeOptions options, ILoggerFactory loggerFactory, Func<NodeNetworks?>? networks = null,
        Func<string, CancellationToken, Task>? pull = null, TaskFileStore? files = null)
    {
        _files = files ?? new TaskFileStore(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.StateRoot)) ?? "/", "secrets"));
        _pull = pull;
        _images = images;
        _volumes = volumes;
        _nodeNetworks = networks ?? (() => null);
        _options = options;
        _logger = loggerFactory.CreateLogger<LinuxExecutor>();
    }

    /// <summary>
    /// A container of this node that uses the image (by id), a running one first, or null: `image rm` never
    /// deletes an image a running container's root is mounted from, and deletes one a stopped (or not yet
    /// started) container uses only when forced, as docker's.
    /// </summary>
    public ImageUser? UserOf(string imageId)
    {
        var users = _containers.Where(c => c.Value.ImageId == imageId)
            .Select(c => new ImageUser(c.Key, c.Value.Container is { HasExited: false }))
            .ToList();
        return users.FirstOrDefault(u => u.Running) ?? users.FirstOrDefault();
    }

    /// <summary>
    /// Whether a container id is a standalone container's (`protoswarm run`, <see cref="StandaloneContainers"/>): no task
    /// owns it, so neither the assignments' retain nor a swarm leave removes it, as docker's engine keeps its own containers.
    /// </summary>
    public Func<string, bool> IsStandalone { get; set; } = _ => false;

    /// <summary>The id of the standalone container with this name (`exec NAME`), or null.</summary>
    public Func<string, string?> StandaloneNamed { get; set; } = _ => null;

    /// <summary>
    /// The node's own network namespace, which a container on the host network joins: protoswarmd's (in a lab, its node's
    /// namespace, not the machine's), named through its main thread, which never enters another one. Tests give one of their own.
    /// </summary>
    public string NodeNetns { get; set; } = $"/proc/{Environment.ProcessId}/ns/net";

    /// <summary>The node's hostname (`protoswarmd --hostname`), a host-network container's unless it is given its own.</summary>
    public string NodeHostname { get; set; } = Environment.MachineName;

    /// <summary>The node's /etc/hosts, which a container on the host network gets a copy of (docker's).</summary>
    internal string NodeHostsPath { get; set; } = "/etc/hosts";

    /// <summary>
    /// A container on a network mode rather than on networks (<see cref="PredefinedNetworks"/>): on host it joins the node's
    /// namespace with the node's resolvers and a copy of its /etc/hosts, as docker's daemon gives a host-mode container the
    /// host's files, and its host-mode ports are the ports it binds there itself (nothing is DNATed; the declaration keeps one
    /// such task a node and is reported). On none it gets a namespace of its own with loopback alone, docker's localhost lines
    /// and the resolv.conf of docker's default bridge (the node's resolvers without loopback ones, Google's when none is left).
    /// </summary>
    internal (ContainerSpecification Spec, ImmutableArray<PortConfig> HostPorts) OnNetworkMode(ContainerSpecification spec, TaskObject task, string mode)
    {
        var resolv = File.Exists(HostResolvConf.HostPath) ? HostResolvConf.ReadHost() : HostResolvConf.Parse(string.Empty);
        if (mode == PredefinedNetworks.None)
        {
            return (spec with { NetworkNamespace = null, ResolvConf = resolv.ForBridge(task.Spec.Container.Dns), Hosts = ContainerSpecification.LocalhostLines }, []);
        }

        var hosts = File.Exists(NodeHostsPath) ? File.ReadAllText(NodeHostsPath) : ContainerSpecification.LocalhostLines;
        return (spec with { NetworkNamespace = NodeNetns, ResolvConf = resolv.ForContainerWithoutNetwork(task.Spec.Container.Dns), Hosts = hosts }, HostNetworkPorts(task));
    }

    /// <summary>The host-mode ports of a task on the host network (each the port it listens on: the managers refuse others).</summary>
    internal static ImmutableArray<PortConfig> HostNetworkPorts(TaskObject task) =>
        PredefinedNetworks.ModeOf(task.Spec.Networks) == PredefinedNetworks.Host
            ? [.. (task.Endpoint?.Ports ?? []).Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0)]
            : [];

    /// <summary>The node's volumes (a standalone container's anonymous ones are made there when it is created).</summary>
    internal VolumeStore Volumes => _volumes();

    /// <summary>Where the containers live and how they start (the standalone ones read their logs there).</summary>
    internal ContainerRuntimeOptions Options => _options;

    /// <summary>
    /// Told what docker's engine logs as container events, as they happen here: create, start, kill (its signal), die
    /// (its exit code), stop and destroy, with the task the container runs (a standalone one's made up).
    /// </summary>
    public Action<TaskObject, string, ImmutableSortedDictionary<string, string>>? ContainerChanged { get; set; }

    private void Tell(TaskObject? task, string action, string? key = null, string? value = null) =>
        Tell(task, action, key is null ? ImmutableSortedDictionary<string, string>.Empty : ImmutableSortedDictionary<string, string>.Empty.Add(key, value ?? string.Empty));

    private void Tell(TaskObject? task, string action, ImmutableSortedDictionary<string, string> attributes)
    {
        if (task is not null && ContainerChanged is { } changed)
        {
            changed(task, action, attributes);
        }
    }

    /// <summary>docker's kill event: the signal sent to the container.</summary>
    private void TellKill(TaskObject? task, int signal) =>
        Tell(task, "kill", "signal", signal.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The container's die event once it ends (the monitor says so), with docker's exitCode and execDuration; a
    /// stop waits for it before it says stop.</summary>
    private void WatchEnd(TaskContainer entry, TaskObject task)
    {
        if (entry.Container is not { } container)
        {
            return;
        }

        entry.Ended = Task.Run(async () =>
        {
            var exit = await container.WaitAsync(CancellationToken.None);
            // docker's die: the exit code, and how long it ran in whole seconds (execDuration, truncated as Go's int()).
            var ran = entry.StartedAt is { } started ? Math.Max(0, (long)(DateTimeOffset.UtcNow - started).TotalSeconds) : 0;
            Tell(task, "die", ImmutableSortedDictionary<string, string>.Empty
                .Add("exitCode", exit.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Add("execDuration", ran.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        });
    }

    /// <summary>docker's kill (the stop signal; a second kill, signal 9, when the grace period passed), then the
    /// container's stop once it has died.</summary>
    private async Task StopTellingAsync(TaskContainer entry, LinuxContainer container, TimeSpan? grace, CancellationToken ct, int? signal = null)
    {
        var first = signal ?? entry.StopSignal;
        TellKill(entry.Task, first);
        await container.StopAsync(first, grace, () => TellKill(entry.Task, Signals.Kill), ct);
        if (entry.Ended is { } ended)
        {
            await ended.WaitAsync(TimeSpan.FromSeconds(5), ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Tell(entry.Task, "stop");
    }

    public ITaskController CreateController(TaskObject task) => new Controller(this, task, TaskFiles.None);

    public ITaskController CreateController(TaskObject task, TaskFiles files) => new Controller(this, task, files);

    /// <summary>The ports <paramref name="reference"/>'s image EXPOSEs (docker's run -P), pulled first as a task's image is when the node lacks it.</summary>
    internal async Task<IReadOnlyList<string>> ExposedPortsAsync(string reference, CancellationToken ct) =>
        (await ImageForAsync(reference, ct)).Config.ExposedPorts is { IsDefault: false } ports ? ports : [];

    /// <summary>The paths <paramref name="reference"/>'s image declares VOLUME for, pulled first as a task's image is when the node lacks it.</summary>
    internal async Task<IReadOnlyList<string>> ImageVolumesAsync(string reference, CancellationToken ct) =>
        (await ImageForAsync(reference, ct)).Config.Volumes;

    /// <summary>
    /// The task's image from the node's store; one the node lacks is pulled from the swarm's registry first
    /// (the task shows PREPARING meanwhile), by digest when the managers pinned it.
    /// </summary>
    private async Task<StoredImage> ImageForAsync(string reference, CancellationToken ct)
    {
        try
        {
            return await _images().InspectAsync(reference, ct);
        }
        catch (ImageStoreException e) when (e.Code == RejectCode.NotFound)
        {
            if (_pull is null)
            {
                throw new InvalidOperationException(
                    $"No such image: {reference} on this node; load it with `protoswarm image load -i FILE` or `protoswarm image import ROOTFS.tar {reference}`");
            }
        }

        try
        {
            await _pull(reference, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(PullFailure(reference, e), e);
        }

        return await _images().InspectAsync(reference, ct);
    }

    /// <summary>
    /// Why a task's image could not be had. A registry's answer (a <see cref="RegistryClientException"/> with a status)
    /// already says what to do, so only other failures (no swarm, no manager reachable, content that did not match)
    /// get this node's advice.
    /// </summary>
    internal static string PullFailure(string reference, Exception e) => e is RegistryClientException { Status: not null }
        ? $"No such image: {reference} on this node, and the swarm's registry could not give it: {e.Message}"
        : $"No such image: {reference} on this node, and the swarm's registry could not give it: {e.Message}; push it from a node that has it with `protoswarm image push`, or load it here with `protoswarm image load -i FILE`";

    public async Task RetainOnlyAsync(IReadOnlySet<string> assignedTaskIds, IReadOnlySet<string> endedTaskIds, CancellationToken ct)
    {
        try
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in LinuxContainer.List(_options))
            {
                if (assignedTaskIds.Contains(id) || IsStandalone(id))
                {
                    live.Add(id);
                    continue;
                }

                if (_containers.ContainsKey(id))
                {
                    // This process started it, but no task actor drives it any more: the node's member was restarted
                    // (after being Down) while the task was removed, and the new one never knew it. It ran on for good.
                    LogOrphanRemoved(_logger, id);
                    await RemoveTaskAsync(id, ct);
                    continue;
                }

                if (await LinuxContainer.AttachAsync(id, _options, ct) is { } orphan)
                {
                    LogIfMonitorGone(id, orphan);
                    LogOrphanRemoved(_logger, id);
                    await orphan.RemoveAsync(ct);
                }
            }

            // A standalone container made and not started yet (docker's create) has no state directory: it holds its volumes,
            // files and namespace all the same.
            live.UnionWith(_containers.Keys.Where(IsStandalone));
            _volumes().ReleaseAllExcept(live);
            // A task being prepared has its files before its container exists.
            _files.RetainOnly(new HashSet<string>(live.Concat(assignedTaskIds), StringComparer.Ordinal));
            if (_nodeNetworks() is { } networks)
            {
                // An assigned task keeps its namespace even before its container exists (it is being prepared); an ended one
                // keeps none (a node host that died between its container's end and its release left it).
                await networks.RetainOnlyAsync(new HashSet<string>(live.Concat(assignedTaskIds).Where(id => !endedTaskIds.Contains(id)), StringComparer.Ordinal), ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRetainFailed(_logger, e);
        }
    }

    /// <summary>
    /// Kills and removes every task container on the node, those this process drives and those a node host before
    /// it left, with their volumes' claims, files and network namespaces: the node left the swarm.
    /// </summary>
    public async Task RemoveAllAsync(CancellationToken ct)
    {
        var ids = _containers.Keys.Concat(LinuxContainer.List(_options)).Distinct(StringComparer.Ordinal).Where(id => !IsStandalone(id)).ToList();
        foreach (var id in ids)
        {
            try
            {
                await RemoveTaskAsync(id, ct);
                LogRemovedOnLeave(_logger, id);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRemoveOnLeaveFailed(_logger, id, e);
            }
        }
    }

    /// <summary>The container of a task or standalone container this process keeps (null: none, or not started).</summary>
    internal LinuxContainer? ContainerOf(string id) => _containers.TryGetValue(id, out var entry) ? entry.Container : null;

    /// <summary>The ids of every container this process keeps, and the task each runs (a standalone one's made up).</summary>
    internal IEnumerable<(string Id, TaskObject? Task)> Kept => _containers.Select(c => (c.Key, c.Value.Task));

    /// <summary>The node's networks, which prepare each container's namespace; null without them (no swarm, or tests).</summary>
    internal NodeNetworks? Networks => _nodeNetworks();

    /// <summary>A standalone container joined or left a network (`network connect|disconnect`): ps and inspect show the task as it is now.</summary>
    internal void Retask(TaskObject task)
    {
        if (_containers.TryGetValue(task.Id, out var entry))
        {
            entry.Task = task;
        }
    }

    /// <summary>
    /// Docker's `container stop`: <paramref name="signal"/> (docker 23's stop -s; null: the container's stop signal), then
    /// SIGKILL after <paramref name="grace"/> (null: its stop grace period, docker's 10 s). A task's container ends as if it had
    /// exited, and its task actor reports it, so the swarm replaces it, as docker's swarm replaces a task container `docker
    /// stop` stopped. False: not running.
    /// </summary>
    internal async Task<bool> StopContainerAsync(string id, TimeSpan? grace, CancellationToken ct, int? signal = null)
    {
        if (!_containers.TryGetValue(id, out var entry) || entry.Container is not { HasExited: false } container)
        {
            return false;
        }

        entry.StopHealthChecks();
        await StopTellingAsync(entry, container, grace ?? (entry.Task is { } task ? TaskStep.StopGracePeriodOf(task.Spec.Container) : null), ct, signal);
        return true;
    }

    /// <summary>
    /// Docker's `container kill`: <paramref name="signal"/> to the container's main process, by the path `stop` sends its stop
    /// signal (the kill event, then the monitor), and no more: whether it ends is the process's to decide. A task's container
    /// that ends so is reported by its task actor, and the swarm replaces it, as after `stop`. False: not running.
    /// </summary>
    internal async Task<bool> KillContainerAsync(string id, int signal, CancellationToken ct)
    {
        if (!_containers.TryGetValue(id, out var entry) || entry.Container is not { HasExited: false } container)
        {
            return false;
        }

        TellKill(entry.Task, signal);
        await container.KillAsync(signal, ct);
        return true;
    }

    /// <summary>The signal that stops the container (its spec's, else its image's, else SIGTERM); null when this process holds no such container.</summary>
    internal int? StopSignalOf(string id) => _containers.TryGetValue(id, out var entry) ? entry.StopSignal : null;

    /// <summary>
    /// Starts an ended standalone container again (docker's `start` of an exited container, and its restart policies):
    /// it is prepared anew from <paramref name="task"/> (its volumes, files and networks, its image's config), and its
    /// container starts in the same state directory, so the same writable layer and log; its Created stays. One that
    /// runs is left as it is. A failed start leaves it ended, as it was.
    /// </summary>
    internal async Task RestartAsync(TaskObject task, CancellationToken ct)
    {
        var held = _containers.GetValueOrDefault(task.Id);
        if (held?.Container is { HasExited: false })
        {
            return;
        }

        var created = held?.Created;
        // The ended run stays listed (ps, inspect) until the prepared one takes its place: never a moment without the container.
        var controller = new Controller(this, task, TaskFiles.None, again: true, replacing: held);
        try
        {
            await controller.PrepareAsync(ct);
            var entry = _containers.GetValueOrDefault(task.Id);
            if (entry is null || ReferenceEquals(entry, held))
            {
                throw new InvalidOperationException($"container {task.Id} was removed meanwhile");
            }

            held?.Dispose();
            await entry.Gate.WaitAsync(ct);
            try
            {
                await BindHostPortsAsync(entry, task, ct);
                entry.Container = await LinuxContainer.RestartAsync(entry.Specification!, _options, ct);
                entry.StartedAt = entry.Container.StartedAt ?? DateTimeOffset.UtcNow;
                entry.Created = entry.Container.Created ?? created ?? entry.Created;
                LogStarted(_logger, task.Id, entry.Container.Pid);
                Tell(task, "start");
                WatchEnd(entry, task);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Back to the ended container as it was: its network goes again, and it is found again as a node host finds it.
            if (_containers.TryRemove(task.Id, out var prepared))
            {
                prepared.Dispose();
            }

            await controller.ReleaseAsync(CancellationToken.None);
            if (!(await controller.InspectAsync(CancellationToken.None)).Exists)
            {
                // Removed meanwhile: the volumes the preparation claimed for it go back; its `rm` decided on its anonymous ones.
                _volumes().Release(task.Id, removeAnonymous: false);
            }

            throw StartFailure(e);
        }
    }

    /// <summary>
    /// A standalone container's host-mode ports, taken as it starts (a task's were taken when it was prepared): docker's
    /// words when one is another's, prefixed as docker's engine says them for the container's endpoint.
    /// </summary>
    private async Task BindHostPortsAsync(TaskContainer entry, TaskObject task, CancellationToken ct)
    {
        if (!IsStandalone(task.Id) || _nodeNetworks() is not { } networks)
        {
            return;
        }

        try
        {
            entry.HostPorts = await networks.BindHostPortsAsync(task, ct);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"driver failed programming external connectivity on endpoint {task.ServiceName} ({task.Id}): {e.Message}", e);
        }
    }

    /// <summary>
    /// A running standalone container that a node host restart found again before the node's networks existed (they are made
    /// as it rejoins its swarm): what its namespace lost with the node host that ran it, back once they do, as a task's
    /// reattach restores it (<see cref="RestoreNetworksAsync(TaskContainer, TaskObject, CancellationToken)"/>): on the node's
    /// bridge its address and published ports, on overlays its embedded DNS server and rules too, once the networks' views are here.
    /// </summary>
    internal async Task RestoreNetworksAsync(TaskObject task, CancellationToken ct)
    {
        if (PredefinedNetworks.ModeOf(task.Spec.Networks) is not null || _nodeNetworks() is not { } networks
            || _containers.GetValueOrDefault(task.Id) is not { Container: { } container } entry || container.WaitAsync(CancellationToken.None).IsCompleted)
        {
            return;
        }

        await RestoreNetworksAsync(entry, task, ct);
        // One that ended or was removed while it waited for the views was released before this attach made its DNS server and
        // rules again: they go (a container started again meanwhile holds an entry of its own, attached by its start).
        if (container.WaitAsync(CancellationToken.None).IsCompleted && _containers.GetValueOrDefault(task.Id) is var now && (now is null || ReferenceEquals(now, entry)))
        {
            await networks.DetachTaskAsync(task.Id, CancellationToken.None);
        }
    }

    /// <summary>
    /// A running container's namespace outlived the node host that made it, with its interfaces; its DNS server, rules and
    /// ports are this process's to run again: a task's host-mode ports were held with its namespace, a standalone container's
    /// are bound as at its start.
    /// </summary>
    private async Task RestoreNetworksAsync(TaskContainer entry, TaskObject task, CancellationToken ct)
    {
        var standalone = IsStandalone(task.Id);
        if (_nodeNetworks() is not { } networks || await networks.AttachTaskAsync(task, ct, restoring: true, standalone) is not { } sandbox)
        {
            return;
        }

        if (standalone)
        {
            await BindHostPortsAsync(entry, task, ct);
        }
        else
        {
            entry.HostPorts = sandbox.HostPorts;
        }
    }

    /// <summary>
    /// A task's mounts with each anonymous volume under the name the node gave it (docker's Mounts[].Name), read from the
    /// directory it was mounted from (<paramref name="mountedFrom"/>, by the mount and its index); one it cannot name stays as it is.
    /// </summary>
    private IReadOnlyList<MountSpec> NamedMounts(IReadOnlyList<MountSpec> mounts, Func<MountSpec, int, string?> mountedFrom) =>
        [.. mounts.Select((m, i) => m.Type == MountType.Volume && m.Source.Length == 0 && mountedFrom(m, i) is { } source
            && _volumes().NameOfMountpoint(source) is { } name ? m with { Source = name } : m)];

    /// <summary>A standalone container whose start failed after it took its host ports gives them back: it stays created.</summary>
    private async Task ReleaseHostPortsAsync(TaskContainer entry, TaskObject task)
    {
        if (IsStandalone(task.Id) && _nodeNetworks() is { } networks)
        {
            entry.HostPorts = [];
            await networks.ReleaseHostPortsAsync(task.Id);
        }
    }

    /// <summary>
    /// A container that could not start, as the task sees it: the specification's problems, or the runtime's reason
    /// (anything else as it is).
    /// </summary>
    private static Exception StartFailure(Exception e) => e switch
    {
        InvalidContainerSpecificationException invalid => new InvalidOperationException(string.Join("; ", invalid.Problems), e),
        ContainerStartException => new InvalidOperationException(e.Message, e),
        _ => e,
    };

    /// <summary>
    /// A standalone container's `rm`: as a task's removal, but its anonymous volumes go only with <paramref name="removeVolumes"/>
    /// (docker's `rm -v`, and `run --rm`'s end); without, they stay, used by none, for `volume prune`. Named volumes always stay.
    /// </summary>
    internal Task RemoveContainerAsync(string id, bool removeVolumes, CancellationToken ct) => RemoveTaskAsync(id, ct, removeVolumes);

    /// <summary>
    /// A task's container (killed if it runs), then what was made for it; each part idempotent. A task's anonymous volumes go
    /// with it, as docker's swarm removes a task's container with its volumes.
    /// </summary>
    private async Task RemoveTaskAsync(string taskId, CancellationToken ct, bool removeVolumes = true)
    {
        var container = _containers.TryRemove(taskId, out var entry) ? entry.Container : null;
        entry?.Dispose();
        container ??= await LinuxContainer.AttachAsync(taskId, _options, ct);
        if (container is not null)
        {
            await container.RemoveAsync(ct);
            Tell(entry?.Task, "destroy");
        }

        _volumes().Release(taskId, removeAnonymous: removeVolumes);
        _files.Remove(taskId);
        if (_nodeNetworks() is { } networks)
        {
            await networks.DetachTaskAsync(taskId, ct);
        }
    }

    /// <summary>
    /// The cgroup counters of the tasks' containers this process runs (reattached ones included); an
    /// ended container, or one whose cgroup is gone, is left out. No limit is shown as the node's memory, as docker does.
    /// </summary>
    public Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct) =>
        Task.Run<IReadOnlyDictionary<string, TaskUsageSample>>(() =>
        {
            var samples = new Dictionary<string, TaskUsageSample>(StringComparer.Ordinal);
            foreach (var id in taskIds)
            {
                ct.ThrowIfCancellationRequested();
                if (_containers.TryGetValue(id, out var entry) && entry.Container is { } container
                    && !container.WaitAsync(CancellationToken.None).IsCompleted && container.ReadUsage() is { } usage)
                {
                    // docker's NET I/O: the container's namespace's interfaces, read from its PID 1's /proc view (no process
                    // started, no namespace entered); one on the node's own network has none of its own (0, as docker's).
                    (long Received, long Sent) net = entry.Task is { } task && PredefinedNetworks.ModeOf(task.Spec.Networks) == PredefinedNetworks.Host
                        ? (0, 0)
                        : NetworkDeviceCounters.Read(container.Pid) ?? (0, 0);
                    samples[id] = new TaskUsageSample(usage.CpuNanoseconds, usage.MemoryBytes, usage.MemoryLimitBytes ?? _hostMemory.Value, usage.Pids, usage.PidsLimit)
                    {
                        NetRxBytes = net.Received,
                        NetTxBytes = net.Sent,
                        BlockReadBytes = usage.BlockReadBytes,
                        BlockWriteBytes = usage.BlockWriteBytes,
                    };
                }
            }

            return samples;
        }, ct);

    /// <summary>
    /// The containers this process keeps, running or ended, as `ps` and `container inspect` show them. A container
    /// reattached after a restart has no specification: its process is the task's spec laid over its image's config.
    /// </summary>
    public IReadOnlyList<ContainerFacts> ListContainers()
    {
        var now = DateTimeOffset.UtcNow;
        var facts = new List<ContainerFacts>();
        var volumes = _volumes();
        foreach (var (id, entry) in _containers)
        {
            if (entry.Task is not { } task)
            {
                continue;
            }

            var container = entry.Container;
            var exit = container?.WaitAsync(CancellationToken.None) is { IsCompletedSuccessfully: true } ended ? ended.Result : null;
            if (exit is not null)
            {
                entry.EndSeen ??= now;
            }

            var spec = entry.Specification;
            var health = entry.HealthState;
            facts.Add(new ContainerFacts(
                task,
                entry.ImageId,
                entry.Entrypoint,
                entry.Cmd,
                entry.Created,
                container is null ? null : entry.StartedAt ?? container.StartedAt,
                exit is null ? null : container!.FinishedAt ?? entry.EndSeen,
                exit is null ? container?.Pid ?? 0 : 0,
                exit?.ExitCode,
                entry.Health is null ? null : HealthOf(entry),
                entry.HostPorts)
            {
                Env = spec?.Env ?? task.Spec.Container.Env,
                User = spec?.User ?? task.Spec.Container.User,
                WorkingDir = spec?.WorkingDir ?? task.Spec.Container.Dir,
                Hostname = spec?.Hostname ?? TaskContainers.Hostname(task, NodeHostname),
                ExposedPorts = entry.ExposedPorts,
                HealthCheck = entry.Health,
                HealthFailingStreak = health?.FailingStreak ?? 0,
                HealthLog = [.. (health?.Log ?? []).Select(p => new ContainerHealthProbe(p.Start, p.End, p.ExitCode, p.Output))],
                Mounts = entry.Mounts,
                VolumePaths = (entry.Mounts ?? task.Spec.Container.Mounts).Where(m => m.Type == MountType.Volume && m.Source.Length > 0).Select(m => m.Source)
                    .Distinct(StringComparer.Ordinal).ToDictionary(n => n, volumes.MountpointOf, StringComparer.Ordinal),
            });
        }

        return facts;
    }

    // docker keeps the last health state of an ended container; a check not yet run is starting.
    private static ContainerHealth HealthOf(TaskContainer entry) => entry.HealthStatus switch
    {
        HealthStatus.Healthy => ContainerHealth.Healthy,
        HealthStatus.Unhealthy => ContainerHealth.Unhealthy,
        _ => ContainerHealth.Starting,
    };

    /// <summary>What this executor made for one task: its specification once prepared, its container once started.</summary>
    private sealed class TaskContainer(ContainerSpecification? specification, string imageId, int stopSignal, HealthCheck? health) : IDisposable
    {
        private readonly Lock _health = new();

        /// <summary>The task the container runs, for `ps` (a standalone container's networks change with `network connect`).</summary>
        public TaskObject? Task { get; set; }

        /// <summary>The task's mounts as made, its anonymous volumes named (inspect's Mounts); null: its spec's (a reattached container whose config is gone).</summary>
        public IReadOnlyList<MountSpec>? Mounts { get; init; }

        /// <summary>When the container was made (prepared): a reattached one's is read back from its state directory.</summary>
        public DateTimeOffset Created { get; set; } = DateTimeOffset.UtcNow;

        /// <summary>Its process's entrypoint, as docker's Config.Entrypoint (the specification's Command is it and <see cref="Cmd"/> together).</summary>
        public IReadOnlyList<string> Entrypoint { get; init; } = [];

        /// <summary>Its process's command after the entrypoint, as docker's Config.Cmd.</summary>
        public IReadOnlyList<string> Cmd { get; init; } = [];

        /// <summary>Its image's EXPOSE ports ("80/tcp"), as docker's Config.ExposedPorts.</summary>
        public IReadOnlyList<string> ExposedPorts { get; init; } = [];

        /// <summary>When the container's end was first seen, for one that left no exit file.</summary>
        public DateTimeOffset? EndSeen { get; set; }

        /// <summary>Null for a container reattached after a restart: it already runs.</summary>
        public ContainerSpecification? Specification { get; } = specification;

        public string ImageId { get; } = imageId;

        public int StopSignal { get; } = stopSignal;

        public HealthCheck? Health { get; } = health;

        public LinuxContainer? Container { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        /// <summary>Done once the container's die event was told (null: not started by this process).</summary>
        public Task? Ended { get; set; }

        /// <summary>The task's host-mode ports as its node holds them (<see cref="TaskSandbox.HostPorts"/>).</summary>
        public ImmutableArray<PortConfig> HostPorts { get; set; } = [];

        public SemaphoreSlim Gate { get; } = new(1, 1);

        private HealthMonitor? _healthMonitor;

        /// <summary>The health check's probes, run inside the container from its first wait on; null without a check or a container.</summary>
        public HealthMonitor? HealthMonitor()
        {
            lock (_health)
            {
                if (_healthMonitor is null && Health is not null && Container is { } container)
                {
                    _healthMonitor = new HealthMonitor(TaskContainers.ForRuntime(Health), container.ExecAsync, startedAt: StartedAt);
                }

                return _healthMonitor;
            }
        }

        /// <summary>The health check's last status without starting one (None before the first wait).</summary>
        public HealthStatus HealthStatus
        {
            get
            {
                lock (_health)
                {
                    return _healthMonitor?.Status ?? HealthStatus.None;
                }
            }
        }

        /// <summary>The health check's status, failing streak and last probes; null before the first wait or without a check.</summary>
        public HealthState? HealthState
        {
            get
            {
                lock (_health)
                {
                    return _healthMonitor?.State;
                }
            }
        }

        public void StopHealthChecks()
        {
            lock (_health)
            {
                _healthMonitor?.Dispose();
            }
        }

        public void Dispose()
        {
            StopHealthChecks();
            Gate.Dispose();
        }
    }

    /// <summary>
    /// A task's container on this node. <paramref name="again"/>: an ended container started again, which takes the place of
    /// <paramref name="replacing"/>, the entry of its ended run (null: none held).
    /// </summary>
    private sealed class Controller(LinuxExecutor executor, TaskObject task, TaskFiles files, bool again = false, TaskContainer? replacing = null) : ITaskController
    {
        private readonly TimeSpan _grace = TaskStep.StopGracePeriodOf(task.Spec.Container);

        // One per task actor, so `service logs` pages of this task resume where the last page's read stopped.
        private readonly ContainerLogReader _log = LinuxContainer.LogReader(task.Id, executor._options);

        public async Task PrepareAsync(CancellationToken ct)
        {
            if (executor._containers.TryGetValue(task.Id, out var held) && (replacing is null || !ReferenceEquals(held, replacing)))
            {
                return;
            }

            var reference = task.Spec.Container.Image;
            var image = await executor.ImageForAsync(reference, ct);
            var config = image.Config;
            var layers = executor._images().RootLayers(image);
            var spec = TaskContainers.Specification(task, image, layers, executor.NodeHostname);
            IReadOnlyList<MountSpec> made;
            try
            {
                // A standalone container's image volumes were named when it was made (StandaloneContainers), so they are mounts
                // by now and its data stays across its starts; a task gets its own here, which go with it.
                var mounts = task.Spec.Container.Mounts;
                var resolved = executor._volumes().ResolveMounts(task.Id, [.. mounts, .. TaskContainers.ImageVolumes(config.Volumes, mounts)], layers);
                spec = spec with { Mounts = resolved };
                // A task's anonymous volumes are named now (one mount made for each asked, in order): inspect shows them by that name.
                made = executor.NamedMounts(mounts, (_, i) => resolved[i].Source);
            }
            catch (VolumeStoreException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }

            try
            {
                spec = spec with { Mounts = [.. spec.Mounts, .. executor._files.Write(task.Id, TaskContainers.Files(files.Files, layers))] };
            }
            catch (Exception e) when (e is TaskFileException or InvalidOperationException)
            {
                executor._volumes().Release(task.Id);
                throw new InvalidOperationException(e.Message, e);
            }

            var problems = LinuxContainer.Validate(spec);
            if (problems.Count > 0)
            {
                executor._volumes().Release(task.Id);
                executor._files.Remove(task.Id);
                throw new InvalidOperationException(string.Join("; ", problems));
            }

            // Docker's fall back on a kernel before 5.12: the task's read-only binds and volumes are read-only at their top mount only.
            if (!LinuxContainer.SupportsRecursiveReadOnly && task.Spec.Container.Mounts.Select(m => m.Target).ToHashSet(StringComparer.Ordinal) is var asked
                && spec.Mounts.Where(m => m.Kind == ContainerMountKind.Bind && m.ReadOnly && !m.ReadOnlyNonRecursive && !m.NonRecursive && asked.Contains(m.Target)).Select(m => m.Target).ToList() is { Count: > 0 } topOnly)
            {
                LogNoRecursiveReadOnly(executor._logger, task.Id, string.Join(", ", topOnly));
            }

            // The managers checked the driver (LogDriverRule): none keeps nothing, json-file and local rotate files.
            spec = spec with
            {
                Log = LogDriverRule.Files(task.Spec.LogDriver) is var (maxBytes, maxFiles) ? new ContainerLogOptions { MaxBytes = maxBytes, MaxFiles = maxFiles } : null,
            };
            var hostPorts = ImmutableArray<PortConfig>.Empty;
            try
            {
                if (PredefinedNetworks.ModeOf(task.Spec.Networks) is { } mode)
                {
                    (spec, hostPorts) = executor.OnNetworkMode(spec, task, mode);
                }
                // A standalone container takes its host ports when it starts (BindHostPortsAsync), as docker's engine binds them.
                else if (executor._nodeNetworks() is { } networks && await networks.AttachTaskAsync(task, ct, standalone: executor.IsStandalone(task.Id)) is { } sandbox)
                {
                    spec = spec with { NetworkNamespace = sandbox.NetnsPath, ResolvConf = sandbox.ResolvConf, ExtraHosts = [.. spec.ExtraHosts, .. sandbox.ExtraHosts] };
                    hostPorts = sandbox.HostPorts;
                }
                else
                {
                    spec = spec with { ResolvConf = HostResolvConf.ReadHost().ForContainerWithoutNetwork(task.Spec.Container.Dns) };
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                executor._volumes().Release(task.Id);
                executor._files.Remove(task.Id);
                if (executor._nodeNetworks() is { } joined)
                {
                    await joined.DetachTaskAsync(task.Id, CancellationToken.None);
                }

                throw new InvalidOperationException($"joining the task's networks failed: {e.Message}", e);
            }

            // The container is made now, as docker creates a task's container when the task is prepared; its state
            // directory keeps the time, so a node host that restarts shows the same Created. A standalone container was
            // made by its create: prepared again after a node host restart (it never started), it keeps that time.
            var created = executor.IsStandalone(task.Id) && !again ? task.Meta.CreatedAt : DateTimeOffset.UtcNow;
            var (entrypoint, cmd) = TaskContainers.Process(task.Spec.Container, config);
            var prepared = new TaskContainer(spec with { Created = created }, image.Id, TaskContainers.StopSignal(task.Spec.Container, config),
                TaskContainers.HealthCheckOf(task.Spec.Container, config))
            {
                HostPorts = hostPorts, Task = task, Created = created, Entrypoint = entrypoint, Cmd = cmd,
                ExposedPorts = config.ExposedPorts.IsDefault ? [] : config.ExposedPorts, Mounts = made,
            };
            // A container started again (RestartAsync) was created once: docker tells only its start.
            var added = replacing is null ? executor._containers.TryAdd(task.Id, prepared) : executor._containers.TryUpdate(task.Id, prepared, replacing);
            if (added && !again)
            {
                executor.Tell(task, "create");
            }
        }

        public async Task StartAsync(CancellationToken ct)
        {
            var entry = Find() ?? throw new InvalidOperationException($"task {task.Id} has no container on this node; prepare it first");
            await entry.Gate.WaitAsync(ct);
            try
            {
                if (entry.Container is not null || entry.Specification is null)
                {
                    return;
                }

                // A node host that died between starting the container and reporting it left it running: never start a second one.
                if (await LinuxContainer.AttachAsync(task.Id, executor._options, ct) is { } existing)
                {
                    executor.LogIfMonitorGone(task.Id, existing);
                    entry.Container = existing;
                    entry.StartedAt = existing.StartedAt;
                    entry.Created = existing.Created ?? entry.Created;
                    LogReattached(executor._logger, task.Id, existing.Pid);
                    executor.WatchEnd(entry, task);
                    return;
                }

                await executor.BindHostPortsAsync(entry, task, ct);
                try
                {
                    entry.Container = await LinuxContainer.StartAsync(entry.Specification, executor._options, ct);
                }
                catch (Exception e) when (e is InvalidContainerSpecificationException or ContainerStartException)
                {
                    await executor.ReleaseHostPortsAsync(entry, task);
                    throw StartFailure(e);
                }
                catch
                {
                    await executor.ReleaseHostPortsAsync(entry, task);
                    throw;
                }

                // The container's own start (its config's time), which a node host that reattaches reads back: the same after a restart.
                entry.StartedAt = entry.Container.StartedAt ?? DateTimeOffset.UtcNow;
                LogStarted(executor._logger, task.Id, entry.Container.Pid);
                executor.Tell(task, "start");
                executor.WatchEnd(entry, task);
            }
            finally
            {
                entry.Gate.Release();
            }
        }

        public async Task<ActorExit> WaitAsync(CancellationToken ct)
        {
            var container = Find()?.Container ?? throw new InvalidOperationException($"task {task.Id} has no running container on this node");
            var exit = await container.WaitAsync(ct);
            return new ActorExit(exit.ExitCode, exit.OomKilled, exit.Message);
        }

        public bool? HealthChecked => Find() is { } entry ? entry.Health is not null : null;

        public ImmutableArray<PortConfig> HostPorts => Find()?.HostPorts ?? [];

        public async Task<ContainerHealth> WaitHealthAsync(ContainerHealth known, CancellationToken ct)
        {
            var entry = Find() ?? throw new InvalidOperationException($"task {task.Id} has no container on this node");
            if (entry.HealthMonitor() is not { } monitor)
            {
                return ContainerHealth.Healthy;
            }

            var status = await monitor.WaitChangeAsync(known switch
            {
                ContainerHealth.Healthy => HealthStatus.Healthy,
                ContainerHealth.Unhealthy => HealthStatus.Unhealthy,
                _ => HealthStatus.Starting,
            }, ct);
            return status switch
            {
                HealthStatus.Healthy or HealthStatus.None => ContainerHealth.Healthy,
                HealthStatus.Unhealthy => ContainerHealth.Unhealthy,
                _ => ContainerHealth.Starting,
            };
        }

        public async Task ShutdownAsync(CancellationToken ct)
        {
            if (Find() is { Container: { } container } entry)
            {
                entry.StopHealthChecks();
                await executor.StopTellingAsync(entry, container, _grace, ct);
            }
        }

        public async Task TerminateAsync(CancellationToken ct)
        {
            if (Find() is { Container: { } container } entry)
            {
                entry.StopHealthChecks();
                executor.TellKill(entry.Task, Signals.Kill);
                await container.KillAsync(Signals.Kill, ct);
                await container.WaitAsync(ct);
            }
        }

        public Task RemoveAsync(CancellationToken ct) => executor.RemoveTaskAsync(task.Id, ct);

        /// <summary>
        /// The container has ended for good: its namespace, interfaces, addresses and DNS server go now, as
        /// docker frees a stopped container's network endpoint, and so do its secrets and configs, as docker
        /// unmounts them when a container stops. The container, its log and its exit stay.
        /// </summary>
        public async Task ReleaseAsync(CancellationToken ct)
        {
            if (Find() is { } entry)
            {
                entry.StopHealthChecks();
            }

            executor._files.Remove(task.Id);

            if (executor._nodeNetworks() is { } networks)
            {
                await networks.DetachTaskAsync(task.Id, ct);
            }
        }

        /// <summary>The container this process runs for the task, or the one a node host before it left running (reattached).</summary>
        public async Task<ContainerInspection> InspectAsync(CancellationToken ct)
        {
            if (Find() is { Container: not null } entry)
            {
                return new ContainerInspection(true, entry.StartedAt);
            }

            var attached = await LinuxContainer.AttachAsync(task.Id, executor._options, ct);
            if (attached is null)
            {
                return ContainerInspection.Gone;
            }

            executor.LogIfMonitorGone(task.Id, attached);

            var (imageId, stopSignal, health, (entrypoint, cmd), exposed) = await DescribeAsync(ct);
            var binds = attached.BindSources();
            var reattached = new TaskContainer(null, imageId, stopSignal, health)
            {
                Container = attached, StartedAt = attached.StartedAt, Task = task, Created = attached.Created ?? attached.StartedAt ?? DateTimeOffset.UtcNow,
                Entrypoint = entrypoint, Cmd = cmd, ExposedPorts = exposed,
                // Its anonymous volumes' names, from where its config says they were mounted from.
                Mounts = binds.Count > 0 ? executor.NamedMounts(task.Spec.Container.Mounts, (m, _) => binds.GetValueOrDefault(m.Target)) : null,
            };
            if (!executor._containers.TryAdd(task.Id, reattached))
            {
                attached.Detach();
            }

            LogReattached(executor._logger, task.Id, attached.Pid);
            // A container that ended while the node host was down is released, not joined again: its end comes next. One on a
            // network mode has nothing of the node's networks to run again; on host, its ports are its own.
            if (PredefinedNetworks.ModeOf(task.Spec.Networks) is not null)
            {
                if (Find() is { } held)
                {
                    held.HostPorts = HostNetworkPorts(task);
                }
            }
            else if (executor._nodeNetworks() is not null && !attached.WaitAsync(CancellationToken.None).IsCompleted)
            {
                try
                {
                    if (Find() is { } held)
                    {
                        await executor.RestoreNetworksAsync(held, task, ct);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogNetworksNotRestored(executor._logger, task.Id, e);
                }
            }

            return new ContainerInspection(true, attached.StartedAt);
        }

        public Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, CancellationToken ct) =>
            ReadLogsAsync(after, tail, null, ct);

        /// <summary>
        /// With a limit the log files are read only until that many lines are found, and from where the last read left
        /// the cursor (the task's <see cref="ContainerLogReader"/>): one page of a large log costs a page, not the pages before it.
        /// </summary>
        public Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, int? limit, CancellationToken ct) =>
            Task.Run<IReadOnlyList<TaskLogEntry>>(() =>
            [
                .. _log.Read(after, tail, limit).Select(e => new TaskLogEntry(
                    e.Sequence, e.Timestamp, e.Stream == ContainerLogStream.Stderr ? LogStream.Stderr : LogStream.Stdout, e.Text)),
            ], ct);

        /// <summary>What a reattached container is stopped and checked with, from the task and its image when the node still has it.</summary>
        private async Task<(string ImageId, int StopSignal, HealthCheck? Health, (IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Cmd) Process, IReadOnlyList<string> ExposedPorts)> DescribeAsync(CancellationToken ct)
        {
            try
            {
                var image = await executor._images().InspectAsync(task.Spec.Container.Image, ct);
                return (image.Id, TaskContainers.StopSignal(task.Spec.Container, image.Config), TaskContainers.HealthCheckOf(task.Spec.Container, image.Config),
                    TaskContainers.Process(task.Spec.Container, image.Config), image.Config.ExposedPorts.IsDefault ? [] : image.Config.ExposedPorts);
            }
            catch (ImageStoreException)
            {
                return ("", SignalRule.Parse(task.Spec.Container.StopSignal) ?? Signals.Term, task.Spec.Container.HealthCheck,
                    (task.Spec.Container.Command, task.Spec.Container.Args), []);
            }
        }

        private TaskContainer? Find() => executor._containers.GetValueOrDefault(task.Id);
    }

    /// <summary>An attach that found the container's monitor killed: whatever still ran in its cgroup was killed, and the task will report it exited.</summary>
    private void LogIfMonitorGone(string taskId, LinuxContainer container)
    {
        if (container.WaitAsync() is { IsCompletedSuccessfully: true } ended && ended.Result.Message == LinuxContainer.MonitorGoneMessage)
        {
            LogMonitorGone(_logger, taskId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: the monitor of its container was gone; the container's processes were killed, and the task ends as exited (137)")]
    private static partial void LogMonitorGone(ILogger logger, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: this node's kernel has no mount_setattr(2) (Linux 5.12 or later), so the read-only mounts on {Targets} are read-only at their top only, and mounts under their sources stay writable")]
    private static partial void LogNoRecursiveReadOnly(ILogger logger, string taskId, string targets);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: container started, pid {Pid}")]
    private static partial void LogStarted(ILogger logger, string taskId, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: reattached to its running container, pid {Pid}")]
    private static partial void LogReattached(ILogger logger, string taskId, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: its container was reattached but its DNS server and network rules could not be restored")]
    private static partial void LogNetworksNotRestored(ILogger logger, string taskId, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id} belongs to no task assigned to this node any more; removed")]
    private static partial void LogOrphanRemoved(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: container removed, the node left the swarm")]
    private static partial void LogRemovedOnLeave(ILogger logger, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: its container could not be removed as the node left the swarm; it may still run (find it under the node's containers directory)")]
    private static partial void LogRemoveOnLeaveFailed(ILogger logger, string taskId, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "removing containers of tasks no longer assigned failed")]
    private static partial void LogRetainFailed(ILogger logger, Exception e);
}
