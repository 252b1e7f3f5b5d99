namespace ProtoSwarm.Raft;

/// <summary>
/// The durable log as the core reads it (etcd's Storage): what the actor layer has persisted. The
/// core never writes to it; the layer appends Ready.Entries, applies snapshots and compacts.
/// </summary>
public interface IRaftLog
{
    (HardState HardState, ConfState ConfState) InitialState();

    /// <summary>Entries in [lo, hi), at most maxSize bytes (always at least one if any).</summary>
    IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxSize);

    /// <summary>The term of entry i; for i == FirstIndex - 1, the snapshot's term. Throws <see cref="LogCompactedException"/> below, <see cref="LogUnavailableException"/> above.</summary>
    ulong Term(ulong i);

    /// <summary>The index of the first entry still in the log (snapshot index + 1).</summary>
    ulong FirstIndex();

    ulong LastIndex();

    Snapshot Snapshot();
}

public sealed class LogCompactedException : Exception
{
    public LogCompactedException()
        : base("requested index is compacted into a snapshot")
    {
    }

    public LogCompactedException(string message)
        : base(message)
    {
    }

    public LogCompactedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

public sealed class LogUnavailableException : Exception
{
    public LogUnavailableException()
        : base("requested entry is not in the log yet")
    {
    }

    public LogUnavailableException(string message)
        : base(message)
    {
    }

    public LogUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
