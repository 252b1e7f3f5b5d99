using System.Runtime.InteropServices;
using static ProtoSwarm.ContainerInit.Interop.Libc;

namespace ProtoSwarm.ContainerInit;

// The container's log, written by the monitor: one record a line,
//   "<sequence> <RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n"
// (ProtoSwarm.Containers' ContainerLog reads it back). A line longer than MaxLine is cut into P pieces
// ended by an F piece, so no buffer here grows with what the container prints. The sequence is one
// counter for both streams and keeps counting across rotations. Plain write(2), no fsync: a crash of
// the machine may lose the last lines, as with docker's json-file driver.
internal sealed unsafe class LogWriter
{
    public const int MaxLine = 16 * 1024;
    private const int Capacity = MaxLine + 128; // one longest record: text plus a header of at most 70 bytes

    private readonly string _path;
    private readonly string[] _rotated; // _rotated[k] = "<path>.k"
    private readonly long _maxBytes;
    private readonly byte* _buffer;
    private int _length;
    private int _fd;
    private long _size;
    private long _sequence;

    public LogWriter(string path, long maxBytes, int maxFiles)
    {
        _path = path;
        _maxBytes = maxBytes;
        _rotated = new string[Math.Max(maxFiles, 1)];
        for (var k = 1; k < _rotated.Length; k++)
        {
            _rotated[k] = path + "." + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        _buffer = (byte*)NativeMemory.Alloc(Capacity);
        // A container started again (docker's start of an exited one, a restart policy) goes on with its log: the
        // records follow the last run's, their sequence after its last one, so readers see one log.
        _sequence = LastSequence(path);
        _fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0x1A0 /* 0640 */);
        Native.Check(_fd, $"open {path}");
        _size = File.Exists(path) ? new FileInfo(path).Length : 0;
    }

