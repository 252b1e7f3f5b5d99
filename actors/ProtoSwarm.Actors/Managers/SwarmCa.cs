using System.Net;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The swarm's certificate authority as the managers run it. The root certificate and its key live in the
/// cluster object, so in the Raft store, which is sealed on disk like every entry; the leader's API signs.
/// </summary>
public static class SwarmCa
{
    /// <summary>A new swarm's cluster object: its id, a new root CA, a join token per role that pins that root, and the registry's pull and push tokens.</summary>
    public static ClusterObject NewCluster(DateTimeOffset now, ulong snapshotInterval, bool autoLock = false)
    {
        var root = RootCa.Create(now);
        return new ClusterObject(
            ClusterObject.DefaultId,
            ObjectMeta.New(now),
            SwarmIds.New(),
            JoinTokens.New(root.Digest),
            JoinTokens.New(root.Digest),
            snapshotInterval,
            root.CertificatePem,
            root.ExportPrivateKeyPem(),
            (long)ClusterObject.DefaultNodeCertExpiry.TotalSeconds,
            [],
            autoLock,
            autoLock ? Persistence.Sealing.UnlockKey.Create().Text : string.Empty,
            RegistryPullToken: RegistryTokens.New(),
            RegistryPushToken: RegistryTokens.New());
    }

    /// <summary>A node certificate for the CSR's key, naming the node, its role and its address.</summary>
    /// <exception cref="CsrRejectedException">The CSR is not a valid P-256 request.</exception>
    public static CertificateIssued IssueNode(ClusterObject cluster, string csrPem, string nodeId, NodeRole role, string addr, DateTimeOffset now)
    {
        var root = Root(cluster);
        var sans = IPAddress.TryParse(addr, out var ip) ? new[] { ip } : [];
        var issued = root.Issue(ReadCsr(csrPem), nodeId, role, cluster.ClusterId, sans, cluster.NodeCertExpiry, now);
        return new CertificateIssued(Pem.Write(issued), cluster.TrustedRootsPem, role, nodeId, cluster.CrossSignedRootPem);
    }

    /// <summary>Whether the root that signs now has its key in the swarm; when not, an external CA signs (<see cref="ExternalSigners"/>).</summary>
    public static bool SignsLocally(ClusterObject cluster) => cluster.RootCaKeyPem.Length > 0;

    /// <summary>Whether the swarm can sign certificates at all: with the root's key, or through an external CA that signs with that root.</summary>
    public static bool CanSign(ClusterObject cluster) => SignsLocally(cluster) || ExternalSigners(cluster).Count > 0;

    /// <summary>
    /// The external CAs that sign with the root that signs now, in the order given, as swarmkit's filterExternalCAURLS:
    /// CFSSL ones whose CA certificate is that root; one given without a certificate is taken to sign with the swarm's
    /// active root (the one before any rotation in progress), as swarmkit assumes for a spec without one.
    /// </summary>
    public static IReadOnlyList<ExternalCa> ExternalSigners(ClusterObject cluster)
    {
        var active = cluster.PreviousRootCaPem.Length > 0 ? cluster.PreviousRootCaPem : cluster.RootCaPem;
        return [.. cluster.ExternalCas.Where(ca => ca.Protocol == ExternalCa.Cfssl && SameCertificate(ca.CaCertPem.Length > 0 ? ca.CaCertPem : active, cluster.RootCaPem))];
    }

