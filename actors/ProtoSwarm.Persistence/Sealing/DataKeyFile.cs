using System.Security.Cryptography;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Persistence.Sealing;

/// <summary>A data key as stored: sealed under a wrapping key derived from a key-encryption key and the salt.</summary>
[MessagePackObject]
public sealed record WrappedDataKey(
    [property: Key(0)] int Version,
    [property: Key(1)] KeyProtection Protection,
    [property: Key(2)] byte[] Salt,
    [property: Key(3)] byte[] SealedKey);

/// <summary>
/// A manager's Raft data key, wrapped, in its own root-only file (<c>keys/raft.dek</c>), as
/// swarmkit keeps its raft DEK beside the node key rather than in the log. Rewrapping (rotating
/// the unlock key, autolock on or off) rewrites this small file atomically and never the log.
/// </summary>
public sealed class DataKeyFile
{
    private const int CurrentVersion = 1;
    private const int SaltSize = 16;

    private readonly IKeyEncryptionKey _nodeKey;

    public DataKeyFile(string path, IKeyEncryptionKey nodeKey)
    {
        Path = path;
        _nodeKey = nodeKey;
    }

    public string Path { get; }

    public bool Exists => File.Exists(Path);

    /// <summary>What protects the stored key, or null when there is none yet. Reading it needs no key.</summary>
    public KeyProtection? Protection => Exists ? Read().Protection : null;

    /// <summary>True when the key is wrapped by the unlock key: without it this manager is locked.</summary>
    public bool NeedsUnlockKey => Protection == KeyProtection.UnlockKey;

    /// <summary>
    /// Unwraps the stored key. Wrapped by the node's key: <paramref name="unlockKey"/> is not
    /// needed. Wrapped by the unlock key: none given is <see cref="SwarmLockedException"/>, a wrong
    /// one <see cref="InvalidUnlockKeyException"/>.
    /// </summary>
    public DataKey Load(UnlockKey? unlockKey)
    {
        var wrapped = Read();
        IKeyEncryptionKey kek = wrapped.Protection switch
        {
            KeyProtection.NodeKey => _nodeKey,
            KeyProtection.UnlockKey => unlockKey ?? throw new SwarmLockedException(
                $"This manager is locked: its Raft data key ({Path}) is protected by the swarm's unlock key (autolock). Run `protoswarm swarm unlock` and give the key printed by `protoswarm swarm unlock-key`."),
            _ => throw new PersistenceException($"{Path}: the data key is protected by an unknown kind of key ({(int)wrapped.Protection}); it is damaged or from a newer ProtoSwarm."),
        };

        var wrappingKey = kek.DeriveWrappingKey(wrapped.Salt);
        try
        {
            using var wrapping = DataKey.FromBytes(wrappingKey);
            using var sealer = new Sealer(wrapping);
            var bytes = sealer.Open(wrapped.SealedKey, Place(wrapped.Protection));
            try
            {
                return DataKey.FromBytes(bytes);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }
        catch (PersistenceException e) when (wrapped.Protection == KeyProtection.UnlockKey)
        {
            throw new InvalidUnlockKeyException($"The unlock key does not open this manager's Raft data key ({Path}): it is not the key this manager was locked with, or the key file was changed. Use the key printed by `protoswarm swarm unlock-key` on an unlocked manager; if the key was rotated while this manager was down, use the key before the rotation (the new one applies once it is unlocked and has caught up).", e);
        }
        catch (PersistenceException e)
        {
            throw new PersistenceException($"{Path}: the node key does not open the Raft data key ({e.Message}); the key files were changed or come from another node. Remove the state directory's keys/ and raft.db, then join the swarm again as a manager.", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }
    }

    /// <summary>
    /// The stored key, or a new one stored wrapped by <paramref name="unlockKey"/> (autolock) or,
    /// when none is given, by the node's key. A new manager's raft.db starts with a new key.
    /// </summary>
    public DataKey LoadOrCreate(UnlockKey? unlockKey)
    {
        if (Exists)
        {
            return Load(unlockKey);
        }

        var key = DataKey.Generate();
        Write(key, unlockKey ?? _nodeKey);
        return key;
    }

    /// <summary>
    /// Wraps the same data key anew: under <paramref name="next"/> (rotate the unlock key, or turn
    /// autolock on), or under the node's key when it is null (autolock off). The log is untouched.
    /// </summary>
    public void Rewrap(UnlockKey? current, UnlockKey? next)
    {
        using var key = Load(current);
        Write(key, next ?? _nodeKey);
    }

    public void Delete() => DeleteIfPresent(Path);

    /// <summary>Removes a data key file; none there (not even its keys/ directory) is not an error.</summary>
    public static void DeleteIfPresent(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private void Write(DataKey key, IKeyEncryptionKey kek)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var wrappingKey = kek.DeriveWrappingKey(salt);
        try
        {
            using var wrapping = DataKey.FromBytes(wrappingKey);
            using var sealer = new Sealer(wrapping);
            var wrapped = new WrappedDataKey(CurrentVersion, kek.Protection, salt, sealer.Seal(key.Bytes, Place(kek.Protection)));
            KeyFiles.WriteAtomically(Path, MessagePackSerializer.Serialize(wrapped, ContractRegistry.Options));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrappingKey);
        }
    }

    private WrappedDataKey Read()
    {
        try
        {
            var wrapped = MessagePackSerializer.Deserialize<WrappedDataKey>(File.ReadAllBytes(Path), ContractRegistry.Options);
            if (wrapped.Version != CurrentVersion)
            {
                throw new PersistenceException($"{Path}: the wrapped data key has format version {wrapped.Version}, this build reads {CurrentVersion}; it is damaged or from a newer ProtoSwarm.");
            }

            return wrapped;
        }
        catch (MessagePackSerializationException e)
        {
            throw new PersistenceException($"{Path}: the wrapped data key cannot be read ({e.Message}); the file is damaged. Without it this manager's Raft log cannot be read: remove the state directory's keys/ and raft.db, then join the swarm again as a manager.", e);
        }
    }

    // The protection is bound in: relabelling a key wrapped by the unlock key as node-wrapped fails.
    private static string Place(KeyProtection protection) => $"data-key:{protection}";
}
