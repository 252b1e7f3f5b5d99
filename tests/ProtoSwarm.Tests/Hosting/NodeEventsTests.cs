using System.Collections.Immutable;
using System.IO.Pipelines;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Hosting;

public class NodeEventsTests
{
    [Fact]
    public async Task Since_Replays_The_Kept_Events_From_That_Time_And_An_Until_Past_Ends_The_Stream()
    {
        var events = new NodeEvents(TimeProvider.System);
        var now = SwarmEvents.UnixNanos(DateTimeOffset.UtcNow);
        foreach (var (id, ago) in new[] { ("old", 60), ("a", 30), ("b", 20), ("c", 10) })
        {
            events.Publish(Event(id, now - (ago * 1_000_000_000L)));
        }

        var (node, client) = Connection();
        using var timeout = new CancellationTokenSource(TestTimeout.Span);
        await events.StreamAsync(new WatchEvents("r1", now - 35_000_000_000L, now - 15_000_000_000L), node, "node1", timeout.Token);
        node.Dispose();

        Assert.Equal(["EventsWatchStarted", "a", "b"], await ReadAllAsync(client, timeout.Token));
    }

    [Fact]
    public async Task A_Follow_Gets_New_Events_In_Order_Until_Its_Until()
    {
        var events = new NodeEvents(TimeProvider.System);
        var now = SwarmEvents.UnixNanos(DateTimeOffset.UtcNow);
        events.Publish(Event("before", now - 1));
        var (node, client) = Connection();
        using var timeout = new CancellationTokenSource(TestTimeout.Span);

        var stream = events.StreamAsync(new WatchEvents("r1", null, now + 1_500_000_000L), node, "node1", timeout.Token);
        await Task.Delay(200);
        events.Publish(Event("x", SwarmEvents.UnixNanos(DateTimeOffset.UtcNow)));
        events.Publish(Event("y", SwarmEvents.UnixNanos(DateTimeOffset.UtcNow)));
        await stream;
        node.Dispose();

        Assert.Equal(["EventsWatchStarted", "x", "y"], await ReadAllAsync(client, timeout.Token));
    }

    [Fact]
    public async Task The_Node_Keeps_The_Latest_1024_Events()
    {
        var events = new NodeEvents(TimeProvider.System);
        for (var i = 0; i < NodeEvents.Retained + 10; i++)
        {
            events.Publish(Event($"e{i}", i + 1));
        }

        using var cts = new CancellationTokenSource();
        var (kept, _) = events.Watch(0, cts.Token);
        await cts.CancelAsync();

        Assert.Equal(NodeEvents.Retained, kept.Count);
        Assert.Equal(["e10", $"e{NodeEvents.Retained + 9}"], [kept[0].ActorId, kept[^1].ActorId]);
    }

    [Fact]
    public void A_Task_Containers_Event_Has_Its_Image_Name_And_Swarm_Labels_And_A_Standalone_Ones_Its_Own_Labels()
    {
        var at = new DateTimeOffset(2026, 12, 7, 5, 40, 0, TimeSpan.Zero);
        var task = ProtoSwarm.Tests.Cli.CliHarness.Task("task1", 2, image: "busybox:latest") with { ServiceName = "web" };
        var standalone = task with
        {
            ServiceId = string.Empty,
            ServiceName = "solo",
            Spec = task.Spec with { Container = task.Spec.Container with { Labels = ImmutableSortedDictionary<string, string>.Empty.Add("team", "a") } },
        };

        var died = LocalContainers.EventOf(task, "die", ImmutableSortedDictionary<string, string>.Empty.Add("exitCode", "137"), at);
        var started = LocalContainers.EventOf(standalone, "start", ImmutableSortedDictionary<string, string>.Empty, at);

        Assert.Equal(("container", "die", "task1", "local", SwarmEvents.UnixNanos(at)), (died.Type, died.Action, died.ActorId, died.Scope, died.TimeNano));
        Assert.Equal(
            "com.docker.swarm.node.id=node00000000000000000000a, com.docker.swarm.service.id=svc000000000000000000web1, com.docker.swarm.service.name=web, "
            + "com.docker.swarm.task=, com.docker.swarm.task.id=task1, com.docker.swarm.task.name=web.2.task1, exitCode=137, image=busybox:latest, name=web.2.task1",
            string.Join(", ", died.Attributes.Select(a => $"{a.Key}={a.Value}")));
        Assert.Equal("image=busybox:latest, name=solo, team=a", string.Join(", ", started.Attributes.Select(a => $"{a.Key}={a.Value}")));
    }

    private static SwarmEvent Event(string id, long nanos) =>
        new("service", "update", id, ImmutableSortedDictionary<string, string>.Empty, SwarmEvent.SwarmScope, nanos);

    private static async Task<List<string>> ReadAllAsync(Stream client, CancellationToken ct)
    {
        var seen = new List<string>();
        while (await ControlFraming.ReadAsync(client, ct) is { } message)
        {
            seen.Add(message is SwarmEvent e ? e.ActorId : message.GetType().Name);
        }

        return seen;
    }

    /// <summary>The node's end and the client's end of a connection.</summary>
    private static (Stream Node, Stream Client) Connection()
    {
        var toClient = new Pipe();
        var toNode = new Pipe();
        return (new Duplex(toNode.Reader.AsStream(), toClient.Writer.AsStream()), new Duplex(toClient.Reader.AsStream(), toNode.Writer.AsStream()));
    }

    private sealed class Duplex(Stream reading, Stream writing) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => writing.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => writing.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => reading.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => reading.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => writing.WriteAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => writing.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                writing.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
