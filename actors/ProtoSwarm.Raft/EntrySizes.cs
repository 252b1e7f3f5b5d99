namespace ProtoSwarm.Raft;

/// <summary>How the core counts entry bytes against MaxSizePerMessage and MaxCommittedSizePerReady.</summary>
internal static class EntrySizes
{
    // Index, term and type are on the wire too; counting them keeps a run of empty entries bounded.
    private const ulong Overhead = 24;

    public static ulong Of(Entry entry) => (ulong)entry.Data.Length + Overhead;

    /// <summary>The longest prefix of entries within maxSize bytes, and never fewer than one entry.</summary>
    public static List<Entry> Limit(List<Entry> entries, ulong maxSize)
    {
        if (entries.Count <= 1)
        {
            return entries;
        }

        var total = Of(entries[0]);
        var keep = 1;
        while (keep < entries.Count)
        {
            total += Of(entries[keep]);
            if (total > maxSize)
            {
                break;
            }

            keep++;
        }

        if (keep < entries.Count)
        {
            entries.RemoveRange(keep, entries.Count - keep);
        }

        return entries;
    }
}
