using System.Collections.Immutable;

namespace ProtoSwarm.Containers.Images;

/// <summary>One layer of a stored image: its blob, its diff id (the key of its unpacked directory) and sizes.</summary>
public sealed record StoredLayer(string Digest, string DiffId, string MediaType, long BlobSize, long Size);

/// <summary>
/// An image in the store. <see cref="Id"/> is docker's image id, the config's digest;
/// <see cref="ManifestDigest"/> is the manifest's (made for a `docker save` archive, which has none).
/// <see cref="RepoTags"/> are docker's short names (`busybox:latest`), of every manifest with this config;
/// <see cref="RepoDigests"/> the digests registries know it by (`busybox@sha256:...`), from pulls and pushes.
/// </summary>
public sealed record StoredImage(
    string Id,
    string ManifestDigest,
    ImmutableArray<string> RepoTags,
    DateTimeOffset? Created,
    long Size,
    ImageConfig Config,
    ImmutableArray<StoredLayer> Layers)
{
    public ImmutableArray<string> RepoDigests { get; init; } = [];
}

/// <summary>What a removal did, as `docker rmi` prints it: names untagged, then images and layers deleted.</summary>
public sealed record ImageRemoval(ImmutableArray<string> Untagged, ImmutableArray<string> Deleted)
{
    /// <summary>Bytes the disk got back (unpacked layers and blob files deleted); set by a prune.</summary>
    public long Reclaimed { get; init; }
}

/// <summary>A blob of a stored image as a push sends it: the descriptor's fields and the file that holds it.</summary>
public sealed record ImageBlob(string Digest, string MediaType, long Size, string Path);

/// <summary>
/// What a push of a stored image needs: its manifest exactly as stored (for a `docker save` image, the
/// OCI manifest the store made), that manifest's media type, and the files of its config and layers.
/// The store keeps those files (pinned) until this is disposed, even if the image is removed meanwhile:
/// dispose it when done reading them.
/// </summary>
public sealed record ImageBlobs(StoredImage Image, string MediaType, byte[] Manifest, ImageBlob Config, ImmutableArray<ImageBlob> Layers)
    : IDisposable, IAsyncDisposable
{
    /// <summary>The store's pins on the files, set by <see cref="ImageStore.ExportAsync"/>.</summary>
    internal ImageStore.BlobLease? Lease { get; init; }

    public void Dispose() => Lease?.Dispose();

    public ValueTask DisposeAsync() => Lease?.DisposeAsync() ?? ValueTask.CompletedTask;
}
