using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Control;

/// <summary>
/// The CLI's connection as a <see cref="IRequestChannel"/>, so commands use the typed
/// <see cref="SwarmClient"/> over whichever way --host names (control socket or a manager).
/// </summary>
internal sealed class NodeConnectionChannel(INodeConnection node) : IRequestChannel
{
    public async Task<object> RequestAsync(object request, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await node.RequestAsync<object>(request, timeout, ct);
        }
        catch (SwarmCommandException e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