    /// <summary>
    /// Checks a list of external CAs an operator gives (`--external-ca`): CFSSL, an absolute https URL, and a CA
    /// certificate that parses when one is given. Returns null, or what is wrong and how to fix it.
    /// </summary>
    public static string? CheckExternalCas(IEnumerable<ExternalCa> cas)
    {
        foreach (var ca in cas)
        {
            if (ca.Protocol != ExternalCa.Cfssl)
            {
                return $"--external-ca url={ca.Url}: unrecognized external CA protocol '{ca.Protocol}'; the one protocol is cfssl";
            }

            if (!Uri.TryCreate(ca.Url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Host.Length == 0)
            {
                return $"--external-ca url={ca.Url}: give the CFSSL server's https URL, e.g. url=https://ca.example.com:8888 (its sign endpoint {CfsslSigner.SignPath} is added when the URL has no path)";
            }

            if (ca.CaCertPem.Length > 0 && !IsOneCertificate(ca.CaCertPem))
            {
                return $"--external-ca url={ca.Url}: its CA certificate (cacert=) is not one PEM certificate";
            }
        }

        return null;
    }

    private static bool IsOneCertificate(string pem)
    {
        try
        {
            return Pem.ReadCertificates(pem).Count == 1;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            return false;
        }
    }

    /// <summary>
    /// The request an external CA gets for a node's CSR (checked first, as the swarm's own CA checks it), with the
    /// identity the managers decided: the CN node id, OU role (or swarm-client), O cluster id.
    /// </summary>
    /// <exception cref="CsrRejectedException">The CSR is not a valid P-256 request.</exception>
    public static CfsslSignRequest ExternalSignRequest(string csrPem, SwarmPeer peer, string addr)
    {
        ArgumentNullException.ThrowIfNull(peer);
        RootCa.CheckRequest(ReadCsr(csrPem));
        var unit = peer.IsClient ? SwarmRoles.ClientUnit : SwarmRoles.ToUnit(peer.Role);
        List<string> hosts = [unit, peer.NodeId];
        if (!peer.IsClient && peer.Role == NodeRole.Manager)
        {
            hosts.Add(SwarmRoles.CaCommonName);
        }

        if (IPAddress.TryParse(addr, out _))
        {
            hosts.Add(addr);
        }

        return new CfsslSignRequest(csrPem, peer.NodeId, unit, peer.ClusterId, hosts);
    }

    /// <summary>Why a certificate an external CA answered cannot be handed out (<see cref="ExternalCertificateCheck"/>), or null.</summary>
    public static string? CheckExternalCertificate(ClusterObject cluster, string certificatePem, string csrPem, SwarmPeer peer, DateTimeOffset now) =>
        ExternalCertificateCheck.Check(certificatePem, ReadCsr(csrPem), peer, Pem.ReadCertificate(cluster.RootCaPem), now, out var error) is null ? error : null;

    /// <summary>A certificate an external CA signed and <see cref="CheckExternalCertificate"/> accepted, as the swarm hands it out.</summary>
    public static CertificateIssued ExternallyIssued(ClusterObject cluster, string certificatePem, SwarmPeer peer) =>
        new(Pem.Write(Pem.ReadCertificates(certificatePem)[0]), cluster.TrustedRootsPem, peer.Role, peer.NodeId, cluster.CrossSignedRootPem);

    /// <summary>When an issued certificate expires: a removed node is denied until then (<see cref="RemovedNodeList"/>).</summary>
    public static DateTimeOffset NotAfter(CertificateIssued issued) =>
        new(Pem.ReadCertificate(issued.CertificatePem).NotAfter, TimeSpan.Zero);

    /// <summary>The digest of the root that signs now; a node whose certificate has it is done with a rotation.</summary>
    public static string CurrentRootDigest(ClusterObject cluster) =>
        CaDigest.OfCertificate(Pem.ReadCertificate(cluster.RootCaPem)).ToString();

    /// <summary>
    /// The swarm's TLS info, docker's ClusterInfo.TLSInfo: the roots every node must trust (both during a rotation,
    /// the new one alone after it) and the root that signs now, as the issuer a node's certificate must have. A node
    /// whose own info (<see cref="NodeTlsInfoOf"/>) equals it is done
    /// with any rotation: "Ready" in `node ls`.
    /// </summary>
    public static NodeTlsInfo ClusterTlsInfo(ClusterObject cluster)
    {
        var roots = X509Conversions.ReadCertificates(cluster.TrustedRootsPem);
        using var signing = X509Conversions.ToX509Certificate2(Pem.ReadCertificate(cluster.RootCaPem));
        return Info(CertificateIssuer.TrustRootPem(roots), CertificateIssuer.Of(signing));
    }

    /// <summary>
    /// A node's TLS info as it reports it in its heartbeats: the roots it trusts and the issuer of its certificate,
    /// found among those roots and the intermediates it knows; an issuer it
    /// cannot find is left empty, which `node ls` shows as "Needs Rotation".
    /// </summary>
    public static NodeTlsInfo NodeTlsInfoOf(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> roots, IEnumerable<X509Certificate2> intermediates) =>
        Info(CertificateIssuer.TrustRootPem(roots), CertificateIssuer.Find(certificate, roots.Concat(intermediates)));

    private static NodeTlsInfo Info(string trustRoot, CertificateIssuer? issuer) =>
        new(trustRoot,
            issuer is null ? string.Empty : Convert.ToBase64String(issuer.Subject),
            issuer is null ? string.Empty : Convert.ToBase64String(issuer.PublicKey));

    /// <summary>
    /// Starts a CA rotation to a new root (`swarm ca --rotate`), replacing one still in progress
    /// (<see cref="RotateTo"/>).
    /// </summary>
    public static ClusterObject StartRotation(ClusterObject cluster, DateTimeOffset now) =>
        RotateTo(cluster, RootCa.Create(now)).Cluster;

    /// <summary>
    /// Moves the swarm toward <paramref name="desired"/> as swarmkit's validateCAConfig does. A new root signs from
    /// now on; the active root (the one before any rotation in progress) cross-signs it, so nodes that still trust only
    /// the active root accept certificates from the new one; both are trusted until every node holds a certificate from
    /// the new root (<see cref="FinishRotationIfDone"/>). The join tokens change, since they pin the root.
    /// <list type="bullet">
    /// <item>A rotation in progress is replaced, not refused: the new root is cross-signed by the active root, not by
    /// the abandoned one, and every node's progress restarts toward the new root. The abandoned root stays trusted
    /// (<see cref="ClusterObject.RetiredRootsPem"/>) while nodes may hold its certificates, so none is cut off; their
    /// roots change, so they renew.</item>
    /// <item>The root already in progress: nothing changes.</item>
    /// <item>The active root while a rotation is in progress: the rotation is cancelled; the active root signs again,
    /// and nodes that renewed to the abandoned root renew back.</item>
    /// </list>
    /// </summary>
    /// <exception cref="RootRotationRefusedException">The rotation in progress was started by an earlier version that
    /// did not keep the active root's key.</exception>
    /// <exception cref="ArgumentException"><paramref name="desired"/> has the active root's key under another certificate.</exception>
    public static (ClusterObject Cluster, RootChange Change) RotateTo(ClusterObject cluster, RootCa desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return RotateTo(cluster, desired.Certificate, desired.ExportPrivateKeyPem());
    }

    /// <summary>
    /// <see cref="RotateTo(ClusterObject, RootCa)"/> to a root whose key is not in the swarm (`swarm ca --rotate --ca-cert FILE
    /// --external-ca ...`): an external CA signs with it (<see cref="ExternalSigners"/>); the active root still cross-signs it.
    /// </summary>
    public static (ClusterObject Cluster, RootChange Change) RotateToExternal(ClusterObject cluster, Org.BouncyCastle.X509.X509Certificate desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return RotateTo(cluster, desired, string.Empty);
    }

    private static (ClusterObject Cluster, RootChange Change) RotateTo(ClusterObject cluster, Org.BouncyCastle.X509.X509Certificate desired, string desiredKeyPem)
    {
        var desiredPem = Pem.Write(desired);
        var activePem = cluster.PreviousRootCaPem.Length > 0 ? cluster.PreviousRootCaPem : cluster.RootCaPem;
        if (SameCertificate(desiredPem, activePem))
        {
            if (cluster.PreviousRootCaPem.Length == 0)
            {
                return (cluster, RootChange.Unchanged);
            }

            var active = ActiveRoot(cluster);

            var cancelled = cluster with
            {
                RootCaPem = active.CertificatePem,
                RootCaKeyPem = active.ExportPrivateKeyPem(),
                PreviousRootCaPem = string.Empty,
                PreviousRootCaKeyPem = string.Empty,
                CrossSignedRootPem = string.Empty,
                RetiredRootsPem = Retire(cluster, active.CertificatePem),
                WorkerJoinToken = JoinTokens.New(active.Digest),
                ManagerJoinToken = JoinTokens.New(active.Digest),
            };
            return (cancelled, RootChange.Cancelled);
        }

        if (cluster.PreviousRootCaPem.Length > 0 && SameCertificate(desiredPem, cluster.RootCaPem))
        {
            return (cluster, RootChange.Unchanged);
        }

        if (desired.GetPublicKey().Equals(Pem.ReadCertificate(activePem).GetPublicKey()))
        {
            throw new ArgumentException("the new root CA certificate has the same key as the current one; a rotation needs a new key");
        }

        var activeRoot = ActiveRoot(cluster);
        var digest = CaDigest.OfCertificate(desired);
        var rotated = cluster with
        {
            RootCaPem = desiredPem,
            RootCaKeyPem = desiredKeyPem,
            PreviousRootCaPem = activeRoot.CertificatePem,
            PreviousRootCaKeyPem = activeRoot.ExportPrivateKeyPem(),
            CrossSignedRootPem = Pem.Write(activeRoot.CrossSign(desired)),
            RetiredRootsPem = Retire(cluster, desiredPem, activeRoot.CertificatePem),
            WorkerJoinToken = JoinTokens.New(digest),
            ManagerJoinToken = JoinTokens.New(digest),
        };
        return (rotated, cluster.RootRotationInProgress ? RootChange.Replaced : RootChange.Started);
    }

    /// <summary>The shortest remaining life a given root may have: one year, as swarmkit's minRootExpiration.</summary>
    public static readonly TimeSpan MinimumRootLifetime = TimeSpan.FromDays(365);

    /// <summary>
    /// A root an operator gives (`swarm ca --rotate --ca-cert FILE --ca-key FILE`), checked as swarmkit checks a
    /// desired CA: one self-signed CA certificate, valid now and for at least a year more, with its EC private key.
    /// </summary>
    /// <returns>The root, or null and <paramref name="error"/> saying what is wrong and how to fix it.</returns>
    public static RootCa? ReadRoot(string certificatePem, string keyPem, DateTimeOffset now, out string error)
    {
        error = string.Empty;
        if (certificatePem.Length == 0 || keyPem.Length == 0)
        {
            error = "a root CA needs both its certificate (--ca-cert) and its private key (--ca-key), or an external CA that signs with it (--ca-cert with --external-ca protocol=cfssl,url=...)";
            return null;
        }

        if (ReadRootCertificate(certificatePem, now, out error) is not { } certificate)
        {
            return null;
        }

        try
        {
            return RootCa.FromPem(Pem.Write(certificate), keyPem);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or InvalidCastException or Org.BouncyCastle.Security.SecurityUtilityException)
        {
            error = $"the --ca-key file is not the certificate's EC private key in PEM (-----BEGIN PRIVATE KEY-----): {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// A root certificate an operator gives, checked as <see cref="ReadRoot"/> checks it but without a key: the root
    /// an external CA signs with (`swarm ca --rotate --ca-cert FILE --external-ca ...`).
    /// </summary>
    public static Org.BouncyCastle.X509.X509Certificate? ReadRootCertificate(string certificatePem, DateTimeOffset now, out string error)
    {
        error = string.Empty;
        IReadOnlyList<Org.BouncyCastle.X509.X509Certificate> certificates;
        try
        {
            certificates = Pem.ReadCertificates(certificatePem);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            certificates = [];
        }

        if (certificates.Count != 1)
        {
            error = certificates.Count == 0
                ? "the --ca-cert file holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                : $"the --ca-cert file holds {certificates.Count} certificates; give the root CA certificate alone";
            return null;
        }

        var certificate = certificates[0];
        if (certificate.GetBasicConstraints() < 0)
        {
            error = "the --ca-cert certificate is not a CA certificate (basicConstraints CA:TRUE)";
            return null;
        }

        if (!certificate.SubjectDN.Equivalent(certificate.IssuerDN) || !SignedBy(certificate, certificate))
        {
            error = "the --ca-cert certificate is not self-signed; a swarm root CA must be a root, not an intermediate";
            return null;
        }

        if (now < new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero) || new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero) < now + MinimumRootLifetime)
        {
            error = $"the --ca-cert certificate is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}; a root CA must be valid now and for at least a year more";
            return null;
        }

        return certificate;
    }

    private static bool SignedBy(Org.BouncyCastle.X509.X509Certificate certificate, Org.BouncyCastle.X509.X509Certificate issuer)
    {
        try
        {
            certificate.Verify(issuer.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException or Org.BouncyCastle.Security.SignatureException)
        {
            return false;
        }
    }

    /// <summary>
    /// The root the swarm had before any rotation in progress (the one that signs when none is), with its key:
    /// what cross-signs a new root.
    /// </summary>
    private static RootCa ActiveRoot(ClusterObject cluster)
    {
        if (cluster.PreviousRootCaPem.Length == 0)
        {
            return cluster.RootCaKeyPem.Length > 0
                ? Root(cluster)
                : throw new RootRotationRefusedException(
                    "the swarm's root CA key is not in the swarm (an external CA signs with it), and a new root must be cross-signed by the current one; ProtoSwarm cannot have an external CA cross-sign a root yet");
        }

        return cluster.PreviousRootCaKeyPem.Length > 0
            ? RootCa.FromPem(cluster.PreviousRootCaPem, cluster.PreviousRootCaKeyPem)
            : throw new RootRotationRefusedException(
                "the root CA rotation in progress was started by an earlier version, which did not keep the previous root's key to cross-sign another root with; wait for every node to renew (or remove the nodes that are gone for good), then rotate again");
    }

    /// <summary>
    /// The roots to keep trusting besides the signing and active ones: those already retired and the root that
    /// signed until now when it is being abandoned, less <paramref name="kept"/> (roots trusted anyway).
    /// </summary>
    private static string Retire(ClusterObject cluster, params string[] kept)
    {
        var retired = Pem.ReadCertificates(cluster.RetiredRootsPem).Select(Pem.Write).ToList();
        if (cluster.PreviousRootCaPem.Length > 0)
        {
            retired.Add(cluster.RootCaPem);
        }

        return string.Concat(retired
            .Where(r => !kept.Any(k => SameCertificate(r, k)))
            .DistinctBy(r => CaDigest.OfCertificate(Pem.ReadCertificate(r)).ToString()));
    }

    private static bool SameCertificate(string pemA, string pemB) =>
        Pem.ReadCertificate(pemA).Equals(Pem.ReadCertificate(pemB));

    /// <summary>The rotation's end: the new root alone is trusted; the previous, retired and cross-signed roots and the kept key go.</summary>
    public static ClusterObject FinishRotation(ClusterObject cluster) =>
        cluster with { PreviousRootCaPem = string.Empty, PreviousRootCaKeyPem = string.Empty, CrossSignedRootPem = string.Empty, RetiredRootsPem = string.Empty };

    /// <summary>
    /// The cluster with its rotation finished when every node of <paramref name="nodes"/> (the swarm's nodes as
    /// they will be) holds a certificate from the root that signs now; null when no rotation is running or a node
    /// still lags. Asked at every change of the set of nodes or of their roots: the last lagging node may renew,
    /// but it may also be removed (`node rm` of a node gone for good), and neither a removal nor a join renews
    /// anyone, so a rotation checked on renewals only would wait for one that never comes.
    /// </summary>
    public static ClusterObject? FinishRotationIfDone(ClusterObject cluster, IEnumerable<NodeObject> nodes)
    {
        if (!cluster.RootRotationInProgress)
        {
            return null;
        }

        var digest = CurrentRootDigest(cluster);
        return nodes.All(n => n.CertRootDigest == digest) ? FinishRotation(cluster) : null;
    }

    /// <summary>An operator's client certificate: the managers' API, nothing a node does.</summary>
    public static CertificateIssued IssueClient(ClusterObject cluster, string csrPem, string clientId, DateTimeOffset now)
    {
        var issued = Root(cluster).IssueClient(ReadCsr(csrPem), clientId, cluster.ClusterId, cluster.NodeCertExpiry, now);
        return new CertificateIssued(Pem.Write(issued), cluster.TrustedRootsPem, NodeRole.Worker, clientId, cluster.CrossSignedRootPem);
    }

    private static RootCa Root(ClusterObject cluster) =>
        string.IsNullOrEmpty(cluster.RootCaKeyPem)
            ? throw new InvalidOperationException("this swarm's cluster record holds no CA key")
            : RootCa.FromPem(cluster.RootCaPem, cluster.RootCaKeyPem);

    private static NodeCsr ReadCsr(string csrPem)
    {
        try
        {
            return NodeCsr.FromPem(csrPem);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new CsrRejectedException("the certificate signing request is not PEM-encoded (-----BEGIN CERTIFICATE REQUEST-----)", e);
        }
    }
}
