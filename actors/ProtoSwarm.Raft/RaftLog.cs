using System.Collections.Immutable;

namespace ProtoSwarm.Raft;

/// <summary>
/// The log as the core sees it (etcd's raftLog): the persisted part in <see cref="IRaftLog"/>, the
/// unstable tail in memory, and the committed and applied cursors over both.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftLog _storage;
    private readonly Unstable _unstable;
    private readonly ulong _maxCommittedSize;

    public RaftLog(IRaftLog storage, ulong maxCommittedSize)
    {
        _storage = storage;
        _maxCommittedSize = maxCommittedSize;
        _unstable = new Unstable(storage.LastIndex() + 1);
        Committed = storage.FirstIndex() - 1;
        Applied = Committed;
        Applying = Committed;
    }

    public ulong Committed { get; private set; }

    public ulong Applied { get; private set; }

    /// <summary>The last committed entry handed out to be applied (at or after Applied).</summary>
    public ulong Applying { get; private set; }

    public Snapshot? PendingSnapshot => _unstable.Snapshot;

    /// <summary>The pending snapshot, unless it has already been handed to storage.</summary>
    public Snapshot? SnapshotToWrite => _unstable.SnapshotInProgress ? null : _unstable.Snapshot;

    public ulong Generation => _unstable.Generation;

    /// <summary>
    /// The last index whose entry is in storage as this log now has it: everything below the
    /// unstable tail. None while a snapshot waits to be written.
    /// </summary>
    public ulong? StableLastIndex() => _unstable.Snapshot is null ? _unstable.Offset - 1 : null;

    public ulong FirstIndex() => _unstable.MaybeFirstIndex() ?? _storage.FirstIndex();

    public ulong LastIndex() => _unstable.MaybeLastIndex() ?? _storage.LastIndex();

    public ulong LastTerm() =>
        TryTerm(LastIndex(), out var term) ? term : throw new InvalidOperationException("the last entry has no term");

    /// <summary>The term of entry i, if i is within [FirstIndex - 1, LastIndex].</summary>
    public bool TryTerm(ulong i, out ulong term)
    {
        term = 0;
        var dummy = FirstIndex() - 1;
        if (i < dummy || i > LastIndex())
        {
            return false;
        }

        if (_unstable.TryTerm(i, out term))
        {
            return true;
        }

        try
        {
            term = _storage.Term(i);
            return true;
        }
        catch (LogCompactedException)
        {
            return false;
        }
        catch (LogUnavailableException)
        {
            return false;
        }
    }

    public ulong TermOrZero(ulong i) => TryTerm(i, out var term) ? term : 0;

    public bool MatchTerm(ulong i, ulong term) => TryTerm(i, out var t) && t == term;

    /// <summary>Whether a candidate's log (last entry at lastIndex, lastTerm) is at least as up to date as ours (§5.4.1).</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm)
    {
        var ourTerm = LastTerm();
        return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= LastIndex());
    }

    /// <summary>A follower's append: succeeds if our entry at index has logTerm; conflicting entries after it are replaced.</summary>
    public bool MaybeAppend(ulong index, ulong logTerm, ulong committed, ImmutableArray<Entry> entries, out ulong lastNewIndex)
    {
        lastNewIndex = 0;
        if (!MatchTerm(index, logTerm))
        {
            return false;
        }

        var count = entries.IsDefault ? 0 : entries.Length;
        lastNewIndex = index + (ulong)count;
        var conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed)
            {
                throw new InvalidOperationException($"entry {conflict} conflicts with a committed entry (commit {Committed})");
            }

            Append(entries.Skip((int)(conflict - index - 1)).ToList());
        }

        CommitTo(Math.Min(committed, lastNewIndex));
        return true;
    }

    public ulong Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return LastIndex();
        }

        if (entries[0].Index - 1 < Committed)
        {
            throw new InvalidOperationException($"appending after {entries[0].Index - 1} would rewrite committed entries up to {Committed}");
        }

        _unstable.TruncateAndAppend(entries);
        return LastIndex();
    }

    /// <summary>The first entry whose term differs from ours (or that we lack), 0 if all match.</summary>
    private ulong FindConflict(ImmutableArray<Entry> entries)
    {
        if (entries.IsDefault)
        {
            return 0;
        }

        foreach (var entry in entries)
        {
            if (!MatchTerm(entry.Index, entry.Term))
            {
                return entry.Index;
            }
        }

        return 0;
    }

    /// <summary>
    /// The largest index at or below <paramref name="index"/> whose term is at most <paramref name="term"/>,
    /// with that term: where the two logs may agree, so a rejected append can skip a whole term at once.
    /// </summary>
    public (ulong Index, ulong Term) FindConflictByTerm(ulong index, ulong term)
    {
        while (true)
        {
            if (!TryTerm(index, out var ourTerm))
            {
                return (index, 0);
            }

            if (ourTerm <= term || index == 0)
            {
                return (index, ourTerm);
            }

            index--;
        }
    }

    public ImmutableArray<Entry> UnstableEntries() => [.. _unstable.Entries];

    /// <summary>Entries not yet handed to storage (asynchronous writes).</summary>
    public ImmutableArray<Entry> EntriesToWrite() => [.. _unstable.EntriesToWrite()];

    public bool HasEntriesToWrite => _unstable.InProgress < _unstable.Offset + (ulong)_unstable.Entries.Count;

    /// <summary>The unstable entries and snapshot have been handed to storage.</summary>
    public void AcceptInProgress() => _unstable.AcceptInProgress();

    /// <summary>
    /// Committed entries not yet handed out to be applied, at most the configured bytes; none while
    /// a snapshot waits. With <paramref name="allowUnstable"/> false, only entries already in storage.
    /// </summary>
    public ImmutableArray<Entry> NextCommittedEntries(bool allowUnstable = true)
    {
        if (!HasNextCommittedEntries(allowUnstable))
        {
            return [];
        }

        var lo = Math.Max(Applying + 1, FirstIndex());
        return [.. Slice(lo, ApplyLimit(allowUnstable) + 1, _maxCommittedSize)];
    }

    public bool HasNextCommittedEntries(bool allowUnstable = true) =>
        _unstable.Snapshot is null && ApplyLimit(allowUnstable) + 1 > Math.Max(Applying + 1, FirstIndex());

    private ulong ApplyLimit(bool allowUnstable) =>
        allowUnstable ? Committed : Math.Min(Committed, _unstable.Offset - 1);

    /// <summary>Entries up to <paramref name="index"/> have been handed out to be applied.</summary>
    public void AcceptApplying(ulong index)
    {
        if (index > Committed || index < Applying)
        {
            throw new InvalidOperationException($"applying {index} is outside [{Applying}, {Committed}]");
        }

        Applying = index;
    }

    /// <summary>Entries from i to the end, at most maxSize bytes.</summary>
    public List<Entry> EntriesFrom(ulong i, ulong maxSize) =>
        i > LastIndex() ? [] : Slice(i, LastIndex() + 1, maxSize);

    /// <summary>Entries in [lo, hi), at most maxSize bytes (at least one); throws LogCompactedException below FirstIndex.</summary>
    public List<Entry> Slice(ulong lo, ulong hi, ulong maxSize)
    {
        if (lo < FirstIndex())
        {
            throw new LogCompactedException();
        }

        if (hi > LastIndex() + 1)
        {
            throw new InvalidOperationException($"slice [{lo}, {hi}) is past the last entry {LastIndex()}");
        }

        var result = new List<Entry>();
        if (lo >= hi)
        {
            return result;
        }

        if (lo < _unstable.Offset)
        {
            var storedHi = Math.Min(hi, _unstable.Offset);
            var stored = _storage.Entries(lo, storedHi, maxSize);
            result.AddRange(stored);
            if ((ulong)stored.Count < storedHi - lo)
            {
                return result;
            }
        }

        if (hi > _unstable.Offset)
        {
            result.AddRange(_unstable.Slice(Math.Max(lo, _unstable.Offset), hi));
        }

        return EntrySizes.Limit(result, maxSize);
    }

    public bool MaybeCommit(ulong maxIndex, ulong term)
    {
        if (maxIndex > Committed && TermOrZero(maxIndex) == term)
        {
            CommitTo(maxIndex);
            return true;
        }

        return false;
    }

    public void CommitTo(ulong commit)
    {
        if (commit <= Committed)
        {
            return;
        }

        if (commit > LastIndex())
        {
            throw new RaftLogLostException($"commit {commit} is past the last entry {LastIndex()}: the log was lost or corrupted") { Commit = commit, LastIndex = LastIndex() };
        }

        Committed = commit;
    }

    public void AppliedTo(ulong applied)
    {
        if (applied == 0)
        {
            return;
        }

        if (applied > Committed || applied < Applied)
        {
            throw new InvalidOperationException($"applied {applied} is outside [{Applied}, {Committed}]");
        }

        Applied = applied;
        Applying = Math.Max(Applying, applied);
    }

    public void StableTo(ulong index, ulong term) => _unstable.StableTo(index, term);

    public void StableSnapTo(ulong index) => _unstable.StableSnapTo(index);

    public void Restore(Snapshot snapshot)
    {
        Committed = snapshot.Metadata.Index;
        _unstable.Restore(snapshot);
    }

    public Snapshot Snapshot() => _unstable.Snapshot ?? _storage.Snapshot();
}
