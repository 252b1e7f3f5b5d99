using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using Proto.Remote;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Pki;

namespace ProtoSwarm.Tests.Security;

/// <summary>`events` over Proto.Remote with mutual TLS, as the CLI's client actor gets them from a manager.</summary>
public sealed class RemoteEventsTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private readonly ActorSystem _server = new();
    private readonly Feed _feed = new();
    private SwarmRemoteHost _host = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        var port = TestPorts.FreeLoopback();
        _address = $"127.0.0.1:{port}";
        var credentials = new SwarmCredentials(_pki.Node("manager-1", NodeRole.Manager), _pki.Validator());
        _server.Root.SpawnNamed(Props.FromProducer(() => new ManagerApiRouter(
            () => Props.FromFunc(_ => Task.CompletedTask),
            subscription: (request, client) => EventSubscriptionActor.Props(_feed, "manager-1", TimeProvider.System, request, client, NullLogger.Instance))), "manager-api");
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
