using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// `events` (docker's `docker events`): what a node host saw happen, as docker's events.Message. Answered by the node the
// CLI talks to, over its control socket only (a stream), never forwarded: a manager adds the swarm's objects (scope
// swarm), every node its own containers (scope local).

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
