namespace ProtoSwarm.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLog"/> (etcd's MemoryStorage): the caller appends each Ready's entries,
/// applies its snapshot and hard state, and compacts after taking its own snapshots. Used by the
/// simulator and as the actor layer's cache of what SQLite holds.
/// </summary>
public sealed class MemoryRaftLog : IRaftLog
{
    // _entries[0] is a placeholder standing for the snapshot: its index and term, never its data.
    private readonly List<Entry> _entries = [new Entry(0, 0, EntryType.Normal, [])];
    private HardState _hardState;
    private Snapshot _snapshot = Raft.Snapshot.Empty;

    public MemoryRaftLog()
    {
    }

    /// <summary>
    /// A log for a brand-new cluster: a snapshot at index 1, term 1 of an empty state machine whose
    /// membership is <paramref name="members"/>. Every founding peer starts from the same snapshot,
    /// and a peer that joins later receives it (or a newer one) and so learns the founding members,
    /// which no log entry records.
    /// </summary>
    public static MemoryRaftLog Bootstrap(ConfState members)
    {
        var log = new MemoryRaftLog();
        log.ApplySnapshot(new Snapshot(new SnapshotMetadata(1, 1, members), []));
        log.SetHardState(new HardState(1, 0, 1));
        return log;
    }

    public HardState HardState => _hardState;

    public (HardState HardState, ConfState ConfState) InitialState() => (_hardState, _snapshot.Metadata.ConfState);

    public void SetHardState(HardState hardState) => _hardState = hardState;

    public IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxSize)
    {
        var offset = _entries[0].Index;
        if (lo <= offset)
        {
            throw new LogCompactedException();
        }

        if (hi > LastIndex() + 1)
        {
            throw new LogUnavailableException($"entries up to {hi - 1} requested, the log ends at {LastIndex()}");
        }

        if (lo >= hi)
        {
            return [];
        }

        return EntrySizes.Limit(_entries.GetRange((int)(lo - offset), (int)(hi - lo)), maxSize);
    }

    public ulong Term(ulong i)
    {
        var offset = _entries[0].Index;
        if (i < offset)
        {
            throw new LogCompactedException();
        }

        if (i - offset >= (ulong)_entries.Count)
        {
            throw new LogUnavailableException();
        }

        return _entries[(int)(i - offset)].Term;
    }

    public ulong FirstIndex() => _entries[0].Index + 1;

    public ulong LastIndex() => _entries[0].Index + (ulong)_entries.Count - 1;

    public Snapshot Snapshot() => _snapshot;

    /// <summary>Replaces the whole log with a snapshot received from the leader (Ready.Snapshot).</summary>
    public void ApplySnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Metadata.Index <= _snapshot.Metadata.Index)
        {
            throw new InvalidOperationException(
                $"snapshot at {snapshot.Metadata.Index} is not newer than the one held at {_snapshot.Metadata.Index}");
        }

        _snapshot = snapshot;
        _entries.Clear();
        _entries.Add(new Entry(snapshot.Metadata.Index, snapshot.Metadata.Term, EntryType.Normal, []));
    }

    /// <summary>Records the application's own snapshot as of an applied index; call <see cref="Compact"/> after.</summary>
    public Snapshot CreateSnapshot(ulong index, ConfState confState, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(confState);
        ArgumentNullException.ThrowIfNull(data);
        if (index <= _snapshot.Metadata.Index)
        {
            throw new InvalidOperationException($"a snapshot at {_snapshot.Metadata.Index} already covers index {index}");
        }

        if (index > LastIndex())
        {
            throw new InvalidOperationException($"snapshot index {index} is past the last entry {LastIndex()}");
        }

        _snapshot = new Snapshot(new SnapshotMetadata(index, Term(index), confState), data);
        return _snapshot;
    }

    /// <summary>Drops every entry before <paramref name="compactIndex"/>, which becomes the placeholder.</summary>
    public void Compact(ulong compactIndex)
    {
        var offset = _entries[0].Index;
        if (compactIndex <= offset)
        {
            throw new LogCompactedException();
        }

        if (compactIndex > LastIndex())
        {
            throw new InvalidOperationException($"compact index {compactIndex} is past the last entry {LastIndex()}");
        }

        var i = (int)(compactIndex - offset);
        var placeholder = new Entry(_entries[i].Index, _entries[i].Term, EntryType.Normal, []);
        _entries.RemoveRange(0, i + 1);
        _entries.Insert(0, placeholder);
    }

    /// <summary>
    /// Appends Ready.Entries. Entries that overlap the log replace it from the first one on (a new
    /// leader overwrote an uncommitted suffix); entries already compacted are skipped.
    /// </summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var first = FirstIndex();
        var last = entries[0].Index + (ulong)entries.Count - 1;
        if (last < first)
        {
            return;
        }

        var skip = first > entries[0].Index ? (int)(first - entries[0].Index) : 0;
        var start = entries[skip].Index;
        var offset = start - _entries[0].Index;
        if (offset > (ulong)_entries.Count)
        {
            throw new InvalidOperationException($"missing log entries: the log ends at {LastIndex()}, append starts at {start}");
        }

        _entries.RemoveRange((int)offset, _entries.Count - (int)offset);
        for (var i = skip; i < entries.Count; i++)
        {
            _entries.Add(entries[i]);
        }
    }
}
