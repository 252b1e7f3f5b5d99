using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Registry;

namespace ProtoSwarm.Tests.Managers;

public sealed class EventSubscriptionActorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 21, 0, 0, TimeSpan.Zero);
    private static readonly long NowNano = (Now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private readonly ActorSystem _system = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly FakeFeed _feed = new();
    private readonly RecordingLogger _log = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.ShutdownAsync();

    [Fact]
    public async Task The_Subscription_Stops_And_Leaves_The_Feed_When_The_Client_Goes_Away()
    {
        var client = new Client(_system, acknowledge: true);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("s1", null, null));
        var watcher = Watcher.Of(_system, subscription);
        Assert.Equal("node1", Assert.IsType<EventsWatchStarted>(await client.NextAsync()).NodeId);

        await _system.Root.StopAsync(client.Pid);

        await watcher.Terminated.Task.WaitAsync(TestTimeout.Token);
        await _feed.Released.Task.WaitAsync(TestTimeout.Token);
    }

    [Fact]
    public async Task A_Client_That_Unsubscribes_Gets_An_End_Without_A_Reason_And_The_Subscription_Stops()
    {
        var client = new Client(_system, acknowledge: true);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("s0", null, null));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        _system.Root.Send(subscription, new UnsubscribeEvents("s0"));

        Assert.Equal(string.Empty, Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
        await watcher.Terminated.Task.WaitAsync(TestTimeout.Token);
        await _feed.Released.Task.WaitAsync(TestTimeout.Token);
    }

    [Fact]
    public async Task A_Client_That_Acknowledges_Gets_Every_Event_In_Order_Beyond_The_Window()
    {
        var client = new Client(_system, acknowledge: true);
        Subscribe(client.Pid, new SubscribeEvents("s2", null, null));
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        const int count = EventSubscriptionActor.Window * 3 + 7;
        for (var i = 0; i < count; i++)
        {
            _feed.Publish(Event(i));
        }

        for (var i = 0; i < count; i++)
        {
            Assert.Equal($"svc{i}", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        }
    }

    [Fact]
    public async Task A_Client_That_Reads_Too_Slowly_Gets_Its_Window_Then_An_End_That_Says_Why()
    {
        var client = new Client(_system, acknowledge: false);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("s3", null, null));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        for (var i = 0; i < EventSubscriptionActor.Window + EventSubscriptionActor.Backlog + 1; i++)
        {
            _feed.Publish(Event(i));
        }

        for (var i = 0; i < EventSubscriptionActor.Window; i++)
        {
            Assert.Equal($"svc{i}", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        }

        var ended = Assert.IsType<EventsStreamEnded>(await client.NextAsync());
        Assert.StartsWith("The manager node1 ended this events stream: this client read too slowly and 4096 events were waiting for it there", ended.Reason);
        await watcher.Terminated.Task.WaitAsync(TestTimeout.Token);
        await _feed.Released.Task.WaitAsync(TestTimeout.Token);
    }

    [Fact]
    public async Task Since_And_An_Until_Already_Past_Send_The_Kept_Events_Then_End_Without_A_Reason()
    {
        _feed.Kept = [Event(1, NowNano - 30_000_000_000L), Event(2, NowNano - 20_000_000_000L), Event(3, NowNano - 5_000_000_000L)];
        var client = new Client(_system, acknowledge: true);
        Subscribe(client.Pid, new SubscribeEvents("s4", NowNano - 40_000_000_000L, NowNano - 10_000_000_000L));

        Assert.IsType<EventsWatchStarted>(await client.NextAsync());
        Assert.Equal("svc1", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        Assert.Equal("svc2", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        Assert.Equal(string.Empty, Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
        Assert.Equal(NowNano - 40_000_000_000L, _feed.Since);
    }

    [Fact]
    public async Task An_Until_Ahead_Ends_The_Stream_When_It_Passes()
    {
        var client = new Client(_system, acknowledge: true);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("s5", null, NowNano + 2_000_000_000L));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());
        _feed.Publish(Event(1, NowNano + 1_000_000_000L));
        Assert.Equal("svc1", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);

        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(string.Empty, Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
        await watcher.Terminated.Task.WaitAsync(TestTimeout.Token);
    }

    [Fact]
    public async Task A_Feed_That_Drops_The_Subscription_Ends_It_With_The_Reason()
    {
        var client = new Client(_system, acknowledge: true);
        Subscribe(client.Pid, new SubscribeEvents("s6", null, null));
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        _feed.Drop();

        Assert.StartsWith("The manager node1 ended this events stream: its event feed dropped the subscription", Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
    }

    [Fact]
    public async Task A_Client_Gone_Silent_Without_Unsubscribing_Is_Asked_Then_Dropped_After_The_Grace_And_Its_State_Freed()
    {
        // Its actor is alive but never answers nor acknowledges, as a killed client's PID looks from the manager: no Terminated comes.
        var client = new Client(_system, acknowledge: false, answerKeepalive: false);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("k1", null, null, AnswersKeepalive: true));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());
        _feed.Publish(Event(1));
        Assert.Equal("svc1", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);

        _time.Advance(Liveness.Quiet);
        Assert.Equal("k1", Assert.IsType<EventsKeepalive>(await client.NextAsync()).RequestId);
        _time.Advance(Liveness.Quiet);
        Assert.IsType<EventsKeepalive>(await client.NextAsync());
        Assert.False(watcher.Terminated.Task.IsCompleted);
        _feed.Publish(Event(2));
        _feed.Publish(Event(3));
        Assert.Equal("svc2", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        Assert.Equal("svc3", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        _time.Advance(Liveness.Quiet);

        Assert.StartsWith("The manager node1 ended this events stream: it heard nothing from this client for 30 s", Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
        await watcher.Terminated.Task.WaitAsync(TestTimeout.Token);
        await _feed.Released.Task.WaitAsync(TestTimeout.Token);
        var line = Assert.Single(_log.Lines, l => l.Contains("keepalives unanswered", StringComparison.Ordinal));
        Assert.Contains($"for the client at {client.Pid.Address} ({client.Pid.Id}) ended: no word from it for 30 s", line, StringComparison.Ordinal);
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public async Task A_Live_Client_Kept_Quiet_For_Many_Intervals_Keeps_Its_Subscription()
    {
        var client = new Client(_system, acknowledge: true);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("k2", null, null, AnswersKeepalive: true));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        // Eight intervals, more than twice the grace, with no event: only the answers to the keepalives are heard, and
        // a check that heard one asks nothing, so every other check asks.
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(Liveness.Quiet);
            Assert.IsType<EventsKeepalive>(await client.NextAsync());
            _time.Advance(Liveness.Quiet);
        }

        _feed.Publish(Event(7));
        Assert.Equal("svc7", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        Assert.False(watcher.Terminated.Task.IsCompleted);
        Assert.False(_feed.Released.Task.IsCompleted);
    }

    [Fact]
    public async Task Acknowledgements_Count_As_Word_From_The_Client_So_A_Busy_Client_Is_Not_Asked()
    {
        var client = new Client(_system, acknowledge: true, answerKeepalive: false);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("k3", null, null, AnswersKeepalive: true));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        // An event every half interval, acknowledged: the client never needs asking, though it would not answer.
        for (var i = 0; i < 12; i++)
        {
            _time.Advance(Liveness.Quiet / 2);
            _feed.Publish(Event(i));
            Assert.Equal($"svc{i}", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
            await client.AcknowledgedAsync(i + 1);
        }

        Assert.False(watcher.Terminated.Task.IsCompleted);
        _system.Root.Send(subscription, new UnsubscribeEvents("k3"));
        Assert.Equal(string.Empty, Assert.IsType<EventsStreamEnded>(await client.NextAsync()).Reason);
    }

    [Fact]
    public async Task A_Client_That_Does_Not_Answer_Keepalives_Is_Never_Asked_Nor_Dropped_For_Silence()
    {
        // An older CLI's SubscribeEvents, without AnswersKeepalive.
        var client = new Client(_system, acknowledge: true, answerKeepalive: false);
        var subscription = Subscribe(client.Pid, new SubscribeEvents("k4", null, null));
        var watcher = Watcher.Of(_system, subscription);
        Assert.IsType<EventsWatchStarted>(await client.NextAsync());

        _time.Advance(Liveness.Grace * 4);
        _feed.Publish(Event(1));

        Assert.Equal("svc1", Assert.IsType<SwarmEvent>(await client.NextAsync()).ActorId);
        Assert.False(watcher.Terminated.Task.IsCompleted);
    }

    [Fact]
    public async Task A_Manager_Without_An_Event_Feed_Refuses_A_Subscription()
    {
        var router = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiRouter(() => Props.FromProducer(() => new Client.Recorder(Channel.CreateUnbounded<object>().Writer)))));

        var reply = await _system.Root.RequestAsync<object>(router, new SubscribeEvents("s7", null, null), TestTimeout.Token);

        Assert.Equal(RejectCode.Unavailable, Assert.IsType<CommandRejected>(reply).Code);
    }

    private static ClientLiveness Liveness => ClientLiveness.Default;

    private PID Subscribe(PID client, SubscribeEvents request) =>
        _system.Root.Spawn(EventSubscriptionActor.Props(_feed, "node1", _time, request, client, _log, Liveness));

    private static SwarmEvent Event(int i, long? at = null) =>
        new("service", "update", $"svc{i}", ImmutableSortedDictionary<string, string>.Empty, SwarmEvent.SwarmScope, at ?? NowNano);

    /// <summary>A feed whose reader never fills, so only the subscription's own bounds are tested.</summary>
    private sealed class FakeFeed : IEventFeed
    {
        private readonly Channel<SwarmEvent> _later = Channel.CreateUnbounded<SwarmEvent>();

        public List<SwarmEvent> Kept { get; set; } = [];

        public long? Since { get; private set; }

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public (List<SwarmEvent> Kept, ChannelReader<SwarmEvent> Later) Watch(long? sinceNano, CancellationToken ct)
        {
            Since = sinceNano;
            ct.Register(() =>
            {
                _later.Writer.TryComplete();
                Released.TrySetResult();
            });
            return (Kept, _later.Reader);
        }

        public void Publish(SwarmEvent e) => _later.Writer.TryWrite(e);

        public void Drop() => _later.Writer.TryComplete();
    }

    /// <summary>
    /// The client's actor: records what the subscription sends, acknowledges each event when told to, and answers
    /// keepalives as the CLI's does unless told not to (a client that is gone).
    /// </summary>
    private sealed class Client
    {
        private readonly Channel<object> _received = Channel.CreateUnbounded<object>();
        private readonly Recorder _recorder;

        public Client(ActorSystem system, bool acknowledge, bool answerKeepalive = true)
        {
            _recorder = new Recorder(_received.Writer, acknowledge, answerKeepalive);
            Pid = system.Root.Spawn(Props.FromProducer(() => _recorder));
        }

        public PID Pid { get; }

        public async Task<object> NextAsync() => await _received.Reader.ReadAsync(TestTimeout.Token);

        /// <summary>Waits until the recorder has acknowledged <paramref name="count"/> events in all.</summary>
        public async Task AcknowledgedAsync(int count)
        {
            while (Volatile.Read(ref _recorder.Acknowledged) < count)
            {
                await Task.Delay(5, TestTimeout.Token);
            }
        }

        internal sealed class Recorder(ChannelWriter<object> received, bool acknowledge = false, bool answerKeepalive = true) : IActor
        {
            private PID? _subscription;

            /// <summary>Events acknowledged so far (sent before they are recorded as such).</summary>
            public int Acknowledged;

            public Task ReceiveAsync(IContext context)
            {
                switch (context.Message)
                {
                    case EventsWatchStarted started:
                        _subscription = context.Sender;
                        received.TryWrite(started);
                        break;
                    case SwarmEvent e:
                        received.TryWrite(e);
                        if (acknowledge && _subscription is not null)
                        {
                            context.Send(_subscription, new EventsReceived(1));
                            Interlocked.Increment(ref Acknowledged);
                        }

                        break;
                    case EventsKeepalive keepalive:
                        // The answer goes first, so it is on its way before the test sees the question.
                        if (answerKeepalive && _subscription is not null)
                        {
                            context.Send(_subscription, new EventsReceived(0));
                        }

                        received.TryWrite(keepalive);
                        break;
                    case EventsStreamEnded ended:
                        received.TryWrite(ended);
                        break;
                }

                return Task.CompletedTask;
            }
        }
    }

    private sealed class Watcher : IActor
    {
        private readonly PID _watched;

        private Watcher(PID watched) => _watched = watched;

        public TaskCompletionSource Terminated { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static Watcher Of(ActorSystem system, PID watched)
        {
            var watcher = new Watcher(watched);
            system.Root.Spawn(Props.FromProducer(() => watcher));
            return watcher;
        }

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Started:
                    context.Watch(_watched);
                    break;
                case Terminated t when t.Who.Equals(_watched):
                    Terminated.TrySetResult();
                    break;
            }

            return Task.CompletedTask;
        }
    }
}
