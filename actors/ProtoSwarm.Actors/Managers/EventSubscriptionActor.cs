using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// One client's `events` over TCP (<see cref="SubscribeEvents"/>), spawned by <see cref="ManagerApiRouter"/> on the
/// manager the client reached: this node's events, from the same <see cref="IEventFeed"/> as its control socket, sent
/// to the client's actor as messages. It watches the client and stops when the client's actor stops, or at once when the
/// client unsubscribes (<see cref="UnsubscribeEvents"/>, its Ctrl-C). A client process killed, or whose machine went
/// away, gives no Terminated here (Proto.Remote 1.8 tells nothing of an actor in a client-mode process), so a client
/// that answers keepalives (<see cref="SubscribeEvents.AnswersKeepalive"/>) is also checked for life: after
/// <see cref="ClientLiveness.Quiet"/> without word from it (any <see cref="EventsReceived"/>: an acknowledgement, or the
/// answer to <see cref="EventsKeepalive"/>) it is asked, and after <see cref="ClientLiveness.Grace"/> of silence the
/// subscription ends, as dockerd drops the stream of a client whose connection died, rather than hold the feed and a
/// backlog for no one until the backlog fills (or forever on a quiet swarm).
/// Flow is bounded at both ends: at most <see cref="Window"/> events are on their way to the client and not yet
/// acknowledged (<see cref="EventsReceived"/>), and at most <see cref="Backlog"/> wait here; a client that lets more pile
/// up is told so (<see cref="EventsStreamEnded"/> with the reason) and the subscription ends, as dockerd drops a
/// listener that does not read, rather than hold a slow client's events without limit.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The watch's token source is cancelled when the actor stops (Stopping) and disposed once stopped, the liveness timer disposed when it stops; actors are not disposed.")]
public sealed partial class EventSubscriptionActor : IActor
{
    /// <summary>Events sent and not yet acknowledged by the client; more wait here until it says it read them.</summary>
    public const int Window = 256;

    /// <summary>Events waiting here for a client that reads too slowly, at most; one more ends the subscription.</summary>
    public const int Backlog = 4096;

    // A timer's longest wait; an --until further off than this is never reached by a subscription in practice.
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(40);

    private readonly IEventFeed _feed;
    private readonly string _nodeId;
    private readonly TimeProvider _time;
    private readonly SubscribeEvents _request;
    private readonly PID _client;
    private readonly ILogger _logger;
    private readonly ClientLiveness _liveness;
    private readonly Func<PID, string?>? _describeClient;
    private readonly CancellationTokenSource _watch = new();
    private readonly Queue<SwarmEvent> _waiting = new();
    private ChannelReader<SwarmEvent>? _later;
    private int _unacknowledged;
    private bool _reading;
    private bool _ended;
    private ITimer? _checks;
    private bool _heard;
    private int _silentChecks;
    private string _clientEnd = string.Empty;

    /// <param name="liveness">How long the client may stay silent; <see cref="ClientLiveness.Default"/> when null.</param>
    /// <param name="describeClient">
    /// Where the client's process connects from (IP:port), asked when the subscription starts, while it is connected: a
    /// client-mode PID carries the manager's own address. Null, or a null answer: the PID's address.
    /// </param>
    public EventSubscriptionActor(IEventFeed feed, string nodeId, TimeProvider time, SubscribeEvents request, PID client, ILogger logger,
        ClientLiveness? liveness = null, Func<PID, string?>? describeClient = null)
    {
        _feed = feed;
        _nodeId = nodeId;
        _time = time;
        _request = request;
        _client = client;
        _logger = logger;
        _liveness = liveness ?? ClientLiveness.Default;
        _describeClient = describeClient;
    }

    public static Props Props(IEventFeed feed, string nodeId, TimeProvider time, SubscribeEvents request, PID client, ILogger logger,
        ClientLiveness? liveness = null, Func<PID, string?>? describeClient = null) =>
        global::Proto.Props.FromProducer(() => new EventSubscriptionActor(feed, nodeId, time, request, client, logger, liveness, describeClient));

