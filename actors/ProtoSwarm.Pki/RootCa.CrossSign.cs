using Org.BouncyCastle.X509;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

public sealed partial class RootCa
{
    /// <summary>
    /// The new root's subject and key, signed by this (old) root: an intermediate that lets nodes trusting only
    /// the old root accept certificates the new root issues, while a rotation spreads. Nodes present it after
    /// their own certificate. It expires with whichever root expires first.
    /// </summary>
    public BcCertificate CrossSign(RootCa newRoot)
    {
        ArgumentNullException.ThrowIfNull(newRoot);
        return CrossSign(newRoot.Certificate);
    }

    public BcCertificate CrossSign(BcCertificate newRootCertificate)
    {
        ArgumentNullException.ThrowIfNull(newRootCertificate);
        if (newRootCertificate.GetBasicConstraints() < 0)
            throw new ArgumentException("the new root is not a CA certificate", nameof(newRootCertificate));
        try
        {
            newRootCertificate.Verify(newRootCertificate.GetPublicKey());
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            throw new ArgumentException("the new root is not self-signed", nameof(newRootCertificate), e);
        }

        var notAfter = newRootCertificate.NotAfter < Certificate.NotAfter ? newRootCertificate.NotAfter : Certificate.NotAfter;
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(KeyGeneration.NewSerial());
        generator.SetIssuerDN(Certificate.SubjectDN);
        generator.SetSubjectDN(newRootCertificate.SubjectDN);
        generator.SetNotBefore(newRootCertificate.NotBefore);
        generator.SetNotAfter(notAfter);
        generator.SetPublicKey(newRootCertificate.GetPublicKey());
        CertificateExtensions.AddCaUsage(generator);
        CertificateExtensions.AddKeyIdentifiers(generator, newRootCertificate.SubjectPublicKeyInfo, Certificate.SubjectPublicKeyInfo);
        return CertificateExtensions.Sign(generator, _signingKey);
    }
}
