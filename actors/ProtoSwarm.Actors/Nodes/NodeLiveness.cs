using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// When a node is Ready or Down: decided from heartbeats alone, as a pure function so it is tested
/// table by table. The actor gathers the times and writes what this decides.
/// </summary>
public static class NodeLiveness
{
    /// <summary>Silence after which a node is Down: four missed beats of the swarm's heartbeat period (2 s by default, so Down lands within 3 s).</summary>
    public static TimeSpan DownAfter(TimeSpan heartbeatPeriod) => heartbeatPeriod * 4;

    public const string HeartbeatFailure = "heartbeat failure";

    /// <summary>The status a node should have now, or null when the stored one is still right.</summary>
    public static NodeStatus? Decide(NodeStatus stored, DateTimeOffset lastHeartbeat, DateTimeOffset now, bool heartbeatJustArrived, string addr, TimeSpan? heartbeatPeriod = null)
    {
        if (heartbeatJustArrived)
        {
            return stored.State == NodeState.Ready && stored.Addr == addr
                ? null
                : new NodeStatus(NodeState.Ready, string.Empty, addr, lastHeartbeat);
        }

        if (stored.State != NodeState.Down && now - lastHeartbeat > DownAfter(heartbeatPeriod ?? ClusterObject.DefaultHeartbeatPeriod))
        {
            return stored with { State = NodeState.Down, Message = HeartbeatFailure, LastHeartbeat = lastHeartbeat };
        }

        return null;
    }

    /// <summary>A manager's reachability follows its node's state.</summary>
    public static ManagerStatus? ManagerStatusFor(NodeObject node, NodeState state) =>
        node.Role == NodeRole.Manager
            ? (node.ManagerStatus ?? new ManagerStatus(false, Reachability.Unknown, node.Status.Addr)) with
            {
                Reachability = state == NodeState.Ready ? Reachability.Reachable : Reachability.Unreachable,
            }
            : null;
}
