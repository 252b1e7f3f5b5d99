using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Cluster;
using Proto.Cluster.Partition;
using Proto.Remote;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Orchestration.Actors;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Cluster;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Pki;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// One incarnation of a node in a swarm: an ActorSystem with Proto.Remote and Proto.Cluster and
/// the agent; on a manager also its Raft peer, its replica of the store, the dispatcher, the API
/// and the node actors. Started on init, join or boot; stopped on leave, or to change role.
/// </summary>
internal sealed partial class SwarmMember : IAsyncDisposable
{
    private static readonly TimeSpan ProposalTimeout = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly SwarmClusterProvider _provider = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private RaftLogFile? _raftFile;
    private Sealer? _sealer;
    private SwarmRemoteHost? _remoteHost;
    private NodeOptions? _options;
    private UnlockKey? _unlockKey;
    private Action<UnlockKey?>? _onUnlockKeyChanged;
    private string? _trustedRootsPem;
    private KnownTlsInfo? _tlsInfo;
    private RegistryServer? _registry;
    private RegistryHost? _registryListener;
    private HttpClient? _registryPeers;

    private SwarmMember(ActorSystem system, NodeLocalState state, SwarmCredentials credentials, ILogger logger)
    {
        System = system;
        State = state;
        Credentials = credentials;
        _logger = logger;
    }

    /// <summary>The node's certificate and trust, shared with its TLS endpoints; renewed in place.</summary>
    public SwarmCredentials Credentials { get; }

    /// <summary>What the node's endpoint refused, by message type.</summary>
    public RemoteAccessPolicy? AccessPolicy => _remoteHost?.Policy;

    public ActorSystem System { get; }

    public NodeLocalState State { get; }

    public bool IsManager => State.Role == NodeRole.Manager && State.RaftId != 0;

    /// <summary>This manager's replica of the store; null on a worker.</summary>
    public SwarmStore? Store { get; private set; }

    /// <summary>The swarm's registry as this manager serves it; null on a worker, or before the store is open.</summary>
    public RegistryServer? Registry => _registry;

    public IProposer? Proposer { get; private set; }

    public RaftView? Raft { get; private set; }

    /// <summary>Completes at the first heartbeat answer that lists a manager as a cluster member.</summary>
    public Task Joined => _joined.Task;

    /// <summary>True once the node host itself began stopping this member (leave, shutdown, role change).</summary>
    public bool Stopping { get; private set; }

    /// <summary>Why this manager's Raft peer stopped for good, which stops the member too (null: it did not).</summary>
    public string? FailureReason { get; private set; }

    public PID ManagerApi => new(System.Address, Kinds.ManagerApi);

    public static async Task<SwarmMember> StartAsync(
        NodeLocalState state,
        NodeOptions options,
        SwarmCredentials credentials,
        NodeDescription description,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        Action<HeartbeatAck> onAck,
        Action<HeartbeatRejected> onRejected,
        UnlockKey? unlockKey = null,
        Action<UnlockKey?>? onUnlockKeyChanged = null,
        Func<Props>? taskSupervisor = null,
        Func<Props>? networks = null,
        Func<ImmutableArray<PortConfig>>? hostPorts = null,
        Func<Task<LocalNetworkList>>? localNetworks = null,
        IEventFeed? events = null)
    {
        var logger = loggerFactory.CreateLogger<SwarmMember>();
        var system = new ActorSystem(NodeActorSystemConfig());
        var member = new SwarmMember(system, state, credentials, logger);
        try
        {
            // No cluster kinds yet: node actors live with the leader's dispatcher (see ARCHITECTURE.md);
            // service, task and network kinds arrive with their issues.
            var clusterConfig = ClusterSettings(state.ClusterId, member._provider);
            var policy = new RemoteAccessPolicy([Kinds.Raft, Kinds.ManagerApi, Kinds.Dispatcher, Kinds.Agent, Kinds.Node, Kinds.Orchestrator]);
            member._remoteHost = await SwarmRemoteHost.StartAsync(
                system,
                options.ListenAddr,
                state.AdvertiseAddr,
                credentials,
                policy,
                member.IsManager ? new ManagerCaEndpoint(member) : null,
                loggerFactory,
                member.IsManager ? member.MapRegistry : null);
            system.WithCluster(clusterConfig);
            await system.Cluster().StartMemberAsync();

            if (member.IsManager)
            {
                member._unlockKey = unlockKey;
                member._onUnlockKeyChanged = onUnlockKeyChanged;
                member.StartManager(options, loggerFactory, time, localNetworks, events);
                await member.StartRegistryListenerAsync(options, loggerFactory);
            }

            var self = system.Cluster().MemberList.Self;
            var memberInfo = new MemberInfo(self.Id, self.Host, self.Port, [.. self.Kinds]);
            var settings = new AgentSettings(
                state.NodeId,
                state.ClusterId,
                state.AdvertiseAddr,
                memberInfo,
                description,
                () => member.State.Role,
                state.Managers,
                time,
                ack =>
                {
                    member.OnAck(ack);
                    onAck(ack);
                },
                rejected =>
                {
                    member.OnRejected(rejected);
                    onRejected(rejected);
                },
                taskSupervisor,
                networks,
                member.TlsInfo,
                hostPorts);
            system.Root.SpawnNamed(Props.FromProducer(() => new AgentActor(settings, loggerFactory)), Kinds.Agent);
            LogStarted(logger, state.NodeId, state.Role, system.Address, self.Id, state.RaftId);
            return member;
        }
        catch
        {
            await member.DisposeAsync();
            throw;
        }
    }

