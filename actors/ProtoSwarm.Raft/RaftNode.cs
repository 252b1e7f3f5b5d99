namespace ProtoSwarm.Raft;

/// <summary>
/// One Raft peer as a pure state machine (etcd's raft.RawNode): no I/O, no threads, no clock.
/// The caller feeds it ticks and messages and drains <see cref="Ready"/> batches.
/// Implementation: see RaftNode.*.cs.
/// </summary>
public sealed partial class RaftNode
{
    // Public surface (implemented in the partial files):
    //   RaftNode(RaftConfig config, IRaftLog log)
    //   void Tick()
    //   void Step(Message message)                 // a message from a peer, or a local one
    //   bool Propose(byte[] data)                   // false when there is no leader to take it
    //   bool ProposeConfChange(ConfChange change)   // false when not leader, or one already pending
    //   void TransferLeadership(ulong to)
    //   void ReadIndex(byte[] requestContext)       // answered by a ReadState in a later Ready
    //   void Campaign()                             // start an election now (tests, force-new-cluster)
    //   ConfState ApplyConfChange(ConfChange change)// call when its entry is applied
    //   void ReportUnreachable(ulong id); void ReportSnapshot(ulong id, bool ok)
    //   bool HasReady(); Ready GetReady(); void Advance(Ready ready)
    //   RaftStatus Status { get; }
}

/// <summary>A peer's state for display and checks.</summary>
public sealed record RaftStatus(
    ulong Id,
    ulong Term,
    ulong Vote,
    ulong Lead,
    StateRole Role,
    ulong Commit,
    ulong Applied,
    ulong LastIndex,
    ConfState ConfState,
    IReadOnlyDictionary<ulong, PeerProgress> Progress);

/// <summary>What a leader knows of a follower: how far it has replicated.</summary>
public sealed record PeerProgress(ulong Match, ulong Next, bool RecentActive, bool Paused, bool IsLearner);
