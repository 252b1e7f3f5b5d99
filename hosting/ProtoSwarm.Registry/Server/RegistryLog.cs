using Microsoft.Extensions.Logging;

namespace ProtoSwarm.Registry.Server;

/// <summary>The registry server's log lines, with the repository and digest each is about.</summary>
internal static partial class RegistryLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Registry: blob {Digest} ({Size} bytes) stored for {Repository}")]
    public static partial void BlobStored(this ILogger logger, string repository, string digest, long size);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Registry: upload {UploadId} to {Repository} refused: its content is {Actual}, the client said {Expected}; the upload was discarded")]
    public static partial void DigestMismatch(this ILogger logger, string repository, string uploadId, string expected, string actual);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Registry: manifest {Digest} ({MediaType}) pushed to {Repository} as {Reference}")]
    public static partial void ManifestPushed(this ILogger logger, string repository, string reference, string digest, string mediaType);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Registry: blob {Digest} of {Repository} fetched from a peer ({Size} bytes)")]
    public static partial void PeerFetched(this ILogger logger, string repository, string digest, long size);

    // Debug: each caller says it once at its own level (a pull that failed warns; the replicator warns once per blob).
    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Registry: blob {Digest} of {Repository} could not be fetched from a peer: {Reason}")]
    public static partial void PeerFetchFailed(this ILogger logger, string repository, string digest, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Registry: removed {Count} stale upload sessions under {Root}")]
    public static partial void StaleUploadsRemoved(this ILogger logger, int count, string root);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Registry: could not remove {Path}: {Reason}")]
    public static partial void CleanupFailed(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Registry: {Method} {Path} failed")]
    public static partial void RequestFailed(this ILogger logger, Exception error, string method, string path);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Registry: {Method} {Path} ended early: {Reason}; nothing was stored")]
    public static partial void RequestAborted(this ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Registry: {What} deleted from {Repository}")]
    public static partial void Deleted(this ILogger logger, string repository, string what);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Registry: garbage collection removed {Files} unlinked blob files ({Bytes} bytes) and {Uploads} abandoned uploads under {Root}")]
    public static partial void GarbageSwept(this ILogger logger, int files, long bytes, int uploads, string root);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Registry: garbage collection took {Manifests} manifests and {Blobs} blob links from {Repository}")]
    public static partial void GarbageUnlinked(this ILogger logger, string repository, int manifests, int blobs);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Registry: the periodic sweep of unlinked blobs failed: {Reason}")]
    public static partial void PeriodicSweepFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Registry: copying the linked blobs from the other managers failed: {Reason}")]
    public static partial void ReplicationScanFailed(this ILogger logger, string reason);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Registry: manifest {Reference} of {Repository} refused: its {Blobs} blobs are on {Holding} of {Managers} managers after {Seconds} s, short of the majority a push needs")]
    public static partial void PushNotReplicated(this ILogger logger, string repository, string reference, int blobs, int holding, int managers, double seconds);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, Message = "Registry: blob {Digest} of {Repository} is linked but no manager could give it ({Reason}); it is tried again every minute at most, and logged again only when that changes")]
    public static partial void ReplicationStuck(this ILogger logger, string repository, string digest, string reason);

    [LoggerMessage(EventId = 17, Level = LogLevel.Information, Message = "Registry: blob {Digest} of {Repository} copied from a peer after {Failures} failed attempts")]
    public static partial void ReplicationRecovered(this ILogger logger, string repository, string digest, int failures);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, Message = "Registry: {Swept} of {Peers} other managers swept their disks after the garbage collection")]
    public static partial void PeersSwept(this ILogger logger, int swept, int peers);

    [LoggerMessage(EventId = 19, Level = LogLevel.Warning, Message = "Registry: blob {Digest} of {Repository} was asked for, but it is not on this manager and no other manager gave it ({Result})")]
    public static partial void BlobUnavailable(this ILogger logger, string repository, string digest, PeerFetchResult result);
}
