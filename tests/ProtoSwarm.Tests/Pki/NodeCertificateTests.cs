using System.Net;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class NodeCertificateTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RootCa Ca = RootCa.Create(Now);

    private static X509Certificate2 Issue(NodeRole role, IPAddress[] sans, TimeSpan? validity = null, NodeKey? key = null)
    {
        key ??= NodeKey.Generate();
        var issued = validity is null
            ? Ca.Issue(key.CreateCsr(), "node-7", role, "cluster-x", sans, Now)
            : Ca.Issue(key.CreateCsr(), "node-7", role, "cluster-x", sans, validity.Value, Now);
        return key.WithCertificate(issued);
    }

    [Theory]
    [InlineData(NodeRole.Manager, "swarm-manager")]
    [InlineData(NodeRole.Worker, "swarm-worker")]
    public void Subject_Names_Node_Id_Role_And_Cluster(NodeRole role, string unit)
    {
        using var certificate = Issue(role, []);

        Assert.Equal($"CN=node-7, OU={unit}, O=cluster-x", certificate.Subject);
        Assert.Equal("CN=swarm-ca", certificate.Issuer);
        Assert.True(SwarmPeer.TryParse(certificate.SubjectName, out var peer, out _));
        Assert.Equal(new SwarmPeer("node-7", role, "cluster-x"), peer);
    }

    [Fact]
    public void Sans_Are_The_Nodes_Ip_Addresses()
    {
        IPAddress[] addresses = [IPAddress.Parse("10.0.0.5"), IPAddress.Parse("192.168.1.9"), IPAddress.Parse("fd00::1")];
        using var certificate = Issue(NodeRole.Worker, addresses);

        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(addresses, san.EnumerateIPAddresses());
        Assert.Empty(san.EnumerateDnsNames());
    }

    [Fact]
    public void Usable_As_Tls_Server_And_Client_With_A_Digital_Signature_Key_Usage_And_Not_A_CA()
    {
        using var certificate = Issue(NodeRole.Manager, [IPAddress.Loopback]);

        var ekus = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], ekus);
        var keyUsage = certificate.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, keyUsage.KeyUsages);
        Assert.True(keyUsage.Critical);
        Assert.False(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public void Valid_Ninety_Days_By_Default_Starting_An_Hour_Early()
    {
        using var certificate = Issue(NodeRole.Worker, []);

        Assert.Equal((Now + TimeSpan.FromDays(90)).UtcDateTime, certificate.NotAfter.ToUniversalTime());
        Assert.Equal((Now - TimeSpan.FromHours(1)).UtcDateTime, certificate.NotBefore.ToUniversalTime());
    }

    [Fact]
    public void A_Requested_Validity_Is_Honoured_But_Never_Beyond_The_Ca()
    {
        using var week = Issue(NodeRole.Worker, [], TimeSpan.FromDays(7));
        using var century = Issue(NodeRole.Worker, [], TimeSpan.FromDays(365 * 100));

        Assert.Equal((Now + TimeSpan.FromDays(7)).UtcDateTime, week.NotAfter.ToUniversalTime());
        Assert.Equal(Ca.Certificate.NotAfter, century.NotAfter.ToUniversalTime());
    }

    [Fact]
    public void The_Certificate_Carries_The_Nodes_Own_Key_Which_Signs_For_It()
    {
        var key = NodeKey.Generate();
        using var certificate = Issue(NodeRole.Worker, [], key: key);

        Assert.True(certificate.HasPrivateKey);
        using var ecdsa = certificate.GetECDsaPrivateKey()!;
        byte[] data = [1, 2, 3];
        var signature = ecdsa.SignData(data, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var publicKey = certificate.GetECDsaPublicKey()!;
        Assert.True(publicKey.VerifyData(data, signature, System.Security.Cryptography.HashAlgorithmName.SHA256));
    }

    [Fact]
    public void A_Node_Key_Saved_As_Pem_Loads_Back_And_Pairs_With_Its_Certificate()
    {
        var key = NodeKey.Generate();
        var issued = Ca.Issue(key.CreateCsr(), "node-7", NodeRole.Worker, "cluster-x", [], Now);

        var reloaded = NodeKey.FromPem(key.ExportPrivateKeyPem());

        using var certificate = reloaded.WithCertificate(issued);
        Assert.True(certificate.HasPrivateKey);
    }

    [Fact]
    public void A_Node_Key_Refuses_A_Certificate_Issued_For_Another_Key()
    {
        var issued = Ca.Issue(NodeKey.Generate().CreateCsr(), "node-7", NodeRole.Worker, "cluster-x", [], Now);

        Assert.Throws<ArgumentException>(() => NodeKey.Generate().WithCertificate(issued));
    }

    [Theory]
    [InlineData("")]
    [InlineData("node 1")]
    [InlineData("node,OU=swarm-manager")]
    public void Node_Ids_That_Would_Need_Escaping_In_A_Subject_Are_Refused(string nodeId)
    {
        Assert.Throws<ArgumentException>(() => Ca.Issue(NodeKey.Generate().CreateCsr(), nodeId, NodeRole.Worker, "c", [], Now));
    }
}
