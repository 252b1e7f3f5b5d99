using System.Net;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Tests.Pki;

/// <summary>A swarm's CA and nodes for tests; plus forgeries that ProtoSwarm.Pki itself would never produce.</summary>
internal sealed class TestPki
{
    public const string ClusterId = "cluster-a";

    private static readonly SecureRandom Random = new();

    public TestPki(DateTimeOffset? now = null)
    {
        Ca = RootCa.Create(now ?? DateTimeOffset.UtcNow);
    }

    public RootCa Ca { get; }

    public SwarmCertificateValidator Validator(IReadOnlySet<string>? removed = null, TimeProvider? time = null) =>
        new([Ca.ToX509Certificate2()], ClusterId, removed, time);

    /// <summary>A node as it really joins: its own key, a CSR, the CA's certificate, the key attached locally.</summary>
    public X509Certificate2 Node(
        string nodeId = "node-1", NodeRole role = NodeRole.Worker, string clusterId = ClusterId,
        DateTimeOffset? now = null, TimeSpan? validity = null, RootCa? ca = null)
    {
        var key = NodeKey.Generate();
        var certificate = (ca ?? Ca).Issue(key.CreateCsr(), nodeId, role, clusterId, [IPAddress.Loopback],
            validity ?? RootCa.DefaultNodeValidity, now ?? DateTimeOffset.UtcNow);
        return key.WithCertificate(certificate);
    }

    public static AsymmetricCipherKeyPair NewKey(string curve = "P-256")
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(Org.BouncyCastle.Asn1.X9.ECNamedCurveTable.GetOid(curve), Random));
        return generator.GenerateKeyPair();
    }

    /// <summary>A certificate signed with any key, with any subject and usages: what an attacker or a bug could make.</summary>
    public static BcCertificate Forge(
        string subject, BcCertificate? issuer, AsymmetricKeyParameter issuerKey, AsymmetricKeyParameter subjectKey,
        bool isCa = false, KeyPurposeID[]? usages = null)
    {
        var now = DateTime.UtcNow;
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(Org.BouncyCastle.Math.BigInteger.ValueOf(Random.NextInt64(1, long.MaxValue)));
        generator.SetIssuerDN(issuer?.SubjectDN ?? new X509Name(subject));
        generator.SetSubjectDN(new X509Name(subject));
        generator.SetNotBefore(now.AddHours(-1));
        generator.SetNotAfter(now.AddDays(1));
        generator.SetPublicKey(subjectKey);
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(isCa));
        if (usages is not null)
            generator.AddExtension(X509Extensions.ExtendedKeyUsage, false, new ExtendedKeyUsage(usages));
        if (issuer is not null)
        {
            generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false,
                Org.BouncyCastle.X509.Extension.X509ExtensionUtilities.CreateAuthorityKeyIdentifier(issuer.SubjectPublicKeyInfo));
        }
        return generator.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", issuerKey, Random));
    }

    public AsymmetricKeyParameter CaKey => Pem.ReadPrivateKey(Ca.ExportPrivateKeyPem());

    public static X509Certificate2 WithKey(BcCertificate certificate, AsymmetricKeyParameter key) =>
        X509Conversions.ToX509Certificate2(certificate, key);
}
