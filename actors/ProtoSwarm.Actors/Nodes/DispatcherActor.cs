using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Cluster;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// The managers' end of every node's heartbeat (named <c>dispatcher</c>): it hands each beat to
/// that node's actor and answers with the cluster members, the managers and the role wanted of the
/// node. Its tick keeps the actor of every live node activated, so a node that dies silently is
/// still judged even after its actor moved.
/// </summary>
public sealed partial class DispatcherActor : IActor
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(5);

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private CancellationTokenSource? _timer;

    public DispatcherActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<DispatcherActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        NodeHeartbeat heartbeat => OnHeartbeat(context, heartbeat),
        SweepTick => OnSweep(context),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    /// <summary>The cluster members as the swarm's node list says: every Ready node's member.</summary>
    public static ImmutableArray<MemberInfo> MembersOf(IEnumerable<NodeObject> nodes) =>
        [.. nodes.Where(n => n.Status.State == NodeState.Ready && n.Member is not null).Select(n => n.Member!)];

    public static ImmutableArray<ManagerAddress> ManagersOf(IEnumerable<NodeObject> nodes, ulong leaderRaftId) =>
        [.. nodes.Where(n => n.Role == NodeRole.Manager)
            .Select(n => new ManagerAddress(n.Id, n.ManagerStatus?.Addr ?? n.Status.Addr, n.RaftId != 0 && n.RaftId == leaderRaftId))];

    private Task OnStarted(IContext context)
    {
        _timer = context.Scheduler(_manager.Time).SendRepeatedly(SweepInterval, context.Self, SweepTick.Instance);
        return Task.CompletedTask;
    }

    private Task OnStopping()
    {
        _timer?.Cancel();
        return Task.CompletedTask;
    }

    private Task OnHeartbeat(IContext context, NodeHeartbeat heartbeat)
    {
        var state = _manager.Store.Current;
        var cluster = state.Get<ClusterObject>(ClusterObject.DefaultId);
        if (cluster is null || cluster.ClusterId != heartbeat.ClusterId)
        {
            LogForeignHeartbeat(_logger, heartbeat.NodeId, heartbeat.ClusterId);
            context.Respond(new HeartbeatRejected($"this manager belongs to swarm {cluster?.ClusterId}, not {heartbeat.ClusterId}", Removed: false));
            return Task.CompletedTask;
        }

        var node = state.Get<NodeObject>(heartbeat.NodeId);
        if (node is null)
        {
            context.Respond(new HeartbeatRejected($"node {heartbeat.NodeId} was removed from the swarm", Removed: true));
            return Task.CompletedTask;
        }

        Forward(context, heartbeat.NodeId, heartbeat);
        var nodes = state.List<NodeObject>().ToList();
        var members = MembersOf(nodes.Where(n => n.Id != heartbeat.NodeId)).Add(heartbeat.Member);
        context.Respond(new HeartbeatAck(
            (int)NodeLiveness.HeartbeatPeriod.TotalMilliseconds,
            members,
            ManagersOf(nodes, _manager.Raft.LeaderId),
            node.Spec.DesiredRole,
            node.RaftId));
        return Task.CompletedTask;
    }

    private Task OnSweep(IContext context)
    {
        foreach (var node in _manager.Store.Current.List<NodeObject>().Where(n => n.Status.State != NodeState.Down))
        {
            Forward(context, node.Id, new CheckNodeLiveness(node.Id));
        }

        return Task.CompletedTask;
    }

    private void Forward(IContext context, string nodeId, object message)
    {
        var cluster = context.Cluster();
        _ = ForwardAsync();

        async Task ForwardAsync()
        {
            try
            {
                using var cts = new CancellationTokenSource(ForwardTimeout);
                await cluster.RequestAsync<NodeLivenessAck>(nodeId, Kinds.Node, message, cts.Token);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                LogForwardFailed(_logger, nodeId, message.GetType().Name, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat from node {NodeId} of another swarm {ClusterId} refused")]
    private static partial void LogForeignHeartbeat(ILogger logger, string nodeId, string clusterId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Forwarding {Message} to node actor {NodeId} failed: {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string nodeId, string message, string reason);

    private sealed record SweepTick
    {
        public static readonly SweepTick Instance = new();
    }
}
