using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ProtoSwarm.Pki;

/// <summary>
/// <c>SWMTKN-1-&lt;CA digest&gt;-&lt;secret&gt;</c>, docker's join token shape: the SHA-256 of the root CA in base 36
/// padded to 50 characters (enough for 2^256), then a 128-bit secret in base 36 padded to 25 (enough for 2^128).
/// The digest lets a joining node pin the CA it fetched without trusting it; the secret admits it.
/// </summary>
public sealed class JoinToken
{
    public const string Prefix = "SWMTKN";
    public const string Version = "1";
    public const int SecretLength = 16;
    public const int DigestChars = 50;
    public const int SecretChars = 25;

    private readonly byte[] _secret;

    private JoinToken(CaDigest caDigest, byte[] secret)
    {
        CaDigest = caDigest;
        _secret = secret;
    }

    public CaDigest CaDigest { get; }

    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary>A fresh token for the CA: 128 bits of secret from the operating system's CSPRNG.</summary>
    public static JoinToken Generate(CaDigest caDigest) => Create(caDigest, RandomNumberGenerator.GetBytes(SecretLength));

    public static JoinToken Create(CaDigest caDigest, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(caDigest);
        if (secret.Length != SecretLength)
            throw new ArgumentException($"a join token secret is {SecretLength} bytes, got {secret.Length}", nameof(secret));
        return new JoinToken(caDigest, secret.ToArray());
    }

    public static JoinToken Parse(string text) =>
        TryParse(text, out var token, out var error) ? token : throw new JoinTokenFormatException(error);

    /// <summary>Never echoes the secret part into <paramref name="error"/>: errors end up in logs.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out JoinToken? token, [NotNullWhen(false)] out string? error)
    {
        token = null;
        error = Check(text?.Trim(), out var digest, out var secret);
        if (error is not null)
            return false;
        token = new JoinToken(CaDigest.FromBytes(digest), secret);
        return true;
    }

    private static string? Check(string? text, out byte[] digest, out byte[] secret)
    {
        const string Shape = "expected SWMTKN-1-<50 base-36 characters>-<25 base-36 characters>";
        digest = new byte[CaDigest.Length];
        secret = new byte[SecretLength];
        if (string.IsNullOrEmpty(text))
            return "the join token is empty; " + Shape;

        var parts = text.Split('-');
        if (parts[0] != Prefix)
            return $"a join token starts with '{Prefix}-', this one starts with '{Head(parts[0])}'; {Shape}";
        if (parts.Length != 4)
            return $"the join token has {parts.Length} parts separated by '-', a join token has 4; {Shape}";
        if (parts[1] != Version)
            return $"join token version '{Head(parts[1])}' is not supported, only version {Version} is; {Shape}";

        return CheckPart(parts[2], "CA digest", DigestChars, digest, echoCharacters: true)
            ?? CheckPart(parts[3], "secret", SecretChars, secret, echoCharacters: false);
    }

    private static string? CheckPart(string part, string name, int chars, byte[] destination, bool echoCharacters)
    {
        if (part.Length != chars)
            return $"the join token's {name} has {part.Length} characters, it should have {chars}";
        var bad = Base36.IndexOfInvalid(part);
        if (bad >= 0)
        {
            var what = echoCharacters ? $"'{part[bad]}'" : "a character";
            return $"the join token's {name} has {what} at position {bad + 1} that is not a base-36 digit (0-9, a-z)";
        }
        return Base36.TryDecode(part, destination)
            ? null
            : $"the join token's {name} is larger than {destination.Length * 8} bits";
    }

    private static string Head(string text) => text.Length <= 12 ? text : text[..12] + "...";

    /// <summary>Whether <paramref name="caCertificateDer"/> is the CA this token pins, compared in constant time.</summary>
    public bool Matches(ReadOnlySpan<byte> caCertificateDer) => CaDigest.Matches(caCertificateDer);

    public bool Matches(X509Certificate2 caCertificate) => Matches(caCertificate.RawData);

    public bool Matches(Org.BouncyCastle.X509.X509Certificate caCertificate) => Matches(caCertificate.GetEncoded());

    /// <summary>Whether a presented token is this one (same CA and secret), compared in constant time.</summary>
    public bool Admits(JoinToken presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var sameSecret = CryptographicOperations.FixedTimeEquals(_secret, presented._secret);
        var sameCa = CaDigest.Equals(presented.CaDigest);
        return sameSecret & sameCa;
    }

    public override string ToString() =>
        $"{Prefix}-{Version}-{Base36.Encode(CaDigest.Bytes, DigestChars)}-{Base36.Encode(_secret, SecretChars)}";
}
