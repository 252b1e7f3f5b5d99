using System.Buffers;

namespace ProtoSwarm.Contracts;

/// <summary>
/// A buffer writer over arrays rented from the shared pool, for large encodings that are copied
/// or sealed once and then dropped (a store snapshot): its growing buffers come back from the pool
/// instead of being new large-object arrays each time, which cost a full collection every few
/// megabytes. The part of a returned array that was written is cleared, since a snapshot holds
/// the store in clear; the rest was never touched (a pooled array is rounded up to a power of
/// two, and clearing all of it would fault in tens of megabytes of fresh pages for nothing).
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    // A span handed out is at most this long beyond what was asked for, so the bytes a writer can
    // have put in the array (advanced or not) end at _touched, and only those are cleared.
    private const int SpanBytes = 64 * 1024;

    private byte[] _buffer;
    private int _written;
    private int _touched;

    public PooledBufferWriter(int initialCapacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, initialCapacity));
    }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public int WrittenCount => _written;

    /// <summary>
    /// Bytes already written, to fill in a header whose value was known only after what follows
    /// it (a length): room reserved with <see cref="GetSpan"/> and <see cref="Advance"/> first.
    /// </summary>
    public Span<byte> Rewrite(int offset, int length) => _buffer.AsSpan(0, _written).Slice(offset, length);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        var length = HandOut(sizeHint); // first: it may replace the buffer
        return _buffer.AsMemory(_written, length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        var length = HandOut(sizeHint);
        return _buffer.AsSpan(_written, length);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ReturnCleared(_buffer, Math.Max(_written, _touched));
            _buffer = [];
        }
    }

    private void Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        var next = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_buffer.Length * 2, _written + needed)));
        _buffer.AsSpan(0, _written).CopyTo(next);
        ReturnCleared(_buffer, Math.Max(_written, _touched));
        _buffer = next;
        _touched = _written;
    }

    private int HandOut(int sizeHint)
    {
        Ensure(sizeHint);
        var length = Math.Min(_buffer.Length - _written, Math.Max(sizeHint, SpanBytes));
        _touched = Math.Max(_touched, _written + length);
        return length;
    }

    private static void ReturnCleared(byte[] buffer, int written)
    {
        buffer.AsSpan(0, written).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
