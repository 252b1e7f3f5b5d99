using System.Threading.Channels;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node host's events (`events`), as dockerd's events service: the latest <see cref="Retained"/> kept in memory
/// for a watch with --since, and every watcher sent each new one. A watcher that falls <see cref="WatcherBacklog"/>
/// events behind is dropped (its stream ends), as dockerd evicts a listener that does not read.
/// </summary>
public sealed class NodeEvents : IEventFeed
{
    /// <summary>How many recent events a node host keeps (dockerd keeps 1024).</summary>
    public const int Retained = 1024;

    private const int WatcherBacklog = 4096;

    // A timer's longest wait; an --until further off than this is never reached by a watch in practice.
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(40);

    private readonly object _gate = new();
    private readonly Queue<SwarmEvent> _recent = new();
    private readonly List<Channel<SwarmEvent>> _watchers = [];
    private readonly TimeProvider _time;

    public NodeEvents(TimeProvider time) => _time = time;

    public void Publish(SwarmEvent e)
    {
        lock (_gate)
        {
            _recent.Enqueue(e);
            if (_recent.Count > Retained)
            {
                _recent.Dequeue();
            }

            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                if (!_watchers[i].Writer.TryWrite(e))
                {
                    _watchers[i].Writer.TryComplete();
                    _watchers.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>The kept events from <paramref name="sinceNano"/> on (none when null), and every later one as it is published.</summary>
    public (List<SwarmEvent> Kept, ChannelReader<SwarmEvent> Later) Watch(long? sinceNano, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<SwarmEvent>(new BoundedChannelOptions(WatcherBacklog) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        List<SwarmEvent> kept;
        lock (_gate)
        {
            kept = sinceNano is { } since ? [.. _recent.Where(e => e.TimeNano >= since)] : [];
            _watchers.Add(channel);
        }

        ct.Register(() =>
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
        return (kept, channel.Reader);
    }

    /// <summary>
    /// `events` on the control socket: <see cref="EventsWatchStarted"/>, the kept events, then new ones until the
    /// client goes away or <see cref="WatchEvents.UntilNano"/> has passed (the connection is then closed).
    /// </summary>
    public async Task StreamAsync(WatchEvents request, Stream connection, string nodeId, CancellationToken ct)
    {
        var until = request.UntilNano;
        var left = until is { } stop ? TimeSpan.FromTicks(Math.Max(0, stop - Now()) / 100) : Timeout.InfiniteTimeSpan;
        using var deadline = left > TimeSpan.Zero && left < LongestWait ? new CancellationTokenSource(left, _time) : new CancellationTokenSource();
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var (kept, later) = Watch(request.SinceNano, watch.Token);
        try
        {
            await ControlFraming.WriteAsync(connection, new EventsWatchStarted(nodeId), ct);
            foreach (var e in kept.Where(e => until is null || e.TimeNano <= until))
            {
                await ControlFraming.WriteAsync(connection, e, ct);
            }

            if (until is { } end && end <= Now())
            {
                return;
            }

            // The client only reads: its end of the connection closing is how a watch without --until ends.
            _ = ClientGoneAsync(connection, watch);
            await foreach (var e in later.ReadAllAsync(watch.Token))
            {
                if (until is null || e.TimeNano <= until)
                {
                    await ControlFraming.WriteAsync(connection, e, ct);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            await watch.CancelAsync();
        }
    }

    private long Now() => SwarmEvents.UnixNanos(_time.GetUtcNow());

    private static async Task ClientGoneAsync(Stream connection, CancellationTokenSource watch)
    {
        try
        {
            while (!watch.IsCancellationRequested && await ControlFraming.ReadAsync(connection, watch.Token) is not null)
            {
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidDataException or MessagePack.MessagePackSerializationException)
        {
        }

        try
        {
            await watch.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
