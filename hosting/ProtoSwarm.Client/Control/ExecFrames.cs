using System.Buffers.Binary;

namespace ProtoSwarm.Client.Control;

/// <summary>What an exec frame carries.</summary>
public enum ExecFrameKind : byte
{
    /// <summary>CLI -> node: bytes for the command's stdin (or its terminal).</summary>
    Stdin = 0,

    /// <summary>Node -> CLI: bytes the command wrote on stdout (with -t: on its terminal).</summary>
    Stdout = 1,

    /// <summary>Node -> CLI: bytes the command wrote on stderr (never with -t: the terminal is one stream).</summary>
    Stderr = 2,

    /// <summary>CLI -> node: the terminal's new size, rows and columns (2 + 2 bytes, big-endian).</summary>
    Resize = 3,

    /// <summary>CLI -> node: the CLI's stdin ended; the command's stdin is closed.</summary>
    CloseStdin = 4,

    /// <summary>Node -> CLI, last: the exit code (4 bytes, big-endian) and 1 when --timeout killed it.</summary>
    Exit = 5,

    /// <summary>CLI -> node: the user typed the detach keys; the command goes on without the client (its output dropped),
    /// and the connection's end no longer kills it, as docker's detached `exec -it`.</summary>
    Detach = 6,
}

/// <summary>
/// The exec stream that follows an <see cref="Contracts.ExecStarted"/> on the control socket: frames of
/// a kind byte, a 4-byte big-endian length and at most <see cref="MaxPayload"/> bytes. Small frames and
/// a reader that reads one before the next keep both sides bounded: a side that stops reading stops
/// the other's writes, and so the command (its pipe or terminal fills).
/// </summary>
public static class ExecFrames
{
    public const int HeaderBytes = 5;

    /// <summary>The largest payload; larger writes are cut into frames this size.</summary>
    public const int MaxPayload = 32 * 1024;

    /// <summary>Writes <paramref name="payload"/> as one or more frames of <paramref name="kind"/> (one empty frame when it is empty).</summary>
    public static async Task WriteAsync(Stream stream, ExecFrameKind kind, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var frame = new byte[HeaderBytes + Math.Min(payload.Length, MaxPayload)];
        do
        {
            var part = payload[..Math.Min(payload.Length, MaxPayload)];
            frame[0] = (byte)kind;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), part.Length);
            part.Span.CopyTo(frame.AsSpan(HeaderBytes));
            await stream.WriteAsync(frame.AsMemory(0, HeaderBytes + part.Length), ct).ConfigureAwait(false);
            payload = payload[part.Length..];
        }
        while (payload.Length > 0);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one frame's payload into <paramref name="buffer"/> (at least <see cref="MaxPayload"/> bytes):
    /// its kind and length, or null when the peer closed the stream between frames.
    /// </summary>
    public static async Task<(ExecFrameKind Kind, int Length)?> ReadAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        if (buffer.Length < MaxPayload)
        {
            throw new ArgumentException($"an exec frame buffer holds {MaxPayload} bytes", nameof(buffer));
        }

        var header = new byte[HeaderBytes];
        if (!await ControlFraming.ReadExactlyOrEndAsync(stream, header, "exec stream closed inside a frame header", ct).ConfigureAwait(false))
        {
            return null;
        }

        var kind = (ExecFrameKind)header[0];
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (!Enum.IsDefined(kind))
        {
            throw new InvalidDataException($"exec frame of unknown kind {header[0]}");
        }

        if (length < 0 || length > MaxPayload)
        {
            throw new InvalidDataException($"exec frame of {length} bytes is outside 0..{MaxPayload}");
        }

        await stream.ReadExactlyAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
        return (kind, length);
    }

    public static byte[] Resize(ushort rows, ushort columns)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(payload, rows);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), columns);
        return payload;
    }

    public static (ushort Rows, ushort Columns) ReadResize(ReadOnlySpan<byte> payload) =>
        payload.Length == 4
            ? (BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt16BigEndian(payload[2..]))
            : throw new InvalidDataException($"a resize frame holds 4 bytes, not {payload.Length}");

    public static byte[] Exit(int exitCode, bool timedOut)
    {
        var payload = new byte[5];
        BinaryPrimitives.WriteInt32BigEndian(payload, exitCode);
        payload[4] = timedOut ? (byte)1 : (byte)0;
        return payload;
    }

    public static (int ExitCode, bool TimedOut) ReadExit(ReadOnlySpan<byte> payload) =>
        payload.Length == 5
            ? (BinaryPrimitives.ReadInt32BigEndian(payload), payload[4] != 0)
            : throw new InvalidDataException($"an exit frame holds 5 bytes, not {payload.Length}");
}
