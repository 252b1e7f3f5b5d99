using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class RootCaTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_New_Root_Is_A_Self_Signed_P256_CA_Named_Swarm_Ca_For_Twenty_Years()
    {
        var ca = RootCa.Create(Now);
        using var certificate = ca.ToX509Certificate2();

        Assert.Equal("CN=swarm-ca", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.True(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Equal(Now.AddYears(20).UtcDateTime, certificate.NotAfter.ToUniversalTime());
        Assert.Equal((Now - RootCa.Backdate).UtcDateTime, certificate.NotBefore.ToUniversalTime());
        using var key = certificate.GetECDsaPublicKey()!;
        Assert.Equal(256, key.KeySize);
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, key.ExportParameters(false).Curve.Oid.Value);
    }

    [Fact]
    public void The_Digest_Is_The_Sha256_Of_The_Der_Certificate()
    {
        var ca = RootCa.Create(Now);

        Assert.Equal(SHA256.HashData(ca.Certificate.GetEncoded()), ca.Digest.Bytes.ToArray());
        Assert.StartsWith("sha256:", ca.Digest.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(ca.Digest, RootCa.Create(Now).Digest);
    }

    [Fact]
    public void A_Root_Exported_As_Pem_Imports_Back_And_Still_Signs()
    {
        var ca = RootCa.Create(Now);

        var copy = RootCa.FromPem(ca.CertificatePem, ca.ExportPrivateKeyPem());

        Assert.Equal(ca.Certificate.GetEncoded(), copy.Certificate.GetEncoded());
        Assert.Equal(ca.Digest, copy.Digest);
        Assert.Contains("-----BEGIN CERTIFICATE-----", ca.CertificatePem, StringComparison.Ordinal);
        Assert.Contains("-----BEGIN PRIVATE KEY-----", ca.ExportPrivateKeyPem(), StringComparison.Ordinal);
        var issued = copy.Issue(NodeKey.Generate().CreateCsr(), "n1", ProtoSwarm.Contracts.NodeRole.Worker, "c1", [], Now);
        issued.Verify(ca.Certificate.GetPublicKey());
    }

    [Fact]
    public void Importing_A_Root_With_Another_Roots_Key_Is_Refused()
    {
        var ca = RootCa.Create(Now);
        var other = RootCa.Create(Now);

        var error = Assert.Throws<FormatException>(() => RootCa.FromPem(ca.CertificatePem, other.ExportPrivateKeyPem()));
        Assert.Contains("does not belong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Certificate_Bundle_Reads_Back_In_Order()
    {
        var ca = RootCa.Create(Now);
        var next = RootCa.Create(Now);
        var leaf = next.Issue(NodeKey.Generate().CreateCsr(), "n1", ProtoSwarm.Contracts.NodeRole.Worker, "c1", [], Now);
        var crossSigned = ca.CrossSign(next);

        var bundle = Pem.ReadCertificates(Pem.Write(leaf) + Pem.Write(crossSigned));

        Assert.Equal([leaf, crossSigned], bundle);
    }
}
