using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Raft;

// The Raft core's data types, in the shape of etcd's raftpb: a peer is a ulong id (0 = none),
// entries and messages are plain records. They are MessagePack objects so the actor layer can
// carry them between managers; keys are never reused.

public enum EntryType
{
    /// <summary>An application command (a store proposal), or empty: the no-op a new leader appends.</summary>
    Normal = 0,

    /// <summary>A membership change: Data is a MessagePack <see cref="ConfChange"/>.</summary>
    ConfChange = 1,
}

[MessagePackObject]
public sealed record Entry(
    [property: Key(0)] ulong Index,
    [property: Key(1)] ulong Term,
    [property: Key(2)] EntryType Type,
    [property: Key(3)] byte[] Data);

/// <summary>
/// What a peer keeps on disk: its term and vote, which must be durable before it answers anyone, and
/// its commit index, which may lag on disk (as in etcd): it is learned again from the leader.
/// </summary>
[MessagePackObject]
public readonly record struct HardState(
    [property: Key(0)] ulong Term,
    [property: Key(1)] ulong Vote,
    [property: Key(2)] ulong Commit)
{
    [IgnoreMember]
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}

public enum ConfChangeType
{
    AddVoter = 0,
    RemoveVoter = 1,

    /// <summary>A non-voting member that receives the log (a manager catching up before it votes).</summary>
    AddLearner = 2,
}

/// <summary>One membership change, applied when its entry commits. Context carries the member's address.</summary>
[MessagePackObject]
public sealed partial record ConfChange(
    [property: Key(0)] ConfChangeType Type,
    [property: Key(1)] ulong NodeId,
    [property: Key(2)] string Context);

/// <summary>The membership: voters and learners (disjoint).</summary>
[MessagePackObject]
public sealed record ConfState(
    [property: Key(0)] ImmutableArray<ulong> Voters,
    [property: Key(1)] ImmutableArray<ulong> Learners)
{
    public static readonly ConfState Empty = new([], []);
}

[MessagePackObject]
public sealed record SnapshotMetadata(
    [property: Key(0)] ulong Index,
    [property: Key(1)] ulong Term,
    [property: Key(2)] ConfState ConfState);

/// <summary>The application's state as of Metadata.Index (Data is opaque to the core).</summary>
[MessagePackObject]
public sealed record Snapshot(
    [property: Key(0)] SnapshotMetadata Metadata,
    [property: Key(1)] byte[] Data)
{
    public static readonly Snapshot Empty = new(new SnapshotMetadata(0, 0, ConfState.Empty), []);

    [IgnoreMember]
    public bool IsEmpty => Metadata.Index == 0;
}

public enum MessageType
{
    // Local messages: never sent between peers.
    Hup = 0,
    Beat = 1,
    Propose = 2,
    SnapStatus = 3,
    Unreachable = 4,
    TransferLeader = 5,
    ReadIndex = 6,

    // Between peers.
    Append = 10,
    AppendResponse = 11,
    Vote = 12,
    VoteResponse = 13,
    PreVote = 14,
    PreVoteResponse = 15,
    Snapshot = 16,
    Heartbeat = 17,
    HeartbeatResponse = 18,
    TimeoutNow = 19,
    ReadIndexResponse = 20,
}

/// <summary>
/// Every Raft message, as etcd's raftpb.Message: which fields mean something depends on Type.
/// Index/LogTerm: the entry preceding Entries (Append), or the candidate's last entry (Vote).
/// Reject/RejectHint: a refused append and the follower's hint for where to retry.
/// Context: the ReadIndex request's id, echoed in heartbeats and the response.
/// Index in a HeartbeatResponse: the follower's commit index (acknowledges a snapshot whose answer was lost).
/// </summary>
[MessagePackObject]
public sealed record Message(
    [property: Key(0)] MessageType Type,
    [property: Key(1)] ulong To,
    [property: Key(2)] ulong From,
    [property: Key(3)] ulong Term,
    [property: Key(4)] ulong LogTerm,
    [property: Key(5)] ulong Index,
    [property: Key(6)] ImmutableArray<Entry> Entries,
    [property: Key(7)] ulong Commit,
    [property: Key(8)] Snapshot? Snapshot,
    [property: Key(9)] bool Reject,
    [property: Key(10)] ulong RejectHint,
    [property: Key(11)] byte[]? Context)
{
    public static Message Local(MessageType type, ulong from = 0) =>
        new(type, 0, from, 0, 0, 0, [], 0, null, false, 0, null);
}

/// <summary>A linearizable read is safe once the state machine has applied up to Index.</summary>
public sealed record ReadState(ulong Index, byte[] RequestContext);

public enum StateRole
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// <summary>Volatile state worth showing (and reacting to): who leads, and this peer's role.</summary>
public readonly record struct SoftState(ulong Lead, StateRole Role);

/// <summary>
/// What the core wants done, in this order: persist <see cref="Snapshot"/> (if any), then
/// <see cref="Entries"/> and <see cref="HardState"/> in ONE durable write; then send
/// <see cref="Messages"/>; then apply <see cref="CommittedEntries"/>; then call
/// <see cref="RaftNode.Advance"/>. Nothing in a Ready may be sent before its writes are durable.
/// With <see cref="RaftConfig.AsyncStorageWrites"/>, <see cref="Messages"/> may be sent at once and
/// <see cref="MessagesAfterWrite"/> only once this Ready's write (and so every earlier one) is
/// durable; <see cref="CommittedEntries"/> are all in storage already and may be applied at once.
/// </summary>
public sealed record Ready(
    SoftState? SoftState,
    HardState? HardState,
    ImmutableArray<Entry> Entries,
    Snapshot? Snapshot,
    ImmutableArray<Entry> CommittedEntries,
    ImmutableArray<Message> Messages,
    ImmutableArray<ReadState> ReadStates)
{
    public bool MustSync => HardState is not null || !Entries.IsDefaultOrEmpty || Snapshot is not null;

    /// <summary>Asynchronous writes only: messages to send once this Ready's write is durable.</summary>
    public ImmutableArray<Message> MessagesAfterWrite { get; init; } = [];

    /// <summary>Asynchronous writes: whether this Ready must be reported with RaftNode.ReportPersisted (a write, or messages waiting for one).</summary>
    public bool HasWrite => MustSync || !MessagesAfterWrite.IsDefaultOrEmpty;
}
