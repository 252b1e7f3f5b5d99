using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Registry.Client.RegistryClientException;

namespace ProtoSwarm.Registry.Client;

/// <summary>
/// What a pull did, as <see cref="ImagePulled"/> carries it: the stored image; <see cref="Digest"/>, what the
/// reference resolved to in the registry (an index's digest when the tag names one; the image's own
/// manifest digest is <see cref="StoredImage.ManifestDigest"/>); the config and layer blobs this pull
/// needed and did not have (fetched now or by an earlier, broken attempt) and the bytes that came over the
/// wire for them; <see cref="Updated"/>, whether the reference pulled now points to an image it did not
/// point to before (docker's rule for "Downloaded newer image" rather than "Image is up to date": a new
/// tag for content already here counts, blobs fetched again for a tag that did not move do not).
/// </summary>
public sealed record PullResult(StoredImage Image, string Digest, int LayersDownloaded, long BytesDownloaded, bool Updated);

/// <summary>
/// Pulls images from a registry into the node's <see cref="ImageStore"/>: the manifest (by digest when the
/// reference is pinned, else by tag; an index resolved to linux/amd64), then the config and the layers the
/// store lacks, each downloaded to <see cref="ImageStore.DownloadPath"/> and checked against its digest,
/// then stored in one commit. One puller per store: concurrent pulls of one reference share one pull, and
/// pulls of different images share each blob's download, so tasks starting together fetch a layer once.
/// A broken download is retried (<see cref="RetryPolicy"/>) and resumes from the bytes it has, also after
/// a restart of the node.
/// </summary>
public sealed partial class ImagePuller
{
    /// <summary>No image config is near this size; a larger descriptor is refused before anything is fetched.</summary>
    private const long MaxConfigSize = 16 << 20;

    private readonly ImageStore _store;
    private readonly Func<int, RegistryClient> _client;
    private readonly RetryPolicy _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SingleFlight<PullResult, TransferProgress> _pulls = new();
    private readonly SingleFlight<BlobFetch, TransferProgress> _downloads = new();

    public ImagePuller(ImageStore store, RegistryClient client, RetryPolicy? retry = null, TimeProvider? time = null, ILogger<ImagePuller>? logger = null)
        : this(store, _ => client, retry, time, logger)
    {
    }

