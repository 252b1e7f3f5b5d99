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

    /// <summary>How far apart, in bytes of a file, a read keeps the positions a later read may resume at: a resumed
    /// read re-reads at most this much (and one record) before its cursor.</summary>
    internal const int PositionSpacing = 32 * 1024;

    /// <summary>The most positions one read keeps (the latest): 32 MiB of file at <see cref="PositionSpacing"/>, more than a
    /// page of `service logs` or a tail's window needs, and a few tens of KiB of memory per task.</summary>
    internal const int MaxPositions = 1024;

    /// <summary>The entries with a sequence above <paramref name="after"/>, oldest first; only the last
    /// <paramref name="tail"/> of them when given, else only the first <paramref name="limit"/> when given (the
    /// files are then read no further: a page of a large log does not cost the whole log). None when there is no log.</summary>
    public static IReadOnlyList<ContainerLogEntry> Read(string stateDir, long after = 0, int? tail = null, int? limit = null) =>
        Read(stateDir, null, after, tail, limit).Entries;

    /// <summary>
    /// As <see cref="Read(string, long, int?, int?)"/>, resuming at <paramref name="from"/> (a position an earlier read
    /// kept, whose <see cref="ContainerLogPosition.Sequence"/> is at most <paramref name="after"/>) when its file is still
    /// there; else from the oldest file's first byte. The answer is the same either way: every record before the
    /// position is an F at most <paramref name="after"/> (so none of them is an entry) or a piece the position carries.
    /// </summary>
    internal static ContainerLogRead Read(string stateDir, ContainerLogPosition? from, long after, int? tail, int? limit)
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
            var identities = files.Select(FirstSequence).ToList();
            var assembler = new Assembler(after, tail, tail is null ? limit : null);
            var first = files.Count - 1;
            var offset = 0L;
            var resumed = false;
            if (from is not null && Locate(files, identities, from) is { } found)
            {
                resumed = true;
                first = found;
                offset = from.Offset;
                assembler.Restore(from);
            }
            var bytes = 0L;
            for (var i = first; i >= 0 && !assembler.Full; i--)
            {
                bytes += ReadLines(files[i], identities[i], i == first ? offset : 0, assembler);
            }
            return new ContainerLogRead(assembler.Entries, assembler.Positions, resumed, bytes);
        }
        finally
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
    }

    /// <summary>
    /// The file <paramref name="from"/> lies in, by what names it (the sequence of its first record: sequences are
    /// never reused, and a file only grows until it is deleted, so a deleted file's reused inode or name cannot pass),
    /// if it still holds the position's bytes and a record ends there; the oldest match when a rotation had a file
    /// opened twice. Null sends the read back to the oldest file.
    /// </summary>
    private static int? Locate(List<FileStream> files, List<long?> identities, ContainerLogPosition from)
    {
        for (var i = files.Count - 1; i >= 0; i--)
        {
            if (identities[i] == from.File && files[i].Length >= from.Offset && from.Offset > 0)
            {
                files[i].Position = from.Offset - 1;
                if (files[i].ReadByte() == '\n')
                {
                    return i;
                }
            }
        }
        return null;
    }

    /// <summary>The sequence of a file's first record (its first word), which names the file; null while it has none.</summary>
    private static long? FirstSequence(FileStream file)
    {
        Span<byte> head = stackalloc byte[24];
        file.Position = 0;
        var read = 0;
        int n;
        while (read < head.Length && (n = file.Read(head[read..])) > 0)
        {
            read += n;
        }
        var space = head[..read].IndexOf((byte)' ');
        return space > 0 && long.TryParse(head[..space], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : null;
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

    /// <summary>Feeds the file's whole records from <paramref name="offset"/> on to the assembler; the bytes read.</summary>
    private static long ReadLines(FileStream stream, long? identity, long offset, Assembler assembler)
    {
        stream.Position = offset;
        var buffer = new byte[64 * 1024];
        var fill = 0;
        var bufferAt = offset; // the file offset of buffer[0]
        var total = 0L;
        int n;
        while (!assembler.Full && (n = stream.Read(buffer, fill, buffer.Length - fill)) > 0)
        {
            fill += n;
            total += n;
            var start = 0;
            int newline;
            while ((newline = buffer.AsSpan(start, fill - start).IndexOf((byte)'\n')) >= 0)
            {
                assembler.Add(buffer.AsSpan(start, newline), identity, bufferAt + start + newline + 1);
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
                bufferAt += start;
            }
        }
        // What is left has no newline yet: the monitor is writing it.
        return total;
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

    // Joins pieces per stream (as bytes: a cut may fall inside a UTF-8 character), keeps what is asked for, and
    // the positions a later read may resume at.
    private sealed class Assembler(long after, int? tail, int? limit)
    {
        // Each stream's pieces, as the arrays they were read into: a position shares them rather than copying them,
        // so a long line in pieces amid many records costs its bytes once, not once per position.
        private readonly List<byte[]>[] _pending = [[], []];
        private readonly Queue<ContainerLogEntry> _entries = new();
        private readonly Queue<ContainerLogPosition> _positions = new();
        private long _last;
        private long _lastFull;
        private long? _file;
        private long _offset;
        private long? _keptFile;
        private long _keptOffset;

        public IReadOnlyList<ContainerLogEntry> Entries => [.. _entries];

        /// <summary>The positions kept, in file order, the last one where this read stopped.</summary>
        public IReadOnlyList<ContainerLogPosition> Positions
        {
            get
            {
                if (_file is { } file && (_keptFile != file || _keptOffset != _offset))
                {
                    Keep(file);
                }
                return [.. _positions];
            }
        }

        /// <summary>The limit's lines are there: the rest is not read.</summary>
        public bool Full => limit is { } most && _entries.Count >= most;

        /// <summary>Takes up where an earlier read stood at <paramref name="position"/>.</summary>
        public void Restore(ContainerLogPosition position)
        {
            _last = position.Last;
            _lastFull = position.Sequence;
            _pending[(int)ContainerLogStream.Stdout].AddRange(position.Stdout ?? []);
            _pending[(int)ContainerLogStream.Stderr].AddRange(position.Stderr ?? []);
            (_file, _offset) = (position.File, position.Offset);
            (_keptFile, _keptOffset) = (position.File, position.Offset);
            _positions.Enqueue(position);
        }

        /// <summary>One record of the file named <paramref name="file"/>, which ends at <paramref name="end"/> (after its newline).</summary>
        public void Add(ReadOnlySpan<byte> line, long? file, long end)
        {
            if (Full || !TryParse(line, out var record) || record.Sequence <= _last)
            {
                return;
            }
            _last = record.Sequence;
            Consume(record);
            (_file, _offset) = (file, end);
            if (file is { } named && (_keptFile != named || end - _keptOffset >= PositionSpacing))
            {
                Keep(named);
            }
        }

        private void Consume(Record record)
        {
            var pending = _pending[(int)record.Stream];
            if (!record.Full)
            {
                pending.Add(record.Text.ToArray());
                return;
            }
            _lastFull = record.Sequence;
            if (record.Sequence <= after)
            {
                pending.Clear();
                return;
            }
            string text;
            if (pending.Count > 0)
            {
                var whole = new byte[pending.Sum(p => p.Length) + record.Text.Length];
                var at = 0;
                foreach (var piece in pending)
                {
                    piece.CopyTo(whole, at);
                    at += piece.Length;
                }
                record.Text.CopyTo(whole.AsSpan(at));
                text = Encoding.UTF8.GetString(whole);
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

        private void Keep(long file)
        {
            _positions.Enqueue(new ContainerLogPosition(_lastFull, _last, file, _offset, Snapshot(ContainerLogStream.Stdout), Snapshot(ContainerLogStream.Stderr)));
            if (_positions.Count > MaxPositions)
            {
                _positions.Dequeue();
            }
            (_keptFile, _keptOffset) = (file, _offset);
        }

        private byte[][]? Snapshot(ContainerLogStream stream) => _pending[(int)stream] is { Count: > 0 } pieces ? [.. pieces] : null;
    }
}

/// <summary>
/// Where a read of a container's log stood just after a record: in the file whose first record has the sequence
/// <paramref name="File"/>, at byte <paramref name="Offset"/>, the last F record read being <paramref name="Sequence"/>
/// and the last record <paramref name="Last"/>, with each stream's pieces of a line not yet ended (null when none: the
/// usual case). A read of the entries after any cursor at or above <paramref name="Sequence"/> may start here.
/// </summary>
internal sealed record ContainerLogPosition(long Sequence, long Last, long File, long Offset, byte[][]? Stdout, byte[][]? Stderr);

/// <summary>What one read found: the entries, the positions it kept, whether it resumed at one, and how many bytes it read.</summary>
internal sealed record ContainerLogRead(IReadOnlyList<ContainerLogEntry> Entries, IReadOnlyList<ContainerLogPosition> Positions, bool Resumed, long BytesRead);

/// <summary>
/// One container's log read again and again by the same reader (a task's `service logs` pages, a follow's polls):
/// it keeps the positions of its last read, so the next read after a cursor in that read's range starts near the
/// cursor rather than at the oldest file's first byte. A log of n pages read page by page then costs O(n) rather
/// than O(n²) (see docs/benchmarks.md). The answers are those of <see cref="ContainerLog.Read(string, long, int?, int?)"/>;
/// a cursor outside the kept range, or a position whose file rotated away, reads from the start as before.
/// Safe to call from several threads at once (the last read's positions win).
/// </summary>
public sealed class ContainerLogReader(string stateDir)
{
    private IReadOnlyList<ContainerLogPosition> _positions = [];

    /// <summary>As <see cref="ContainerLog.Read(string, long, int?, int?)"/>.</summary>
    public IReadOnlyList<ContainerLogEntry> Read(long after = 0, int? tail = null, int? limit = null) => ReadCounted(after, tail, limit).Entries;

    internal ContainerLogRead ReadCounted(long after = 0, int? tail = null, int? limit = null)
    {
        var read = ContainerLog.Read(stateDir, ResumeAt(Volatile.Read(ref _positions), after), after, tail, limit);
        Volatile.Write(ref _positions, read.Positions);
        return read;
    }

    /// <summary>The kept position nearest before <paramref name="after"/>: the last whose sequence is at most it (positions are in file order, so their sequences only grow).</summary>
    internal static ContainerLogPosition? ResumeAt(IReadOnlyList<ContainerLogPosition> positions, long after)
    {
        int low = 0, high = positions.Count - 1;
        ContainerLogPosition? found = null;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            if (positions[middle].Sequence <= after)
            {
                found = positions[middle];
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return found;
    }
}
