using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Security;

/// <summary>The CA endpoint's paths and body format (one <see cref="ControlEnvelope"/>, MessagePack) on a node's Proto.Remote port.</summary>
public static class CaWire
{
    public const string RootPath = "/protoswarm.ca/root";
    public const string JoinPath = "/protoswarm.ca/join";
    public const string RenewPath = "/protoswarm.ca/renew";
    public const string ContentType = "application/vnd.protoswarm.envelope";

    /// <summary>Bodies are small (a CSR, a certificate); anything bigger is refused unread.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static byte[] Encode(object message) => ContractRegistry.SerializeTyped(ControlEnvelope.Wrap(message));

    public static object Decode(ReadOnlyMemory<byte> body) => ContractRegistry.Deserialize<ControlEnvelope>(body).Unwrap();
}
