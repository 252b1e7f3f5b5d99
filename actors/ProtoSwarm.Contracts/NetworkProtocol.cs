using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// ---- overlay networks through the managers' API (docker's /networks, swarm scope)

/// <summary>
/// `network create`: the spec is checked (overlay driver, a unique name, a valid subnet and gateway, an
/// ip range and auxiliary addresses inside the subnet, a valid MTU option) and the subnet, gateway and VXLAN id are allocated before anything is stored.
/// </summary>
[MessagePackObject]
public sealed record CreateNetwork(
    [property: Key(0)] string RequestId,
    [property: Key(1)] NetworkSpec Spec) : IManagerApiRequest;

[MessagePackObject]
public sealed record NetworkCreated([property: Key(0)] string NetworkId);

/// <summary>`network ls`: every swarm network, sorted by name.</summary>
[MessagePackObject]
public sealed record ListNetworks([property: Key(0)] string RequestId) : IManagerApiRequest;

/// <summary>
/// The networks, and the ids of those in use (a service attached, or a task holding an address on it: what `network rm`
/// refuses for), which `network ls --filter dangling=` reads; empty from a manager of an earlier version.
/// </summary>
[MessagePackObject]
public sealed record NetworkList(
    [property: Key(0)] ImmutableArray<NetworkObject> Networks,
    ImmutableArray<string> InUse = default)
{
    [Key(1)]
    public ImmutableArray<string> InUse { get; init; } = InUse.IsDefault ? [] : InUse;
}

/// <summary>`network inspect`: a network named by id, name or a unique id prefix.</summary>
[MessagePackObject]
public sealed record InspectNetwork(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NetworkRef) : IManagerApiRequest;

/// <summary>The network, and who uses it now (null when no node needs it: no task on it, ingress with no published port).</summary>
[MessagePackObject]
public sealed record NetworkDetails(
    [property: Key(0)] NetworkObject Network,
    [property: Key(1)] NetworkUsage? Usage = null);

/// <summary>
/// `network rm`: refused while a service is attached to the network or a task still holds an
/// address on it; the ingress network only while a service publishes a port through it.
/// </summary>
[MessagePackObject]
public sealed record RemoveNetwork(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NetworkRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record NetworkRemoved([property: Key(0)] string NetworkId);
