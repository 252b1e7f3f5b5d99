using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using Microsoft.Data.Sqlite;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;
using SQLitePCL;

namespace ProtoSwarm.Persistence;

/// <summary>What a manager's Raft peer finds on disk at start.</summary>
public sealed record RaftDiskState(
    RaftIdentity? Identity,
    HardState HardState,
    Snapshot Snapshot,
    IReadOnlyList<Entry> Entries);

/// <summary>
/// A snapshot this manager took, encoded and sealed (off the Raft actor's thread), to be stored by
/// <see cref="RaftLogFile.StoreSnapshot"/> (off it too) and then used by <see cref="RaftLogFile.CommitSnapshot"/>.
/// </summary>
public sealed record SealedSnapshot(SnapshotMetadata Metadata, byte[] Bytes);

/// <summary>Which swarm and which Raft member this file belongs to; a log from another swarm is refused.</summary>
[MessagePackObject]
public sealed record RaftIdentity(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] ulong RaftId);

/// <summary>
/// A manager's Raft log on disk (raft.db): entries, hard state and the latest snapshot. Each Ready
/// is written in ONE transaction (WAL, synchronous=FULL) before the peer sends or acknowledges
/// anything, so many proposals share one fsync. A snapshot the manager takes itself is stored in a
/// SQLite file of its own beside the log (raft-snapshots.db, <see cref="StoreSnapshot"/>), from the
/// thread that encoded it, and used once raft.db points at it (<see cref="CommitSnapshot"/>): tens of
/// megabytes written through raft.db, in parts between Readies, held the Raft actor for a third of a
/// second and more (the parts and the WAL checkpoints they caused) and moved the leadership
/// (docs/benchmarks.md, issue 3). One installed from the leader is written whole with its Ready.
/// Encrypted at rest: with a <see cref="Sealer"/>, every entry's data and the snapshot are sealed
/// (AES-GCM, bound to their index and term); identity and hard state hold no user data and stay
/// in clear. The file records which data key sealed it (a fingerprint), or that it is in clear.
/// </summary>
public sealed class RaftLogFile : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Sealer? _sealer;

    // The snapshots file, opened when first needed, and which of its snapshots raft.db points at (null: none, the
    // snapshot is in raft.db) and which was last stored: used from the thread that stores a snapshot and the actor's.
    private readonly Lock _snapshotsGate = new();
    private SqliteConnection? _snapshots;
    private (long Index, long Term)? _pointedAt;
    private (long Index, long Term, long Length)? _stored;

    // The statements of every Ready, prepared once: preparing them again per Ready cost more CPU
    // than executing them.
    private SqliteCommand? _truncate;
    private sqlite3_stmt? _insert;
    private byte[] _sealBuffer = new byte[1024];
    private SqliteCommand? _hardState;
    private SqliteCommand? _syncNormal;
    private SqliteCommand? _syncFull;

    /// <param name="sealer">The manager's data key; null only for tests and benchmarks that need a file in clear.</param>
    public RaftLogFile(string path, Sealer? sealer)
    {
        _sealer = sealer;
        _connection = SqliteDatabase.Open(path);
        try
        {
            Prepare();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    public string Path => _connection.DataSource;

    /// <summary>The file beside <paramref name="path"/> that keeps the snapshots its manager takes: raft.db's is raft-snapshots.db.</summary>
    public static string SnapshotsPathOf(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path) ?? string.Empty, System.IO.Path.GetFileNameWithoutExtension(path) + "-snapshots" + System.IO.Path.GetExtension(path));

    /// <summary>Every file a Raft log at <paramref name="path"/> may have: both databases and their WAL and shared-memory files.</summary>
    public static IReadOnlyList<string> FilesOf(string path) =>
        [.. new[] { path, SnapshotsPathOf(path) }.SelectMany(file => new[] { file, file + "-wal", file + "-shm" })];

    /// <summary>
    /// Opens a manager's Raft log for one member of one swarm, reads it whole and checks that it is
    /// theirs: a log from another swarm or member is refused, never replayed.
    /// </summary>
    public static (RaftLogFile File, RaftDiskState Disk) Open(string path, string clusterId, ulong raftId, Sealer? sealer)
    {
        var file = new RaftLogFile(path, sealer);
        try
        {
            var disk = file.Load();
            if (disk.Identity is { } identity && (identity.ClusterId != clusterId || identity.RaftId != raftId))
            {
                throw new PersistenceException(
                    $"{path} holds the Raft log of member {identity.RaftId} of swarm {identity.ClusterId}, not of member {raftId} of swarm {clusterId}; refusing to use it. Move the file away, then `protoswarm swarm leave --force` and join again.");
            }

            file.SaveIdentity(new RaftIdentity(clusterId, raftId));
            return (file, disk);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public RaftDiskState Load()
    {
        try
        {
            RaftIdentity? identity = null;
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT payload FROM identity WHERE id = 1";
                if (command.ExecuteScalar() is byte[] payload)
                {
                    identity = MessagePackSerializer.Deserialize<RaftIdentity>(payload, ContractRegistry.Options);
                }
            }

            var hard = default(HardState);
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT term, vote, commit_index FROM hard_state WHERE id = 1";
                using var reader = command.ExecuteReader();
                if (reader.Read())
                {
                    hard = new HardState((ulong)reader.GetInt64(0), (ulong)reader.GetInt64(1), (ulong)reader.GetInt64(2));
                }
            }

            var snapshot = Snapshot.Empty;
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT idx, term, payload FROM snapshot WHERE id = 1";
                using var reader = command.ExecuteReader();
                if (reader.Read())
                {
                    var (index, term) = ((ulong)reader.GetInt64(0), (ulong)reader.GetInt64(1));
                    var payload = (byte[])reader.GetValue(2);
                    if (payload.Length == 0)
                    {
                        // Stored beside the log; a file of an earlier version has it in parts.
                        payload = StoredLength(index, term) is { } length ? ReadStoredSnapshot(index, term, length) : ReadSnapshotParts(index, term);
                    }

                    snapshot = MessagePackSerializer.Deserialize<Snapshot>(Unseal(payload, SnapshotPlace(index, term)), ContractRegistry.Options);
                    if (snapshot.Metadata.Index != index || snapshot.Metadata.Term != term)
                    {
                        throw new PersistenceException($"{Path}: the snapshot row says index {index} term {term} but holds index {snapshot.Metadata.Index} term {snapshot.Metadata.Term}; the file is damaged.");
                    }
                }
            }

            var entries = new List<Entry>();
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT idx, term, type, data FROM entries WHERE idx > $after ORDER BY idx";
                command.Parameters.AddWithValue("$after", (long)snapshot.Metadata.Index);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var (index, term, type) = ((ulong)reader.GetInt64(0), (ulong)reader.GetInt64(1), (EntryType)reader.GetInt32(2));
                    var entry = new Entry(index, term, type, Unseal((byte[])reader.GetValue(3), EntryPlace(index, term, type)));
                    if (entries.Count > 0 && entry.Index != entries[^1].Index + 1)
                    {
                        throw new PersistenceException($"{Path}: the Raft log has a gap after index {entries[^1].Index}; the file is damaged. Remove this manager's state and join it again (`protoswarm node demote`, then `swarm leave --force` and rejoin).");
                    }

                    entries.Add(entry);
                }
            }

            if (entries.Count > 0 && entries[0].Index != snapshot.Metadata.Index + 1)
            {
                throw new PersistenceException($"{Path}: the Raft log starts at {entries[0].Index} but the snapshot ends at {snapshot.Metadata.Index}; the file is damaged.");
            }

            return new RaftDiskState(identity, hard, snapshot, entries);
        }
        catch (MessagePackSerializationException e)
        {
            throw new PersistenceException($"{Path}: the Raft state cannot be read ({e.Message}); the file is damaged or from a newer version.", e);
        }
    }

    public void SaveIdentity(RaftIdentity identity)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "INSERT INTO identity (id, payload) VALUES (1, $payload) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload";
        command.Parameters.AddWithValue("$payload", MessagePackSerializer.Serialize(identity, ContractRegistry.Options));
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Persists one Ready in one transaction: a snapshot (dropping the entries it covers), new
    /// entries (replacing any conflicting suffix from their first index on), the hard state.
    /// Not <paramref name="durable"/>: committed without an fsync of its own (synchronous=NORMAL
    /// for this transaction); the next durable one, which fsyncs the whole WAL, makes it durable too.
    /// </summary>
    public void Save(Snapshot? snapshot, IReadOnlyList<Entry> entries, HardState? hardState, bool durable = true)
    {
        if (durable)
        {
            SaveInTransaction(snapshot, entries, hardState);
        }
        else
        {
            WithoutFsync(() => SaveInTransaction(snapshot, entries, hardState));
        }
    }

    private void WithoutFsync(Action write)
    {
        (_syncNormal ??= Prepared("PRAGMA synchronous=NORMAL;")).ExecuteNonQuery();
        try
        {
            write();
        }
        finally
        {
            (_syncFull ??= Prepared("PRAGMA synchronous=FULL;")).ExecuteNonQuery();
        }
    }

    private SqliteCommand Prepared(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }

    private void SaveInTransaction(Snapshot? snapshot, IReadOnlyList<Entry> entries, HardState? hardState)
    {
        using var transaction = _connection.BeginTransaction();
        if (snapshot is { IsEmpty: false })
        {
            WriteSnapshot(snapshot, transaction);
            Exec(transaction, "DELETE FROM entries WHERE idx <= $idx", ("$idx", (long)snapshot.Metadata.Index));
        }

        if (entries.Count > 0)
        {
            _truncate ??= Prepared("DELETE FROM entries WHERE idx >= $idx", ("$idx", SqliteType.Integer));
            _truncate.Transaction = transaction;
            _truncate.Parameters[0].Value = (long)entries[0].Index;
            _truncate.ExecuteNonQuery();

            InsertEntries(entries);
        }

        if (hardState is { } hs)
        {
            _hardState ??= Prepared("INSERT INTO hard_state (id, term, vote, commit_index) VALUES (1, $t, $v, $c) ON CONFLICT (id) DO UPDATE SET term = excluded.term, vote = excluded.vote, commit_index = excluded.commit_index",
                ("$t", SqliteType.Integer), ("$v", SqliteType.Integer), ("$c", SqliteType.Integer));
            _hardState.Transaction = transaction;
            _hardState.Parameters[0].Value = (long)hs.Term;
            _hardState.Parameters[1].Value = (long)hs.Vote;
            _hardState.Parameters[2].Value = (long)hs.Commit;
            _hardState.ExecuteNonQuery();
        }

        transaction.Commit();
        if (snapshot is { IsEmpty: false })
        {
            ForgetStored();
        }
    }

    /// <summary>Keeps a snapshot taken by this manager and drops the entries before <paramref name="compactTo"/>.</summary>
    public void SaveSnapshotAndCompact(Snapshot snapshot, ulong compactTo)
    {
        using var transaction = _connection.BeginTransaction();
        WriteSnapshot(snapshot, transaction);
        Exec(transaction, "DELETE FROM entries WHERE idx < $idx", ("$idx", (long)compactTo));
        transaction.Commit();
        ForgetStored();
    }

    /// <summary>
    /// Takes a snapshot this manager encodes itself: <paramref name="writeData"/> writes the
    /// application's state straight into the buffer the snapshot is sealed from, behind the
    /// snapshot's own header. A large store is so encoded once and copied once (into
    /// <see cref="Snapshot.Data"/>, which the log keeps for slow followers) before it is sealed.
    /// Encoding it to an array first, then serializing the record into a buffer to seal, copied
    /// it twice more, each copy into fresh pages that the kernel must fault in and zero: most of a
    /// growing store's snapshot cost (docs/benchmarks.md, issue 3). The bytes sealed are those of
    /// the serialized <see cref="Snapshot"/> record, except that the data's length is always in
    /// MessagePack's 5-byte form (bin32), which every reader accepts. <paramref name="sizeHint"/>
    /// is the expected size of the data (too small costs a copy as the buffer grows, too large
    /// only address space). Safe to call from any thread.
    /// </summary>
    public (Snapshot Snapshot, SealedSnapshot Sealed) EncodeSnapshot(SnapshotMetadata metadata, Action<IBufferWriter<byte>> writeData, int sizeHint)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        using var encoded = new PooledBufferWriter(Math.Max(0, sizeHint) + 1024);
        var writer = new MessagePackWriter(encoded);
        writer.WriteArrayHeader(2);
        MessagePackSerializer.Serialize(ref writer, metadata, ContractRegistry.Options);
        writer.Flush();
        var header = encoded.WrittenCount;
        encoded.GetSpan(5);
        encoded.Advance(5);
        writeData(encoded);
        var bin = encoded.Rewrite(header, 5);
        bin[0] = MessagePackCode.Bin32;
        BinaryPrimitives.WriteInt32BigEndian(bin[1..], encoded.WrittenCount - header - 5);
        var snapshot = new Snapshot(metadata, encoded.WrittenSpan[(header + 5)..].ToArray());
        var place = SnapshotPlace(metadata.Index, metadata.Term);
        return (snapshot, new(metadata, _sealer is null ? encoded.WrittenSpan.ToArray() : _sealer.Seal(encoded.WrittenSpan, place)));
    }

    /// <summary>
    /// Stores a sealed snapshot in the snapshots file, durably, in one transaction on that file's own
    /// connection: safe to call from any thread while the Raft actor writes raft.db, which it never
    /// holds up (another file, another lock, its own WAL and checkpoints). raft.db does not use it
    /// until <see cref="CommitSnapshot"/>; every other snapshot in the file goes, except the one
    /// raft.db points at now (a restart before the commit still finds that one).
    /// </summary>
    public void StoreSnapshot(SealedSnapshot snapshot)
    {
        var (index, term) = ((long)snapshot.Metadata.Index, (long)snapshot.Metadata.Term);
        lock (_snapshotsGate)
        {
            var connection = Snapshots();
            using var transaction = connection.BeginTransaction();
            var keep = _pointedAt ?? (-1, -1);
            Exec(connection, transaction, "DELETE FROM snapshots WHERE NOT (idx = $i AND term = $t)", ("$i", keep.Index), ("$t", keep.Term));
            Exec(connection, transaction, "INSERT OR REPLACE INTO snapshots (idx, term, bytes) VALUES ($i, $t, $b)", ("$i", index), ("$t", term), ("$b", snapshot.Bytes));
            transaction.Commit();
            _stored = (index, term, snapshot.Bytes.Length);
        }
    }

    /// <summary>
    /// Once <see cref="StoreSnapshot"/> has stored it: in ONE durable transaction of raft.db, makes
    /// it the snapshot (and drops the parts a file of an earlier version kept). Until this commits,
    /// a restart finds the previous snapshot. The entries it covers are dropped afterwards, a slice
    /// at a time (<see cref="CompactSome"/>): dropping 10,000 rows at once took tens of milliseconds;
    /// entries at or below the snapshot's index are never read back once it is committed.
    /// </summary>
    public void CommitSnapshot(SealedSnapshot snapshot)
    {
        var (index, term) = ((long)snapshot.Metadata.Index, (long)snapshot.Metadata.Term);
        lock (_snapshotsGate)
        {
            if (_stored != (index, term, snapshot.Bytes.Length))
            {
                throw new PersistenceException($"{Path}: the snapshot at {index} was not stored in {SnapshotsPathOf(Path)}; it is not used.");
            }
        }

        using var transaction = _connection.BeginTransaction();
        Exec(transaction, "INSERT INTO snapshot (id, idx, term, payload) VALUES (1, $i, $t, zeroblob(0)) ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, term = excluded.term, payload = excluded.payload",
            ("$i", index), ("$t", term));
        Exec(transaction, "INSERT INTO snapshot_stored (id, idx, term, length) VALUES (1, $i, $t, $l) ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, term = excluded.term, length = excluded.length",
            ("$i", index), ("$t", term), ("$l", (long)snapshot.Bytes.Length));
        Exec(transaction, "DELETE FROM snapshot_parts");
        transaction.Commit();
        lock (_snapshotsGate)
        {
            _pointedAt = (index, term);
        }
    }

    /// <summary>
    /// Drops up to <paramref name="maxEntries"/> of the oldest entries before <paramref name="compactTo"/>
    /// (which a committed snapshot covers), without an fsync of its own. True when none is left.
    /// </summary>
    public bool CompactSome(ulong compactTo, int maxEntries)
    {
        var deleted = 0;
        WithoutFsync(() =>
        {
            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM entries WHERE idx IN (SELECT idx FROM entries WHERE idx < $before ORDER BY idx LIMIT $max)";
            command.Parameters.AddWithValue("$before", (long)compactTo);
            command.Parameters.AddWithValue("$max", maxEntries);
            deleted = command.ExecuteNonQuery();
            transaction.Commit();
        });
        return deleted < maxEntries;
    }

    public void Dispose()
    {
        foreach (var command in new[] { _truncate, _hardState, _syncNormal, _syncFull })
        {
            command?.Dispose();
        }

        _insert?.Dispose();
        lock (_snapshotsGate)
        {
            _snapshots?.Dispose();
            _snapshots = null;
        }

        _connection.Dispose();
    }

    private void WriteSnapshot(Snapshot snapshot, SqliteTransaction transaction)
    {
        Exec(transaction, "DELETE FROM snapshot_parts");
        Exec(transaction, "DELETE FROM snapshot_stored");
        Exec(transaction, "INSERT INTO snapshot (id, idx, term, payload) VALUES (1, $i, $t, $p) ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, term = excluded.term, payload = excluded.payload",
            ("$i", (long)snapshot.Metadata.Index),
            ("$t", (long)snapshot.Metadata.Term),
            ("$p", Seal(MessagePackSerializer.Serialize(snapshot, ContractRegistry.Options), SnapshotPlace(snapshot.Metadata.Index, snapshot.Metadata.Term))));
    }

    /// <summary>raft.db's snapshot is in the snapshots file no more (one from the leader, or bootstrap's, is in raft.db): the next stored one need not keep it.</summary>
    private void ForgetStored()
    {
        lock (_snapshotsGate)
        {
            _pointedAt = null;
        }
    }

    /// <summary>The length of the snapshot at this index and term that raft.db says is in the snapshots file, or null when it is not there.</summary>
    private long? StoredLength(ulong index, ulong term)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT length FROM snapshot_stored WHERE id = 1 AND idx = $i AND term = $t";
        command.Parameters.AddWithValue("$i", (long)index);
        command.Parameters.AddWithValue("$t", (long)term);
        return command.ExecuteScalar() is long length ? length : null;
    }

    private byte[] ReadStoredSnapshot(ulong index, ulong term, long length)
    {
        var snapshots = SnapshotsPathOf(Path);
        const string damaged = "Remove this manager's state and join it again (`protoswarm node demote`, then `swarm leave --force` and rejoin).";
        if (!File.Exists(snapshots))
        {
            throw new PersistenceException($"{Path}: its snapshot at index {index} is kept in {snapshots}, which is missing; the state is damaged. {damaged}");
        }

        lock (_snapshotsGate)
        {
            using var command = Snapshots().CreateCommand();
            command.CommandText = "SELECT bytes FROM snapshots WHERE idx = $i AND term = $t";
            command.Parameters.AddWithValue("$i", (long)index);
            command.Parameters.AddWithValue("$t", (long)term);
            if (command.ExecuteScalar() is not byte[] bytes || bytes.Length != length)
            {
                throw new PersistenceException($"{snapshots} does not hold the snapshot at index {index} term {term} ({length} bytes) that {Path} points at; the state is damaged. {damaged}");
            }

            _pointedAt = ((long)index, (long)term);
            _stored = ((long)index, (long)term, length);
            return bytes;
        }
    }

    /// <summary>The snapshots file's connection, opened (and its table made) when first needed; under <see cref="_snapshotsGate"/>.</summary>
    private SqliteConnection Snapshots()
    {
        if (_snapshots is null)
        {
            var connection = SqliteDatabase.Open(SnapshotsPathOf(Path));
            try
            {
                // Its WAL would otherwise keep the size of the largest snapshot for good.
                SqliteDatabase.Execute(connection, """
                    PRAGMA journal_size_limit = 1048576;
                    CREATE TABLE IF NOT EXISTS snapshots (idx INTEGER NOT NULL, term INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (idx, term));
                    """);
            }
            catch
            {
                connection.Dispose();
                throw;
            }

            _snapshots = connection;
        }

        return _snapshots;
    }

    private byte[] ReadSnapshotParts(ulong index, ulong term)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT seq, bytes FROM snapshot_parts WHERE idx = $i AND term = $t ORDER BY seq";
        command.Parameters.AddWithValue("$i", (long)index);
        command.Parameters.AddWithValue("$t", (long)term);
        using var reader = command.ExecuteReader();
        using var whole = new MemoryStream();
        var expected = 0;
        while (reader.Read())
        {
            if (reader.GetInt32(0) != expected++)
            {
                throw new PersistenceException($"{Path}: part {expected - 1} of the snapshot at {index} is missing; the file is damaged.");
            }

            whole.Write((byte[])reader.GetValue(1));
        }

        if (expected == 0)
        {
            throw new PersistenceException($"{Path}: the snapshot at {index} has no parts; the file is damaged.");
        }

        return whole.ToArray();
    }

    /// <summary>
    /// Every entry of a Ready through one statement of SQLite's own, in the transaction the
    /// connection has open: each entry is sealed into one reused buffer and bound from it, its row
    /// place formatted on the stack. Through <see cref="SqliteCommand"/> each row cost a sealed
    /// array, the place as a string and as bytes, three boxed numbers, four parameter binders and a
    /// data reader, on every manager.
    /// </summary>
    private void InsertEntries(IReadOnlyList<Entry> entries)
    {
        if (_insert is null)
        {
            Check(raw.sqlite3_prepare_v2(_connection.Handle, "INSERT INTO entries (idx, term, type, data) VALUES (?1, ?2, ?3, ?4)", out var statement));
            _insert = statement;
        }

        Span<byte> place = stackalloc byte[80];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            Check(raw.sqlite3_bind_int64(_insert, 1, (long)entry.Index));
            Check(raw.sqlite3_bind_int64(_insert, 2, (long)entry.Term));
            Check(raw.sqlite3_bind_int(_insert, 3, (int)entry.Type));
            if (_sealer is null)
            {
                // An empty span would bind NULL; an empty entry is a blob of no bytes, as before.
                Check(entry.Data.Length == 0 ? raw.sqlite3_bind_zeroblob(_insert, 4, 0) : raw.sqlite3_bind_blob(_insert, 4, entry.Data));
            }
            else
            {
                if (_sealBuffer.Length < Sealer.Overhead + entry.Data.Length)
                {
                    _sealBuffer = new byte[Math.Max(_sealBuffer.Length * 2, Sealer.Overhead + entry.Data.Length)];
                }

                var placeLength = EntryPlace(entry.Index, entry.Term, entry.Type, place);
                var length = _sealer.Seal(entry.Data, place[..placeLength], _sealBuffer);
                Check(raw.sqlite3_bind_blob(_insert, 4, _sealBuffer.AsSpan(0, length)));
            }

            var step = raw.sqlite3_step(_insert);
            raw.sqlite3_reset(_insert);
            if (step != raw.SQLITE_DONE)
            {
                Check(step);
            }
        }
    }

    private void Check(int rc)
    {
        if (rc is not raw.SQLITE_OK and not raw.SQLITE_DONE)
        {
            throw new SqliteException($"{Path}: {raw.sqlite3_errmsg(_connection.Handle).utf8_to_string()}", rc);
        }
    }

    // The bytes of EntryPlace's string, formatted on the stack.
    private static int EntryPlace(ulong index, ulong term, EntryType type, Span<byte> into)
    {
        System.Text.Unicode.Utf8.TryWrite(into, System.Globalization.CultureInfo.InvariantCulture, $"entry:{index}:{term}:{(int)type}", out var written);
        return written;
    }

    // A sealed blob names its row: an entry moved to another index, or an old snapshot put back
    // under a newer index, fails to open.
    private static string EntryPlace(ulong index, ulong term, EntryType type) => $"entry:{index}:{term}:{(int)type}";

    private static string SnapshotPlace(ulong index, ulong term) => $"snapshot:{index}:{term}";

    private byte[] Seal(byte[] plaintext, string place) => _sealer is null ? plaintext : _sealer.Seal(plaintext, place);

    private byte[] Unseal(byte[] stored, string place)
    {
        if (_sealer is null)
        {
            return stored;
        }

        try
        {
            return _sealer.Open(stored, place);
        }
        catch (PersistenceException e)
        {
            throw new PersistenceException($"{Path}: {e.Message}. The Raft log is damaged; remove this manager's state and join it again (`protoswarm node demote`, then `swarm leave --force` and rejoin).", e);
        }
    }

    /// <summary>
    /// Creates the tables of a new file and checks an existing one was sealed with this key (or is
    /// in clear when no sealer is given), so a wrong key is named as such rather than as damage.
    /// </summary>
    private void Prepare()
    {
        bool HasTable(string name)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
            command.Parameters.AddWithValue("$name", name);
            return (long)command.ExecuteScalar()! > 0;
        }

        if (HasTable("entries") && !HasTable("sealing"))
        {
            throw new PersistenceException($"{Path} was written by a ProtoSwarm without encryption at rest and cannot be read by this one. Move the file away, then `protoswarm swarm leave --force` and join again (or init a new swarm).");
        }

        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS hard_state (id INTEGER PRIMARY KEY CHECK (id = 1), term INTEGER NOT NULL, vote INTEGER NOT NULL, commit_index INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, term INTEGER NOT NULL, payload BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS snapshot_parts (idx INTEGER NOT NULL, term INTEGER NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (idx, term, seq));
            CREATE TABLE IF NOT EXISTS snapshot_stored (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, term INTEGER NOT NULL, length INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS identity (id INTEGER PRIMARY KEY CHECK (id = 1), payload BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS sealing (id INTEGER PRIMARY KEY CHECK (id = 1), key_id BLOB NOT NULL);
            """);

        var keyId = _sealer?.KeyId ?? [];
        using var read = _connection.CreateCommand();
        read.CommandText = "SELECT key_id FROM sealing WHERE id = 1";
        if (read.ExecuteScalar() is not byte[] stored)
        {
            using var insert = _connection.CreateCommand();
            insert.CommandText = "INSERT INTO sealing (id, key_id) VALUES (1, $k)";
            insert.Parameters.AddWithValue("$k", keyId);
            insert.ExecuteNonQuery();
        }
        else if (!stored.AsSpan().SequenceEqual(keyId))
        {
            throw new PersistenceException((stored.Length, keyId.Length) switch
            {
                (0, _) => $"{Path} is a Raft log in clear (written by a test or benchmark); a manager refuses it. Move it away and join again.",
                (_, 0) => $"{Path} is sealed; it cannot be read without its data key.",
                _ => $"{Path} was sealed under another data key than the one in the state directory's keys/raft.dek (the key file was replaced or the log restored from elsewhere). Put the matching keys/ back, or move raft.db away, then `protoswarm swarm leave --force` and join again.",
            });
        }
    }

    private void Exec(SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters) =>
        Exec(_connection, transaction, sql, parameters);

    private static void Exec(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }
}
