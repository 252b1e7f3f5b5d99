using System.Collections.Immutable;

namespace ProtoSwarm.Cli.Terminal;

/// <summary>
/// docker's detach keys on an attached terminal (`run -it`, `start -ai`, `exec -it`): the sequence (Ctrl-P Ctrl-Q unless
/// --detach-keys names another) typed on stdin detaches the client, and the container, or the exec'd command, goes on. The
/// stream reads stdin without the sequence and ends at it (<see cref="Detached"/> then says so); the start of the sequence
/// followed by anything else reaches the container with what follows it, as docker sends it.
/// </summary>
internal sealed class DetachKeys(Stream input, ImmutableArray<byte> sequence) : Stream
{
    public const byte CtrlP = 0x10;
    public const byte CtrlQ = 0x11;

    /// <summary>docker's default, ctrl-p,ctrl-q.</summary>
    public static readonly ImmutableArray<byte> Default = [CtrlP, CtrlQ];

    /// <summary>The keys of docker's --detach-keys format that are not single characters: ctrl-@, ctrl-a to ctrl-z, ctrl-[,
    /// ctrl-\, ctrl-], ctrl-^ and ctrl-_ (their ASCII codes, 0 to 31), and DEL (127), as docker's term.ToBytes reads them.</summary>
    private const string ControlKeys = "@abcdefghijklmnopqrstuvwxyz[\\]^_";

    private int _held;

    public DetachKeys(Stream input) : this(input, Default)
    {
    }

    /// <summary>The sequence was typed: the stream ended there.</summary>
    public bool Detached { get; private set; }

    /// <summary>
    /// docker's --detach-keys: comma-separated keys, each `ctrl-X` (X one of a-z @ [ \ ] ^ _), `DEL`, or one character
    /// for itself; null or empty gives <see cref="Default"/>. The error names the key that is none, in docker's words.
    /// </summary>
    public static (ImmutableArray<byte> Keys, string? Error) Parse(string? keys)
    {
        if (string.IsNullOrEmpty(keys))
        {
            return (Default, null);
        }

        var codes = ImmutableArray.CreateBuilder<byte>();
        foreach (var key in keys.Split(','))
        {
            if (key.Length == 1 && key[0] < 128)
            {
                codes.Add((byte)key[0]);
            }
            else if (key.Length == 6 && key.StartsWith("ctrl-", StringComparison.Ordinal) && ControlKeys.IndexOf(key[5], StringComparison.Ordinal) is >= 0 and var code)
            {
                codes.Add((byte)code);
            }
            else if (key == "DEL")
            {
                codes.Add(127);
            }
            else
            {
                return (Default, $"Unknown character: '{key}'");
            }
        }

        return (codes.ToImmutable(), null);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length < sequence.Length)
        {
            throw new ArgumentException($"read detach keys into {sequence.Length} bytes at least (the keys held and what follows them)", nameof(buffer));
        }

        var read = new byte[buffer.Length - (sequence.Length - 1)];
        while (!Detached)
        {
            var n = input.Read(read);
            if (n == 0)
            {
                // The end of stdin: the start of the sequence held for the keys after it goes as it was typed.
                var last = _held;
                sequence.AsSpan(0, _held).CopyTo(buffer);
                _held = 0;
                return last;
            }

            var written = Scan(read.AsSpan(0, n), sequence.AsSpan(), ref _held, buffer, out var detached);
            Detached = detached;
            if (written > 0 || detached)
            {
                return written;
            }
        }

        return 0;
    }

    /// <summary>
    /// The keys of <paramref name="typed"/> to send, into <paramref name="output"/> (longer than <paramref name="typed"/> by the
    /// sequence's length less one at least); <paramref name="held"/> counts the keys of the sequence the reads before ended with.
    /// <paramref name="detached"/> when the whole sequence came: the keys before it are written, nothing after. A key that breaks
    /// the sequence sends the keys held, then counts as the first of the sequence if it is.
    /// </summary>
    public static int Scan(ReadOnlySpan<byte> typed, ReadOnlySpan<byte> sequence, ref int held, Span<byte> output, out bool detached)
    {
        detached = false;
        var at = 0;
        foreach (var key in typed)
        {
            if (key != sequence[held] && held > 0)
            {
                sequence[..held].CopyTo(output[at..]);
                at += held;
                held = 0;
            }

            if (key != sequence[held])
            {
                output[at++] = key;
                continue;
            }

            if (++held == sequence.Length)
            {
                held = 0;
                detached = true;
                return at;
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
