namespace ProtoSwarm.Contracts;

/// <summary>
/// A request to the managers' API (<c>manager-api</c>): what an operator may do, from a manager's
/// control socket or with a client certificate (`protoswarm ca issue-client`). A worker's certificate
/// is refused with <see cref="RejectCode.PermissionDenied"/>.
/// </summary>
public interface IManagerApiRequest
{
    string RequestId { get; }
}

/// <summary>
/// A message only a manager node sends to another manager: Raft, and what one manager relays to the
/// leader on behalf of a caller it has authenticated itself (joins, certificate renewals). Refused from
/// workers and from client certificates.
/// </summary>
public interface IManagerPeerMessage;

/// <summary>
/// A message a node sends about itself: its heartbeat, its tasks' status, the answers it gives about its own
/// tasks. From a worker's certificate it is delivered only when <see cref="NodeId"/> is the node id that the
/// certificate names, so one worker can never beat, report or answer for another node. (A manager's
/// certificate is trusted with the whole store; an operator's sends none of these.)
/// </summary>
public interface INodeOwnMessage
{
    string NodeId { get; }
}
