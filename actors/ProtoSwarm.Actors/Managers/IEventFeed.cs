using System.Threading.Channels;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// A node host's events (`events`), as its control socket serves them: the one source for the socket's stream and for
/// a manager's subscriptions over TCP (<see cref="EventSubscriptionActor"/>), so both see the same events.
/// </summary>
public interface IEventFeed
{
    /// <summary>
    /// The kept events from <paramref name="sinceNano"/> on (none when null), and every later one as it is published,
    /// until <paramref name="ct"/> is cancelled (the reader then completes) or the watcher falls too far behind (the
    /// feed completes the reader itself).
    /// </summary>
    (List<SwarmEvent> Kept, ChannelReader<SwarmEvent> Later) Watch(long? sinceNano, CancellationToken ct);
}