    /// <summary>The node's actor system: no supervision log per restart, and start deadlines of at least a second (<see cref="ActorStartDeadline"/>).</summary>
    internal static ActorSystemConfig NodeActorSystemConfig() =>
        new ActorSystemConfig().WithDeveloperSupervisionLogging(false).WithConfigureProps(ActorStartDeadline.Raise);

    /// <param name="localNetworks">The node's own bridge, host and none, which its API answers itself to a CLI over TCP.</param>
    /// <param name="events">The node host's events, which its API streams itself to a CLI over TCP (`events`).</param>
    private void StartManager(NodeOptions options, ILoggerFactory loggerFactory, TimeProvider time, Func<Task<LocalNetworkList>>? localNetworks, IEventFeed? events)
    {
        // With autolock the data key is wrapped by the unlock key, which the runtime holds once unlocked.
        _options = options;
        _sealer = RaftSealing.OpenSealer(options, _unlockKey);
        (_raftFile, var disk) = RaftLogFile.Open(options.RaftPath, State.ClusterId, State.RaftId, _sealer);
        var store = new SwarmStore(StoreState.Empty);
        var pending = new RaftPending();
        var view = new RaftView(State.RaftId);
        var selfAddress = System.Address;
        string? AddressOf(ulong raftId) =>
            raftId == State.RaftId
                ? selfAddress
                : store.Current.List<NodeObject>().FirstOrDefault(n => n.RaftId == raftId)?.ManagerStatus?.Addr;

        var raftSettings = new RaftSettings(State.ClusterId, State.RaftId, _raftFile, disk, store, pending, time, loggerFactory, view, selfAddress, AddressOf)
        {
            // The Raft peer stopped for good (RaftActor.Fail): this member stops, and the node host starts a new one,
            // whose peer reads the log back from disk (SwarmRuntime.OnMemberStopped).
            OnFailed = reason =>
            {
                FailureReason = reason;
                _ = Task.Run(() => System.ShutdownAsync($"its Raft member stopped: {reason}"));
            },
        };
        var raft = System.Root.SpawnNamed(RaftActor.Props(raftSettings), Kinds.Raft);
        var proposer = new RaftProposer(System.Root, raft, pending, ProposalTimeout, time);
        var manager = new ManagerContext(store, proposer, time, loggerFactory, view, raft, MemberBlocked: id => System.Remote().BlockList.IsBlocked(id),
            ExternalCa: new CfsslSigner(() => Credentials.Certificate));
        System.Root.SpawnNamed(Props.FromProducer(() => new DispatcherActor(manager)), Kinds.Dispatcher);
        System.Root.SpawnNamed(Props.FromProducer(() => new OrchestratorActor(manager)), Kinds.Orchestrator);
        var subscriptionLogger = loggerFactory.CreateLogger<EventSubscriptionActor>();
        Func<SubscribeEvents, PID, Props>? subscription = events is null
            ? null
            : (request, client) => EventSubscriptionActor.Props(events, State.NodeId, time, request, client, subscriptionLogger,
                describeClient: pid => _remoteHost?.Policy.Clients.Describe(pid.Id));
        System.Root.SpawnNamed(Props.FromProducer(() => new ManagerApiRouter(() => Props.FromProducer(() => new ManagerApiActor(manager, AddressOf)), localNetworks, subscription)), Kinds.ManagerApi);
        Store = store;
        Proposer = proposer;
        Raft = view;
        // The role the store wants a node in, which a certificate lags until it is renewed: both the API and the registry ask it.
        Func<string, NodeRole?> desiredRole = nodeId => store.Current.Get<NodeObject>(nodeId)?.Spec.DesiredRole;
        _remoteHost!.Policy.StoreRole = desiredRole;
        StartRegistry(options, store, proposer, desiredRole, loggerFactory, time);
        _ = FollowClusterAsync(store, _stopping.Token);
    }

