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

/// <summary>
/// A leader commits past the end of this peer's log: entries this peer acknowledged are gone (its
/// storage was emptied, truncated or replaced). etcd's raft panics here; the peer must take no
/// further part, since its votes and acknowledgements no longer mean what they say.
/// </summary>
public sealed class RaftLogLostException : InvalidOperationException
{
    public RaftLogLostException()
        : base("the log lost entries it had acknowledged")
    {
    }

    public RaftLogLostException(string message)
        : base(message)
    {
    }

    public RaftLogLostException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ulong Commit { get; init; }

    public ulong LastIndex { get; init; }
}
