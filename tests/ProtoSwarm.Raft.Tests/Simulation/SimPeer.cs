namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// One manager in the simulation: its durable log (survives crashes), its running node and state
/// machine (lost on a crash), and what the checks remember about it.
/// </summary>
internal sealed class SimPeer(ulong id, MemoryRaftLog log)
{
    public ulong Id { get; } = id;

    /// <summary>The disk: only ever written with what a finished Ready persisted, and by our own snapshots.</summary>
    public MemoryRaftLog Log { get; set; } = log;

    /// <summary>Null while crashed.</summary>
    public RaftNode? Node { get; set; }

    public KvStateMachine Sm { get; set; } = new();

    public ConfState ConfState { get; set; } = ConfState.Empty;

    /// <summary>Removed from the membership and shut down for good; its id is never reused.</summary>
    public bool Retired { get; set; }

    /// <summary>Bumped at each restart, so messages from an earlier life are told apart.</summary>
    public int Incarnation { get; set; }

    public bool IsUp => Node is not null && !Retired;

    /// <summary>Read states received but not yet served (waiting for Applied to reach their index).</summary>
    public List<ReadState> PendingReads { get; } = [];

    /// <summary>The highest commit index this incarnation has reported.</summary>
    public ulong CommitSeen { get; set; }

    /// <summary>The term this incarnation last led in, and its commit index then (the durable-majority check).</summary>
    public (ulong Term, ulong Commit) Led { get; set; }

    /// <summary>Commit indices up to here have been recorded as committed by the checks.</summary>
    public ulong CommitRecorded { get; set; }

    public HardState DurableHardState => Log.HardState;

    /// <summary>Asynchronous writes handed out and not yet on disk, oldest first; a crash loses them.</summary>
    public Queue<(Ready Ready, RaftStatus Status)> Writes { get; } = new();

    public RaftStatus? LastStatus { get; set; }

    public bool IsLeader => IsUp && LastStatus is { Role: StateRole.Leader };
}
