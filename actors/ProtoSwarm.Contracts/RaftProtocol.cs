using MessagePack;

namespace ProtoSwarm.Contracts;

// Between managers' Raft actors (named "raft"). The Raft message itself is the core's own
// MessagePack type, carried as bytes so Contracts stays free of the core.

/// <summary>One Raft message from one manager's peer to another's, in one swarm, with where to answer.</summary>
[MessagePackObject]
public sealed record RaftEnvelope(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] ulong From,
    [property: Key(2)] ulong To,
    [property: Key(3)] byte[] Message,
    [property: Key(4)] string FromAddress) : IManagerPeerMessage;

/// <summary>
/// A piece of a snapshot install: snapshots travel in chunks below the transport's message limit
/// and are stepped into the receiving peer once whole.
/// </summary>
[MessagePackObject]
public sealed record RaftSnapshotChunk(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] ulong From,
    [property: Key(2)] ulong To,
    [property: Key(3)] string TransferId,
    [property: Key(4)] int Sequence,
    [property: Key(5)] int Count,
    [property: Key(6)] byte[] Bytes,
    [property: Key(7)] string FromAddress) : IManagerPeerMessage;
