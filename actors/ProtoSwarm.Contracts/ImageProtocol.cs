using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// The node's own images (`image load / import / ls / inspect / tag / rm / prune`). Answered by the local node host
// from its image store, in a swarm or not; never forwarded to a manager. The CLI and the node are on
// one machine, so a load or import names a file the node reads rather than streaming it.

/// <summary>`image load -i FILE`: a `docker save` archive or an OCI image layout tar (plain or gzip) at <paramref name="Path"/>.</summary>
[MessagePackObject]
public sealed record LoadImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Path);

[MessagePackObject]
public sealed record ImageLoaded([property: Key(0)] ImmutableArray<ImageObject> Images);

/// <summary>`image import FILE NAME:TAG`: one layer from a root filesystem tar, with an empty config.</summary>
[MessagePackObject]
public sealed record ImportImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Path,
    [property: Key(2)] string NameTag);

[MessagePackObject]
public sealed record ImageImported([property: Key(0)] ImageObject Image);

[MessagePackObject]
public sealed record ListImages([property: Key(0)] string RequestId);

[MessagePackObject]
public sealed record ImageList([property: Key(0)] ImmutableArray<ImageObject> Images);

/// <summary>An image by name (`busybox`, `busybox:1.36`), id, id prefix or manifest digest.</summary>
[MessagePackObject]
public sealed record InspectImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ImageRef);

[MessagePackObject]
public sealed record ImageDetails([property: Key(0)] ImageObject Image);

/// <summary>`image rm [-f]`: untags a name, deletes an image by id or by its last name; refused while a task uses it unless forced.</summary>
[MessagePackObject]
public sealed record RemoveImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ImageRef,
    [property: Key(2)] bool Force);

[MessagePackObject]
public sealed record ImageRemoved(
    [property: Key(0)] ImmutableArray<string> Untagged,
    [property: Key(1)] ImmutableArray<string> Deleted);

/// <summary>
/// `image prune [-a]`: the images the CLI chose by its filters, by id; the node deletes those still unused by any of its
/// containers and, without <paramref name="All"/>, still dangling (no tag), each with every name it has.
/// </summary>
[MessagePackObject]
public sealed record PruneImages(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> ImageIds,
    [property: Key(2)] bool All);

/// <summary>What `image prune` removed, as docker reports it: names untagged, images and layers deleted, bytes the disk got back.</summary>
[MessagePackObject]
public sealed record ImagesPruned(
    [property: Key(0)] ImmutableArray<string> Untagged,
    [property: Key(1)] ImmutableArray<string> Deleted,
    [property: Key(2)] long SpaceReclaimed);

/// <summary>`image tag SOURCE TARGET`: a second name for the image SOURCE finds (a name, id, id prefix or digest); TARGET is NAME[:TAG].</summary>
[MessagePackObject]
public sealed record TagImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Source,
    [property: Key(2)] string Target);

[MessagePackObject]
public sealed record ImageTagged([property: Key(0)] ImageObject Image);

/// <summary>
/// `image save [-o FILE] IMAGE...`: the images as one archive written by the node to <paramref name="Path"/> (absolute;
/// the node writes it beside the file first and moves it in, so a failed save leaves no half archive).
/// </summary>
[MessagePackObject]
public sealed record SaveImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Images,
    [property: Key(2)] string Path);

[MessagePackObject]
public sealed record ImageSaved([property: Key(0)] long Size);

/// <summary>An image on a node: docker's image id (the config's digest), names, sizes and the config a container runs with.</summary>
[MessagePackObject]
public sealed record ImageObject(
    [property: Key(0)] string Id,
    [property: Key(1)] string ManifestDigest,
    [property: Key(2)] ImmutableArray<string> RepoTags,
    [property: Key(3)] DateTimeOffset? Created,
    [property: Key(4)] long Size,
    [property: Key(5)] string Architecture,
    [property: Key(6)] string Os,
    [property: Key(7)] ImmutableArray<string> Entrypoint,
    [property: Key(8)] ImmutableArray<string> Cmd,
    [property: Key(9)] ImmutableArray<string> Env,
    [property: Key(10)] string WorkingDir,
    [property: Key(11)] string User,
    [property: Key(12)] ImmutableArray<string> ExposedPorts,
    [property: Key(13)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(14)] string StopSignal,
    [property: Key(15)] ImageHealthcheckSpec? Healthcheck,
    [property: Key(16)] ImmutableArray<string> DiffIds,
    [property: Key(17)] ImmutableArray<string> RepoDigests = default,
    [property: Key(18)] ImmutableArray<string> Volumes = default);

[MessagePackObject]
public sealed record ImageHealthcheckSpec(
    [property: Key(0)] ImmutableArray<string> Test,
    [property: Key(1)] TimeSpan Interval,
    [property: Key(2)] TimeSpan Timeout,
    [property: Key(3)] TimeSpan StartPeriod,
    [property: Key(4)] int Retries,
    [property: Key(5)] TimeSpan StartInterval = default);