    /// <summary>
    /// <paramref name="client"/> is asked for a client at every attempt, given the attempt's number (1 for a
    /// request's first), so a retry may go to another manager when the one that failed is down (<see cref="ManagerTurn"/>).
    /// </summary>
    public ImagePuller(ImageStore store, Func<int, RegistryClient> client, RetryPolicy? retry = null, TimeProvider? time = null, ILogger<ImagePuller>? logger = null)
    {
        _store = store;
        _client = client;
        _retry = retry ?? RetryPolicy.Default;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Layers of one image downloaded at once, as docker does.</summary>
    public int ParallelDownloads { get; init; } = 3;

    /// <summary>
    /// Pulls <paramref name="reference"/> from the registry repository <see cref="ImageReference.Path"/> (the
    /// registry is the client's; the reference's domain is not looked at). An unpinned pull names the image
    /// by the reference; a pinned one adds no name (the tag may have moved on since the digest was pinned,
    /// and a node's names follow what a user loaded or pulled by tag), and is answered from the store when
    /// it has that manifest. Either records the repository and the digest the registry answered with
    /// (`busybox@sha256:...`, docker's RepoDigests), so an image pulled for a task is listed under its
    /// repository, as docker lists it.
    /// </summary>
    public Task<PullResult> PullAsync(ImageReference reference, IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return _pulls.RunAsync(reference.ToString(), (p, token) => PullOnceAsync(reference, p, token), progress, ct);
    }

    private async Task<PullResult> PullOnceAsync(ImageReference reference, IProgress<TransferProgress> progress, CancellationToken ct)
    {
        var repository = reference.Path;
        var before = await _store.ImageIdOfAsync(reference, ct);
        if (reference.IsPinned)
        {
            try
            {
                var stored = await _store.InspectAsync(reference.Pinned, ct);
                await _store.AddDigestAsync(reference, stored.ManifestDigest, ct);
                return new PullResult(await _store.InspectAsync(reference.Pinned, ct), reference.Digest, 0, 0, before != stored.Id);
            }
            catch (ImageStoreException e) when (e.Code == RejectCode.NotFound)
            {
            }
        }

        var asked = reference.IsPinned ? reference.Digest : reference.Tag;
        var top = await FetchManifestAsync(repository, asked, ct);
        var manifest = top;
        if (MediaTypes.IsIndex(top.Content.MediaType))
        {
            var index = Parse(top, repository, () => ImageIndex.Parse(top.Content.Content, top.Content.MediaType, Where(top, repository, asked)));
            var entry = index.LinuxAmd64 ?? throw new RegistryClientException(
                $"registry {top.Registry}: {Where(top, repository, asked)} is an index with no linux/amd64 image (it has {string.Join(", ", index.Manifests.Select(m => m.Platform).DefaultIfEmpty("none"))}); push an image built for linux/amd64",
                null, Codes.Unsupported, top.Registry, repository, top.Content.Digest);
            manifest = await FetchManifestAsync(repository, entry.Digest, ct);
            if (MediaTypes.IsIndex(manifest.Content.MediaType))
            {
                throw new RegistryClientException(
                    $"registry {manifest.Registry}: {Where(manifest, repository, entry.Digest)}: the linux/amd64 entry of index {top.Content.Digest} is itself an index; nested indexes are not read, push the image itself",
                    null, Codes.Unsupported, manifest.Registry, repository, entry.Digest);
            }
        }

        if (!MediaTypes.IsManifest(manifest.Content.MediaType))
        {
            throw new RegistryClientException(
                $"registry {manifest.Registry}: {Where(manifest, repository, asked)} has media type '{manifest.Content.MediaType}', which is neither an image manifest nor an index this node reads ({string.Join(", ", MediaTypes.Manifests)}); push the image with docker, skopeo or `protoswarm image push`",
                null, Codes.Unsupported, manifest.Registry, repository, manifest.Content.Digest);
        }

        var parsed = Parse(manifest, repository, () => ImageManifest.Parse(manifest.Content.Content, manifest.Content.MediaType, Where(manifest, repository, asked)));
        if (parsed.Config.Size > MaxConfigSize)
        {
            throw new RegistryClientException(
                $"registry {manifest.Registry}: {Where(manifest, repository, asked)}: its config {parsed.Config.Digest} is {parsed.Config.Size} bytes, more than an image config can be; the manifest is not an image this node runs",
                null, Codes.Unsupported, manifest.Registry, repository, parsed.Config.Digest);
        }

        // Held from before the pull looks which blobs the store has until the image is stored (or the pull
        // fails): a blob it skips, or one another pull moves in, cannot be deleted under it meanwhile.
        await using var lease = await _store.LeaseAsync(parsed.Layers.Select(l => l.Digest).Prepend(parsed.Config.Digest), ct);
        var config = await FetchBlobAsync(repository, parsed.Config, lease, null, ct);
        var configBytes = await ReadAsync(config, lease, ct);
        var layers = new BlobFetch[parsed.Layers.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, ParallelDownloads), CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(0, layers.Length), options, async (i, token) =>
            layers[i] = await FetchBlobAsync(repository, parsed.Layers[i], lease, progress, token));

        var fetched = layers.Prepend(config).Where(f => !f.InStore).DistinctBy(f => f.Digest).ToList();
        var image = await _store.AddPulledAsync(
            manifest.Content.Content,
            manifest.Content.MediaType,
            configBytes,
            fetched.ToDictionary(f => f.Digest, f => f.Path, StringComparer.Ordinal),
            reference.IsPinned ? [] : [reference],
            [reference.WithDigest(top.Content.Digest)],
            ct);
        return new PullResult(
            image,
            top.Content.Digest,
            layers.Where(f => !f.InStore).DistinctBy(f => f.Digest).Count(),
            fetched.Sum(f => f.Fetched),
            before != image.Id);
    }

    private async Task<FetchedManifest> FetchManifestAsync(string repository, string reference, CancellationToken ct) =>
        await _retry.RunAsync(
            async (attempt, token) =>
            {
                var client = _client(attempt);
                return new FetchedManifest(client.BaseUri.Authority, await client.GetManifestAsync(repository, reference, token));
            },
            _time,
            (attempt, delay, e) => LogRetry(_logger, $"manifest {repository}:{reference}", attempt, _retry.Attempts, delay, e.Message),
            ct);

    /// <summary>
    /// A blob from the store when the pull's <paramref name="lease"/> holds it there, else downloaded once per
    /// digest however many pulls need it.
    /// </summary>
    private async Task<BlobFetch> FetchBlobAsync(string repository, BlobDescriptor blob, ImageStore.BlobLease lease, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        while (true)
        {
            if (lease.Holds(blob.Digest))
            {
                progress?.Report(new TransferProgress(Short(blob.Digest), "Already exists"));
                return BlobFetch.Stored(_store, blob.Digest);
            }

            var fetch = await _downloads.RunAsync(blob.Digest, (p, token) => DownloadAsync(repository, blob, p, token), progress, ct);
            if (!fetch.InStore || lease.Holds(blob.Digest))
            {
                return fetch;
            }

            // The shared download found the blob stored by another pull, but it went again before this
            // pull's lease could hold it: fetch it after all.
        }
    }

