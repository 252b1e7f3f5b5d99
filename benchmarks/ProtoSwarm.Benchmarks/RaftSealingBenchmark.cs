using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// What encryption at rest costs the Raft file: one Ready per operation (entries each holding a
/// one-node proposal, plus the hard state) in ONE transaction with fsync on, sealed against in
/// clear, same disk, same run; and a snapshot of a 2,000-node store written both ways.
/// </summary>
public static class RaftSealingBenchmark
{
    public static async Task<List<Harness.Result>> RunAsync(TimeSpan duration, int[] entriesPerReady)
    {
        var results = new List<Harness.Result>();
        var dir = Directory.CreateTempSubdirectory("protoswarm-bench-seal");
        using var dataKey = DataKey.Generate();
        using var sealer = new Sealer(dataKey);
        try
        {
            foreach (var batch in entriesPerReady)
            {
                results.Add(await ReadiesAsync(Path.Combine(dir.FullName, $"clear-{batch}.db"), null, batch, duration));
                results.Add(await ReadiesAsync(Path.Combine(dir.FullName, $"sealed-{batch}.db"), sealer, batch, duration));
            }

            // Several different snapshots in turn: SQLite skips rewriting a row whose bytes did not
            // change, which would flatter the clear file (a sealed one differs on every write).
            var snapshots = Enumerable.Range(0, 4).Select(i => LargeSnapshot(2_000, $"s{i}")).ToArray();
            results.Add(await SnapshotsAsync(Path.Combine(dir.FullName, "clear-snap.db"), null, snapshots, duration));
            results.Add(await SnapshotsAsync(Path.Combine(dir.FullName, "sealed-snap.db"), sealer, snapshots, duration));
            CpuOnly(sealer, snapshots[0]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }

        return results;
    }

    public static bool IsBaseline(Harness.Result result) => result.Name.StartsWith("clear", StringComparison.Ordinal);

    private static async Task<Harness.Result> ReadiesAsync(string path, Sealer? sealer, int batch, TimeSpan duration)
    {
        using var file = new RaftLogFile(path, sealer);
        ulong index = 0;
        var proposal = StoreCodec.EncodeProposal("p", [StoreChange.Create(Sample("n1"))], DateTimeOffset.UtcNow);
        var name = $"{(sealer is null ? "clear" : "sealed")}, {batch} entries per Ready ({proposal.Length} B each)";
        return await Harness.RunAsync(name, 1, duration, () =>
        {
            var entries = new Entry[batch];
            for (var i = 0; i < batch; i++)
            {
                entries[i] = new Entry(++index, 1, EntryType.Normal, proposal);
            }

            file.Save(null, entries, new HardState(1, 1, index));
            return Task.CompletedTask;
        });
    }

    private static async Task<Harness.Result> SnapshotsAsync(string path, Sealer? sealer, Snapshot[] snapshots, TimeSpan duration)
    {
        using var file = new RaftLogFile(path, sealer);
        var name = $"{(sealer is null ? "clear" : "sealed")}, snapshot of 2,000 nodes ({snapshots[0].Data.Length / 1024} KiB)";
        var turn = 0;
        return await Harness.RunAsync(name, 1, duration, () =>
        {
            var snapshot = snapshots[turn++ % snapshots.Length];
            file.SaveSnapshotAndCompact(snapshot, snapshot.Metadata.Index);
            return Task.CompletedTask;
        });
    }

    /// <summary>Sealing alone, no disk: what the ratios above are made of.</summary>
    private static void CpuOnly(Sealer sealer, Snapshot snapshot)
    {
        var proposal = StoreCodec.EncodeProposal("p", [StoreChange.Create(Sample("n1"))], DateTimeOffset.UtcNow);
        const int Entries = 200_000;
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < Entries; i++)
        {
            sealer.Seal(proposal, $"entry:{i}:1:0");
        }

        var perEntry = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / Entries;
        const int Snapshots = 200;
        start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < Snapshots; i++)
        {
            sealer.Seal(snapshot.Data, "snapshot:1:1");
        }

        var perSnapshot = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds / Snapshots;
        Console.WriteLine(FormattableString.Invariant($"Sealing alone, same run: {perEntry:0.00} µs per {proposal.Length} B entry, {perSnapshot:0.000} ms per {snapshot.Data.Length / 1024} KiB snapshot."));
    }

    private static Snapshot LargeSnapshot(int nodes, string prefix)
    {
        var changes = Enumerable.Range(0, nodes).Select(i => StoreChange.Create(Sample($"{prefix}-n{i:0000}"))).ToList();
        var state = StoreState.Empty.Apply(1, changes, DateTimeOffset.UtcNow, out _);
        return new Snapshot(new SnapshotMetadata(1, 1, new ConfState([1], [])), StoreCodec.EncodeState(state));
    }

    private static NodeObject Sample(string id) =>
        NodeCommands.NewNode(id, NodeRole.Worker, "10.0.0.1", 2377, new NodeDescription(id, "linux", "x86_64", 2_000_000_000, 1L << 34, "0.1.0"), DateTimeOffset.UtcNow, leader: false);
}
