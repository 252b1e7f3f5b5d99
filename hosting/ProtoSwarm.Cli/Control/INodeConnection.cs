using ProtoSwarm.Client.Control;

namespace ProtoSwarm.Cli.Control;

/// <summary>The CLI's one way to the node, so commands can be run in tests against a fake node.</summary>
internal interface INodeConnection
{
    string Address { get; }

    Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct);
}

/// <summary>The node host's control socket, through <see cref="ControlClient"/>.</summary>
internal sealed class ControlSocketConnection(string socketPath) : INodeConnection
{
    private readonly ControlClient _client = new(socketPath);

    public string Address => _client.SocketPath;

    public Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct) =>
        _client.RequestAsync<TReply>(request, timeout, ct);
}
