using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Cluster;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node host's core: what node this is (node.db), whether it is in a swarm, and the running
/// <see cref="SwarmMember"/> when it is. Control requests from the CLI land in
/// <see cref="HandleAsync"/>: the node's own commands (init, join, leave, info, version) are
/// answered here, and so are its `image` commands; the swarm's commands go to the manager API, or are refused on a worker.
/// </summary>
public sealed partial class SwarmRuntime : IAsyncDisposable
{
    private static readonly TimeSpan ManagerApiTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Longer than Proto.Remote's wait after an endpoint terminates, so peers accept the new member.</summary>
    private static readonly TimeSpan MemberRestartDelay = TimeSpan.FromSeconds(3.5);

    /// <summary>The longest wait between two starts of a member whose Raft peer keeps failing (<see cref="RestartAfterRaftFailure"/>).</summary>
    private static readonly TimeSpan RaftRestartDelayMax = TimeSpan.FromSeconds(60);

    /// <summary>How long leaving waits for the task containers to be killed and removed (a kill takes milliseconds; a stuck unmount does not).</summary>
    private static readonly TimeSpan LeaveCleanupTimeout = TimeSpan.FromSeconds(30);

    private readonly NodeOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly NodeStateFile _stateFile;
    private readonly NodeCertificateFiles _certificates;
    private readonly CancellationTokenSource _disposed = new();
    private int _disposeCalls;
    private readonly TimeProvider _renewalClock;

    // What runs this node's tasks; one for the life of the host, so a member restarted for a role change keeps its tasks.
    private readonly ITaskExecutor? _executor;
    private NodeNetworks? _networks;

    // The node's standalone containers (`protoswarm run`), on the same executor; null without a linux executor.
    private readonly StandaloneContainers? _standalone;

    // The node's local networks (bridge, host, none): their ids, kept in its state; answered here in a swarm or not.
    private readonly LocalNetworks _localNetworks;

    // The node's images: answered here in a swarm or not.
    private readonly LocalImages _images;
    private readonly NodeRegistry _registry;
    private readonly LocalVolumes _volumes;

    // What `events` tells: a manager's swarm events, this node's container events; kept for the host's life.
    private readonly NodeEvents _events;
    private NodeLocalState? _state;
    private SwarmCredentials? _credentials;
    private DateTimeOffset _renewAt = DateTimeOffset.MaxValue;

    // Autolock: the unlock key this manager was given (kept in memory only), and whether it waits for one.
    private UnlockKey? _unlockKey;
    private bool _locked;

    // CA rotation: the roots last trusted, and whether this node still needs a certificate from the new root.
    private string? _trustedRootsPem;
    private volatile bool _renewForRotation;
    private volatile bool _renewing;
    private SwarmMember? _member;
    private string _error = string.Empty;
    private string? _alone;

    // Why the member is down on purpose for a few seconds (a role being taken, a blocked member replaced), for `info`.
    private volatile string? _restarting;

    // The Raft failures in a row, and when the member was last restarted after one: one that ran for longer than
    // RaftRestartDelayMax since starts the count again.
    private int _raftFailures;
    private DateTimeOffset? _raftRestartAt;

    /// <param name="renewalClock">What the certificate renewal schedule reads (tests move it ahead by months); <paramref name="time"/> when null.</param>
    public SwarmRuntime(NodeOptions options, ILoggerFactory loggerFactory, TimeProvider time, TimeProvider? renewalClock = null)
    {
        _renewalClock = renewalClock ?? time;
        _options = options;
        _loggerFactory = loggerFactory;
        _time = time;
        _logger = loggerFactory.CreateLogger<SwarmRuntime>();
        _stateFile = new NodeStateFile(options.NodeStatePath);
        _certificates = new NodeCertificateFiles(options.CertificatesDir);
        _state = _stateFile.Load();
        _images = new LocalImages(options.ImagesDir);
        _registry = new NodeRegistry(() => _images.Store, () => _state, () => _credentials, loggerFactory);
        _volumes = new LocalVolumes(options.VolumesDir);
        _localNetworks = new LocalNetworks(Path.Combine(options.StateDir, "local-networks"), time);
        _events = new NodeEvents(time);
        var containers = new ContainerRuntimeOptions { StateRoot = options.ContainersDir, SharedMonitor = options.SharedContainerMonitor };
        _executor = options.Executor switch
        {
            "fake" => new FakeExecutor(time),
            "linux" => new LinuxExecutor(() => _images.Store, () => _volumes.Store, containers, loggerFactory, () => _networks, _registry.PullForTaskAsync,
                new TaskFileStore(options.SecretsDir)),
            _ => null,
        };
        if (_executor is LinuxExecutor linux)
        {
            linux.ContainerChanged = (task, action, attributes) => _events.Publish(LocalContainers.EventOf(task, action, attributes, _time.GetUtcNow()));
            linux.NodeHostname = options.Hostname;
            _standalone = new StandaloneContainers(linux, Path.Combine(options.StateDir, "standalone"), () => _state?.NodeId ?? string.Empty,
                () => _member is { } member && _state is { } state ? new DispatcherAttacher(member, state) : null, loggerFactory);
            _images.UsedBy = linux.UserOf;
            if (!File.Exists(containers.InitPath))
            {
                // Said once at start, where an operator looks first, rather than only in each failed task.
                LogNoContainerInit(_logger, containers.InitPath);
            }
        }
    }

