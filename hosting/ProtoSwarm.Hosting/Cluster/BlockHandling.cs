using System.Collections.Concurrent;
using System.Reflection;
using Proto;
using Proto.Cluster;
using Proto.Mailbox;
using Proto.Remote;

namespace ProtoSwarm.Hosting.Cluster;

/// <summary>
/// What a member does when a member is blocked (one that left its list, or a block learned by gossip or from a
/// peer's connection): it applies its member list again, without the blocked ones, and stops itself when it is
/// the one blocked. Proto.Cluster 1.8.0 does so on a pool thread that reads the list first and only then waits for
/// the member list's lock: read before a concurrent change added a member and applied after it, the list lacks the
/// new member, which therefore "left", is blocked for an hour, and the block spreads by gossip; a list read before
/// the first members were added, once applied, blocked every member of the swarm, each of which had to start a new
/// one. A manager restarted on its address met this about one run in ten of the lab test that kills the leader: the
/// change that replaced its old member by its new one blocked the old one, and the list reapplied, read just before,
/// blocked the new one a second after it came up (5-10 s without a member, `node inspect` through it unanswered).
/// <see cref="Replace"/> takes Proto.Cluster's handler out and puts one in that reads the list under the lock, so the
/// list it applies is always the current one. It reaches two private fields of Proto.Cluster 1.8.0 (the pinned
/// version); a unit test fails if they change shape, and the member then keeps Proto.Cluster's own handler.
/// </summary>
internal static class BlockHandling
{
    private const BindingFlags Fields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    public static bool Replace(Proto.Cluster.Cluster cluster)
    {
        var memberList = cluster.MemberList;
        var gate = typeof(MemberList).GetField("_lock", Fields)?.GetValue(memberList);
        var subscriptions = typeof(EventStream<object>).GetField("_subscriptions", Fields)?.GetValue(cluster.System.EventStream)
            as ConcurrentDictionary<Guid, EventStreamSubscription<object>>;
        var theirs = subscriptions?.Values.Where(s => AnswersBlocksFor(s, memberList)).ToList();
        if (gate is null || theirs is not { Count: 1 })
        {
            return false;
        }

        cluster.System.EventStream.Subscribe<MemberBlocked>(_ => Reapply(memberList, gate), Dispatchers.DefaultDispatcher);
        theirs[0].Unsubscribe();
        return true;
    }

    /// <summary>The list as it is, read under the lock that every change takes; blocked members drop out, and a blocked self stops.</summary>
    private static void Reapply(MemberList memberList, object gate)
    {
        lock (gate)
        {
            memberList.UpdateClusterTopology(memberList.GetAllMembers());
        }
    }

    /// <summary>Proto.Cluster's own handler: an event-stream subscription wrapping an <see cref="Action{MemberBlocked}"/> of this member list.</summary>
    private static bool AnswersBlocksFor(EventStreamSubscription<object> subscription, MemberList memberList) =>
        subscription.Action.Target is { } wrapper &&
        wrapper.GetType().GetFields(Fields).Any(f => f.FieldType == typeof(Action<MemberBlocked>) &&
            f.GetValue(wrapper) is Action<MemberBlocked> action && ReferenceEquals(action.Target, memberList));
}
