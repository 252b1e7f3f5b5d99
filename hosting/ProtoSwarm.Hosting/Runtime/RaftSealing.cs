using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Persistence.Sealing;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>Where a manager's Raft data key comes from: keys/raft.dek, wrapped by keys/raft.kek or the unlock key.</summary>
public static class RaftSealing
{
    public static DataKeyFile DataKeyFile(NodeOptions options) =>
        new(options.RaftDataKeyPath, NodeKeyFile.LoadOrCreate(options.NodeKeyPath));

    /// <summary>
    /// The sealer for this manager's raft.db; a new manager gets a new data key. With autolock and
    /// no <paramref name="unlockKey"/> it throws <see cref="SwarmLockedException"/>.
    /// </summary>
    public static Sealer OpenSealer(NodeOptions options, UnlockKey? unlockKey)
    {
        using var dataKey = DataKeyFile(options).LoadOrCreate(unlockKey);
        return new Sealer(dataKey);
    }

    /// <summary>Forgets the data key with the log it sealed (leave); the node's key stays.</summary>
    public static void DeleteDataKey(NodeOptions options) => Persistence.Sealing.DataKeyFile.DeleteIfPresent(options.RaftDataKeyPath);
}
