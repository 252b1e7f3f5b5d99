using System.Collections.Immutable;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli;

public class EventsCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 5, 40, 0, TimeSpan.Zero);
    private static readonly long NowNanos = Now.ToUnixTimeSeconds() * 1_000_000_000L;

    private static readonly SwarmEvent Created = Event("service", "create", "3xk2abc", NowNanos + 123_456_789, ("name", "web"));
    private static readonly SwarmEvent Scaled = Event("service", "update", "3xk2abc", NowNanos + 2_000_000_000, ("name", "web"), ("replicas.old", "1"), ("replicas.new", "3"));
    private static readonly SwarmEvent Drained = Event("node", "update", "n0de1", NowNanos + 3_000_000_000, ("name", "worker-1"), ("availability.old", "active"), ("availability.new", "drain"));
    private static readonly SwarmEvent Started = Event("container", "start", "c0ntainer1", NowNanos + 4_000_000_000, ("name", "web.1.abc"), ("image", "nginx:1.27"),
        ("com.docker.swarm.service.name", "web"), ("tier", "front"));

    [Theory]
    [InlineData("1796622000", 1_796_622_000_000_000_000L)]
    [InlineData("0", 0L)]
    [InlineData("1796622000.5", 1_796_622_000_500_000_000L)]
    [InlineData("1796622000.000000001", 1_796_622_000_000_000_001L)]
    [InlineData("2026-12-07T05:40:00Z", 1_796_622_000_000_000_000L)]
    [InlineData("2026-12-07T05:40:00.25Z", 1_796_622_000_250_000_000L)]
    [InlineData("2026-12-07T06:40:00+01:00", 1_796_622_000_000_000_000L)]
    [InlineData("2026-12-07T05:40", 1_796_622_000_000_000_000L)]
    [InlineData("2026-12-07", 1_796_601_600_000_000_000L)]
    [InlineData("10m", 1_796_621_400_000_000_000L)]
    [InlineData("1h30m", 1_796_616_600_000_000_000L)]
    [InlineData("-5m", 1_796_622_300_000_000_000L)]
    public void Times_Are_Read_As_Dockers_Client_Reads_Them(string value, long nanos)
    {
        var parsed = DockerTimestamp.Parse("--since", value, Now, TimeZoneInfo.Utc);

        Assert.Null(parsed.Error);
        Assert.Equal(nanos, parsed.Value);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-13-07")]
    [InlineData("10 minutes")]
    public void A_Time_That_Is_Neither_Is_Refused_In_Dockers_Words(string value)
    {
        var parsed = DockerTimestamp.Parse("--until", value, Now, TimeZoneInfo.Utc);

        Assert.StartsWith($"invalid value for \"until\": failed to parse value as time or duration: \"{value}\"", parsed.Error);
    }

    [Fact]
    public void The_Default_Line_Is_Dockers_Time_Type_Action_Id_And_Sorted_Attributes()
    {
        Assert.Equal(
            "2026-12-07T05:40:02.000000000Z service update 3xk2abc (name=web, replicas.new=3, replicas.old=1)",
            EventView.Text(Scaled, TimeZoneInfo.Utc));
        Assert.Equal("2026-12-07T05:40:00.123456789Z service create 3xk2abc (name=web)", EventView.Text(Created, TimeZoneInfo.Utc));
        Assert.Equal(
            "2026-12-07T07:40:00.123456789+02:00 service create 3xk2abc (name=web)",
            EventView.Text(Created, TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours(2), "plus2", "plus2")));
        Assert.Equal("2026-12-07T05:40:00.000000000Z node remove n1", EventView.Text(Event("node", "remove", "n1", NowNanos), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Json_Is_Dockers_Message()
    {
        Assert.Equal(
            """{"Type":"service","Action":"update","Actor":{"ID":"3xk2abc","Attributes":{"name":"web","replicas.new":"3","replicas.old":"1"}},"scope":"swarm","time":1796622002,"timeNano":1796622002000000000}""",
            Json.Line(EventView.Json(Scaled)));
    }

    [Theory]
    [InlineData(new string[0], "create update update start")]
    [InlineData(new[] { "type=service" }, "create update")]
    [InlineData(new[] { "type=service", "type=node" }, "create update update")]
    [InlineData(new[] { "type=service", "event=update" }, "update")]
    [InlineData(new[] { "event=create", "event=start" }, "create start")]
    [InlineData(new[] { "scope=local" }, "start")]
    [InlineData(new[] { "scope=swarm" }, "create update update")]
    [InlineData(new[] { "service=web" }, "create update start")]
    [InlineData(new[] { "service=3xk" }, "create update")]
    [InlineData(new[] { "node=worker-1" }, "update")]
    [InlineData(new[] { "container=web.1" }, "start")]
    [InlineData(new[] { "image=nginx" }, "start")]
    [InlineData(new[] { "image=nginx:1.27" }, "start")]
    [InlineData(new[] { "image=nginx:1.28" }, "")]
    [InlineData(new[] { "label=tier" }, "start")]
    [InlineData(new[] { "label=tier=front", "label=com.docker.swarm.service.name=web" }, "start")]
    [InlineData(new[] { "label=tier=back" }, "")]
    public void Filters_Match_As_Dockers_Same_Key_Or_Different_Keys_And(string[] filters, string actions)
    {
        var filter = EventFilter.Parse(filters);

        Assert.Equal(actions, string.Join(" ", new[] { Created, Scaled, Drained, Started }.Where(filter.Matches).Select(e => e.Action)));
    }

    [Theory]
    [InlineData("bogus=1", "invalid filter 'bogus'")]
    [InlineData("type", "bad format of filter (expected name=value): 'type'")]
    public void A_Bad_Filter_Is_Refused_In_Dockers_Words(string filter, string error) =>
        Assert.StartsWith(error, EventFilter.Check(filter));

    [Theory]
    [InlineData("nginx:1.27", "nginx")]
    [InlineData("docker.io/library/nginx:1.27", "nginx")]
    [InlineData("registry:5000/team/app@sha256:abc", "registry:5000/team/app")]
    [InlineData("busybox", "busybox")]
    public void An_Image_Filter_Also_Matches_The_Familiar_Name_Without_Tag(string reference, string name) =>
        Assert.Equal(name, EventFilter.WithoutTag(reference));

    [Fact]
    public async Task Events_Since_Prints_What_The_Node_Streams_Filtered_Then_Ends_With_The_Stream()
    {
        var node = Streaming(Created, Scaled, Drained);

        var (code, output, error) = await CliHarness.RunAsync(node, "events", "--since", "1796622000", "--until", "1796622060", "-f", "type=service");

        Assert.Equal((0, string.Empty), (code, error));
        Assert.Equal(["service create 3xk2abc (name=web)", "service update 3xk2abc (name=web, replicas.new=3, replicas.old=1)"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(' ') + 1)..]));
        var request = Assert.IsType<WatchEvents>(Assert.Single(node.Requests));
        Assert.Equal((1_796_622_000_000_000_000L, 1_796_622_060_000_000_000L), (request.SinceNano, request.UntilNano));
    }

    [Fact]
    public async Task System_Events_Formats_Json_And_Templates()
    {
        var (_, json, _) = await CliHarness.RunAsync(Streaming(Created), "system", "events", "--format", "json");
        var (_, same, _) = await CliHarness.RunAsync(Streaming(Created), "events", "--format", "{{json .}}");
        var (_, template, _) = await CliHarness.RunAsync(Streaming(Created, Started), "events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}} {{.TimeNano}}");

        Assert.Equal("""{"Type":"service","Action":"create","Actor":{"ID":"3xk2abc","Attributes":{"name":"web"}},"scope":"swarm","time":1796622000,"timeNano":1796622000123456789}""" + "\n", json);
        Assert.Equal(json, same);
        Assert.Equal("service create web swarm 1796622000123456789\ncontainer start web.1.abc local 1796622004000000000\n", template);
    }

    [Theory]
    [InlineData(new[] { "events", "--since", "soon" }, "invalid value for \"since\": failed to parse value as time or duration: \"soon\"")]
    [InlineData(new[] { "events", "-f", "colour=red" }, "invalid filter 'colour'")]
    [InlineData(new[] { "events", "--format", "{{.Nope}}" }, "--format: there is no field .Nope")]
    [InlineData(new[] { "events", "--since", "1796622060", "--until", "1796622000" }, "Error response from daemon: `since` time (1796622060) cannot be after `until` time (1796622000)")]
    public async Task Bad_Flags_Exit_1_With_One_Line_And_Ask_Nothing(string[] args, string error)
    {
        var node = Streaming(Created);

        var (code, _, err) = await CliHarness.RunAsync(node, args);

        Assert.Equal(1, code);
        Assert.StartsWith(error, err);
        Assert.DoesNotContain("   at ", err);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Over_Tcp_Events_Are_Filtered_As_On_The_Socket_And_An_Early_End_Says_Why()
    {
        const string why = "The manager node1 ended this events stream: this client read too slowly";
        var node = new FakeNode(_ => new EventsWatchStarted("node1")) { Events = _ => Subscription(why, Created, Started) };

        var (code, output, err) = await CliHarness.RunAsync(node, "events", "-f", "type=service");

        Assert.Equal(1, code);
        Assert.Equal(["service create 3xk2abc (name=web)"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(' ') + 1)..]));
        Assert.Equal($"Error: {why}", err.Trim());
        Assert.IsType<WatchEvents>(Assert.Single(node.Requests));
    }

    private static async IAsyncEnumerable<SwarmEvent> Subscription(string endedBecause, params SwarmEvent[] events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }

        throw new SwarmCommandException(RejectCode.Unavailable, endedBecause);
    }

    [Fact]
    public async Task Ctrl_C_Ends_A_Follow_With_130()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        var node = new FakeNode(_ => new EventsWatchStarted("node1")) { Streams = _ => pipe.Reader.AsStream() };
        using var cts = new CancellationTokenSource();
        var run = CliHarness.RunUntilAsync(node, cts.Token, "events");
        await ControlFraming.WriteAsync(pipe.Writer.AsStream(), Created, CancellationToken.None);
        await WaitUntilAsync(() => node.Requests.Count > 0);
        await Task.Delay(200);
        await cts.CancelAsync();

        var (code, output, _) = await run;

        Assert.Equal(130, code);
        Assert.Contains("service create 3xk2abc (name=web)", output);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    private static FakeNode Streaming(params SwarmEvent[] events) => new(_ => new EventsWatchStarted("node1"))
    {
        Streams = _ =>
        {
            var stream = new MemoryStream();
            foreach (var e in events)
            {
                ControlFraming.WriteAsync(stream, e, CancellationToken.None).GetAwaiter().GetResult();
            }

            stream.Position = 0;
            return stream;
        },
    };

    private static SwarmEvent Event(string type, string action, string id, long nanos, params (string Key, string Value)[] attributes) =>
        new(type, action, id, attributes.ToImmutableSortedDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal),
            type == "container" ? SwarmEvent.LocalScope : SwarmEvent.SwarmScope, nanos);
}
