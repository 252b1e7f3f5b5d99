using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.X509;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>
/// The swarm's root certificate authority: an ECDSA P-256 key and a self-signed certificate, CN=swarm-ca.
/// It signs node CSRs (<see cref="Issue(NodeCsr, string, ProtoSwarm.Contracts.NodeRole, string, System.Net.IPAddress[], TimeSpan, DateTimeOffset)"/>)
/// and, during a rotation, the next root (<see cref="CrossSign(RootCa)"/>).
/// </summary>
public sealed partial class RootCa
{
    public const int DefaultValidityYears = 20;

    /// <summary>Every certificate starts an hour early, so a peer whose clock runs behind still accepts it.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromHours(1);

    private readonly AsymmetricKeyParameter _signingKey;

    private RootCa(BcCertificate certificate, AsymmetricKeyParameter signingKey)
    {
        Certificate = certificate;
        _signingKey = signingKey;
        Digest = CaDigest.OfCertificate(certificate);
    }

    public BcCertificate Certificate { get; }

    /// <summary>SHA-256 of the DER certificate; join tokens pin it.</summary>
    public CaDigest Digest { get; }

    public string CertificatePem => Pem.Write(Certificate);

    public static RootCa Create(DateTimeOffset now) => Create(now, now.AddYears(DefaultValidityYears) - now);

    public static RootCa Create(DateTimeOffset now, TimeSpan validity)
    {
        if (validity <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "a root CA must be valid for some time");
        var pair = KeyGeneration.NewP256();
        var key = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(pair.Public);
        var name = new X509Name([X509Name.CN], [SwarmRoles.CaCommonName]);

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(KeyGeneration.NewSerial());
        generator.SetIssuerDN(name);
        generator.SetSubjectDN(name);
        generator.SetNotBefore(CertificateExtensions.Utc(now - Backdate));
        generator.SetNotAfter(CertificateExtensions.Utc(now + validity));
        generator.SetPublicKey(pair.Public);
        CertificateExtensions.AddCaUsage(generator);
        CertificateExtensions.AddKeyIdentifiers(generator, key, key);
        return new RootCa(CertificateExtensions.Sign(generator, pair.Private), pair.Private);
    }

    /// <summary>Loads a CA saved with <see cref="CertificatePem"/> and <see cref="ExportPrivateKeyPem"/>; the two must belong together.</summary>
    public static RootCa FromPem(string certificatePem, string privateKeyPem)
    {
        var certificate = Pem.ReadCertificate(certificatePem);
        if (Pem.ReadPrivateKey(privateKeyPem) is not ECPrivateKeyParameters key)
            throw new FormatException("the CA key is not an EC private key");
        if (certificate.GetPublicKey() is not ECPublicKeyParameters expected
            || !expected.Q.Equals(key.Parameters.G.Multiply(key.D).Normalize()))
            throw new FormatException("the CA key does not belong to the CA certificate");
        return new RootCa(certificate, key);
    }

    /// <summary>Unencrypted PKCS#8: whoever stores it (the Raft store) seals it.</summary>
    public string ExportPrivateKeyPem() => Pem.WritePrivateKey(_signingKey);

    /// <summary>The public certificate only, for trust lists (<see cref="SwarmCertificateValidator"/>).</summary>
    public X509Certificate2 ToX509Certificate2() => X509Conversions.ToX509Certificate2(Certificate);
}
