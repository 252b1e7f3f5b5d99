using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// ---- the swarm's own registry (OCI distribution API v2), served by every manager
//
// Metadata (tags, manifests and which blobs a repository holds) lives in the managers' Raft store, so
// every manager answers for every repository and a tag moves atomically. Blob bytes live on the disk
// of the manager that received them (STATE/registry/blobs) and are fetched from another manager the
// first time one that lacks them is asked; they are checked against their digest wherever they land.

/// <summary>
/// One repository of the swarm's registry (`library/busybox`): its tags, its manifests (the exact
/// bytes pushed: manifests are small, and a pull asks for them first, from any manager) and the blobs
/// linked to it by an upload or a cross-mount. Id is the repository's path.
/// </summary>
[MessagePackObject]
public sealed record RepositoryObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    ImmutableSortedDictionary<string, string> Tags = default!,
    ImmutableSortedDictionary<string, RegistryManifest> Manifests = default!,
    ImmutableSortedDictionary<string, long> Blobs = default!,
    ImmutableSortedDictionary<string, DateTimeOffset> LinkedAt = default!) : IStoreObject, IStoreKind
{
    /// <summary>Tag to manifest digest.</summary>
    [Key(2)]
    public ImmutableSortedDictionary<string, string> Tags { get; init; } = Tags ?? ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);

    /// <summary>Manifest digest to the manifest.</summary>
    [Key(3)]
    public ImmutableSortedDictionary<string, RegistryManifest> Manifests { get; init; } = Manifests ?? ImmutableSortedDictionary.Create<string, RegistryManifest>(StringComparer.Ordinal);

    /// <summary>Blob digest to its size: the blobs a pull from this repository may read.</summary>
    [Key(4)]
    public ImmutableSortedDictionary<string, long> Blobs { get; init; } = Blobs ?? ImmutableSortedDictionary.Create<string, long>(StringComparer.Ordinal);

    /// <summary>
    /// Blob digest to when it was last linked (an upload completed, a mount): garbage collection leaves a blob
    /// linked this recently alone, since a push links its blobs before it puts the manifest naming them. A blob
    /// missing here was linked before this was recorded, which counts as long ago.
    /// </summary>
    [Key(5)]
    public ImmutableSortedDictionary<string, DateTimeOffset> LinkedAt { get; init; } = LinkedAt ?? ImmutableSortedDictionary.Create<string, DateTimeOffset>(StringComparer.Ordinal);

    public static RepositoryObject Empty(string name, DateTimeOffset now) => new(name, ObjectMeta.New(now));

    public static string StoreKind => "repository";

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}

/// <summary>
/// A manifest or image index as pushed: media type, the exact bytes (their sha256 is the digest), and
/// what it refers to (config and layer blobs of a manifest; child manifests of an index).
/// </summary>
[MessagePackObject]
public sealed record RegistryManifest(
    [property: Key(0)] string MediaType,
    [property: Key(1)] byte[] Content,
    [property: Key(2)] ImmutableArray<string> Blobs,
    [property: Key(3)] ImmutableArray<string> Manifests,
    [property: Key(4)] DateTimeOffset PushedAt);

/// <summary>
/// `registry token pull|push [--rotate]`: the password of the registry's plain listener for outside
/// tools (basic auth, user `pull` or `push`), as `swarm join-token` for joins.
/// </summary>
[MessagePackObject]
public sealed record GetRegistryToken(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Role,
    [property: Key(2)] bool Rotate) : IManagerApiRequest;

[MessagePackObject]
public sealed record RegistryToken(
    [property: Key(0)] string Role,
    [property: Key(1)] string Token);

/// <summary>`registry ls`: the swarm registry's repositories with their tags.</summary>
[MessagePackObject]
public sealed record ListRepositories([property: Key(0)] string RequestId) : IManagerApiRequest;

[MessagePackObject]
public sealed record RepositoryList([property: Key(0)] ImmutableArray<RepositorySummary> Repositories);

[MessagePackObject]
public sealed record RepositorySummary(
    [property: Key(0)] string Name,
    [property: Key(1)] ImmutableSortedDictionary<string, string> Tags,
    [property: Key(2)] int Manifests,
    [property: Key(3)] long Size);

/// <summary>
/// `registry gc [--dry-run] [--delete-untagged] [--grace 1h]` on a manager (answered by that manager's node host):
/// unlinks from every repository the blobs none of its manifests needs (and, with DeleteUntagged, the manifests no
/// tag reaches), then removes from this manager's disk the blob files no repository links and the abandoned uploads.
/// Nothing linked, pushed or written within Grace is touched.
/// </summary>
[MessagePackObject]
public sealed record CollectRegistryGarbage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] bool DryRun,
    [property: Key(2)] bool DeleteUntagged,
    [property: Key(3)] TimeSpan Grace);

/// <summary>
/// What `registry gc` removed (or, on a dry run, would remove): per repository, and on this manager's disk; and how many
/// of the other managers swept their disks at its request (absent from an older manager: none).
/// </summary>
[MessagePackObject]
public sealed record RegistryGarbageCollected(
    [property: Key(0)] bool DryRun,
    [property: Key(1)] ImmutableArray<RepositoryGarbage> Repositories,
    [property: Key(2)] string Manager,
    [property: Key(3)] int BlobFilesRemoved,
    [property: Key(4)] long BytesFreed,
    [property: Key(5)] int UploadsRemoved,
    [property: Key(6)] int OtherManagers,
    [property: Key(7)] int OtherManagersSwept = 0);

/// <summary>One repository's part of a collection: the manifests removed and the blobs unlinked (digest to size).</summary>
[MessagePackObject]
public sealed record RepositoryGarbage(
    [property: Key(0)] string Repository,
    [property: Key(1)] ImmutableArray<string> Manifests,
    [property: Key(2)] ImmutableSortedDictionary<string, long> Blobs);

// ---- the node's side (answered by the local node host, which talks to the managers' registry with its certificate)

/// <summary>`image push NAME[:TAG]`: the node's image to the swarm's registry (manager nodes only: workers may only pull).</summary>
[MessagePackObject]
public sealed record PushImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ImageRef);

[MessagePackObject]
public sealed record ImagePushed(
    [property: Key(0)] string Repository,
    [property: Key(1)] string Tag,
    [property: Key(2)] string Digest,
    [property: Key(3)] int BlobsUploaded,
    [property: Key(4)] int BlobsPresent,
    [property: Key(5)] long BytesUploaded,
    [property: Key(6)] int BlobsMounted = 0);

/// <summary>`image pull NAME[:TAG|@DIGEST]`: from the swarm's registry into the node's store.</summary>
[MessagePackObject]
public sealed record PullImage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ImageRef);

/// <summary>
/// What `image pull` did. <see cref="Updated"/>: the reference now points to an image it did not point to
/// before on the node (docker's "Downloaded newer image", said also when only the tag was new).
/// </summary>
[MessagePackObject]
public sealed record ImagePulled(
    [property: Key(0)] ImageObject Image,
    [property: Key(1)] string Digest,
    [property: Key(2)] int LayersDownloaded,
    [property: Key(3)] long BytesDownloaded,
    [property: Key(4)] bool Updated = false);
