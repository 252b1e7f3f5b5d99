using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence.Sealing;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The swarm settings that `swarm init --force-new-cluster` carries, applied to the kept cluster object as
/// `swarm update` would apply them. Docker's init applies its spec on both paths, so a flag given with
/// --force-new-cluster is never ignored.
/// </summary>
public static class ForcedClusterSettings
{
    /// <summary>The cluster with the request's settings, or null when the request changes nothing.</summary>
    public static ClusterObject? Apply(ClusterObject cluster, InitSwarm request)
    {
        var changed = cluster;
        if (request.TaskHistoryLimit is { } limit)
        {
            changed = changed with { TaskHistoryRetentionLimit = limit };
        }

        if (request.SnapshotInterval > 0)
        {
            changed = changed with { SnapshotInterval = request.SnapshotInterval };
        }

        if (!request.ExternalCas.IsDefaultOrEmpty)
        {
            changed = changed with { ExternalCas = request.ExternalCas };
        }

        // --autolock on init only turns it on (init's flag defaults to off: absent is not "turn it off").
        if (request.AutoLock && !cluster.AutoLockManagers)
        {
            changed = changed with { AutoLockManagers = true, UnlockKey = UnlockKey.Create().Text };
        }

        return changed == cluster ? null : changed;
    }
}
