using System.Collections.Immutable;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Server;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Registry;

/// <summary>The registry's metadata on the managers' store, over the single-manager proposer and a store in a temp file.</summary>
public sealed class StoreRegistryMetadataTests : IAsyncLifetime
{
    private const string Busybox = "library/busybox";
    private static readonly string DigestA = "sha256:" + new string('a', 64);
    private static readonly string DigestB = "sha256:" + new string('b', 64);

    private readonly TempDir _dir = new();
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private StoreRegistryMetadata _metadata = null!;

    public Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        _metadata = new StoreRegistryMetadata(_store, _proposer);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task An_Update_Of_A_Missing_Repository_Creates_It_Under_Its_Path_And_Returns_It_As_Stored()
    {
        var stored = await _metadata.UpdateAsync(Busybox, current => Tagged(current, "latest", DigestA) with { Id = "ignored" }, TestTimeout.Token);

        var read = await _metadata.GetAsync(Busybox, TestTimeout.Token);
        Assert.NotNull(read);
        Assert.Equal(Busybox, read.Id);
        Assert.Equal(DigestA, read.Tags["latest"]);
        Assert.Equal(_store.Current.Index, read.Meta.Version);
        Assert.Same(read, stored);
    }

    [Fact]
    public async Task An_Update_Writes_Over_The_Version_Read_And_Repositories_Are_Listed_Sorted()
    {
        await _metadata.UpdateAsync("me/web", c => Tagged(c, "1", DigestA), TestTimeout.Token);
        await _metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestA), TestTimeout.Token);
        var first = _store.Current.Get<RepositoryObject>(Busybox)!;

        var second = await _metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestB), TestTimeout.Token);

        Assert.Equal(DigestB, second!.Tags["latest"]);
        Assert.True(second.Meta.Version > first.Meta.Version);
        Assert.Equal(first.Meta.CreatedAt, second.Meta.CreatedAt);
        Assert.Equal([Busybox, "me/web"], await _metadata.RepositoriesAsync(TestTimeout.Token));
    }

    [Fact]
    public async Task A_Change_Returning_Null_Deletes_The_Repository_And_Nothing_Is_Written_For_A_Missing_One()
    {
        await _metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestA), TestTimeout.Token);

        Assert.Null(await _metadata.UpdateAsync(Busybox, _ => null, TestTimeout.Token));
        var index = _store.Current.Index;
        Assert.Null(await _metadata.UpdateAsync(Busybox, _ => null, TestTimeout.Token));

        Assert.Null(await _metadata.GetAsync(Busybox, TestTimeout.Token));
        Assert.Equal(index, _store.Current.Index);
        Assert.Empty(await _metadata.RepositoriesAsync(TestTimeout.Token));
    }

    [Fact]
    public async Task A_Change_That_Changes_Nothing_Writes_Nothing()
    {
        await _metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestA), TestTimeout.Token);
        var index = _store.Current.Index;

        var same = await _metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestA), TestTimeout.Token);

        Assert.Equal(index, _store.Current.Index);
        Assert.Equal(index, same!.Meta.Version);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_Concurrent_Updates_Of_One_Repository_Both_Land(bool repositoryExists)
    {
        if (repositoryExists)
        {
            await _metadata.UpdateAsync(Busybox, c => Tagged(c, "old", DigestA), TestTimeout.Token);
        }

        // Both changes read the same version before either writes: one of them must lose and be decided again.
        // Two registries over one store, as two managers' are (one manager's own changes of a repository wait for each other).
        var other = new StoreRegistryMetadata(_store, _proposer);
        using var bothRead = new Barrier(2);
        var calls = new int[2];
        Func<RepositoryObject?, RepositoryObject?> Change(int who, string tag) => current =>
        {
            if (Interlocked.Increment(ref calls[who]) == 1)
            {
                Assert.True(bothRead.SignalAndWait(TestTimeout.Span), "both changes read the repository");
            }

            return Tagged(current, tag, who == 0 ? DigestA : DigestB);
        };

        await Task.WhenAll(
            Task.Run(async () => await _metadata.UpdateAsync(Busybox, Change(0, "one"), TestTimeout.Token)),
            Task.Run(async () => await other.UpdateAsync(Busybox, Change(1, "two"), TestTimeout.Token))).WaitAsync(TestTimeout.Span);

        var stored = _store.Current.Get<RepositoryObject>(Busybox)!;
        Assert.Equal(DigestA, stored.Tags["one"]);
        Assert.Equal(DigestB, stored.Tags["two"]);
        Assert.Equal(3, calls[0] + calls[1]); // the loser decided again on the winner's object
    }

    [Fact]
    public async Task Many_Concurrent_Blob_Links_To_One_Repository_All_Land()
    {
        const int uploads = 8;
        await Task.WhenAll(Enumerable.Range(0, uploads).Select(i => Task.Run(async () =>
            await _metadata.UpdateAsync(Busybox, c => (c ?? RepositoryObject.Empty(Busybox, DateTimeOffset.UnixEpoch)) with
            {
                Blobs = (c?.Blobs ?? RepositoryObject.Empty(Busybox, DateTimeOffset.UnixEpoch).Blobs).SetItem($"sha256:{i:x64}", 100 + i),
            }, TestTimeout.Token)))).WaitAsync(TestTimeout.Span);

        Assert.Equal(uploads, _store.Current.Get<RepositoryObject>(Busybox)!.Blobs.Count);
    }

    [Fact]
    public async Task One_Registrys_Concurrent_Changes_Of_A_Repository_Are_Made_One_At_A_Time_And_Never_Refuse_Each_Other()
    {
        // More concurrent tags than a change has attempts: were they decided together, some could lose every round.
        var inside = 0;
        var most = 0;
        var decided = 0;
        await Task.WhenAll(Enumerable.Range(0, StoreRegistryMetadata.MaxAttempts + 6).Select(i => Task.Run(async () =>
            await _metadata.UpdateAsync(Busybox, c =>
            {
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref most, now);
                Interlocked.Increment(ref decided);
                Thread.Sleep(2);
                Interlocked.Decrement(ref inside);
                return Tagged(c, $"t{i:00}", $"sha256:{i:x64}");
            }, TestTimeout.Token)))).WaitAsync(TestTimeout.Span);

        Assert.Equal(StoreRegistryMetadata.MaxAttempts + 6, _store.Current.Get<RepositoryObject>(Busybox)!.Tags.Count);
        Assert.Equal(1, most);
        Assert.Equal(StoreRegistryMetadata.MaxAttempts + 6, decided); // each decided once: none refused
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task A_Repository_That_Keeps_Changing_Fails_With_A_Conflict_After_A_Few_Attempts()
    {
        var stale = new AlwaysStale();
        var metadata = new StoreRegistryMetadata(new SwarmStore(StoreState.Empty), stale);

        var error = await Assert.ThrowsAsync<StoreConflictException>(async () =>
            await metadata.UpdateAsync(Busybox, c => Tagged(c, "latest", DigestA), TestTimeout.Token));

        Assert.Equal(StoreRegistryMetadata.MaxAttempts, stale.Attempts);
        Assert.Contains($"Repository {Busybox} kept changing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Change_That_Throws_Writes_Nothing_And_The_Error_Reaches_The_Caller()
    {
        var index = _store.Current.Index;

        await Assert.ThrowsAsync<InvalidDataException>(async () =>
            await _metadata.UpdateAsync(Busybox, _ => throw new InvalidDataException("manifest refers to an unknown blob"), TestTimeout.Token));

        Assert.Equal(index, _store.Current.Index);
    }

    [Fact]
    public async Task A_Repository_Stored_Before_Link_Times_Loads_With_None_And_Link_Times_Survive_The_Store()
    {
        var meta = ObjectMeta.New(DateTimeOffset.UnixEpoch);
        var blobs = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(DigestA, 10L)]);
        var old = MessagePackSerializer.Serialize(new RepositoryBeforeLinkTimes(Busybox, meta,
            ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal), ImmutableSortedDictionary.Create<string, RegistryManifest>(StringComparer.Ordinal), blobs), ContractRegistry.Options);

        var loaded = MessagePackSerializer.Deserialize<RepositoryObject>(old, ContractRegistry.Options);

        Assert.Equal(10, loaded.Blobs[DigestA]);
        Assert.Empty(loaded.LinkedAt);
        Assert.Equal(DateTimeOffset.MinValue, GarbagePlanner.LinkedAt(loaded, DigestA));

        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await _metadata.UpdateAsync(Busybox, _ => loaded with { LinkedAt = loaded.LinkedAt.SetItem(DigestA, at) }, TestTimeout.Token);
        var copy = MessagePackSerializer.Deserialize<RepositoryObject>(SpecEquality.Bytes(_store.Current.Get<RepositoryObject>(Busybox)!), ContractRegistry.Options);
        Assert.Equal(at, copy.LinkedAt[DigestA]);
    }

    [Fact]
    public async Task A_Collection_Racing_A_New_Link_Of_The_Same_Blob_Never_Loses_The_Link()
    {
        var now = DateTimeOffset.UtcNow;
        await _metadata.UpdateAsync(Busybox, c => RepositoryObject.Empty(Busybox, now) with { Blobs = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(DigestA, 10L)]) }, TestTimeout.Token);

        // The collection and a push that uploads the blob again (through another manager's registry: one manager's
        // own changes of a repository wait for each other) read the same version; one loses and decides again.
        var other = new StoreRegistryMetadata(_store, _proposer);
        using var bothRead = new Barrier(2);
        var calls = new int[2];
        void FirstRead(int who)
        {
            if (Interlocked.Increment(ref calls[who]) == 1)
            {
                Assert.True(bothRead.SignalAndWait(TestTimeout.Span), "both changes read the repository");
            }
        }

        await Task.WhenAll(
            Task.Run(async () => await _metadata.UpdateAsync(Busybox, c =>
            {
                FirstRead(0);
                return GarbagePlanner.Apply(c!, GarbagePlanner.Plan(c!, now, TimeSpan.FromHours(1), deleteUntagged: false));
            }, TestTimeout.Token)),
            Task.Run(async () => await other.UpdateAsync(Busybox, c =>
            {
                FirstRead(1);
                return c! with { Blobs = c.Blobs.SetItem(DigestA, 10), LinkedAt = c.LinkedAt.SetItem(DigestA, now) };
            }, TestTimeout.Token))).WaitAsync(TestTimeout.Span);

        var stored = _store.Current.Get<RepositoryObject>(Busybox)!;
        Assert.Equal(10, stored.Blobs[DigestA]);
        Assert.Equal(now, stored.LinkedAt[DigestA]);
        Assert.Equal(3, calls[0] + calls[1]);
    }

    [Fact]
    public async Task A_Collection_Writes_Once_Per_Repository_With_Garbage_And_Keeps_A_Blob_Linked_Within_The_Grace()
    {
        var now = DateTimeOffset.UtcNow;
        await _metadata.UpdateAsync("me/clean", c => RepositoryObject.Empty("me/clean", now), TestTimeout.Token);
        await _metadata.UpdateAsync(Busybox, c => RepositoryObject.Empty(Busybox, now) with
        {
            Blobs = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(DigestA, 10L), KeyValuePair.Create(DigestB, 20L)]),
            LinkedAt = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(DigestB, now - TimeSpan.FromMinutes(10))]), // a push under way
        }, TestTimeout.Token);
        using var server = new RegistryServer(_dir.File("registry"), _metadata, new BasicAuthorizer(() => "p", () => "q"), null, NullLogger.Instance);
        var index = _store.Current.Index;

        var (removed, _, _) = await server.CollectGarbageAsync(dryRun: false, deleteUntagged: false, TimeSpan.FromHours(1), TestTimeout.Token);

        Assert.Equal(index + 1, _store.Current.Index);
        var busybox = Assert.Single(removed);
        Assert.Equal(Busybox, busybox.Repository);
        Assert.Equal([DigestA], busybox.Blobs.Keys);
        Assert.Equal([DigestB], _store.Current.Get<RepositoryObject>(Busybox)!.Blobs.Keys);
    }

    internal static RepositoryObject Tagged(RepositoryObject? current, string tag, string digest)
    {
        var repository = current ?? RepositoryObject.Empty(Busybox, DateTimeOffset.UnixEpoch);
        return repository with { Tags = repository.Tags.SetItem(tag, digest) };
    }

    private sealed class AlwaysStale : IProposer
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
        {
            Interlocked.Increment(ref _attempts);
            return Task.FromException<ulong>(new StoreConflictException("changed since it was read"));
        }
    }
}

/// <summary>A repository as it was stored before link times were recorded (keys 0-4).</summary>
[MessagePackObject]
public sealed record RepositoryBeforeLinkTimes(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] ImmutableSortedDictionary<string, string> Tags,
    [property: Key(3)] ImmutableSortedDictionary<string, RegistryManifest> Manifests,
    [property: Key(4)] ImmutableSortedDictionary<string, long> Blobs);
