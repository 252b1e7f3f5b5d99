using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;

namespace ProtoSwarm.Client;

/// <summary>
/// A client-mode Proto.Remote actor system that sends typed messages to a manager's
/// <c>manager-api</c> actor over mutual TLS. It listens on nothing: replies come back on the connection it opened.
/// </summary>
public sealed class RemoteChannel : IRequestChannel
{
    public const string ManagerApiName = "manager-api";

    private readonly ActorSystem _system;
    private readonly PID _managerApi;

    private RemoteChannel(ActorSystem system, string managerAddr)
    {
        _system = system;
        _managerApi = new PID(managerAddr, ManagerApiName);
    }

    public string ManagerAddr => _managerApi.Address;

    /// <summary>Connects with a certificate the swarm issued: an operator's client certificate, or a node's.</summary>
    public static async Task<RemoteChannel> ConnectAsync(string managerAddr, SwarmCredentials credentials)
    {
        var system = new ActorSystem(new ActorSystemConfig().WithDeveloperSupervisionLogging(false))
            .WithClientRemote(RemoteConfigFactory.ForClient(credentials));
        await system.Remote().StartAsync().ConfigureAwait(false);
        return new RemoteChannel(system, managerAddr);
    }

    public async Task<object> RequestAsync(object request, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            return await _system.Root.RequestAsync<object>(_managerApi, request, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is TimeoutException or OperationCanceledException) && !ct.IsCancellationRequested)
        {
            return new CommandRejected(RejectCode.Unavailable,
                $"No manager answered at {_managerApi.Address} within {timeout.TotalSeconds:0} s; check the address and that its port is reachable from here.");
        }
    }

    /// <summary>
    /// `events` from this manager: a subscription actor there sends them to an actor here (see <see cref="EventSubscription"/>).
    /// A refusal (a worker's certificate, no such stream) throws <see cref="SwarmCommandException"/>.
    /// </summary>
    public Task<EventSubscription> SubscribeEventsAsync(SubscribeEvents request, TimeSpan timeout, CancellationToken ct) =>
        EventSubscription.StartAsync(_system, _managerApi, request, timeout, ct);

    public async ValueTask DisposeAsync()
    {
        await _system.Remote().ShutdownAsync(graceful: true).ConfigureAwait(false);
        await _system.ShutdownAsync().ConfigureAwait(false);
    }
}
