using System.Buffers;
using MessagePack;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Raft;

public sealed class RaftLogFileTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly Sealer _sealer = NewSealer();

    public void Dispose()
    {
        _sealer.Dispose();
        _dir.Dispose();
    }

    private static Sealer NewSealer()
    {
        using var key = DataKey.Generate();
        return new Sealer(key);
    }

    private static Entry E(ulong index, ulong term, byte b = 1) => new(index, term, EntryType.Normal, [b]);

    /// <summary>A snapshot of given data sealed as a member seals the one it takes.</summary>
    private static SealedSnapshot Seal(RaftLogFile file, Snapshot snapshot) =>
        file.EncodeSnapshot(snapshot.Metadata, output => output.Write(snapshot.Data), snapshot.Data.Length).Sealed;

    [Fact]
    public void A_Ready_Written_In_One_Transaction_Is_Read_Back_Whole()
    {
        var path = _dir.File("raft.db");
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [E(1, 1), E(2, 1), E(3, 2)], new HardState(2, 7, 3));
        }

        using var reopened = new RaftLogFile(path, _sealer);
        var disk = reopened.Load();
        Assert.Equal(new HardState(2, 7, 3), disk.HardState);
        Assert.Equal([1UL, 2UL, 3UL], disk.Entries.Select(e => e.Index).ToArray());
        Assert.True(disk.Snapshot.IsEmpty);
    }

    [Fact]
    public void New_Entries_Replace_A_Conflicting_Suffix()
    {
        using var file = new RaftLogFile(_dir.File("raft.db"), _sealer);
        file.Save(null, [E(1, 1), E(2, 1), E(3, 1)], new HardState(1, 0, 1));

        file.Save(null, [E(2, 2, 9)], new HardState(2, 0, 1));

        var disk = file.Load();
        Assert.Equal([(1UL, 1UL), (2UL, 2UL)], disk.Entries.Select(e => (e.Index, e.Term)).ToArray());
        Assert.Equal(9, disk.Entries[1].Data[0]);
    }

    [Fact]
    public void A_Snapshot_Drops_The_Entries_It_Covers_And_Compaction_Keeps_The_Rest()
    {
        using var file = new RaftLogFile(_dir.File("raft.db"), _sealer);
        file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
        var snapshot = new Snapshot(new SnapshotMetadata(6, 1, new ConfState([1], [])), [42]);

        file.SaveSnapshotAndCompact(snapshot, compactTo: 4);

        var disk = file.Load();
        Assert.Equal(6UL, disk.Snapshot.Metadata.Index);
        Assert.Equal([7UL, 8UL, 9UL, 10UL], disk.Entries.Select(e => e.Index).ToArray());
    }

    [Fact]
    public void A_Stored_Snapshot_Is_Used_Only_Once_Committed()
    {
        var path = _dir.File("raft.db");
        var data = new byte[200_000];
        new Random(7).NextBytes(data);
        var snapshot = new Snapshot(new SnapshotMetadata(8, 1, new ConfState([1], [])), data);
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
            file.SaveSnapshotAndCompact(new Snapshot(new SnapshotMetadata(3, 1, new ConfState([1], [])), [42]), compactTo: 2);
            var sealedSnapshot = Seal(file, snapshot);
            Assert.Throws<PersistenceException>(() => file.CommitSnapshot(sealedSnapshot)); // not stored yet
            file.StoreSnapshot(sealedSnapshot);

            // A restart here (stored, not committed) finds the previous snapshot and the whole log.
            using (var meanwhile = new RaftLogFile(path, _sealer))
            {
                var before = meanwhile.Load();
                Assert.Equal(3UL, before.Snapshot.Metadata.Index);
                Assert.Equal([4UL, 5UL, 6UL, 7UL, 8UL, 9UL, 10UL], before.Entries.Select(e => e.Index).ToArray());
            }

            file.CommitSnapshot(sealedSnapshot);
            Assert.False(file.CompactSome(compactTo: 6, maxEntries: 2)); // 2 and 3
            Assert.False(file.CompactSome(compactTo: 6, maxEntries: 2)); // 4 and 5
            Assert.True(file.CompactSome(compactTo: 6, maxEntries: 2));
        }

        using var reopened = new RaftLogFile(path, _sealer);
        var disk = reopened.Load();
        Assert.Equal((8UL, 1UL), (disk.Snapshot.Metadata.Index, disk.Snapshot.Metadata.Term));
        Assert.Equal([1UL], disk.Snapshot.Metadata.ConfState.Voters.ToArray());
        Assert.Equal(data, disk.Snapshot.Data);
        Assert.Equal([9UL, 10UL], disk.Entries.Select(e => e.Index).ToArray()); // entries 6-8 stay in the file, below the snapshot
        Assert.True(File.Exists(_dir.File("raft-snapshots.db")));
    }

    [Fact]
    public async Task A_Snapshot_Of_Megabytes_Is_Stored_From_Another_Thread_While_Readies_Are_Written_And_Read_Back_Whole()
    {
        var path = _dir.File("raft.db");
        var data = new byte[(3 * 1024 * 1024) + 12345];
        new Random(11).NextBytes(data);
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
            var sealedSnapshot = Seal(file, new Snapshot(new SnapshotMetadata(9, 1, new ConfState([1], [])), data));
            Assert.True(sealedSnapshot.Bytes.Length > data.Length);
            var storing = Task.Run(() => file.StoreSnapshot(sealedSnapshot));
            for (var i = 11; !storing.IsCompleted || i < 20; i++)
            {
                file.Save(null, [E((ulong)i, 1)], new HardState(1, 0, (ulong)i));
            }

            await storing;
            file.CommitSnapshot(sealedSnapshot);
        }

        using var reopened = new RaftLogFile(path, _sealer);
        var disk = reopened.Load();
        Assert.Equal(9UL, disk.Snapshot.Metadata.Index);
        Assert.Equal(data, disk.Snapshot.Data);
        Assert.Equal(10UL, disk.Entries[0].Index);
    }

    [Fact]
    public void A_Missing_Or_Damaged_Snapshots_File_Is_Refused_Naming_It()
    {
        var path = _dir.File("raft.db");
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
            var sealedSnapshot = Seal(file, new Snapshot(new SnapshotMetadata(9, 1, new ConfState([1], [])), [1, 2, 3]));
            file.StoreSnapshot(sealedSnapshot);
            file.CommitSnapshot(sealedSnapshot);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var snapshots = RaftLogFile.SnapshotsPathOf(path);
        var kept = snapshots + ".kept";
        File.Move(snapshots, kept);
        foreach (var side in new[] { "-wal", "-shm" })
        {
            File.Delete(snapshots + side);
        }

        var missing = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, _sealer));
        Assert.Contains(snapshots, missing.Message, StringComparison.Ordinal);
        Assert.Contains("missing", missing.Message, StringComparison.Ordinal);

        // Its bytes changed: the seal no longer opens.
        using (var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={kept};Pooling=False"))
        {
            other.Open();
            using var move = other.CreateCommand();
            move.CommandText = "UPDATE snapshots SET bytes = substr(bytes, 1, length(bytes) - 1) || x'00'";
            move.ExecuteNonQuery();
        }

        File.Move(kept, snapshots);
        var damaged = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, _sealer));
        Assert.Contains("damaged", damaged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_File_Whose_Snapshot_Is_In_Parts_Written_By_An_Earlier_Version_Still_Loads()
    {
        var path = _dir.File("raft.db");
        var data = new byte[150_000];
        new Random(5).NextBytes(data);
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
            var sealedSnapshot = Seal(file, new Snapshot(new SnapshotMetadata(9, 1, new ConfState([1], [])), data));

            // As the earlier version left it: the sealed bytes in 64 KiB parts, the snapshot row empty.
            using var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
            raw.Open();
            for (var (part, offset) = (0, 0); offset < sealedSnapshot.Bytes.Length; part++, offset += 65536)
            {
                using var insert = raw.CreateCommand();
                insert.CommandText = "INSERT INTO snapshot_parts (idx, term, seq, bytes) VALUES (9, 1, $s, $b)";
                insert.Parameters.AddWithValue("$s", part);
                insert.Parameters.AddWithValue("$b", sealedSnapshot.Bytes.AsSpan(offset, Math.Min(65536, sealedSnapshot.Bytes.Length - offset)).ToArray());
                insert.ExecuteNonQuery();
            }

            using var row = raw.CreateCommand();
            row.CommandText = "INSERT INTO snapshot (id, idx, term, payload) VALUES (1, 9, 1, zeroblob(0))";
            row.ExecuteNonQuery();
        }

        using var reopened = new RaftLogFile(path, _sealer);
        Assert.Equal(data, reopened.Load().Snapshot.Data);
    }

    [Theory]
    [InlineData(10, 1 << 20)] // a small store, a generous hint
    [InlineData(3_000, 256)] // a store far larger than the hint: the buffer grows
    public void A_Snapshot_Encoded_Into_Its_Sealing_Buffer_Is_Read_Back_As_The_Store_It_Was_Taken_Of(int nodes, int sizeHint)
    {
        var path = _dir.File("raft.db");
        var state = StoreState.Empty.Apply(7, [.. Enumerable.Range(0, nodes).Select(i => StoreChange.Create(TestNodes.Worker($"n{i:00000}")))], DateTimeOffset.UnixEpoch, out _);
        var metadata = new SnapshotMetadata(9, 2, new ConfState([1, 2, 3], [4]));
        Snapshot taken;
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 2))], new HardState(2, 0, 10));
            (taken, var sealedSnapshot) = file.EncodeSnapshot(metadata, output => StoreCodec.EncodeState(state, output), sizeHint);
            Assert.Equal(StoreCodec.EncodeState(state), taken.Data);
            Assert.Equal(metadata, taken.Metadata);
            file.StoreSnapshot(sealedSnapshot);
            file.CommitSnapshot(sealedSnapshot);
        }

        using var reopened = new RaftLogFile(path, _sealer);
        var disk = reopened.Load();
        Assert.Equal((9UL, 2UL), (disk.Snapshot.Metadata.Index, disk.Snapshot.Metadata.Term));
        Assert.Equal([1UL, 2UL, 3UL], disk.Snapshot.Metadata.ConfState.Voters.ToArray());
        Assert.Equal([4UL], disk.Snapshot.Metadata.ConfState.Learners.ToArray());
        Assert.Equal(taken.Data, disk.Snapshot.Data);
        Assert.Equal(nodes, StoreCodec.DecodeState(disk.Snapshot.Data).All().Count());
    }

    [Fact]
    public void A_Snapshot_Encoded_Into_Its_Sealing_Buffer_Has_The_Bytes_Of_The_Serialized_Snapshot_Record()
    {
        // Unsealed, so the bytes can be compared: from 64 KiB of data on, MessagePack's shortest
        // length header is bin32 too, so they are exactly what serializing the record gives.
        using var file = new RaftLogFile(_dir.File("clear.db"), sealer: null);
        var data = new byte[(1 << 16) + 5];
        new Random(3).NextBytes(data);
        var metadata = new SnapshotMetadata(12, 3, new ConfState([1], []));

        var (snapshot, sealedSnapshot) = file.EncodeSnapshot(metadata, output => output.Write(data), sizeHint: 16);

        Assert.Equal(data, snapshot.Data);
        Assert.Equal(MessagePackSerializer.Serialize(new Snapshot(metadata, data), ContractRegistry.Options), sealedSnapshot.Bytes);

        // Below 64 KiB the header is longer than the shortest, and still reads back the same.
        var (small, smallSealed) = file.EncodeSnapshot(metadata, output => output.Write<byte>([1, 2, 3]), sizeHint: 0);
        var read = MessagePackSerializer.Deserialize<Snapshot>(smallSealed.Bytes, ContractRegistry.Options);
        Assert.Equal([1, 2, 3], read.Data);
        Assert.Equal((12UL, 3UL), (read.Metadata.Index, read.Metadata.Term));
        Assert.Equal([1UL], read.Metadata.ConfState.Voters.ToArray());
        Assert.Equal(read.Data, small.Data);
    }

    [Fact]
    public void A_Stored_Snapshot_Never_Committed_Is_Dropped_By_The_Next_One_And_A_Snapshot_From_The_Leader_Replaces_Them()
    {
        var path = _dir.File("raft.db");
        using var file = new RaftLogFile(path, _sealer);
        file.Save(null, [.. Enumerable.Range(1, 10).Select(i => E((ulong)i, 1))], new HardState(1, 0, 10));
        var first = Seal(file, new Snapshot(new SnapshotMetadata(3, 1, new ConfState([1], [])), [3]));
        file.StoreSnapshot(first);
        file.CommitSnapshot(first);
        file.StoreSnapshot(Seal(file, new Snapshot(new SnapshotMetadata(5, 1, new ConfState([1], [])), [5]))); // abandoned
        var taken = Seal(file, new Snapshot(new SnapshotMetadata(7, 1, new ConfState([1], [])), [7]));
        file.StoreSnapshot(taken);
        Assert.Equal([3L, 7L], StoredIndexes(path)); // the one raft.db points at stays until the next is committed
        file.CommitSnapshot(taken);
        Assert.Equal([7], file.Load().Snapshot.Data);

        file.Save(new Snapshot(new SnapshotMetadata(12, 2, new ConfState([1], [])), [12]), [], new HardState(2, 0, 12));

        var disk = file.Load();
        Assert.Equal(12UL, disk.Snapshot.Metadata.Index);
        Assert.Equal([12], disk.Snapshot.Data);
        Assert.Empty(disk.Entries);
        file.StoreSnapshot(Seal(file, new Snapshot(new SnapshotMetadata(13, 2, new ConfState([1], [])), [13])));
        Assert.Equal([13L], StoredIndexes(path)); // the leader's is in raft.db: 7 need not be kept
    }

    private static long[] StoredIndexes(string path)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={RaftLogFile.SnapshotsPathOf(path)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT idx FROM snapshots ORDER BY idx";
        using var reader = command.ExecuteReader();
        var indexes = new List<long>();
        while (reader.Read())
        {
            indexes.Add(reader.GetInt64(0));
        }

        return [.. indexes];
    }

    [Fact]
    public void A_Log_Of_Another_Swarm_Or_Member_Is_Refused_With_What_To_Do()
    {
        var path = _dir.File("raft.db");
        var (file, _) = RaftLogFile.Open(path, "swarm-a", 1, _sealer);
        file.Dispose();

        var otherSwarm = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-b", 1, _sealer));
        var otherMember = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 2, _sealer));

        Assert.Contains("swarm-a", otherSwarm.Message, StringComparison.Ordinal);
        Assert.Contains("join again", otherMember.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void A_Damaged_File_Is_Refused_Not_Replayed(string damage)
    {
        var path = _dir.File("raft.db");
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [.. Enumerable.Range(1, 200).Select(i => E((ulong)i, 1))], new HardState(1, 0, 200));
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage == "garbage" ? [.. Enumerable.Repeat((byte)0x5A, bytes.Length)] : bytes[..(bytes.Length / 3)]);
        foreach (var side in new[] { "-wal", "-shm" })
        {
            File.Delete(path + side);
        }

        var refused = Assert.Throws<PersistenceException>(() => RaftLogFile.Open(path, "swarm-a", 1, _sealer));
        Assert.Contains(path, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bootstrap_Writes_A_Snapshot_With_The_First_Objects_And_One_Voter()
    {
        var path = _dir.File("raft.db");
        var cluster = TestNodes.Cluster("swarm-a");
        var node = TestNodes.Manager("m1");

        RaftBootstrap.Create(path, _sealer, "swarm-a", 11, [cluster, node], TestNodes.T0);

        var (file, disk) = RaftLogFile.Open(path, "swarm-a", 11, _sealer);
        file.Dispose();
        Assert.Equal((1UL, 1UL), (disk.Snapshot.Metadata.Index, disk.Snapshot.Metadata.Term));
        Assert.Equal([11UL], disk.Snapshot.Metadata.ConfState.Voters.ToArray());
        var state = StoreCodec.DecodeState(disk.Snapshot.Data);
        Assert.NotNull(state.Get<ClusterObject>(ClusterObject.DefaultId));
        Assert.Equal(1UL, state.Get<NodeObject>("m1")!.Meta.Version);
    }

    [Fact]
    public void Force_New_Cluster_Keeps_Every_Committed_Object_Drops_The_Uncommitted_And_Leaves_One_Voter()
    {
        var path = _dir.File("raft.db");
        RaftBootstrap.Create(path, _sealer, "swarm-a", 11, [TestNodes.Cluster("swarm-a"), TestNodes.Manager("m1")], TestNodes.T0);
        using (var file = new RaftLogFile(path, _sealer))
        {
            var committed = StoreCodec.EncodeProposal("p1", [StoreChange.Create(TestNodes.Worker("w1"))], TestNodes.T0);
            var uncommitted = StoreCodec.EncodeProposal("p2", [StoreChange.Create(TestNodes.Worker("w2"))], TestNodes.T0);
            var addVoter = new ConfChange(ConfChangeType.AddVoter, 22, "m2").ToBytes();
            file.Save(null, [new Entry(2, 2, EntryType.ConfChange, addVoter), new Entry(3, 2, EntryType.Normal, committed), new Entry(4, 2, EntryType.Normal, uncommitted)], new HardState(2, 11, 3));
        }

        var kept = RaftBootstrap.ForceNewCluster(path, _sealer, "swarm-a", 11, TestNodes.T0);

        Assert.NotNull(kept.Get<NodeObject>("w1"));
        Assert.Null(kept.Get<NodeObject>("w2"));
        var (reopened, disk) = RaftLogFile.Open(path, "swarm-a", 11, _sealer);
        reopened.Dispose();
        Assert.Equal([11UL], disk.Snapshot.Metadata.ConfState.Voters.ToArray());
        Assert.Equal(3UL, disk.Snapshot.Metadata.Index);
        Assert.Empty(disk.Entries);
        Assert.NotNull(StoreCodec.DecodeState(disk.Snapshot.Data).Get<NodeObject>("w1"));
    }

    [Fact]
    public void A_Store_State_Is_Encoded_As_The_Snapshot_Data_Record_Of_One_Create_Per_Object()
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        var worker = TestNodes.Worker("w1");
        var labelled = TestNodes.Worker("w2") with { Spec = TestNodes.Worker("w2").Spec with { Labels = TestNodes.Worker("w2").Spec.Labels.Add("zone", "a") } };
        var cluster = new ClusterObject(ClusterObject.DefaultId, ObjectMeta.New(now), "c1", "wj", "mj", 50);
        var state = StoreState.Empty.Apply(7, [StoreChange.Create(worker), StoreChange.Create(labelled), StoreChange.Create(cluster)], now, out _);

        var encoded = StoreCodec.EncodeState(state);

        var record = new StoreSnapshotData(state.Index, [.. state.All().Select(o => new WireChange(0, o.Kind, o.Id, 0, ContractRegistry.NameOf(o.GetType()), ContractRegistry.Serialize(o)))]);
        Assert.Equal(ContractRegistry.SerializeTyped(record), encoded);
        var back = StoreCodec.DecodeState(encoded);
        Assert.Equal(7UL, back.Index);
        Assert.Equal("a", back.Get<NodeObject>("w2")!.Spec.Labels["zone"]);
        Assert.Equal(50UL, back.Get<ClusterObject>(ClusterObject.DefaultId)!.SnapshotInterval);
        Assert.Equal(StoreState.Empty.Index, StoreCodec.DecodeState(StoreCodec.EncodeState(StoreState.Empty)).Index);
    }

    [Fact]
    public void Store_Proposals_And_States_Round_Trip_Through_The_Codec()
    {
        var node = TestNodes.Worker("w1");
        var changes = new List<StoreChange> { StoreChange.Create(node), StoreChange.Update(node), StoreChange.Delete(node) };

        var at = TestNodes.T0.AddTicks(1234567);
        var (id, back, proposedAt) = StoreCodec.DecodeProposal(StoreCodec.EncodeProposal("p9", changes, at.ToOffset(TimeSpan.FromHours(2))));

        Assert.Equal("p9", id);
        Assert.Equal(at, proposedAt);
        Assert.Equal(TimeSpan.Zero, proposedAt!.Value.Offset);
        Assert.Equal(changes.Select(c => (c.GetType(), c.Kind, c.Id)), back.Select(c => (c.GetType(), c.Kind, c.Id)));
        Assert.Equal(node.Spec.Labels, ((UpdateObject)back[1]).Object is NodeObject n ? n.Spec.Labels : null);
        Assert.Same(StoreState.Empty, StoreCodec.DecodeState([]));
    }

    [Fact]
    public void A_Proposal_Is_Encoded_As_The_Store_Proposal_Record_And_Read_Back_From_It()
    {
        var node = TestNodes.Worker("w1") with { Spec = TestNodes.Worker("w1").Spec with { Labels = TestNodes.Worker("w1").Spec.Labels.Add("zone", "a") } };
        var cluster = new ClusterObject(ClusterObject.DefaultId, ObjectMeta.New(DateTimeOffset.UnixEpoch), "c1", "wj", "mj", 50);
        var changes = new List<StoreChange> { StoreChange.Create(node), StoreChange.Update(cluster), StoreChange.Delete(node) };
        var record = new StoreProposal(
            "p1",
            [
                new WireChange(0, "node", "w1", 0, ContractRegistry.NameOf(typeof(NodeObject)), ContractRegistry.Serialize(node)),
                new WireChange(1, ClusterObject.StoreKind, cluster.Id, cluster.Meta.Version, ContractRegistry.NameOf(typeof(ClusterObject)), ContractRegistry.Serialize(cluster)),
                new WireChange(2, "node", "w1", node.Meta.Version, null, null),
            ],
            TestNodes.T0.UtcTicks);

        var encoded = StoreCodec.EncodeProposal("p1", changes, TestNodes.T0);

        Assert.Equal(ContractRegistry.SerializeTyped(record), encoded);
        var (id, back, proposedAt) = StoreCodec.DecodeProposal(ContractRegistry.SerializeTyped(record with { ProposalId = "p2", ProposedAtTicks = TestNodes.T0.AddDays(1).UtcTicks }));
        Assert.Equal("p2", id);
        Assert.Equal(TestNodes.T0.AddDays(1), proposedAt);
        Assert.Equal(changes.Select(c => (c.GetType(), c.Kind, c.Id)), back.Select(c => (c.GetType(), c.Kind, c.Id)));
        Assert.Equal("a", ((CreateObject)back[0]).Object is NodeObject n ? n.Spec.Labels["zone"] : null);
        Assert.Equal(50UL, ((UpdateObject)back[1]).Object is ClusterObject c ? c.SnapshotInterval : 0);
        Assert.Equal(cluster.Meta.Version, ((UpdateObject)back[1]).ExpectedVersion);
        Assert.Equal(node.Meta.Version, ((DeleteObject)back[2]).ExpectedVersion);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x92, 0xa2, 0x70, 0x31 })]
    [InlineData(new byte[] { 0x92, 0xa2, 0x70, 0x31, 0x91, 0x96, 0x00, 0xa4, 0x6e, 0x6f, 0x64, 0x65 })]
    [InlineData(new byte[] { 0x92, 0xa2, 0x70, 0x31, 0x91, 0x96, 0x07, 0xa1, 0x6e, 0xa1, 0x6e, 0x00, 0xc0, 0xc0 })]
    [InlineData(new byte[] { 0x92, 0xa2, 0x70, 0x31, 0x91, 0x96, 0x00, 0xa1, 0x6e, 0xa1, 0x6e, 0x00, 0xa1, 0x58, 0xc4, 0x01, 0x00 })]
    [InlineData(new byte[] { 0x93, 0xa2, 0x70, 0x31, 0x90, 0xff })]
    [InlineData(new byte[] { 0x93, 0xa2, 0x70, 0x31, 0x90, 0xa1, 0x78 })]
    public void A_Damaged_Proposal_Is_Refused_As_A_Serialization_Error(byte[] data)
    {
        Assert.Throws<MessagePackSerializationException>(() => StoreCodec.DecodeProposal(data));
    }

    [Fact]
    public void Entries_Applied_At_Two_Different_Clock_Times_Give_The_Same_Objects_And_The_Same_Snapshot_Bytes()
    {
        var (created, updated) = (TestNodes.T0.AddMinutes(1), TestNodes.T0.AddMinutes(2));
        var worker = TestNodes.Worker("w1");
        var entries = new[]
        {
            new Entry(2, 1, EntryType.Normal, StoreCodec.EncodeProposal("p1", [StoreChange.Create(worker)], created)),
            new Entry(3, 1, EntryType.Normal, StoreCodec.EncodeProposal("p2", [StoreChange.Update(worker.WithLabels(("zone", "a")) with { Meta = worker.Meta with { Version = 2 } })], updated)),
        };
        var snapshot = new Snapshot(new SnapshotMetadata(1, 1, new ConfState([1], [])), StoreCodec.EncodeState(StoreState.Empty));

        // Two replicas, or one manager before and after a restart: only the clock at apply differs.
        var (first, _, _) = StoreCodec.ReplayCommitted(snapshot, entries, 3, TestNodes.T0.AddHours(1));
        var (second, _, _) = StoreCodec.ReplayCommitted(snapshot, entries, 3, TestNodes.T0.AddDays(3));

        Assert.Equal(new ObjectMeta(3, created, updated), first.Get<NodeObject>("w1")!.Meta);
        Assert.Equal(first.Get<NodeObject>("w1")!.Meta, second.Get<NodeObject>("w1")!.Meta);
        Assert.Equal(StoreCodec.EncodeState(first), StoreCodec.EncodeState(second));
    }

    [Fact]
    public void An_Entry_Written_Before_The_Time_Travelled_In_It_Still_Decodes_And_Applies_At_The_Appliers_Clock()
    {
        var worker = TestNodes.Worker("w1");
        var old = OldFormatProposal("p1", new WireChange(0, "node", "w1", 0, ContractRegistry.NameOf(typeof(NodeObject)), ContractRegistry.Serialize(worker)));
        var snapshot = new Snapshot(new SnapshotMetadata(1, 1, new ConfState([1], [])), StoreCodec.EncodeState(StoreState.Empty));
        var now = TestNodes.T0.AddHours(5);

        var (id, changes, proposedAt) = StoreCodec.DecodeProposal(old);
        var (state, index, _) = StoreCodec.ReplayCommitted(snapshot, [new Entry(2, 1, EntryType.Normal, old)], 2, now);

        Assert.Equal(("p1", (DateTimeOffset?)null), (id, proposedAt));
        Assert.Equal("w1", Assert.IsType<CreateObject>(Assert.Single(changes)).Id);
        Assert.Equal(2UL, index);
        Assert.Equal(new ObjectMeta(2, now, now), state.Get<NodeObject>("w1")!.Meta);
    }

    [Fact]
    public void Force_New_Cluster_Keeps_The_Times_The_Objects_Were_Written_At()
    {
        var path = _dir.File("raft.db");
        var written = TestNodes.T0.AddMinutes(7);
        RaftBootstrap.Create(path, _sealer, "swarm-a", 11, [TestNodes.Cluster("swarm-a"), TestNodes.Manager("m1")], TestNodes.T0);
        using (var file = new RaftLogFile(path, _sealer))
        {
            file.Save(null, [new Entry(2, 1, EntryType.Normal, StoreCodec.EncodeProposal("p1", [StoreChange.Create(TestNodes.Worker("w1"))], written))], new HardState(1, 11, 2));
        }

        var kept = RaftBootstrap.ForceNewCluster(path, _sealer, "swarm-a", 11, TestNodes.T0.AddDays(1));

        Assert.Equal(new ObjectMeta(2, written, written), kept.Get<NodeObject>("w1")!.Meta);
        Assert.Equal(new ObjectMeta(1, TestNodes.T0, TestNodes.T0), kept.Get<NodeObject>("m1")!.Meta);
    }

    /// <summary>A proposal as the code before the time travelled in it wrote it: [id, changes], no third field.</summary>
    private static byte[] OldFormatProposal(string proposalId, params WireChange[] changes)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write(proposalId);
        writer.WriteArrayHeader(changes.Length);
        foreach (var change in changes)
        {
            writer.WriteRaw(ContractRegistry.SerializeTyped(change));
        }

        writer.Flush();
        return output.WrittenSpan.ToArray();
    }
}
