using System.Security.Cryptography;

namespace ProtoSwarm.Persistence.Sealing;

/// <summary>
/// The node's own key-encryption key: 32 random bytes in a root-only file (0600, in a 0700
/// directory) of the state directory, <c>keys/raft.kek</c>. It stands for "wrapped by the node's
/// key" until the PKI derives that from the node's TLS key.
/// </summary>
public sealed class NodeKeyFile : IKeyEncryptionKey
{
    private static readonly byte[] Info = "protoswarm raft data key wrap, node key, v1"u8.ToArray();

    private readonly byte[] _secret;

    private NodeKeyFile(byte[] secret) => _secret = secret;

    public KeyProtection Protection => KeyProtection.NodeKey;

    public static NodeKeyFile LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            KeyFiles.WriteAtomically(path, RandomNumberGenerator.GetBytes(DataKey.Size));
        }

        var secret = File.ReadAllBytes(path);
        if (secret.Length != DataKey.Size)
        {
            throw new PersistenceException($"{path} holds {secret.Length} bytes, not the {DataKey.Size} of a node key; it is damaged. Without it this manager's Raft log cannot be read: remove the state directory's keys/ and raft.db, then join the swarm again as a manager.");
        }

        return new NodeKeyFile(secret);
    }

    public byte[] DeriveWrappingKey(ReadOnlySpan<byte> salt)
    {
        var key = new byte[DataKey.Size];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _secret, key, salt, Info);
        return key;
    }
}
