using System.Text;
using Microsoft.Data.Sqlite;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Persistence;

/// <summary>raft.db at rest: what a stolen disk shows, and what a changed file does on the next start.</summary>
public sealed class RaftLogSealingTests : IDisposable
{
    private const string Marker = "zebra-secret-7f3a";

    private readonly TempDir _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void No_Byte_Of_A_Stored_Object_Is_Readable_On_Disk_When_Sealed(bool sealedAtRest)
    {
        var stateDir = _dir.File(sealedAtRest ? "sealed" : "clear");
        Directory.CreateDirectory(stateDir);
        var path = Path.Combine(stateDir, "raft.db");
        using var sealer = sealedAtRest ? OpenSealer(stateDir, UnlockKey.Create()) : null;
        var node = TestNodes.Worker("n1", hostname: $"host-{Marker}").WithLabels(("owner", Marker));
        var entries = new List<Entry>();
        for (ulong i = 1; i <= 3; i++)
        {
            entries.Add(new Entry(i, 1, EntryType.Normal, StoreCodec.EncodeProposal($"p{i}", [StoreChange.Create(node with { Id = $"n{i}" })], TestNodes.T0)));
        }

        var state = StoreState.Empty.Apply(3, [StoreChange.Create(node)], TestNodes.T0, out _);
        string[] whileOpen;
        using (var opened = RaftLogFile.Open(path, "swarm-a", 1, sealer).File)
        {
            opened.Save(null, entries, new HardState(1, 1, 3));
            opened.SaveSnapshotAndCompact(new Snapshot(new SnapshotMetadata(3, 1, new ConfState([1], [])), StoreCodec.EncodeState(state)), compactTo: 2);
            opened.Save(null, [new Entry(4, 1, EntryType.Normal, StoreCodec.EncodeProposal("p4", [StoreChange.Create(node with { Id = "n4" })], TestNodes.T0))], new HardState(1, 1, 4));
            whileOpen = FilesShowing(stateDir, Marker);

            var disk = opened.Load();
            Assert.Contains(Marker, StoreCodec.DecodeState(disk.Snapshot.Data).Get<NodeObject>("n1")!.Description.Hostname, StringComparison.Ordinal);
            Assert.Equal([4UL], disk.Entries.Select(e => e.Index).ToArray());
        }

        SqliteConnection.ClearAllPools();
        var afterClose = FilesShowing(stateDir, Marker);

        if (sealedAtRest)
        {
            Assert.Empty(whileOpen);
            Assert.Empty(afterClose);
            Assert.True(File.Exists(Path.Combine(stateDir, "keys", "raft.dek")), "the key files were among the files searched");
        }
        else
        {
            // The control: the search does see plaintext when there is some.
            Assert.NotEmpty(whileOpen.Union(afterClose));
        }
    }

    [Theory]
    [InlineData("UPDATE entries SET data = (SELECT data FROM entries WHERE idx = 3) WHERE idx = 2", "entry:2:")]
    [InlineData("UPDATE entries SET data = substr(data, 1, length(data) - 1) WHERE idx = 2", "entry:2:")]
    [InlineData("UPDATE entries SET term = 3 WHERE idx = 2", "entry:2:3")]
    [InlineData("UPDATE snapshot SET idx = 2", "snapshot:2:")]
    public void A_Swapped_Truncated_Or_Relabelled_Row_Is_Refused_Not_Replayed(string tamper, string where)
    {
        var path = _dir.File("raft.db");
        using var sealer = SealingTests.NewSealer();
        using (var file = new RaftLogFile(path, sealer))
        {
            file.Save(new Snapshot(new SnapshotMetadata(1, 1, new ConfState([1], [])), [1, 2, 3]), [new Entry(2, 1, EntryType.Normal, [4]), new Entry(3, 1, EntryType.Normal, [5])], new HardState(1, 0, 3));
        }

        Tamper(path, tamper);

        var refused = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, sealer));

        Assert.Contains(path, refused.Message, StringComparison.Ordinal);
        Assert.Contains(where, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Log_Sealed_Under_Another_Data_Key_Or_In_Clear_Is_Named_As_Such()
    {
        var path = _dir.File("raft.db");
        using var sealer = SealingTests.NewSealer();
        using var other = SealingTests.NewSealer();
        RaftLogFile.Open(path, "swarm-a", 1, sealer).File.Dispose();
        var clearPath = _dir.File("clear.db");
        RaftLogFile.Open(clearPath, "swarm-a", 1, sealer: null).File.Dispose();

        Assert.Contains("another data key", Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, other)).Message, StringComparison.Ordinal);
        Assert.Contains("is sealed", Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, sealer: null)).Message, StringComparison.Ordinal);
        Assert.Contains("in clear", Assert.Throws<PersistenceException>(() => RaftLogFile.Open(clearPath, "swarm-a", 1, sealer)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Log_Written_Before_Encryption_At_Rest_Is_Refused_With_What_To_Do()
    {
        var path = _dir.File("raft.db");
        using (var connection = SqliteDatabase.Open(path))
        {
            SqliteDatabase.Execute(connection, "CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL);");
        }

        using var sealer = SealingTests.NewSealer();
        var refused = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, sealer));

        Assert.Contains("without encryption at rest", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotating_The_Unlock_Key_Keeps_The_Log_Readable_And_Locks_Out_The_Old_Key()
    {
        var stateDir = _dir.Path;
        var path = _dir.File("raft.db");
        var first = UnlockKey.Create();
        using (var sealer = OpenSealer(stateDir, first))
        using (var file = RaftLogFile.Open(path, "swarm-a", 1, sealer).File)
        {
            file.Save(null, [new Entry(1, 1, EntryType.Normal, Encoding.UTF8.GetBytes(Marker))], new HardState(1, 0, 1));
        }

        var second = UnlockKey.Create();
        DataKeys(stateDir).Rewrap(first, second);

        Assert.Throws<SwarmLockedException>(() => OpenSealer(stateDir, unlockKey: null));
        Assert.Throws<InvalidUnlockKeyException>(() => OpenSealer(stateDir, first));
        using var rotated = OpenSealer(stateDir, second);
        var (reopened, disk) = RaftLogFile.Open(path, "swarm-a", 1, rotated);
        reopened.Dispose();
        Assert.Equal(Marker, Encoding.UTF8.GetString(Assert.Single(disk.Entries).Data));
    }

    private static DataKeyFile DataKeys(string stateDir) =>
        new(Path.Combine(stateDir, "keys", "raft.dek"), NodeKeyFile.LoadOrCreate(Path.Combine(stateDir, "keys", "raft.kek")));

    private static Sealer OpenSealer(string stateDir, UnlockKey? unlockKey)
    {
        using var key = DataKeys(stateDir).LoadOrCreate(unlockKey);
        return new Sealer(key);
    }

    private static void Tamper(string path, string sql)
    {
        SqliteConnection.ClearAllPools();
        using var connection = SqliteDatabase.Open(path);
        SqliteDatabase.Execute(connection, sql);
    }

    /// <summary>Every file under the directory (raft.db, its -wal and -shm, keys/) whose raw bytes hold the text.</summary>
    private static string[] FilesShowing(string directory, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            return SealingTests.Contains(buffer.ToArray(), needle);
        })];
    }
}
