namespace ProtoSwarm.Raft;

/// <summary>A peer's settings; defaults follow swarmkit's and etcd's, with faster elections.</summary>
public sealed record RaftConfig
{
    /// <summary>This peer's id; never 0, never reused for another member.</summary>
    public required ulong Id { get; init; }

    /// <summary>Ticks without hearing a leader before a follower campaigns (randomised in [n, 2n)).</summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>Ticks between a leader's heartbeats.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>The last index applied to the state machine at start (0 for a fresh peer).</summary>
    public ulong Applied { get; init; }

    /// <summary>Largest total entry bytes in one Append message (batching).</summary>
    public ulong MaxSizePerMessage { get; init; } = 1024 * 1024;

    /// <summary>Most Append messages in flight to one follower (pipelining, flow control).</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Largest total bytes of committed entries handed out in one Ready.</summary>
    public ulong MaxCommittedSizePerReady { get; init; } = 16 * 1024 * 1024;

    public bool PreVote { get; init; } = true;

    public bool CheckQuorum { get; init; } = true;

    /// <summary>Seeds the election-timeout randomisation, so a simulation replays exactly.</summary>
    public int RandomSeed { get; init; }

    /// <summary>
    /// Restart as the only voter, keeping the committed log (--force-new-cluster, after losing quorum
    /// for good). The peer drops its uncommitted suffix and appends, already committed, ConfChange
    /// entries removing every other member; once the caller applies them it elects itself. Set it
    /// for one start only.
    /// </summary>
    public bool ForceNewCluster { get; init; }

    /// <summary>
    /// Asynchronous storage writes (etcd raft's AsyncStorageWrites): GetReady may be called again
    /// before the previous Ready's write is done. Each Ready's write is reported with
    /// <see cref="RaftNode.ReportPersisted"/> (in the order the Readies were handed out) and its
    /// committed entries with <see cref="RaftNode.ReportApplied"/>; <see cref="Ready.MessagesAfterWrite"/>
    /// leave only once the write is done. The leader counts its own entries towards a majority only
    /// once they are written, and only written entries are handed out to be applied.
    /// </summary>
    public bool AsyncStorageWrites { get; init; }
}
