using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// When a node is Ready or Down: decided from heartbeats alone, as a pure function so it is tested
/// table by table. The actor gathers the times and writes what this decides.
/// </summary>
public static class NodeLiveness
{
    /// <summary>Silence after which a node is Down: four missed beats of the swarm's heartbeat period (500 ms by default, so Down lands within about 2.5 s).</summary>
    public static TimeSpan DownAfter(TimeSpan heartbeatPeriod) => heartbeatPeriod * 4;

    /// <summary>
    /// Silence after which a node whose role changed lately (promoted or demoted within this long) is
    /// Down: it restarts its member to take the new role, which takes it a few seconds without a beat
    /// (2-6 s seen), and with the plain limit its tasks were replaced elsewhere on every promote and
    /// demote, which docker never does to a role change. At least 15 s, docker's own grace for a node's
    /// missed heartbeats.
    /// </summary>
    public static TimeSpan RoleChangeGrace(TimeSpan heartbeatPeriod) =>
        DownAfter(heartbeatPeriod) > TimeSpan.FromSeconds(15) ? DownAfter(heartbeatPeriod) : TimeSpan.FromSeconds(15);

    public const string HeartbeatFailure = "heartbeat failure";

    /// <summary>
    /// The silence a liveness check counts since the check before it: the time between them, but never more
    /// than one heartbeat period. A manager whose checks ran that late was not running itself (its cores
    /// taken by a burst of container starts, a long pause), so it did not watch the node meanwhile, and a beat
    /// that waited behind the same stall is taken just after it. Without this, the first check after a
    /// stall judged the node Down on the manager's own silence, and its tasks were replaced at once.
    /// </summary>
    public static TimeSpan Watched(TimeSpan sinceLastCheck, TimeSpan heartbeatPeriod) =>
        sinceLastCheck <= TimeSpan.Zero ? TimeSpan.Zero : sinceLastCheck < heartbeatPeriod ? sinceLastCheck : heartbeatPeriod;

    /// <summary>
    /// The status a node should have now, or null when the stored one is still right. <paramref name="silence"/>
    /// is how long the manager has watched the node without a beat (see <see cref="Watched"/>);
    /// <paramref name="lastHeartbeat"/> is when the last beat came, as recorded in a Down status;
    /// <paramref name="roleChangedAgo"/>, how long ago the manager saw the node's role change (null: not
    /// lately), which gives it <see cref="RoleChangeGrace"/> instead of <see cref="DownAfter"/>.
    /// </summary>
    public static NodeStatus? Decide(NodeStatus stored, DateTimeOffset lastHeartbeat, TimeSpan silence, bool heartbeatJustArrived, string addr, TimeSpan? heartbeatPeriod = null, TimeSpan? roleChangedAgo = null)
    {
        if (heartbeatJustArrived)
        {
            return stored.State == NodeState.Ready && stored.Addr == addr
                ? null
                : new NodeStatus(NodeState.Ready, string.Empty, addr, lastHeartbeat);
        }

        var period = heartbeatPeriod ?? ClusterObject.DefaultHeartbeatPeriod;
        var limit = roleChangedAgo is { } ago && ago < RoleChangeGrace(period) ? RoleChangeGrace(period) : DownAfter(period);
        if (stored.State != NodeState.Down && silence > limit)
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
