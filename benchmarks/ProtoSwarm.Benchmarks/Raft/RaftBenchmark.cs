using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// Committed writes through a 3-member Raft quorum with fsync on, N concurrent writers: ProtoSwarm's
/// managers against etcd from Debian as the baseline, same machine, same run. Every write puts a
/// 256-byte value under a key never written before and counts only once the quorum has committed it.
/// </summary>
public static class RaftBenchmark
{
    public const int ValueBytes = 256;

    /// <summary>Writers during the warm-up before the rows.</summary>
    public const int WarmupWriters = 16;

    /// <param name="keySpace">
    /// Null: every write goes to a key never written before (the store grows by one object a write).
    /// A number: writes overwrite keys of a fixed set of that size, as a swarm's state is a bounded set
    /// of objects rewritten over and over; both sides get the same key space.
    /// </param>
    /// <param name="startProtoSwarm">
    /// Starts ProtoSwarm's 3-manager quorum once, after etcd, for all rows; the quorum is disposed when
    /// the rows are done (or fail). Its write for N writers must complete only once a quorum of 3
    /// managers has committed it. Null: only the etcd rows are measured.
    /// </param>
    /// <param name="warmupTime">
    /// How long both systems are written to, with 16 writers and keys of their own, before the first row;
    /// not counted. Null: as long as a row.
    /// </param>
    public static async Task<IReadOnlyList<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies, Func<Task<IRaftQuorum>>? startProtoSwarm, int? keySpace = null, TimeSpan? warmupTime = null)
    {
        Console.WriteLine(keySpace is { } space
            ? $"Workload: each write overwrites one of {space} keys (a bounded store, rewritten), {ValueBytes}-byte values"
            : $"Workload: each write creates a key never written before (the store grows by one object a write), {ValueBytes}-byte values");
        // Measured before and after the rows: on a shared disk it moves by an order of magnitude within a minute.
        var fsyncBefore = FsyncProbe.MeanMilliseconds(500);

        var warmup = warmupTime ?? duration;
        var results = new List<Harness.Result>();
        await using (var etcd = await EtcdCluster.StartAsync(members: 3))
        {
            var leader = await etcd.LeaderClientUrlAsync();
            Console.WriteLine($"etcd {etcd.Version}: {etcd.Members.Count} members on 127.0.0.1 ({string.Join(", ", etcd.Members.Select(m => m.ClientUrl))}), data under {Path.GetTempPath()}, writes sent to the leader {leader}");
            await using var protoSwarm = startProtoSwarm is null ? null : await startProtoSwarm();
            if (protoSwarm is not null)
            {
                Console.WriteLine(protoSwarm.Description);
            }

            // Both systems warm up before the first row, unmeasured: the writers' processes (etcd's .NET
            // driver as much as ProtoSwarm's client) and the managers compile their code on first use,
            // and without this the first row (one writer) measured that instead of a cluster that runs.
            var etcdWarm = await EtcdRowAsync(etcd.Version, leader, WarmupWriters, warmup, keySpace, "warmup");
            var protoSwarmWarm = protoSwarm is null ? null : await Harness.RunAsync(protoSwarm.Name, WarmupWriters, warmup, protoSwarm.Writer("warmup", keySpace), TimeSpan.Zero);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Warm-up, not counted: {WarmupWriters} writers for {warmup.TotalSeconds:0.#} s, etcd {etcdWarm.PerSecond:N0} writes/s, ProtoSwarm {protoSwarmWarm?.PerSecond.ToString("N0", CultureInfo.InvariantCulture) ?? "-"} writes/s"));

            foreach (var concurrency in concurrencies)
            {
                var etcdCpu = etcd.MembersCpu();
                var etcdRow = await WithProcessCostAsync(() => EtcdRowAsync(etcd.Version, leader, concurrency, duration, keySpace, concurrency.ToString(CultureInfo.InvariantCulture)));
                results.Add(etcdRow);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  the 3 etcd members: {PerWriteMicroseconds(etcd.MembersCpu() - etcdCpu, etcdRow):N0} us CPU per write (all three)"));
                if (protoSwarm is not null)
                {
                    var members = protoSwarm is ProtoSwarmProcessQuorum processes ? await processes.CostAsync() : null;
                    var row = await WithProcessCostAsync(() => Harness.RunAsync(protoSwarm.Name, concurrency, duration, protoSwarm.Writer(concurrency.ToString(CultureInfo.InvariantCulture), keySpace)));
                    results.Add(row);
                    if (members is not null)
                    {
                        PrintMembersCost(row, members, await ((ProtoSwarmProcessQuorum)protoSwarm).CostAsync());
                    }
                }
            }

            if (protoSwarm is not null)
            {
                Console.WriteLine(protoSwarm.Summary);
            }
        }

        var fsyncAfter = FsyncProbe.MeanMilliseconds(500);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"One synchronous 4 KiB write (write + fsync) on this disk, same run: {fsyncBefore:0.000} ms mean before the rows, {fsyncAfter:0.000} ms after"));
        Harness.Print("Raft quorum: committed writes, 3 members, fsync on", results,
            r => results.First(b => b.Concurrency == r.Concurrency && b.Name.StartsWith("etcd", StringComparison.Ordinal)));
        if (startProtoSwarm is null)
        {
            Console.WriteLine();
            Console.WriteLine("**ProtoSwarm rows: NOT MEASURED YET** (no ProtoSwarm quorum was given). The rows above are the etcd baseline only.");
        }

        return results;
    }

    /// <summary>
    /// Prints what a row cost this process: bytes allocated per write, the time the GC paused it, and CPU time per write.
    /// etcd's rows count only its driver (the members are processes of their own); ProtoSwarm's count
    /// the client, and the managers too when they run in this process. Warm-up writes are included.
    /// </summary>
    private static async Task<Harness.Result> WithProcessCostAsync(Func<Task<Harness.Result>> row)
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        var paused = GC.GetTotalPauseDuration();
        var collections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var cpu = Environment.CpuUsage.TotalTime;
        var result = await row();
        var cpuPerWrite = PerWriteMicroseconds(Environment.CpuUsage.TotalTime - cpu, result);
        var perWrite = (GC.GetTotalAllocatedBytes(precise: false) - allocated) / (double)Math.Max(1, result.Operations);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Name}, {result.Concurrency} writers: {result.PerSecond:N0} writes/s, {perWrite / 1024:0.0} KiB allocated per write, GC paused {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:N0} ms of {result.Seconds:0.0} s (gen0/1/2 collections {GC.CollectionCount(0) - collections.Item1}/{GC.CollectionCount(1) - collections.Item2}/{GC.CollectionCount(2) - collections.Item3}), {cpuPerWrite:N0} us CPU per write"));
        return result;
    }

    /// <summary>What a row cost the three manager processes (the line above it covers only the writers' process).</summary>
    private static void PrintMembersCost(Harness.Result row, ProtoSwarmProcessQuorum.MembersCost before, ProtoSwarmProcessQuorum.MembersCost after)
    {
        var perWrite = (after.Allocated - before.Allocated) / (double)Math.Max(1, row.Operations);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  the 3 manager processes: {perWrite / 1024:0.0} KiB allocated per write (all three), GC paused {(after.Paused - before.Paused).TotalMilliseconds:N0} ms summed over the three (gen0/1/2 collections {after.Gen0 - before.Gen0}/{after.Gen1 - before.Gen1}/{after.Gen2 - before.Gen2}), {PerWriteMicroseconds(after.Cpu - before.Cpu, row):N0} us CPU per write (all three)"));
    }

    /// <summary>
    /// CPU time per committed write, what issue 3 asks to cut. On a shared machine it moves with the
    /// other load too (etcd's own moved by a quarter between runs minutes apart), so compare it
    /// within a run, or over several runs.
    /// </summary>
    private static double PerWriteMicroseconds(TimeSpan cpu, Harness.Result row) => cpu.TotalMicroseconds / Math.Max(1, row.Operations);

    private static async Task<Harness.Result> EtcdRowAsync(string version, string leaderUrl, int concurrency, TimeSpan duration, int? keySpace, string row)
    {
        // One client, so one HTTP/2 connection with up to `concurrency` streams: etcd allows 2^32-1 per connection.
        using var client = EtcdCluster.Connect(leaderUrl);
        var bytes = new byte[ValueBytes];
        new Random(42).NextBytes(bytes);
        var value = ByteString.CopyFrom(bytes);
        var prefix = $"bench/{row}/";
        long next = 0;
        return await Harness.RunAsync($"etcd {version} (dotnet-etcd, to the leader)", concurrency, duration, async () =>
        {
            var n = Interlocked.Increment(ref next);
            var key = ByteString.CopyFromUtf8(prefix + (keySpace is { } space ? n % space : n).ToString(CultureInfo.InvariantCulture));
            await client.PutAsync(new PutRequest { Key = key, Value = value });
        });
    }
}

/// <summary>A Raft quorum under test: the write it is measured with, and its lifetime.</summary>
public interface IRaftQuorum : IAsyncDisposable
{
    /// <summary>The row's name in the table.</summary>
    string Name { get; }

    /// <summary>One line on how the quorum runs, printed before the rows.</summary>
    string Description { get; }

    /// <summary>
    /// The write for one row (<paramref name="row"/> names its keys, so that no two rows share one); it
    /// completes once a quorum has committed it. With a key space, it overwrites one of that many keys
    /// instead of creating a new one.
    /// </summary>
    Func<Task> Writer(string row, int? keySpace);

    /// <summary>One line printed after the rows (e.g. how many writes had to be retried).</summary>
    string Summary { get; }
}
