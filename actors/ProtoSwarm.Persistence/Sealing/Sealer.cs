using System.Security.Cryptography;
using System.Text;

namespace ProtoSwarm.Persistence.Sealing;

/// <summary>
/// Seals blobs with AES-GCM under one <see cref="DataKey"/>. A sealed blob is
/// <c>version (1) | nonce (12, random) | tag (16) | ciphertext</c>; the associated data is the
/// version and the blob's place (<c>entry:7:2:0</c>, <c>snapshot:9:3</c>), so a blob moved to another
/// row, or an old one replayed into a new row, fails to open like a changed one. Random nonces are
/// safe for far more blobs (2^32) than one manager's data key ever seals.
/// </summary>
public sealed class Sealer : IDisposable
{
    public const byte Version = 1;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = 1 + NonceSize + TagSize;

    private static readonly byte[] KeyIdLabel = "protoswarm data key id"u8.ToArray();

    // Nonces are drawn from the system's generator 256 at a time: one call per blob cost more than
    // the blob's encryption when a Ready seals dozens of small entries.
    private const int NoncesPerRefill = 256;

    // A blob this large (a snapshot: tens of megabytes, sealed on the thread pool) is sealed with
    // an AES-GCM instance of its own, so that sealing it never holds up the Raft actor's entries.
    private const int BulkBytes = 64 * 1024;

    private readonly AesGcm _aes;
    private readonly Lock _lock = new();
    private readonly AesGcm _bulkAes;
    private readonly Lock _bulkLock = new();
    private readonly byte[] _nonces = new byte[NonceSize * NoncesPerRefill];
    private int _nonceOffset = NonceSize * NoncesPerRefill;

    public Sealer(DataKey key)
    {
        _aes = new AesGcm(key.Bytes, TagSize);
        _bulkAes = new AesGcm(key.Bytes, TagSize);
        KeyId = HMACSHA256.HashData(key.Bytes, KeyIdLabel)[..8];
    }

    /// <summary>
    /// A fingerprint of the key that reveals nothing of it: stored beside sealed data so a wrong
    /// key is named as such instead of showing up as damage.
    /// </summary>
    public byte[] KeyId { get; }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string place)
    {
        var sealedBlob = new byte[Overhead + plaintext.Length];
        SealInto(plaintext, AssociatedData(place), sealedBlob);
        return sealedBlob;
    }

    /// <summary>
    /// Seals into <paramref name="destination"/> (at least <see cref="Overhead"/> bytes longer than
    /// the plaintext) the same blob <see cref="Seal"/> returns for a place whose UTF-8 bytes are
    /// <paramref name="placeUtf8"/>; returns its length. For the Raft log's entries, which are
    /// bound into SQLite at once and need no array of their own.
    /// </summary>
    public int Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> placeUtf8, Span<byte> destination)
    {
        Span<byte> associated = placeUtf8.Length < 256 ? stackalloc byte[1 + placeUtf8.Length] : new byte[1 + placeUtf8.Length];
        associated[0] = Version;
        placeUtf8.CopyTo(associated[1..]);
        var length = Overhead + plaintext.Length;
        SealInto(plaintext, associated, destination[..length]);
        return length;
    }

    private void SealInto(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associated, Span<byte> sealedBlob)
    {
        sealedBlob[0] = Version;
        var nonce = sealedBlob.Slice(1, NonceSize);
        var tag = sealedBlob.Slice(1 + NonceSize, TagSize);
        lock (_lock)
        {
            if (_nonceOffset == _nonces.Length)
            {
                RandomNumberGenerator.Fill(_nonces);
                _nonceOffset = 0;
            }

            // Each nonce is used once: copied out, then wiped from the buffer.
            var next = _nonces.AsSpan(_nonceOffset, NonceSize);
            next.CopyTo(nonce);
            next.Clear();
            _nonceOffset += NonceSize;
            if (plaintext.Length < BulkBytes)
            {
                _aes.Encrypt(nonce, plaintext, sealedBlob[Overhead..], tag, associated);
            }
        }

        if (plaintext.Length >= BulkBytes)
        {
            lock (_bulkLock)
            {
                _bulkAes.Encrypt(nonce, plaintext, sealedBlob[Overhead..], tag, associated);
            }
        }
    }

    /// <summary>Opens a blob sealed for <paramref name="place"/>, or throws; never returns altered bytes.</summary>
    public byte[] Open(ReadOnlySpan<byte> sealedBlob, string place)
    {
        if (sealedBlob.Length < Overhead)
        {
            throw new PersistenceException($"the sealed {place} is {sealedBlob.Length} bytes, shorter than any sealed blob ({Overhead}); it was truncated");
        }

        if (sealedBlob[0] != Version)
        {
            throw new PersistenceException($"the sealed {place} has format version {sealedBlob[0]}, this build reads version {Version}; it is damaged or from a newer ProtoSwarm");
        }

        var plaintext = new byte[sealedBlob.Length - Overhead];
        try
        {
            var (aes, gate) = plaintext.Length < BulkBytes ? (_aes, _lock) : (_bulkAes, _bulkLock);
            lock (gate)
            {
                aes.Decrypt(sealedBlob.Slice(1, NonceSize), sealedBlob[Overhead..], sealedBlob.Slice(1 + NonceSize, TagSize), plaintext, AssociatedData(place));
            }
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new PersistenceException($"the sealed {place} fails authentication: it was changed, truncated, moved from another row, or sealed under another key", e);
        }

        return plaintext;
    }

    public void Dispose()
    {
        _aes.Dispose();
        _bulkAes.Dispose();
    }

    private static byte[] AssociatedData(string place)
    {
        var bytes = new byte[1 + Encoding.UTF8.GetByteCount(place)];
        bytes[0] = Version;
        Encoding.UTF8.GetBytes(place, bytes.AsSpan(1));
        return bytes;
    }
}
