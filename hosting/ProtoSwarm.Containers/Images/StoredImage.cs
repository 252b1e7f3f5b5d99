using System.Collections.Immutable;

namespace ProtoSwarm.Containers.Images;

/// <summary>One layer of a stored image: its blob, its diff id (the key of its unpacked directory) and sizes.</summary>
public sealed record StoredLayer(string Digest, string DiffId, string MediaType, long BlobSize, long Size);

/// <summary>
/// An image in the store. <see cref="Id"/> is docker's image id, the config's digest;
/// <see cref="ManifestDigest"/> is the manifest's (made for a `docker save` archive, which has none).
/// <see cref="RepoTags"/> are docker's short names (`busybox:latest`).
/// </summary>
public sealed record StoredImage(
    string Id,
    string ManifestDigest,
    ImmutableArray<string> RepoTags,
    DateTimeOffset? Created,
    long Size,
    ImageConfig Config,
    ImmutableArray<StoredLayer> Layers);

/// <summary>What a removal did, as `docker rmi` prints it: names untagged, then images and layers deleted.</summary>
public sealed record ImageRemoval(ImmutableArray<string> Untagged, ImmutableArray<string> Deleted);
