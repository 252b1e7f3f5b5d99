using System.Collections.Immutable;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>The outcome of a node command: the node to write (or none), a message, or a refusal.</summary>
public sealed record NodeDecision(NodeObject? Write, string Message, CommandRejected? Rejected)
{
    public static NodeDecision Refuse(RejectCode code, string reason) => new(null, string.Empty, new CommandRejected(code, reason));

    public static NodeDecision Change(NodeObject node, string message) => new(node, message, null);

    public static NodeDecision Nothing(string message) => new(null, message, null);
}

/// <summary>
/// The decisions behind `node promote/demote/update/rm`, as pure functions over the stored nodes:
/// the manager API actor reads, calls these, and writes what they return.
/// </summary>
public static class NodeCommands
{
    /// <summary>A node named as docker resolves names: full id, then hostname, then a unique id prefix.</summary>
    public static (NodeObject? Node, CommandRejected? Rejected) Resolve(IEnumerable<NodeObject> nodes, string nodeRef)
    {
        var all = nodes.ToList();
        if (string.IsNullOrWhiteSpace(nodeRef))
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "No node was named; give a node id, id prefix or hostname (see `protoswarm node ls`)."));
        }

        var exact = all.FirstOrDefault(n => n.Id == nodeRef);
        if (exact is not null)
        {
            return (exact, null);
        }

        var byName = all.Where(n => n.Description.Hostname == nodeRef).ToList();
        if (byName.Count == 1)
        {
            return (byName[0], null);
        }

        if (byName.Count > 1)
        {
            return (null, new CommandRejected(RejectCode.Conflict, $"Hostname {nodeRef} is ambiguous: {byName.Count} nodes have it ({string.Join(", ", byName.Select(n => n.Id))}); name the node by id."));
        }

        var byPrefix = all.Where(n => n.Id.StartsWith(nodeRef, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => (byPrefix[0], null),
            0 => (null, new CommandRejected(RejectCode.NotFound, $"No such node: {nodeRef}. See `protoswarm node ls` for the swarm's nodes.")),
            _ => (null, new CommandRejected(RejectCode.Conflict, $"Node reference {nodeRef} is ambiguous: {byPrefix.Count} node ids start with it; give more of the id.")),
        };
    }

    public static NodeDecision Promote(NodeObject node, ulong newRaftId)
    {
        if (node.Spec.DesiredRole == NodeRole.Manager && node.Role == NodeRole.Manager)
        {
            return NodeDecision.Nothing($"Node {node.Id} is already a manager.");
        }

        var promoted = node with
        {
            Spec = node.Spec with { DesiredRole = NodeRole.Manager },
            Role = NodeRole.Manager,
            ManagerStatus = new ManagerStatus(false, node.Status.State == NodeState.Ready ? Reachability.Reachable : Reachability.Unreachable, ManagerAddr(node)),
            RaftId = newRaftId,
        };
        return NodeDecision.Change(promoted, $"Node {node.Id} promoted to a manager in the swarm.");
    }

    /// <summary>
    /// <paramref name="raftReachable"/>: the Raft members the leader has just heard from. The store's
    /// Ready lags a crash by seconds; without this a demotion in that window could leave a Raft group
    /// whose remaining voters cannot form a quorum.
    /// </summary>
    public static NodeDecision Demote(NodeObject node, IEnumerable<NodeObject> all, IReadOnlySet<ulong>? raftReachable = null)
    {
        if (node.Spec.DesiredRole == NodeRole.Worker && node.Role == NodeRole.Worker)
        {
            return NodeDecision.Nothing($"Node {node.Id} is already a worker.");
        }

        if (all.Count(n => n.Role == NodeRole.Manager) <= 1)
        {
            return NodeDecision.Refuse(RejectCode.Conflict, $"Node {node.Id} is the last manager of the swarm and cannot be demoted; promote another node first.");
        }

        // After the change the others must still form a quorum among themselves, counting only
        // those that are reachable now: otherwise the swarm would stop accepting writes.
        var remaining = all.Where(n => n.Role == NodeRole.Manager && n.Id != node.Id).ToList();
        var reachable = remaining.Count(n => n.Status.State == NodeState.Ready && (raftReachable is null || raftReachable.Contains(n.RaftId)));
        var quorum = (remaining.Count / 2) + 1;
        if (reachable < quorum)
        {
            return NodeDecision.Refuse(RejectCode.Conflict,
                $"Demoting {node.Id} would lose quorum: {remaining.Count} managers would remain, of which {reachable} {(reachable == 1 ? "is" : "are")} reachable, and {quorum} {(quorum == 1 ? "is" : "are")} needed. Bring the unreachable managers back (or demote them first), then try again.");
        }

        return NodeDecision.Change(AsWorker(node), $"Manager {node.Id} demoted in the swarm.");
    }

    public static NodeObject AsWorker(NodeObject node) => node with
    {
        Spec = node.Spec with { DesiredRole = NodeRole.Worker },
        Role = NodeRole.Worker,
        ManagerStatus = null,
        RaftId = 0,
    };

    /// <summary>
    /// A manager demoted on its way out of the swarm (`swarm leave --force` asks its demotion, then leaves): a
    /// worker, and Down at once with <see cref="NodeLiveness.LeftSwarm"/>. Judged by its heartbeats, it stayed
    /// Ready for the whole grace a role change gets (<see cref="NodeLiveness.RoleChangeGrace"/>, 15 s), since
    /// a demoted node is expected to restart its member, not to go; docker's is Down once its beats stop. A node
    /// that left never comes back under its id (it joins again as a new node), so that Down is final.
    /// <see cref="NodeStatus.LastHeartbeat"/> is now: its member is kept in the member list for the usual while
    /// (<see cref="NodeLiveness.MemberKeptWhileDown"/>) as it stops itself.
    /// </summary>
    public static NodeObject Leaving(NodeObject node, DateTimeOffset now) => AsWorker(node) with
    {
        Status = node.Status with { State = NodeState.Down, Message = NodeLiveness.LeftSwarm, LastHeartbeat = now },
    };

    /// <summary>
    /// A node as it is written: when its role changes, with the time of the change
    /// (<see cref="NodeObject.RoleChangedAt"/>), which every leader, also one elected after the write,
    /// reads to give the node time to restart its member before judging it Down.
    /// </summary>
    public static NodeObject WithRoleChangeTime(NodeObject before, NodeObject after, DateTimeOffset now) =>
        after.Role != before.Role ? after with { RoleChangedAt = now } : after;

    public static NodeDecision Update(NodeObject node, NodeAvailability? availability, IReadOnlyDictionary<string, string> labelsAdd, IEnumerable<string> labelsRemove)
    {
        var labels = node.Spec.Labels;
        foreach (var key in labelsRemove)
        {
            if (!labels.ContainsKey(key))
            {
                return NodeDecision.Refuse(RejectCode.InvalidArgument, $"Label {key} is not on node {node.Id}; `protoswarm node inspect {node.Id}` lists its labels.");
            }

            labels = labels.Remove(key);
        }

        foreach (var (key, value) in labelsAdd)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                return NodeDecision.Refuse(RejectCode.InvalidArgument, "A label needs a key: use --label-add key=value.");
            }

            labels = labels.SetItem(key, value);
        }

        var spec = node.Spec with { Availability = availability ?? node.Spec.Availability, Labels = labels };
        return spec.Availability == node.Spec.Availability && spec.Labels.SequenceEqual(node.Spec.Labels)
            ? NodeDecision.Nothing(node.Id)
            : NodeDecision.Change(node with { Spec = spec }, node.Id);
    }

    /// <summary>
    /// What a `node update` changed, for the managers' audit line ("availability drain, labels +zone=a -old"):
    /// only what differs between <paramref name="before"/> and <paramref name="after"/>, labels by key in
    /// order, an added or changed one as +key=value, a removed one as -key. Empty when nothing differs.
    /// </summary>
    public static string Changes(NodeObject before, NodeObject after)
    {
        var parts = new List<string>();
        if (after.Spec.Availability != before.Spec.Availability)
        {
            parts.Add($"availability {after.Spec.Availability.ToString().ToLowerInvariant()}");
        }

        var labels = after.Spec.Labels
            .Where(l => !before.Spec.Labels.TryGetValue(l.Key, out var was) || was != l.Value)
            .Select(l => (l.Key, Text: $"+{l.Key}={l.Value}"))
            .Concat(before.Spec.Labels.Keys.Where(k => !after.Spec.Labels.ContainsKey(k)).Select(k => (Key: k, Text: $"-{k}")))
            .OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => l.Text)
            .ToList();
        if (labels.Count > 0)
        {
            parts.Add($"labels {string.Join(' ', labels)}");
        }

        return string.Join(", ", parts);
    }

    public static NodeDecision Remove(NodeObject node, bool force)
    {
        if (node.Role == NodeRole.Manager)
        {
            return NodeDecision.Refuse(RejectCode.Conflict, $"Node {node.Id} is a manager; demote it to a worker (`protoswarm node demote {node.Id}`) before removing it.");
        }

        if (node.Status.State != NodeState.Down && !force)
        {
            return NodeDecision.Refuse(RejectCode.Conflict, $"Node {node.Id} is not down and can't be removed; stop it first, or use --force.");
        }

        return NodeDecision.Nothing(node.Id);
    }

    /// <summary>The nodes as shown to users: a manager is Leader when it is the current Raft leader.</summary>
    public static NodeObject WithLeader(NodeObject node, ulong leaderRaftId) =>
        node.ManagerStatus is { } status && status.Leader != (node.RaftId != 0 && node.RaftId == leaderRaftId)
            ? node with { ManagerStatus = status with { Leader = !status.Leader } }
            : node;

    /// <summary>A Raft member id: random, never 0, never one a node of this swarm has.</summary>
    public static ulong NewRaftId(IEnumerable<NodeObject> nodes)
    {
        var taken = nodes.Select(n => n.RaftId).ToHashSet();
        while (true)
        {
            var id = BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            if (id != 0 && !taken.Contains(id))
            {
                return id;
            }
        }
    }

    public static NodeObject NewNode(string id, NodeRole role, string addr, int port, NodeDescription description, DateTimeOffset now, bool leader, ulong raftId = 0) =>
        new(
            id,
            ObjectMeta.New(now),
            new NodeSpec(role, NodeAvailability.Active, ImmutableSortedDictionary<string, string>.Empty),
            role,
            description,
            new NodeStatus(NodeState.Unknown, string.Empty, addr, now),
            role == NodeRole.Manager ? new ManagerStatus(leader, Reachability.Unknown, $"{addr}:{port}") : null,
            null,
            raftId);

    private static string ManagerAddr(NodeObject node) =>
        node.Member is { } m ? $"{node.Status.Addr}:{m.Port}" : $"{node.Status.Addr}:{DefaultPort}";

    public const int DefaultPort = 2377;
}
