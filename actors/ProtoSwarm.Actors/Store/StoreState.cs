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
        var batch = new Batch(this);
        var applied = new List<StoreEvent>(changes.Count);
        batch.Apply(index, changes, now, applied);
        events = applied;
        return batch.ToState();
    }

    /// <summary>Starts a batch of proposals applied one after another on top of this state.</summary>
    public Batch BeginBatch() => new(this);

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

    /// <summary>
    /// Many proposals applied in one pass, each all or nothing as <see cref="Apply"/> applies it, and
    /// one new state at the end: the Raft actor applies a Ready's committed entries this way. The
    /// tables' builders change the nodes they have already copied in place, so a batch of N writes
    /// copies each touched path of the sorted tables about once instead of N times, and the state's
    /// table of tables once instead of N times.
    /// </summary>
    public sealed class Batch
    {
        private readonly StoreState _base;
        private readonly Dictionary<string, ImmutableSortedDictionary<string, IStoreObject>.Builder> _tables = new(StringComparer.Ordinal);
        private readonly List<(ImmutableSortedDictionary<string, IStoreObject>.Builder Table, string Id, IStoreObject? Previous)> _undo = [];
        private ulong _index;

        internal Batch(StoreState state)
        {
            _base = state;
            _index = state.Index;
        }

        /// <summary>The index of the last proposal applied so far (the base state's when none was).</summary>
        public ulong Index => _index;

        /// <summary>
        /// Applies one proposal at <paramref name="index"/> after those already in the batch, all or
        /// nothing, and adds its events to <paramref name="events"/>. A stale proposal throws
        /// <see cref="StoreConflictException"/> and leaves the batch as it was before it.
        /// </summary>
        public void Apply(ulong index, IReadOnlyList<StoreChange> changes, DateTimeOffset now, List<StoreEvent> events)
        {
            if (index <= _index)
            {
                throw new ArgumentOutOfRangeException(nameof(index), $"Index {index} is not after the store's {_index}");
            }

            _undo.Clear();
            var eventsBefore = events.Count;
            try
            {
                for (var i = 0; i < changes.Count; i++)
                {
                    ApplyOne(index, changes[i], now, events);
                }
            }
            catch
            {
                for (var i = _undo.Count - 1; i >= 0; i--)
                {
                    var (table, id, previous) = _undo[i];
                    if (previous is null)
                    {
                        table.Remove(id);
                    }
                    else
                    {
                        table[id] = previous;
                    }
                }

                events.RemoveRange(eventsBefore, events.Count - eventsBefore);
                _undo.Clear();
                throw;
            }

            _undo.Clear();
            _index = index;
        }

        /// <summary>The state after every proposal applied; the batch is not used after this.</summary>
        public StoreState ToState()
        {
            if (_tables.Count == 0)
            {
                return _index == _base.Index ? _base : new StoreState(_index, _base._tables);
            }

            var tables = _base._tables.ToBuilder();
            foreach (var (kind, table) in _tables)
            {
                tables[kind] = table.ToImmutable();
            }

            return new StoreState(_index, tables.ToImmutable());
        }

        private void ApplyOne(ulong index, StoreChange change, DateTimeOffset now, List<StoreEvent> events)
        {
            var table = TableOf(change.Kind);
            table.TryGetValue(change.Id, out var current);
            switch (change)
            {
                case CreateObject create:
                    if (current is not null)
                    {
                        throw new StoreConflictException($"{change.Kind} {change.Id} already exists");
                    }

                    var created = create.Object.WithMeta(new ObjectMeta(index, now, now));
                    _undo.Add((table, change.Id, null));
                    table[change.Id] = created;
                    events.Add(new StoreEvent(index, StoreEventKind.Created, change.Kind, change.Id, created));
                    break;
                case UpdateObject update:
                    CheckVersion(change, current, update.ExpectedVersion);
                    var updated = update.Object.WithMeta(new ObjectMeta(index, current!.Meta.CreatedAt, now));
                    _undo.Add((table, change.Id, current));
                    table[change.Id] = updated;
                    events.Add(new StoreEvent(index, StoreEventKind.Updated, change.Kind, change.Id, updated));
                    break;
                case DeleteObject delete:
                    CheckVersion(change, current, delete.ExpectedVersion);
                    _undo.Add((table, change.Id, current));
                    table.Remove(change.Id);
                    events.Add(new StoreEvent(index, StoreEventKind.Deleted, change.Kind, change.Id, current));
                    break;
                case ExpectObject expect:
                    CheckVersion(change, current, expect.ExpectedVersion);
                    break;
                default:
                    throw new ArgumentException($"Unknown store change {change.GetType().Name}", nameof(change));
            }
        }

        private ImmutableSortedDictionary<string, IStoreObject>.Builder TableOf(string kind)
        {
            if (!_tables.TryGetValue(kind, out var table))
            {
                table = (_base._tables.TryGetValue(kind, out var t) ? t : ImmutableSortedDictionary<string, IStoreObject>.Empty.WithComparers(StringComparer.Ordinal)).ToBuilder();
                _tables[kind] = table;
            }

            return table;
        }
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
