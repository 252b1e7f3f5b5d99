using System.Net;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.X509;
using ProtoSwarm.Contracts;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

public sealed partial class RootCa
{
    public static readonly TimeSpan DefaultNodeValidity = TimeSpan.FromDays(90);

    public BcCertificate Issue(NodeCsr csr, string nodeId, NodeRole role, string clusterId, IPAddress[] sans, DateTimeOffset now) =>
        Issue(csr, nodeId, role, clusterId, sans, DefaultNodeValidity, now);

    /// <summary>
    /// Signs a node certificate for the CSR's public key. Only the key is taken from the CSR (as swarmkit's CSR
    /// whitelist does); the identity comes from the caller, who decided it from the join token. The certificate
    /// never outlives this CA.
    /// </summary>
    /// <exception cref="CsrRejectedException">The CSR does not parse, its signature does not verify, or its key is not P-256.</exception>
    public BcCertificate Issue(NodeCsr csr, string nodeId, NodeRole role, string clusterId, IPAddress[] sans, TimeSpan validity, DateTimeOffset now)
    {
        SwarmPeer.CheckId(nodeId, nameof(nodeId));
        SwarmPeer.CheckId(clusterId, nameof(clusterId));
        return Issue(csr, new SwarmPeer(nodeId, role, clusterId), sans, validity, now);
    }

    /// <summary>An operator's client certificate (OU swarm-client): the managers' API, nothing a node does.</summary>
    public BcCertificate IssueClient(NodeCsr csr, string clientId, string clusterId, TimeSpan validity, DateTimeOffset now)
    {
        SwarmPeer.CheckId(clientId, nameof(clientId));
        SwarmPeer.CheckId(clusterId, nameof(clusterId));
        return Issue(csr, SwarmPeer.Client(clientId, clusterId), [], validity, now);
    }

    private BcCertificate Issue(NodeCsr csr, SwarmPeer subject, IPAddress[] sans, TimeSpan validity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(csr);
        ArgumentNullException.ThrowIfNull(sans);
        if (validity <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "a node certificate must be valid for some time");

        var request = VerifiedRequest(csr);
        var subjectKey = request.GetCertificationRequestInfo().SubjectPublicKeyInfo;
        var caKey = Certificate.SubjectPublicKeyInfo;
        var notAfter = Min(now + validity, new DateTimeOffset(Certificate.NotAfter, TimeSpan.Zero));

        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(KeyGeneration.NewSerial());
        generator.SetIssuerDN(Certificate.SubjectDN);
        generator.SetSubjectDN(subject.ToX509Name());
        generator.SetNotBefore(CertificateExtensions.Utc(now - Backdate));
        generator.SetNotAfter(CertificateExtensions.Utc(notAfter));
        generator.SetPublicKey(request.GetPublicKey());
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        generator.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
        // Every node is both a TLS server and a TLS client on Proto.Remote.
        generator.AddExtension(X509Extensions.ExtendedKeyUsage, false,
            new ExtendedKeyUsage(KeyPurposeID.id_kp_serverAuth, KeyPurposeID.id_kp_clientAuth));
        if (sans.Length > 0)
            generator.AddExtension(X509Extensions.SubjectAlternativeName, false, CertificateExtensions.Ips(sans));
        CertificateExtensions.AddKeyIdentifiers(generator, subjectKey, caKey);
        return CertificateExtensions.Sign(generator, _signingKey);
    }

    /// <summary>Checks a CSR as <see cref="Issue(NodeCsr, string, ProtoSwarm.Contracts.NodeRole, string, IPAddress[], TimeSpan, DateTimeOffset)"/>
    /// does before it signs (parses, P-256, its signature verifies): what a manager checks before it forwards a CSR to an external CA.</summary>
    /// <exception cref="CsrRejectedException">The CSR is not a valid P-256 request.</exception>
    public static void CheckRequest(NodeCsr csr)
    {
        ArgumentNullException.ThrowIfNull(csr);
        _ = VerifiedRequest(csr);
    }

    private static Pkcs10CertificationRequest VerifiedRequest(NodeCsr csr)
    {
        Pkcs10CertificationRequest request;
        try
        {
            request = new Pkcs10CertificationRequest(csr.Der.ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or FormatException)
        {
            throw new CsrRejectedException("the CSR is not a DER-encoded PKCS#10 certificate request", e);
        }

        if (!KeyGeneration.IsP256(request.GetCertificationRequestInfo().SubjectPublicKeyInfo))
        {
            var algorithm = request.GetCertificationRequestInfo().SubjectPublicKeyInfo.Algorithm;
            throw new CsrRejectedException(
                $"the CSR's key is not an ECDSA P-256 key (algorithm {algorithm.Algorithm}, parameters {algorithm.Parameters}); generate a P-256 key");
        }

        bool verified;
        try
        {
            verified = request.Verify();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CsrRejectedException("the CSR's signature could not be checked: " + e.Message, e);
        }
        if (!verified)
            throw new CsrRejectedException("the CSR's signature does not verify with its own public key; it was altered or signed with another key");
        return request;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
