using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// Keeps a copy of every linked blob on this manager: once at start and then every period (and at once when
/// <see cref="Nudge"/>d), it reads which blobs the registry's metadata links, lists what this disk holds, and fetches
/// the rest from the other managers through <see cref="BlobStore.FetchAsync"/>, the same verified peer fetch a pull
/// of a missing blob makes (digest checked, fsync and rename; concurrent fetches of one digest shared). So the bytes
/// of a push end on every manager soon after it, and losing the manager that received it loses no image.
/// <para>
/// At most <see cref="MaxConcurrentFetches"/> blobs are fetched at once. A blob no peer could give (the one that has
/// it is down or cut off, or it sent bad bytes) is tried again after a delay that doubles from
/// <see cref="FirstRetryDelay"/> up to <see cref="MaxRetryDelay"/>. Only a blob still linked is fetched: it is
/// checked again just before its fetch starts, so a blob garbage collection has unlinked is not brought back. One that
/// collection unlinks while its fetch is under way lands as a young unlinked file, which the disk sweep removes once
/// it is older than the grace, as it removes any other.
/// </para>
/// <para>
/// A blob no manager can give (the one that had it was lost before a majority held it, which a push no longer allows,
/// or its disk was wiped) is tried again at the longest delay for as long as it is linked, but warned of once, and again
/// only when why it fails changes; it is logged once more when a copy finally lands.
/// </para>
/// </summary>
public sealed class BlobReplicator : IDisposable
{
    public const int MaxConcurrentFetches = 4;

    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    private readonly IRegistryMetadata _metadata;
    private readonly BlobStore _blobs;
    private readonly IBlobPeers _peers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _period;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _fetching = new(MaxConcurrentFetches, MaxConcurrentFetches);

    // Digests whose fetch is queued or under way (no second one is started), and those waiting out a retry delay.
    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset NotBefore)> _backoff = new(StringComparer.Ordinal);

    // Why each failing blob failed when it was last warned of: a warning is logged only when that changes.
    private readonly ConcurrentDictionary<string, string> _warned = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BlobReplicator(IRegistryMetadata metadata, BlobStore blobs, IBlobPeers peers, ILogger logger, TimeProvider time, TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _metadata = metadata;
        _blobs = blobs;
        _peers = peers;
        _logger = logger;
        _time = time;
        _period = period;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Blobs this disk lacks that are being fetched now or wait for a retry.</summary>
    public int Pending => _inFlight.Count + _backoff.Count;

    /// <summary>Looks again now rather than at the end of the period (a blob was linked, a manifest stored).</summary>
    public void Nudge() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopped
        }
    }

    private async Task RunAsync()
    {
        var ct = _stopping.Token;
        while (!ct.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake).Task;
            try
            {
                await ScanAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ObjectDisposedException)
            {
                _logger.ReplicationScanFailed(e.Message);
            }

            try
            {
                await Task.WhenAny(wake, Task.Delay(_period, _time, ct)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Starts a fetch of every linked blob this disk lacks that is neither under way nor waiting for a retry.</summary>
    private async Task ScanAsync(CancellationToken ct)
    {
        // Which repository links each blob (any one: a peer serves a blob to a repository that links it).
        var linked = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in await _metadata.RepositoriesAsync(ct).ConfigureAwait(false))
        {
            if (await _metadata.GetAsync(name, ct).ConfigureAwait(false) is { } repository)
            {
                foreach (var digest in repository.Blobs.Keys)
                {
                    linked.TryAdd(digest, name);
                }
            }
        }

        foreach (var gone in _backoff.Keys.Concat(_warned.Keys).Where(d => !linked.ContainsKey(d)))
        {
            _backoff.TryRemove(gone, out _);
            _warned.TryRemove(gone, out _);
        }

        if (linked.Count == 0)
        {
            return;
        }

        var present = _blobs.BlobDigests();
        var now = _time.GetUtcNow();
        foreach (var (digest, repository) in linked)
        {
            if (present.Contains(digest)
                || (_backoff.TryGetValue(digest, out var retry) && retry.NotBefore > now)
                || !_inFlight.TryAdd(digest, 0))
            {
                continue;
            }

            _ = ReplicateAsync(repository, digest, ct);
        }
    }

    private async Task ReplicateAsync(string repository, string digest, CancellationToken ct)
    {
        var result = PeerFetchResult.Missing;
        string? error = null;
        var unlinked = false;
        try
        {
            await _fetching.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                // Still linked? Garbage collection may have unlinked it while this fetch waited for its turn.
                var current = await _metadata.GetAsync(repository, ct).ConfigureAwait(false);
                if (current is null || !current.Blobs.ContainsKey(digest))
                {
                    unlinked = true;
                    return;
                }

                result = await _blobs.FetchAsync(repository, digest, (destination, token) => _peers.FetchAsync(repository, digest, destination, token), ct).ConfigureAwait(false);
            }
            finally
            {
                _fetching.Release();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ObjectDisposedException)
        {
            error = e.Message;
        }
        finally
        {
            if (result != PeerFetchResult.Stored && !unlinked && !ct.IsCancellationRequested)
            {
                var failures = _backoff.TryGetValue(digest, out var before) ? before.Failures + 1 : 1;
                var delay = FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 10));
                _backoff[digest] = (failures, _time.GetUtcNow() + (delay < MaxRetryDelay ? delay : MaxRetryDelay));
                var reason = error ?? (result == PeerFetchResult.Corrupt
                    ? "a manager sent bytes that do not match its digest"
                    : "no reachable manager has it");
                if (!_warned.TryGetValue(digest, out var last) || last != reason)
                {
                    _warned[digest] = reason;
                    _logger.ReplicationStuck(repository, digest, reason);
                }
            }
            else
            {
                var failures = _backoff.TryRemove(digest, out var before) ? before.Failures : 0;
                if (_warned.TryRemove(digest, out _) && result == PeerFetchResult.Stored)
                {
                    _logger.ReplicationRecovered(repository, digest, failures);
                }
            }

            _inFlight.TryRemove(digest, out _);
        }
    }
}
