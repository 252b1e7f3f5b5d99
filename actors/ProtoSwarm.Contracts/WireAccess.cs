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
