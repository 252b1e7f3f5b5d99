using System.Collections.Immutable;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ServiceLogsCommandTests
{
    private const string WebId = "svc000000000000000000web1";
    private const string Task1 = "task000000000000000web1a";
    private const string Task10 = "task000000000000000web10";
    private const string NodeA = "node00000000000000000000a";

    private static readonly ImmutableSortedDictionary<string, long> NoCursors = ImmutableSortedDictionary<string, long>.Empty;

    private static readonly TaskList Names = new(
        [Task(Task1, 1), Task(Task10, 10)],
        ImmutableSortedDictionary<string, string>.Empty.Add(WebId, "web"),
        ImmutableSortedDictionary<string, string>.Empty.Add(NodeA, "worker1"));

    private static ServiceLogEntry Line(string taskId, long slot, string line, LogStream stream = LogStream.Stdout, long sequence = 1) =>
        new(taskId, slot, NodeA, Joined, stream, line, sequence);

    private static FakeNode Swarm(params ServiceLogs[] answers)
    {
        var asked = 0;
        return new FakeNode(request => request switch
        {
            GetServiceLogs { ServiceRef: "ghost" } => new CommandRejected(RejectCode.NotFound, "No such task or service: ghost. See `protoswarm service ls`."),
            GetServiceLogs => answers[Math.Min(asked++, answers.Length - 1)],
            ListTasks => Names,
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
    }

    private static ServiceLogs Answer(params ServiceLogEntry[] entries) =>
        new(WebId, [.. entries], entries.GroupBy(e => e.TaskId).ToImmutableSortedDictionary(g => g.Key, g => g.Max(e => e.Sequence), StringComparer.Ordinal));

    [Fact]
    public async Task Each_Line_Carries_Dockers_Task_Context_Padded_To_The_Widest_Slot()
    {
        var node = Swarm(Answer(Line(Task1, 1, "hello"), Line(Task10, 10, "world")));

        var (code, output, error) = await RunAsync(node, "service", "logs", "web");

        Assert.Equal((0, string.Empty), (code, error));
        Assert.Equal(
            "web.1.task00000000@worker1     | hello\n" +
            "web.10.task00000000@worker1    | world\n", output);
        var sent = Assert.IsType<GetServiceLogs>(node.Requests[0]);
        Assert.Equal(("web", (int?)null, (DateTimeOffset?)null), (sent.ServiceRef, sent.Tail, sent.Since));
        Assert.Empty(sent.After);
    }

    [Fact]
    public async Task Stderr_Lines_Go_To_Stderr()
    {
        var node = Swarm(Answer(Line(Task1, 1, "fine"), Line(Task1, 1, "broken", LogStream.Stderr, 2)));

        var (code, output, error) = await RunAsync(node, "service", "logs", "--raw", "web");

        Assert.Equal((0, "fine\n", "broken\n"), (code, output, error));
    }

    [Theory]
    [InlineData("--raw", "hello\n")]
    [InlineData("-t", "2025-03-01T12:30:45.120000000Z web.1.task00000000@worker1     | hello\n")]
    [InlineData("--timestamps --raw", "2025-03-01T12:30:45.120000000Z hello\n")]
    [InlineData("--no-task-ids", "web.1@worker1     | hello\n")]
    [InlineData("--no-trunc", "web.1.task000000000000000web1a@worker1     | hello\n")]
    [InlineData("--no-resolve", "svc000000000000000000web1.1.task00000000@node00000000000000000000a     | hello\n")]
    public async Task Switches_Change_The_Line_As_Dockers_Do(string switches, string expected)
    {
        var node = Swarm(Answer(Line(Task1, 1, "hello")));

        var (code, output, _) = await RunAsync(node, ["service", "logs", .. switches.Split(' '), "web"]);

        Assert.Equal((0, expected), (code, output));
    }

    [Fact]
    public async Task A_Global_Task_Is_Named_By_Its_Node_As_In_Service_Ps()
    {
        var node = Swarm(Answer(Line("taskglobal0000000000000a", 0, "hi")));

        var (_, output, _) = await RunAsync(node, "service", "logs", "web");

        Assert.Equal($"web.{NodeA}.taskglobal00@worker1    | hi\n", output);
    }

    [Theory]
    [InlineData("5", 5)]
    [InlineData("0", 0)]
    [InlineData("all", null)]
    [InlineData("ALL", null)]
    [InlineData("-1", null)]
    public async Task Tail_Is_Sent_As_A_Number_Of_Lines_Or_All(string tail, int? expected)
    {
        var node = Swarm(Answer());

        var (code, _, _) = await RunAsync(node, "service", "logs", "--tail", tail, "web");

        Assert.Equal(0, code);
        Assert.Equal(expected, Assert.IsType<GetServiceLogs>(node.Requests[0]).Tail);
    }

    [Theory]
    [InlineData("--tail", "1.5", "--tail '1.5' is not a number of lines; give 0 or more, e.g. --tail 20, or --tail all.")]
    [InlineData("-n", "lots", "--tail 'lots' is not a number of lines; give 0 or more, e.g. --tail 20, or --tail all.")]
    [InlineData("--since", "yesterday", "--since 'yesterday' is neither a time nor a duration; give e.g. 2013-01-02T13:23:37Z, 1700000000 (Unix seconds) or 42m (42 minutes ago).")]
    public async Task A_Bad_Value_Is_Refused_Before_Anything_Is_Sent(string flag, string value, string message)
    {
        var node = Swarm(Answer());

        var (code, output, error) = await RunAsync(node, "service", "logs", flag, value, "web");

        Assert.Equal((1, string.Empty), (code, output));
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("2013-01-02T13:23:37Z", "2013-01-02T13:23:37+00:00")]
    [InlineData("2013-01-02", "2013-01-02T00:00:00+00:00")]
    [InlineData("1700000000", "2023-11-14T22:13:20+00:00")]
    [InlineData("42m", "2025-03-01T11:48:45+00:00")]
    [InlineData("1h30m", "2025-03-01T11:00:45+00:00")]
    [InlineData("1700000000.5", "2023-11-14T22:13:20.5+00:00")]
    [InlineData("2013-01-02T13:23", "2013-01-02T13:23:00+00:00")]
    [InlineData("2013-01-02T13:23:37+02:00", "2013-01-02T11:23:37+00:00")]
    public void Since_Takes_A_Time_Unix_Seconds_Or_A_Duration_Back_From_Now(string value, string expected)
    {
        var since = ServiceLogsCommand.Since(value, new DateTimeOffset(2025, 3, 1, 12, 30, 45, TimeSpan.Zero), TimeZoneInfo.Utc);

        Assert.True(since.IsValid, since.Error);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), since.Value);
    }

    [Theory]
    [InlineData("2013-01-02T13:23:37", "2013-01-02T13:23:37+05:30")]
    [InlineData("2013-01-02", "2013-01-02T00:00:00+05:30")]
    [InlineData("2013-01-02T13:23:37Z", "2013-01-02T13:23:37+00:00")]
    public void Since_Reads_A_Time_Without_A_Zone_In_The_Local_One_As_Docker(string value, string expected)
    {
        // docker's GetTimestamp: a time with no Z, offset or three dashes is in the reference time's zone.
        var zone = TimeZoneInfo.CreateCustomTimeZone("test+05:30", TimeSpan.FromMinutes(330), "test", "test");

        var since = ServiceLogsCommand.Since(value, new DateTimeOffset(2025, 3, 1, 12, 30, 45, TimeSpan.Zero), zone);

        Assert.True(since.IsValid, since.Error);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), since.Value);
    }

    [Theory]
    [InlineData("2013-01-02 13:23:37")]
    [InlineData("2013-13-02")]
    [InlineData("-")]
    public void Since_Refuses_What_Docker_Refuses(string value)
    {
        Assert.False(ServiceLogsCommand.Since(value, DateTimeOffset.UnixEpoch, TimeZoneInfo.Utc).IsValid);
    }

    [Fact]
    public async Task Since_Is_Sent_To_The_Managers()
    {
        var node = Swarm(Answer());

        await RunAsync(node, "service", "logs", "--since", "2013-01-02T13:23:37Z", "web");

        Assert.Equal(new DateTimeOffset(2013, 1, 2, 13, 23, 37, TimeSpan.Zero), Assert.IsType<GetServiceLogs>(node.Requests[0]).Since);
    }

    [Fact]
    public async Task Warnings_Of_Missing_Nodes_Go_To_Stderr_And_The_Lines_Still_Print()
    {
        var node = Swarm(Answer(Line(Task1, 1, "hello")) with { Warnings = ["Node w3 (n3) is down: the logs of its 1 task(s) of this service are not shown."] });

        var (code, output, error) = await RunAsync(node, "service", "logs", "--raw", "web");

        Assert.Equal((0, "hello\n"), (code, output));
        Assert.Equal("Warning: Node w3 (n3) is down: the logs of its 1 task(s) of this service are not shown.\n", error);
    }

    [Fact]
    public async Task An_Unknown_Service_Or_Task_Is_Said_Without_A_Stack_Trace()
    {
        var (code, output, error) = await RunAsync(Swarm(Answer()), "service", "logs", "ghost");

        Assert.Equal((1, string.Empty), (code, output));
        Assert.Equal("Error: No such task or service: ghost. See `protoswarm service ls`.\n", error);
    }

    [Fact]
    public async Task Follow_Asks_Again_With_The_Cursors_Until_Ctrl_C_And_Exits_130()
    {
        const string down = "Node w3 (n3) is down: the logs of its 1 task(s) of this service are not shown.";
        ServiceLogs[] answers =
        [
            Answer(Line(Task1, 1, "first", sequence: 4)) with { Warnings = [down] },
            Answer(Line(Task1, 1, "second", sequence: 5)) with { Warnings = [down] },
            new ServiceLogs(WebId, [], NoCursors.Add(Task1, 5), [down]),
        ];
        var asks = new List<GetServiceLogs>();
        var fourAsks = new TaskCompletionSource();
        var node = new FakeNode(request =>
        {
            if (request is not GetServiceLogs ask)
            {
                return Names;
            }

            lock (asks)
            {
                asks.Add(ask);
                if (asks.Count == 4)
                {
                    fourAsks.TrySetResult();
                }

                return answers[Math.Min(asks.Count - 1, answers.Length - 1)];
            }
        });
        using var ctrlC = new CancellationTokenSource();

        var run = RunUntilAsync(node, ctrlC.Token, "service", "logs", "-f", "--tail", "1", "--raw", "web");
        await fourAsks.Task.WaitAsync(TimeSpan.FromSeconds(15));

        await ctrlC.CancelAsync();
        var (code, output, error) = await run;

        Assert.Equal((130, "first\nsecond\n"), (code, output));
        Assert.Equal($"Warning: {down}\n", error);
        Assert.Equal([1, null, null], asks.Take(3).Select(a => a.Tail));
        Assert.Empty(asks[0].After);
        Assert.Equal(4, asks[1].After[Task1]);
        Assert.Equal(5, asks[2].After[Task1]);
    }

    [Fact]
    public async Task Follow_With_Tail_0_Prints_Only_The_Lines_Written_From_Then_On()
    {
        // The managers answer each task's cursor only with one of its lines: the first ask takes the last line for its cursor and prints none.
        var asks = new List<GetServiceLogs>();
        var twoAsks = new TaskCompletionSource();
        var node = new FakeNode(request =>
        {
            if (request is not GetServiceLogs ask)
            {
                return Names;
            }

            lock (asks)
            {
                asks.Add(ask);
                if (asks.Count == 2)
                {
                    twoAsks.TrySetResult();
                }

                return asks.Count == 1
                    ? Answer(Line(Task1, 1, "old", sequence: 7))
                    : ask.After.GetValueOrDefault(Task1) >= 7 ? Answer(Line(Task1, 1, "new", sequence: 8)) : Answer(Line(Task1, 1, "history", sequence: 1), Line(Task1, 1, "old", sequence: 7));
            }
        });
        using var ctrlC = new CancellationTokenSource();

        var run = RunUntilAsync(node, ctrlC.Token, "service", "logs", "-f", "--tail", "0", "--raw", "web");
        await twoAsks.Task.WaitAsync(TimeSpan.FromSeconds(15));

        await ctrlC.CancelAsync();
        var (code, output, _) = await run;

        Assert.Equal(130, code);
        Assert.StartsWith("new\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("old", output, StringComparison.Ordinal);
        Assert.Equal([1, null], asks.Take(2).Select(a => a.Tail));
        Assert.Equal(7, asks[1].After[Task1]);
    }

    [Fact]
    public async Task A_Long_Log_Is_Printed_Page_By_Page_Asking_With_The_Cursors_Until_There_Is_No_More()
    {
        var node = Swarm(
            Answer(Line(Task1, 1, "page 1", sequence: 1)) with { More = true },
            Answer(Line(Task1, 1, "page 2", sequence: 2)) with { More = true },
            Answer(Line(Task1, 1, "page 3", sequence: 3)));

        var (code, output, error) = await RunAsync(node, "service", "logs", "--tail", "3", "--since", "2013-01-02T13:23:37Z", "--raw", "web");

        Assert.Equal((0, "page 1\npage 2\npage 3\n", string.Empty), (code, output, error));
        var asks = node.Requests.OfType<GetServiceLogs>().ToList();
        Assert.Equal([3, null, null], asks.Select(a => a.Tail));
        Assert.Equal([0L, 1, 2], asks.Select(a => a.After.GetValueOrDefault(Task1)));
        Assert.All(asks, a => Assert.Equal(new DateTimeOffset(2013, 1, 2, 13, 23, 37, TimeSpan.Zero), a.Since));
    }

    [Fact]
    public async Task A_Page_Whose_Cursors_Did_Not_Move_Ends_The_Paging()
    {
        var node = Swarm(Answer(Line(Task1, 1, "only", sequence: 1)) with { More = true });

        var (code, output, _) = await RunAsync(node, "service", "logs", "--raw", "web");

        Assert.Equal((0, "only\nonly\n"), (code, output));
        Assert.Equal(2, node.Requests.OfType<GetServiceLogs>().Count());
    }

    [Fact]
    public async Task Nothing_Read_And_A_Log_That_Could_Not_Be_Read_Is_A_Failure_Naming_The_Task_And_Node()
    {
        const string failed = "Node w1 (n1) could not read the log of task task000000000000000web1a: reading it took longer than 4 s.";
        var node = Swarm(new ServiceLogs(WebId, [], NoCursors.Add(Task1, 0), [failed]));

        var (code, output, error) = await RunAsync(node, "service", "logs", "web");

        Assert.Equal((1, string.Empty), (code, output));
        Assert.Equal($"Warning: {failed}\n", error);
    }

    [Fact]
    public async Task Follow_Asks_For_The_Next_Page_At_Once_Without_The_Tail()
    {
        var asks = new List<GetServiceLogs>();
        var twoAsks = new TaskCompletionSource();
        var node = new FakeNode(request =>
        {
            if (request is not GetServiceLogs ask)
            {
                return Names;
            }

            lock (asks)
            {
                asks.Add(ask);
                if (asks.Count == 2)
                {
                    twoAsks.TrySetResult();
                }

                return asks.Count == 1 ? Answer(Line(Task1, 1, "page 1", sequence: 1)) with { More = true } : Answer(Line(Task1, 1, "page 2", sequence: 2));
            }
        });
        using var ctrlC = new CancellationTokenSource();

        var started = DateTime.UtcNow;
        // Polls every minute: the second page comes within seconds only if it is asked for at once.
        var run = RunPollingEveryAsync(node, TimeSpan.FromMinutes(1), ctrlC.Token, "service", "logs", "-f", "--tail", "5", "--raw", "web");
        await twoAsks.Task.WaitAsync(TimeSpan.FromSeconds(15));
        var second = DateTime.UtcNow - started;

        await ctrlC.CancelAsync();
        var (code, output, _) = await run;

        Assert.Equal(130, code);
        Assert.StartsWith("page 1\npage 2\n", output, StringComparison.Ordinal);
        Assert.Equal([5, null], asks.Take(2).Select(a => a.Tail));
        Assert.Equal(1, asks[1].After[Task1]);
        Assert.True(second < TimeSpan.FromSeconds(5), $"the second page was asked for after {second}");
    }
}
