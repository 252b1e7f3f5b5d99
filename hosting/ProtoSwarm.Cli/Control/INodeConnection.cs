using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Control;

/// <summary>The CLI's one way to the node, so commands can be run in tests against a fake node.</summary>
internal interface INodeConnection
{
    string Address { get; }

    Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct);

    /// <summary>Whether <see cref="OpenStreamAsync{TReply}"/> works here (a node's control socket).</summary>
    bool CanStream => false;

    /// <summary>A request answered by a stream (exec -i / -t): the first reply and the connection, the caller's to dispose.
    /// Only a node's control socket streams.</summary>
    Task<(TReply Reply, Stream Connection)> OpenStreamAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct) =>
        throw new SwarmCommandException(Contracts.RejectCode.InvalidArgument,
            $"{Address} is reached over TCP, which carries no interactive exec; run the command on the task's node, against its control socket (unix://).");

    /// <summary>
    /// `events`: the node's events as they happen, until --until has passed (the sequence ends) or the caller cancels. A
    /// control socket streams them on the connection; a manager over TCP sends them from a subscription actor.
    /// </summary>
    IAsyncEnumerable<SwarmEvent> WatchEventsAsync(WatchEvents request, CancellationToken ct) => ControlSocketEvents.ReadAsync(this, request, ct);
}

/// <summary>
/// The node host's control socket, through <see cref="ControlClient"/>, with <see cref="ContractRegistry.Options"/>: its
/// formatters are generated at build time, so a command that sends one request and exits compiles none at run time.
/// </summary>
internal sealed class ControlSocketConnection(string socketPath) : INodeConnection
{
    private readonly ControlClient _client = new(socketPath);

    public string Address => _client.SocketPath;

    public bool CanStream => true;

    public Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct) =>
        _client.RequestAsync<TReply>(request, timeout, ct);

    public Task<(TReply Reply, Stream Connection)> OpenStreamAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct) =>
        _client.OpenStreamAsync<TReply>(request, timeout, ct);
}
