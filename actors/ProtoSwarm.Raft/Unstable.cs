namespace ProtoSwarm.Raft;

/// <summary>
/// Entries (and at most one snapshot) the core holds that the caller has not yet persisted:
/// the tail of the log from <see cref="Offset"/> on, handed out in Ready and dropped on Advance.
/// </summary>
internal sealed class Unstable
{
    public Unstable(ulong offset) => Offset = offset;

    public Snapshot? Snapshot { get; private set; }

    public List<Entry> Entries { get; private set; } = [];

    /// <summary>The index of Entries[0].</summary>
    public ulong Offset { get; private set; }

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
    }

    public void StableSnapTo(ulong i)
    {
        if (Snapshot is not null && Snapshot.Metadata.Index == i)
        {
            Snapshot = null;
        }
    }

    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        Entries = [];
        Snapshot = snapshot;
    }

    public void TruncateAndAppend(IReadOnlyList<Entry> entries)
    {
        var after = entries[0].Index;
        if (after == Offset + (ulong)Entries.Count)
        {
            Entries.AddRange(entries);
        }
        else if (after <= Offset)
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
