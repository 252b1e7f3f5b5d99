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
    }

    public ulong Committed { get; private set; }

    public ulong Applied { get; private set; }

    public Snapshot? PendingSnapshot => _unstable.Snapshot;

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

    /// <summary>Committed entries not yet applied, at most the configured bytes; none while a snapshot waits.</summary>
    public ImmutableArray<Entry> NextCommittedEntries()
    {
        if (!HasNextCommittedEntries())
        {
            return [];
        }

        var lo = Math.Max(Applied + 1, FirstIndex());
        return [.. Slice(lo, Committed + 1, _maxCommittedSize)];
    }

    public bool HasNextCommittedEntries() =>
        _unstable.Snapshot is null && Committed + 1 > Math.Max(Applied + 1, FirstIndex());

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
            throw new InvalidOperationException($"commit {commit} is past the last entry {LastIndex()}: the log was lost or corrupted");
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
