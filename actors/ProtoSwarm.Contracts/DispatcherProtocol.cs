using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// Between a node's agent and the managers' dispatcher.

/// <summary>
/// A node asks to join with a token and a certificate signing request; the manager checks the token and
/// answers with the node's identity and its certificate. It arrives on a manager's CA endpoint (the joining
/// node has no certificate yet), which hands it to the managers' API.
/// </summary>
[MessagePackObject]
public sealed record JoinRequest(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Token,
    [property: Key(2)] string Addr,
    [property: Key(3)] NodeDescription Description,
    [property: Key(4)] string CsrPem = "",
    [property: Key(5)] int Port = 0) : IManagerPeerMessage;

[MessagePackObject]
public sealed record JoinAccepted(
    [property: Key(0)] string NodeId,
    [property: Key(1)] NodeRole Role,
    [property: Key(2)] string ClusterId,
    [property: Key(3)] ImmutableArray<ManagerAddress> Managers,
    [property: Key(4)] ulong RaftId = 0,
    [property: Key(5)] string CertificatePem = "",
    [property: Key(6)] string RootCaPem = "",
    [property: Key(7)] string IntermediatesPem = "");

[MessagePackObject]
public sealed record ManagerAddress(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string Addr,
    [property: Key(2)] bool Leader);

/// <summary>
/// Sent by every node's agent to the managers' dispatcher, every heartbeat period. AssignmentsEpoch
/// and AssignmentsSequence are the last <see cref="TaskAssignments"/> the agent applied, so the
/// leader resends the whole set when the node missed one or the leader changed.
/// </summary>
[MessagePackObject]
public sealed record NodeHeartbeat(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string ClusterId,
    [property: Key(2)] string Addr,
    [property: Key(3)] MemberInfo Member,
    [property: Key(4)] NodeDescription Description,
    [property: Key(5)] NodeRole Role,
    [property: Key(6)] string AssignmentsEpoch = "",
    [property: Key(7)] long AssignmentsSequence = 0) : INodeOwnMessage;

/// <summary>
/// The dispatcher's answer: when to beat next, the cluster members (the swarm's node list is the
/// Proto.Cluster member list), the managers, and the role the managers want this node in.
/// </summary>
[MessagePackObject]
public sealed record HeartbeatAck(
    [property: Key(0)] int PeriodMilliseconds,
    [property: Key(1)] ImmutableArray<MemberInfo> Members,
    [property: Key(2)] ImmutableArray<ManagerAddress> Managers,
    [property: Key(3)] NodeRole DesiredRole,
    [property: Key(4)] ulong RaftId = 0,
    [property: Key(5)] string TrustedRootsPem = "",
    [property: Key(6)] string IntermediatesPem = "",
    ImmutableArray<string> RemovedNodes = default)
{
    /// <summary>Nodes removed from the swarm: every node refuses their certificates, not only the managers.</summary>
    [Key(7)]
    public ImmutableArray<string> RemovedNodes { get; init; } = RemovedNodes.IsDefault ? [] : RemovedNodes;
}

/// <summary>
/// The dispatcher refuses a heartbeat: the node was removed, belongs to another swarm, this
/// manager is not the leader (LeaderAddr then says where to beat instead), or the cluster member
/// that sent it is blocked (MemberBlocked: the node must start a new member to count again).
/// </summary>
[MessagePackObject]
public sealed record HeartbeatRejected(
    [property: Key(0)] string Reason,
    [property: Key(1)] bool Removed,
    [property: Key(2)] string LeaderAddr = "",
    [property: Key(3)] bool MemberBlocked = false);


