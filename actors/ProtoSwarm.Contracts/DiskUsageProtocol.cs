using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>`system df`: what the node's images, containers and volumes take on its disk. Answered by the local node host.</summary>
[MessagePackObject]
public sealed record GetDiskUsage([property: Key(0)] string RequestId);

/// <summary>docker's `system df` rows (Images, Containers, Local Volumes, Build Cache), each summed by the node.</summary>
[MessagePackObject]
public sealed record DiskUsage([property: Key(0)] ImmutableArray<DiskUsageRow> Rows);

/// <summary>
/// One kind of thing on the node's disk: how many, how many in use (an image a container has, a running container, a volume a
/// container holds), the bytes they take, and the bytes removing the unused ones would give back.
/// </summary>
[MessagePackObject]
public sealed record DiskUsageRow(
    [property: Key(0)] string Type,
    [property: Key(1)] int Total,
    [property: Key(2)] int Active,
    [property: Key(3)] long Size,
    [property: Key(4)] long Reclaimable);
