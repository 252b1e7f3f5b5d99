using MessagePack;
using Microsoft.Data.Sqlite;
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
        var path = Path.Combine(stateDir, "raft.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();

        // One read transaction: WAL gives a consistent view while the manager keeps writing.
        using var transaction = connection.BeginTransaction(deferred: true);
        var commit = (ulong)(Scalar(connection, transaction, "SELECT commit_index FROM hard_state WHERE id = 1") as long? ?? 0);
        var snapshot = Scalar(connection, transaction, "SELECT payload FROM snapshot WHERE id = 1") is byte[] payload
            ? MessagePackSerializer.Deserialize<Snapshot>(payload)
            : Snapshot.Empty;
        var state = snapshot.IsEmpty ? StoreState.Empty : StoreCodec.DecodeState(snapshot.Data);
        var last = snapshot.Metadata.Index;

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT idx, type, data FROM entries WHERE idx > $after ORDER BY idx";
        command.Parameters.AddWithValue("$after", (long)snapshot.Metadata.Index);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var index = (ulong)reader.GetInt64(0);
            last = index;
            if (index > commit || (EntryType)reader.GetInt32(1) != EntryType.Normal || reader.GetValue(2) is not byte[] { Length: > 0 } data)
            {
                continue;
            }

            var (_, changes) = StoreCodec.DecodeProposal(data);
            try
            {
                state = state.Apply(index, changes, DateTimeOffset.UnixEpoch, out _);
            }
            catch (StoreConflictException)
            {
                // Refused by every replica alike (a stale version); the manager skips it too.
            }
        }

        return new ReplicaOnDisk(commit, snapshot.Metadata.Index, last, state);
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
