using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>An upload in progress: its id, the repository it was started for, the bytes it holds so far and when it began.</summary>
public sealed record BlobUpload(string Id, string Repository, long Size, DateTimeOffset StartedAt);

/// <summary>What a sweep of the disk removed (or, on a dry run, would remove): blob files no repository links, and abandoned uploads.</summary>
public sealed record DiskSweep(int BlobFiles, long BlobBytes, int Uploads, long UploadBytes)
{
    public long Bytes => BlobBytes + UploadBytes;
}

/// <summary>What a fetch from the peers came to.</summary>
public enum PeerFetchResult
{
    /// <summary>The blob is on this disk now (or already was).</summary>
    Stored,

    /// <summary>No peer had it.</summary>
    Missing,

    /// <summary>A peer sent bytes whose digest is not the one asked for; nothing was kept.</summary>
    Corrupt,
}

/// <summary>
/// The registry's blob bytes on this machine, under one directory: <c>blobs/sha256/HEX</c> content-addressed
/// and immutable, and <c>uploads/ID/</c> one directory per upload in progress (<c>data</c>, the bytes so far,
/// and <c>state.json</c>, its repository and start time, so a restart knows what each one is).
/// Bytes reach <c>blobs/</c> only one way: hashed, compared with the digest they were announced with,
/// fsynced and renamed in, so a reader sees a whole verified blob or nothing, whether they came from a
/// client or from a peer. One fsync per blob, none per chunk: a chunk that is lost in a crash only makes the
/// final digest check fail, and the client pushes again. The directory's rename is not fsynced: a blob lost
/// that way is linked in the metadata but absent here, which is the case a fetch from a peer already repairs.
/// Uploads idle (no bytes written) for longer than the maximum age, and anything a crash left, are removed at start;
/// idle ones periodically after that.
/// Blob files no repository links any more are removed by <see cref="SweepUnlinked"/> (registry garbage
/// collection): only those whose file time is older than a grace period, and never one being committed or
/// fetched, since a blob's bytes land here before the metadata links them.
/// </summary>
public sealed class BlobStore : IDisposable
{
    public static readonly TimeSpan DefaultUploadMaxAge = TimeSpan.FromHours(24);

    /// <summary>
    /// Uploads open at once; every one is a file on disk until it finishes or expires, so a client that
    /// starts sessions in a loop is told to slow down rather than filling the disk with empty sessions.
    /// </summary>
    public const int MaxOpenUploads = 4096;

    private const string DataFile = "data";
    private const string StateFile = "state.json";
    private const string PeerPrefix = "peer-";
    private const int CopyBuffer = 1 << 20;

    private readonly TimeProvider _time;
    private readonly TimeSpan _maxAge;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;
    private readonly CancellationTokenSource _stopping = new();

    // Requests of one upload take turns (a client may pipeline a PATCH behind another); entries go when the upload does.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _sessions = new(StringComparer.Ordinal);

    // A blob several pulls ask for at once is fetched from the peers once.
    private readonly ConcurrentDictionary<string, Lazy<Task<PeerFetchResult>>> _fetches = new(StringComparer.Ordinal);

    // The upload directories of peer fetches under way: a sweep leaves them alone whatever their age.
    private readonly ConcurrentDictionary<string, byte> _peerSessions = new(StringComparer.Ordinal);

    // A blob file is renamed in (or found there and touched) and removed by a sweep one at a time, so a sweep never
    // removes a file a commit has just counted on: the commit's touch makes it young, which the sweep checks under this.
    private readonly Lock _blobGate = new();

    public BlobStore(string root, TimeProvider? time = null, TimeSpan? uploadMaxAge = null, ILogger? logger = null)
    {
        Root = Path.GetFullPath(root);
        _time = time ?? TimeProvider.System;
        _maxAge = uploadMaxAge ?? DefaultUploadMaxAge;
        if (_maxAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(uploadMaxAge), uploadMaxAge, "the maximum age of an upload must be positive (the default is 24 hours)");
        }

