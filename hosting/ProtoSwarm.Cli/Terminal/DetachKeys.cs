namespace ProtoSwarm.Cli.Terminal;

/// <summary>
/// docker's detach keys on an attached terminal (`run -it`, `start -ai`): ^P then ^Q typed on stdin detach the client, and
/// the container goes on. The stream reads stdin without the two keys and ends at them (<see cref="Detached"/> then says so);
/// a ^P followed by anything else reaches the container with what follows it, as docker sends it.
/// </summary>
internal sealed class DetachKeys(Stream input) : Stream
{
    public const byte CtrlP = 0x10;
    public const byte CtrlQ = 0x11;

    private bool _held;

    /// <summary>^P ^Q was typed: the stream ended there.</summary>
    public bool Detached { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length < 2)
        {
            throw new ArgumentException("read detach keys into two bytes at least (a held ^P and what follows it)", nameof(buffer));
        }

        var read = new byte[buffer.Length - 1];
        while (!Detached)
        {
            var n = input.Read(read);
            if (n == 0)
            {
                // The end of stdin: a ^P held for the key after it goes as it was typed.
                var last = _held ? 1 : 0;
                if (_held)
                {
                    buffer[0] = CtrlP;
                    _held = false;
                }

                return last;
            }

            var written = Scan(read.AsSpan(0, n), ref _held, buffer, out var detached);
            Detached = detached;
            if (written > 0 || detached)
            {
                return written;
            }
        }

        return 0;
    }

    /// <summary>
    /// The keys of <paramref name="typed"/> to send, into <paramref name="output"/> (one byte longer than <paramref name="typed"/>
    /// at least); <paramref name="held"/> carries a ^P that was the last key of the read before. <paramref name="detached"/>
    /// when ^P ^Q came: the keys before them are written, nothing after.
    /// </summary>
    public static int Scan(ReadOnlySpan<byte> typed, ref bool held, Span<byte> output, out bool detached)
    {
        detached = false;
        var at = 0;
        foreach (var key in typed)
        {
            if (held)
            {
                held = false;
                if (key == CtrlQ)
                {
                    detached = true;
                    return at;
                }

                output[at++] = CtrlP;
            }

            if (key == CtrlP)
            {
                held = true;
            }
            else
            {
                output[at++] = key;
            }
        }

        return at;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            input.Dispose();
        }

        base.Dispose(disposing);
    }
}
