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

    /// <param name="protoSwarmWriterFactory">
    /// Called once per concurrency, before that row, with the number of concurrent writers; returns the
    /// write to measure, which must complete only once the write is committed by a quorum of 3 managers.
    /// The factory owns the cluster behind the write. Null until ProtoSwarm's Raft exists: only the etcd
    /// rows are measured then.
    /// </param>
    public static async Task<IReadOnlyList<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies, Func<int, Task<Func<Task>>>? protoSwarmWriterFactory)
    {
        // Measured before and after the rows: on a shared disk it moves by an order of magnitude within a minute.
        var fsyncBefore = FsyncProbe.MeanMilliseconds(500);

        var results = new List<Harness.Result>();
        await using (var etcd = await EtcdCluster.StartAsync(members: 3))
        {
            var leader = await etcd.LeaderClientUrlAsync();
            Console.WriteLine($"etcd {etcd.Version}: {etcd.Members.Count} members on 127.0.0.1 ({string.Join(", ", etcd.Members.Select(m => m.ClientUrl))}), data under {Path.GetTempPath()}, writes sent to the leader {leader}");
            foreach (var concurrency in concurrencies)
            {
                results.Add(await EtcdRowAsync(etcd.Version, leader, concurrency, duration));
                if (protoSwarmWriterFactory is not null)
                {
                    var write = await protoSwarmWriterFactory(concurrency);
                    results.Add(await Harness.RunAsync("ProtoSwarm Raft, 3 managers", concurrency, duration, write));
                }
            }
        }

        var fsyncAfter = FsyncProbe.MeanMilliseconds(500);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"One synchronous 4 KiB write (write + fsync) on this disk, same run: {fsyncBefore:0.000} ms mean before the rows, {fsyncAfter:0.000} ms after"));
        Harness.Print("Raft quorum: committed writes, 3 members, fsync on", results,
            r => results.First(b => b.Concurrency == r.Concurrency && b.Name.StartsWith("etcd", StringComparison.Ordinal)));
        if (protoSwarmWriterFactory is null)
        {
            Console.WriteLine();
            Console.WriteLine("**ProtoSwarm rows: NOT MEASURED YET** (no ProtoSwarm write function was given: the Raft actor has not landed). The rows above are the etcd baseline only.");
        }

        return results;
    }

    private static async Task<Harness.Result> EtcdRowAsync(string version, string leaderUrl, int concurrency, TimeSpan duration)
    {
        // One client, so one HTTP/2 connection with up to `concurrency` streams: etcd allows 2^32-1 per connection.
        using var client = EtcdCluster.Connect(leaderUrl);
        var bytes = new byte[ValueBytes];
        new Random(42).NextBytes(bytes);
        var value = ByteString.CopyFrom(bytes);
        var prefix = $"bench/{concurrency}/";
        long next = 0;
        return await Harness.RunAsync($"etcd {version} (dotnet-etcd, to the leader)", concurrency, duration, async () =>
        {
            var key = ByteString.CopyFromUtf8(prefix + Interlocked.Increment(ref next).ToString(CultureInfo.InvariantCulture));
            await client.PutAsync(new PutRequest { Key = key, Value = value });
        });
    }
}
