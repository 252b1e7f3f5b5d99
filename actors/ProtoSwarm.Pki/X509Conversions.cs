using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Pkcs;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>From BouncyCastle's certificate and key to the .NET types TLS uses.</summary>
public static class X509Conversions
{
    public static X509Certificate2 ToX509Certificate2(BcCertificate certificate) =>
        X509CertificateLoader.LoadCertificate(certificate.GetEncoded());

    /// <summary>
    /// The certificate with its ECDSA private key attached. On Linux the ephemeral key works for SslStream and
    /// Kestrel as it is; no PFX round trip is needed (that is a Windows SChannel constraint).
    /// </summary>
    public static X509Certificate2 ToX509Certificate2(BcCertificate certificate, AsymmetricKeyParameter privateKey)
    {
        var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(privateKey).GetEncoded();
        using var publicOnly = ToX509Certificate2(certificate);
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
        return publicOnly.CopyWithPrivateKey(ecdsa);
    }

    public static X509Certificate2 ToX509Certificate2(string certificatePem, string privateKeyPem) =>
        X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);

    /// <summary>Every certificate in a PEM text, in order (roots to trust, or a certificate and what follows it in its chain).</summary>
    public static X509Certificate2[] ReadCertificates(string pem) =>
        [.. Pem.ReadCertificates(pem).Select(ToX509Certificate2)];

    public static BcCertificate ToBouncyCastle(X509Certificate2 certificate) => new(certificate.RawData);
}
