using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Agent;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>
/// `service logs` in bounded pages: a node cuts a task's lines into pages (<see cref="TaskLogPaging.Page"/>) and the
/// managers merge the nodes' pages into one page (<see cref="ServiceLogGathering.Merge"/>), so no message grows with a log.
/// </summary>
public class ServiceLogPagingTests
{
    private const string A = "taskaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "taskbbbbbbbbbbbbbbbbbbbbb";

    private static readonly ImmutableSortedDictionary<string, long> Empty = ImmutableSortedDictionary<string, long>.Empty;

    private static readonly int Row = TaskLogPaging.BytesOf("line 00000");

    private static TaskLogEntry Entry(long sequence, double second = 0) =>
        new(sequence, TestNodes.T0.AddSeconds(second == 0 ? sequence : second), LogStream.Stdout, $"line {sequence:00000}");

    private static TaskLogEntry[] Lines(long from, long to) => [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(s => Entry(s))];

    [Fact]
    public void A_Page_Holds_What_Fits_From_The_Oldest_And_Says_There_Is_More()
    {
        var page = TaskLogPaging.Page(A, Lines(1, 10), after: 0, tail: null, since: null, maxBytes: 3 * Row);

        Assert.Equal([1L, 2L, 3L], page.Entries.Select(e => e.Sequence));
        Assert.True(page.More);
        Assert.Equal(0, page.Start);
        Assert.Null(page.Error);
    }

    [Fact]
    public void Asking_After_Each_Pages_Last_Line_Reads_Every_Line_Once()
    {
        var all = Lines(1, 300_000);
        var seen = new List<long>();
        var after = 0L;
        var pages = 0;
        TaskLog page;
        do
        {
            page = TaskLogPaging.Page(A, all, after, tail: null, since: null, maxBytes: TaskLogPaging.DefaultPageBytes);
            seen.AddRange(page.Entries.Select(e => e.Sequence));
            after = page.Entries[^1].Sequence;
            pages++;
            Assert.True(page.Entries.Sum(e => TaskLogPaging.BytesOf(e.Line)) <= TaskLogPaging.DefaultPageBytes);
        }
        while (page.More);

        Assert.Equal(Enumerable.Range(1, 300_000).Select(s => (long)s), seen);
        Assert.InRange(pages, 20, 40);
    }

    [Fact]
    public void Tail_Keeps_The_Last_Lines_And_Start_Is_Where_Its_Window_Began()
    {
        var page = TaskLogPaging.Page(A, Lines(1, 10), after: 0, tail: 4, since: null, maxBytes: 2 * Row);

        Assert.Equal([7L, 8L], page.Entries.Select(e => e.Sequence));
        Assert.True(page.More);
        Assert.Equal(6, page.Start);
    }

    [Fact]
    public void Since_Then_Tail_Count_The_Lines_Stamped_Since_And_A_Window_Left_Empty_Starts_After_The_Last_Line()
    {
        var page = TaskLogPaging.Page(A, Lines(1, 10), after: 0, tail: 2, since: TestNodes.T0.AddSeconds(5), maxBytes: 0);
        Assert.Equal([9L, 10L], page.Entries.Select(e => e.Sequence));
        Assert.False(page.More);

        var none = TaskLogPaging.Page(A, Lines(1, 10), after: 0, tail: null, since: TestNodes.T0.AddSeconds(60), maxBytes: 0);
        Assert.Empty(none.Entries);
        Assert.Equal(10, none.Start);
        Assert.Equal(10, TaskLogPaging.Page(A, Lines(1, 10), after: 0, tail: 0, since: null, maxBytes: 0).Start);
    }

    [Fact]
    public void A_Line_Longer_Than_A_Page_Still_Comes_Alone()
    {
        TaskLogEntry[] entries = [new(1, TestNodes.T0, LogStream.Stdout, new string('x', 5000)), Entry(2)];

        var page = TaskLogPaging.Page(A, entries, after: 0, tail: null, since: null, maxBytes: 100);

        Assert.Equal([1L], page.Entries.Select(e => e.Sequence));
        Assert.True(page.More);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("é")]
    [InlineData("😀")]
    public void A_6_MB_Line_Comes_Cut_At_A_Page_With_A_Marker_Saying_How_Long_It_Is(string character)
    {
        // Sent whole it passed the CLI's 4 MiB receive limit and failed the whole command.
        var line = string.Concat(Enumerable.Repeat(character, 6_000_000 / System.Text.Encoding.UTF8.GetByteCount(character)));
        TaskLogEntry[] entries = [new(1, TestNodes.T0, LogStream.Stdout, line), Entry(2)];

        var page = TaskLogPaging.Page(A, entries, after: 0, tail: null, since: null, maxBytes: TaskLogPaging.DefaultPageBytes);
        var next = TaskLogPaging.Page(A, entries, after: 1, tail: null, since: null, maxBytes: TaskLogPaging.DefaultPageBytes);

        var shown = Assert.Single(page.Entries).Line;
        var marker = shown[shown.LastIndexOf(" [protoswarm: line cut", StringComparison.Ordinal)..];
        var kept = shown[..^marker.Length];
        Assert.InRange(TaskLogPaging.BytesOf(shown), 1_000_000, TaskLogPaging.DefaultPageBytes);
        Assert.StartsWith(kept, line, StringComparison.Ordinal);
        Assert.Equal(TaskLogPaging.CutMarker(6_000_000, System.Text.Encoding.UTF8.GetByteCount(kept)), marker);
        Assert.True(page.More);
        Assert.Equal(["line 00002"], next.Entries.Select(e => e.Line));
    }

