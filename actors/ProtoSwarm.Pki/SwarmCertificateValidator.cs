using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ProtoSwarm.Pki;

/// <summary>
/// Checks a TLS peer's certificate against the swarm's roots only (never the system store): a chain to a swarm
/// root, in its validity period, with the extended key usage for its side of the handshake, naming a node of this
/// cluster that has not been removed. More than one root is trusted during a CA rotation. Immutable: when the
/// removed nodes or the roots change, build a new validator and swap it in.
/// </summary>
public sealed class SwarmCertificateValidator
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2[] _roots;
    private readonly X509Certificate2[] _intermediates;
    private readonly IReadOnlySet<string> _removedNodeIds;
    private readonly TimeProvider _time;

    /// <param name="intermediates">
    /// Known intermediates, added to every chain: the cross-signed new root during a CA rotation, so a peer that
    /// presents only its own certificate from the new root is still checked against the old one.
    /// </param>
    public SwarmCertificateValidator(
        IEnumerable<X509Certificate2> roots, string clusterId, IReadOnlySet<string>? removedNodeIds = null, TimeProvider? time = null,
        IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        _roots = [.. roots];
        if (_roots.Length == 0)
            throw new ArgumentException("at least one swarm root is needed", nameof(roots));
        ClusterId = clusterId;
        _removedNodeIds = removedNodeIds ?? new HashSet<string>();
        _time = time ?? TimeProvider.System;
        _intermediates = [.. intermediates ?? []];
    }

    public string ClusterId { get; }

    public IReadOnlyList<X509Certificate2> Roots => _roots;

    /// <summary>The intermediates known besides the roots (the cross-signed new root during a CA rotation).</summary>
    public IReadOnlyList<X509Certificate2> Intermediates => _intermediates;

    public SwarmCertificateValidator WithRemovedNodes(IReadOnlySet<string> removedNodeIds) => new(_roots, ClusterId, removedNodeIds, _time, _intermediates);

    /// <summary>The same checks over other roots and intermediates (a CA rotation), keeping the removed nodes.</summary>
    public SwarmCertificateValidator WithRoots(IEnumerable<X509Certificate2> roots, IEnumerable<X509Certificate2> intermediates) =>
        new(roots, ClusterId, _removedNodeIds, _time, intermediates);

    /// <summary>
    /// This validator, also knowing the CA certificates among <paramref name="presented"/> that chain to its roots and
    /// that it did not know: what an accepted peer sent after its own certificate, the cross-signed new root during a
    /// CA rotation. That adds no trust (a peer presenting the same certificate was accepted anyway), but it lets this
    /// node accept the new root's certificates from peers that present only their own, as clients here do. A node
    /// that was down when a rotation started trusts only the old root; it learns the cross-signed root from the first
    /// manager it reaches, so the managers' connections back to it, which carry every answer (the heartbeat's, with
    /// the new roots), pass its handshake. Returns this validator when there is nothing to learn.
    /// </summary>
    public SwarmCertificateValidator WithIntermediatesFrom(IEnumerable<X509Certificate2> presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var learned = new List<X509Certificate2>();
        foreach (var certificate in presented)
        {
            if (IsCa(certificate) && !IsKnown(certificate, learned) && CheckChain(certificate, null) is null)
                learned.Add(X509CertificateLoader.LoadCertificate(certificate.RawData)); // the handshake disposes its own
        }
        return learned.Count == 0 ? this : new(_roots, ClusterId, _removedNodeIds, _time, [.. _intermediates, .. learned]);
    }

    private static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    private bool IsKnown(X509Certificate2 certificate, List<X509Certificate2> learned) =>
        _roots.Concat(_intermediates).Concat(learned).Any(c => c.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span));

    /// <summary>Whether the swarm removed this node (its certificate is refused from then on).</summary>
    public bool IsRemoved(string nodeId) => _removedNodeIds.Contains(nodeId);

    /// <param name="certificate">The peer's own certificate, null when it sent none.</param>
    /// <param name="usage">What the peer is in this handshake.</param>
    /// <param name="presentedIntermediates">What the peer sent after its certificate: the cross-signed root during a rotation.</param>
    public PeerValidation Validate(X509Certificate2? certificate, PeerUsage usage, IEnumerable<X509Certificate2>? presentedIntermediates = null)
    {
        if (certificate is null)
            return PeerValidation.Refused(CertificateRefusal.NoCertificate, "the peer presented no certificate");
        if (IsSelfSigned(certificate))
            return PeerValidation.Refused(CertificateRefusal.SelfSigned, $"the certificate '{certificate.Subject}' is self-signed, not issued by the swarm CA");

        return CheckChain(certificate, presentedIntermediates)
            ?? CheckUsage(certificate, usage)
            ?? CheckIdentity(certificate);
    }

    /// <summary>
    /// Same name and signed by its own key. The name alone would not do: a cross-signed root is issued by a
    /// different CA that has the same name, CN=swarm-ca.
    /// </summary>
    private static bool IsSelfSigned(X509Certificate2 certificate)
    {
        if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            return false;
        var parsed = X509Conversions.ToBouncyCastle(certificate);
        try
        {
            parsed.Verify(parsed.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return false;
        }
    }

    /// <summary>For SslStream and SocketsHttpHandler; the callback ignores the platform's verdict, which trusts the system store.</summary>
    public RemoteCertificateValidationCallback CreateCallback(PeerUsage usage, Action<PeerValidation>? observe = null) =>
        (_, certificate, chain, _) =>
        {
            var intermediates = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList();
            var result = certificate switch
            {
                null => Validate(null, usage, intermediates),
                X509Certificate2 c2 => Validate(c2, usage, intermediates),
                _ => ValidateCopy(certificate, usage, intermediates),
            };
            observe?.Invoke(result);
            return result.IsAccepted;
        };

    private PeerValidation ValidateCopy(X509Certificate certificate, PeerUsage usage, List<X509Certificate2>? intermediates)
    {
        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return Validate(copy, usage, intermediates);
    }

    private PeerValidation? CheckChain(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // removal is the swarm's revocation list
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        if (intermediates is not null)
            chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        chain.ChainPolicy.ExtraStore.AddRange(_intermediates);
        try
        {
            var built = chain.Build(certificate);
            var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            if (!built || flags != X509ChainStatusFlags.NoError)
                return Refusal(certificate, flags, chain);
            var root = chain.ChainElements[^1].Certificate;
            if (!_roots.Any(r => r.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span)))
                return PeerValidation.Refused(CertificateRefusal.UntrustedIssuer, $"the chain of '{certificate.Subject}' ends at '{root.Subject}', not a swarm root");
            return null;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                    element.Certificate.Dispose();
            }
        }
    }

    private PeerValidation Refusal(X509Certificate2 certificate, X509ChainStatusFlags flags, X509Chain chain)
    {
        const X509ChainStatusFlags Untrusted =
            X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid;
        var details = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
        if ((flags & Untrusted) != 0)
        {
            return PeerValidation.Refused(CertificateRefusal.UntrustedIssuer,
                $"'{certificate.Subject}' issued by '{certificate.Issuer}' does not chain to this swarm's CA ({flags}): another swarm's or a stranger's certificate");
        }
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            var now = _time.GetUtcNow();
            if (now < certificate.NotBefore.ToUniversalTime())
                return PeerValidation.Refused(CertificateRefusal.NotYetValid, $"'{certificate.Subject}' is valid only from {certificate.NotBefore.ToUniversalTime():u}; check the clocks");
            if (now > certificate.NotAfter.ToUniversalTime())
                return PeerValidation.Refused(CertificateRefusal.Expired, $"'{certificate.Subject}' expired at {certificate.NotAfter.ToUniversalTime():u}");
            return PeerValidation.Refused(CertificateRefusal.Expired, $"a CA certificate in the chain of '{certificate.Subject}' is out of its validity period");
        }
        return PeerValidation.Refused(CertificateRefusal.InvalidChain, $"the chain of '{certificate.Subject}' is invalid ({flags}): {details}");
    }

    private static PeerValidation? CheckUsage(X509Certificate2 certificate, PeerUsage usage)
    {
        if (IsCa(certificate))
            return PeerValidation.Refused(CertificateRefusal.WrongUsage, $"'{certificate.Subject}' is a CA certificate, not a node's");
        var (oid, name) = usage == PeerUsage.Client ? (ClientAuth, "clientAuth") : (ServerAuth, "serverAuth");
        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        var usages = eku?.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value) ?? [];
        return usages.Contains(oid)
            ? null
            : PeerValidation.Refused(CertificateRefusal.WrongUsage, $"'{certificate.Subject}' lacks the {name} extended key usage a TLS {usage.ToString().ToLowerInvariant()} needs");
    }

    private PeerValidation CheckIdentity(X509Certificate2 certificate)
    {
        if (!SwarmPeer.TryParse(certificate.SubjectName, out var peer, out var error))
            return PeerValidation.Refused(CertificateRefusal.NotANodeCertificate, error);
        if (!string.Equals(peer.ClusterId, ClusterId, StringComparison.Ordinal))
            return PeerValidation.Refused(CertificateRefusal.WrongCluster, $"node {peer.NodeId} belongs to cluster {peer.ClusterId}, not {ClusterId}");
        if (_removedNodeIds.Contains(peer.NodeId))
            return PeerValidation.Refused(CertificateRefusal.RemovedNode, $"node {peer.NodeId} was removed from the swarm");
        return PeerValidation.Accepted(peer);
    }
}
