using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Store;

public sealed class LocalProposerTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string StorePath => _dir.File("store.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Many_Concurrent_Proposals_All_Commit_With_Distinct_Increasing_Indexes()
    {
        const int count = 300;
        var (store, proposer) = Open();
        await using (proposer)
        {
            var proposals = Enumerable.Range(0, count)
                .Select(i => Task.Run(() => proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"n{i:000}"))])))
                .ToList();
            var indexes = await Task.WhenAll(proposals).WaitAsync(TestTimeout.Span);

            Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), indexes.Order());
            Assert.Equal((ulong)count, store.Current.Index);
            Assert.Equal(count, store.Current.List<NodeObject>().Count());
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(indexes[i], store.Current.Get<NodeObject>($"n{i:000}")!.Meta.Version);
            }
        }
    }

    [Fact]
    public async Task A_Stale_Proposal_In_A_Batch_Is_Refused_While_The_Others_Commit()
    {
        var (store, proposer) = Open();
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("a"))]);
            var a = store.Current.Get<NodeObject>("a")!;

            // Queued together, without waiting: the writer takes them as one batch.
            var before = Enumerable.Range(0, 20).Select(i => proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"b{i}"))])).ToList();
            var stale = proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("stale-part")), StoreChange.Update(a with { Meta = a.Meta with { Version = 99 } })]);
            var after = Enumerable.Range(0, 20).Select(i => proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"c{i}"))])).ToList();

            await Assert.ThrowsAsync<StoreConflictException>(() => stale.WaitAsync(TestTimeout.Span));
            var committed = await Task.WhenAll(before.Concat(after)).WaitAsync(TestTimeout.Span);

            Assert.Equal(committed.Length, committed.Distinct().Count());
            Assert.Equal(41UL, store.Current.Index);
            Assert.Null(store.Current.Get<NodeObject>("stale-part"));
            Assert.Equal(1UL, store.Current.Get<NodeObject>("a")!.Meta.Version);
            Assert.Equal(41, store.Current.List<NodeObject>().Count());
        }
    }

    [Fact]
    public async Task Reopening_The_File_Restores_Every_Object_With_Its_Version_And_The_Index()
    {
        StoreState written;
        var (store, proposer) = Open();
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(TestNodes.Cluster()), StoreChange.Create(TestNodes.Worker("a")), StoreChange.Create(TestNodes.Worker("b"))]);
            var a = store.Current.Get<NodeObject>("a")!;
            await proposer.ProposeAsync([StoreChange.Update(a.WithLabels(("zone", "east")))]);
            await proposer.ProposeAsync([StoreChange.Delete(store.Current.Get<NodeObject>("b")!)]);
            await proposer.ProposeAsync([StoreChange.Create(TestNodes.Manager("m"))]);
            written = store.Current;
        }

        var (reopened, again) = Open();
        await using (again)
        {
            Assert.Equal(4UL, reopened.Current.Index);
            Assert.Equal(Json(written.All()), Json(reopened.Current.All()));
            Assert.Equal(2UL, reopened.Current.Get<NodeObject>("a")!.Meta.Version);
            Assert.Equal("east", reopened.Current.Get<NodeObject>("a")!.Spec.Labels["zone"]);
            Assert.Null(reopened.Current.Get<NodeObject>("b"));

            // The reopened store goes on from its index.
            Assert.Equal(5UL, await again.ProposeAsync([StoreChange.Create(TestNodes.Worker("c"))]));
        }
    }

    [Fact]
    public async Task A_Proposal_After_Dispose_Is_Refused()
    {
        var (_, proposer) = Open();
        await proposer.DisposeAsync();

        // Refused on the spot, not as a faulted task: nothing was queued.
        Assert.Throws<ObjectDisposedException>(() => { _ = proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("a"))]); });
    }

    [Fact]
    public void A_Store_File_Of_Garbage_Is_Refused_With_What_To_Do()
    {
        var garbage = new byte[8192];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(StorePath, garbage);

        var e = Assert.Throws<PersistenceException>(() => Open());

        Assert.Contains(StorePath, e.Message, StringComparison.Ordinal);
        Assert.Contains("restore it from a backup", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Store_File_With_An_Unreadable_Object_Is_Refused_With_What_To_Do()
    {
        var (_, proposer) = Open();
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("a"))]);
        }

        using (var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE objects SET payload = x'deadbeef' WHERE id = 'a'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var e = Assert.Throws<PersistenceException>(() => Open());

        Assert.Contains("node/a", e.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);
    }

    private (SwarmStore Store, LocalProposer Proposer) Open() => LocalProposer.Open(StorePath, TimeProvider.System, NullLogger.Instance);

    private static string Json(IEnumerable<IStoreObject> objects) =>
        JsonSerializer.Serialize(objects.OrderBy(o => o.Kind, StringComparer.Ordinal).ThenBy(o => o.Id, StringComparer.Ordinal).Cast<object>());
}
