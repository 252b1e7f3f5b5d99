using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// The node's own volumes (`volume create / ls / inspect / rm`), local driver only. Answered by the
// local node host from its volume store, in a swarm or not; never forwarded to a manager, as a
// docker swarm's volumes are each node's own.

/// <summary>
/// `volume create [--label k=v] [-o type=.. -o device=.. -o o=..] [NAME]`: idempotent for a name that exists (its
/// labels and options are kept); an empty name makes one (docker's random 64-hex). Options are the local driver's.
/// </summary>
[MessagePackObject]
public sealed record CreateVolume(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Name,
    [property: Key(2)] string Driver,
    ImmutableSortedDictionary<string, string>? Labels = null,
    ImmutableSortedDictionary<string, string>? Options = null)
{
    [Key(3)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;

    [Key(4)]
    public ImmutableSortedDictionary<string, string> Options { get; init; } = Options ?? ImmutableSortedDictionary<string, string>.Empty;
}

[MessagePackObject]
public sealed record VolumeCreated([property: Key(0)] VolumeObject Volume);

[MessagePackObject]
public sealed record ListVolumes([property: Key(0)] string RequestId);

[MessagePackObject]
public sealed record VolumeList([property: Key(0)] ImmutableArray<VolumeObject> Volumes);

[MessagePackObject]
public sealed record InspectVolume(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Name);

[MessagePackObject]
public sealed record VolumeDetails([property: Key(0)] VolumeObject Volume);

/// <summary>`volume rm [-f] NAME`: refused while a container uses it, forced or not (docker's rule); force only hides "no such volume".</summary>
[MessagePackObject]
public sealed record RemoveVolume(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Name,
    [property: Key(2)] bool Force);

/// <summary>A removed volume, and the bytes its files took (what `volume prune` adds up as reclaimed).</summary>
[MessagePackObject]
public sealed record VolumeRemoved([property: Key(0)] string Name, [property: Key(1)] long ReclaimedBytes = 0);

/// <summary>A volume on a node, with docker's `volume inspect` fields and the containers that use it now.</summary>
[MessagePackObject]
public sealed record VolumeObject(
    [property: Key(0)] string Name,
    [property: Key(1)] string Driver,
    [property: Key(2)] string Mountpoint,
    [property: Key(3)] DateTimeOffset CreatedAt,
    [property: Key(4)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(5)] string Scope,
    [property: Key(6)] ImmutableArray<string> UsedBy,
    [property: Key(7)] bool Anonymous = false,
    ImmutableSortedDictionary<string, string>? Options = null)
{
    /// <summary>The local driver's options it was created with (type, device, o); empty for a plain directory.</summary>
    [Key(8)]
    public ImmutableSortedDictionary<string, string> Options { get; init; } = Options ?? ImmutableSortedDictionary<string, string>.Empty;
}
