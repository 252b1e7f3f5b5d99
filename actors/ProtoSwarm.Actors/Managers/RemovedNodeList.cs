using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The cluster's deny list of removed nodes, kept as swarmkit keeps it: a removed node stays listed until
/// its certificate expires, after which it could not authenticate anyway and is forgotten. Pure: the
/// leader applies the result in the write that removes a node, so pruning costs no write of its own.
/// </summary>
public static class RemovedNodeList
{
    /// <summary>
    /// How long an entry whose certificate's expiry is unknown (a node removed by an earlier version, or
    /// one whose certificate was issued before nodes kept its expiry) stays listed, from when its expiry is
    /// set: the longest lifetime the swarm issues now or by default. A certificate issued before the
    /// removal, with a lifetime of at most that, has expired by then.
    /// </summary>
    public static TimeSpan UnknownExpiryHorizon(ClusterObject cluster) =>
        cluster.NodeCertExpiry > ClusterObject.DefaultNodeCertExpiry ? cluster.NodeCertExpiry : ClusterObject.DefaultNodeCertExpiry;

    /// <summary>The cluster with <paramref name="node"/> listed until its certificate expires, and the
    /// entries whose certificates expired by <paramref name="now"/> dropped.</summary>
    public static ClusterObject Add(ClusterObject cluster, NodeObject node, DateTimeOffset now)
    {
        var pruned = Prune(cluster, now) ?? cluster;
        var expires = node.CertNotAfter ?? now + UnknownExpiryHorizon(cluster);
        return pruned with
        {
            RemovedNodes = [.. pruned.RemovedNodes.Where(id => id != node.Id), node.Id],
            RemovedNodeExpiries = [.. pruned.RemovedNodeExpiries.Where(e => e.NodeId != node.Id), new RemovedNodeExpiry(node.Id, expires)],
        };
    }

    /// <summary>
    /// The cluster without the removed nodes whose certificates expired by <paramref name="now"/>, and with
    /// an expiry for every id listed without one (now plus <see cref="UnknownExpiryHorizon"/>); null when
    /// nothing changes, so a caller writes only when there is something to write.
    /// </summary>
    public static ClusterObject? Prune(ClusterObject cluster, DateTimeOffset now)
    {
        var known = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var entry in cluster.RemovedNodeExpiries)
        {
            known[entry.NodeId] = entry.CertExpiresAt;
        }

        var horizon = now + UnknownExpiryHorizon(cluster);
        var ids = cluster.RemovedNodes.Distinct(StringComparer.Ordinal).ToList();
        var kept = ids
            .Select(id => new RemovedNodeExpiry(id, known.TryGetValue(id, out var expires) ? expires : horizon))
            .Where(e => e.CertExpiresAt > now)
            .ToImmutableArray();

        var unchanged = kept.Length == cluster.RemovedNodes.Length
            && kept.Length == cluster.RemovedNodeExpiries.Length
            && kept.All(e => known.ContainsKey(e.NodeId));
        return unchanged
            ? null
            : cluster with { RemovedNodes = [.. kept.Select(e => e.NodeId)], RemovedNodeExpiries = kept };
    }
}
