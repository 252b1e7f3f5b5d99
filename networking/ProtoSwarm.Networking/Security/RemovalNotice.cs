using Grpc.Core;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// How a removed node learns it was removed. A Proto.Remote answer cannot reach it: answers to a node travel over
/// the manager's own connection to the node's listener, and the manager's TLS refuses the removed node's
/// certificate there (as it must, or the manager would keep sending it whatever is addressed to it). So a node's
/// listener lets a removed node's certificate through the handshake and refuses each of its calls with
/// PermissionDenied and this header naming the node; the node's own outgoing handler reads the header on a
/// manager's answer (<see cref="RemovalNoticeHandler"/>) and the node leaves. The refusal is all it gets.
/// </summary>
public static class RemovalNotice
{
    /// <summary>The response header (a gRPC trailer sent as a header: the call fails before any message) naming the removed node.</summary>
    public const string Header = "protoswarm-removed-node";

    /// <summary>The refusal of every call from a removed node.</summary>
    public static RpcException Refusal(string nodeId) => new(
        new Status(StatusCode.PermissionDenied,
            $"Node {nodeId} was removed from the swarm (`protoswarm node rm`); its certificate is no longer accepted. It leaves the swarm; join it again with a token (`protoswarm swarm join-token`)."),
        new Metadata { { Header, nodeId } });
}
