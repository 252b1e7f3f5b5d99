using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ProtoSwarm.Pki;

/// <summary>SHA-256 of a CA certificate's DER encoding: what a join token pins.</summary>
public sealed class CaDigest : IEquatable<CaDigest>
{
    public const int Length = 32;

    private readonly byte[] _bytes;

    private CaDigest(byte[] bytes) => _bytes = bytes;

    public ReadOnlySpan<byte> Bytes => _bytes;

    public static CaDigest FromBytes(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != Length)
            throw new ArgumentException($"a CA digest is {Length} bytes, got {digest.Length}", nameof(digest));
        return new CaDigest(digest.ToArray());
    }

    public static CaDigest OfCertificate(ReadOnlySpan<byte> certificateDer) => new(SHA256.HashData(certificateDer));

    public static CaDigest OfCertificate(X509Certificate2 certificate) => OfCertificate(certificate.RawData);

    public static CaDigest OfCertificate(Org.BouncyCastle.X509.X509Certificate certificate) =>
        OfCertificate(certificate.GetEncoded());

    /// <summary>Compares in constant time: a timing difference must not reveal how much of a digest matched.</summary>
    public bool Matches(ReadOnlySpan<byte> certificateDer)
    {
        Span<byte> actual = stackalloc byte[Length];
        SHA256.HashData(certificateDer, actual);
        return CryptographicOperations.FixedTimeEquals(actual, _bytes);
    }

    public bool Equals(CaDigest? other) =>
        other is not null && CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    public override bool Equals(object? obj) => Equals(obj as CaDigest);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);

    /// <summary>As docker prints it: <c>sha256:</c> and 64 lowercase hex digits.</summary>
    public override string ToString() => "sha256:" + Convert.ToHexStringLower(_bytes);
}
