using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Pki;
using ProtoSwarm.Tests.Registry;

namespace ProtoSwarm.Tests.Security;

/// <summary>`events` over Proto.Remote with mutual TLS, as the CLI's client actor gets them from a manager.</summary>
public sealed class RemoteEventsTests : IAsyncLifetime
{
    // Short, so a silent client is dropped within seconds; the grace leaves room for a loaded machine's round trip.
    private static readonly ClientLiveness Liveness = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2));

    private readonly TestPki _pki = new();
    private readonly ActorSystem _server = new();
    private readonly Feed _feed = new();
    private readonly RecordingLogger _log = new();
    private SwarmRemoteHost _host = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        var port = TestPorts.FreeLoopback();
        _address = $"127.0.0.1:{port}";
        var credentials = new SwarmCredentials(_pki.Node("manager-1", NodeRole.Manager), _pki.Validator());
        _server.Root.SpawnNamed(Props.FromProducer(() => new ManagerApiRouter(
            () => Props.FromFunc(_ => Task.CompletedTask),
            subscription: (request, client) => EventSubscriptionActor.Props(_feed, "manager-1", TimeProvider.System, request, client, _log, Liveness,
                pid => _host.Policy.Clients.Describe(pid.Id)))), "manager-api");
        _host = await SwarmRemoteHost.StartAsync(
            _server, new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1", credentials, new RemoteAccessPolicy(["manager-api"]), ca: null, NullLoggerFactory.Instance);
        await _server.Remote().StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.Remote().ShutdownAsync(graceful: false);
        await _server.ShutdownAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task An_Operators_Client_Gets_The_Events_And_Cancelling_Ends_Both_Sides_Cleanly()
    {
        var channel = await RemoteChannel.ConnectAsync(_address, new SwarmCredentials(ClientCertificate(), _pki.Validator()));
        var events = await channel.SubscribeEventsAsync(new SubscribeEvents("r1", null, null), TimeSpan.FromSeconds(10), TestTimeout.Token);
        Assert.Equal("manager-1", events.NodeId);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(TestTimeout.Token);
        var read = new List<string>();

        _feed.Publish(Event("web"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in events.ReadAllAsync(reading.Token))
            {
                read.Add(e.ActorId);
                await reading.CancelAsync();
            }
        });
        await events.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await channel.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["web"], read);
        await _feed.Released.Task.WaitAsync(TestTimeout.Token);
        Assert.Equal(0, _host.Policy.Refused.Total);
    }

    [Fact]
    public async Task A_Client_Gone_Without_Unsubscribing_Is_Dropped_Once_It_No_Longer_Answers()
    {
        // The client reaches the manager through a relay that the test cuts, as a killed process or a machine gone
        // would: its connection ends with no unsubscription, and no Terminated reaches the manager. (Shutting the
        // client's remote down here, graceful or not, left its connection up, and its actor kept answering.)
        await using var relay = await Relay.StartAsync(_address);
        var client = new ActorSystem().WithClientRemote(RemoteConfigFactory.ForClient(new SwarmCredentials(ClientCertificate(), _pki.Validator())));
        await client.Remote().StartAsync();
        try
        {
            var events = await EventSubscription.StartAsync(client, new PID(relay.Address, RemoteChannel.ManagerApiName), new SubscribeEvents("r4", null, null),
                TimeSpan.FromSeconds(10), TestTimeout.Token);
            _feed.Publish(Event("web"));
            await using (var reading = events.ReadAllAsync(TestTimeout.Token).GetAsyncEnumerator())
            {
                Assert.True(await reading.MoveNextAsync());
                Assert.Equal("web", reading.Current.ActorId);
            }

            // Some keepalives answered first, so it is the silence after the cut that ends it.
            await Task.Delay(Liveness.Grace * 2);
            Assert.False(_feed.Released.Task.IsCompleted);
            relay.Cut();

            await _feed.Released.Task.WaitAsync(TestTimeout.Token);
            var line = Assert.Single(_log.Lines, l => l.Contains("keepalives unanswered", StringComparison.Ordinal));
            // Named by where its connection came from (the relay's end), not by its PID's address, which is the manager's own.
            Assert.Contains("Events subscription r4 for the client at 127.0.0.1:", line, StringComparison.Ordinal);
            Assert.DoesNotContain($"at {_address} ", line, StringComparison.Ordinal);
            Assert.DoesNotContain($"at {relay.Address} ", line, StringComparison.Ordinal);
            Assert.Contains("ended: no word from it for 2 s", line, StringComparison.Ordinal);
        }
        finally
        {
            await client.Remote().ShutdownAsync(graceful: false);
            await client.ShutdownAsync();
        }
    }

    [Fact]
    public async Task A_Live_Client_Kept_Quiet_For_Several_Graces_Keeps_Its_Subscription()
    {
        var channel = await RemoteChannel.ConnectAsync(_address, new SwarmCredentials(ClientCertificate(), _pki.Validator()));
        try
        {
            var events = await channel.SubscribeEventsAsync(new SubscribeEvents("r5", null, null), TimeSpan.FromSeconds(10), TestTimeout.Token);
            await using var reading = events.ReadAllAsync(TestTimeout.Token).GetAsyncEnumerator();
            var next = reading.MoveNextAsync().AsTask();

            // No event for ten intervals, two and a half graces: only the keepalives' answers are heard.
            await Task.Delay(Liveness.Quiet * 10);
            Assert.False(_feed.Released.Task.IsCompleted);
            _feed.Publish(Event("db"));

            Assert.True(await next.WaitAsync(TestTimeout.Token));
            Assert.Equal("db", reading.Current.ActorId);
            Assert.False(_feed.Released.Task.IsCompleted);
            Assert.DoesNotContain(_log.Lines, l => l.Contains("keepalives unanswered", StringComparison.Ordinal));
            await events.DisposeAsync();
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_Workers_Certificate_Is_Refused()
    {
        var channel = await RemoteChannel.ConnectAsync(_address, new SwarmCredentials(_pki.Node("worker-1", NodeRole.Worker), _pki.Validator()));
        try
        {
            var refused = await Assert.ThrowsAsync<SwarmCommandException>(() => channel.SubscribeEventsAsync(new SubscribeEvents("r3", null, null), TimeSpan.FromSeconds(10), TestTimeout.Token));
            Assert.Equal(RejectCode.PermissionDenied, refused.Code);
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }

    private X509Certificate2 ClientCertificate()
    {
        var key = NodeKey.Generate();
        return key.WithCertificate(_pki.Ca.IssueClient(key.CreateCsr(), "operator-1", TestPki.ClusterId, TimeSpan.FromDays(1), DateTimeOffset.UtcNow));
    }

    private static SwarmEvent Event(string id) =>
        new("service", "create", id, ImmutableSortedDictionary<string, string>.Empty, SwarmEvent.SwarmScope, 1);

    /// <summary>A loopback TCP relay to the manager whose connections can be cut at once, as a process killed cuts its own.</summary>
    private sealed class Relay : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly IPEndPoint _target;
        private readonly ConcurrentBag<Socket> _sockets = [];
        private readonly CancellationTokenSource _cut = new();

        private Relay(TcpListener listener, IPEndPoint target)
        {
            _listener = listener;
            _target = target;
        }

        public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public static Task<Relay> StartAsync(string target)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var relay = new Relay(listener, IPEndPoint.Parse(target));
            _ = relay.AcceptAsync();
            return Task.FromResult(relay);
        }

        /// <summary>Refuses new connections and resets the open ones.</summary>
        public void Cut()
        {
            if (_cut.IsCancellationRequested)
            {
                return;
            }

            _cut.Cancel();
            _listener.Stop();
            foreach (var socket in _sockets)
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
            }
        }

        public ValueTask DisposeAsync()
        {
            Cut();
            _cut.Dispose();
            return ValueTask.CompletedTask;
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (!_cut.IsCancellationRequested)
                {
                    var inbound = await _listener.AcceptSocketAsync(_cut.Token);
                    var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    _sockets.Add(inbound);
                    _sockets.Add(outbound);
                    await outbound.ConnectAsync(_target, _cut.Token);
                    _ = CopyAsync(inbound, outbound);
                    _ = CopyAsync(outbound, inbound);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task CopyAsync(Socket from, Socket to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await from.ReceiveAsync(buffer, _cut.Token);
                    if (read == 0)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await to.SendAsync(buffer.AsMemory(0, read), _cut.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private sealed class Feed : IEventFeed
    {
        private readonly Channel<SwarmEvent> _later = Channel.CreateUnbounded<SwarmEvent>();

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public (List<SwarmEvent> Kept, ChannelReader<SwarmEvent> Later) Watch(long? sinceNano, CancellationToken ct)
        {
            ct.Register(() =>
            {
                _later.Writer.TryComplete();
                Released.TrySetResult();
            });
            return ([], _later.Reader);
        }

        public void Publish(SwarmEvent e) => _later.Writer.TryWrite(e);
    }
}
