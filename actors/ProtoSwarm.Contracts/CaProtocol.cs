using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// The swarm's certificate authority: what a manager's CA endpoint answers (before a node has a
// certificate, or to renew one), and what operators ask for.

/// <summary>The swarm's root certificate(s), fetched by a joining node without trusting them: it compares their digest with its token.</summary>
[MessagePackObject]
public sealed record CaRootInfo(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] string RootCaPem);

/// <summary>
/// A node asks for a new certificate for its own key pair (renewal, or after a role change). The node id is
/// the one the caller's TLS certificate names, filled in by the CA endpoint, never taken from the caller.
/// </summary>
[MessagePackObject]
public sealed record RenewCertificate(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeId,
    [property: Key(2)] string CsrPem) : IManagerPeerMessage;

/// <summary>`protoswarm ca issue-client`: a certificate for an operator's client (the CLI's client actor, the .NET client library).</summary>
[MessagePackObject]
public sealed record IssueClientCertificate(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string CsrPem,
    [property: Key(2)] string Name) : IManagerApiRequest;

/// <summary>A certificate signed by the swarm's CA, with the root to trust and the role it grants.</summary>
/// <summary>
/// A certificate signed by the swarm's CA, with the roots to trust (two during a CA rotation), the
/// cross-signed new root to present after it (during a rotation), and the role it grants.
/// </summary>
[MessagePackObject]
public sealed record CertificateIssued(
    [property: Key(0)] string CertificatePem,
    [property: Key(1)] string RootCaPem,
    [property: Key(2)] NodeRole Role,
    [property: Key(3)] string SubjectId,
    [property: Key(4)] string IntermediatesPem = "");

/// <summary>
/// `swarm ca [--rotate [--ca-cert FILE --ca-key FILE]]`: the current root, or a root (new, or the given one,
/// cross-signed by the active one) that every node moves to; it replaces a rotation still in progress.
/// </summary>
[MessagePackObject]
public sealed record RotateCa(
    [property: Key(0)] string RequestId,
    [property: Key(1)] bool Rotate,
    string CaCertPem = "",
    string CaKeyPem = "",
    [property: Key(4)] long? CertExpirySeconds = null,
    ImmutableArray<ExternalCa> ExternalCas = default) : IManagerApiRequest
{
    /// <summary>The root's certificate (PEM); empty for a new root, and from a CLI of an earlier version.</summary>
    [Key(2)]
    public string CaCertPem { get; init; } = CaCertPem ?? string.Empty;

    /// <summary>The root's private key (PEM, PKCS#8), with <see cref="CaCertPem"/>; empty with a certificate when an
    /// external CA (<see cref="ExternalCas"/>, or one already in the swarm for that root) signs with it.</summary>
    [Key(3)]
    public string CaKeyPem { get; init; } = CaKeyPem ?? string.Empty;

    /// <summary>`--external-ca`: the swarm's external CAs from now on; empty leaves them as they are. With
    /// <see cref="CertExpirySeconds"/> (`--cert-expiry`, null leaves it) a setting the rotation changes too.</summary>
    [Key(5)]
    public ImmutableArray<ExternalCa> ExternalCas { get; init; } = ExternalCas.IsDefault ? [] : ExternalCas;

    /// <summary>The key stays out of logs and test output.</summary>
    public override string ToString() =>
        $"RotateCa {{ RequestId = {RequestId}, Rotate = {Rotate}, CaCertPem = {(CaCertPem.Length > 0 ? "(given)" : "(none)")}, CaKeyPem = {(CaKeyPem.Length > 0 ? "(redacted)" : "(none)")}, CertExpirySeconds = {CertExpirySeconds}, ExternalCas = [{string.Join(", ", ExternalCas.IsDefault ? [] : ExternalCas)}] }}";
}

/// <summary>
/// The root and how far a rotation has got: nodes holding a certificate from the current root, of all nodes, and
/// nodes that report trusting exactly the roots the swarm wants trusted (<see cref="TrustRoot"/>: docker's "rotated CA
/// certificates"), which they do once the rotation has ended and their next heartbeat told them. TrustRoot is empty
/// from a manager of an earlier version, which counts no trust.
/// </summary>
[MessagePackObject]
public sealed record CaStatus(
    [property: Key(0)] string RootCaPem,
    [property: Key(1)] bool RotationInProgress,
    [property: Key(2)] int NodesRenewed,
    [property: Key(3)] int Nodes,
    [property: Key(4)] int NodesTrustingRoot = 0,
    [property: Key(5)] string TrustRoot = "");

/// <summary>`protoswarm swarm update`: the swarm-wide settings; null leaves a setting as it is.</summary>
[MessagePackObject]
public sealed record UpdateSwarm(
    [property: Key(0)] string RequestId,
    [property: Key(1)] long? CertExpirySeconds,
    [property: Key(2)] bool? AutoLock = null,
    [property: Key(3)] long? DispatcherHeartbeatMs = null,
    [property: Key(4)] long? TaskHistoryLimit = null,
    ImmutableArray<ExternalCa> ExternalCas = default) : IManagerApiRequest
{
    /// <summary>`--external-ca`: the swarm's external CAs from now on; empty leaves them as they are (docker's CLI
    /// cannot clear them either).</summary>
    [Key(5)]
    public ImmutableArray<ExternalCa> ExternalCas { get; init; } = ExternalCas.IsDefault ? [] : ExternalCas;
}

/// <summary>The settings after an update; the unlock key when autolock was just turned on (docker prints it then).</summary>
[MessagePackObject]
public sealed record SwarmUpdated(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] long CertExpirySeconds,
    [property: Key(2)] bool AutoLock = false,
    [property: Key(3)] string NewUnlockKey = "");

/// <summary>`swarm unlock-key [--rotate]`.</summary>
[MessagePackObject]
public sealed record GetUnlockKey(
    [property: Key(0)] string RequestId,
    [property: Key(1)] bool Rotate = false) : IManagerApiRequest;

/// <summary>The swarm's unlock key; empty when autolock is off.</summary>
[MessagePackObject]
public sealed record UnlockKeyInfo([property: Key(0)] string UnlockKey);

/// <summary>
/// An external certificate authority the managers forward node CSRs to (`--external-ca protocol=cfssl,url=URL[,cacert=FILE]`,
/// docker's ExternalCA): a CFSSL server's sign endpoint, which must answer over HTTPS with a certificate chaining
/// to the swarm's root. <see cref="CaCertPem"/> is the root CA certificate it signs with (swarmkit's CACert; empty:
/// the swarm's root when it was set), which the managers also trust for the server's own TLS certificate.
/// </summary>
[MessagePackObject]
public sealed record ExternalCa(
    [property: Key(0)] string Protocol,
    [property: Key(1)] string Url,
    [property: Key(2)] string CaCertPem = "")
{
    /// <summary>The one protocol docker and swarmkit know.</summary>
    public const string Cfssl = "cfssl";

    /// <summary>As docker's `info` lists it.</summary>
    public override string ToString() => $"{Protocol}: {Url}";
}
