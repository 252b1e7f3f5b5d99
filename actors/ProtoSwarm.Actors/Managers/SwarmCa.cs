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
    /// Starts a CA rotation as swarmkit does: a new root signs from now on; the old root cross-signs it, so nodes that
    /// still trust only the old root accept certificates from the new one; both are trusted until every node holds
    /// a certificate from the new root (<see cref="FinishRotation"/>). The join tokens change, since they pin the root.
    /// </summary>
    public static ClusterObject StartRotation(ClusterObject cluster, DateTimeOffset now)
    {
        var current = Root(cluster);
        var next = RootCa.Create(now);
        return cluster with
        {
            RootCaPem = next.CertificatePem,
            RootCaKeyPem = next.ExportPrivateKeyPem(),
            PreviousRootCaPem = cluster.RootCaPem,
            CrossSignedRootPem = Pem.Write(current.CrossSign(next)),
            WorkerJoinToken = JoinTokens.New(next.Digest),
            ManagerJoinToken = JoinTokens.New(next.Digest),
        };
    }

    public static ClusterObject FinishRotation(ClusterObject cluster) =>
        cluster with { PreviousRootCaPem = string.Empty, CrossSignedRootPem = string.Empty };

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
