namespace ProtoSwarm.Pki;

/// <summary>What the peer acts as in the TLS handshake, and so which extended key usage its certificate needs.</summary>
public enum PeerUsage
{
    Client,
    Server,
}
