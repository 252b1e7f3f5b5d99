using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Pkcs;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>
/// What a manager checks of a certificate an external CA signed before it hands it to a node: an external CA is
/// trusted to sign, not to decide who a node is. The certificate must be signed by the swarm's signing root, be
/// for the key of the CSR that was sent, name the node, role and cluster the CSR was sent for, be a TLS client and
/// server certificate (not a CA), and be valid now and for at least <see cref="MinimumLifetime"/> more.
/// </summary>
public static class ExternalCertificateCheck
{
    /// <summary>The shortest remaining life a certificate from an external CA may have: swarm's shortest --cert-expiry.</summary>
    public static readonly TimeSpan MinimumLifetime = TimeSpan.FromHours(1);

    /// <summary>How far in the future a certificate's start may lie (the CA's clock ahead of ours).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private static readonly string[] NodeUsages = [KeyPurposeID.id_kp_serverAuth.Id, KeyPurposeID.id_kp_clientAuth.Id];
    private static readonly string[] ClientUsages = [KeyPurposeID.id_kp_clientAuth.Id];

    /// <summary>The certificate (the first of <paramref name="certificatePem"/>; a CA may append its chain), or null
    /// and <paramref name="error"/> saying what is wrong with it.</summary>
    public static BcCertificate? Check(string certificatePem, NodeCsr csr, SwarmPeer expected, BcCertificate signingRoot, DateTimeOffset now, out string error)
    {
        ArgumentNullException.ThrowIfNull(csr);
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(signingRoot);
        error = string.Empty;
        BcCertificate certificate;
        try
        {
            var all = Pem.ReadCertificates(certificatePem);
            if (all.Count == 0)
            {
                error = "the answer holds no PEM certificate";
                return null;
            }

            certificate = all[0];
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            error = $"the answer's certificate does not parse: {e.Message}";
            return null;
        }

        if (!certificate.IssuerDN.Equivalent(signingRoot.SubjectDN) || !SignedBy(certificate, signingRoot))
        {
            error = $"the certificate (issuer '{certificate.IssuerDN}') is not signed by the swarm's root CA; the external CA must sign with the swarm's root key";
            return null;
        }

        var requested = new Pkcs10CertificationRequest(csr.Der.ToArray()).GetCertificationRequestInfo().SubjectPublicKeyInfo;
        if (!certificate.SubjectPublicKeyInfo.Equals(requested))
        {
            error = "the certificate is not for the key of the certificate request that was sent";
            return null;
        }

        using var x509 = X509Conversions.ToX509Certificate2(certificate);
        if (!SwarmPeer.TryParse(x509.SubjectName, out var peer, out var subjectError))
        {
            error = $"the certificate's subject is not the one asked for: {subjectError}";
            return null;
        }

        if (peer != expected)
        {
            error = $"the certificate names {Describe(peer)}, not {Describe(expected)} as asked";
            return null;
        }

        if (certificate.GetBasicConstraints() >= 0)
        {
            error = "the certificate is a CA certificate, not a node's";
            return null;
        }

        var usages = certificate.GetExtendedKeyUsage()?.Select(o => o.Id).ToList() ?? [];
        var wanted = expected.IsClient ? ClientUsages : NodeUsages;
        if (!wanted.All(usages.Contains))
        {
            error = $"the certificate lacks the extended key usage{(wanted.Length > 1 ? "s" : string.Empty)} {string.Join(" and ", wanted.Select(UsageName))} (set \"usages\" in the CA's signing profile: \"signing\", \"key encipherment\", \"server auth\", \"client auth\")";
            return null;
        }

        var notBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero);
        var notAfter = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero);
        if (notBefore > now + ClockSkew || notAfter < now + MinimumLifetime)
        {
            error = $"the certificate is valid from {notBefore:u} to {notAfter:u}; it must be valid now and for at least {MinimumLifetime.TotalHours:0} hour more";
            return null;
        }

        return certificate;
    }

    private static string UsageName(string oid) => oid == KeyPurposeID.id_kp_serverAuth.Id ? "serverAuth" : "clientAuth";

    private static string Describe(SwarmPeer peer) =>
        $"'{peer.NodeId}' as {(peer.IsClient ? SwarmRoles.ClientUnit : SwarmRoles.ToUnit(peer.Role))} of cluster '{peer.ClusterId}'";

    private static bool SignedBy(BcCertificate certificate, BcCertificate issuer)
    {
        try
        {
            certificate.Verify(issuer.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException or Org.BouncyCastle.Security.SignatureException)
        {
            return false;
        }
    }
}
