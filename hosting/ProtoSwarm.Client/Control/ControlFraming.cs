using System.Buffers.Binary;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// The control socket's framing: a 4-byte big-endian length, then a MessagePack
/// <see cref="ControlEnvelope"/>. One request frame, then one reply frame.
/// </summary>
public static class ControlFraming
{
    /// <summary>Large enough for any listing; small enough that a bad length cannot exhaust memory.</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    public static async Task WriteAsync(Stream stream, object message, CancellationToken ct)
    {
        var body = ContractRegistry.SerializeTyped(ControlEnvelope.Wrap(message));
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));
        await stream.WriteAsync(frame, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads one message, or null when the peer closed the stream between frames.</summary>
    public static async Task<object?> ReadAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[4];
        if (!await ReadExactlyOrEndAsync(stream, header, "Control socket closed inside a frame", ct).ConfigureAwait(false))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length <= 0 || length > MaxFrameBytes)
        {
            throw new InvalidDataException($"Control frame of {length} bytes is outside 1..{MaxFrameBytes}");
        }

        var body = new byte[length];
        await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
        return ContractRegistry.Deserialize<ControlEnvelope>(body).Unwrap();
    }

    /// <summary>Fills <paramref name="buffer"/>; false when the peer closed the stream before its first byte,
    /// <see cref="EndOfStreamException"/> (<paramref name="cutShort"/>) when it closed after some.</summary>
    internal static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, string cutShort, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0)
            {
                return read == 0 ? false : throw new EndOfStreamException(cutShort);
            }

            read += n;
        }

        return true;
    }
}
