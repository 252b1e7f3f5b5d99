namespace ProtoSwarm.Pki;

/// <summary>The verdict on a peer's certificate: the node it speaks for, or why it was refused.</summary>
public sealed record PeerValidation(SwarmPeer? Peer, CertificateRefusal? Refusal, string Reason)
{
    public bool IsAccepted => Peer is not null;

    public static PeerValidation Accepted(SwarmPeer peer) => new(peer, null, "accepted");

    public static PeerValidation Refused(CertificateRefusal refusal, string reason) => new(null, refusal, reason);

    public override string ToString() => IsAccepted ? $"accepted {Peer}" : $"refused ({Refusal}): {Reason}";
}