    /// <summary>The sequence of the last record in the log (the current file, else its newest rotated one); 0 for none.</summary>
    internal static long LastSequence(string path)
    {
        foreach (var file in new[] { path, path + ".1" })
        {
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                if (stream.Length == 0)
                {
                    continue;
                }
                var window = (int)Math.Min(stream.Length, 2 * Capacity);
                stream.Seek(-window, SeekOrigin.End);
                var bytes = new byte[window];
                stream.ReadExactly(bytes);
                var end = bytes.Length;
                while (end > 0 && bytes[end - 1] == (byte)'\n')
                {
                    end--;
                }
                var start = Array.LastIndexOf(bytes, (byte)'\n', Math.Max(end - 1, 0)) + 1;
                var space = Array.IndexOf(bytes, (byte)' ', start);
                if (space > start && long.TryParse(bytes.AsSpan(start, space - start), System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var sequence))
                {
                    return sequence;
                }
            }
            catch (IOException)
            {
            }
        }
        return 0;
    }

    /// <summary>Adds one record (a whole line when <paramref name="full"/>, else a piece of one); written at the next flush.</summary>
    public void Append(ReadOnlySpan<byte> stream, bool full, ReadOnlySpan<byte> text)
    {
        var record = 70 + text.Length;
        if (_length + record > Capacity)
        {
            Flush();
        }
        if (_maxBytes > 0 && _size + _length + record > _maxBytes && _size + _length > 0)
        {
            Flush();
            Rotate();
        }
        var span = new Span<byte>(_buffer + _length, Capacity - _length);
        var at = 0;
        _sequence++;
        _sequence.TryFormat(span, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        at += written;
        span[at++] = (byte)' ';
        at += FormatNow(span[at..]);
        span[at++] = (byte)' ';
        stream.CopyTo(span[at..]);
        at += stream.Length;
        span[at++] = (byte)' ';
        span[at++] = full ? (byte)'F' : (byte)'P';
        span[at++] = (byte)' ';
        text.CopyTo(span[at..]);
        at += text.Length;
        span[at++] = (byte)'\n';
        _length += at;
    }

    public void Flush()
    {
        var done = 0;
        while (done < _length)
        {
            var n = write(_fd, _buffer + done, _length - done);
            if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
                continue;
            }
            if (n <= 0)
            {
                break; // a full disk drops lines rather than stopping the container
            }
            done += (int)n;
            _size += n;
        }
        _length = 0;
    }

    public void Close()
    {
        Flush();
        close(_fd);
        _fd = -1;
    }

    // "<path>.k-1" becomes "<path>.k" (the oldest is replaced, so dropped), the current file ".1".
    private void Rotate()
    {
        close(_fd);
        for (var k = _rotated.Length - 1; k >= 1; k--)
        {
            _ = rename(k == 1 ? _path : _rotated[k - 1], _rotated[k]);
        }
        _fd = Open();
        _size = 0;
    }

    private int Open() => open(_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0x1A0 /* 0640 */);

    // "2006-01-02T15:04:05.999999999Z" with all nine digits, so records sort as text too.
    private static int FormatNow(Span<byte> into)
    {
        TimeSpec now;
        _ = clock_gettime(CLOCK_REALTIME, &now);
        var days = Math.DivRem(now.Seconds, 86400, out var second);
        // Howard Hinnant's civil_from_days.
        var z = days + 719468;
        var era = (z >= 0 ? z : z - 146096) / 146097;
        var doe = z - (era * 146097);
        var yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
        var doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        var mp = ((5 * doy) + 2) / 153;
        var day = doy - (((153 * mp) + 2) / 5) + 1;
        var month = mp < 10 ? mp + 3 : mp - 9;
        var year = yoe + (era * 400) + (month <= 2 ? 1 : 0);
        Digits(into, 0, year, 4);
        into[4] = (byte)'-';
        Digits(into, 5, month, 2);
        into[7] = (byte)'-';
        Digits(into, 8, day, 2);
        into[10] = (byte)'T';
        Digits(into, 11, second / 3600, 2);
        into[13] = (byte)':';
        Digits(into, 14, second / 60 % 60, 2);
        into[16] = (byte)':';
        Digits(into, 17, second % 60, 2);
        into[19] = (byte)'.';
        Digits(into, 20, now.Nanoseconds, 9);
        into[29] = (byte)'Z';
        return 30;
    }

    private static void Digits(Span<byte> into, int at, long value, int width)
    {
        for (var i = at + width - 1; i >= at; i--)
        {
            into[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}

// One of the container's output pipes (or a TTY container's terminal master, whose end is EIO rather than
// end of file): reads what is there and hands whole lines (or MaxLine pieces) to the writer, or drops them
// without one; what follows the last newline waits in the buffer for the rest of its line.
internal sealed unsafe class LogPipe(int fd, byte[] stream)
{
    private readonly byte* _buffer = (byte*)NativeMemory.Alloc(LogWriter.MaxLine);
    private int _fill;

    public int Fd { get; private set; } = fd;

    /// <summary>Where each read's bytes also go as they are, before they are cut into lines (a TTY container's attached terminal).</summary>
    public IOutputTee? Tee { get; init; }

    /// <summary>Closes the pipe without reading the rest (nobody wrote its end of file in time).</summary>
    public void Close()
    {
        if (Fd >= 0)
        {
            close(Fd);
            Fd = -1;
            NativeMemory.Free(_buffer);
        }
    }

    /// <summary>One read(2); at end of file (or an error: a terminal's master reads EIO once every slave is closed)
    /// the unfinished last line is written as a whole one and the pipe closed. Without a writer the output is dropped.</summary>
    public void Pump(LogWriter? writer)
    {
        var n = read(Fd, _buffer + _fill, LogWriter.MaxLine - _fill);
        if (n < 0 && Marshal.GetLastPInvokeError() is EINTR or EAGAIN)
        {
            return;
        }
        if (n <= 0)
        {
            if (_fill > 0)
            {
                writer?.Append(stream, full: true, new ReadOnlySpan<byte>(_buffer, _fill));
                _fill = 0;
            }
            close(Fd);
            Fd = -1;
            NativeMemory.Free(_buffer);
            return;
        }
        Tee?.Output(new ReadOnlySpan<byte>(_buffer + _fill, (int)n));
        _fill += (int)n;
        var data = new Span<byte>(_buffer, _fill);
        var start = 0;
        int newline;
        while ((newline = data[start..].IndexOf((byte)'\n')) >= 0)
        {
            writer?.Append(stream, full: true, data.Slice(start, newline));
            start += newline + 1;
        }
        if (start == 0 && _fill == LogWriter.MaxLine)
        {
            writer?.Append(stream, full: false, data);
            _fill = 0;
        }
        else if (start > 0)
        {
            data[start..].CopyTo(data);
            _fill -= start;
        }
    }
}

/// <summary>Takes a copy of what a <see cref="LogPipe"/> reads, as it was read.</summary>
internal interface IOutputTee
{
    void Output(ReadOnlySpan<byte> bytes);
}