    private async Task<BlobFetch> DownloadAsync(string repository, BlobDescriptor blob, IProgress<TransferProgress> progress, CancellationToken ct)
    {
        var id = Short(blob.Digest);
        var path = _store.DownloadPath(blob.Digest);
        while (true)
        {
            if (_store.HasBlob(blob.Digest))
            {
                // Another pull stored it while this one queued for it.
                progress.Report(new TransferProgress(id, "Already exists"));
                return BlobFetch.Stored(_store, blob.Digest);
            }

            // A whole file from an earlier attempt (or a pull of another image that has not stored it yet)
            // is checked, not fetched again: asking for the bytes after its end would only start it over.
            var length = File.Exists(path) ? new FileInfo(path).Length : 0;
            if (length > blob.Size)
            {
                File.Delete(path);
            }
            else if (length == blob.Size && length > 0)
            {
                try
                {
                    if (await HashAsync(path, ct) == blob.Digest)
                    {
                        progress.Report(new TransferProgress(id, "Download complete", length, blob.Size));
                        return new BlobFetch(blob.Digest, path, InStore: false, Fetched: 0);
                    }
                }
                catch (FileNotFoundException)
                {
                    continue; // moved into the store meanwhile
                }

                File.Delete(path);
            }

            break;
        }

        progress.Report(new TransferProgress(id, "Pulling fs layer", 0, blob.Size));
        long fetched = 0;
        var registry = string.Empty;
        var onDisk = new InlineProgress<long>(bytes => progress.Report(new TransferProgress(id, "Downloading", bytes, blob.Size)));
        await _retry.RunAsync(
            async (attempt, token) =>
            {
                var client = _client(attempt);
                registry = client.BaseUri.Authority;
                var before = File.Exists(path) ? new FileInfo(path).Length : 0;
                try
                {
                    var download = await client.DownloadBlobAsync(repository, blob.Digest, path, onDisk, token);
                    fetched += download.Fetched;
                    return download;
                }
                catch (RegistryClientException)
                {
                    fetched += Math.Max(0, (File.Exists(path) ? new FileInfo(path).Length : 0) - before);
                    throw;
                }
            },
            _time,
            (attempt, delay, e) => LogRetry(_logger, $"blob {blob.Digest} of {repository}", attempt, _retry.Attempts, delay, e.Message),
            ct);

        progress.Report(new TransferProgress(id, "Verifying Checksum", blob.Size, blob.Size));
        var size = new FileInfo(path).Length;
        var actual = await HashAsync(path, ct);
        if (size != blob.Size || actual != blob.Digest)
        {
            File.Delete(path);
            throw new RegistryClientException(
                $"registry {registry}: blob {blob.Digest} of {repository}: the download hashes to {actual} ({size} bytes, {blob.Size} expected), not to its digest; it was deleted and nothing was stored. Pull again; if this recurs, the registry's copy is corrupt: push the image again",
                null, Codes.DigestMismatch, registry, repository, blob.Digest);
        }

        progress.Report(new TransferProgress(id, "Download complete", size, blob.Size));
        return new BlobFetch(blob.Digest, path, InStore: false, fetched);
    }

    /// <summary>A fetched blob's bytes, from the store if a pull of another image has moved the download in meanwhile.</summary>
    private async Task<byte[]> ReadAsync(BlobFetch blob, ImageStore.BlobLease lease, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllBytesAsync(blob.Path, ct);
        }
        catch (FileNotFoundException) when (lease.Holds(blob.Digest))
        {
            return await File.ReadAllBytesAsync(_store.BlobPath(blob.Digest), ct);
        }
    }

    private static T Parse<T>(FetchedManifest manifest, string repository, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (ImageStoreException e)
        {
            throw new RegistryClientException($"registry {manifest.Registry}: {e.Message}", null, Codes.Unsupported, manifest.Registry, repository, manifest.Content.Digest, e);
        }
    }

    private static string Where(FetchedManifest manifest, string repository, string asked) =>
        ImageReference.IsDigest(asked) && asked == manifest.Content.Digest
            ? $"manifest {repository}@{asked}"
            : $"manifest {manifest.Content.Digest} ({repository}:{asked})";

    private static async Task<string> HashAsync(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, useAsync: true);
        return "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
    }

    /// <summary>docker's short id: 12 hex digits.</summary>
    private static string Short(string digest) => digest.Length > 19 ? digest[7..19] : digest;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pull of {What}: attempt {Attempt} of {Attempts} failed, retrying in {Delay}: {Error}")]
    private static partial void LogRetry(ILogger logger, string what, int attempt, int attempts, TimeSpan delay, string error);

    private sealed record FetchedManifest(string Registry, ManifestContent Content);

    /// <summary>A blob a pull needs: in the store already, or downloaded to <see cref="Path"/> with <see cref="Fetched"/> bytes over the wire.</summary>
    private sealed record BlobFetch(string Digest, string Path, bool InStore, long Fetched)
    {
        public static BlobFetch Stored(ImageStore store, string digest) => new(digest, store.BlobPath(digest), InStore: true, Fetched: 0);
    }
}
