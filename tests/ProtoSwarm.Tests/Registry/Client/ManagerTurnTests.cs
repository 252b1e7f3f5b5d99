using System.Collections.Concurrent;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Client;
using ProtoSwarm.Registry.Server;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>
/// Which manager each request of a push or pull goes to. Every manager's registry reads its own replica of the
/// metadata, so a push must not put its manifest on a follower that has not applied the blob links the leader
/// just wrote: a push (or pull) stays on one manager, and only a retry moves it on.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class ManagerTurnTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-turn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void First_Attempts_Stay_On_The_Same_Manager_And_A_Retry_Moves_On_For_Good()
    {
        var turn = new ManagerTurn();

        Assert.Equal([0, 0, 0], new[] { turn.Pick(1, 3), turn.Pick(1, 3), turn.Pick(1, 3) });
        Assert.Equal(1, turn.Pick(2, 3));
        Assert.Equal([1, 1], new[] { turn.Pick(1, 3), turn.Pick(1, 3) });
        Assert.Equal(2, turn.Pick(2, 3));
        Assert.Equal(0, turn.Pick(3, 3));
        Assert.Equal(0, turn.Pick(1, 1));
    }

    [Fact]
    public async Task A_Push_And_A_Pull_Through_The_Turn_Pass_Although_A_Follower_Has_Not_Applied_The_Leaders_Writes()
    {
        var shared = new InMemoryRegistryMetadata();
        await using var leader = await TestRegistry.StartAsync(shared);
        await using var follower = await TestRegistry.StartAsync(new UnappliedReplica(shared));
        var managers = new[] { Client(leader), Client(follower) };
        using var source = new ImageStore(Path.Combine(_dir, "source"));
        using var target = new ImageStore(Path.Combine(_dir, "target"));
        var loaded = Assert.Single(await source.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));

        var pushTurn = new ManagerTurn();
        var pushed = await new ImagePusher(source, attempt => managers[pushTurn.Pick(attempt, managers.Length)]).PushAsync("app:v1", "test/app", "v1");
        var pullTurn = new ManagerTurn();
        var pulled = await new ImagePuller(target, attempt => managers[pullTurn.Pick(attempt, managers.Length)]).PullAsync(ImageReference.Parse("test/app:v1"));

        Assert.Equal(loaded.ManifestDigest, pushed.Digest);
        Assert.Equal(loaded.Id, pulled.Image.Id);
        Assert.Null(await follower.Metadata.GetAsync("test/app", CancellationToken.None));
    }

    private static RegistryClient Client(TestRegistry registry) => new(registry.NewClient("push", TestRegistry.PushToken), registry.Host.BaseAddress);

    /// <summary>
    /// A follower that has applied none of the other managers' writes yet (only its own, as the Raft store's
    /// proposer answers once this replica applied them): the lag a push meets on a real swarm for a moment.
    /// </summary>
    private sealed class UnappliedReplica(IRegistryMetadata shared) : IRegistryMetadata
    {
        private readonly ConcurrentDictionary<string, RepositoryObject?> _applied = new(StringComparer.Ordinal);

        public ValueTask<RepositoryObject?> GetAsync(string repository, CancellationToken ct) => ValueTask.FromResult(_applied.GetValueOrDefault(repository));

        public ValueTask<IReadOnlyList<string>> RepositoriesAsync(CancellationToken ct) =>
            ValueTask.FromResult<IReadOnlyList<string>>([.. _applied.Where(r => r.Value is not null).Select(r => r.Key).Order(StringComparer.Ordinal)]);

        public async ValueTask<RepositoryObject?> UpdateAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct)
        {
            var stored = await shared.UpdateAsync(repository, change, ct);
            _applied[repository] = stored;
            return stored;
        }
    }
}
