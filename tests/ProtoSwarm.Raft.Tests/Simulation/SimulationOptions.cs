namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>What one simulated run looks like; every fault can be switched off for a targeted scenario.</summary>
public sealed record SimulationOptions
{
    public int Peers { get; init; } = 3;

    /// <summary>Random actions before the faults heal and liveness is checked.</summary>
    public int Steps { get; init; } = 400;

    public int ElectionTick { get; init; } = 10;

    public int HeartbeatTick { get; init; } = 1;

    public int Clients { get; init; } = 3;

    public int Keys { get; init; } = 2;

    /// <summary>A client gives up on an operation after this many ticks; it is then recorded as pending.</summary>
    public int ClientTimeoutTicks { get; init; } = 50;

    /// <summary>After healing, a leader must be elected and a proposal applied within this many election timeouts.</summary>
    public int LivenessElectionTimeouts { get; init; } = 10;

    public bool PreVote { get; init; } = true;

    /// <summary>The test that replays one seed of this configuration (printed with a violation).</summary>
    public string? ReplayTest { get; init; }

    public bool MessageFaults { get; init; } = true;

    public bool Partitions { get; init; } = true;

    public bool Crashes { get; init; } = true;

    public bool Membership { get; init; } = true;

    public bool Snapshots { get; init; } = true;

    public bool Transfers { get; init; } = true;

    public bool ClientOps { get; init; } = true;

    /// <summary>
    /// The core's asynchronous storage writes (each Ready written later, in order, while the peer
    /// goes on stepping), as the manager's Raft actor runs it; null lets each seed choose (three in four asynchronous).
    /// </summary>
    public bool? AsyncWrites { get; init; }

    /// <summary>A bug planted in the driver (never in the core), to prove the checks catch what they claim to.</summary>
    internal HarnessFault Fault { get; init; }
}

/// <summary>Ways a Raft actor could misuse the core; the checks must catch every one of them.</summary>
internal enum HarnessFault
{
    None,

    /// <summary>Reads answered from the local state machine at once, without ReadIndex.</summary>
    StaleReads,

    /// <summary>The vote is not kept across a restart.</summary>
    ForgetVoteOnCrash,

    /// <summary>Messages go out before the Ready's writes are durable, and sometimes the peer crashes in between.</summary>
    SendBeforePersist,

    /// <summary>The disk loses its last entries at a crash (an fsync that lied).</summary>
    DiskLosesTailOnCrash,
}

/// <summary>What a run did, to show that seeds exercise something and to tune the mix.</summary>
public sealed record SimulationReport(
    int Seed,
    int Peers,
    int Steps,
    int Ticks,
    ulong HighestCommitted,
    int LeadersElected,
    int AckedWrites,
    int CompletedReads,
    int PendingOperations,
    int Crashes,
    int SnapshotsInstalled,
    int MembershipChanges,
    int DuplicateApplies);
