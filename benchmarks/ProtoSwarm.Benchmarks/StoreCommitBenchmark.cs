using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// The manager store's write path with fsync on (WAL, synchronous=FULL): the group-committing
/// proposer against the baseline of one transaction (one fsync) per write, same disk, same run.
/// </summary>
public static class StoreCommitBenchmark
{
    public static async Task<List<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies)
    {
        var results = new List<Harness.Result>();
        var dir = Directory.CreateTempSubdirectory("protoswarm-bench-store");
        try
        {
            foreach (var concurrency in concurrencies)
            {
                results.Add(await BaselineAsync(Path.Combine(dir.FullName, $"baseline-{concurrency}.db"), concurrency, duration));
                results.Add(await GroupCommitAsync(Path.Combine(dir.FullName, $"group-{concurrency}.db"), concurrency, duration));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        return results;
    }

    private static async Task<Harness.Result> GroupCommitAsync(string path, int concurrency, TimeSpan duration)
    {
        var (_, proposer) = LocalProposer.Open(path, TimeProvider.System, NullLogger.Instance);
        await using (proposer)
        {
            var next = 0;
            return await Harness.RunAsync("group commit (LocalProposer)", concurrency, duration, async () =>
            {
                var id = $"n{Interlocked.Increment(ref next)}";
                await proposer.ProposeAsync([StoreChange.Create(Sample(id))]);
            });
        }
    }

    /// <summary>What a store without group commit does: every write its own transaction, serialised.</summary>
    private static async Task<Harness.Result> BaselineAsync(string path, int concurrency, TimeSpan duration)
    {
        using var file = new ObjectStoreFile(path);
        var gate = new SemaphoreSlim(1, 1);
        ulong index = 0;
        var next = 0;
        return await Harness.RunAsync("one transaction per write", concurrency, duration, async () =>
        {
            await gate.WaitAsync();
            try
            {
                index++;
                var node = Sample($"n{++next}");
                file.WriteBatch(index, [(NodeObject.StoreKind, node.Id, node)]);
            }
            finally
            {
                gate.Release();
            }
        });
    }

    private static NodeObject Sample(string id) =>
        NodeCommands.NewNode(id, NodeRole.Worker, "10.0.0.1", 2377, new NodeDescription(id, "linux", "x86_64", 2_000_000_000, 1L << 34, "0.1.0"), DateTimeOffset.UtcNow, leader: false);
}
