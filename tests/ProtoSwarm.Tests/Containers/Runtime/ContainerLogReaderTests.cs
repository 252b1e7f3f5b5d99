using System.Text;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The log reader against files written here, in the monitor's format: no root, no container.
public sealed class ContainerLogReaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "protoswarm-log-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public ContainerLogReaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Record(long seq, string stream, char kind, string text, string time = "2024-05-06T07:08:09.123456789Z") =>
        $"{seq} {time} {stream} {kind} {text}\n";

    private void Write(string name, params string[] records) =>
        File.WriteAllText(Path.Combine(_dir, name), string.Concat(records));

    [Fact]
    public void Records_Are_Parsed_With_Their_Stream_And_Nanosecond_Timestamp()
    {
        Write("container.log", Record(1, "stdout", 'F', "hello world"), Record(2, "stderr", 'F', ""), Record(3, "stdout", 'F', " two  spaces "));

        var entries = ContainerLog.Read(_dir);

        Assert.Equal(
        [
            new ContainerLogEntry(1, new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567), ContainerLogStream.Stdout, "hello world"),
            new ContainerLogEntry(2, new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567), ContainerLogStream.Stderr, ""),
            new ContainerLogEntry(3, new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567), ContainerLogStream.Stdout, " two  spaces "),
        ], entries);
    }

    [Fact]
    public void Partial_Pieces_Are_Joined_Per_Stream_Even_Across_A_Split_Character()
    {
        // "é" is two bytes in UTF-8; the monitor cuts at a byte count, so a piece may end inside it.
        var e = Encoding.UTF8.GetBytes("é");
        var first = Encoding.Latin1.GetString([(byte)'a', e[0]]);
        var second = Encoding.Latin1.GetString([e[1], (byte)'b']);
        File.WriteAllBytes(Path.Combine(_dir, "container.log"), Encoding.Latin1.GetBytes(
            Record(1, "stdout", 'P', first) + Record(2, "stderr", 'F', "between") + Record(3, "stdout", 'P', second) + Record(4, "stdout", 'F', "c")));

        var entries = ContainerLog.Read(_dir);

        Assert.Equal([(2L, ContainerLogStream.Stderr, "between"), (4L, ContainerLogStream.Stdout, "aébc")],
            entries.Select(x => (x.Sequence, x.Stream, x.Text)));
    }

    [Fact]
    public void A_Torn_Last_Line_And_An_Unfinished_Partial_Line_Wait_For_The_Next_Read()
    {
        Write("container.log", Record(1, "stdout", 'F', "done"), Record(2, "stderr", 'P', "half of"), "3 2024-05-06T07:08:09.1");

        Assert.Equal(["done"], ContainerLog.Read(_dir).Select(x => x.Text));

        File.AppendAllText(Path.Combine(_dir, "container.log"), "00000000Z stdout F whole now\n" + Record(4, "stderr", 'F', " it"));

        Assert.Equal([(3L, "whole now"), (4L, "half of it")], ContainerLog.Read(_dir, after: 1).Select(x => (x.Sequence, x.Text)));
    }

    [Fact]
    public void Rotated_Files_Are_Read_Oldest_First_And_A_Sequence_Is_Read_Once()
    {
        Write("container.log.2", Record(1, "stdout", 'F', "a"), Record(2, "stdout", 'F', "b"));
        Write("container.log.1", Record(3, "stdout", 'F', "c"));
        // As if a rotation happened while reading: a record seen already is not seen again.
        Write("container.log", Record(3, "stdout", 'F', "c"), Record(4, "stdout", 'F', "d"));

        Assert.Equal(["a", "b", "c", "d"], ContainerLog.Read(_dir).Select(x => x.Text));
    }

    [Fact]
    public void A_Read_Between_The_Monitors_Rename_And_Its_New_File_Still_Finds_The_Rotated_Ones()
    {
        // A chatty task with a small max-size is caught there often: the reader found nothing at all.
        Write("container.log.1", Record(5, "stdout", 'F', "newest rotated"));
        Write("container.log.2", Record(4, "stdout", 'F', "older"));

        Assert.Equal(["older", "newest rotated"], ContainerLog.Read(_dir).Select(e => e.Text));
    }

    [Fact]
    public void After_And_Tail_Select_The_Newest_Entries()
    {
        Write("container.log", [.. Enumerable.Range(1, 10).Select(i => Record(i, "stdout", 'F', $"line {i}"))]);

        Assert.Equal([8L, 9L, 10L], ContainerLog.Read(_dir, after: 7).Select(x => x.Sequence));
        Assert.Equal([9L, 10L], ContainerLog.Read(_dir, tail: 2).Select(x => x.Sequence));
        Assert.Equal([10L], ContainerLog.Read(_dir, after: 8, tail: 1).Select(x => x.Sequence));
        Assert.Empty(ContainerLog.Read(_dir, after: 10));
    }

    [Fact]
    public void A_Limit_Reads_Only_The_First_Lines_After_The_Cursor_Across_Rotated_Files_And_Yields_To_A_Tail()
    {
        Write("container.log.1", [.. Enumerable.Range(1, 5).Select(i => Record(i, "stdout", 'F', $"line {i}"))]);
        Write("container.log", [.. Enumerable.Range(6, 5).Select(i => Record(i, "stdout", 'F', $"line {i}"))]);

        Assert.Equal([4L, 5L, 6L], ContainerLog.Read(_dir, after: 3, limit: 3).Select(x => x.Sequence));
        Assert.Equal([1L, 2L], ContainerLog.Read(_dir, limit: 2).Select(x => x.Sequence));
        Assert.Equal([9L, 10L], ContainerLog.Read(_dir, after: 8, limit: 5).Select(x => x.Sequence));
        Assert.Equal([8L, 9L, 10L], ContainerLog.Read(_dir, tail: 3, limit: 1).Select(x => x.Sequence));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("x 2024-05-06T07:08:09.123456789Z stdout F text")]
    [InlineData("1 yesterday stdout F text")]
    [InlineData("1 2024-05-06T07:08:09.123456789Z stdin F text")]
    [InlineData("1 2024-05-06T07:08:09.123456789Z stdout X text")]
    [InlineData("1 2024-13-06T07:08:09.123456789Z stdout F text")]
    public void Lines_The_Monitor_Does_Not_Write_Are_Skipped(string line)
    {
        Write("container.log", line + "\n", Record(2, "stdout", 'F', "good"));

        Assert.Equal(["good"], ContainerLog.Read(_dir).Select(x => x.Text));
    }

    [Theory]
    [InlineData("2024-05-06T07:08:09Z", 0L)]
    [InlineData("2024-05-06T07:08:09.5Z", 5_000_000L)]
    [InlineData("2024-05-06T07:08:09.000000100Z", 1L)]
    public void Timestamps_With_Any_Fraction_Parse(string text, long ticks)
    {
        Assert.True(ContainerLog.TryParseTimestamp(Encoding.ASCII.GetBytes(text), out var time));
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(ticks), time);
    }

    [Fact]
    public void No_Log_Reads_As_None()
    {
        Assert.Empty(ContainerLog.Read(Path.Combine(_dir, "missing")));
    }
}
