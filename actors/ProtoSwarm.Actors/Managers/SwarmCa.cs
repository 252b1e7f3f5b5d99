using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The swarm's certificate authority as the managers run it. The root certificate and its key live in the
/// cluster object, so in the Raft store, which is sealed on disk like every entry; the leader's API signs.
/// </summary>
public static class SwarmCa
{
    /// <summary>A new swarm's cluster object: its id, a new root CA, and a token per role that pins that root.</summary>
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
            autoLock ? Persistence.Sealing.UnlockKey.Create().Text : string.Empty);
    }

    /// <summary>A node certificate for the CSR's key, naming the node, its role and its address.</summary>
    /// <exception cref="CsrRejectedException">The CSR is not a valid P-256 request.</exception>
    public static CertificateIssued IssueNode(ClusterObject cluster, string csrPem, string nodeId, NodeRole role, string addr, DateTimeOffset now)
    {
        var root = Root(cluster);
        var sans = IPAddress.TryParse(addr, out var ip) ? new[] { ip } : [];
        var issued = root.Issue(ReadCsr(csrPem), nodeId, role, cluster.ClusterId, sans, cluster.NodeCertExpiry, now);
        return new CertificateIssued(Pem.Write(issued), cluster.RootCaPem, role, nodeId);
    }

    /// <summary>An operator's client certificate: the managers' API, nothing a node does.</summary>
    public static CertificateIssued IssueClient(ClusterObject cluster, string csrPem, string clientId, DateTimeOffset now)
    {
        var issued = Root(cluster).IssueClient(ReadCsr(csrPem), clientId, cluster.ClusterId, cluster.NodeCertExpiry, now);
        return new CertificateIssued(Pem.Write(issued), cluster.RootCaPem, NodeRole.Worker, clientId);
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
