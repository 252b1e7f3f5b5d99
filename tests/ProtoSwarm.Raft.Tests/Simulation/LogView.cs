using System.Collections.Immutable;

namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// A peer's log as it will be once a Ready is persisted: the durable log, replaced by the Ready's
/// snapshot if it has one, overlaid by the Ready's entries (which truncate from their first index).
/// </summary>
internal readonly struct LogView
{
    private readonly MemoryRaftLog _log;
    private readonly Snapshot? _snapshot;
    private readonly ImmutableArray<Entry> _entries;

    public LogView(MemoryRaftLog log, Snapshot? snapshot, ImmutableArray<Entry> entries)
    {
        _log = log;
        _snapshot = snapshot is { IsEmpty: false } ? snapshot : null;
        _entries = entries.IsDefault ? [] : entries;
    }

    /// <summary>The lowest index whose term is known (the snapshot's or the placeholder's).</summary>
    public ulong FloorIndex => _snapshot is not null ? _snapshot.Metadata.Index : _log.FirstIndex() - 1;

    public ulong LastIndex =>
        _entries.Length > 0 ? _entries[^1].Index
        : _snapshot is not null ? _snapshot.Metadata.Index
        : _log.LastIndex();

    /// <summary>The term at <paramref name="i"/>; null below <see cref="FloorIndex"/> (compacted) or above <see cref="LastIndex"/>.</summary>
    public ulong? Term(ulong i)
    {
        if (i > LastIndex || i < FloorIndex)
        {
            return null;
        }

        if (_entries.Length > 0 && i >= _entries[0].Index)
        {
            return _entries[(int)(i - _entries[0].Index)].Term;
        }

        if (_snapshot is not null)
        {
            return i == _snapshot.Metadata.Index ? _snapshot.Metadata.Term : null;
        }

        return _log.Term(i);
    }
}
