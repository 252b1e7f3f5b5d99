using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Client;

/// <summary>What a push did, as <see cref="ImagePushed"/> carries it: the manifest's digest, the blobs sent, the blobs the registry already had in the repository, and those it linked from another repository (mounted).</summary>
public sealed record PushResult(string Repository, string Tag, string Digest, int BlobsUploaded, int BlobsPresent, long BytesUploaded, int BlobsMounted = 0)
{
    public ImagePushed ToWire() => new(Repository, Tag, Digest, BlobsUploaded, BlobsPresent, BytesUploaded, BlobsMounted);
}

/// <summary>
/// Pushes an image of the node's <see cref="ImageStore"/> to a registry: the config and each layer are
/// asked for first (HEAD) and, when missing, mounted from another repository the store knows holds it
/// (cross-repository mount, as docker's push does) or else sent, then the manifest, exactly as stored, is put under
/// the tag, so the registry's digest is the one the node knows the image by and a pull elsewhere stores the
/// same bytes. Transient failures are retried (<see cref="RetryPolicy"/>); an upload that broke is sent
/// again from its start in a new session.
/// </summary>
public sealed partial class ImagePusher
{
    private readonly ImageStore _store;
    private readonly Func<int, RegistryClient> _client;
    private readonly RetryPolicy _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ImagePusher(ImageStore store, RegistryClient client, RetryPolicy? retry = null, TimeProvider? time = null, ILogger<ImagePusher>? logger = null)
        : this(store, _ => client, retry, time, logger)
    {
    }

    /// <summary><paramref name="client"/> is asked for a client at every attempt, given the attempt's number (1 for a request's first), so a retry may go to another manager (<see cref="ManagerTurn"/>).</summary>
    public ImagePusher(ImageStore store, Func<int, RegistryClient> client, RetryPolicy? retry = null, TimeProvider? time = null, ILogger<ImagePusher>? logger = null)
    {
        _store = store;
        _client = client;
        _retry = retry ?? RetryPolicy.Default;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>
    /// Pushes the stored image <paramref name="imageRef"/> (a name, id or digest, as the store resolves it)
    /// as <paramref name="repository"/>:<paramref name="tag"/> (`library/busybox`, `latest`).
    /// </summary>
    public async Task<PushResult> PushAsync(string imageRef, string repository, string tag, IProgress<TransferProgress>? progress = null, CancellationToken ct = default)
    {
        if (!ImageReference.IsRepositoryPath(repository))
        {
            throw new ArgumentException($"'{repository}' is not a repository path (lowercase components split by '/', such as library/busybox)", nameof(repository));
        }

        if (!ImageReference.IsTag(tag))
        {
            throw new ArgumentException($"'{tag}' is not a tag (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')", nameof(tag));
        }

        await using var image = await _store.ExportAsync(imageRef, ct);
        int uploaded = 0, present = 0, mounted = 0;
        long bytes = 0;
        foreach (var blob in image.Layers.Prepend(image.Config).DistinctBy(b => b.Digest))
        {
            var id = Short(blob.Digest);
            progress?.Report(new TransferProgress(id, "Preparing"));
            if (await RunAsync($"blob {blob.Digest} of {repository}", c => c.BlobExistsAsync(repository, blob.Digest, ct), ct))
            {
                present++;
                progress?.Report(new TransferProgress(id, "Layer already exists"));
                continue;
            }

            if (await MountAsync(blob.Digest, repository, ct) is { } from)
            {
                mounted++;
                progress?.Report(new TransferProgress(id, $"Mounted from {from}"));
                continue;
            }

            var sending = new InlineProgress<long>(sent => progress?.Report(new TransferProgress(id, "Pushing", sent, blob.Size)));
            bytes += await RunAsync($"blob {blob.Digest} of {repository}", c => c.UploadBlobAsync(repository, blob.Digest, blob.Path, sending, ct), ct);
            uploaded++;
            progress?.Report(new TransferProgress(id, "Pushed", blob.Size, blob.Size));
        }

        var digest = await RunAsync($"manifest {repository}:{tag}", c => c.PutManifestAsync(repository, tag, image.MediaType, image.Manifest, ct), ct);
        // The image is now known to the registry by this digest: one of its RepoDigests, as docker's push records it.
        var domain = ImageReference.TryParse(imageRef, out var name, out _) ? name.Domain : ImageReference.DefaultDomain;
        await _store.AddDigestAsync(new ImageReference(domain, repository, tag, digest), image.Image.ManifestDigest, ct);
        return new PushResult(repository, tag, digest, uploaded, present, bytes, mounted);
    }

    /// <summary>
    /// Asks the registry to link the blob into <paramref name="repository"/> from a repository this node pushed
    /// it to or pulled it from (<see cref="ImageStore.RepositoriesWithBlobAsync"/>); the one it came from, or
    /// null when none would (the registry answers 202 and the blob is uploaded).
    /// </summary>
    private async Task<string?> MountAsync(string digest, string repository, CancellationToken ct)
    {
        foreach (var from in await _store.RepositoriesWithBlobAsync(digest, ct))
        {
            if (from != repository && await RunAsync($"mount of blob {digest} from {from} into {repository}", c => c.MountBlobAsync(repository, digest, from, ct), ct))
            {
                return from;
            }
        }

        return null;
    }

    private Task<T> RunAsync<T>(string what, Func<RegistryClient, Task<T>> request, CancellationToken ct) =>
        _retry.RunAsync(
            (attempt, _) => request(_client(attempt)),
            _time,
            (attempt, delay, e) => LogRetry(_logger, what, attempt, _retry.Attempts, delay, e.Message),
            ct);

    /// <summary>docker's short id: 12 hex digits.</summary>
    private static string Short(string digest) => digest.Length > 19 ? digest[7..19] : digest;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push of {What}: attempt {Attempt} of {Attempts} failed, retrying in {Delay}: {Error}")]
    private static partial void LogRetry(ILogger logger, string what, int attempt, int attempts, TimeSpan delay, string error);
}
