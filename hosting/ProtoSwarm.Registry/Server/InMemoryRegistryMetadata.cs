using System.Collections.Concurrent;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>Registry metadata in memory: a registry outside a swarm (tests, a single process), one lock for all writes.</summary>
public sealed class InMemoryRegistryMetadata(TimeProvider? time = null) : IRegistryMetadata
{
    private readonly ConcurrentDictionary<string, RepositoryObject> _repositories = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private ulong _version;

    public ValueTask<RepositoryObject?> GetAsync(string repository, CancellationToken ct) =>
        ValueTask.FromResult(_repositories.TryGetValue(repository, out var found) ? found : null);

    public ValueTask<IReadOnlyList<string>> RepositoriesAsync(CancellationToken ct) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _repositories.Keys.Order(StringComparer.Ordinal)]);

    public ValueTask<RepositoryObject?> UpdateAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct)
    {
        lock (_gate)
        {
            var current = _repositories.TryGetValue(repository, out var found) ? found : null;
            var next = change(current);
            if (next is null)
            {
                _repositories.TryRemove(repository, out _);
                return ValueTask.FromResult<RepositoryObject?>(null);
            }

            var now = _time.GetUtcNow();
            next = next with { Id = repository, Meta = new ObjectMeta(++_version, current?.Meta.CreatedAt ?? now, now) };
            _repositories[repository] = next;
            return ValueTask.FromResult<RepositoryObject?>(next);
        }
    }
}
