using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Proto;
using Proto.Remote;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client;

/// <summary>
/// `events` from a manager over TCP: this client's actor subscribed (<see cref="SubscribeEvents"/>), and the manager's
/// subscription actor sends it the events, which <see cref="ReadAllAsync"/> yields and acknowledges as they are read, so
/// the manager never sends more than its window ahead of the reader. Disposing unsubscribes (the manager's subscription
/// stops) and stops the client's actor. Were the process killed instead, no Terminated reaches the manager (Proto.Remote
/// tells nothing of a client-mode process gone): the client's actor answers the manager's keepalives
/// (<see cref="EventsKeepalive"/>), so a client that stops answering is dropped there within tens of seconds. This side
/// learns of the manager stopping or the connection dropping from Proto.Remote's <see cref="EndpointTerminatedEvent"/>
/// rather than a remote watch: the managers refuse system messages from an operator's certificate.
/// </summary>
public sealed class EventSubscription : IAsyncDisposable
{
    /// <summary>How many read events are acknowledged at once at most (fewer when the reader catches up).</summary>
    internal const int AcknowledgeEvery = 64;

    /// <summary>How long disposing waits for the manager to confirm the unsubscription.</summary>
    private static readonly TimeSpan UnsubscribeWait = TimeSpan.FromSeconds(2);

    private readonly ActorSystem _system;
    private readonly PID _receiver;
    private readonly ChannelReader<object> _inbox;
    private readonly Task _ended;
    private readonly EventStreamSubscription<object> _endpoints;
    private readonly string _requestId;
    private readonly string _managerAddr;

    private EventSubscription(ActorSystem system, PID receiver, ChannelReader<object> inbox, Task ended, EventStreamSubscription<object> endpoints,
        PID subscription, string nodeId, string requestId, string managerAddr)
    {
        _system = system;
        _receiver = receiver;
        _inbox = inbox;
        _ended = ended;
        _endpoints = endpoints;
        Subscription = subscription;
        NodeId = nodeId;
        _requestId = requestId;
        _managerAddr = managerAddr;
    }

    /// <summary>The manager whose events these are.</summary>
    public string NodeId { get; }

    /// <summary>The manager's subscription actor.</summary>
    public PID Subscription { get; }

    /// <summary>Subscribes from <paramref name="system"/> to <paramref name="managerApi"/>; a refusal throws <see cref="SwarmCommandException"/>.</summary>
    public static async Task<EventSubscription> StartAsync(ActorSystem system, PID managerApi, SubscribeEvents request, TimeSpan timeout, CancellationToken ct)
    {
        var inbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // This client's actor answers keepalives, so the manager may check it for life (an older client is not asked).
        request = request with { AnswersKeepalive = true };
        var receiver = system.Root.Spawn(Props.FromProducer(() => new Receiver(managerApi, request, inbox.Writer, ended)));
        var endpoints = system.EventStream.Subscribe<EndpointTerminatedEvent>(e =>
        {
            if (e.Address == managerApi.Address)
            {
                system.Root.Send(receiver, new Gone());
            }
        });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            var first = await inbox.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
            return first switch
            {
                Subscribed started => new EventSubscription(system, receiver, inbox.Reader, ended.Task, endpoints, started.Subscription, started.Reply.NodeId,
                    request.RequestId, managerApi.Address),
                CommandRejected rejected => throw new SwarmCommandException(rejected.Code, rejected.Reason),
                _ => throw new SwarmCommandException(RejectCode.Internal, $"The manager at {managerApi.Address} answered an events subscription with {first.GetType().Name}."),
            };
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException && !ct.IsCancellationRequested)
        {
            endpoints.Unsubscribe();
            await system.Root.StopAsync(receiver).ConfigureAwait(false);
            throw new SwarmCommandException(RejectCode.Unavailable,
                $"No manager answered at {managerApi.Address} within {timeout.TotalSeconds:0} s; check the address and that its port is reachable from here.");
        }
        catch
        {
            endpoints.Unsubscribe();
            await system.Root.StopAsync(receiver).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The events as they come, each acknowledged once the caller asks for the next. Ends when the manager ends the
    /// stream at --until; throws <see cref="SwarmCommandException"/> with the manager's reason when it ended it early
    /// (this reader too slow), or when the manager stopped or the connection to it dropped.
    /// </summary>
    public async IAsyncEnumerable<SwarmEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var read = 0;
        while (true)
        {
            if (read > 0 && (read >= AcknowledgeEvery || !_inbox.TryPeek(out _)))
            {
                _system.Root.Send(Subscription, new EventsReceived(read));
                read = 0;
            }

            object message;
            try
            {
                message = await _inbox.ReadAsync(ct).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                yield break;
            }

            switch (message)
            {
                case SwarmEvent e:
                    yield return e;
                    read++;
                    break;
                case EventsStreamEnded { Reason.Length: 0 }:
                    yield break;
                case EventsStreamEnded ended:
                    throw new SwarmCommandException(RejectCode.Unavailable, ended.Reason);
                case Gone:
                    throw new SwarmCommandException(RejectCode.Unavailable,
                        $"The manager at {_managerAddr} ended the events stream: it stopped, or the connection to it dropped; run `events` again (with --since to see what was missed), against this or another manager.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_ended.IsCompleted)
        {
            _system.Root.Send(Subscription, new UnsubscribeEvents(_requestId));
            try
            {
                await _ended.WaitAsync(UnsubscribeWait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The manager is gone or slow: it ends the subscription itself once this client no longer answers its keepalives.
            }
        }

        _endpoints.Unsubscribe();
        await _system.Root.StopAsync(_receiver).ConfigureAwait(false);
    }

    private sealed record Subscribed(EventsWatchStarted Reply, PID Subscription);

    private sealed record Gone;

    /// <summary>The client's actor: it subscribes and hands every message to the reader.</summary>
    private sealed class Receiver(PID managerApi, SubscribeEvents request, ChannelWriter<object> inbox, TaskCompletionSource ended) : IActor
    {
        private PID? _subscription;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Proto.Started:
                    // A request, so the manager's API sees this actor as the sender: the subscription sends to it and watches it.
                    context.Request(managerApi, request);
                    break;
                case EventsWatchStarted started when context.Sender is { } subscription && _subscription is null:
                    _subscription = subscription;
                    inbox.TryWrite(new Subscribed(started, subscription));
                    break;
                case SwarmEvent e:
                    inbox.TryWrite(e);
                    break;
                case EventsKeepalive when _subscription is not null:
                    // Answered here, not by the reader: a reader blocked on its output is still a live client (the
                    // manager's backlog bounds that), and this answer asks for no more events than it has room for.
                    context.Send(_subscription, new EventsReceived(0));
                    break;
                case EventsStreamEnded m:
                    Finish(m);
                    break;
                case CommandRejected rejected when _subscription is null:
                    Finish(rejected);
                    break;
                case Gone gone:
                    Finish(gone);
                    break;
                case Stopping:
                    inbox.TryComplete();
                    ended.TrySetResult();
                    break;
            }

            return Task.CompletedTask;
        }

        private void Finish(object last)
        {
            inbox.TryWrite(last);
            inbox.TryComplete();
            ended.TrySetResult();
        }
    }
}
