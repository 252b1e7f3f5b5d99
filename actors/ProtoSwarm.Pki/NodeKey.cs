using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>
/// A node's own ECDSA P-256 key. It makes CSRs and pairs with the certificate the CA returns; the CA only
/// ever sees the CSR, so the private key never leaves the node that generated it.
/// </summary>
public sealed class NodeKey
{
    private readonly AsymmetricCipherKeyPair _pair;

    private NodeKey(AsymmetricCipherKeyPair pair) => _pair = pair;

    public static NodeKey Generate() => new(KeyGeneration.NewP256());

    /// <summary>Loads the key this node saved with <see cref="ExportPrivateKeyPem"/>.</summary>
    public static NodeKey FromPem(string privateKeyPem)
    {
        if (Pem.ReadPrivateKey(privateKeyPem) is not ECPrivateKeyParameters privateKey)
            throw new FormatException("the node key is not an EC private key");
        if (privateKey.PublicKeyParamSet is null || !privateKey.PublicKeyParamSet.Equals(SecObjectIdentifiers.SecP256r1))
            throw new FormatException("the node key is not on curve P-256");
        var publicKey = new ECPublicKeyParameters(
            privateKey.AlgorithmName, privateKey.Parameters.G.Multiply(privateKey.D).Normalize(), privateKey.PublicKeyParamSet);
        return new NodeKey(new AsymmetricCipherKeyPair(publicKey, privateKey));
    }

    public SubjectPublicKeyInfo PublicKey => PublicKeyInfo(_pair);

    /// <summary>
    /// A CSR signed with this key. The subject is informative only: the CA sets CN, OU and O itself, since the node
    /// does not choose its own id, role or cluster.
    /// </summary>
    public NodeCsr CreateCsr(string subjectCommonName = "swarm-node")
    {
        var request = new Pkcs10CertificationRequest(
            new Asn1SignatureFactory(KeyGeneration.SignatureAlgorithm, _pair.Private, KeyGeneration.Random),
            new X509Name([X509Name.CN], [subjectCommonName]),
            _pair.Public,
            // PKCS#10 requires the attributes field, empty or not; BouncyCastle leaves it out when given null, and
            // Go's parser (CFSSL as an external CA) refuses such a request ("asn1: syntax error: sequence truncated").
            attributes: new DerSet());
        return NodeCsr.FromDer(request.GetEncoded());
    }

    /// <summary>For the node's own disk only.</summary>
    public string ExportPrivateKeyPem() => Pem.WritePrivateKey(_pair.Private);

    /// <summary>The issued certificate with this key attached, as Kestrel and SocketsHttpHandler want it.</summary>
    public X509Certificate2 WithCertificate(BcCertificate issued)
    {
        if (!issued.SubjectPublicKeyInfo.Equals(PublicKey))
            throw new ArgumentException("the certificate was not issued for this node key", nameof(issued));
        return X509Conversions.ToX509Certificate2(issued, _pair.Private);
    }

    private static SubjectPublicKeyInfo PublicKeyInfo(AsymmetricCipherKeyPair pair) =>
        Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(pair.Public);
}
