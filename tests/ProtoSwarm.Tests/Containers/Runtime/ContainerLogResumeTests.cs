using System.Text;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Reading a log page by page with one ContainerLogReader: each page resumes where the last read stopped, and the
// pages hold exactly the lines of one whole read (none lost, cut or repeated), with pieces, both streams and rotation.
public sealed class ContainerLogResumeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "protoswarm-log-resume-" + Guid.NewGuid().ToString("N")[..8]);

    public ContainerLogResumeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes as the monitor does: one sequence for both streams, a line longer than <paramref name="piece"/>
    /// bytes in P pieces then an F, and container.log renamed to .1 (.1 to .2 ...) when it passed <paramref name="maxSize"/>.</summary>
    private sealed class MonitorWriter(string dir, int piece = 16 * 1024, long maxSize = long.MaxValue, int maxFiles = 2)
    {
        private long _sequence;

        private string PathOf(int k) => Path.Combine(dir, k == 0 ? ContainerLog.FileName : $"{ContainerLog.FileName}.{k}");

        public long Write(string stream, string line) => Write(stream, [Encoding.UTF8.GetBytes(line)]);

        /// <summary>Several lines' bytes of one stream interleaved piece by piece with nothing; returns the last sequence.</summary>
        public long Write(string stream, byte[][] lines)
        {
            foreach (var bytes in lines)
            {
                var at = 0;
                while (bytes.Length - at > piece)
                {
                    Record(stream, 'P', bytes.AsSpan(at, piece));
                    at += piece;
                }
                Record(stream, 'F', bytes.AsSpan(at));
            }
            return _sequence;
        }

        /// <summary>One piece of a long line, for interleaving by hand.</summary>
        public void Piece(string stream, string text) => Record(stream, 'P', Encoding.UTF8.GetBytes(text));

        public void Rotate()
        {
            for (var k = maxFiles - 1; k >= 1; k--)
            {
                if (File.Exists(PathOf(k - 1)))
                {
                    File.Move(PathOf(k - 1), PathOf(k), overwrite: true);
                }
            }
        }

        private void Record(string stream, char kind, ReadOnlySpan<byte> text)
        {
            var head = Encoding.ASCII.GetBytes($"{++_sequence} 2024-05-06T07:08:09.123456789Z {stream} {kind} ");
            var path = PathOf(0);
            if (File.Exists(path) && new FileInfo(path).Length + head.Length + text.Length + 1 > maxSize)
            {
                Rotate();
            }
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            file.Write(head);
            file.Write(text);
            file.WriteByte((byte)'\n');
        }
    }

    /// <summary>Reads every page as `service logs` does: the next page after the last line of this one "shown",
    /// which is <paramref name="shown"/> of the page's lines (fewer than read, as a page cut by bytes is).</summary>
    private static (List<ContainerLogEntry> Lines, List<ContainerLogRead> Reads) ReadInPages(ContainerLogReader reader, int limit, Func<int, int> shown, Action<int>? between = null)
    {
        var lines = new List<ContainerLogEntry>();
        var reads = new List<ContainerLogRead>();
        var after = 0L;
        for (var page = 0; ; page++)
        {
            between?.Invoke(page);
            var read = reader.ReadCounted(after, limit: limit);
            reads.Add(read);
            if (read.Entries.Count == 0)
            {
                return (lines, reads);
            }
            var taken = read.Entries.Take(Math.Max(1, Math.Min(read.Entries.Count, shown(read.Entries.Count)))).ToList();
            lines.AddRange(taken);
            after = taken[^1].Sequence;
        }
    }

    [Fact]
    public void Pages_Resume_Near_Their_Cursor_So_Reading_A_Log_In_Pages_Reads_It_About_Once()
    {
        var writer = new MonitorWriter(_dir);
        for (var i = 1; i <= 20_000; i++)
        {
            writer.Write(i % 7 == 0 ? "stderr" : "stdout", $"line {i}");
        }
        var size = new FileInfo(Path.Combine(_dir, ContainerLog.FileName)).Length;

        var (lines, reads) = ReadInPages(new ContainerLogReader(_dir), limit: 500, shown: n => n - 37);

        Assert.Equal(ContainerLog.Read(_dir), lines);
        Assert.All(reads.Skip(1), r => Assert.True(r.Resumed, "a page after the first resumes at a kept position"));
        // Each page re-reads at most one position's spacing and the lines read but not shown; from the start it would be ~n²/2.
        Assert.InRange(reads.Sum(r => r.BytesRead), size, (2 * size) + (reads.Count * (ContainerLog.PositionSpacing + (64 * 1024))));
    }

    [Fact]
    public void A_Long_Line_In_Pieces_Far_Before_The_Cursor_Comes_Whole_Amid_The_Other_Streams_Lines()
    {
        // A stderr progress line in pieces amid much stdout: a search by sequence alone would resume past its first pieces.
        var writer = new MonitorWriter(_dir, piece: 8);
        writer.Piece("stderr", "progress ");
        for (var i = 1; i <= 3000; i++)
        {
            writer.Write("stdout", $"out {i}");
            if (i % 1000 == 0)
            {
                writer.Piece("stderr", $"{i / 10}% ");
            }
        }
        writer.Write("stderr", "done, and then a long tail past the piece size");
        writer.Write("stdout", "last");

        var (lines, reads) = ReadInPages(new ContainerLogReader(_dir), limit: 100, shown: n => n / 2);

        Assert.Equal(ContainerLog.Read(_dir), lines);
        Assert.Equal(3002, lines.Count);
        Assert.Contains(lines, l => l.Stream == ContainerLogStream.Stderr && l.Text == "progress 100% 200% 300% done, and then a long tail past the piece size");
        Assert.All(reads.Skip(1), r => Assert.True(r.Resumed));
    }

    [Fact]
    public void A_6_MB_Line_In_16_KiB_Pieces_Amid_The_Other_Stream_Reads_Whole_Across_Pages()
    {
        var writer = new MonitorWriter(_dir);
        var big = new string('z', 6_000_000);
        writer.Write("stdout", "before");
        var bytes = Encoding.UTF8.GetBytes(big);
        for (var at = 0; at < bytes.Length; at += 16 * 1024)
        {
            var piece = bytes.AsSpan(at, Math.Min(16 * 1024, bytes.Length - at)).ToArray();
            if (at + piece.Length < bytes.Length)
            {
                writer.Piece("stderr", Encoding.UTF8.GetString(piece));
                writer.Write("stdout", $"amid {at}");
            }
            else
            {
                writer.Write("stderr", Encoding.UTF8.GetString(piece));
            }
        }

        var (lines, reads) = ReadInPages(new ContainerLogReader(_dir), limit: 50, shown: n => n - 5);

        Assert.Equal(big, Assert.Single(lines, l => l.Stream == ContainerLogStream.Stderr).Text);
        Assert.Equal(ContainerLog.Read(_dir), lines);
        Assert.All(reads.Skip(1), r => Assert.True(r.Resumed));
    }

    [Fact]
    public void Rotation_Between_Pages_Loses_And_Repeats_No_Line_Even_One_Whose_Pieces_Span_The_Files()
    {
        var writer = new MonitorWriter(_dir, piece: 16, maxSize: 4096, maxFiles: 3);
        var expected = new List<(long, string)>();
        var next = 1;
        void WriteSome(int count)
        {
            for (var k = 0; k < count; k++, next++)
            {
                // Every 5th line is long, in pieces, on stderr; a rotation falls inside some of them.
                var (stream, text) = next % 5 == 0 ? ("stderr", $"long line {next} " + new string('x', 40)) : ("stdout", $"line {next}");
                expected.Add((writer.Write(stream, text), text));
            }
        }
        WriteSome(60);

        // The monitor keeps writing (and rotating, .2 dropped each time) between the pages, never two rotations ahead.
        var (lines, reads) = ReadInPages(new ContainerLogReader(_dir), limit: 20, shown: n => n - 3, between: page => WriteSome(page < 30 ? 10 : 0));

        Assert.Equal(expected, lines.Select(l => (l.Sequence, l.Text)));
        Assert.True(reads.Count(r => r.Resumed) >= reads.Count - 2, "pages resume in a file after it was renamed");
    }

    [Fact]
    public void A_Position_Whose_File_Rotated_Away_Reads_From_The_Oldest_File_As_A_Whole_Read_Does()
    {
        var writer = new MonitorWriter(_dir, maxSize: 200, maxFiles: 2);
        for (var i = 1; i <= 10; i++)
        {
            writer.Write("stdout", $"line {i}");
        }
        var reader = new ContainerLogReader(_dir);
        var first = reader.ReadCounted(limit: 2);
        for (var i = 11; i <= 40; i++)
        {
            writer.Write("stdout", $"line {i}");
        }

        var next = reader.ReadCounted(after: first.Entries[^1].Sequence);

        Assert.False(next.Resumed);
        Assert.Equal(ContainerLog.Read(_dir, after: first.Entries[^1].Sequence), next.Entries);
    }

    [Fact]
    public void A_Tails_Start_And_A_Follows_Poll_Resume_Too()
    {
        var writer = new MonitorWriter(_dir);
        for (var i = 1; i <= 5000; i++)
        {
            writer.Write("stdout", $"line {i}");
        }
        var reader = new ContainerLogReader(_dir);

        // A tail's page starts after the line before its window (TaskLogPaging's Start), which the tail did not return.
        var tail = reader.ReadCounted(tail: 300);
        var start = tail.Entries[0].Sequence - 1;
        var page = reader.ReadCounted(after: start, limit: 100);
        var poll = reader.ReadCounted(after: page.Entries[^1].Sequence);
        var pollWhole = ContainerLog.Read(_dir, after: page.Entries[^1].Sequence);
        writer.Write("stdout", "new");
        var newLine = reader.ReadCounted(after: 5000);
        var idle = reader.ReadCounted(after: 5001);

        Assert.Equal(ContainerLog.Read(_dir, after: start, limit: 100), page.Entries);
        Assert.Equal(pollWhole, poll.Entries);
        Assert.Equal(["new"], newLine.Entries.Select(e => e.Text));
        Assert.Empty(idle.Entries);
        Assert.All([page, poll, newLine, idle], r => Assert.True(r.Resumed));
        Assert.True(idle.BytesRead == 0, $"an idle poll reads nothing, read {idle.BytesRead}");
    }

    [Fact]
    public void A_Log_Replaced_By_Another_Under_The_Same_Name_Is_Not_Resumed_In()
    {
        // Names and inodes are reused; what names a file is its first record's sequence, and a record must end at the position.
        var writer = new MonitorWriter(_dir);
        for (var i = 1; i <= 100; i++)
        {
            writer.Write("stdout", $"line {i}");
        }
        var reader = new ContainerLogReader(_dir);
        var first = reader.ReadCounted(limit: 10);
        File.WriteAllText(Path.Combine(_dir, ContainerLog.FileName),
            string.Concat(Enumerable.Range(500, 100).Select(i => $"{i} 2024-05-06T07:08:09Z stdout F other {i}\n")));

        var next = reader.ReadCounted(after: first.Entries[^1].Sequence, limit: 10);

        Assert.False(next.Resumed);
        Assert.Equal(ContainerLog.Read(_dir, after: 10, limit: 10), next.Entries);
    }

    [Fact]
    public void A_Cursor_Before_Every_Kept_Position_Reads_From_The_Start()
    {
        var writer = new MonitorWriter(_dir);
        for (var i = 1; i <= 3000; i++)
        {
            writer.Write("stdout", $"line {i}");
        }
        var reader = new ContainerLogReader(_dir);
        reader.ReadCounted(after: 2500, limit: 10);

        var earlier = reader.ReadCounted(after: 0, limit: 3);
        var near = reader.ReadCounted(after: 1, limit: 3);

        Assert.False(earlier.Resumed);
        Assert.Equal([1L, 2L, 3L], earlier.Entries.Select(e => e.Sequence));
        Assert.True(near.Resumed, "a read keeps a position after its first record");
        Assert.Equal([2L, 3L, 4L], near.Entries.Select(e => e.Sequence));
    }
}
