using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Cluster;
using Proto.Cluster.Partition;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Cluster;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Persistence;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// One incarnation of a node in a swarm: an ActorSystem with Proto.Remote and Proto.Cluster, the
/// agent, and on the manager holding the store, the store with its dispatcher and API. Started
/// on init, join or boot; stopped on leave or before a role change starts a new one.
/// </summary>
internal sealed partial class SwarmMember : IAsyncDisposable
{
    /// <summary>Gossip-level expiry, well above the swarm's own Down detection, which acts first.</summary>
    private static readonly TimeSpan GossipHeartbeatExpiration = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly SwarmClusterProvider _provider = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LocalProposer? _proposer;
    private ImmutableArray<ManagerAddress> _managers = [];
    private PID? _forwarder;

    private SwarmMember(ActorSystem system, NodeLocalState state, ILogger logger)
    {
        System = system;
        State = state;
        _logger = logger;
    }

    public ActorSystem System { get; }

    public NodeLocalState State { get; private set; }

    public SwarmStore? Store { get; private set; }

    /// <summary>Completes at the first heartbeat answer that lists a manager as a cluster member.</summary>
    public Task Joined => _joined.Task;

    public PID ManagerApi => new(System.Address, Kinds.ManagerApi);

    public static async Task<SwarmMember> StartAsync(
        NodeLocalState state,
        NodeOptions options,
        SwarmStore? store,
        LocalProposer? proposer,
        NodeDescription description,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        Action<HeartbeatAck> onAck,
        Action<HeartbeatRejected> onRejected)
    {
        var logger = loggerFactory.CreateLogger<SwarmMember>();
        var system = new ActorSystem(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
        var member = new SwarmMember(system, state, logger) { Store = store, _proposer = proposer };
        try
        {
            ManagerContext? manager = store is not null && proposer is not null
                ? new ManagerContext(store, proposer, time, loggerFactory, state.NodeId)
                : null;
            var kinds = new List<ClusterKind>();
            if (manager is not null)
            {
                kinds.Add(new ClusterKind(Kinds.Node, Props.FromProducer(() => new NodeActor(manager))));
            }

            var clusterConfig = ClusterConfig
                .Setup("protoswarm-" + state.ClusterId, member._provider, new PartitionIdentityLookup())
                .WithClusterKinds([.. kinds])
                .WithHeartbeatExpiration(GossipHeartbeatExpiration)
                .WithActorRequestTimeout(TimeSpan.FromSeconds(5));
            var remoteConfig = RemoteConfigFactory.ForNode(options.ListenAddr, state.AdvertiseAddr);
            system.WithRemote(remoteConfig).WithCluster(clusterConfig);
            await system.Cluster().StartMemberAsync();

            if (manager is not null)
            {
                system.Root.SpawnNamed(Props.FromProducer(() => new DispatcherActor(manager)), Kinds.Dispatcher);
                system.Root.SpawnNamed(Props.FromProducer(() => new ManagerApiActor(manager)), Kinds.ManagerApi);
            }
            else
            {
                member.ApplyRole(state.Role);
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
                onRejected);
            system.Root.SpawnNamed(Props.FromProducer(() => new AgentActor(settings, loggerFactory)), Kinds.Agent);
            LogStarted(logger, state.NodeId, state.Role, system.Address, self.Id, manager is not null);
            return member;
        }
        catch
        {
            await member.DisposeAsync();
            throw;
        }
    }

    /// <summary>True once the node host itself began stopping this member (leave, shutdown).</summary>
    public bool Stopping { get; private set; }

    public async ValueTask DisposeAsync()
    {
        Stopping = true;
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

        if (_proposer is not null)
        {
            await _proposer.DisposeAsync();
        }
    }

    /// <summary>
    /// Follows a promotion or demotion without restarting the actor system: a manager that does
    /// not hold the store serves <c>manager-api</c> by forwarding to the one that does.
    /// </summary>
    public void ApplyRole(NodeRole role)
    {
        State = State with { Role = role };
        if (Store is not null)
        {
            return;
        }

        if (role == NodeRole.Manager && _forwarder is null)
        {
            _forwarder = System.Root.SpawnNamed(Props.FromProducer(() => new ManagerApiForwarder(LeaderAddr)), Kinds.ManagerApi);
        }
        else if (role == NodeRole.Worker && _forwarder is { } forwarder)
        {
            _forwarder = null;
            System.Root.Stop(forwarder);
        }
    }

    private string? LeaderAddr() => _managers.FirstOrDefault(m => m.Leader)?.Addr ?? State.Managers.FirstOrDefault(m => m.Leader)?.Addr;

    private void OnAck(HeartbeatAck ack)
    {
        _managers = ack.Managers;
        _provider.Update(ack.Members);
        if (!_joined.Task.IsCompleted)
        {
            var managerIds = ack.Managers.Select(m => m.NodeId).ToHashSet(StringComparer.Ordinal);
            var members = System.Cluster().MemberList.GetAllMembers();
            var managerAddrs = ack.Managers.Select(m => m.Addr).ToHashSet(StringComparer.Ordinal);
            if (managerIds.Contains(State.NodeId) || members.Any(m => managerAddrs.Contains(m.Address)))
            {
                _joined.TrySetResult();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} started as {Role} at {Address}, cluster member {MemberId}, holds store: {HoldsStore}")]
    private static partial void LogStarted(ILogger logger, string nodeId, NodeRole role, string address, string memberId, bool holdsStore);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutting the actor system down failed")]
    private static partial void LogShutdownFailed(ILogger logger, Exception e);
}
