using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// The registry's metadata in the managers' Raft store, so every manager sees every push and a tag moves
/// atomically. Reads are this manager's replica (<see cref="SwarmStore.Current"/>): on a follower they may
/// trail the leader by the replication delay. Writes go through the store's proposer as a create, update
/// or delete with the version read; on a follower the Raft core forwards the proposal to the leader, so
/// any manager's registry may write. A write refused because the repository changed meanwhile is decided
/// again on the newer object (the proposer answers only once this replica has applied the write's index,
/// so the next read sees what came first), up to <see cref="MaxAttempts"/> times. The changes this manager
/// makes to one repository are made one at a time (a lock per stripe of repository names): they would only
/// refuse each other, and a dozen concurrent tags of one image pushed here could lose more rounds than there
/// are attempts; what is left to decide again is a change made on another manager meanwhile.
/// </summary>
/// <remarks>
/// Errors the caller sees: <see cref="StoreConflictException"/> when the repository kept changing through
/// every attempt (too many concurrent pushes to it; the client may retry), and the proposer's own when
/// nothing can be committed (no leader or no quorum: an <see cref="InvalidOperationException"/>, such as
/// the Raft proposer's StoreUnavailableException), which the server answers as unavailable.
/// </remarks>
public sealed class StoreRegistryMetadata : IRegistryMetadata
{
    /// <summary>How many times a change is decided and proposed before a conflict is given up on.</summary>
    public const int MaxAttempts = 10;

    private const int Stripes = 64;

    private readonly SemaphoreSlim[] _writing = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly SwarmStore _store;
    private readonly IProposer _proposer;
    private readonly TimeProvider _time;

    public StoreRegistryMetadata(SwarmStore store, IProposer proposer, TimeProvider? time = null)
    {
        _store = store;
        _proposer = proposer;
        _time = time ?? TimeProvider.System;
    }

    public ValueTask<RepositoryObject?> GetAsync(string repository, CancellationToken ct) =>
        ValueTask.FromResult(_store.Current.Get<RepositoryObject>(repository));

    public ValueTask<IReadOnlyList<string>> RepositoriesAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _store.Current.List<RepositoryObject>().Select(r => r.Id).Order(StringComparer.Ordinal)]);

    private async Task WaitForNewerAsync(string repository, RepositoryObject? read, CancellationToken ct)
    {
        for (var i = 0; i < 100; i++)
        {
            var seen = _store.Current.Get<RepositoryObject>(repository);
            if ((seen is null) != (read is null) || (seen is not null && seen.Meta.Version != read!.Meta.Version))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(1), _time, ct).ConfigureAwait(false);
        }
    }

    public async ValueTask<RepositoryObject?> UpdateAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct)
    {
        var writing = _writing[(StringComparer.Ordinal.GetHashCode(repository) & int.MaxValue) % Stripes];
        await writing.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await DecideAndWriteAsync(repository, change, ct).ConfigureAwait(false);
        }
        finally
        {
            writing.Release();
        }
    }

    private async Task<RepositoryObject?> DecideAndWriteAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var current = _store.Current.Get<RepositoryObject>(repository);
            var next = change(current);
            StoreChange write;
            if (next is null)
            {
                if (current is null)
                {
                    return null;
                }

                write = StoreChange.Delete(current);
            }
            else
            {
                // The id is the repository's path whatever the change returned; the meta is the version read.
                next = next with { Id = repository, Meta = current?.Meta ?? ObjectMeta.New(_time.GetUtcNow()) };
                if (current is not null && SpecEquality.Same(current, next))
                {
                    return current; // nothing changed (a blob linked again, a tag pushed again): no write
                }

                write = current is null ? StoreChange.Create(next) : StoreChange.Update(next);
            }

            try
            {
                var index = await _proposer.ProposeAsync([write], ct).ConfigureAwait(false);
                return next is null ? null : Stored(repository, next, index);
            }
            catch (StoreConflictException) when (attempt < MaxAttempts)
            {
                // The refusal can come before this manager's view holds the write that won: decide
                // again on the winner's object, not on the stale view (which would only lose again).
                await WaitForNewerAsync(repository, current, ct).ConfigureAwait(false);

                // Contenders that lost together retry apart: a few milliseconds of jitter, growing with each loss.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 5 * attempt)), _time, ct).ConfigureAwait(false);
            }
            catch (StoreConflictException e)
            {
                throw new StoreConflictException(
                    $"Repository {repository} kept changing while it was written ({MaxAttempts} attempts): too many concurrent pushes to it; push again.", e);
            }
        }
    }

    /// <summary>The object as the store holds it after the write at <paramref name="index"/>, or as written when a later write replaced it already.</summary>
    private RepositoryObject Stored(string repository, RepositoryObject written, ulong index)
    {
        var stored = _store.Current.Get<RepositoryObject>(repository);
        if (stored is not null && stored.Meta.Version == index)
        {
            return stored;
        }

        var now = _time.GetUtcNow();
        return written with { Meta = new ObjectMeta(index, written.Meta.Version == 0 ? now : written.Meta.CreatedAt, now) };
    }
}
