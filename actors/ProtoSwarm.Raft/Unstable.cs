namespace ProtoSwarm.Raft;

/// <summary>
/// Entries (and at most one snapshot) the core holds that the caller has not yet persisted:
/// the tail of the log from <see cref="Offset"/> on, handed out in Ready and dropped on Advance.
/// </summary>
internal sealed class Unstable
{
    public Unstable(ulong offset)
    {
        Offset = offset;
        InProgress = offset;
    }

    public Snapshot? Snapshot { get; private set; }

    public List<Entry> Entries { get; private set; } = [];

    /// <summary>The index of Entries[0].</summary>
    public ulong Offset { get; private set; }

    /// <summary>
    /// With asynchronous writes: the first entry not yet handed to storage. Entries in
    /// [Offset, InProgress) are being written; they stay here, readable, until their write is reported.
    /// </summary>
    public ulong InProgress { get; private set; }

    /// <summary>With asynchronous writes: the snapshot has been handed to storage.</summary>
    public bool SnapshotInProgress { get; private set; }

    /// <summary>
    /// Bumped whenever entries are replaced or a snapshot restored: a write handed out before that
    /// reports nothing about the log as it is now (an entry of the same index and term may have
    /// been replaced and put back meanwhile), so only a later write's report makes entries stable.
    /// </summary>
    public ulong Generation { get; private set; }

    public ulong? MaybeFirstIndex() => Snapshot is null ? null : Snapshot.Metadata.Index + 1;

    public ulong? MaybeLastIndex()
    {
        if (Entries.Count > 0)
        {
            return Offset + (ulong)Entries.Count - 1;
        }

        return Snapshot?.Metadata.Index;
    }

    public bool TryTerm(ulong i, out ulong term)
    {
        term = 0;
        if (i < Offset)
        {
            if (Snapshot is not null && Snapshot.Metadata.Index == i)
            {
                term = Snapshot.Metadata.Term;
                return true;
            }

            return false;
        }

        if (MaybeLastIndex() is not { } last || i > last)
        {
            return false;
        }

        term = Entries[(int)(i - Offset)].Term;
        return true;
    }

    /// <summary>The caller persisted entries up to (i, t); forget them unless they were replaced meanwhile.</summary>
    public void StableTo(ulong i, ulong t)
    {
        if (!TryTerm(i, out var term) || term != t || i < Offset)
        {
            return;
        }

        Entries.RemoveRange(0, (int)(i + 1 - Offset));
        Offset = i + 1;
        InProgress = Math.Max(InProgress, Offset);
    }

    /// <summary>Entries not yet handed to storage.</summary>
    public List<Entry> EntriesToWrite() =>
        InProgress >= Offset + (ulong)Entries.Count ? [] : Entries.GetRange((int)(InProgress - Offset), Entries.Count - (int)(InProgress - Offset));

    /// <summary>Everything here now is being written.</summary>
    public void AcceptInProgress()
    {
        InProgress = Offset + (ulong)Entries.Count;
        SnapshotInProgress = Snapshot is not null;
    }

    public void StableSnapTo(ulong i)
    {
        if (Snapshot is not null && Snapshot.Metadata.Index == i)
        {
            Snapshot = null;
            SnapshotInProgress = false;
        }
    }

    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        InProgress = Offset;
        Entries = [];
        Snapshot = snapshot;
        SnapshotInProgress = false;
        Generation++;
    }

    public void TruncateAndAppend(IReadOnlyList<Entry> entries)
    {
        var after = entries[0].Index;
        if (after == Offset + (ulong)Entries.Count)
        {
            Entries.AddRange(entries);
            return;
        }

        Generation++;
        InProgress = Math.Min(InProgress, after);
        if (after <= Offset)
        {
            // Replaces everything unstable; the caller's Append overwrites the persisted suffix too.
            Offset = after;
            Entries = [.. entries];
        }
        else
        {
            Entries.RemoveRange((int)(after - Offset), Entries.Count - (int)(after - Offset));
            Entries.AddRange(entries);
        }
    }

    public List<Entry> Slice(ulong lo, ulong hi) => Entries.GetRange((int)(lo - Offset), (int)(hi - lo));
}
