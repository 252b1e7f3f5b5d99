using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class CrossSignTests
{
    private static readonly TestPki Old = new();
    private static readonly TestPki New = new();

    private static SwarmCertificateValidator TrustingOnly(TestPki pki) =>
        new([pki.Ca.ToX509Certificate2()], TestPki.ClusterId);

    private static X509Certificate2 CrossSigned() => X509Conversions.ToX509Certificate2(Old.Ca.CrossSign(New.Ca));

    [Fact]
    public void The_Cross_Signed_Root_Has_The_New_Roots_Subject_And_Key_And_The_Old_Root_As_Issuer()
    {
        var crossSigned = Old.Ca.CrossSign(New.Ca);

        Assert.Equal(New.Ca.Certificate.SubjectDN, crossSigned.SubjectDN);
        Assert.Equal(New.Ca.Certificate.SubjectPublicKeyInfo, crossSigned.SubjectPublicKeyInfo);
        Assert.Equal(Old.Ca.Certificate.SubjectDN, crossSigned.IssuerDN);
        crossSigned.Verify(Old.Ca.Certificate.GetPublicKey());
        Assert.True(crossSigned.GetBasicConstraints() >= 0);
    }

    [Fact]
    public void A_Node_Trusting_Only_The_Old_Root_Accepts_A_New_Root_Certificate_With_The_Cross_Signed_Intermediate()
    {
        using var fromNewRoot = New.Node("node-2", NodeRole.Manager);
        using var crossSigned = CrossSigned();

        var result = TrustingOnly(Old).Validate(fromNewRoot, PeerUsage.Server, [crossSigned]);

        Assert.True(result.IsAccepted, result.ToString());
        Assert.Equal("node-2", result.Peer!.NodeId);
    }

    [Fact]
    public void Without_The_Intermediate_A_New_Root_Certificate_Is_Refused_By_An_Old_Root_Node()
    {
        using var fromNewRoot = New.Node();

        var result = TrustingOnly(Old).Validate(fromNewRoot, PeerUsage.Client);

        Assert.Equal(CertificateRefusal.UntrustedIssuer, result.Refusal);
    }

    [Fact]
    public void A_Node_Already_Trusting_The_New_Root_Accepts_The_Same_Bundle()
    {
        using var fromNewRoot = New.Node();
        using var crossSigned = CrossSigned();

        Assert.True(TrustingOnly(New).Validate(fromNewRoot, PeerUsage.Client, [crossSigned]).IsAccepted);
    }

    [Fact]
    public void A_Cross_Signed_Intermediate_From_A_Stranger_Does_Not_Open_The_Door()
    {
        var stranger = new TestPki();
        using var fromNewRoot = New.Node();
        using var strangerCrossSigned = X509Conversions.ToX509Certificate2(stranger.Ca.CrossSign(New.Ca));

        var result = TrustingOnly(Old).Validate(fromNewRoot, PeerUsage.Client, [strangerCrossSigned]);

        Assert.Equal(CertificateRefusal.UntrustedIssuer, result.Refusal);
    }

    [Fact]
    public void A_Node_That_Missed_The_Rotations_Start_Learns_The_Cross_Signed_Root_From_A_Managers_Chain_And_Then_Accepts_Its_Client_Certificate()
    {
        // The manager presents [its certificate, the cross-signed root] as a server, only its certificate as a client.
        using var manager = New.Node("manager-1", NodeRole.Manager);
        using var crossSigned = CrossSigned();
        var node = TrustingOnly(Old);
        Assert.Equal(CertificateRefusal.UntrustedIssuer, node.Validate(manager, PeerUsage.Client).Refusal);
        Assert.True(node.Validate(manager, PeerUsage.Server, [manager, crossSigned]).IsAccepted);

        var learned = node.WithIntermediatesFrom([manager, crossSigned]);

        var result = learned.Validate(manager, PeerUsage.Client);
        Assert.True(result.IsAccepted, result.ToString());
        Assert.Equal("manager-1", result.Peer!.NodeId);
        Assert.Same(learned, learned.WithIntermediatesFrom([manager, crossSigned]));
    }

    [Fact]
    public void Only_Ca_Certificates_That_Chain_To_A_Trusted_Root_Are_Learned()
    {
        var stranger = new TestPki();
        using var fromNewRoot = New.Node();
        using var strangerCrossSigned = X509Conversions.ToX509Certificate2(stranger.Ca.CrossSign(New.Ca));
        using var newRoot = New.Ca.ToX509Certificate2();
        var node = TrustingOnly(Old);

        var learned = node.WithIntermediatesFrom([fromNewRoot, strangerCrossSigned, newRoot]);

        Assert.Same(node, learned);
        Assert.Equal(CertificateRefusal.UntrustedIssuer, learned.Validate(fromNewRoot, PeerUsage.Client).Refusal);
    }

    [Fact]
    public void Learned_Intermediates_Keep_The_Removed_Nodes_And_Go_When_The_Roots_Change()
    {
        using var removed = New.Node("node-9");
        using var other = New.Node("node-8");
        using var crossSigned = CrossSigned();
        var node = TrustingOnly(Old).WithRemovedNodes(new HashSet<string> { "node-9" });

        var learned = node.WithIntermediatesFrom([crossSigned]);

        Assert.Equal(CertificateRefusal.RemovedNode, learned.Validate(removed, PeerUsage.Client).Refusal);
        Assert.True(learned.Validate(other, PeerUsage.Client).IsAccepted);
        var rotated = learned.WithRoots([Old.Ca.ToX509Certificate2()], []);
        Assert.Equal(CertificateRefusal.UntrustedIssuer, rotated.Validate(other, PeerUsage.Client).Refusal);
    }

    [Fact]
    public void Only_A_Self_Signed_Ca_Can_Be_Cross_Signed()
    {
        var leaf = New.Ca.Issue(NodeKey.Generate().CreateCsr(), "n", NodeRole.Worker, "c", [], DateTimeOffset.UtcNow);

        Assert.Throws<ArgumentException>(() => Old.Ca.CrossSign(leaf));
        Assert.Throws<ArgumentException>(() => Old.Ca.CrossSign(Old.Ca.CrossSign(New.Ca)));
    }
}
