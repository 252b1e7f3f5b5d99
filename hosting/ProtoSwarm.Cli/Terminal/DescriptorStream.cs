using System.Runtime.InteropServices;
using static ProtoSwarm.Cli.Terminal.Interop.Libc;

namespace ProtoSwarm.Cli.Terminal;

/// <summary>
/// One of this process's standard descriptors as a byte stream, through read(2) and write(2) and nothing
/// else: unbuffered, and sharing the descriptor's file offset with the shell around it. (A FileStream over
/// a redirected file reads and writes at offsets of its own, so `(cmd; protoswarm exec -i ...; cmd) > file`
/// would have the next command write over the exec's output.)
/// </summary>
internal sealed unsafe class DescriptorStream(int fd, FileAccess access) : Stream
{
    public override bool CanRead => access.HasFlag(FileAccess.Read);

    public override bool CanWrite => access.HasFlag(FileAccess.Write);

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = read(fd, p, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                if (Marshal.GetLastPInvokeError() != EINTR)
                {
                    throw new IOException($"read of descriptor {fd}: {Marshal.GetLastPInvokeErrorMessage()}");
                }
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var p = start;
            var left = buffer.Length;
            while (left > 0)
            {
                var n = write(fd, p, (nuint)left);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }

                    throw new IOException($"write to descriptor {fd}: {Marshal.GetLastPInvokeErrorMessage()}");
                }

                p += n;
                left -= (int)n;
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // A terminal or pipe write returns at once or blocks on the reader, as the output relay wants: it is
        // what slows the command when nobody reads.
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
