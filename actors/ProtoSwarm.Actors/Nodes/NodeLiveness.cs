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

    /// <summary>
    /// How long ago a node's role changed, as far as the judging manager can tell: the later of the change
    /// this manager's node actor saw itself (<paramref name="seenAt"/>, its own clock) and the one stored
    /// with the node (<paramref name="storedAt"/>, <see cref="NodeObject.RoleChangedAt"/>, written by
    /// whichever leader made the change). The stored time is what a new leader has: after the leader itself
    /// is demoted, the new leader's node actors start after the change and never see it, and the demoted
    /// node, restarting its member, was judged Down on the plain limit and its tasks were moved. A stored
    /// time ahead of this clock (another manager's clock) counts as now, but one a whole grace or more
    /// ahead is not believed: a clock that far off must not hold a node's Down back indefinitely. Null: no
    /// change known.
    /// </summary>
    public static TimeSpan? RoleChangedAgo(DateTimeOffset now, DateTimeOffset? seenAt, DateTimeOffset? storedAt, TimeSpan heartbeatPeriod)
    {
        TimeSpan? seen = seenAt is { } s ? now - s : null;
        TimeSpan? stored = storedAt is { } t && t - now < RoleChangeGrace(heartbeatPeriod) ? (now - t > TimeSpan.Zero ? now - t : TimeSpan.Zero) : null;
        return seen is { } a && stored is { } b ? (a < b ? a : b) : seen ?? stored;
    }

    /// <summary>
    /// The heartbeat period a node is judged by: the one it was told in the answer to its last beat, or the
    /// swarm's current one if that is longer. A node learns a new period only from that answer, so after
    /// `swarm update --dispatcher-heartbeat` shortens it, the node's next beat still comes one old period
    /// after its last. Judged by the new period at once, every node looked silent for more than four new
    /// beats: a lab of five marked all five Down within a second of 3s -> 500ms (the leader its own node
    /// too), replaced every task, and the false Downs took every member out of Proto.Cluster's member list
    /// (see <see cref="DispatcherActor.MembersOf"/>), so all of them were blocked and restarted. A
    /// lengthened period is the node's from its next beat; judging by it at once only gives more time.
    /// Null <paramref name="told"/>: no beat seen yet by this manager, the current period.
    /// </summary>
    public static TimeSpan JudgedPeriod(TimeSpan? told, TimeSpan current) => told is { } t && t > current ? t : current;

    public const string HeartbeatFailure = "heartbeat failure";

    /// <summary>The Down of a node that left the swarm (<see cref="Managers.NodeCommands.Leaving"/>): final, its id never beats again as a member.</summary>
    public const string LeftSwarm = "node left the swarm";

    /// <summary>
    /// How long a Down node's cluster member stays in the member lists the heartbeat answers carry, counted from its
    /// last beat (Proto.Cluster's own gossip expiry is off: this list alone takes a member out of the cluster).
    /// Proto.Cluster blocks, for an hour, every member id that leaves its list, and a blocked member stops
    /// itself, so the node must start a new member (3.5 s later, then its start: 2-7 s without a beat). Dropped at the
    /// Down itself, a node paused for 4 s came back to a blocked member: it was Ready on its first beat, stopped, and was
    /// Down again during the restart; under load a restarted worker did that several times over. Kept this long, a node
    /// back from a short outage keeps its member and simply beats Ready again, as docker's does.
    /// </summary>
    public static readonly TimeSpan MemberKeptWhileDown = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether a node's member belongs in the cluster's member list now: a Ready node's, and a Down node's for
    /// <see cref="MemberKeptWhileDown"/> after its last beat (<see cref="NodeStatus.LastHeartbeat"/>, which a Down status
    /// records). A node in any other state (Unknown: never beat yet) has none.
    /// </summary>
    public static bool KeepsMember(NodeStatus status, DateTimeOffset now) =>
        status.State == NodeState.Ready || (status.State == NodeState.Down && now - status.LastHeartbeat < MemberKeptWhileDown);

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
    /// <paramref name="roleChangedAgo"/>, how long ago the node's role changed (<see cref="RoleChangedAgo"/>;
    /// null: not lately), which gives it <see cref="RoleChangeGrace"/> instead of <see cref="DownAfter"/>;
    /// <paramref name="heartbeatPeriod"/>, the period the node is judged by (<see cref="JudgedPeriod"/>).
    /// </summary>
    public static NodeStatus? Decide(NodeStatus stored, DateTimeOffset lastHeartbeat, TimeSpan silence, bool heartbeatJustArrived, string addr, TimeSpan? heartbeatPeriod = null, TimeSpan? roleChangedAgo = null)
    {
        if (stored.State == NodeState.Down && stored.Message == LeftSwarm)
        {
            // A beat it sent between its demotion and its member's stop does not bring back a node that left.
            return null;
        }

        if (heartbeatJustArrived)
        {
            return stored.State == NodeState.Ready && stored.Addr == addr
                ? null
                : new NodeStatus(NodeState.Ready, string.Empty, addr, lastHeartbeat);
        }

        var limit = Limit(stored, heartbeatPeriod ?? ClusterObject.DefaultHeartbeatPeriod, roleChangedAgo);
        if (stored.State != NodeState.Down && silence > limit)
        {
            return stored with { State = NodeState.Down, Message = HeartbeatFailure, LastHeartbeat = lastHeartbeat };
        }

        return null;
    }

    /// <summary>The silence after which a node in <paramref name="stored"/> state is Down (see <see cref="Decide"/>).</summary>
    public static TimeSpan Limit(NodeStatus stored, TimeSpan heartbeatPeriod, TimeSpan? roleChangedAgo) =>
        // A node that never beat (Unknown: just joined) is starting its member with its new certificate, 2-7 s as
        // after a role change; judged by the plain limit, every joined node was Down for a moment before its first beat.
        stored.State == NodeState.Unknown || roleChangedAgo is { } ago && ago < RoleChangeGrace(heartbeatPeriod) ? RoleChangeGrace(heartbeatPeriod) : DownAfter(heartbeatPeriod);

    /// <summary>The shortest wait between two liveness checks: a check due sooner than this waits this long.</summary>
    public static readonly TimeSpan ShortestCheck = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// When a node actor checks its node next: when the silence it has watched would pass <paramref name="limit"/>
    /// (a millisecond after, so the check finds it passed), and never later than three quarters of a heartbeat period,
    /// since a check counts at most one period of silence (<see cref="Watched"/>), a slightly late one included. A node
    /// that beats is thus checked about three times per two beats, and one that went silent is judged Down on the
    /// dot of its limit. Until 2026-12-07 every node actor checked every 100 ms whatever the period: 10 wake-ups a
    /// second per node on an idle leader, and Down up to 100 ms after the limit.
    /// </summary>
    /// <remarks>A null <paramref name="limit"/>: none to wait for (a Down node, which only a beat changes).</remarks>
    public static TimeSpan NextCheck(TimeSpan silence, TimeSpan? limit, TimeSpan heartbeatPeriod)
    {
        var longest = heartbeatPeriod * 3 / 4;
        if (limit is not { } l)
        {
            return longest;
        }

        var due = l - silence + TimeSpan.FromMilliseconds(1);
        return due < ShortestCheck ? ShortestCheck : due > longest ? longest : due;
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
