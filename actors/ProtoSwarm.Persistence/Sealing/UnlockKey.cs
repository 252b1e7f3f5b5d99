using System.Security.Cryptography;

namespace ProtoSwarm.Persistence.Sealing;

/// <summary>
/// The swarm's unlock key for autolock, in docker's shape: <c>SWMKEY-1-</c> and the unpadded
/// base64 of 32 random bytes. <see cref="ToString"/> hides it so it cannot leak into a log line;
/// <see cref="Text"/> is what `swarm unlock-key` prints.
/// </summary>
public sealed class UnlockKey : IKeyEncryptionKey, IEquatable<UnlockKey>
{
    public const string Prefix = "SWMKEY-1-";

    private static readonly byte[] Info = "protoswarm raft data key wrap, unlock key, v1"u8.ToArray();

    private readonly byte[] _secret;

    private UnlockKey(byte[] secret) => _secret = secret;

    public KeyProtection Protection => KeyProtection.UnlockKey;

    public string Text => Prefix + Convert.ToBase64String(_secret).TrimEnd('=');

    public static UnlockKey Create() => new(RandomNumberGenerator.GetBytes(DataKey.Size));

    /// <summary>Reads a key as a user typed or pasted it; the message of a refusal says what is wrong with it.</summary>
    public static UnlockKey Parse(string? text)
    {
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            throw new FormatException("No unlock key was given; it looks like SWMKEY-1-..., as printed by `protoswarm swarm unlock-key` on an unlocked manager.");
        }

        if (!trimmed.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException($"An unlock key starts with {Prefix}; this one does not (a join token starts with SWMTKN-1- and is not an unlock key).");
        }

        var body = trimmed[Prefix.Length..];
        var padded = body.PadRight(body.Length + ((4 - (body.Length % 4)) % 4), '=');
        byte[] secret;
        try
        {
            secret = Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            throw new FormatException($"The unlock key is not valid: the part after {Prefix} is not base64; copy the whole key again.");
        }

        if (secret.Length != DataKey.Size)
        {
            throw new FormatException($"The unlock key is not valid: it holds {secret.Length} bytes, an unlock key holds {DataKey.Size}; was it cut short when copied?");
        }

        return new UnlockKey(secret);
    }

    public byte[] DeriveWrappingKey(ReadOnlySpan<byte> salt)
    {
        var key = new byte[DataKey.Size];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _secret, key, salt, Info);
        return key;
    }

    public bool Equals(UnlockKey? other) => other is not null && CryptographicOperations.FixedTimeEquals(_secret, other._secret);

    public override bool Equals(object? obj) => Equals(obj as UnlockKey);

    public override int GetHashCode() => 0;

    public override string ToString() => Prefix + "<hidden>";
}
