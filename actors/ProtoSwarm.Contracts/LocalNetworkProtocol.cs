using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// The node's own networks (docker's local scope): bridge, the node's bridge a standalone container or a task on no
// network is on; host and none. Answered by the node the CLI talks to, in a swarm or not, never forwarded, as each
// docker engine answers for its own (a manager reached over TCP answers for itself, as docker's remote daemon lists
// its own); `network ls` and `network inspect` show them beside the swarm's networks.

/// <summary>`network ls` / `network inspect`: the node's local networks.</summary>
[MessagePackObject]
public sealed record ListLocalNetworks([property: Key(0)] string RequestId);

/// <summary>The node's local networks, bridge, host and none, in that order.</summary>
[MessagePackObject]
public sealed record LocalNetworkList([property: Key(0)] ImmutableArray<LocalNetwork> Networks);

/// <summary>
/// `network ls` / `network inspect` on a worker, which the managers' <see cref="ListNetworks"/> refuses: the swarm's
/// networks this node has, those its tasks and attached containers are on and ingress while the node is in the routing
/// mesh (its <see cref="NetworkView"/>s), as docker's worker lists them. Answered by the node itself, never forwarded.
/// </summary>
[MessagePackObject]
public sealed record ListNodeOverlays([property: Key(0)] string RequestId);

/// <summary>
/// The swarm's networks the node has, by id, each with who uses it as the node's view says (all its endpoints, its
/// services, the nodes that have it); none on a node whose containers are not real (no overlay is made there).
/// </summary>
[MessagePackObject]
public sealed record NodeOverlayList([property: Key(0)] ImmutableArray<NetworkDetails> Networks);

/// <summary>
/// One local network as the node has it. <paramref name="Id"/> is the node's own for it (64 hex digits, kept in its
/// state, as docker keeps its own), <paramref name="Driver"/> docker's (bridge, host, null). <paramref name="Subnet"/> and
/// <paramref name="Gateway"/> are the bridge's as the node configured it (CIDR and address); empty for host and none, and for
/// the bridge while the node has not made it. <paramref name="Options"/> are docker's driver options (the bridge's device
/// name), <paramref name="Containers"/> the node's containers on it.
/// </summary>
[MessagePackObject]
public sealed record LocalNetwork(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] string Driver,
    [property: Key(3)] DateTimeOffset Created,
    [property: Key(4)] string Subnet,
    [property: Key(5)] string Gateway,
    [property: Key(6)] ImmutableSortedDictionary<string, string> Options,
    [property: Key(7)] ImmutableArray<LocalEndpoint> Containers)
{
    public const string Bridge = "bridge", Host = "host", None = "none";

    /// <summary>docker's driver of each: the bridge driver, host, and null for none.</summary>
    public static string DriverOf(string name) => name switch
    {
        Bridge => "bridge",
        Host => "host",
        _ => "null",
    };
}

/// <summary>
/// A container on a local network: its id and name, its address (CIDR; empty on none), its MAC (empty on none) and the
/// endpoint's id (64 hex digits, the same for the same container and network).
/// </summary>
[MessagePackObject]
public sealed record LocalEndpoint(
    [property: Key(0)] string ContainerId,
    [property: Key(1)] string Name,
    [property: Key(2)] string Address,
    [property: Key(3)] string MacAddress,
    [property: Key(4)] string EndpointId);
