using Proto.Cluster;
using Proto.Diagnostics;
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
    private Proto.Cluster.Cluster? _cluster;

    /// <summary>Whether this member's answer to a block is <see cref="BlockHandling"/>'s (false only if Proto.Cluster changed shape).</summary>
    public bool BlocksHandled { get; private set; }

    public Task StartMemberAsync(Proto.Cluster.Cluster cluster)
    {
        _cluster = cluster;
        BlocksHandled = BlockHandling.Replace(cluster);

        // Self first, so the member starts; the first heartbeat answer brings the others.
        cluster.MemberList.UpdateClusterTopology([cluster.MemberList.Self]);
        return Task.CompletedTask;
    }

    public Task StartClientAsync(Proto.Cluster.Cluster cluster) =>
        throw new NotSupportedException("ProtoSwarm nodes are always full members; clients use plain Proto.Remote requests to a manager.");

    public Task ShutdownAsync(bool graceful) => Task.CompletedTask;

    public Task<DiagnosticsEntry[]> GetDiagnostics() => Task.FromResult(Array.Empty<DiagnosticsEntry>());

    /// <summary>Replaces the member list with these members, plus self.</summary>
    public void Update(IEnumerable<MemberInfo> members)
    {
        if (_cluster is not { } cluster)
        {
            return;
        }

        cluster.MemberList.UpdateClusterTopology(Compute(cluster.MemberList.Self, members));
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
}
