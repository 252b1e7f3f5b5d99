using Proto;
using Proto.Cluster;
using Proto.Diagnostics;
using Proto.Remote;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Cluster;

/// <summary>
/// Proto.Cluster's member list, taken from the swarm's own node list: the managers' dispatcher
/// answers every heartbeat with the Ready nodes' members, and this provider hands them to
/// <see cref="MemberList.UpdateClusterTopology"/>. No seed node, no gossip-based discovery: the
/// swarm is the source of truth for who is in the cluster.
/// </summary>
public sealed class SwarmClusterProvider : IClusterProvider
{
    /// <summary>
    /// How long after a member was blocked on this node a new member is kept out of its list. Proto.Cluster 1.8.0
    /// answers every block (<see cref="MemberBlocked"/>: a member that left the list, or a block learned from gossip
    /// or from a peer's connection) by applying again, on a pool thread, the member list it reads when that thread
    /// runs; read before a join was applied and applied after it, that list lacks the new member, which therefore
    /// "left": it is blocked for an hour, the block spreads by gossip and its process must start another member. A
    /// node restarted on its address had exactly this: the list that replaced its old member by its new one blocked
    /// the old one, and the re-applied list, read a moment before the new one was in, blocked the new one (its
    /// queries unanswered for the 5-10 s of a member restart; the lab test that kills the leader failed so about one
    /// run in ten). The pool thread runs within milliseconds; a second is ample, and costs a join that much delay.
    /// </summary>
    public static readonly TimeSpan JoinQuarantine = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private Proto.Cluster.Cluster? _cluster;
    private EventStreamSubscription<object>? _blocks;
    private long _lastBlock;
    private bool _blockSeen;

    public SwarmClusterProvider(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    public Task StartMemberAsync(Proto.Cluster.Cluster cluster)
    {
        _cluster = cluster;

        // Synchronous: it runs inside the block itself, before Proto.Cluster's own handler can reapply a list.
        _blocks = cluster.System.EventStream.Subscribe<MemberBlocked>(_ => NoteBlock());

        // Self first, so the member starts; the first heartbeat answer brings the others.
        cluster.MemberList.UpdateClusterTopology([cluster.MemberList.Self]);
        return Task.CompletedTask;
    }

    public Task StartClientAsync(Proto.Cluster.Cluster cluster) =>
        throw new NotSupportedException("ProtoSwarm nodes are always full members; clients use plain Proto.Remote requests to a manager.");

    public Task ShutdownAsync(bool graceful)
    {
        _blocks?.Unsubscribe();
        return Task.CompletedTask;
    }

    public Task<DiagnosticsEntry[]> GetDiagnostics() => Task.FromResult(Array.Empty<DiagnosticsEntry>());

    /// <summary>
    /// Replaces the member list with these members, plus self; new members wait for a later call when members
    /// leave in this one or one was blocked lately (<see cref="Stage"/>). Heartbeat answers come every period, so
    /// a held-back member joins at the first answer after the quarantine.
    /// </summary>
    public void Update(IEnumerable<MemberInfo> members)
    {
        if (_cluster is not { } cluster)
        {
            return;
        }

        var desired = Compute(cluster.MemberList.Self, members);
        cluster.MemberList.UpdateClusterTopology(Stage(cluster.MemberList.GetAllMembers(), desired, QuietSinceLastBlock()));
    }

    /// <summary>
    /// Self, then every other member once. An entry at self's address with another id is an older
    /// incarnation of this process (the store has not seen the new one yet) and is left out.
    /// </summary>
    public static List<Member> Compute(Member self, IEnumerable<MemberInfo> members)
    {
        var result = new List<Member> { self };
        var seenIds = new HashSet<string>(StringComparer.Ordinal) { self.Id };
        var seenAddresses = new HashSet<string>(StringComparer.Ordinal) { self.Address };
        foreach (var m in members)
        {
            var member = new Member { Id = m.MemberId, Host = m.Host, Port = m.Port };
            member.Kinds.Add(m.Kinds);
            if (seenIds.Add(member.Id) && seenAddresses.Add(member.Address))
            {
                result.Add(member);
            }
        }

        return result;
    }

    /// <summary>
    /// The list to apply now: <paramref name="desired"/>, except that members new to <paramref name="current"/> are
    /// held back while others leave in the same change (each leave is a block) or while the last block is recent
    /// (<paramref name="quiet"/> false): see <see cref="JoinQuarantine"/>. Leaves are never held back.
    /// </summary>
    public static IReadOnlyList<Member> Stage(IReadOnlyCollection<Member> current, IReadOnlyList<Member> desired, bool quiet)
    {
        var currentIds = current.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        var desiredIds = desired.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        var joining = desired.Any(m => !currentIds.Contains(m.Id));
        var leaving = current.Any(m => !desiredIds.Contains(m.Id));
        return joining && (leaving || !quiet) ? [.. desired.Where(m => currentIds.Contains(m.Id))] : desired;
    }

    private void NoteBlock()
    {
        Interlocked.Exchange(ref _lastBlock, _time.GetTimestamp());
        Volatile.Write(ref _blockSeen, true);
    }

    private bool QuietSinceLastBlock() =>
        !Volatile.Read(ref _blockSeen) || _time.GetElapsedTime(Interlocked.Read(ref _lastBlock)) >= JoinQuarantine;
}
