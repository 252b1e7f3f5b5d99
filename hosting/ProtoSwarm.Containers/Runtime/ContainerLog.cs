using System.Text;

namespace ProtoSwarm.Containers.Runtime;

public enum ContainerLogStream
{
    Stdout,
    Stderr,
}

/// <summary>One line the container printed. A line the monitor wrote in pieces (longer than 16 KiB) comes
/// back whole, with the sequence and time of its last piece, so sequences only increase.</summary>
public sealed record ContainerLogEntry(long Sequence, DateTimeOffset Timestamp, ContainerLogStream Stream, string Text);

/// <summary>
/// Reads the log protoswarm-init's monitor writes in a container's state directory: container.log and
/// its rotated predecessors (container.log.1 is older, .2 older still), one record a line,
/// "&lt;sequence&gt; &lt;RFC3339Nano UTC&gt; &lt;stdout|stderr&gt; &lt;F|P&gt; &lt;text&gt;" (P: a piece of a longer line, F: its end).
/// The monitor may be writing while this reads: a last line without its newline is left for the next read.
/// To follow, call again with <c>after</c> set to the last sequence seen.
/// </summary>
public static class ContainerLog
{
    public const string FileName = "container.log";
    private const int MaxRotated = 1000;

    /// <summary>The entries with a sequence above <paramref name="after"/>, oldest first; only the last
    /// <paramref name="tail"/> of them when given, else only the first <paramref name="limit"/> when given (the
    /// files are then read no further: a page of a large log does not cost the whole log). None when there is no log.</summary>
    public static IReadOnlyList<ContainerLogEntry> Read(string stateDir, long after = 0, int? tail = null, int? limit = null)
    {
        // Opened newest first, read oldest first: a rotation in between makes a file be read twice
        // (its records are skipped by sequence the second time) rather than missed.
        var path = Path.Combine(stateDir, FileName);
        var files = new List<FileStream>();
        try
        {
            for (var k = 0; k <= MaxRotated; k++)
            {
                var file = TryOpen(k == 0 ? path : $"{path}.{k}");
                if (file is null && k == 0)
                {
                    // Between the monitor's rename of the current file and its open of the next one: the rest are there.
                    continue;
                }

                if (file is null)
                {
                    break;
                }
                files.Add(file);
            }
            var assembler = new Assembler(after, tail, tail is null ? limit : null);
            for (var i = files.Count - 1; i >= 0 && !assembler.Full; i--)
            {
                ReadLines(files[i], assembler);
            }
            return assembler.Entries;
        }
        finally
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
    }

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static void ReadLines(Stream stream, Assembler assembler)
    {
        var buffer = new byte[64 * 1024];
        var fill = 0;
        int n;
        while (!assembler.Full && (n = stream.Read(buffer, fill, buffer.Length - fill)) > 0)
        {
            fill += n;
            var start = 0;
            int newline;
            while ((newline = buffer.AsSpan(start, fill - start).IndexOf((byte)'\n')) >= 0)
            {
                assembler.Add(buffer.AsSpan(start, newline));
                start += newline + 1;
            }
            if (start == 0 && fill == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2); // not a record the monitor writes; read past it
            }
            else
            {
                buffer.AsSpan(start, fill - start).CopyTo(buffer);
                fill -= start;
            }
        }
        // What is left has no newline yet: the monitor is writing it.
    }

    internal readonly ref struct Record(long sequence, DateTimeOffset timestamp, ContainerLogStream stream, bool full, ReadOnlySpan<byte> text)
    {
        public long Sequence { get; } = sequence;
        public DateTimeOffset Timestamp { get; } = timestamp;
        public ContainerLogStream Stream { get; } = stream;
        public bool Full { get; } = full;
        public ReadOnlySpan<byte> Text { get; } = text;
    }

    /// <summary>Parses one record (without its newline); false for anything the monitor does not write.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> line, out Record record)
    {
        record = default;
        var space = line.IndexOf((byte)' ');
        if (space <= 0 || !long.TryParse(line[..space], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }
        line = line[(space + 1)..];
        space = line.IndexOf((byte)' ');
        if (space < 0 || !TryParseTimestamp(line[..space], out var timestamp))
        {
            return false;
        }
        line = line[(space + 1)..];
        ContainerLogStream stream;
        if (line.StartsWith("stdout "u8))
        {
            stream = ContainerLogStream.Stdout;
        }
        else if (line.StartsWith("stderr "u8))
        {
            stream = ContainerLogStream.Stderr;
        }
        else
        {
            return false;
        }
        line = line[7..];
        if (line.Length < 2 || line[1] != (byte)' ' || line[0] is not ((byte)'F' or (byte)'P'))
        {
            return false;
        }
        record = new Record(sequence, timestamp, stream, line[0] == (byte)'F', line[2..]);
        return true;
    }

    // "2006-01-02T15:04:05.999999999Z": DateTimeOffset's parsers stop at 7 fractional digits.
    internal static bool TryParseTimestamp(ReadOnlySpan<byte> text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[^1] != 'Z'
            || !Number(text[..4], out var year) || !Number(text.Slice(5, 2), out var month) || !Number(text.Slice(8, 2), out var day)
            || !Number(text.Slice(11, 2), out var hour) || !Number(text.Slice(14, 2), out var minute) || !Number(text.Slice(17, 2), out var second))
        {
            return false;
        }
        long ticks = 0;
        if (text.Length > 20)
        {
            var fraction = text[20..^1];
            if (text[19] != '.' || fraction.Length is 0 or > 9 || !Number(fraction, out var digits))
            {
                return false;
            }
            for (var i = fraction.Length; i < 9; i++)
            {
                digits *= 10;
            }
            ticks = digits / 100;
        }
        try
        {
            timestamp = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).AddTicks(ticks);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static bool Number(ReadOnlySpan<byte> digits, out int value) =>
        int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);

    // Joins pieces per stream (as bytes: a cut may fall inside a UTF-8 character) and keeps what is asked for.
    private sealed class Assembler(long after, int? tail, int? limit)
    {
        private readonly List<byte>?[] _pending = new List<byte>?[2];
        private readonly Queue<ContainerLogEntry> _entries = new();
        private long _last;

        public IReadOnlyList<ContainerLogEntry> Entries => [.. _entries];

        /// <summary>The limit's lines are there: the rest is not read.</summary>
        public bool Full => limit is { } most && _entries.Count >= most;

        public void Add(ReadOnlySpan<byte> line)
        {
            if (Full || !TryParse(line, out var record) || record.Sequence <= _last)
            {
                return;
            }
            _last = record.Sequence;
            var pending = _pending[(int)record.Stream];
            if (!record.Full)
            {
                (_pending[(int)record.Stream] ??= []).AddRange(record.Text);
                return;
            }
            if (record.Sequence <= after)
            {
                pending?.Clear();
                return;
            }
            string text;
            if (pending is { Count: > 0 })
            {
                pending.AddRange(record.Text);
                text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending));
                pending.Clear();
            }
            else
            {
                text = Encoding.UTF8.GetString(record.Text);
            }
            _entries.Enqueue(new ContainerLogEntry(record.Sequence, record.Timestamp, record.Stream, text));
            if (tail is { } keep && _entries.Count > keep)
            {
                _entries.Dequeue();
            }
        }
    }
}
