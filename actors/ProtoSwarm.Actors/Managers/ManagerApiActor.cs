using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The swarm's API on the manager that holds the store (named <c>manager-api</c>): node listing and
/// changes, join tokens and joins. Decisions are <see cref="NodeCommands"/>; this actor reads the
/// store, decides, proposes, and answers. A command already answered (same RequestId) gets the
/// same answer again, so a retried delivery changes nothing twice.
/// </summary>
public sealed partial class ManagerApiActor : IActor
{
    private const int RememberedReplies = 4096;
    private const int ConflictRetries = 5;

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly Dictionary<string, object> _replies = new(StringComparer.Ordinal);
    private readonly Queue<string> _replyOrder = new();

    public ManagerApiActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<ManagerApiActor>();
    }

    private StoreState State => _manager.Store.Current;

    public async Task ReceiveAsync(IContext context)
    {
        if (context.Message is not { } message)
        {
            return;
        }

        var requestId = RequestIdOf(message);
        if (requestId is not null && _replies.TryGetValue(requestId, out var earlier))
        {
            context.Respond(earlier);
            return;
        }

        object? reply;
        try
        {
            reply = await AnswerAsync(message);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // The store could not be written (disk, shutdown): say so rather than leave the caller waiting.
            LogCommandFailed(_logger, e, message.GetType().Name);
            reply = new CommandRejected(RejectCode.Unavailable, $"The manager could not complete {message.GetType().Name}: {e.Message}. Try again; if it persists, see the manager's log.");
        }

        if (reply is null)
        {
            return;
        }

        // Remember answers that are final; a transient refusal must let a resend try again.
        if (requestId is not null && message is not (ListNodes or InspectNode or GetJoinToken or GetSwarmSummary)
            && reply is not CommandRejected { Code: RejectCode.Conflict or RejectCode.Unavailable or RejectCode.Internal })
        {
            Remember(requestId, reply);
        }

        context.Respond(reply);
    }

    private async Task<object?> AnswerAsync(object message) =>
        message switch
        {
            ListNodes => new NodeList([.. State.List<NodeObject>().OrderBy(n => n.Description.Hostname, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal)]),
            InspectNode m => OnInspect(m),
            GetJoinToken m => OnGetJoinToken(m),
            GetSwarmSummary => OnSummary(),
            PromoteNode m => await ChangeNode(m.NodeRef, (node, _) => NodeCommands.Promote(node)),
            DemoteNode m => await ChangeNode(m.NodeRef, NodeCommands.Demote),
            UpdateNode m => await ChangeNode(m.NodeRef, (node, _) => NodeCommands.Update(node, m.Availability, m.LabelsAdd, m.LabelsRemove)),
            RemoveNode m => await OnRemove(m),
            JoinRequest m => await OnJoin(m),
            _ => null,
        };

    private static string? RequestIdOf(object message) => message switch
    {
        PromoteNode m => m.RequestId,
        DemoteNode m => m.RequestId,
        UpdateNode m => m.RequestId,
        RemoveNode m => m.RequestId,
        JoinRequest m => m.RequestId,
        _ => null,
    };

    private object OnInspect(InspectNode m)
    {
        var (node, rejected) = NodeCommands.Resolve(State.List<NodeObject>(), m.NodeRef);
        return node is null ? rejected! : new NodeDetails(node);
    }

    private object OnGetJoinToken(GetJoinToken m)
    {
        var cluster = State.Get<ClusterObject>(ClusterObject.DefaultId);
        if (cluster is null)
        {
            return new CommandRejected(RejectCode.NotInSwarm, "This manager has no swarm record; it is not initialised.");
        }

        var secret = m.Role == NodeRole.Manager ? cluster.ManagerJoinSecret : cluster.WorkerJoinSecret;
        return new JoinTokenInfo(m.Role, JoinTokens.Format(secret), LeaderAddr());
    }

    private SwarmSummary OnSummary()
    {
        var cluster = State.Get<ClusterObject>(ClusterObject.DefaultId);
        var nodes = State.List<NodeObject>().ToList();
        return new SwarmSummary(
            cluster?.ClusterId ?? string.Empty,
            nodes.Count(n => n.Role == NodeRole.Manager),
            nodes.Count,
            DispatcherActor.ManagersOf(nodes),
            cluster?.Meta.CreatedAt ?? default);
    }

    private string LeaderAddr() =>
        DispatcherActor.ManagersOf(State.List<NodeObject>()).FirstOrDefault(m => m.Leader)?.Addr ?? string.Empty;

    private async Task<object> ChangeNode(string nodeRef, Func<NodeObject, IReadOnlyList<NodeObject>, NodeDecision> decide)
    {
        for (var attempt = 0; ; attempt++)
        {
            var nodes = State.List<NodeObject>().ToList();
            var (node, rejected) = NodeCommands.Resolve(nodes, nodeRef);
            if (node is null)
            {
                return rejected!;
            }

            var decision = decide(node, nodes);
            if (decision.Rejected is not null)
            {
                return decision.Rejected;
            }

            if (decision.Write is null)
            {
                return new NodeUpdateAck(node, decision.Message);
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Update(decision.Write)]);
                LogNodeChanged(_logger, node.Id, decision.Message);
                return new NodeUpdateAck(State.Get<NodeObject>(node.Id) ?? decision.Write, decision.Message);
            }
            catch (StoreConflictException e)
            {
                // The node changed under us (a heartbeat); decide again on what is there now.
                if (attempt >= ConflictRetries)
                {
                    return KeptChanging(node, e);
                }
            }
        }
    }

    private async Task<object> OnRemove(RemoveNode m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (node, rejected) = NodeCommands.Resolve(State.List<NodeObject>(), m.NodeRef);
            if (node is null)
            {
                return rejected!;
            }

            var decision = NodeCommands.Remove(node, m.Force);
            if (decision.Rejected is not null)
            {
                return decision.Rejected;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Delete(node)]);
                LogNodeRemoved(_logger, node.Id, node.Description.Hostname);
                return new RemoveNodeAck(node.Id);
            }
            catch (StoreConflictException e)
            {
                if (attempt >= ConflictRetries)
                {
                    return KeptChanging(node, e);
                }
            }
        }
    }

    private async Task<object> OnJoin(JoinRequest m)
    {
        var cluster = State.Get<ClusterObject>(ClusterObject.DefaultId);
        if (cluster is null)
        {
            return new CommandRejected(RejectCode.NotInSwarm, "This node is not a swarm manager; join through a manager's address.");
        }

        if (JoinTokens.RoleFor(m.Token, cluster) is not { } role)
        {
            LogJoinRefused(_logger, m.Addr, m.Description.Hostname);
            return new CommandRejected(RejectCode.InvalidToken,
                "The join token is not valid for this swarm. Get the current one on a manager with `protoswarm swarm join-token worker` (or `manager`) and try again.");
        }

        if (string.IsNullOrWhiteSpace(m.Addr))
        {
            return new CommandRejected(RejectCode.InvalidArgument, "The joining node gave no address; pass --advertise-addr.");
        }

        var node = NodeCommands.NewNode(SwarmIds.New(), role, m.Addr, NodeCommands.DefaultPort, m.Description, _manager.Time.GetUtcNow(), leader: false);
        await _manager.Proposer.ProposeAsync([StoreChange.Create(node)]);
        LogNodeJoined(_logger, node.Id, m.Description.Hostname, m.Addr, role);
        return new JoinAccepted(node.Id, role, cluster.ClusterId, DispatcherActor.ManagersOf(State.List<NodeObject>()));
    }

    // An answer, not an exception: a failed actor would leave the caller waiting and forget its replies.
    private static CommandRejected KeptChanging(NodeObject node, StoreConflictException e) =>
        new(RejectCode.Conflict, $"Node {node.Id} kept changing while the command was applied ({e.Message}); try again.");

    private void Remember(string requestId, object reply)
    {
        _replies[requestId] = reply;
        _replyOrder.Enqueue(requestId);
        if (_replyOrder.Count > RememberedReplies)
        {
            _replies.Remove(_replyOrder.Dequeue());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Command} failed")]
    private static partial void LogCommandFailed(ILogger logger, Exception e, string command);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: {Change}")]
    private static partial void LogNodeChanged(ILogger logger, string nodeId, string change);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}) removed from the swarm")]
    private static partial void LogNodeRemoved(ILogger logger, string nodeId, string hostname);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}, {Addr}) joined as {Role}")]
    private static partial void LogNodeJoined(ILogger logger, string nodeId, string hostname, string addr, NodeRole role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join from {Addr} ({Hostname}) refused: invalid token")]
    private static partial void LogJoinRefused(ILogger logger, string addr, string hostname);
}
