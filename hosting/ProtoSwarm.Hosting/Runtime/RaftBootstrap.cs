using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// Writes a manager's raft.db for the two cases where a Raft group starts from one member: a new
/// swarm (`swarm init`), and a surviving manager restarting the swarm alone after quorum was lost
/// (`swarm init --force-new-cluster`), which keeps every committed object. Both write sealed
/// with the manager's data key (null only in tests that need a file in clear).
/// </summary>
public static class RaftBootstrap
{
    /// <summary>A new swarm: a snapshot at index 1 holding the first objects, this member the only voter.</summary>
    public static void Create(string path, Sealer? sealer, string clusterId, ulong raftId, IReadOnlyList<IStoreObject> objects, DateTimeOffset now)
    {
        var state = StoreState.Empty.Apply(1, [.. objects.Select(o => (StoreChange)new CreateObject(o.Kind, o.Id, o))], now, out _);
        Write(path, sealer, clusterId, raftId, new Snapshot(new SnapshotMetadata(1, 1, new ConfState([raftId], [])), StoreCodec.EncodeState(state)), term: 1);
    }

    /// <summary>
    /// Rebuilds the store from this manager's snapshot and committed entries, and writes it back as
    /// a snapshot whose only voter is this member. Uncommitted entries are dropped, as a new
    /// leader would drop them. Returns the store as kept.
    /// </summary>
    public static StoreState ForceNewCluster(string path, Sealer? sealer, string clusterId, ulong raftId, DateTimeOffset now)
    {
        // Open checks that the log is this member's of this swarm; a foreign one is refused.
        var (file, disk) = RaftLogFile.Open(path, clusterId, raftId, sealer);
        file.Dispose();
        var (state, index, term) = StoreCodec.ReplayCommitted(disk.Snapshot, disk.Entries, disk.HardState.Commit, now);
        Write(path, sealer, clusterId, raftId, new Snapshot(new SnapshotMetadata(index, term, new ConfState([raftId], [])), StoreCodec.EncodeState(state)), Math.Max(term, disk.HardState.Term));
        return state;
    }

    private static void Write(string path, Sealer? sealer, string clusterId, ulong raftId, Snapshot snapshot, ulong term)
    {
        foreach (var stale in RaftLogFile.FilesOf(path))
        {
            File.Delete(stale);
        }

        using var file = new RaftLogFile(path, sealer);
        file.SaveIdentity(new RaftIdentity(clusterId, raftId));
        file.Save(snapshot, [], new HardState(term, 0, snapshot.Metadata.Index));
    }
}
