namespace ProtoSwarm.Persistence.Sealing;

/// <summary>What protects a manager's data key on disk.</summary>
public enum KeyProtection
{
    /// <summary>The node's own key: a manager restarts unattended.</summary>
    NodeKey = 1,

    /// <summary>The swarm's unlock key (autolock): a restarted manager is locked until it is given the key.</summary>
    UnlockKey = 2,
}

/// <summary>
/// A key-encryption key: the secret the data key is wrapped under. Implementations derive a
/// 256-bit wrapping key per wrap from their secret and a random salt stored with the wrapped key.
/// Today the node's key is <see cref="NodeKeyFile"/>; the PKI replaces it with one derived from
/// the node's TLS private key, without touching the data key or the log.
/// </summary>
public interface IKeyEncryptionKey
{
    KeyProtection Protection { get; }

    /// <summary>The 32-byte wrapping key for this salt; the caller zeroes it after use.</summary>
    byte[] DeriveWrappingKey(ReadOnlySpan<byte> salt);
}