    public Task ReceiveAsync(IContext context)
    {
        switch (context.Message)
        {
            case Started:
                OnStarted(context);
                break;
            case EventsReceived m:
                OnReceived(context, m);
                break;
            case CheckClient:
                OnCheckClient(context);
                break;
            case UnsubscribeEvents:
                OnUnsubscribe(context);
                break;
            case Terminated t when t.Who.Equals(_client):
                OnClientGone(context);
                break;
            case Stopping:
                _watch.Cancel();
                _checks?.Dispose();
                break;
            case Stopped:
                _watch.Dispose();
                break;
        }

        return Task.CompletedTask;
    }

    private void OnStarted(IContext context)
    {
        _clientEnd = _describeClient?.Invoke(_client) ?? _client.Address;
        context.Watch(_client);
        var (kept, later) = _feed.Watch(_request.SinceNano, _watch.Token);
        _later = later;
        foreach (var e in kept.Where(Wanted))
        {
            _waiting.Enqueue(e);
        }

        if (_request.UntilNano is { } until)
        {
            var left = TimeSpan.FromTicks(Math.Max(0, until - SwarmEvents.UnixNanos(_time.GetUtcNow())) / 100);
            if (left <= TimeSpan.Zero)
            {
                // Only the kept events: the feed's reader completes once they are sent, which ends the stream.
                _watch.Cancel();
            }
            else if (left < LongestWait)
            {
                context.ReenterAfter(Task.Delay(left, _time, _watch.Token), done =>
                {
                    if (done.IsCompletedSuccessfully && !_ended)
                    {
                        _watch.Cancel();
                        Pump(context);
                    }

                    return Task.CompletedTask;
                });
            }
        }

        if (_request.AnswersKeepalive)
        {
            // A periodic timer posting to the mailbox, not a delay re-armed after each check: the checks keep their
            // pace whatever this actor is busy with, and come in order with the client's answers.
            var (system, self) = (context.System, context.Self);
            _checks = _time.CreateTimer(_ => system.Root.Send(self, CheckClient.Instance), null, _liveness.Quiet, _liveness.Quiet);
        }

        // A request, not a send, so the client learns this actor's PID: it acknowledges to it and watches it.
        context.Request(_client, new EventsWatchStarted(_nodeId));
        LogStarted(_logger, _request.RequestId, _client.ToString());
        Pump(context);
    }

    /// <summary>
    /// One check every <see cref="ClientLiveness.Quiet"/>: a client heard from since the last check (any
    /// <see cref="EventsReceived"/>) is fine; one not heard from is asked (<see cref="EventsKeepalive"/>); one not heard
    /// from at as many checks in a row as cover <see cref="ClientLiveness.Grace"/> is taken for gone, so a dead client's
    /// subscription ends between the grace and the grace plus one interval after its last word.
    /// </summary>
    private void OnCheckClient(IContext context)
    {
        if (_ended)
        {
            return;
        }

        _silentChecks = _heard ? 0 : _silentChecks + 1;
        _heard = false;
        if (_silentChecks * _liveness.Quiet >= _liveness.Grace)
        {
            OnClientSilent(context, _silentChecks * _liveness.Quiet);
        }
        else if (_silentChecks > 0)
        {
            context.Request(_client, new EventsKeepalive(_request.RequestId));
        }
    }

    private void OnClientSilent(IContext context, TimeSpan silent)
    {
        _ended = true;
        LogClientSilent(_logger, _request.RequestId, _clientEnd, _client.Id, (long)silent.TotalSeconds, _waiting.Count);
        // Told in case it is alive after all (its answers lost on the way): it then says why its stream ended.
        context.Send(_client, new EventsStreamEnded(ClientSilent(silent)));
        _waiting.Clear();
        context.Stop(context.Self);
    }

    private void OnReceived(IContext context, EventsReceived m)
    {
        _heard = true;
        _unacknowledged = Math.Max(0, _unacknowledged - Math.Max(0, m.Count));
        Pump(context);
    }

    private void OnUnsubscribe(IContext context)
    {
        if (!_ended)
        {
            // Before the answer, on the same connection: the client's actor, stopping after it, then tells no one here.
            context.Unwatch(_client);
            LogUnsubscribed(_logger, _request.RequestId, _client.ToString());
            End(context, string.Empty);
        }
    }

    private void OnClientGone(IContext context)
    {
        if (!_ended)
        {
            _ended = true;
            LogClientGone(_logger, _request.RequestId, _client.ToString());
            context.Stop(context.Self);
        }
    }

