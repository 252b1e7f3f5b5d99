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
