using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// The managers' objects at one store index: immutable, so readers take a snapshot without locks
/// while the single writer computes the next one. <see cref="Apply"/> is the only way to change it.
/// </summary>
public sealed class StoreState
{
    public static readonly StoreState Empty = new(0, ImmutableDictionary<string, ImmutableSortedDictionary<string, IStoreObject>>.Empty);

    private readonly ImmutableDictionary<string, ImmutableSortedDictionary<string, IStoreObject>> _tables;

    private StoreState(ulong index, ImmutableDictionary<string, ImmutableSortedDictionary<string, IStoreObject>> tables)
    {
        Index = index;
        _tables = tables;
    }

    /// <summary>The index of the last applied proposal.</summary>
    public ulong Index { get; }

    public T? Get<T>(string id)
        where T : class, IStoreObject, IStoreKind =>
        _tables.TryGetValue(T.StoreKind, out var table) && table.TryGetValue(id, out var obj) ? (T)obj : null;

    public IEnumerable<T> List<T>()
        where T : class, IStoreObject, IStoreKind =>
        _tables.TryGetValue(T.StoreKind, out var table) ? table.Values.Cast<T>() : [];

    public IEnumerable<IStoreObject> All() => _tables.Values.SelectMany(t => t.Values);

    /// <summary>How many objects the store holds, all kinds together.</summary>
    public int Count => _tables.Values.Sum(t => t.Count);

    /// <summary>
    /// Applies one proposal at <paramref name="index"/>, all or nothing: every object written gets
    /// Version = index. Throws <see cref="StoreConflictException"/> if any change is stale.
    /// </summary>
    public StoreState Apply(ulong index, IReadOnlyList<StoreChange> changes, DateTimeOffset now, out IReadOnlyList<StoreEvent> events)
    {
        if (index <= Index)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Index {index} is not after the store's {Index}");
        }

        var tables = _tables.ToBuilder();
        var applied = new List<StoreEvent>(changes.Count);
        foreach (var change in changes)
        {
            var table = tables.TryGetValue(change.Kind, out var t) ? t : ImmutableSortedDictionary<string, IStoreObject>.Empty.WithComparers(StringComparer.Ordinal);
            table.TryGetValue(change.Id, out var current);
            switch (change)
            {
                case CreateObject create:
                    if (current is not null)
                    {
                        throw new StoreConflictException($"{change.Kind} {change.Id} already exists");
                    }

                    var created = create.Object.WithMeta(new ObjectMeta(index, now, now));
                    tables[change.Kind] = table.SetItem(change.Id, created);
                    applied.Add(new StoreEvent(index, StoreEventKind.Created, change.Kind, change.Id, created));
                    break;
                case UpdateObject update:
                    CheckVersion(change, current, update.ExpectedVersion);
                    var updated = update.Object.WithMeta(new ObjectMeta(index, current!.Meta.CreatedAt, now));
                    tables[change.Kind] = table.SetItem(change.Id, updated);
                    applied.Add(new StoreEvent(index, StoreEventKind.Updated, change.Kind, change.Id, updated));
                    break;
                case DeleteObject delete:
                    CheckVersion(change, current, delete.ExpectedVersion);
                    tables[change.Kind] = table.Remove(change.Id);
                    applied.Add(new StoreEvent(index, StoreEventKind.Deleted, change.Kind, change.Id, current));
                    break;
                default:
                    throw new ArgumentException($"Unknown store change {change.GetType().Name}", nameof(changes));
            }
        }

        events = applied;
        return new StoreState(index, tables.ToImmutable());
    }

    /// <summary>Rebuilds a state from persisted objects (their versions as stored).</summary>
    public static StoreState Restore(ulong index, IEnumerable<IStoreObject> objects)
    {
        var tables = ImmutableDictionary.CreateBuilder<string, ImmutableSortedDictionary<string, IStoreObject>>();
        foreach (var group in objects.GroupBy(o => o.Kind))
        {
            tables[group.Key] = group.ToImmutableSortedDictionary(o => o.Id, o => o, StringComparer.Ordinal);
        }

        return new StoreState(index, tables.ToImmutable());
    }

    private static void CheckVersion(StoreChange change, IStoreObject? current, ulong expected)
    {
        if (current is null)
        {
            throw new StoreConflictException($"{change.Kind} {change.Id} does not exist");
        }

        if (current.Meta.Version != expected)
        {
            throw new StoreConflictException(
                $"{change.Kind} {change.Id} changed since it was read (version {expected}, now {current.Meta.Version}); read it again and retry");
        }
    }
}
