using System.Runtime.CompilerServices;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Control;

/// <summary>`events` on a node's control socket (<see cref="INodeConnection.WatchEventsAsync"/>).</summary>
internal static class ControlSocketEvents
{
    /// <summary>The control socket's events: <see cref="EventsWatchStarted"/>, then one event a frame until the node closes the connection.</summary>
    public static async IAsyncEnumerable<SwarmEvent> ReadAsync(INodeConnection node, WatchEvents request, [EnumeratorCancellation] CancellationToken ct)
    {
        var (_, connection) = await node.OpenStreamAsync<EventsWatchStarted>(request, Timeouts.Query, ct);
        await using (connection)
        {
            while (await ControlFraming.ReadAsync(connection, ct) is { } message)
            {
                if (message is SwarmEvent e)
                {
                    yield return e;
                }
            }
        }
    }
}
