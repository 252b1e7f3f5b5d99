using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Raft;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A manager's own replica, read from its raft.db while it runs: the snapshot plus every entry up to
/// the commit index it has made durable, applied as its RaftActor applies them. Every read through a
/// manager's control socket is relayed to the leader, so this is the way to see what one follower holds.
/// </summary>
public sealed record ReplicaOnDisk(ulong Commit, ulong SnapshotIndex, ulong LastIndex, StoreState State)
{
    public static ReplicaOnDisk Read(string stateDir)
    {
        // The log is sealed at rest: open it with this manager's own data key (keys/raft.dek,
        // wrapped by keys/raft.kek), through the same reader the manager uses at start.
        using var dataKey = new DataKeyFile(Path.Combine(stateDir, "keys", "raft.dek"), NodeKeyFile.LoadOrCreate(Path.Combine(stateDir, "keys", "raft.kek"))).Load(unlockKey: null);
        using var sealer = new Sealer(dataKey);
        RaftDiskState disk;
        using (var file = new RaftLogFile(Path.Combine(stateDir, "raft.db"), sealer))
        {
            disk = file.Load();
        }

        var commit = disk.HardState.Commit;
        var snapshot = disk.Snapshot;
        var state = snapshot.IsEmpty ? StoreState.Empty : StoreCodec.DecodeState(snapshot.Data);
        var last = snapshot.Metadata.Index;
        foreach (var entry in disk.Entries)
        {
            last = entry.Index;
            if (entry.Index > commit || entry.Type != EntryType.Normal || entry.Data.Length == 0)
            {
                continue;
            }

            var (_, changes) = StoreCodec.DecodeProposal(entry.Data);
            try
            {
                state = state.Apply(entry.Index, changes, DateTimeOffset.UnixEpoch, out _);
            }
            catch (StoreConflictException)
            {
                // Refused by every replica alike (a stale version); the manager skips it too.
            }
        }

        return new ReplicaOnDisk(commit, snapshot.Metadata.Index, last, state);
    }
}
