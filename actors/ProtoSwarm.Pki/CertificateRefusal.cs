namespace ProtoSwarm.Pki;

/// <summary>Why a peer's certificate was refused, one value per case an operator would look into differently.</summary>
public enum CertificateRefusal
{
    NoCertificate,
    SelfSigned,
    UntrustedIssuer,
    Expired,
    NotYetValid,
    InvalidChain,
    WrongUsage,
    NotANodeCertificate,
    WrongCluster,
    RemovedNode,
}

/// <summary>What the peer acts as in the TLS handshake, and so which extended key usage its certificate needs.</summary>
public enum PeerUsage
{
    Client,
    Server,
}

/// <summary>The verdict on a peer's certificate: the node it speaks for, or why it was refused.</summary>
public sealed record PeerValidation(SwarmPeer? Peer, CertificateRefusal? Refusal, string Reason)
{
    public bool IsAccepted => Peer is not null;

    public static PeerValidation Accepted(SwarmPeer peer) => new(peer, null, "accepted");

    public static PeerValidation Refused(CertificateRefusal refusal, string reason) => new(null, refusal, reason);

    public override string ToString() => IsAccepted ? $"accepted {Peer}" : $"refused ({Refusal}): {Reason}";
}
