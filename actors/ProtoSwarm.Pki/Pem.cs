using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>PEM in and out: certificates as CERTIFICATE, private keys as unencrypted PKCS#8 PRIVATE KEY.</summary>
public static class Pem
{
    public const string CertificateLabel = "CERTIFICATE";
    public const string PrivateKeyLabel = "PRIVATE KEY";
    public const string CsrLabel = "CERTIFICATE REQUEST";

    public static string Write(BcCertificate certificate) => Write(CertificateLabel, certificate.GetEncoded());

    public static string WritePrivateKey(AsymmetricKeyParameter privateKey) =>
        Write(PrivateKeyLabel, PrivateKeyInfoFactory.CreatePrivateKeyInfo(privateKey).GetEncoded());

    public static string Write(string label, ReadOnlySpan<byte> der) => new string(PemEncoding.Write(label, der)) + "\n";

    public static BcCertificate ReadCertificate(string pem) => new(Read(pem, CertificateLabel));

    /// <summary>Every certificate in a bundle, in order (a node's leaf then the cross-signed intermediate, say).</summary>
    public static IReadOnlyList<BcCertificate> ReadCertificates(string pem)
    {
        var certificates = new List<BcCertificate>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(CertificateLabel))
                certificates.Add(new BcCertificate(Convert.FromBase64String(rest[fields.Base64Data].ToString())));
            rest = rest[fields.Location.End..];
        }
        return certificates;
    }

    public static AsymmetricKeyParameter ReadPrivateKey(string pem) => PrivateKeyFactory.CreateKey(Read(pem, PrivateKeyLabel));

    public static byte[] Read(string pem, string label)
    {
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(label))
                return Convert.FromBase64String(rest[fields.Base64Data].ToString());
            rest = rest[fields.Location.End..];
        }
        throw new FormatException($"no PEM block labelled '{label}' found");
    }
}