        _logger = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(BlobsDir);
        Directory.CreateDirectory(UploadsDir);
        SweepAtStart();
        var period = _maxAge / 4 < TimeSpan.FromHours(1) ? _maxAge / 4 : TimeSpan.FromHours(1);
        _sweep = _time.CreateTimer(_ => RemoveStaleUploads(), null, period, period);
    }

    public string Root { get; }

    private string BlobsDir => Path.Combine(Root, "blobs", "sha256");

    private string UploadsDir => Path.Combine(Root, "uploads");

    public void Dispose()
    {
        _sweep.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>Where the blob lives (whether or not it is there).</summary>
    public string BlobPath(string digest) => Path.Combine(BlobsDir, Hex(digest));

    /// <summary>The blob's size when it is on this disk, else null.</summary>
    public long? BlobSize(string digest)
    {
        var info = new FileInfo(BlobPath(digest));
        return info.Exists ? info.Length : null;
    }

    /// <summary>The digests of the blobs on this disk (one directory listing).</summary>
    public HashSet<string> BlobDigests() =>
        new(Directory.EnumerateFiles(BlobsDir).Select(p => "sha256:" + Path.GetFileName(p)).Where(ImageReference.IsDigest), StringComparer.Ordinal);

    /// <summary>Opens an upload session for <paramref name="repository"/>.</summary>
    public BlobUpload StartUpload(string repository)
    {
        if (Directory.EnumerateDirectories(UploadsDir).Take(MaxOpenUploads + 1).Count() > MaxOpenUploads)
        {
            throw new RegistryException(StatusCodes.Status429TooManyRequests, RegistryErrorCodes.TooManyRequests,
                $"this registry has {MaxOpenUploads} uploads open already; finish or cancel some (DELETE their Location), or wait for stale ones to expire after {_maxAge.TotalHours:0.#} h");
        }

        var id = Guid.NewGuid().ToString("D");
        var state = new UploadState(repository, _time.GetUtcNow());
        CreateSession(id, state);
        return new BlobUpload(id, repository, 0, state.StartedAt);
    }

    /// <summary>The upload, when it exists and was started for <paramref name="repository"/>; else null.</summary>
    public BlobUpload? FindUpload(string repository, string id)
    {
        if (!IsUploadId(id) || ReadState(SessionDir(id)) is not { } state || state.Repository != repository)
        {
            return null;
        }

        var data = new FileInfo(Path.Combine(SessionDir(id), DataFile));
        return data.Exists ? new BlobUpload(id, repository, data.Length, state.StartedAt) : null;
    }

    /// <summary>
    /// Appends <paramref name="body"/> to the upload. <paramref name="offset"/>, when given (a Content-Range),
    /// must be the upload's current size; <paramref name="expectedLength"/>, when given (a Content-Length), must
    /// be what the body holds. A body that fails or falls short is cut off again: the upload is as it was before.
    /// </summary>
    public async Task<BlobUpload> AppendAsync(string repository, string id, Stream body, long? expectedLength, long? offset, CancellationToken ct)
    {
        var gate = await EnterAsync(repository, id, ct);
        try
        {
            var upload = FindUpload(repository, id) ?? throw RegistryException.UploadUnknown(repository, id);
            if (offset is { } start && start != upload.Size)
            {
                throw new RegistryException(StatusCodes.Status416RangeNotSatisfiable, RegistryErrorCodes.BlobUploadInvalid,
                    $"upload {id} of '{repository}' holds {upload.Size} bytes, but this chunk's Content-Range starts at {start}; send the chunk that starts at byte {upload.Size} (GET the upload's Location tells where it stands)",
                    new { size = upload.Size, start })
                {
                    Headers = new Dictionary<string, string> { ["Range"] = RangeHeader(upload.Size), ["Docker-Upload-UUID"] = id },
                };
            }

            var data = Path.Combine(SessionDir(id), DataFile);
            var written = await AppendFileAsync(data, body, expectedLength, ct);
            File.SetLastWriteTimeUtc(data, _time.GetUtcNow().UtcDateTime); // activity, as the sweep of idle uploads reads it
            return upload with { Size = upload.Size + written };
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Ends the upload: its bytes are checked against <paramref name="digest"/> and become the blob; returns its size.
    /// A mismatch discards the upload (DIGEST_INVALID) so nothing of it is ever served.
    /// </summary>
    public async Task<long> CompleteUploadAsync(string repository, string id, string digest, CancellationToken ct)
    {
        var gate = await EnterAsync(repository, id, ct);
        try
        {
            _ = FindUpload(repository, id) ?? throw RegistryException.UploadUnknown(repository, id);
            try
            {
                var size = await CommitAsync(Path.Combine(SessionDir(id), DataFile), digest, $"upload {id} of '{repository}'", ct);
                RemoveSession(id);
                _logger.BlobStored(repository, digest, size);
                return size;
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.DigestInvalid)
            {
                RemoveSession(id);
                _logger.DigestMismatch(repository, id, digest, e.Detail is DigestMismatch m ? m.Actual : "?");
                throw;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Cancels the upload; false when there was none.</summary>
    public async Task<bool> CancelUploadAsync(string repository, string id, CancellationToken ct)
    {
        var gate = await EnterAsync(repository, id, ct);
        try
        {
            if (FindUpload(repository, id) is null)
            {
                return false;
            }

            RemoveSession(id);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Brings a blob this disk lacks from the peers through <paramref name="fetch"/> (which copies it into the
    /// stream it is given and says whether a peer had it), checked as an upload is. Concurrent calls for one
    /// digest share one fetch; each caller may stop waiting with its own token.
    /// </summary>
    public Task<PeerFetchResult> FetchAsync(string repository, string digest, Func<Stream, CancellationToken, Task<bool>> fetch, CancellationToken ct)
    {
        if (BlobSize(digest) is not null)
        {
            return Task.FromResult(PeerFetchResult.Stored);
        }

        var flight = _fetches.GetOrAdd(digest, d => new Lazy<Task<PeerFetchResult>>(() => RunFetchAsync(repository, d, fetch)));
        return flight.Value.WaitAsync(ct);
    }

    /// <summary>Removes the uploads idle for longer than the maximum age; returns how many went.</summary>
    public int RemoveStaleUploads()
    {
        try
        {
            var (removed, _) = SweepIdleUploads((_time.GetUtcNow() - _maxAge).UtcDateTime, dryRun: false);
            if (removed > 0)
            {
                _logger.StaleUploadsRemoved(removed, Root);
            }

            return removed;
        }
        catch (IOException e)
        {
            _logger.CleanupFailed(UploadsDir, e.Message);
            return 0;
        }
    }

    private async Task<PeerFetchResult> RunFetchAsync(string repository, string digest, Func<Stream, CancellationToken, Task<bool>> fetch)
    {
        // Not the first caller's token: others wait on this fetch too, and the bytes are worth keeping once here.
        var ct = _stopping.Token;
        var id = PeerPrefix + Guid.NewGuid().ToString("N");
        _peerSessions[id] = 0;
        try
        {
            CreateSession(id, new UploadState(repository, _time.GetUtcNow()));
            var data = Path.Combine(SessionDir(id), DataFile);
            bool found;
            await using (var file = new FileStream(data, FileMode.Open, FileAccess.Write, FileShare.None, CopyBuffer, useAsync: true))
            {
                found = await fetch(file, ct);
            }

            if (!found)
            {
                _logger.PeerFetchFailed(repository, digest, "no peer has it");
                return PeerFetchResult.Missing;
            }

            var size = await CommitAsync(data, digest, $"the copy of {digest} a peer sent", ct);
            _logger.PeerFetched(repository, digest, size);
            return PeerFetchResult.Stored;
        }
        catch (RegistryException e) when (e.Code == RegistryErrorCodes.DigestInvalid)
        {
            _logger.PeerFetchFailed(repository, digest, e.Message);
            return PeerFetchResult.Corrupt;
        }
        catch (Exception e) when (e is not RegistryException)
        {
            // Whatever went wrong between the managers (a dropped connection, a refused certificate, a stop), the
            // puller is told the blob is not to be had here now, and the log says why.
            _logger.PeerFetchFailed(repository, digest, $"{e.GetType().Name}: {e.Message}");
            return PeerFetchResult.Missing;
        }
        finally
        {
            RemoveSession(id);
            _peerSessions.TryRemove(id, out _);
            _fetches.TryRemove(digest, out _);
        }
    }

    /// <summary>The one way into blobs/: hash, compare, fsync, rename. Returns the size.</summary>
    private async Task<long> CommitAsync(string data, string digest, string what, CancellationToken ct)
    {
        var target = BlobPath(digest);
        long size;
        await using (var file = new FileStream(data, FileMode.Open, FileAccess.ReadWrite, FileShare.None, CopyBuffer, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            size = file.Length;
            var actual = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
            if (actual != digest)
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.DigestInvalid,
                    $"{what}: its {size} bytes hash to {actual}, not to the digest given, {digest}; nothing was stored: push the blob again (and check that the digest is of the bytes as sent, compressed if they are)",
                    new DigestMismatch(digest, actual, size));
            }

            // A verified blob is already there (a concurrent push of the same bytes): the new copy is the same, nothing to keep.
            if (TouchIfPresent(target))
            {
                return size;
            }

            file.Flush(flushToDisk: true);
        }

        lock (_blobGate)
        {
            // The file time is when the blob last landed here, which is what a sweep's grace counts from.
            File.Move(data, target, overwrite: true);
            File.SetLastWriteTimeUtc(target, _time.GetUtcNow().UtcDateTime);
        }

        return size;
    }

    /// <summary>
    /// Makes the blob's file young again before a new link counts on it (a cross-repository mount), so a sweep that has
    /// not removed it yet keeps it; false when it is not on this disk (any more).
    /// </summary>
    public bool Refresh(string digest) => TouchIfPresent(BlobPath(digest));

    /// <summary>Makes a blob file that is present young again, so a sweep keeps it while the commit that found it links it; false when absent.</summary>
    private bool TouchIfPresent(string target)
    {
        lock (_blobGate)
        {
            if (!File.Exists(target))
            {
                return false;
            }

            File.SetLastWriteTimeUtc(target, _time.GetUtcNow().UtcDateTime);
            return true;
        }
    }

    /// <summary>
    /// Removes (or, on a dry run, counts) the blob files no repository links (<paramref name="linked"/>, read after the
    /// metadata's unlinks) whose file time is older than <paramref name="grace"/>, and the uploads with no data written
    /// within it. Kept whatever their age: a blob being fetched from a peer, a peer fetch's upload directory, and an
    /// upload with a request under way.
    /// </summary>
    public DiskSweep SweepUnlinked(IReadOnlySet<string> linked, TimeSpan grace, bool dryRun)
    {
        var cutoff = (_time.GetUtcNow() - grace).UtcDateTime;
        var files = 0;
        long fileBytes = 0;
        foreach (var path in Directory.EnumerateFiles(BlobsDir))
        {
            var digest = "sha256:" + Path.GetFileName(path);
            if (!ImageReference.IsDigest(digest) || linked.Contains(digest) || _fetches.ContainsKey(digest))
            {
                continue;
            }

            lock (_blobGate)
            {
                var info = new FileInfo(path);
                if (!info.Exists || info.LastWriteTimeUtc > cutoff || (!dryRun && !DeleteTree(path)))
                {
                    continue;
                }

                files++;
                fileBytes += info.Length;
            }
        }

        var (uploads, uploadBytes) = SweepIdleUploads(cutoff, dryRun);
        if (!dryRun && files + uploads > 0)
        {
            _logger.GarbageSwept(files, fileBytes, uploads, Root);
        }

        return new DiskSweep(files, fileBytes, uploads, uploadBytes);
    }

    /// <summary>
    /// Removes (or counts) the uploads with no data written since <paramref name="cutoff"/>: an upload a client is still
    /// feeding stays, however long ago it started. Kept whatever their age: a peer fetch's upload directory and an upload
    /// with a request under way.
    /// </summary>
    private (int Count, long Bytes) SweepIdleUploads(DateTime cutoff, bool dryRun)
    {
        var uploads = 0;
        long uploadBytes = 0;
        foreach (var dir in Directory.EnumerateDirectories(UploadsDir))
        {
            var id = Path.GetFileName(dir);
            if (_peerSessions.ContainsKey(id) || LastActivity(dir) > cutoff)
            {
                continue;
            }

            // A request of this upload under way holds its gate: not abandoned, whatever its age.
            var gate = _sessions.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
            if (!gate.Wait(0))
            {
                continue;
            }

            var deleted = false;
            try
            {
                var data = new FileInfo(Path.Combine(dir, DataFile));
                var size = data.Exists ? data.Length : 0;
                if (LastActivity(dir) > cutoff || (!dryRun && !(deleted = DeleteTree(dir))))
                {
                    continue;
                }

                uploads++;
                uploadBytes += size;
            }
            finally
            {
                gate.Release();

                // Only a removed upload loses its gate: a kept one's next requests must still take turns on the same one.
                if (deleted)
                {
                    _sessions.TryRemove(id, out _);
                }
            }
        }

        return (uploads, uploadBytes);
    }

    /// <summary>When an upload last received bytes (its data file's time), or was made, when it has none.</summary>
    private static DateTime LastActivity(string dir)
    {
        var data = new FileInfo(Path.Combine(dir, DataFile));
        return data.Exists ? data.LastWriteTimeUtc : Directory.GetLastWriteTimeUtc(dir);
    }

    private static async Task<long> AppendFileAsync(string path, Stream body, long? expectedLength, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read, 0, useAsync: true);
        var before = file.Seek(0, SeekOrigin.End);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
        long written = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, CopyBuffer), ct)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
                written += read;
            }

            // Kestrel already fails a body that ends before its Content-Length; this holds whatever hosts the server.
            if (expectedLength is { } expected && written != expected)
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.SizeInvalid,
                    $"the request said Content-Length {expected} but its body held {written} bytes; the chunk was dropped, send it again",
                    new { expected, received = written });
            }

            await file.FlushAsync(ct);
            return written;
        }
        catch
        {
            // A truncated or failed chunk leaves no trace: the upload is exactly as before it.
            file.SetLength(before);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<SemaphoreSlim> EnterAsync(string repository, string id, CancellationToken ct)
    {
        if (!IsUploadId(id))
        {
            throw RegistryException.UploadUnknown(repository, id);
        }

        var gate = _sessions.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return gate;
    }

    private void CreateSession(string id, UploadState state)
    {
        var dir = SessionDir(id);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, StateFile), JsonSerializer.SerializeToUtf8Bytes(state));
        File.WriteAllBytes(Path.Combine(dir, DataFile), []);
        File.SetLastWriteTimeUtc(Path.Combine(dir, DataFile), state.StartedAt.UtcDateTime);
    }

    private void RemoveSession(string id)
    {
        DeleteTree(SessionDir(id));
        _sessions.TryRemove(id, out _);
    }

    /// <summary>At start nothing is in flight: a session without its state, or a peer fetch, is what a crash left.</summary>
    private void SweepAtStart()
    {
        var removed = 0;
        try
        {
            var before = (_time.GetUtcNow() - _maxAge).UtcDateTime;
            foreach (var dir in Directory.EnumerateDirectories(UploadsDir))
            {
                var stale = ReadState(dir) is null || Path.GetFileName(dir).StartsWith(PeerPrefix, StringComparison.Ordinal) || LastActivity(dir) < before;
                if (stale && DeleteTree(dir))
                {
                    removed++;
                }
            }

            // Only a sha256 hex name is a blob; anything else in blobs/ is not ours to serve.
            foreach (var file in Directory.EnumerateFileSystemEntries(BlobsDir))
            {
                if (!ImageReference.IsDigest("sha256:" + Path.GetFileName(file)) && DeleteTree(file))
                {
                    removed++;
                }
            }
        }
        catch (IOException e)
        {
            _logger.CleanupFailed(UploadsDir, e.Message);
        }

        if (removed > 0)
        {
            _logger.StaleUploadsRemoved(removed, Root);
        }
    }

    private bool DeleteTree(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.CleanupFailed(path, e.Message);
            return false;
        }
    }

    private static UploadState? ReadState(string dir)
    {
        try
        {
            return JsonSerializer.Deserialize<UploadState>(File.ReadAllBytes(Path.Combine(dir, StateFile)));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string SessionDir(string id) => Path.Combine(UploadsDir, id);

    /// <summary>The Range header of an upload holding <paramref name="size"/> bytes: docker's `0-0` when empty.</summary>
    internal static string RangeHeader(long size) => size == 0 ? "0-0" : $"0-{size - 1}";

    /// <summary>Only ids this store made: a path segment cannot reach outside uploads/.</summary>
    private static bool IsUploadId(string id) => Guid.TryParseExact(id, "D", out _);

    private static string Hex(string digest) =>
        ImageReference.IsDigest(digest) ? digest["sha256:".Length..] : throw RegistryException.DigestInvalid(digest, "a blob");

    private sealed record UploadState(string Repository, DateTimeOffset StartedAt);
}

/// <summary>The detail of a DIGEST_INVALID for content that hashed to something else.</summary>
public sealed record DigestMismatch(string Expected, string Actual, long Size);