    [Fact]
    public void A_Line_Of_Exactly_The_Most_An_Answer_Carries_Comes_Whole()
    {
        var line = new string('y', TaskLogPaging.MaxLineBytes);

        var page = TaskLogPaging.Page(A, [new(1, TestNodes.T0, LogStream.Stdout, line)], after: 0, tail: null, since: null, maxBytes: 0);

        Assert.Equal(line, Assert.Single(page.Entries).Line);
    }

    [Fact]
    public void Each_Task_Gets_A_Share_Of_A_Page_But_Never_Less_Than_The_Minimum()
    {
        Assert.Equal(TaskLogPaging.DefaultPageBytes / 4, TaskLogPaging.PerTask(TaskLogPaging.DefaultPageBytes, 4));
        Assert.Equal(TaskLogPaging.MinTaskPageBytes, TaskLogPaging.PerTask(TaskLogPaging.DefaultPageBytes, 100_000));
        Assert.Equal(TaskLogPaging.DefaultPageBytes, TaskLogPaging.PerTask(0, 0));
    }

    [Fact]
    public void The_Merged_Page_Ends_At_The_Last_Line_Of_A_Task_That_Has_More_So_No_Older_Line_Comes_Later()
    {
        // a sent lines 1..3 of 10 (seconds 1..3); b sent all it has, at seconds 2.5 and 5.
        var answer = Answer(
            new TaskLog(A, [.. Lines(1, 3)], More: true),
            new TaskLog(B, [Entry(1, 2.5), Entry(2, 5)]));

        var logs = ServiceLogGathering.Merge("svc", [answer], Empty);

        Assert.Equal([(A, 1L), (A, 2L), (B, 1L), (A, 3L)], logs.Entries.Select(e => (e.TaskId, e.Sequence)));
        Assert.True(logs.More);
        Assert.Equal(3, logs.Cursors[A]);
        Assert.Equal(1, logs.Cursors[B]);
    }

    [Fact]
    public void The_Merged_Page_Stops_When_Full_And_Each_Cursor_Is_Its_Tasks_Last_Line_Shown()
    {
        var answer = Answer(new TaskLog(A, [.. Lines(1, 10)]), new TaskLog(B, [Entry(1, 1.5), Entry(2, 9.5)]));

        var logs = ServiceLogGathering.Merge("svc", [answer], Empty, pageBytes: 4 * Row);

        Assert.Equal([(A, 1L), (B, 1L), (A, 2L), (A, 3L)], logs.Entries.Select(e => (e.TaskId, e.Sequence)));
        Assert.True(logs.More);
        Assert.Equal((3L, 1L), (logs.Cursors[A], logs.Cursors[B]));
    }

    [Fact]
    public void A_Task_None_Of_Whose_Lines_Fit_Moves_To_Where_Its_Tail_Began_So_The_Next_Page_Keeps_The_Tail()
    {
        // With --tail 2 b's window began after 8; the next page asks without a tail, from the cursor.
        var answer = Answer(new TaskLog(A, [.. Lines(1, 3)], More: true), new TaskLog(B, [Entry(9, 50), Entry(10, 60)], Start: 8));

        var logs = ServiceLogGathering.Merge("svc", [answer], Empty);

        Assert.DoesNotContain(logs.Entries, e => e.TaskId == B);
        Assert.Equal(8, logs.Cursors[B]);
        Assert.True(logs.More);
    }

    [Fact]
    public void A_Log_The_Node_Could_Not_Read_Is_A_Warning_Naming_The_Task_And_The_Node()
    {
        var answer = Answer(new TaskLog(A, [], Start: 4, Error: "reading it took longer than 4 s"), new TaskLog(B, [Entry(1)]));

        var logs = ServiceLogGathering.Merge("svc", [answer], Empty.Add(A, 4));

        Assert.Equal($"Node w1 (node1) could not read the log of task {A}: reading it took longer than 4 s.", Assert.Single(logs.Warnings));
        Assert.Equal([B], logs.Entries.Select(e => e.TaskId));
        Assert.Equal(4, logs.Cursors[A]);
        Assert.False(logs.More);
    }

    private static NodeLogAnswer Answer(params TaskLog[] logs) =>
        new("node1", "w1", [.. logs.Select(l => TestTasks.Task(l.TaskId))], new TaskLogs("node1", [.. logs]), null);
}
