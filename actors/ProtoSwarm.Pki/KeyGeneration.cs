using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;

namespace ProtoSwarm.Pki;

/// <summary>ECDSA P-256 keys, the only kind the swarm issues for and signs with.</summary>
internal static class KeyGeneration
{
    public const string SignatureAlgorithm = "SHA256WITHECDSA";

    public static readonly SecureRandom Random = new();

    public static AsymmetricCipherKeyPair NewP256()
    {
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, Random));
        return generator.GenerateKeyPair();
    }

    /// <summary>Named-curve P-256 only; explicit curve parameters are refused too, as RFC 5480 asks.</summary>
    public static bool IsP256(SubjectPublicKeyInfo key) =>
        key.Algorithm.Algorithm.Equals(X9ObjectIdentifiers.IdECPublicKey)
        && key.Algorithm.Parameters is DerObjectIdentifier curve
        && curve.Equals(SecObjectIdentifiers.SecP256r1);

    /// <summary>A positive 127-bit serial: unique enough that two certificates never share one.</summary>
    public static BigInteger NewSerial() => new BigInteger(127, Random).SetBit(0);
}