    /// <summary>
    /// Takes what the feed has into the backlog (always, so a slow client is noticed here and at once, not by the
    /// feed), sends the client what its window allows, and waits for more when the feed is empty.
    /// </summary>
    private void Pump(IContext context)
    {
        if (_ended || _later is null)
        {
            return;
        }

        Send(context);
        while (_later.TryRead(out var e))
        {
            if (!Wanted(e))
            {
                continue;
            }

            _waiting.Enqueue(e);
            Send(context);
            if (_waiting.Count > Backlog)
            {
                End(context, FellBehind());
                return;
            }
        }

        if (_later.Completion.IsCompleted)
        {
            if (_waiting.Count == 0)
            {
                End(context, _watch.IsCancellationRequested ? string.Empty : FeedDropped());
            }

            return;
        }

        if (!_reading)
        {
            _reading = true;
            context.ReenterAfter(_later.WaitToReadAsync().AsTask(), _ =>
            {
                _reading = false;
                Pump(context);
                return Task.CompletedTask;
            });
        }
    }

    /// <summary>Sends the client what its window allows, oldest first.</summary>
    private void Send(IContext context)
    {
        while (_unacknowledged < Window && _waiting.TryDequeue(out var next))
        {
            context.Send(_client, next);
            _unacknowledged++;
        }
    }

    private bool Wanted(SwarmEvent e) => _request.UntilNano is not { } until || e.TimeNano <= until;

    private void End(IContext context, string reason)
    {
        _ended = true;
        context.Send(_client, new EventsStreamEnded(reason));
        if (reason.Length > 0)
        {
            LogEnded(_logger, _request.RequestId, _client.ToString(), reason);
        }

        context.Stop(context.Self);
    }

    private string FellBehind() =>
        $"The manager {_nodeId} ended this events stream: this client read too slowly and {Backlog} events were waiting for it there, "
        + "the most it holds for one client; later events were not sent. Read the output faster (is the pipe blocked?), and run `events` again, with --since to see what was missed.";

    /// <summary>The liveness timer's tick.</summary>
    private sealed class CheckClient
    {
        public static readonly CheckClient Instance = new();
    }

    private string ClientSilent(TimeSpan silent) =>
        $"The manager {_nodeId} ended this events stream: it heard nothing from this client for {silent.TotalSeconds:0} s (its keepalives went unanswered); "
        + "run `events` again, with --since to see what was missed.";

    private string FeedDropped() =>
        $"The manager {_nodeId} ended this events stream: its event feed dropped the subscription, which fell too far behind; run `events` again, with --since to see what was missed.";

    [LoggerMessage(Level = LogLevel.Debug, Message = "Events subscription {RequestId} for {Client} started")]
    private static partial void LogStarted(ILogger logger, string requestId, string client);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Events subscription {RequestId} for {Client} stopped: the client stopped or its connection dropped")]
    private static partial void LogClientGone(ILogger logger, string requestId, string client);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Events subscription {RequestId} for {Client} stopped: the client unsubscribed")]
    private static partial void LogUnsubscribed(ILogger logger, string requestId, string client);

    [LoggerMessage(Level = LogLevel.Information, Message = "Events subscription {RequestId} for the client at {ClientAddress} ({ClientActor}) ended: "
        + "no word from it for {Seconds} s, keepalives unanswered (its process was killed or its machine is unreachable); {Dropped} events held for it dropped")]
    private static partial void LogClientSilent(ILogger logger, string requestId, string clientAddress, string clientActor, long seconds, int dropped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Events subscription {RequestId} for {Client} ended: {Reason}")]
    private static partial void LogEnded(ILogger logger, string requestId, string client, string reason);
}

/// <summary>
/// How an <see cref="EventSubscriptionActor"/> checks that a client which answers keepalives is alive: after
/// <paramref name="Quiet"/> without word from it, it sends <see cref="EventsKeepalive"/> (and again every
/// <paramref name="Quiet"/>); after <paramref name="Grace"/> without word, the subscription ends.
/// </summary>
public sealed record ClientLiveness(TimeSpan Quiet, TimeSpan Grace)
{
    /// <summary>10 s and 30 s: a dead client's subscription ends 30-40 s after its last word.</summary>
    public static readonly ClientLiveness Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
}
