using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// The managers' end of every node's heartbeat (named <c>dispatcher</c>). Only the Raft leader's
/// answers: followers send the node to the leader. The leader's dispatcher keeps one
/// <see cref="NodeActor"/> per node as its child, hands each beat to it, and answers with the
/// cluster members, the managers and the role wanted of the node. Its tick starts the actor of
/// every node not yet Down (so a node that dies silently is judged by a new leader too) and stops
/// them all when this manager stops leading. It watches the store and tells each node actor when
/// something it sends may have changed (<see cref="NodeActor.StoreChanged"/>), so an assignment
/// leaves as soon as it is committed rather than at the node actor's next check.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The watch's token source is disposed when the actor stops (Stopping); actors are not disposed.")]
public sealed partial class DispatcherActor : IActor
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly Dictionary<string, PID> _nodes = new(StringComparer.Ordinal);
    private CancellationTokenSource? _timer;
    private CancellationTokenSource? _watch;

    public DispatcherActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<DispatcherActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        NodeHeartbeat heartbeat => OnHeartbeat(context, heartbeat),
        TaskStatusReport report => OnStatusReport(context, report),
        AttachContainerNetwork attach => OnAttach(context, attach),
        DetachContainerNetwork detach => OnDetach(context, detach),
        SweepTick => OnSweep(context),
        StoreEventBatch events => OnStoreEvents(context, events),
        StoreWatchEnded => OnWatchEnded(context),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    /// <summary>
    /// The cluster members as the swarm's node list says: every Ready node's member, and a Down node's while it may still
    /// come back with it (<see cref="NodeLiveness.KeepsMember"/>).
    /// </summary>
    public static ImmutableArray<MemberInfo> MembersOf(IEnumerable<NodeObject> nodes, DateTimeOffset now) =>
        [.. nodes.Where(n => n.Member is not null && NodeLiveness.KeepsMember(n.Status, now)).Select(n => n.Member!)];

    public static ImmutableArray<ManagerAddress> ManagersOf(IEnumerable<NodeObject> nodes, ulong leaderRaftId) =>
        [.. nodes.Where(n => n.Role == NodeRole.Manager)
            .Select(n => new ManagerAddress(n.Id, n.ManagerStatus?.Addr ?? n.Status.Addr, n.RaftId != 0 && n.RaftId == leaderRaftId))];

    private Task OnStarted(IContext context)
    {
        _timer = context.Scheduler(_manager.Time).SendRepeatedly(SweepInterval, context.Self, SweepTick.Instance);
        Watch(context);
        return Task.CompletedTask;
    }

    private Task OnStopping()
    {
        _timer?.Cancel();
        StopWatching();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Watches the store from now on. Should the watch fail (events no longer retained), the sweep
    /// tries again and then tells every node actor to compare; meanwhile each node actor still checks on its own timer.
    /// </summary>
    private void Watch(IContext context)
    {
        var watch = new CancellationTokenSource();
        ChannelReader<StoreEvent> events;
        try
        {
            events = _manager.Store.Watch(_manager.Store.Current.Index, watch.Token);
        }
        catch (StoreCompactedException)
        {
            watch.Dispose();
            return;
        }

        _watch = watch;
        _ = StoreWatchPump.PumpAsync(context.System, context.Self, events, watch.Token);
    }

    private void StopWatching()
    {
        _watch?.Cancel();
        _watch?.Dispose();
        _watch = null;
    }

    /// <summary>
    /// Tells the node actors whose messages a batch of commits may change: a task without networks
    /// concerns only its own node; a task on a network, a node, service, network, secret or config
    /// may change what any node is sent (its network views, its secrets); other objects none.
    /// </summary>
    private Task OnStoreEvents(IContext context, StoreEventBatch batch)
    {
        if (_watch is null || batch.Watch != _watch.Token || _nodes.Count == 0)
        {
            return Task.CompletedTask;
        }

        var concerned = ConcernedNodes(batch.Events);
        foreach (var (nodeId, pid) in _nodes)
        {
            if (concerned is null || concerned.Contains(nodeId))
            {
                context.Send(pid, NodeActor.StoreChanged.Instance);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The ids of the nodes a batch of store events concerns; null when it may concern every node.</summary>
    public static HashSet<string>? ConcernedNodes(IEnumerable<StoreEvent> events)
    {
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            switch (e.Object)
            {
                case TaskObject task when task.Networks.IsEmpty:
                    if (task.NodeId.Length > 0)
                    {
                        nodes.Add(task.NodeId);
                    }

                    break;
                case TaskObject or NodeObject or ServiceObject or NetworkObject or SecretObject or ConfigObject:
                    return null;
            }
        }

        return nodes;
    }

    /// <summary>The store was replaced by a snapshot: everyone checks again, and the watch starts from now.</summary>
    private Task OnWatchEnded(IContext context)
    {
        StopWatching();
        Watch(context);
        foreach (var pid in _nodes.Values)
        {
            context.Send(pid, NodeActor.StoreChanged.Instance);
        }

        return Task.CompletedTask;
    }

    private Task OnHeartbeat(IContext context, NodeHeartbeat heartbeat)
    {
        if (RefusedAsNotLeader(context))
        {
            return Task.CompletedTask;
        }

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

        if (_manager.IsMemberBlocked(heartbeat.Member.MemberId))
        {
            // Proto.Cluster blocked this member (it was gone longer than NodeLiveness.MemberKeptWhileDown, or its
            // gossip expired): it stops itself as soon as it learns so, and its node starts a new one. Ready on its
            // beat now, the node went Down again during that restart, and its tasks were replaced a second time.
            context.Respond(new HeartbeatRejected($"this node's cluster member {heartbeat.Member.MemberId} is blocked; the node must start a new one", Removed: false, MemberBlocked: true));
            return Task.CompletedTask;
        }

        // The node actor judges the node by the period this answer tells it (NodeLiveness.JudgedPeriod).
        var period = cluster.HeartbeatPeriod;
        context.Send(NodeActorOf(context, heartbeat.NodeId), new NodeActor.Beat(heartbeat, period));
        var nodes = state.List<NodeObject>().ToList();
        var members = MembersOf(nodes.Where(n => n.Id != heartbeat.NodeId), _manager.Time.GetUtcNow()).Add(heartbeat.Member);
        context.Respond(new HeartbeatAck(
            (int)period.TotalMilliseconds,
            members,
            ManagersOf(nodes, _manager.Raft.LeaderId),
            node.Spec.DesiredRole,
            node.RaftId,
            cluster?.TrustedRootsPem ?? string.Empty,
            cluster?.CrossSignedRootPem ?? string.Empty,
            cluster?.RemovedNodes ?? []));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Answers that this manager is not the leader, naming the one it knows, when it is not, or has not yet applied all it
    /// committed: only the leader, with everything committed applied, speaks for the swarm (a follower's replica may lag,
    /// and must never tell a node it was removed). True when it answered so.
    /// </summary>
    private bool RefusedAsNotLeader(IContext context)
    {
        if (_manager.Raft.IsLeader && _manager.Raft.CaughtUp)
        {
            return false;
        }

        context.Respond(new HeartbeatRejected("this manager is not the leader", Removed: false, LeaderAddr()));
        return true;
    }

    /// <summary>A node's task statuses go to its node actor, which stores them and answers; only the leader takes them.</summary>
    private Task OnStatusReport(IContext context, TaskStatusReport report)
    {
        if (RefusedAsNotLeader(context))
        {
            return Task.CompletedTask;
        }

        if (_manager.Store.Current.Get<NodeObject>(report.NodeId) is null)
        {
            context.Respond(new HeartbeatRejected($"node {report.NodeId} was removed from the swarm", Removed: true));
            return Task.CompletedTask;
        }

        context.Forward(NodeActorOf(context, report.NodeId));
        return Task.CompletedTask;
    }

    /// <summary>How long a standalone container's node waits for its attachment's address (the allocator's next pass).</summary>
    private static readonly TimeSpan AttachmentWait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A standalone container's network attachment (<see cref="Networks.NetworkAttachments"/>), as swarmkit's AttachNetwork:
    /// stored as a task of no service on the node, answered once the allocator gave it its address. Only the leader takes it.
    /// </summary>
    private Task OnAttach(IContext context, AttachContainerNetwork request)
    {
        if (RefusedAsNotLeader(context))
        {
            return Task.CompletedTask;
        }

        var (task, refused) = Networks.NetworkAttachments.Decide(_manager.Store.Current, request, SwarmIds.New(), _manager.Time.GetUtcNow());
        if (task is null)
        {
            context.Respond(refused!);
            return Task.CompletedTask;
        }

        var sender = context.Sender;
        var root = context.System.Root;
        _ = Task.Run(async () =>
        {
            object answer;
            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Create(task)]);
                var deadline = _manager.Time.GetUtcNow() + AttachmentWait;
                object? given;
                while ((given = Networks.NetworkAttachments.Answer(_manager.Store.Current, task.Id)) is null && _manager.Time.GetUtcNow() < deadline)
                {
                    await Task.Delay(50);
                }

                answer = given ?? new CommandRejected(RejectCode.Unavailable, $"the network attachment got no address within {AttachmentWait.TotalSeconds:0} s; see the leader's log");
                if (given is not ContainerNetworkAttached)
                {
                    await _manager.Proposer.ProposeAsync([StoreChange.Delete(task)]).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                answer = new CommandRejected(RejectCode.Unavailable, $"the network attachment could not be stored: {e.Message}");
            }

            if (sender is not null)
            {
                root.Send(sender, answer);
            }
        });
        return Task.CompletedTask;
    }

    /// <summary>Gives a standalone container's attachment back: its task is deleted, and the allocator's next pass frees the address.</summary>
    private Task OnDetach(IContext context, DetachContainerNetwork request)
    {
        if (RefusedAsNotLeader(context))
        {
            return Task.CompletedTask;
        }

        var sender = context.Sender;
        var root = context.System.Root;
        _ = Task.Run(async () =>
        {
            object answer = new ContainerNetworkDetached(request.AttachmentId);
            if (_manager.Store.Current.Get<TaskObject>(request.AttachmentId) is { } task && Networks.NetworkAttachments.IsAttachment(task) && task.NodeId == request.NodeId)
            {
                try
                {
                    await _manager.Proposer.ProposeAsync([StoreChange.Delete(task)]);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    answer = new CommandRejected(RejectCode.Unavailable, $"the network attachment could not be removed: {e.Message}");
                }
            }

            if (sender is not null)
            {
                root.Send(sender, answer);
            }
        });
        return Task.CompletedTask;
    }

    /// <summary>The current leader's address among the managers, or empty when none is known.</summary>
    public static string LeaderAddrOf(IEnumerable<NodeObject> nodes, ulong leaderRaftId) =>
        ManagersOf(nodes, leaderRaftId).FirstOrDefault(m => m.Leader)?.Addr ?? string.Empty;

    private string LeaderAddr() => LeaderAddrOf(_manager.Store.Current.List<NodeObject>(), _manager.Raft.LeaderId);

    private Task OnSweep(IContext context)
    {
        if (_watch is null)
        {
            Watch(context);
            if (_watch is not null)
            {
                // Commits made while there was no watch were told to no node actor.
                foreach (var pid in _nodes.Values)
                {
                    context.Send(pid, NodeActor.StoreChanged.Instance);
                }
            }
        }

        if (!_manager.Raft.IsLeader)
        {
            // Only the leader judges nodes; a former leader's actors must not write stale verdicts.
            foreach (var pid in _nodes.Values)
            {
                context.Stop(pid);
            }

            _nodes.Clear();
            return Task.CompletedTask;
        }

        var nodes = _manager.Store.Current.List<NodeObject>().ToDictionary(n => n.Id, StringComparer.Ordinal);
        foreach (var node in nodes.Values.Where(n => n.Status.State != NodeState.Down))
        {
            NodeActorOf(context, node.Id);
        }

        foreach (var gone in _nodes.Keys.Where(id => !nodes.ContainsKey(id)).ToList())
        {
            context.Stop(_nodes[gone]);
            _nodes.Remove(gone);
        }

        return Task.CompletedTask;
    }

    private PID NodeActorOf(IContext context, string nodeId)
    {
        if (!_nodes.TryGetValue(nodeId, out var pid))
        {
            pid = context.SpawnNamed(Props.FromProducer(() => new NodeActor(_manager, nodeId)), nodeId);
            _nodes[nodeId] = pid;
        }

        return pid;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat from node {NodeId} of another swarm {ClusterId} refused")]
    private static partial void LogForeignHeartbeat(ILogger logger, string nodeId, string clusterId);

    private sealed record SweepTick
    {
        public static readonly SweepTick Instance = new();
    }
}
