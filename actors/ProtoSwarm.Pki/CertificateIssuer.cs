using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ProtoSwarm.Pki;

/// <summary>
/// Who issued a certificate, as swarmkit's IssuerInfo names it: the issuer's raw subject (DER) and its raw
/// SubjectPublicKeyInfo (DER). Two roots of a swarm share the name CN=swarm-ca, so the key is what tells an old root
/// from a new one; a cross-signed root has the same subject and key as the root it stands for, so either one found
/// gives the same answer. This is what `node ls` compares with the swarm's current root (TLS STATUS).
/// </summary>
public sealed record CertificateIssuer(byte[] Subject, byte[] PublicKey)
{
    /// <summary>A CA certificate as an issuer: its own subject and public key.</summary>
    public static CertificateIssuer Of(X509Certificate2 ca) =>
        new(ca.SubjectName.RawData, ca.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>
    /// The issuer of <paramref name="certificate"/> among <paramref name="candidates"/> (the roots a node trusts and the
    /// intermediates it knows): the first whose name is the certificate's issuer name and whose key verifies its
    /// signature; null when none does (a certificate from a root this node does not know).
    /// </summary>
    public static CertificateIssuer? Find(X509Certificate2 certificate, IEnumerable<X509Certificate2> candidates)
    {
        var parsed = X509Conversions.ToBouncyCastle(certificate);
        foreach (var candidate in candidates)
        {
            if (!candidate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
                continue;
            try
            {
                parsed.Verify(X509Conversions.ToBouncyCastle(candidate).GetPublicKey());
                return Of(candidate);
            }
            catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException
                or Org.BouncyCastle.Security.SignatureException or CryptographicException)
            {
                // Same name, other key: the other root of a rotation.
            }
        }
        return null;
    }

    /// <summary>
    /// Roots as one PEM text in a single canonical form (each certificate re-encoded, in order), so that a node's trust
    /// and the swarm's can be compared as text whatever line endings or spacing each was read from.
    /// </summary>
    public static string TrustRootPem(IEnumerable<X509Certificate2> roots) =>
        string.Concat(roots.Select(r => Pem.Write(Pem.CertificateLabel, r.RawData)));
}
