using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class CsrTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RootCa Ca = RootCa.Create(Now);
    private static readonly X509Name Subject = new("CN=swarm-node");

    private static CsrRejectedException Refused(NodeCsr csr) =>
        Assert.Throws<CsrRejectedException>(() => Ca.Issue(csr, "node-1", NodeRole.Worker, "cluster-a", [], Now));

    [Fact]
    public void A_Csr_Whose_Signature_Does_Not_Verify_Is_Refused()
    {
        var signer = TestPki.NewKey();
        var claimed = TestPki.NewKey();
        var request = new Pkcs10CertificationRequest(
            new Asn1SignatureFactory("SHA256WITHECDSA", signer.Private), Subject, claimed.Public, null);

        var error = Refused(NodeCsr.FromDer(request.GetEncoded()));

        Assert.Contains("signature does not verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Csr_With_A_Flipped_Bit_Is_Refused()
    {
        var der = NodeKey.Generate().CreateCsr().Der.ToArray();
        der[^1] ^= 0x01; // the signature's last byte

        var error = Refused(NodeCsr.FromDer(der));

        Assert.Contains("signature does not verify", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("P-384")]
    [InlineData("P-521")]
    [InlineData("secp256k1")]
    public void A_Csr_With_An_Ec_Key_Not_On_P256_Is_Refused(string curve)
    {
        var key = TestPki.NewKey(curve);
        var request = new Pkcs10CertificationRequest(new Asn1SignatureFactory("SHA256WITHECDSA", key.Private), Subject, key.Public, null);

        var error = Refused(NodeCsr.FromDer(request.GetEncoded()));

        Assert.Contains("not an ECDSA P-256 key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Csr_With_An_Rsa_Key_Is_Refused()
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(65537), new SecureRandom(), 2048, 80));
        var key = generator.GenerateKeyPair();
        var request = new Pkcs10CertificationRequest(new Asn1SignatureFactory("SHA256WITHRSA", key.Private), Subject, key.Public, null);

        var error = Refused(NodeCsr.FromDer(request.GetEncoded()));

        Assert.Contains("not an ECDSA P-256 key", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x05 })]
    [InlineData(new byte[] { 0xde, 0xad, 0xbe, 0xef })]
    public void Bytes_That_Are_Not_A_Csr_Are_Refused(byte[] der)
    {
        var error = Refused(NodeCsr.FromDer(der));

        Assert.Contains("PKCS#10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Csr_Subject_Is_Ignored_The_Ca_Decides_The_Identity()
    {
        var csr = NodeKey.Generate().CreateCsr("CN=admin, OU=swarm-manager");

        var issued = Ca.Issue(csr, "node-1", NodeRole.Worker, "cluster-a", [], Now);

        Assert.Equal("O=cluster-a,OU=swarm-worker,CN=node-1", issued.SubjectDN.ToString());
    }

    [Fact]
    public void A_Csr_Travels_As_Pem()
    {
        var csr = NodeKey.Generate().CreateCsr();

        var copy = NodeCsr.FromPem(csr.ToPem());

        Assert.Equal(csr.Der.ToArray(), copy.Der.ToArray());
        Assert.Contains("BEGIN CERTIFICATE REQUEST", csr.ToPem(), StringComparison.Ordinal);
    }

    [Fact]
    public void Ec_Key_Parameters_Used_In_Tests_Are_Named_Curves()
    {
        Assert.IsType<ECPrivateKeyParameters>(TestPki.NewKey().Private);
    }
}
