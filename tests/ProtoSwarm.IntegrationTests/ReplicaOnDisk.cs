using Microsoft.Data.Sqlite;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Raft;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A manager's own replica, read from its raft.db while it runs: the snapshot plus every entry up to
/// the commit index it has made durable, applied as its RaftActor applies them. Every read through a
/// manager's control socket is relayed to the leader, so this is the way to see what one follower holds.
/// <see cref="FirstIndex"/> is the first entry still in the file (the manager keeps some entries before its
/// snapshot for slow followers, which a restart does not load): a follower that needs one below it gets the snapshot.
/// </summary>
public sealed record ReplicaOnDisk(ulong Commit, ulong SnapshotIndex, ulong FirstIndex, ulong LastIndex, StoreState State)
{
    public static ReplicaOnDisk Read(string stateDir)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return ReadOnce(stateDir);
            }
            catch (Exception e) when (e is SqliteException { SqliteErrorCode: 5 or 6 } or PersistenceException && attempt < 5)
            {
                // SQLITE_BUSY or SQLITE_LOCKED past the busy timeout: the manager is writing; or the two files were
                // copied across two of its snapshots. Look again.
                Thread.Sleep(200);
            }
        }
    }

    private static ReplicaOnDisk ReadOnce(string stateDir)
    {
        // The log is sealed at rest: open it with this manager's own data key (keys/raft.dek,
        // wrapped by keys/raft.kek), through the same reader the manager uses at start.
        using var dataKey = new DataKeyFile(Path.Combine(stateDir, "keys", "raft.dek"), NodeKeyFile.LoadOrCreate(Path.Combine(stateDir, "keys", "raft.kek"))).Load(unlockKey: null);
        using var sealer = new Sealer(dataKey);
        // One consistent copy first (SQLite's online backup): the reader's separate queries on the
        // live file could see a snapshot installed between them, and the copy leaves the manager's
        // own file untouched by this reader.
        var copy = Path.Combine(Path.GetTempPath(), $"replica-{Guid.NewGuid():N}.db");
        try
        {
            // The snapshots the manager takes are in a file of their own beside raft.db: copied first, so the
            // log copied after points at one it holds (the manager keeps the one raft.db points at until the
            // next is committed; a copy that raced two snapshots is refused by the reader and made again).
            var snapshots = RaftLogFile.SnapshotsPathOf(Path.Combine(stateDir, "raft.db"));
            if (File.Exists(snapshots))
            {
                Backup(snapshots, RaftLogFile.SnapshotsPathOf(copy));
            }

            Backup(Path.Combine(stateDir, "raft.db"), copy);
            return Read(copy, sealer);
        }
        finally
        {
            foreach (var file in RaftLogFile.FilesOf(copy))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>One consistent copy of a live SQLite file (SQLite's online backup).</summary>
    private static void Backup(string source, string copy)
    {
        using var live = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString());
        live.Open();
        target.Open();
        // The manager may hold the file's lock for a moment (a checkpoint, a snapshot written on a busy
        // machine: CI once saw SQLITE_BUSY here): wait for it as the manager's own connections would.
        using (var wait = live.CreateCommand())
        {
            wait.CommandText = "PRAGMA busy_timeout = 10000";
            wait.ExecuteNonQuery();
        }

        live.BackupDatabase(target);
    }

    private static ReplicaOnDisk Read(string copy, Sealer sealer)
    {
        RaftDiskState disk;
        using (var file = new RaftLogFile(copy, sealer))
        {
            disk = file.Load();
        }

        var commit = disk.HardState.Commit;
        var snapshot = disk.Snapshot;
        var (state, _, _) = StoreCodec.ReplayCommitted(snapshot, disk.Entries, commit, DateTimeOffset.UnixEpoch);
        var first = OldestEntry(copy) ?? snapshot.Metadata.Index + 1;
        var last = disk.Entries.Count > 0 ? disk.Entries[^1].Index : snapshot.Metadata.Index;
        return new ReplicaOnDisk(commit, snapshot.Metadata.Index, first, last, state);
    }

    private static ulong? OldestEntry(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MIN(idx) FROM entries";
        return command.ExecuteScalar() is long index ? (ulong)index : null;
    }
}
