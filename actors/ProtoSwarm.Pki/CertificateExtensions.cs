using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>The extensions every swarm certificate shares, and signing, in one place.</summary>
internal static class CertificateExtensions
{
    /// <summary>
    /// Key identifiers on every certificate: the old and the new root share the subject CN=swarm-ca, so chain
    /// building tells them apart by key id during a rotation.
    /// </summary>
    public static void AddKeyIdentifiers(X509V3CertificateGenerator generator, SubjectPublicKeyInfo subjectKey, SubjectPublicKeyInfo issuerKey)
    {
        generator.AddExtension(X509Extensions.SubjectKeyIdentifier, false, X509ExtensionUtilities.CreateSubjectKeyIdentifier(subjectKey));
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, X509ExtensionUtilities.CreateAuthorityKeyIdentifier(issuerKey));
    }

    public static void AddCaUsage(X509V3CertificateGenerator generator)
    {
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(true));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.CrlSign | KeyUsage.DigitalSignature));
    }

    public static BcCertificate Sign(X509V3CertificateGenerator generator, AsymmetricKeyParameter issuerKey) =>
        generator.Generate(new Asn1SignatureFactory(KeyGeneration.SignatureAlgorithm, issuerKey, KeyGeneration.Random));

    public static DateTime Utc(DateTimeOffset time) => time.UtcDateTime;

    public static Asn1Encodable Ips(IEnumerable<System.Net.IPAddress> addresses) =>
        new GeneralNames([.. addresses.Select(ip => new GeneralName(GeneralName.IPAddress, new DerOctetString(ip.GetAddressBytes())))]);
}