    /// <summary>Rejoins the swarm this node was in, if any. A failure is logged and shown by `info`; the host keeps running.</summary>
    public async Task StartAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            _ = RenewWhenDueAsync(_disposed.Token);
            if (_standalone is not null)
            {
                await _standalone.RestoreAsync(_disposed.Token);
            }
            if (_state is not null)
            {
                var member = await StartMemberAsync(_state);
                _ = WarnIfAloneAsync(member);
                if (_standalone is { } standalone)
                {
                    // The node's networks exist now: the standalone containers get their address, ports, DNS server and rules
                    // back, in the background, since those on overlays wait for their networks' views from the managers.
                    _ = Task.Run(() => standalone.RestoreNetworksAsync(_disposed.Token));
                }
            }
        }
        catch (SwarmLockedException e)
        {
            LogLocked(_logger, e.Message);
        }
        catch (Exception e)
        {
            _error = e.Message;
            LogStartFailed(_logger, e);
        }
        finally
        {
            // The node's networks are there now (in a swarm): standalone containers its restart policies start again may join them.
            _standalone?.NetworksReady();
            _lifecycle.Release();
        }
    }

    /// <summary>A member that never sees a manager is alone, whatever Proto.Cluster says: say so.</summary>
    private async Task WarnIfAloneAsync(SwarmMember member)
    {
        if (await Task.WhenAny(member.Joined, Task.Delay(JoinTimeout)) != member.Joined && ReferenceEquals(_member, member))
        {
            _alone = $"no manager has answered this node's heartbeats since it started; check that the managers ({string.Join(", ", member.State.Managers.Select(m => m.Addr))}) are up and reachable";
            LogAlone(_logger, member.State.NodeId, JoinTimeout.TotalSeconds);
        }
    }

    /// <summary>Stops the member and closes the node's files; the host's shutdown and its service container both call it, so a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeCalls, 1) != 0)
        {
            return;
        }

        await _disposed.CancelAsync();
        await _lifecycle.WaitAsync();
        try
        {
            await StopMemberAsync();
            if (_networks is { } networks)
            {
                await networks.DisposeAsync();
            }

            _stateFile.Dispose();
            _standalone?.Dispose();
            _images.Dispose();
            _registry.Dispose();
            _disposed.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Takes a control connection over for the requests that answer with a stream (interactive exec, logs, events).</summary>
    public async Task<bool> StreamAsync(object request, Stream connection, CancellationToken ct)
    {
        if (request is WatchEvents watch)
        {
            await _events.StreamAsync(watch, connection, _state?.NodeId ?? string.Empty, ct);
            return true;
        }

        if (StandaloneContainers.Streams(request))
        {
            if (_standalone is null)
            {
                await ControlFraming.WriteAsync(connection, NoStandalone(), ct);
            }
            else
            {
                await _standalone.StreamAsync(request, connection, ct);
            }

            return true;
        }

        if (request is not ExecInTask { Streams: true } exec)
        {
            return false;
        }

        await LocalExec.StreamAsync(_executor, exec, connection, ct, TaskElsewhere);
        return true;
    }

    /// <summary>Where a task that is not on this node runs, from this manager's store (<see cref="LocalExec.Elsewhere"/>); a worker has no store: null.</summary>
    private string? TaskElsewhere(string taskRef) =>
        _member is { IsManager: true, Store: { } store } && _state is { } state
            ? LocalExec.Elsewhere(taskRef, store.Current.List<TaskObject>(), store.Current.List<NodeObject>(), state.NodeId)
            : null;

    public async Task<object> HandleAsync(object request, CancellationToken ct)
    {
        try
        {
            return request switch
            {
                GetVersion => NodeIdentity.Version(),
                GetInfo => await InfoAsync(ct),
                InitSwarm m => await InitAsync(m),
                UnlockSwarm m => await UnlockAsync(m),
                JoinSwarm m => await JoinAsync(m, ct),
                LeaveSwarm m => await LeaveAsync(m),
                _ when LocalImages.Handles(request) => await _images.HandleAsync(request, ct),
                CollectRegistryGarbage m => await CollectRegistryGarbageAsync(m, ct),
                _ when NodeRegistry.Handles(request) => await _registry.HandleAsync(request, ct),
                _ when LocalVolumes.Handles(request) => _volumes.Handle(request),
                ListContainers m => await ListContainersAsync(m, ct),
                GetDiskUsage => await DiskUsageAsync(ct),
                ListLocalNetworks => await LocalNetworksAsync(),
                ListNodeOverlays => NodeOverlays(),
                _ when StandaloneContainers.Handles(request) => _standalone is null ? NoStandalone() : await _standalone.HandleAsync(request, ct),
                ExecInTask m => await LocalExec.HandleAsync(_executor, m, ct, TaskElsewhere),
                IManagerApiRequest when _locked => Locked(),
                IManagerApiRequest => await AskManagerAsync(request, ct),
                _ => new CommandRejected(RejectCode.InvalidArgument, $"{request.GetType().Name} is not a command this node answers; are the CLI and protoswarmd the same version?"),
            };
        }
        catch (PersistenceException e)
        {
            return new CommandRejected(RejectCode.Internal, e.Message);
        }
    }

    /// <summary>The node's bridge, host and none with the containers on each (`network ls`, `network inspect`; also asked through this manager's API).</summary>
    private Task<LocalNetworkList> LocalNetworksAsync() =>
        _localNetworks.ListAsync(_executor is LinuxExecutor ? _networks : null,
            _executor is LinuxExecutor linux ? linux.ListContainers() : [], task => _standalone?.NameOf(task.Id) ?? LocalContainers.NameOf(task));

    /// <summary>`system df`: real containers' writable layers are on this node's disk; the test executor's take none.</summary>
    private Task<DiskUsage> DiskUsageAsync(CancellationToken ct) => _executor is LinuxExecutor linux
        ? LocalDiskUsage.ComputeAsync(_images.Store, _volumes.Store, linux.ListContainers(), id => LinuxContainer.WritableLayerSize(id, linux.Options), ct)
        : LocalDiskUsage.ComputeAsync(_images.Store, _volumes.Store, [], _ => 0, ct);

    /// <summary>
    /// The swarm's networks this node has, from its views (a worker's `network ls` and `network inspect`, which the managers'
    /// API refuses there); none without real containers, where the node makes no overlay and keeps no view.
    /// </summary>
    private NodeOverlayList NodeOverlays() =>
        new([.. (_executor is LinuxExecutor ? _networks?.Views() ?? [] : []).Select(NetworkViews.DetailsOf)]);

    /// <summary>
    /// `ps`, `container inspect`, `stats`: a real container on no overlay shows its local network (bridge, or none while the
    /// node is in no swarm), as docker's; the test executor's containers have no network at all.
    /// </summary>
    private async Task<object> ListContainersAsync(ListContainers request, CancellationToken ct)
    {
        var networks = _networks;
        Func<TaskObject, bool, ContainerNetwork?>? defaultNetwork = null;
        if (_executor is LinuxExecutor)
        {
            // Only a task on the bridge needs its subnet (for the gateway), and then the node has it at hand: no netlink
            // query on each `ps`, inspect or stats refresh.
            var subnet = networks?.BridgeSubnet;
            defaultNetwork = (task, running) => _localNetworks.DefaultNetworkOf(task, running, networks, subnet);
        }

        return await LocalContainers.HandleAsync(_executor, request, _time, id => networks?.NameOf(id), ct, id => _standalone?.NameOf(id), id => _standalone?.RestartOf(id),
            id => networks?.GatewayOf(id), defaultNetwork, id => _standalone?.SettingsOf(id));
    }

    private CommandRejected NoStandalone() => new(RejectCode.InvalidArgument, _executor is null
        ? "this node runs no containers (protoswarmd --executor none); containers need --executor linux"
        : "this node runs containers with the test executor; standalone containers need --executor linux");

    /// <summary>This node as it describes itself to the managers (at init, join and in every heartbeat).</summary>
    private NodeDescription Describe() => NodeIdentity.Describe(_options.Hostname, _options.RegistryListen, _options.EngineLabels);

    private async Task<object> AskManagerAsync(object request, CancellationToken ct)
    {
        var member = RunningMember;
        var state = _state;
        if (state is null)
        {
            return NotInSwarm();
        }

        if (member is null)
        {
            return MemberNotRunning();
        }

        if (!member.IsManager)
        {
            return new CommandRejected(RejectCode.NotManager,
                "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Run this command on a manager node or promote the current node to a manager.");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ManagerApiTimeout);
            return await member.System.Root.RequestAsync<object>(member.ManagerApi, request, timeout.Token);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return new CommandRejected(RejectCode.Unavailable, "The swarm's managers did not answer in time; check `protoswarm info` and the managers' logs, then try again.");
        }
        catch (DeadLetterException)
        {
            // The member stopped under the request (its Raft member failed, or the cluster stopped it): it is being replaced.
            return MemberNotRunning();
        }
    }

    /// <summary>
    /// `registry gc`: on this manager, since each manager sweeps its own disk; the unlinks go through the store to all.
    /// The other managers' disks follow at their next periodic sweep.
    /// </summary>
    private async Task<object> CollectRegistryGarbageAsync(CollectRegistryGarbage m, CancellationToken ct)
    {
        var member = RunningMember;
        if (_state is null)
        {
            return NotInSwarm();
        }

        if (member is null)
        {
            return MemberNotRunning();
        }

        if (!member.IsManager || member.Registry is not { } registry || member.Store is not { } store)
        {
            return new CommandRejected(RejectCode.NotManager,
                $"`registry gc` runs on a manager: the registry's blobs live on the managers' disks, and {_options.Hostname} is a worker. Run it on a manager (`protoswarm node ls` shows them).");
        }

        if (m.Grace < TimeSpan.Zero)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"--grace {m.Grace} is negative; give how long to leave new blobs alone, such as 1h (the default).");
        }

        try
        {
            var (repositories, disk, swept) = await registry.CollectGarbageAsync(m.DryRun, m.DeleteUntagged, m.Grace, ct);
            var others = store.Current.List<NodeObject>().Count(n => n.ManagerStatus is not null && n.Id != _state.NodeId);
            return new RegistryGarbageCollected(m.DryRun, repositories, _options.Hostname, disk.BlobFiles, disk.Bytes, disk.Uploads, others, swept);
        }
        catch (StoreConflictException e)
        {
            return new CommandRejected(RejectCode.Conflict, $"{e.Message} Run `registry gc` again.");
        }
        catch (InvalidOperationException e)
        {
            return new CommandRejected(RejectCode.Unavailable, $"`registry gc` could not write the registry's metadata: {e.Message}; check that a majority of the managers is up, then run it again.");
        }
        catch (ProtoSwarm.Registry.Server.RegistryException e)
        {
            return new CommandRejected(RejectCode.Internal, e.Message);
        }
    }

    private async Task<object> InfoAsync(CancellationToken ct)
    {
        var state = _state;
        var member = RunningMember;
        var restarting = member is null ? Restarting : null;
        var local = new NodeInfoSnapshot(
            LocalNodeState(state is not null, _locked, member is not null, restarting),
            state?.NodeId ?? string.Empty,
            state?.AdvertiseAddr ?? string.Empty,
            state?.Role == NodeRole.Manager,
            state?.ClusterId ?? string.Empty,
            0,
            0,
            [.. (state?.Managers ?? []).Select(m => m.Addr)],
            _options.Hostname,
            NodeIdentity.EngineVersion,
            _options.StateDir,
            _alone ?? _error,
            _options.ListenAddr.ToString(),
            member?.System.Id ?? string.Empty,
            Note: restarting ?? string.Empty,
            Labels: [.. _options.EngineLabels.Select(l => $"{l.Key}={l.Value}")]);
        if (state?.Role != NodeRole.Manager || member is null)
        {
            return local;
        }

        // A manager that cannot get the swarm's summary (no leader: quorum lost) says why, as docker's info does,
        // rather than showing 0 managers and 0 nodes with no error.
        return await AskManagerAsync(new GetSwarmSummary(SwarmIds.NewRequestId()), ct) switch
        {
            SwarmSummary summary => local with { Managers = summary.Managers, Nodes = summary.Nodes, RemoteManagers = [.. summary.ManagerAddresses.Select(m => m.Addr)], Security = summary.Security, TaskHistoryRetentionLimit = summary.TaskHistoryRetentionLimit, DispatcherHeartbeatMs = summary.DispatcherHeartbeatMs },
            CommandRejected rejected when local.Error.Length == 0 => local with { Error = rejected.Reason },
            _ => local,
        };
    }

    /// <summary>
    /// `info`'s Swarm state, docker's words: inactive, locked, active, or error when the node is in a swarm and its member
    /// is not running. A member stopped on purpose and starting again (<paramref name="restarting"/> says why: the node
    /// takes its new role after a promote or demote, 4-8 s) is active, as docker's node is meanwhile; it showed "error".
    /// </summary>
    internal static string LocalNodeState(bool inSwarm, bool locked, bool memberRunning, string? restarting) =>
        !inSwarm ? "inactive" : locked ? "locked" : memberRunning || restarting is not null ? "active" : "error";

    /// <summary>Stops and starts the member on purpose (<paramref name="restart"/>), `info` saying <paramref name="why"/> meanwhile.</summary>
    private async Task RestartingAsync(string why, Func<Task> restart)
    {
        _restarting = why;
        try
        {
            await restart();
        }
        finally
        {
            _restarting = null;
        }
    }

    /// <summary>The note `info` shows while the node restarts its member to take <paramref name="role"/>.</summary>
    internal static string TakingRole(NodeRole role) =>
        $"taking its new role ({role.ToString().ToLowerInvariant()}): its swarm member is restarting, for a few seconds";

    private async Task<object> InitAsync(InitSwarm m)
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (SwarmCa.CheckExternalCas(m.ExternalCas.IsDefault ? [] : m.ExternalCas) is { } wrongCa)
            {
                return new CommandRejected(RejectCode.InvalidArgument, wrongCa + ".");
            }

            if (m.ForceNewCluster)
            {
                return await ForceNewClusterAsync(m);
            }

            if (_state is not null)
            {
                return AlreadyInSwarm();
            }

            var (advertise, error) = NodeIdentity.ChooseAdvertiseAddr(m.AdvertiseAddr, _options.AdvertiseAddr, _options.ListenAddr);
            if (advertise is null)
            {
                return new CommandRejected(RejectCode.InvalidArgument, error!);
            }

            var externalCas = m.ExternalCas.IsDefault ? [] : m.ExternalCas;
            var now = _time.GetUtcNow();
            var cluster = SwarmCa.NewCluster(now, m.SnapshotInterval, m.AutoLock) with { TaskHistoryRetentionLimit = m.TaskHistoryLimit, ExternalCas = externalCas };
            var unlockKey = m.AutoLock ? UnlockKey.Parse(cluster.UnlockKey) : null;
            var nodeId = SwarmIds.New();
            var raftId = NodeCommands.NewRaftId([]);
            var addr = advertise.ToString();
            var self = NodeCommands.NewNode(nodeId, NodeRole.Manager, addr, _options.ListenAddr.Port, Describe(), now, leader: true, raftId);
            // A new swarm's log gets a new data key, whatever a past membership left behind.
            RaftSealing.DeleteDataKey(_options);
            using (var sealer = RaftSealing.OpenSealer(_options, unlockKey))
            {
                RaftBootstrap.Create(_options.RaftPath, sealer, cluster.ClusterId, raftId, [cluster, self], now);
            }


            // The first manager's key is made here and its certificate signed by the new root directly.
            var key = NodeKey.Generate();
            var issued = SwarmCa.IssueNode(cluster, key.CreateCsr().ToPem(), nodeId, NodeRole.Manager, addr, now);
            _certificates.Save(issued.RootCaPem, issued.CertificatePem, key.ExportPrivateKeyPem());
            self = self with { CertRootDigest = SwarmCa.CurrentRootDigest(cluster), CertNotAfter = SwarmCa.NotAfter(issued) };

            var managerAddr = $"{addr}:{_options.ListenAddr.Port}";
            var state = new NodeLocalState(nodeId, cluster.ClusterId, NodeRole.Manager, addr, [new ManagerAddress(nodeId, managerAddr, true)], raftId);
            _stateFile.Save(state);
            _state = state;
            _unlockKey = unlockKey;
            var member = await StartMemberAsync(state);
            await WaitForLeaderAsync(member, TimeSpan.FromSeconds(10));
            LogInitialized(_logger, cluster.ClusterId, nodeId, managerAddr);
            return new InitSwarmAck(nodeId, cluster.ClusterId, cluster.WorkerJoinToken, managerAddr, cluster.UnlockKey);
        }
        catch (Exception e) when (e is not PersistenceException)
        {
            LogInitFailed(_logger, e);
            return new CommandRejected(RejectCode.Internal, $"Could not initialise the swarm: {e.Message}");
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private static async Task WaitForLeaderAsync(SwarmMember member, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (member.Raft is { LeaderId: 0 } && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Restarts the swarm from this manager alone after quorum was lost: every committed object is
    /// kept, this manager is the only Raft voter, the other managers become workers in the store.
    /// The swarm settings given with it (`--task-history-limit`, `--snapshot-interval`, `--autolock`) are then
    /// applied as `swarm update` would, as docker's init applies its spec on either path.
    /// </summary>
    private async Task<object> ForceNewClusterAsync(InitSwarm m)
    {
        if (_state is not { } state || state.Role != NodeRole.Manager || state.RaftId == 0)
        {
            return new CommandRejected(RejectCode.Conflict, "--force-new-cluster restarts the swarm from this node's copy of its state, and this node is not a manager; run it on a surviving manager.");
        }

        await StopMemberAsync();
        StoreState store;
        using (var sealer = RaftSealing.OpenSealer(_options, _unlockKey))
        {
            store = RaftBootstrap.ForceNewCluster(_options.RaftPath, sealer, state.ClusterId, state.RaftId, _time.GetUtcNow());
        }

        var cluster = store.Get<ClusterObject>(ClusterObject.DefaultId)!;
        var managerAddr = $"{state.AdvertiseAddr}:{_options.ListenAddr.Port}";
        state = state with { Managers = [new ManagerAddress(state.NodeId, managerAddr, true)] };
        _stateFile.Save(state);
        _state = state;
        var member = await StartMemberAsync(state);
        await WaitForLeaderAsync(member, TimeSpan.FromSeconds(10));
        foreach (var other in store.List<NodeObject>().Where(n => n.Role == NodeRole.Manager && n.Id != state.NodeId))
        {
            var current = member.Store!.Current.Get<NodeObject>(other.Id);
            if (current is not null)
            {
                await member.Proposer!.ProposeAsync([StoreChange.Update(NodeCommands.WithRoleChangeTime(current, NodeCommands.AsWorker(current), _time.GetUtcNow()))]);
            }
        }

        var unlockKey = string.Empty;
        if (member.Store!.Current.Get<ClusterObject>(ClusterObject.DefaultId) is { } kept && ForcedClusterSettings.Apply(kept, m) is { } changed)
        {
            await member.Proposer!.ProposeAsync([StoreChange.Update(changed)]);
            unlockKey = changed.AutoLockManagers && !kept.AutoLockManagers ? changed.UnlockKey : string.Empty;
        }

        LogForcedNewCluster(_logger, cluster.ClusterId, state.NodeId);
        return new InitSwarmAck(state.NodeId, cluster.ClusterId, cluster.WorkerJoinToken, managerAddr, unlockKey);
    }

    private async Task<object> JoinAsync(JoinSwarm m, CancellationToken ct)
    {
        if (!NodeOptionsParser.TryParseEndpoint(m.RemoteAddr, NodeOptions.DefaultPort, out var remote))
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"{m.RemoteAddr} is not a manager address; give it as IP:PORT, e.g. 10.0.0.1:2377.");
        }

        var (advertise, error) = NodeIdentity.ChooseAdvertiseAddr(m.AdvertiseAddr, _options.AdvertiseAddr, _options.ListenAddr);
        if (advertise is null)
        {
            return new CommandRejected(RejectCode.InvalidArgument, error!);
        }

        SwarmMember member;
        await _lifecycle.WaitAsync(ct);
        try
        {
            if (_state is not null)
            {
                return AlreadyInSwarm();
            }

            var (accepted, refused) = await JoinThroughCaAsync(m, remote.ToString(), advertise.ToString(), ct);
            if (accepted is null)
            {
                return refused!;
            }

            var state = new NodeLocalState(accepted.NodeId, accepted.ClusterId, accepted.Role, advertise.ToString(), accepted.Managers, accepted.RaftId);
            if (accepted.RaftId != 0)
            {
                DeleteRaftLog();
            }

            _stateFile.Save(state);
            _state = state;
            member = await StartMemberAsync(state);
            LogJoined(_logger, accepted.ClusterId, accepted.NodeId, accepted.Role, remote.ToString());
        }
        finally
        {
            _lifecycle.Release();
        }

        // A join that "succeeds" but never sees the managers is the split brain to avoid: check the member list.
        var joined = await Task.WhenAny(member.Joined, Task.Delay(JoinTimeout, ct));
        return joined == member.Joined
            ? new JoinSwarmAck(member.State.NodeId, member.State.Role)
            : new CommandRejected(RejectCode.Unavailable,
                $"This node joined the swarm as {member.State.NodeId} but has not reached its managers within {JoinTimeout.TotalSeconds:0} s; it keeps trying in the background. Check that the managers can reach {member.State.AdvertiseAddr}:{_options.ListenAddr.Port}.");
    }

    /// <summary>
    /// Joins as swarmkit does: fetch the root CA without trusting it, compare its digest with the token's, then
    /// send the token and a CSR for a key made here to a manager whose certificate chains to that root. The
    /// key and the certificate the managers return are saved; the key never leaves this node.
    /// </summary>
    private async Task<(JoinAccepted? Accepted, CommandRejected? Refused)> JoinThroughCaAsync(JoinSwarm m, string remote, string advertise, CancellationToken ct)
    {
        if (!JoinToken.TryParse(m.Token, out var token, out var tokenError))
        {
            return (null, new CommandRejected(RejectCode.InvalidToken, $"The join token is malformed: {tokenError}. Print the current one on a manager with `protoswarm swarm join-token worker` (or `manager`)."));
        }

        CaRootInfo root;
        X509Certificate2? server;
        try
        {
            (root, server) = await CaClient.FetchRootAsync(remote, JoinTimeout, ct);
        }
        catch (CaUnavailableException e)
        {
            return (null, new CommandRejected(RejectCode.NotManager, e.Message));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (null, new CommandRejected(RejectCode.Unavailable, $"Could not reach a swarm manager at {remote}: {e.GetBaseException().Message}. Check the address and that its port is reachable from this node."));
        }

        var roots = Pem.ReadCertificates(root.RootCaPem);
        if (!roots.Any(token.Matches))
        {
            LogRootMismatch(_logger, remote, token.CaDigest.ToString());
            return (null, new CommandRejected(RejectCode.InvalidToken,
                $"The manager at {remote} presented a root CA whose digest is not the one in the join token (the token expects {token.CaDigest}). Either the token belongs to another swarm, or something between this node and the manager is impersonating it (a possible man-in-the-middle). Nothing was sent; check the address and the token."));
        }

        var trusted = NodeCertificateFiles.Validator(root.RootCaPem, root.ClusterId);
        using (server)
        {
            if (trusted.Validate(server, PeerUsage.Server) is { IsAccepted: false } serverCheck)
            {
                return (null, new CommandRejected(RejectCode.PermissionDenied,
                    $"The manager at {remote} showed the right root CA but a certificate that root did not issue ({serverCheck.Reason}); a possible man-in-the-middle. Nothing was sent."));
            }
        }

        var key = NodeKey.Generate();
        var request = new JoinRequest(m.RequestId, m.Token, advertise, Describe(), key.CreateCsr().ToPem(), _options.ListenAddr.Port);
        object reply;
        try
        {
            reply = await CaClient.JoinAsync(remote, trusted, request, JoinTimeout, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (null, new CommandRejected(RejectCode.Unavailable, $"The manager at {remote} did not complete the join: {e.GetBaseException().Message}."));
        }

        if (reply is not JoinAccepted accepted)
        {
            return (null, reply as CommandRejected ?? new CommandRejected(RejectCode.Internal, $"The manager answered {reply.GetType().Name} to a join request."));
        }

        _certificates.Save(accepted.RootCaPem, accepted.CertificatePem + accepted.IntermediatesPem, key.ExportPrivateKeyPem());
        return (accepted, null);
    }

    /// <summary>`swarm unlock`: a manager that restarted locked opens its data key with the unlock key and starts.</summary>
    private async Task<object> UnlockAsync(UnlockSwarm m)
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_state is not { } state)
            {
                return NotInSwarm();
            }

            if (!_locked)
            {
                return new CommandRejected(RejectCode.Conflict, "This node is not locked; nothing to unlock.");
            }

            UnlockKey key;
            try
            {
                key = UnlockKey.Parse(m.UnlockKey);
            }
            catch (FormatException e)
            {
                return new CommandRejected(RejectCode.InvalidArgument, e.Message);
            }

            try
            {
                using var sealer = RaftSealing.OpenSealer(_options, key);
            }
            catch (InvalidUnlockKeyException e)
            {
                LogUnlockRefused(_logger, state.NodeId);
                return new CommandRejected(RejectCode.InvalidArgument, e.Message);
            }

            _unlockKey = key;
            try
            {
                await StartMemberAsync(state);
            }
            catch (InvalidOperationException e)
            {
                return new CommandRejected(RejectCode.Internal, $"The key is right, but the node could not start: {e.Message}");
            }

            LogUnlocked(_logger, state.NodeId);
            return new UnlockSwarmAck(state.NodeId);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private static CommandRejected Locked() => new(RejectCode.Unavailable,
        "This node is locked (autolock): run `protoswarm swarm unlock` with the swarm's unlock key first.");

    private async Task<object> LeaveAsync(LeaveSwarm m)
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_state is not { } state)
            {
                return NotInSwarm();
            }

            var member = _member;
            // Null when this manager's store cannot be read (its member did not start): then how many
            // managers remain is unknown, and the warning must not claim this is the last one.
            int? otherManagers = member?.Store?.Current.List<NodeObject>().Count(n => n.Role == NodeRole.Manager && n.Id != state.NodeId);
            if (state.Role == NodeRole.Manager && !m.Force)
            {
                return new CommandRejected(RejectCode.Conflict, otherManagers is null
                    ? "You are attempting to leave the swarm on a node that is participating as a manager, and this node cannot read the swarm's state (its member is not running: see its log), so whether other managers remain is unknown. If it is the last manager, leaving erases all current state of the swarm. Demote it first from another manager (`protoswarm node demote`), or use `--force`."
                    : otherManagers == 0
                    ? "You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message."
                    : "You are attempting to leave the swarm on a node that is participating as a manager. Demote it first (`protoswarm node demote` on another manager), or use `--force`: it then leaves the managers' Raft group before it goes.");
            }

            if (state.Role == NodeRole.Manager && otherManagers is > 0 && member is not null)
            {
                // Leave Raft cleanly: the others demote this node, so their quorum shrinks with it.
                var demoted = await DemoteSelfAsync(member, state.NodeId);
                if (!demoted)
                {
                    LogLeaveWithoutDemotion(_logger, state.NodeId);
                }
            }

            await LeaveLocallyAsync(state);
            return new LeaveSwarmAck(state.NodeId);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private static async Task<bool> DemoteSelfAsync(SwarmMember member, string nodeId)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var requestId = SwarmIds.NewRequestId();
        while (DateTime.UtcNow < until)
        {
            try
            {
                var reply = await member.System.Root.RequestAsync<object>(member.ManagerApi, new DemoteNode(requestId, nodeId, Leaving: true), TimeSpan.FromSeconds(10));
                if (reply is NodeUpdateAck)
                {
                    return true;
                }

                if (reply is CommandRejected { Code: not RejectCode.Unavailable })
                {
                    return false;
                }
            }
            catch (TimeoutException)
            {
            }

            // This node leads: leadership is moving; ask again (a fresh request, since the answer was transient).
            requestId = SwarmIds.NewRequestId();
            await Task.Delay(500);
        }

        return false;
    }

    private async Task LeaveLocallyAsync(NodeLocalState state)
    {
        await StopMemberAsync();
        await RemoveContainersAsync(state);
        DeleteRaftLog();
        _stateFile.Save(null);
        _state = null;
        _certificates.Delete();
        _credentials = null;
        _unlockKey = null;
        _locked = false;
        _renewAt = DateTimeOffset.MaxValue;
        _error = string.Empty;
        LogLeft(_logger, state.NodeId, state.ClusterId);
    }

    /// <summary>
    /// Docker's daemon force-removes a node's task containers when it leaves: the managers start their replacements
    /// elsewhere, and a container left running would be an extra replica nobody owns (also after the node joins
    /// again, as a new node). The task actors are stopped first, so none starts a container again. Bounded: a node
    /// that cannot remove a container still leaves, and says which.
    /// </summary>
    private async Task RemoveContainersAsync(NodeLocalState state)
    {
        if (_executor is null)
        {
            return;
        }

        using var bounded = new CancellationTokenSource(LeaveCleanupTimeout);
        try
        {
            await _executor.RemoveAllAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            LogContainersLeft(_logger, state.NodeId, LeaveCleanupTimeout.TotalSeconds, _options.ContainersDir);
        }
    }

    private void DeleteRaftLog()
    {
        foreach (var file in RaftLogFile.FilesOf(_options.RaftPath))
        {
            File.Delete(file);
        }

        RaftSealing.DeleteDataKey(_options);
    }

    /// <summary>The node's overlays, for a node that runs real containers: one per node identity (a node that left and joined again is a new node).</summary>
    private async Task<NodeNetworks?> NetworksForAsync(NodeLocalState state)
    {
        if (_executor is not LinuxExecutor)
        {
            return null;
        }

        if (_networks is { } current && current.NodeId != state.NodeId)
        {
            _networks = null;
            await current.DisposeAsync();
        }

        if (_networks is null)
        {
            _networks = new NodeNetworks(state.NodeId, () => _state?.AdvertiseAddr, _options.NetnsDir, _options.OverlayNetnsDir, _loggerFactory);
            try
            {
                await _networks.SweepAtStartAsync(_disposed.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogNetworkSweepFailed(_logger, e.Message);
            }
        }

        return _networks;
    }

    private async Task<SwarmMember> StartMemberAsync(NodeLocalState state)
    {
        try
        {
            if (!_certificates.Exist)
            {
                throw new InvalidOperationException($"this node's certificates are missing from {_options.CertificatesDir}; leave the swarm (`protoswarm swarm leave --force`) and join it again");
            }

            if (state.Role == NodeRole.Manager && state.RaftId != 0 && _unlockKey is null && RaftSealing.DataKeyFile(_options).NeedsUnlockKey)
            {
                _locked = true;
                throw new SwarmLockedException("this manager is locked (autolock): its Raft data is sealed under the swarm's unlock key. Run `protoswarm swarm unlock` and give the key printed by `protoswarm swarm unlock-key` on an unlocked manager.");
            }

            _locked = false;
            _credentials = _certificates.Load(state.ClusterId);
            // A removed node cannot get the dispatcher's answer (a manager does not connect to it any more); the
            // managers refuse its calls with a notice instead, which its outgoing connections read.
            var nodeId = state.NodeId;
            _credentials.RemovedBySwarm += manager => LeaveBecauseRemoved(nodeId, $"manager {manager} refused its calls: removed");
            _trustedRootsPem = _certificates.ReadRootPem();
            _renewAt = _certificates.RenewAt(Random.Shared);
            var networks = await NetworksForAsync(state);
            var member = await SwarmMember.StartAsync(
                state, _options, _credentials, Describe(), _loggerFactory, _time, OnAck, OnRejected, _unlockKey, key => _unlockKey = key,
                _executor is null ? null : () => TaskSupervisor.PropsFor(_executor, _time, _loggerFactory, _options.MaxConcurrentStarts),
                networks is null ? null : () => Props.FromProducer(() => new NetworkAgentActor(networks, _loggerFactory)),
                // The ports the node's standalone containers hold, for the managers' scheduler: no task of theirs may take one.
                networks is null ? null : () => networks.StandaloneHostPorts,
                LocalNetworksAsync,
                _events);
            _member = member;
            _error = string.Empty;
            member.System.Shutdown.Register(() => OnMemberStopped(member));
            if (member is { IsManager: true, Store: { } store, Raft: { } raft })
            {
                _ = SwarmEventFeed.RunAsync(store, raft, _events, _time, member.System.Shutdown);
            }
            return member;
        }
        catch (SwarmLockedException e)
        {
            _error = e.Message;
            throw;
        }
        catch (Exception e)
        {
            _error = $"could not start: {e.Message}";
            throw new InvalidOperationException($"The node could not start its swarm member on {_options.ListenAddr}: {e.Message}", e);
        }
    }

    private async Task StopMemberAsync()
    {
        if (_member is { } member)
        {
            _member = null;
            await member.DisposeAsync();
        }
    }

    /// <summary>
    /// Proto.Cluster stops a member the others have blocked (it was Down, e.g. cut off, and its
    /// member id was removed). The node is still in the swarm: start a new member, with a new id,
    /// after the peers' endpoints to the old one have closed.
    /// <para>
    /// A manager's Raft peer also stops its member when it fails (<see cref="SwarmMember.FailureReason"/>: its log
    /// could not be written, say on a full disk): the new member reads the log back from disk. While that keeps
    /// failing (the disk still full), the restarts back off, from <see cref="MemberRestartDelay"/> to
    /// <see cref="RaftRestartDelayMax"/>, and each one says why; once a write succeeds again the member stays.
    /// </para>
    /// </summary>
    private void OnMemberStopped(SwarmMember member)
    {
        if (member.Stopping)
        {
            return;
        }

        if (member.FailureReason is { } failure)
        {
            RestartAfterRaftFailure(member, failure);
            return;
        }

        LogMemberStopped(_logger, member.State.NodeId, member.System.Id);
        const string why = "its swarm member is restarting: the cluster stopped it after it was Down";
        _restarting ??= why;
        RestartMember(member, why, MemberRestartDelay);
    }

    private void RestartAfterRaftFailure(SwarmMember? failed, string failure)
    {
        _raftFailures = _raftRestartAt is { } last && _time.GetUtcNow() - last > RaftRestartDelayMax ? 1 : _raftFailures + 1;
        var delay = TimeSpan.FromTicks(Math.Min(RaftRestartDelayMax.Ticks, MemberRestartDelay.Ticks << Math.Min(_raftFailures - 1, 5)));
        var nodeId = (failed?.State ?? _state)?.NodeId ?? string.Empty;
        LogRaftFailed(_logger, nodeId, failure, delay.TotalSeconds);
        _raftRestartAt = _time.GetUtcNow() + delay;
        _restarting = $"its swarm member restarts at {_raftRestartAt.Value.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC: {failure}";
        // Its log could not even be opened (the disk still full): try again later, as for a failed write.
        RestartMember(failed, $"its swarm member is restarting: {failure}", delay, e => RestartAfterRaftFailure(null, e.InnerException?.Message ?? e.Message));
    }

    /// <summary>
    /// Replaces <paramref name="stopped"/> (null: none is left) after <paramref name="delay"/>, `info` saying <paramref name="why"/>
    /// meanwhile, unless the node left the swarm, the host is stopping, or something else replaced it first. A start that fails
    /// goes to <paramref name="startFailed"/> when given (it tries again), else it is logged and shown by `info` (<see cref="InBackground"/>).
    /// </summary>
    private void RestartMember(SwarmMember? stopped, string why, TimeSpan delay, Action<Exception>? startFailed = null) => InBackground(
        async () =>
        {
            if (!ReferenceEquals(_member, stopped) || _state is null || _disposed.IsCancellationRequested)
            {
                if (_state is null)
                {
                    _restarting = null; // it left the swarm meanwhile
                }

                return;
            }

            try
            {
                await RestartingAsync(why, async () =>
                {
                    await StopMemberAsync();
                    await StartMemberAsync(_state!);
                });
            }
            catch (Exception e) when (startFailed is not null && _member is null && _state is not null)
            {
                _error = e.Message;
                startFailed(e);
            }
        },
        delay);

    /// <summary>Runs a change of the node's lifecycle off the caller's thread, under the lifecycle lock; a failure is logged and shown by `info`.</summary>
    private void InBackground(Func<Task> work, TimeSpan delay = default) => _ = Task.Run(async () =>
    {
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay);
        }

        await _lifecycle.WaitAsync();
        try
        {
            await work();
        }
        catch (Exception e)
        {
            _error = e.Message;
            LogStartFailed(_logger, e);
        }
        finally
        {
            _lifecycle.Release();
        }
    });

    /// <summary>
    /// Keeps node.db current with what the managers say, and follows a role change: a promoted
    /// node restarts as a manager with an empty Raft log (the leader sends it everything), a
    /// demoted one restarts as a worker and drops its Raft log.
    /// </summary>
    private void OnAck(HeartbeatAck ack)
    {
        _alone = null;
        var state = _state;
        if (state is null)
        {
            return;
        }

        FollowRoots(state, ack);

        var next = state with
        {
            Managers = ack.Managers.IsDefaultOrEmpty ? state.Managers : ack.Managers,
            Role = ack.DesiredRole,
            RaftId = ack.DesiredRole == NodeRole.Manager ? ack.RaftId : 0,
        };
        if (next.Role == state.Role && next.RaftId == state.RaftId && next.Managers.SequenceEqual(state.Managers))
        {
            return;
        }

        InBackground(async () =>
        {
            if (_state is null || _state.NodeId != next.NodeId)
            {
                return;
            }

            var roleChanged = _state.Role != next.Role || _state.RaftId != next.RaftId;
            if (_state.Role != next.Role && !await RenewCertificateAsync(_state, $"its role is now {next.Role}"))
            {
                return; // the next heartbeat answer tries again
            }

            _stateFile.Save(next);
            _state = next;
            if (roleChanged)
            {
                LogRoleChanged(_logger, next.NodeId, next.Role);
                await RestartingAsync(TakingRole(next.Role), async () =>
                {
                    await StopMemberAsync();
                    DeleteRaftLog();
                    await Task.Delay(MemberRestartDelay);
                    await StartMemberAsync(next);
                });
            }
        });
    }

    /// <summary>
    /// A CA rotation reaches this node through the heartbeat's answer: trust what the managers trust (the old and the
    /// new root, and the cross-signed new root, while it lasts), and renew once if this node's certificate is not
    /// from the root that signs now.
    /// </summary>
    private void FollowRoots(NodeLocalState state, HeartbeatAck ack)
    {
        if (ack.TrustedRootsPem.Length == 0 || _credentials is not { } credentials)
        {
            return;
        }

        if (!string.Equals(ack.TrustedRootsPem, _trustedRootsPem, StringComparison.Ordinal))
        {
            credentials.TrustRoots(ack.TrustedRootsPem, ack.IntermediatesPem);
            _certificates.SaveRoots(ack.TrustedRootsPem);
            _trustedRootsPem = ack.TrustedRootsPem;
            _renewForRotation = NeedsRotation(credentials.Certificate, ack.TrustedRootsPem, state.ClusterId);
            LogRootsChanged(_logger, state.NodeId, X509Conversions.ReadCertificates(ack.TrustedRootsPem).Length, _renewForRotation);
        }

        if (ack.RemovedNodes.Any(id => !credentials.Validator.IsRemoved(id)))
        {
            credentials.Trust(credentials.Validator.WithRemovedNodes(ack.RemovedNodes.ToHashSet(StringComparer.Ordinal)));
        }

        if (_renewForRotation && !_renewing)
        {
            _renewing = true;
            InBackground(async () =>
            {
                try
                {
                    if (_state is { } now && _renewForRotation && await RenewCertificateAsync(now, "the swarm's root CA was rotated")
                        && _credentials is { } renewed && _trustedRootsPem is { } roots)
                    {
                        // Against the roots known now, not "done": a rotation replaced while this renewal was under
                        // way (`swarm ca --rotate` again) may have issued it from the root the swarm just abandoned.
                        _renewForRotation = NeedsRotation(renewed.Certificate, roots, now.ClusterId);
                    }
                }
                finally
                {
                    _renewing = false;
                }
            });
        }
    }

    /// <summary>Whether <paramref name="certificate"/> is not from the root that signs now: the first of the roots to trust.</summary>
    internal static bool NeedsRotation(X509Certificate2 certificate, string trustedRootsPem, string clusterId)
    {
        var roots = X509Conversions.ReadCertificates(trustedRootsPem);
        return roots.Length > 0 && !new SwarmCertificateValidator([roots[0]], clusterId).Validate(certificate, PeerUsage.Client).IsAccepted;
    }

    /// <summary>Renews the node's certificate when due: at a random point between 50% and 80% of its life.</summary>
    private async Task RenewWhenDueAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30), _renewalClock);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (_renewalClock.GetUtcNow() < _renewAt || _state is null)
                {
                    continue;
                }

                await _lifecycle.WaitAsync(ct);
                try
                {
                    if (_state is { } state && _renewalClock.GetUtcNow() >= _renewAt)
                    {
                        await RenewCertificateAsync(state, "it reached its renewal time");
                    }
                }
                finally
                {
                    _lifecycle.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Asks the managers for a new certificate for a new key (for the role the store gives this node) and
    /// swaps it in; new connections use it. Tries each known manager. Called under the lifecycle lock.
    /// </summary>
    private async Task<bool> RenewCertificateAsync(NodeLocalState state, string reason)
    {
        if (_credentials is not { } credentials)
        {
            return false;
        }

        var key = NodeKey.Generate();
        var request = new RenewCertificate(SwarmIds.NewRequestId(), state.NodeId, key.CreateCsr().ToPem());
        var problems = new List<string>();
        foreach (var manager in state.Managers.OrderByDescending(m => m.Leader))
        {
            object reply;
            try
            {
                reply = await CaClient.RenewAsync(manager.Addr, credentials, request, JoinTimeout, _disposed.Token);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                problems.Add($"{manager.Addr}: {e.GetBaseException().Message}");
                continue;
            }

            if (reply is CertificateIssued issued)
            {
                _certificates.Save(issued.RootCaPem, issued.CertificatePem + issued.IntermediatesPem, key.ExportPrivateKeyPem());
                credentials.TrustRoots(issued.RootCaPem, issued.IntermediatesPem);
                // What this node trusts now: a heartbeat's answer with other roots (a rotation replaced or ended
                // since the managers issued this) is followed again rather than taken as known.
                _trustedRootsPem = issued.RootCaPem;
                credentials.Renew(X509Conversions.ToX509Certificate2(issued.CertificatePem, key.ExportPrivateKeyPem()), X509Conversions.ReadCertificates(issued.IntermediatesPem));
                _renewAt = _certificates.RenewAt(Random.Shared);
                LogCertificateRenewed(_logger, state.NodeId, issued.Role, reason, _renewAt);
                return true;
            }

            problems.Add($"{manager.Addr}: {(reply as CommandRejected)?.Reason ?? reply.GetType().Name}");
        }

        _error = $"could not renew the node certificate: {string.Join("; ", problems)}";
        LogRenewalFailed(_logger, state.NodeId, _error);
        return false;
    }

    private void OnRejected(HeartbeatRejected rejected)
    {
        if (rejected.Removed && _state is { } state)
        {
            LeaveBecauseRemoved(state.NodeId, rejected.Reason);
        }
    }

    /// <summary>
    /// Leaves as `swarm leave` does, once: the notice comes with every refused call, and it is about one node
    /// identity (a node that left and joined again is a new node, not removed).
    /// </summary>
    private void LeaveBecauseRemoved(string nodeId, string reason)
    {
        if (_state?.NodeId != nodeId)
        {
            return;
        }

        InBackground(async () =>
        {
            if (_state is { } state && state.NodeId == nodeId)
            {
                LogRemoved(_logger, state.NodeId, reason);
                await LeaveLocallyAsync(state);
            }
        });
    }

    private static CommandRejected NotInSwarm() => new(RejectCode.NotInSwarm,
        "This node is not part of a swarm. Use `protoswarm swarm init` to create one, or `protoswarm swarm join` to join one, and try again.");

    /// <summary>In a swarm, but this node's member is not running: it is starting or restarting (a role change, being blocked, its Raft member failed), or it failed to start.</summary>
    private CommandRejected MemberNotRunning() => new(RejectCode.Unavailable,
        Restarting is { } why
            ? $"This node is in a swarm, but {why}. Try again in a few seconds; if it persists, see `protoswarm info` and this node's log."
            : "This node is in a swarm, but its swarm member is not running right now: it is starting or restarting (after a role change or a restart), or it failed to start. Try again in a few seconds; if it persists, see `protoswarm info` and this node's log.");

    /// <summary>
    /// The member, unless there is none or its actor system has stopped: the cluster stopped it, or its Raft member
    /// failed, and the node host has not replaced it yet (<see cref="OnMemberStopped"/>). Asked, it would only say
    /// that its actors no longer exist.
    /// </summary>
    private SwarmMember? RunningMember =>
        _member is { } member && member.FailureReason is null && !member.System.Shutdown.IsCancellationRequested ? member : null;

    /// <summary>Why the member is down for a while: <see cref="_restarting"/>, or, from the moment its Raft member failed until the restart is scheduled, that failure.</summary>
    private string? Restarting => _restarting ?? (_member?.FailureReason is { } failure ? $"its swarm member is restarting: {failure}" : null);

    private static CommandRejected AlreadyInSwarm() => new(RejectCode.AlreadyInSwarm,
        "This node is already part of a swarm. Use `protoswarm swarm leave` to leave this swarm and join another one.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster stopped node {NodeId}'s member {MemberId} (blocked after being Down); starting a new member")]
    private static partial void LogMemberStopped(ILogger logger, string nodeId, string memberId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing networks whose addresses overlap this node's own failed at start: {Reason}")]
    private static partial void LogNetworkSweepFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "No container init at {Path}: every task on this node will fail to start; publish hosting/ProtoSwarm.ContainerInit next to protoswarmd (scripts/setup.sh does, into out/bin)")]
    private static partial void LogNoContainerInit(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {NodeId} has reached no manager within {Seconds} s of starting; it keeps trying")]
    private static partial void LogAlone(ILogger logger, string nodeId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swarm {ClusterId} restarted from node {NodeId} alone (--force-new-cluster); the other managers are now workers")]
    private static partial void LogForcedNewCluster(ILogger logger, string clusterId, string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} leaves without being demoted first: the other managers did not answer; demote it there with `protoswarm node demote`")]
    private static partial void LogLeaveWithoutDemotion(ILogger logger, string nodeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {NodeId}'s manager stopped its swarm member: its Raft member failed ({Reason}). A new member starts from the log on disk in {Seconds:0.#} s")]
    private static partial void LogRaftFailed(ILogger logger, string nodeId, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Starting the swarm member failed")]
    private static partial void LogStartFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "swarm init failed")]
    private static partial void LogInitFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "Swarm {ClusterId} initialised: node {NodeId} is its manager at {ManagerAddr}")]
    private static partial void LogInitialized(ILogger logger, string clusterId, string nodeId, string managerAddr);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} has a new certificate as {Role} ({Reason}); next renewal at {RenewAt}")]
    private static partial void LogCertificateRenewed(ILogger logger, string nodeId, NodeRole role, string reason, DateTimeOffset renewAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}: {Problem}")]
    private static partial void LogRenewalFailed(ILogger logger, string nodeId, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unlock of node {NodeId} refused: wrong unlock key")]
    private static partial void LogUnlockRefused(ILogger logger, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} now trusts {Count} swarm root(s); renewing for the new root: {Renew}")]
    private static partial void LogRootsChanged(ILogger logger, string nodeId, int count, bool renew);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting to be unlocked: {Reason}")]
    private static partial void LogLocked(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} unlocked")]
    private static partial void LogUnlocked(ILogger logger, string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join refused: the manager at {Manager} presented a root CA that does not match the token's digest {Digest}")]
    private static partial void LogRootMismatch(ILogger logger, string manager, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined swarm {ClusterId} as node {NodeId} ({Role}) through {Manager}")]
    private static partial void LogJoined(ILogger logger, string clusterId, string nodeId, NodeRole role, string manager);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} left swarm {ClusterId}")]
    private static partial void LogLeft(ILogger logger, string nodeId, string clusterId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} is now a {Role}; restarting its member")]
    private static partial void LogRoleChanged(ILogger logger, string nodeId, NodeRole role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} left the swarm before all its task containers were removed ({Seconds} s); those left may still run: find them under {Directory} and kill their processes")]
    private static partial void LogContainersLeft(ILogger logger, string nodeId, double seconds, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} was removed from the swarm by a manager; leaving ({Reason})")]
    private static partial void LogRemoved(ILogger logger, string nodeId, string reason);

    /// <summary>
    /// A standalone container's network attachments, asked of the leader's dispatcher as the node's agent sends it its
    /// task statuses: the managers this node knows, the leader first, then whichever one a refusal names as leader.
    /// </summary>
    private sealed class DispatcherAttacher(SwarmMember member, NodeLocalState state) : INetworkAttacher
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

        public async Task<ContainerAttachment> AttachAsync(ContainerNetworkRequest request, CancellationToken ct) =>
            await AskAsync(new AttachContainerNetwork(state.NodeId, request.Network, request.ContainerId, request.ContainerName, request.Aliases, request.Address), ct) switch
            {
                ContainerNetworkAttached given => new ContainerAttachment(given.AttachmentId, given.Network),
                CommandRejected refused => throw new InvalidOperationException(refused.Reason),
                var other => throw new InvalidOperationException($"the managers answered {other.GetType().Name} to a network attachment"),
            };

        public async Task DetachAsync(string attachmentId, CancellationToken ct)
        {
            if (await AskAsync(new DetachContainerNetwork(state.NodeId, attachmentId), ct) is CommandRejected refused)
            {
                throw new InvalidOperationException(refused.Reason);
            }
        }

        private async Task<object> AskAsync(object request, CancellationToken ct)
        {
            var tried = new HashSet<string>(StringComparer.Ordinal);
            var candidates = new Queue<string>(state.Managers.OrderByDescending(m => m.Leader).Select(m => m.Addr));
            var last = "no manager is known to this node";
            while (candidates.TryDequeue(out var address))
            {
                if (!tried.Add(address))
                {
                    continue;
                }

                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(Timeout);
                    var answer = await member.System.Root.RequestAsync<object>(new PID(address, Kinds.Dispatcher), request, timeout.Token);
                    if (answer is HeartbeatRejected rejected)
                    {
                        last = rejected.Reason;
                        if (rejected.LeaderAddr.Length > 0)
                        {
                            candidates = new Queue<string>([rejected.LeaderAddr, .. candidates]);
                        }

                        continue;
                    }

                    return answer;
                }
                catch (Exception e) when (e is TimeoutException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    last = $"manager {address} did not answer";
                }
            }

            return new CommandRejected(RejectCode.Unavailable, $"the swarm's leader could not be reached for a network attachment ({last}); check `protoswarm info`, then try again");
        }
    }
}
