using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// The TLS info a node reports (the roots it trusts, its certificate's issuer) against the swarm's (docker's
/// ClusterInfo.TLSInfo), through a real CA rotation: what `node ls` shows as TLS STATUS at each step.
/// </summary>
public class SwarmCaTlsInfoTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void The_Swarms_Info_Names_The_Root_That_Signs_As_Issuer_In_Dockers_Base64_Of_Der()
    {
        var cluster = SwarmCa.NewCluster(Now, 0);
        using var root = X509Certificate2.CreateFromPem(cluster.RootCaPem);

        var info = SwarmCa.ClusterTlsInfo(cluster);

        Assert.Equal(Convert.ToBase64String(root.SubjectName.RawData), info.CertIssuerSubject);
        Assert.Equal(Convert.ToBase64String(root.PublicKey.ExportSubjectPublicKeyInfo()), info.CertIssuerPublicKey);
        Assert.Equal(root.PublicKey.ExportSubjectPublicKeyInfo().Length, Convert.FromBase64String(info.CertIssuerPublicKey).Length);
        Assert.Equal(cluster.RootCaPem, info.TrustRoot);
    }

    [Fact]
    public void A_Node_On_The_Current_Root_Reports_The_Swarms_Info_And_Is_Ready()
    {
        var cluster = SwarmCa.NewCluster(Now, 0);
        using var node = Issue(cluster);

        var info = Reported(node, cluster.TrustedRootsPem, string.Empty);

        Assert.Equal(SwarmCa.ClusterTlsInfo(cluster), info);
        Assert.Equal("Ready", NodeView.TlsStatus(info, SwarmCa.ClusterTlsInfo(cluster)));
    }

    [Fact]
    public void Through_A_Rotation_A_Node_Needs_Rotation_Until_It_Has_Renewed_And_Trusts_The_New_Root_Alone()
    {
        var before = SwarmCa.NewCluster(Now, 0);
        using var old = Issue(before);
        var during = SwarmCa.StartRotation(before, Now);
        var wanted = SwarmCa.ClusterTlsInfo(during);

        // Told of the rotation, not yet renewed: it trusts both roots, its certificate is from the old one.
        var lagging = Reported(old, during.TrustedRootsPem, during.CrossSignedRootPem);
        Assert.Equal(wanted.TrustRoot, lagging.TrustRoot);
        Assert.NotEqual(wanted.CertIssuerPublicKey, lagging.CertIssuerPublicKey);
        Assert.Equal(wanted.CertIssuerSubject, lagging.CertIssuerSubject); // both roots are CN=swarm-ca: the key tells them apart
        Assert.Equal("Needs Rotation", NodeView.TlsStatus(lagging, wanted));

        // Renewed from the new root (which the cross-signed root also stands for): done with its part.
        using var renewed = Issue(during);
        Assert.Equal("Ready", NodeView.TlsStatus(Reported(renewed, during.TrustedRootsPem, during.CrossSignedRootPem), wanted));

        // The rotation ends: the swarm trusts the new root alone; the node too, once its heartbeat's answer told it.
        var after = SwarmCa.FinishRotation(during);
        var done = SwarmCa.ClusterTlsInfo(after);
        Assert.Equal("Needs Rotation", NodeView.TlsStatus(Reported(renewed, during.TrustedRootsPem, during.CrossSignedRootPem), done));
        Assert.Equal("Ready", NodeView.TlsStatus(Reported(renewed, after.TrustedRootsPem, string.Empty), done));
    }

    [Fact]
    public void A_Node_Whose_Issuer_Is_Not_Among_What_It_Trusts_Reports_No_Issuer()
    {
        var mine = SwarmCa.NewCluster(Now, 0);
        var other = SwarmCa.NewCluster(Now, 0);
        using var node = Issue(other);

        var info = Reported(node, mine.TrustedRootsPem, string.Empty);

        Assert.Equal((string.Empty, string.Empty), (info.CertIssuerSubject, info.CertIssuerPublicKey));
        Assert.Equal("Needs Rotation", NodeView.TlsStatus(info, SwarmCa.ClusterTlsInfo(mine)));
    }

    [Fact]
    public void The_Trust_Root_Compares_Whatever_Line_Endings_The_Roots_Were_Read_From()
    {
        var cluster = SwarmCa.NewCluster(Now, 0);
        using var node = Issue(cluster);

        var info = Reported(node, cluster.TrustedRootsPem.Replace("\n", "\r\n", StringComparison.Ordinal), string.Empty);

        Assert.Equal(SwarmCa.ClusterTlsInfo(cluster).TrustRoot, info.TrustRoot);
    }

    private static X509Certificate2 Issue(ClusterObject cluster) =>
        X509Certificate2.CreateFromPem(SwarmCa.IssueNode(cluster, NodeKey.Generate().CreateCsr().ToPem(), "node-1", NodeRole.Worker, "10.0.0.2", Now).CertificatePem);

    /// <summary>What the node host reports: from the roots and intermediates its validator holds.</summary>
    private static NodeTlsInfo Reported(X509Certificate2 certificate, string rootsPem, string intermediatesPem) =>
        SwarmCa.NodeTlsInfoOf(certificate, X509Conversions.ReadCertificates(rootsPem), X509Conversions.ReadCertificates(intermediatesPem));
}
