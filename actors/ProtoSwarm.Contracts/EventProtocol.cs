using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// `events` (docker's `docker events`): what a node host saw happen, as docker's events.Message. Answered by the node the
// CLI talks to, never forwarded: a manager adds the swarm's objects (scope swarm), every node its own containers (scope
// local). On a control socket the answer is a stream (WatchEvents); over TCP a manager's API answers SubscribeEvents
// with messages from a subscription actor to the client's actor, acknowledged as they are read.

/// <summary>
/// One event, docker's events.Message: <paramref name="Type"/> (service, node, secret, config, network, container),
/// <paramref name="Action"/> (create, update, remove; start, die, ...), the actor's id and attributes, the scope
/// (swarm or local) and when it happened, in Unix nanoseconds.
/// </summary>
[MessagePackObject]
public sealed record SwarmEvent(
    [property: Key(0)] string Type,
    [property: Key(1)] string Action,
    [property: Key(2)] string ActorId,
    [property: Key(3)] ImmutableSortedDictionary<string, string> Attributes,
    [property: Key(4)] string Scope,
    [property: Key(5)] long TimeNano)
{
    public const string SwarmScope = "swarm";
    public const string LocalScope = "local";
}

/// <summary>
/// `events [--since T] [--until T]`: answers <see cref="EventsWatchStarted"/>, then one <see cref="SwarmEvent"/> a frame:
/// first those the node host kept from <paramref name="SinceNano"/> on (none when null), then new ones as they happen.
/// With <paramref name="UntilNano"/> the node ends the stream (closes the connection) once that time has passed, at
/// once after the kept ones when it is already past. Times are Unix nanoseconds.
/// </summary>
[MessagePackObject]
public sealed record WatchEvents(
    [property: Key(0)] string RequestId,
    [property: Key(1)] long? SinceNano,
    [property: Key(2)] long? UntilNano);

/// <summary>The watch began; events follow on the connection.</summary>
[MessagePackObject]
public sealed record EventsWatchStarted(
    [property: Key(0)] string NodeId);

/// <summary>
/// `events` over TCP (the managers' API, <c>manager-api</c>, an operator's client certificate): the manager the client
/// reached starts a subscription actor that answers <see cref="EventsWatchStarted"/> to the sender, then sends it each
/// <see cref="SwarmEvent"/> as <see cref="WatchEvents"/> would write it on the socket (the same since and until), never
/// more than a window ahead of the client's <see cref="EventsReceived"/>, and ends with <see cref="EventsStreamEnded"/>.
/// It watches the sender and stops when the sender stops or unsubscribes. With <paramref name="AnswersKeepalive"/> the
/// client says it answers <see cref="EventsKeepalive"/>, and the subscription also ends when the client falls silent (a
/// killed process gives the manager no Terminated over Proto.Remote); a client that does not say so (an older CLI) is
/// never asked, so it is not dropped for staying silent. Never relayed to the leader.
/// </summary>
[MessagePackObject]
public sealed record SubscribeEvents(
    [property: Key(0)] string RequestId,
    [property: Key(1)] long? SinceNano,
    [property: Key(2)] long? UntilNano,
    [property: Key(3)] bool AnswersKeepalive = false) : IManagerApiRequest;

/// <summary>
/// The client read <paramref name="Count"/> more events of a subscription: that many more may be sent. Any of these,
/// <c>EventsReceived(0)</c> too (the answer to <see cref="EventsKeepalive"/>), tells the subscription the client is alive.
/// </summary>
[MessagePackObject]
public sealed record EventsReceived(
    [property: Key(0)] int Count);

/// <summary>
/// A subscription has heard nothing from its client for a while (no <see cref="EventsReceived"/>): the client's actor
/// answers <c>EventsReceived(0)</c> at once, whether or not its reader is keeping up (a blocked reader is the backlog's
/// business). Sent only to a client that subscribed with <see cref="SubscribeEvents.AnswersKeepalive"/>; one that stays
/// silent past the manager's grace gets <see cref="EventsStreamEnded"/> and the subscription stops.
/// </summary>
[MessagePackObject]
public sealed record EventsKeepalive(
    [property: Key(0)] string RequestId);

/// <summary>
/// The client is done (Ctrl-C): the subscription stops watching it, answers <see cref="EventsStreamEnded"/> and stops,
/// so the client's actor can stop without its end telling the manager anything.
/// </summary>
[MessagePackObject]
public sealed record UnsubscribeEvents(
    [property: Key(0)] string RequestId);

/// <summary>
/// A subscription ended and its actor stopped: <paramref name="Reason"/> is empty when --until has passed or the client
/// unsubscribed (the normal ends), otherwise a sentence saying what happened (the client read too slowly, the manager is stopping).
/// </summary>
[MessagePackObject]
public sealed record EventsStreamEnded(
    [property: Key(0)] string Reason);
