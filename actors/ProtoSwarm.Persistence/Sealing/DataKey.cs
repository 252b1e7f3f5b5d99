using System.Security.Cryptography;

namespace ProtoSwarm.Persistence.Sealing;

/// <summary>
/// A 256-bit AES key. The data key seals a manager's Raft entries and snapshots; it is never
/// written anywhere except wrapped (<see cref="DataKeyFile"/>). Disposing zeroes it.
/// </summary>
public sealed class DataKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _bytes;

    private DataKey(byte[] bytes) => _bytes = bytes;

    public static DataKey Generate() => new(RandomNumberGenerator.GetBytes(Size));

    public static DataKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A data key is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        }

        return new DataKey(bytes.ToArray());
    }

    public ReadOnlySpan<byte> Bytes => _bytes;

    public void Dispose() => CryptographicOperations.ZeroMemory(_bytes);
}