    /// <summary>
    /// Follows the swarm-wide settings this manager applies to itself: the nodes the swarm removed (their
    /// certificates are refused) and autolock (the data key rewrapped under the current unlock key, or the
    /// node's own key when autolock is off); and tells the registry's replicator when a repository changed.
    /// </summary>
    private async Task FollowClusterAsync(SwarmStore store, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var current = store.Current;
            ApplyCluster(current);
            try
            {
                await foreach (var e in store.Watch(current.Index, ct).ReadAllAsync(ct))
                {
                    if (e.Kind == ClusterObject.StoreKind)
                    {
                        ApplyCluster(store.Current);
                    }
                    else if (e.Kind == RepositoryObject.StoreKind)
                    {
                        // A push or a collection on any manager: copy the blobs it linked now, not at the next period.
                        _registry?.Replicator?.Nudge();
                    }
                }
            }
            catch (StoreCompactedException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// This node's TLS info for its heartbeats (docker's Description.TLSInfo): the roots it trusts and the issuer of
    /// its certificate. Worked out again only when the certificate or the trust changed (finding the issuer checks a
    /// signature per candidate), so a beat usually costs two reference comparisons. Called on the agent's turn only.
    /// </summary>
    private NodeTlsInfo TlsInfo()
    {
        var certificate = Credentials.Certificate;
        var validator = Credentials.Validator;
        if (_tlsInfo is { } known && ReferenceEquals(known.Certificate, certificate) && ReferenceEquals(known.Validator, validator))
        {
            return known.Info;
        }

        var info = SwarmCa.NodeTlsInfoOf(certificate, validator.Roots, validator.Intermediates);
        _tlsInfo = new KnownTlsInfo(certificate, validator, info);
        return info;
    }

    private sealed record KnownTlsInfo(X509Certificate2 Certificate, SwarmCertificateValidator Validator, NodeTlsInfo Info);

    private void ApplyCluster(StoreState state)
    {
        if (state.Get<ClusterObject>(ClusterObject.DefaultId) is not { } cluster)
        {
            return;
        }

        ApplyAutoLock(cluster);
        if (!string.Equals(cluster.TrustedRootsPem, _trustedRootsPem, StringComparison.Ordinal) && cluster.TrustedRootsPem.Length > 0)
        {
            // A CA rotation: trust what the store says before any node presents a certificate from the new root.
            Credentials.TrustRoots(cluster.TrustedRootsPem, cluster.CrossSignedRootPem);
            _trustedRootsPem = cluster.TrustedRootsPem;
        }

        var removed = cluster.RemovedNodes.ToHashSet(StringComparer.Ordinal);
        if (removed.Any(id => !Credentials.Validator.IsRemoved(id)))
        {
            Credentials.Trust(Credentials.Validator.WithRemovedNodes(removed));
        }
    }

    private void ApplyAutoLock(ClusterObject cluster)
    {
        var wanted = cluster.AutoLockManagers && cluster.UnlockKey.Length > 0 ? UnlockKey.Parse(cluster.UnlockKey) : null;
        if (_options is null || Equals(wanted, _unlockKey))
        {
            return;
        }

        try
        {
            RaftSealing.DataKeyFile(_options).Rewrap(_unlockKey, wanted);
            _unlockKey = wanted;
            _onUnlockKeyChanged?.Invoke(wanted);
            LogRewrapped(_logger, wanted is null ? "this node's own key (autolock off)" : "the swarm's unlock key (autolock on)");
        }
        catch (PersistenceException e)
        {
            LogRewrapFailed(_logger, e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Stopping = true;
        await _stopping.CancelAsync();
        try
        {
            if (System.Extensions.Get<Proto.Cluster.Cluster>() is { } cluster && cluster.Remote is not null)
            {
                await cluster.ShutdownAsync(graceful: true, "node leaving or restarting");
            }
            else
            {
                await System.ShutdownAsync("node leaving or restarting");
            }
        }
        catch (Exception e)
        {
            LogShutdownFailed(_logger, e);
        }

        if (_remoteHost is not null)
        {
            await _remoteHost.DisposeAsync();
        }

        if (_registryListener is not null)
        {
            await _registryListener.DisposeAsync();
        }

        _registry?.Dispose();
        _registryPeers?.Dispose();

        _raftFile?.Dispose();
        _sealer?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// The swarm's registry on this manager, on the swarm's own listener and certificates (see
    /// docs/ARCHITECTURE.md, the registry): tags and manifests in the store, blobs under STATE/registry, on a
    /// majority of the managers before a push is acknowledged and copied to the rest soon after they are linked
    /// (and fetched at once when a pull asks for one not copied yet).
    /// </summary>
    private void StartRegistry(NodeOptions options, SwarmStore store, IProposer proposer, Func<string, NodeRole?> desiredRole, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ClusterObject? Cluster() => store.Current.Get<ClusterObject>(ClusterObject.DefaultId);
        var access = new RegistryAccessControl(
            Credentials,
            desiredRole,
            new BasicAuthorizer(() => Cluster()?.RegistryPullToken ?? string.Empty, () => Cluster()?.RegistryPushToken ?? string.Empty));
        _registryPeers = new HttpClient(RemoteConfigFactory.MutualTlsHandler(Credentials)) { Timeout = TimeSpan.FromMinutes(30) };
        // The other managers as the store lists them (the Raft members): a push waits for a majority of them and this one.
        var peers = new HttpBlobPeers(
            () => [.. store.Current.List<NodeObject>().Where(n => n.Id != State.NodeId && n.ManagerStatus is not null).Select(n => new Uri($"https://{n.ManagerStatus!.Addr}/"))],
            _registryPeers,
            time);
        _registry = new RegistryServer(options.RegistryDir, new StoreRegistryMetadata(store, proposer, time), access, peers, loggerFactory.CreateLogger<RegistryServer>(), time,
            diskSweepPeriod: RegistryServer.DefaultDiskSweepPeriod, replicationPeriod: RegistryServer.DefaultReplicationPeriod);
    }

    /// <summary>`--registry-listen`: the same registry on plain HTTP for outside tools, basic auth by the registry tokens. A failure to bind is logged, not fatal.</summary>
    private async Task StartRegistryListenerAsync(NodeOptions options, ILoggerFactory loggerFactory)
    {
        if (options.RegistryListen is not { } listen || _registry is null)
        {
            return;
        }

        try
        {
            _registryListener = await RegistryHost.StartAsync(listen, _registry, null, loggerFactory);
            LogRegistryListening(_logger, listen.ToString());
        }
        catch (IOException e)
        {
            LogRegistryListenFailed(_logger, listen.ToString(), e);
        }
    }

    private void MapRegistry(IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/v2", ServeRegistryAsync);
        endpoints.Map("/v2/{**path}", ServeRegistryAsync);
    }

    /// <summary>The endpoints are mapped when the listener starts, the registry once the store exists: a request in between is told to retry.</summary>
    private Task ServeRegistryAsync(HttpContext http)
    {
        if (_registry is { } registry)
        {
            return registry.HandleAsync(http);
        }

        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    private void OnAck(HeartbeatAck ack)
    {
        _provider.Update(ack.Members);
        if (!_joined.Task.IsCompleted)
        {
            var members = System.Cluster().MemberList.GetAllMembers();
            var managerAddrs = ack.Managers.Select(m => m.Addr).ToHashSet(StringComparer.Ordinal);
            if (ack.Managers.Any(m => m.NodeId == State.NodeId) || members.Any(m => managerAddrs.Contains(m.Address)))
            {
                _joined.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The member's Proto.Cluster settings. No gossip heartbeat expiry (1.8.0's Setup leaves it off, though its docs say 20 s;
    /// it was 10 s here until session 25): the swarm's member
    /// lists alone take a member out (NodeLiveness.KeepsMember), which blocks it. With an expiry, a node cut off
    /// longer than it blocked every member it could no longer hear, and on reconnecting sent that block list to them,
    /// so healthy managers (the leader too) and workers stopped their members; and a node paused longer than it came
    /// back to a blocked member even when its heartbeat grace was longer.
    /// <para>
    /// Gossip goes to one member a round, not three (<see cref="GossipFanout"/>); the round stays 300 ms.
    /// </para>
    /// </summary>
    internal static ClusterConfig ClusterSettings(string clusterId, IClusterProvider provider) =>
        ClusterConfig
            .Setup("protoswarm-" + clusterId, provider, new PartitionIdentityLookup())
            .WithHeartbeatExpirationDisabled()
            .WithGossipFanOut(GossipFanout)
            .WithActorRequestTimeout(TimeSpan.FromSeconds(5));

    /// <summary>
    /// How many members a gossip round (every 300 ms, Proto.Cluster's default) goes to. Each round renews the member's
    /// gossip heartbeat, so every round has something to send, to three members with 1.8.0's default: on an idle lab of
    /// five each node sent and answered about 20 gossip requests a second, 90% of its traffic, each waking the runtime's
    /// thread pool (docs/benchmarks.md, "Idle CPU of a swarm"). The swarm needs gossip for nothing quick: membership comes
    /// from the heartbeat answers' member lists, heartbeat expiry is off, no cluster kinds wait for the topology's
    /// consensus, and a blocked member is told by the leader's dispatcher at its next beat. What gossip still carries (a
    /// member that left gracefully, blocks, the topology's hash) reaches a swarm of five in about four rounds (a second)
    /// instead of two. The interval itself is kept: a member's graceful stop waits two of them (`Cluster.ShutdownAsync`),
    /// which every leave, role change and member restart would pay, and the gossip actor's watchdog fires after 5 s
    /// without a message.
    /// </summary>
    internal const int GossipFanout = 1;

    /// <summary>
    /// The leader says this member is blocked: stop it as Proto.Cluster does when it learns so itself (the runtime then
    /// starts a new member, <c>SwarmRuntime.OnMemberStopped</c>). Proto.Cluster learns it from gossip, which a blocked
    /// member may no longer get; without this it would beat, refused, for as long as it did not.
    /// </summary>
    private void OnRejected(HeartbeatRejected rejected)
    {
        if (!rejected.MemberBlocked || Stopping || System.Shutdown.IsCancellationRequested)
        {
            return;
        }

        LogBlocked(_logger, State.NodeId, System.Id);
        _ = System.Cluster().ShutdownAsync(graceful: true, "blocked, as the leader's dispatcher says");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The leader says this node's cluster member {MemberId} is blocked; node {NodeId} stops it and starts a new one")]
    private static partial void LogBlocked(ILogger logger, string nodeId, string memberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} started as {Role} at {Address}, cluster member {MemberId}, Raft member {RaftId}")]
    private static partial void LogStarted(ILogger logger, string nodeId, NodeRole role, string address, string memberId, ulong raftId);

    [LoggerMessage(Level = LogLevel.Information, Message = "The Raft data key is now wrapped by {Wrapping}")]
    private static partial void LogRewrapped(ILogger logger, string wrapping);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not rewrap the Raft data key after an autolock change")]
    private static partial void LogRewrapFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "The swarm registry's plain listener is on {Listen}")]
    private static partial void LogRegistryListening(ILogger logger, string listen);

    [LoggerMessage(Level = LogLevel.Error, Message = "The swarm registry's plain listener could not start on {Listen}")]
    private static partial void LogRegistryListenFailed(ILogger logger, string listen, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutting the actor system down failed")]
    private static partial void LogShutdownFailed(ILogger logger, Exception e);
}
