using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// The swarm registry's server: the OCI distribution API v2 (what docker, skopeo and containerd speak),
/// mapped onto any ASP.NET Core endpoint (the managers' mTLS host, or <see cref="RegistryHost"/>).
/// <para>
/// Design. Two stores, split by size and by who must agree on them. Metadata (tags, manifests, which blobs a
/// repository may serve) is small and must be the same on every manager, so it goes through
/// <see cref="IRegistryMetadata"/> (the Raft store in a swarm) and only ever by a pure change function, so a
/// conditional write that lost a race is simply retried. Blob bytes are large and content-addressed, so they
/// go to the disk of the manager that received them (<see cref="BlobStore"/>) and are copied from there to every
/// other manager in the background, soon after they are linked (<see cref="BlobReplicator"/>); a manager asked for
/// one it has not copied yet fetches it at once from its peers (<see cref="IBlobPeers"/>). Either way the copy is
/// checked as an upload is. Raft's rule for the metadata holds for the bytes too: a manifest is stored, and its push
/// answered, only once every blob it names is on a majority of the managers (<see cref="DefaultPushQuorumWait"/>), so
/// losing any one manager right after a push loses no image.
/// </para>
/// <para>
/// Invariants. A blob is linked to a repository only after its bytes are verified and renamed into place, so a
/// linked blob is always whole somewhere; a manifest is stored only when every blob (or child manifest) it names
/// is already in its repository, so a pull by tag never finds a hole; a repository serves only blobs linked to it,
/// so the content-addressed disk shared by all repositories leaks nothing across them. Nothing a client sends is
/// trusted for identity: digests are recomputed, sizes counted, and a body that ends early is dropped whole.
/// </para>
/// <para>
/// Access is decided per request by <see cref="IRegistryAuthorizer"/> (certificate roles in a swarm, basic auth on
/// the plain listener): reads need pull, writes need push. Left out on purpose: the referrers API and schema 1
/// manifests.
/// </para>
/// <para>
/// Garbage collection (<see cref="CollectGarbageAsync"/>, `registry gc`) is online: per repository one conditional
/// write unlinks what <see cref="GarbagePlanner"/> finds no manifest needs (nothing linked or pushed within the grace),
/// then this disk loses the blob files no repository links any more (<see cref="BlobStore.SweepUnlinked"/>). Since a
/// manifest is stored only by a write that finds its blobs still linked, a collection racing a push can fail the push
/// (the client pushes again) but never leave a manifest naming a blob that is gone.
/// </para>
/// </summary>
public sealed class RegistryServer : IDisposable
{
    /// <summary>The largest manifest accepted, as docker's registry and containers/image have it.</summary>
    public const long MaxManifestBytes = 4 * 1024 * 1024;

    public const string ApiVersionHeader = "Docker-Distribution-API-Version";
    public const string DigestHeader = "Docker-Content-Digest";
    public const string UploadUuidHeader = "Docker-Upload-UUID";

    /// <summary>
    /// Marks a blob request made by another replica's peer fetch: it is answered from this disk only, so two
    /// managers that both lack a blob never ask each other in a loop.
    /// </summary>
    public const string PeerFetchHeader = "X-ProtoSwarm-Peer-Fetch";

    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    private const string OctetStream = "application/octet-stream";
    private const string Json = "application/json";

    // Layers a manifest may name without the registry holding them: docker's foreign (Windows base) layers and OCI's
    // non-distributable ones, fetched by the client from their `urls`.
    private static readonly string[] ForeignLayerTypes =
    [
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    ];

    private readonly IRegistryMetadata _metadata;
    private readonly IRegistryAuthorizer _authorizer;
    private readonly IBlobPeers? _peers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ITimer? _diskSweep;
    private readonly BlobReplicator? _replicator;
    private readonly TimeSpan _quorumWait;
    private int _sweeping;

    /// <summary>
    /// Serves the registry whose blob bytes are under <paramref name="root"/> (created when absent). Upload sessions
    /// older than <paramref name="uploadMaxAge"/> (24 h by default) are removed. The caller disposes the server after
    /// whatever hosts it has stopped.
    /// </summary>
    /// <param name="diskSweepPeriod">
    /// When given, every period this disk loses the blob files no repository links that are older than
    /// <see cref="DefaultGcGrace"/> and the uploads idle that long (what `registry gc` does on the manager it runs on),
    /// so every manager's disk follows a collection run on any one of them.
    /// </param>
    /// <param name="replicationPeriod">
    /// When given (and there are peers), this manager keeps a copy of every linked blob: it fetches the ones it lacks
    /// from its peers at start, when <see cref="BlobReplicator.Nudge"/>d (a manager watching the store does so when a
    /// repository changes) and every period (<see cref="BlobReplicator"/>), so the bytes of a push survive the loss of
    /// the manager that received it.
    /// </param>
    /// <param name="pushQuorumWait">How long a manifest put waits for its blobs to be on a majority of the managers (<see cref="DefaultPushQuorumWait"/>).</param>
    public RegistryServer(string root, IRegistryMetadata metadata, IRegistryAuthorizer authorizer, IBlobPeers? peers, ILogger logger, TimeProvider? time = null, TimeSpan? uploadMaxAge = null,
        TimeSpan? diskSweepPeriod = null, TimeSpan? replicationPeriod = null, TimeSpan? pushQuorumWait = null)
    {
        _quorumWait = pushQuorumWait ?? DefaultPushQuorumWait;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_quorumWait, TimeSpan.Zero, nameof(pushQuorumWait));
        _metadata = metadata;
        _authorizer = authorizer;
        _peers = peers;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Blobs = new BlobStore(root, _time, uploadMaxAge, logger);
        if (diskSweepPeriod is { } period)
        {
            _diskSweep = _time.CreateTimer(_ => _ = SweepPeriodicallyAsync(), null, period, period);
        }

        if (replicationPeriod is { } every && peers is not null)
        {
            _replicator = new BlobReplicator(metadata, Blobs, peers, logger, _time, every);
        }
    }

    /// <summary>How long garbage collection leaves alone what was linked, pushed or written (docker's registry has no such thing: it collects offline).</summary>
    public static readonly TimeSpan DefaultGcGrace = TimeSpan.FromHours(1);

    /// <summary>How often a manager sweeps its disk of unlinked blobs (docker's registry purges its uploads on a timer too).</summary>
    public static readonly TimeSpan DefaultDiskSweepPeriod = TimeSpan.FromHours(1);

    /// <summary>
    /// How often a manager looks for linked blobs it lacks, to copy them from the other managers, besides the look a
    /// repository's change starts at once (<see cref="BlobReplicator.Nudge"/>): the safety net, and the pace of the
    /// retries of blobs no peer could give yet. Each look lists the blob directory, so not every second.
    /// </summary>
    public static readonly TimeSpan DefaultReplicationPeriod = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a manifest put waits for every blob it names to be on a majority of the managers (this one counts)
    /// before it answers UNAVAILABLE and stores nothing: the peers are asked at once to fetch them, which takes
    /// seconds on a healthy swarm, so the bound only matters when managers are down or cut off.
    /// </summary>
    public static readonly TimeSpan DefaultPushQuorumWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a manager asked by a peer to hold blobs (or to sweep) waits for its replica of the metadata to show
    /// the links the peer wrote (or removed) a moment ago, reading its own replica every <see cref="LinkPollInterval"/>.
    /// </summary>
    public static readonly TimeSpan PeerLinkWait = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan LinkPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How long `registry gc` waits for the other managers' sweeps; one that does not answer sweeps at its hourly sweep.</summary>
    public static readonly TimeSpan PeerSweepWait = TimeSpan.FromSeconds(30);

    /// <summary>The copier of the other managers' blobs onto this disk, when replication is on.</summary>
    public BlobReplicator? Replicator => _replicator;

    /// <summary>The blob bytes on this machine.</summary>
    public BlobStore Blobs { get; }

    public void Dispose()
    {
        _diskSweep?.Dispose();
        _replicator?.Dispose();
        Blobs.Dispose();
    }

    /// <summary>
    /// Registry garbage collection: unlinks from each repository what <see cref="GarbagePlanner"/> plans (one conditional
    /// write per repository, decided again on a conflict), then sweeps this disk of blob files no repository links and
    /// uploads idle longer than <paramref name="grace"/>, and asks the other managers to sweep theirs likewise
    /// (<see cref="IBlobPeers.SweepAsync"/>; returned: how many did within <see cref="PeerSweepWait"/>). A dry run
    /// computes the same and changes nothing.
    /// </summary>
    public async Task<(ImmutableArray<RepositoryGarbage> Repositories, DiskSweep Disk, int PeersSwept)> CollectGarbageAsync(bool dryRun, bool deleteUntagged, TimeSpan grace, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        var now = _time.GetUtcNow();
        var removed = ImmutableArray.CreateBuilder<RepositoryGarbage>();
        var linked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in await _metadata.RepositoriesAsync(ct))
        {
            RepositoryGcPlan plan;
            RepositoryObject? left;
            if (dryRun)
            {
                var current = await _metadata.GetAsync(name, ct);
                plan = current is null ? RepositoryGcPlan.Nothing : GarbagePlanner.Plan(current, now, grace, deleteUntagged);
                left = current is null ? null : GarbagePlanner.Apply(current, plan);
            }
            else
            {
                var decided = RepositoryGcPlan.Nothing;
                left = await _metadata.UpdateAsync(name, current =>
                {
                    decided = current is null ? RepositoryGcPlan.Nothing : GarbagePlanner.Plan(current, now, grace, deleteUntagged);
                    return current is null ? null : GarbagePlanner.Apply(current, decided);
                }, ct);
                plan = decided;
                if (!plan.IsEmpty)
                {
                    _logger.GarbageUnlinked(name, plan.Manifests.Length, plan.Blobs.Count);
                }
            }

            if (!plan.IsEmpty)
            {
                removed.Add(new RepositoryGarbage(name, plan.Manifests, plan.Blobs));
            }

            if (left is not null)
            {
                linked.UnionWith(left.Blobs.Keys);
            }
        }

        // Read again after the writes: a repository pushed to meanwhile (or made) may link a blob this disk holds.
        if (dryRun)
        {
            return (removed.ToImmutable(), Blobs.SweepUnlinked(linked, grace, dryRun: true), 0);
        }

        linked = await LinkedBlobsAsync(ct);
        var disk = Blobs.SweepUnlinked(linked, grace, dryRun: false);
        var peersSwept = 0;
        if (_peers is { Count: > 0 } peers)
        {
            // What this collection unlinked everywhere: each peer sweeps once its replica shows that too.
            var unlinked = removed.SelectMany(r => r.Blobs.Keys).Where(d => !linked.Contains(d)).Distinct(StringComparer.Ordinal).ToList();
            using var wait = new CancellationTokenSource(PeerSweepWait, _time);
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct, wait.Token);
            peersSwept = await peers.SweepAsync(grace, unlinked, bounded.Token);
            ct.ThrowIfCancellationRequested();
            _logger.PeersSwept(peersSwept, peers.Count);
        }

        return (removed.ToImmutable(), disk, peersSwept);
    }

    /// <summary>Every blob some repository links.</summary>
    private async Task<HashSet<string>> LinkedBlobsAsync(CancellationToken ct)
    {
        var linked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in await _metadata.RepositoriesAsync(ct))
        {
            if (await _metadata.GetAsync(name, ct) is { } repository)
            {
                linked.UnionWith(repository.Blobs.Keys);
            }
        }

        return linked;
    }

    private async Task SweepPeriodicallyAsync()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            Blobs.SweepUnlinked(await LinkedBlobsAsync(CancellationToken.None), DefaultGcGrace, dryRun: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ObjectDisposedException)
        {
            _logger.PeriodicSweepFailed(e.Message);
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>Maps /v2/ and everything under it; the path is parsed here, since repository names hold slashes.</summary>
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/v2", HandleAsync);
        endpoints.Map("/v2/{**path}", HandleAsync);
    }

    /// <summary>Answers one registry request (any path under /v2).</summary>
    public async Task HandleAsync(HttpContext http)
    {
        http.Response.Headers[ApiVersionHeader] = "registry/2.0";
        try
        {
            var access = Authorize(http);
            var path = http.Request.Path.Value ?? string.Empty;
            var route = RegistryRoute.Parse(path.Length > 3 ? path[3..] : string.Empty);
            var method = http.Request.Method;
            await (route.Kind switch
            {
                RegistryRouteKind.Base when IsRead(method) => WriteJsonAsync(http, StatusCodes.Status200OK, w => w.WriteStartObject(), endObject: true),
                RegistryRouteKind.Catalog when IsRead(method) => CatalogAsync(http),
                RegistryRouteKind.Tags when IsRead(method) => TagsAsync(http, route.Name),
                RegistryRouteKind.Manifest when IsRead(method) => GetManifestAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Manifest when HttpMethods.IsPut(method) => PutManifestAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Manifest when HttpMethods.IsDelete(method) => DeleteManifestAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Blob when IsRead(method) => GetBlobAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Blob when HttpMethods.IsDelete(method) => DeleteBlobAsync(http, route.Name, route.Reference),
                RegistryRouteKind.UploadStart when HttpMethods.IsPost(method) => StartUploadAsync(http, route.Name),
                RegistryRouteKind.Upload when HttpMethods.IsGet(method) => UploadStatusAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Upload when HttpMethods.IsPatch(method) => PatchUploadAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Upload when HttpMethods.IsPut(method) => PutUploadAsync(http, route.Name, route.Reference),
                RegistryRouteKind.Upload when HttpMethods.IsDelete(method) => CancelUploadAsync(http, route.Name, route.Reference),
                RegistryRouteKind.PeerCopy when HttpMethods.IsPost(method) => PeerCopyAsync(http, access),
                RegistryRouteKind.PeerSweep when HttpMethods.IsPost(method) => PeerSweepAsync(http, access),
                _ => throw new RegistryException(StatusCodes.Status405MethodNotAllowed, RegistryErrorCodes.Unsupported,
                    $"{method} is not supported on {path}; see the OCI distribution spec for the methods of each route",
                    new { method, path }),
            });
        }
        catch (RegistryException e)
        {
            await WriteErrorAsync(http, e);
        }
        catch (Exception e) when (http.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away (a cancelled push, a dropped connection): whatever it sent was dropped whole.
            _logger.RequestAborted(http.Request.Method, http.Request.Path, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            // The server saw the body end before its Content-Length, or exceed a limit.
            _logger.RequestAborted(http.Request.Method, http.Request.Path, e.Message);
            await WriteErrorAsync(http, new RegistryException(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? RegistryErrorCodes.SizeInvalid : RegistryErrorCodes.BlobUploadInvalid,
                $"{http.Request.Method} {http.Request.Path}: the request body was refused ({e.Message}); nothing of it was stored, send it again whole"));
        }
        catch (Exception e)
        {
            _logger.RequestFailed(e, http.Request.Method, http.Request.Path);
            await WriteErrorAsync(http, new RegistryException(StatusCodes.Status500InternalServerError, RegistryErrorCodes.Unknown,
                $"{http.Request.Method} {http.Request.Path} failed on the registry ({e.GetType().Name}: {e.Message}); see the manager's log"));
        }
    }

    // ---- access

    private RegistryAccess Authorize(HttpContext http)
    {
        var access = _authorizer.Authorize(http);
        if (access == RegistryAccess.None)
        {
            var challenge = _authorizer.Challenge;
            throw new RegistryException(StatusCodes.Status401Unauthorized, RegistryErrorCodes.Unauthorized,
                challenge is null
                    ? "authentication required: this connection presented no certificate the swarm accepts; connect with a node's certificate"
                    : "authentication required: log in with user `pull` or `push` and the password from `protoswarm registry token pull|push` (e.g. `docker login` or skopeo's --creds)")
            {
                Headers = challenge is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [HeaderNames.WWWAuthenticate] = challenge },
            };
        }

        if (!IsRead(http.Request.Method) && access < RegistryAccess.Push)
        {
            throw new RegistryException(StatusCodes.Status403Forbidden, RegistryErrorCodes.Denied,
                $"{http.Request.Method} {http.Request.Path} needs push access, but the caller may only pull: this node's certificate may only pull; push from a manager (or, outside the swarm, as user `push` with `protoswarm registry token push`)");
        }

        return access;
    }

    /// <summary>
    /// The peer routes (copy, sweep) are for the other managers alone: a sweep with the caller's grace could remove
    /// another client's upload under way, which a push token must not allow.
    /// </summary>
    private static void RequireManager(HttpContext http, RegistryAccess access)
    {
        if (access < RegistryAccess.Manager)
        {
            throw new RegistryException(StatusCodes.Status403Forbidden, RegistryErrorCodes.Denied,
                $"{http.Request.Method} {http.Request.Path} is for the swarm's managers alone (their node certificates); run `protoswarm registry gc` on a manager instead");
        }
    }

    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    // ---- listings

    private async Task CatalogAsync(HttpContext http)
    {
        var all = await _metadata.RepositoriesAsync(http.RequestAborted);
        var (page, next) = Paginate(http, all.Order(StringComparer.Ordinal), "/v2/_catalog");
        SetNext(http, next);
        await WriteJsonAsync(http, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            WriteArray(w, "repositories", page);
        }, endObject: true);
    }

    private async Task TagsAsync(HttpContext http, string name)
    {
        var repository = await _metadata.GetAsync(name, http.RequestAborted) ?? throw RegistryException.NameUnknown(name);
        var (page, next) = Paginate(http, repository.Tags.Keys, $"/v2/{name}/tags/list");
        SetNext(http, next);
        await WriteJsonAsync(http, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            WriteArray(w, "tags", page);
        }, endObject: true);
    }

    /// <summary>`?n=&amp;last=`: the entries after `last`, at most n of them, and the Link to the next page when there are more.</summary>
    private static (IReadOnlyList<string> Page, string? Next) Paginate(HttpContext http, IEnumerable<string> sorted, string path)
    {
        var query = http.Request.Query;
        int? n = null;
        var nText = query["n"].ToString();
        if (nText.Length > 0)
        {
            if (!int.TryParse(nText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.PaginationNumberInvalid,
                    $"{path}: n={nText} is not a page size; give a whole number of entries, such as n=100",
                    new { n = nText });
            }

            n = parsed;
        }

        var last = query.TryGetValue("last", out var lastText) ? lastText.ToString() : string.Empty;
        var after = last.Length == 0 ? sorted : sorted.Where(s => string.CompareOrdinal(s, last) > 0);
        if (n is not { } size)
        {
            return ([.. after], null);
        }

        var page = after.Take(size + 1).ToList();
        if (page.Count <= size)
        {
            return (page, null);
        }

        page.RemoveAt(size);
        var next = size == 0 ? null : $"<{path}?last={Uri.EscapeDataString(page[^1])}&n={size}>; rel=\"next\"";
        return (page, next);
    }

    private static void SetNext(HttpContext http, string? next)
    {
        if (next is not null)
        {
            http.Response.Headers[HeaderNames.Link] = next;
        }
    }

    // ---- manifests

    private async Task GetManifestAsync(HttpContext http, string name, string reference)
    {
        var (digest, manifest) = await FindManifestAsync(name, reference, http.RequestAborted);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = manifest.MediaType;
        http.Response.ContentLength = manifest.Content.Length;
        http.Response.Headers[DigestHeader] = digest;
        http.Response.Headers[HeaderNames.ETag] = $"\"{digest}\"";
        if (HttpMethods.IsGet(http.Request.Method))
        {
            await http.Response.Body.WriteAsync(manifest.Content, http.RequestAborted);
        }
    }

    private async Task<(string Digest, RegistryManifest Manifest)> FindManifestAsync(string name, string reference, CancellationToken ct)
    {
        var isDigest = CheckReference(reference, forPush: false);
        var repository = await _metadata.GetAsync(name, ct);
        var digest = isDigest ? reference : repository?.Tags.GetValueOrDefault(reference);
        return digest is not null && repository is not null && repository.Manifests.TryGetValue(digest, out var manifest)
            ? (digest, manifest)
            : throw RegistryException.ManifestUnknown(name, reference);
    }

    private async Task PutManifestAsync(HttpContext http, string name, string reference)
    {
        var ct = http.RequestAborted;
        var isDigest = CheckReference(reference, forPush: true);
        var mediaType = MediaTypeOf(http.Request.ContentType);
        if (mediaType is not (OciManifest or OciIndex or DockerManifest or DockerManifestList))
        {
            throw RegistryException.ManifestInvalid(
                $"manifest {name}:{reference}: Content-Type '{http.Request.ContentType ?? "(none)"}' is not a manifest type this registry stores; send one of {OciManifest}, {OciIndex}, {DockerManifest} or {DockerManifestList}",
                new { mediaType = http.Request.ContentType });
        }

        var body = await ReadManifestBodyAsync(http, name, reference);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        if (isDigest && digest != reference)
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.DigestInvalid,
                $"manifest {name}@{reference}: the body's digest is {digest}; push a manifest by digest with the sha256 of its exact bytes, or push it by tag",
                new DigestMismatch(reference, digest, body.Length));
        }

        var (blobs, children) = ParseReferences(body, mediaType, $"manifest {name}:{reference}");
        var repository = await _metadata.GetAsync(name, ct);
        foreach (var blob in blobs)
        {
            if (repository is null || !repository.Blobs.ContainsKey(blob))
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.ManifestBlobUnknown,
                    $"manifest {name}:{reference} names blob {blob}, which is not in repository '{name}'; push (or mount) the blobs first, then the manifest",
                    new { digest = blob });
            }
        }

        foreach (var child in children)
        {
            if (repository is null || !repository.Manifests.ContainsKey(child))
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.ManifestUnknown,
                    $"index {name}:{reference} names manifest {child}, which is not in repository '{name}'; push every child manifest (by digest) before the index",
                    new { digest = child });
            }
        }

        await EnsureOnMajorityAsync(name, reference, blobs, ct);
        var now = _time.GetUtcNow();
        var stored = new RegistryManifest(mediaType, body, [.. blobs], [.. children], now);
        var tag = isDigest ? null : reference;
        await _metadata.UpdateAsync(name, current =>
        {
            // Checked again in the write itself: a garbage collection (or a DELETE) may have unlinked a blob since the
            // check above, and a manifest must never be stored naming what its repository no longer holds.
            if (blobs.FirstOrDefault(b => current is null || !current.Blobs.ContainsKey(b)) is { } gone)
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.ManifestBlobUnknown,
                    $"manifest {name}:{reference} names blob {gone}, which was removed from repository '{name}' while the manifest was being pushed (a garbage collection or a DELETE); push the image again",
                    new { digest = gone });
            }

            if (children.FirstOrDefault(c => current is null || !current.Manifests.ContainsKey(c)) is { } missing)
            {
                throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.ManifestUnknown,
                    $"index {name}:{reference} names manifest {missing}, which was removed from repository '{name}' while the index was being pushed; push the image again",
                    new { digest = missing });
            }

            var next = current ?? RepositoryObject.Empty(name, now);
            next = next with { Manifests = next.Manifests.SetItem(digest, stored) };
            return tag is null ? next : next with { Tags = next.Tags.SetItem(tag, digest) };
        }, ct);

        _logger.ManifestPushed(name, reference, digest, mediaType);
        http.Response.Headers[HeaderNames.Location] = $"/v2/{name}/manifests/{digest}";
        http.Response.Headers[DigestHeader] = digest;
        http.Response.StatusCode = StatusCodes.Status201Created;
        http.Response.ContentLength = 0;
    }

    /// <summary>
    /// Raft's rule for the metadata, kept for the bytes: returns once every blob of <paramref name="blobs"/> is on a
    /// majority of the managers, this one included (it fetches what it lacks first: a push whose retry moved here left
    /// its blobs on another manager), asking the peers at once to fetch theirs (<see cref="IBlobPeers.CopyAsync"/>; a
    /// peer that has them answers at once). Else, after <see cref="DefaultPushQuorumWait"/>, UNAVAILABLE: the manifest
    /// is not stored and the client pushes again. One manager alone is its own majority. An index names no blobs:
    /// its children are manifests whose own put waited for theirs.
    /// </summary>
    private async Task EnsureOnMajorityAsync(string name, string reference, List<string> blobs, CancellationToken ct)
    {
        var peers = _peers?.Count ?? 0;
        var managers = peers + 1;
        var majority = managers / 2 + 1;
        if (blobs.Count == 0 || majority <= 1)
        {
            return;
        }

        var started = _time.GetTimestamp();
        var here = (await HoldAsync(name, blobs, ct)).Count == blobs.Count ? 1 : 0;
        using var wait = new CancellationTokenSource(_quorumWait, _time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct, wait.Token);
        var holding = here + await _peers!.CopyAsync(name, blobs, majority - here, bounded.Token);
        ct.ThrowIfCancellationRequested();
        if (holding >= majority)
        {
            return;
        }

        var seconds = Math.Round(_time.GetElapsedTime(started).TotalSeconds);
        _logger.PushNotReplicated(name, reference, blobs.Count, holding, managers, seconds);
        throw new RegistryException(StatusCodes.Status503ServiceUnavailable, RegistryErrorCodes.Unavailable,
            $"its blobs reached only {holding} of {managers} managers in {seconds:0} s, short of the majority ({majority}) a push needs, so manifest {name}:{reference} was not stored; " +
            "a push is acknowledged once a majority of the managers hold its layers, so that losing one loses no image. Check that the managers are up and reach each other (`protoswarm node ls`), then push again",
            new { managers, holding, majority });
    }

    /// <summary>Which of the blobs, linked to the repository, are on this disk, fetching from the peers those only linked.</summary>
    private async Task<HashSet<string>> HoldAsync(string name, IReadOnlyList<string> digests, CancellationToken ct)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(digests, new ParallelOptions { MaxDegreeOfParallelism = BlobReplicator.MaxConcurrentFetches, CancellationToken = ct }, async (digest, token) =>
        {
            try
            {
                await EnsureBlobAsync(name, digest, askPeers: true, token);
                lock (held)
                {
                    held.Add(digest);
                }
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.BlobUnknown)
            {
                // not linked here, or on no reachable manager: not held
            }
        });
        return held;
    }

    /// <summary>
    /// Another manager's push waits for this one to hold its blobs: once this replica shows them linked (the write was
    /// committed through the leader a moment ago), it fetches those it lacks, as a pull would, and answers which it holds.
    /// </summary>
    private async Task PeerCopyAsync(HttpContext http, RegistryAccess access)
    {
        RequireManager(http, access);
        var ct = http.RequestAborted;
        var request = PeerProtocol.ReadCopy(await ReadPeerBodyAsync(http));
        await WaitForReplicaAsync(async token =>
        {
            var repository = await _metadata.GetAsync(request.Repository, token);
            return repository is not null && request.Digests.All(repository.Blobs.ContainsKey);
        }, ct);
        var held = await HoldAsync(request.Repository, request.Digests, ct);
        await WriteBodyAsync(http, PeerProtocol.Held(held.Order(StringComparer.Ordinal)), ct);
    }

    /// <summary>
    /// Another manager ran a garbage collection: once this replica no longer links what it unlinked, this disk is swept as
    /// that manager's was (blob files no repository links, older than the grace; uploads idle that long).
    /// </summary>
    private async Task PeerSweepAsync(HttpContext http, RegistryAccess access)
    {
        RequireManager(http, access);
        var ct = http.RequestAborted;
        var request = PeerProtocol.ReadSweep(await ReadPeerBodyAsync(http));
        await WaitForReplicaAsync(async token => !request.Unlinked.Any((await LinkedBlobsAsync(token)).Contains), ct);
        var sweep = Blobs.SweepUnlinked(await LinkedBlobsAsync(ct), request.Grace, dryRun: false);
        await WriteBodyAsync(http, PeerProtocol.Swept(sweep), ct);
    }

    /// <summary>Reads this manager's replica until <paramref name="caughtUp"/> or <see cref="PeerLinkWait"/> has passed (then goes on with what it has).</summary>
    private async Task WaitForReplicaAsync(Func<CancellationToken, Task<bool>> caughtUp, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        while (!await caughtUp(ct) && _time.GetElapsedTime(started) < PeerLinkWait)
        {
            await Task.Delay(LinkPollInterval, _time, ct);
        }
    }

    private static async Task<byte[]> ReadPeerBodyAsync(HttpContext http)
    {
        SetBodyLimit(http, PeerProtocol.MaxBodyBytes);
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        return buffer.Length <= PeerProtocol.MaxBodyBytes
            ? buffer.ToArray()
            : throw new RegistryException(StatusCodes.Status413PayloadTooLarge, RegistryErrorCodes.SizeInvalid, "a request between managers' registries is larger than it can be; it was refused");
    }

    private static async Task WriteBodyAsync(HttpContext http, byte[] body, CancellationToken ct)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = Json;
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, ct);
    }

    private static async Task<byte[]> ReadManifestBodyAsync(HttpContext http, string name, string reference)
    {
        SetBodyLimit(http, MaxManifestBytes);
        var tooLarge = new RegistryException(StatusCodes.Status413PayloadTooLarge, RegistryErrorCodes.SizeInvalid,
            $"manifest {name}:{reference} is larger than {MaxManifestBytes / (1024 * 1024)} MiB, the most this registry accepts; a manifest that big is almost certainly not one",
            new { limit = MaxManifestBytes });
        if (http.Request.ContentLength > MaxManifestBytes)
        {
            throw tooLarge;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxManifestBytes)
            {
                throw tooLarge;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// What a manifest refers to: a manifest's config and layers (blobs), an index's manifests (children).
    /// A `subject` (OCI referrers) is not required to exist, as the spec has it, so it is not among them.
    /// </summary>
    private static (List<string> Blobs, List<string> Children) ParseReferences(byte[] body, string mediaType, string what)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw RegistryException.ManifestInvalid($"{what}: the body is not JSON ({e.Message}); send the manifest's JSON exactly as its digest was computed");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw RegistryException.ManifestInvalid($"{what}: the body is JSON but not an object; a manifest is a JSON object with schemaVersion 2");
            }

            if (!root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != 2)
            {
                throw RegistryException.ManifestInvalid($"{what}: schemaVersion must be 2 (schema 1 manifests are not supported); push the image in OCI or docker v2 format");
            }

            if (root.TryGetProperty("mediaType", out var declared) && declared.ValueKind == JsonValueKind.String && declared.GetString() != mediaType)
            {
                throw RegistryException.ManifestInvalid($"{what}: the body says mediaType {declared.GetString()} but it was sent as {mediaType}; send it with Content-Type: {declared.GetString()}",
                    new { mediaType, declared = declared.GetString() });
            }

            var blobs = new List<string>();
            var children = new List<string>();
            if (mediaType is OciIndex or DockerManifestList)
            {
                foreach (var descriptor in Descriptors(root, "manifests", what))
                {
                    children.Add(DescriptorDigest(descriptor, what, "manifests"));
                }
            }
            else
            {
                if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
                {
                    throw RegistryException.ManifestInvalid($"{what}: an image manifest needs a config descriptor (mediaType, digest, size)");
                }

                blobs.Add(DescriptorDigest(config, what, "config"));
                foreach (var layer in Descriptors(root, "layers", what))
                {
                    var digest = DescriptorDigest(layer, what, "layers");
                    var foreign = layer.TryGetProperty("mediaType", out var type) && type.ValueKind == JsonValueKind.String && ForeignLayerTypes.Contains(type.GetString());
                    if (!foreign)
                    {
                        blobs.Add(digest);
                    }
                }
            }

            if (root.TryGetProperty("subject", out var subject) && subject.ValueKind == JsonValueKind.Object)
            {
                _ = DescriptorDigest(subject, what, "subject");
            }

            return ([.. blobs.Distinct(StringComparer.Ordinal)], [.. children.Distinct(StringComparer.Ordinal)]);
        }
    }

    private static List<JsonElement> Descriptors(JsonElement root, string property, string what)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            throw RegistryException.ManifestInvalid($"{what}: the '{property}' list is missing; a manifest lists its layers, an index its manifests");
        }

        return array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray()]
            : throw RegistryException.ManifestInvalid($"{what}: '{property}' must be a list of descriptors");
    }

    private static string DescriptorDigest(JsonElement descriptor, string what, string where) =>
        descriptor.ValueKind == JsonValueKind.Object && descriptor.TryGetProperty("digest", out var digest) && digest.ValueKind == JsonValueKind.String
            ? ImageReference.IsDigest(digest.GetString()!)
                ? digest.GetString()!
                : throw RegistryException.DigestInvalid(digest.GetString()!, $"{what}, in '{where}'")
            : throw RegistryException.ManifestInvalid($"{what}: an entry of '{where}' is not a descriptor with a digest");

    private async Task DeleteManifestAsync(HttpContext http, string name, string reference)
    {
        var (digest, _) = await FindManifestAsync(name, reference, http.RequestAborted);
        var byDigest = ImageReference.IsDigest(reference);
        await _metadata.UpdateAsync(name, current =>
        {
            if (current is null)
            {
                return null;
            }

            if (!byDigest)
            {
                return current with { Tags = current.Tags.Remove(reference) };
            }

            var tags = current.Tags.Where(t => t.Value == digest).Select(t => t.Key);
            return current with { Manifests = current.Manifests.Remove(digest), Tags = current.Tags.RemoveRange(tags) };
        }, http.RequestAborted);

        _logger.Deleted(name, byDigest ? $"manifest {digest}" : $"tag {reference}");
        http.Response.StatusCode = StatusCodes.Status202Accepted;
        http.Response.ContentLength = 0;
    }

    /// <summary>Whether a manifest reference is a digest (else a tag); a malformed one is refused.</summary>
    private static bool CheckReference(string reference, bool forPush)
    {
        if (ImageReference.IsDigest(reference))
        {
            return true;
        }

        if (reference.Contains(':', StringComparison.Ordinal))
        {
            throw RegistryException.DigestInvalid(reference, "the manifest reference");
        }

        return ImageReference.IsTag(reference)
            ? false
            : throw new RegistryException(
                forPush ? StatusCodes.Status400BadRequest : StatusCodes.Status404NotFound,
                forPush ? RegistryErrorCodes.ManifestInvalid : RegistryErrorCodes.ManifestUnknown,
                $"'{reference}' is not a valid tag: a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
                new { reference });
    }

    private static string MediaTypeOf(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType.Value ?? string.Empty : string.Empty;

    // ---- blobs

    private async Task GetBlobAsync(HttpContext http, string name, string reference)
    {
        var digest = RequireDigest(reference, $"the blob digest in {http.Request.Path}");
        await EnsureBlobAsync(name, digest, askPeers: !http.Request.Headers.ContainsKey(PeerFetchHeader), http.RequestAborted, warn: true);
        var path = Blobs.BlobPath(digest);
        http.Response.Headers[DigestHeader] = digest;
        http.Response.Headers[HeaderNames.AcceptRanges] = "bytes";
        if (HttpMethods.IsHead(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = OctetStream;
            http.Response.ContentLength = new FileInfo(path).Length;
            http.Response.Headers[HeaderNames.ETag] = $"\"{digest}\"";
            return;
        }

        // Range and If-Range handled: a pull that broke off resumes where it stopped. Kestrel has no sendfile: the file is
        // copied through user space (ASP.NET Core's SendFileFallback; dotnet/aspnetcore#18093), as docker-registry copies it too.
        await Results.File(path, OctetStream, enableRangeProcessing: true, entityTag: new EntityTagHeaderValue($"\"{digest}\"")).ExecuteAsync(http);
    }

    /// <summary>
    /// The blob is linked to the repository and on this disk (fetched from a peer when only linked), or BLOB_UNKNOWN;
    /// a fetch that failed is logged as a warning when <paramref name="warn"/> (a pull; a push's copy or a mount has its own outcome).
    /// </summary>
    private async Task<long> EnsureBlobAsync(string name, string digest, bool askPeers, CancellationToken ct, bool warn = false)
    {
        var repository = await _metadata.GetAsync(name, ct);
        if (repository is null || !repository.Blobs.ContainsKey(digest))
        {
            throw RegistryException.BlobUnknown(name, digest);
        }

        if (Blobs.BlobSize(digest) is { } size)
        {
            return size;
        }

        var result = _peers is null || !askPeers
            ? PeerFetchResult.Missing
            : await Blobs.FetchAsync(name, digest, (destination, token) => _peers.FetchAsync(name, digest, destination, token), ct);
        if (result != PeerFetchResult.Stored && _peers is not null && askPeers && warn)
        {
            _logger.BlobUnavailable(name, digest, result);
        }

        return result == PeerFetchResult.Stored && Blobs.BlobSize(digest) is { } fetched
            ? fetched
            : throw new RegistryException(StatusCodes.Status404NotFound, RegistryErrorCodes.BlobUnknown,
                result == PeerFetchResult.Corrupt
                    ? $"blob {digest} of '{name}' is not on this manager, and the copy another manager sent did not match its digest, so it was not kept; try again, or push the image again"
                    : $"blob {digest} of '{name}' is linked but its bytes are on no reachable manager; push the image again",
                new { digest });
    }

    private async Task DeleteBlobAsync(HttpContext http, string name, string reference)
    {
        var digest = RequireDigest(reference, $"the blob digest in {http.Request.Path}");
        var repository = await _metadata.GetAsync(name, http.RequestAborted);
        if (repository is null || !repository.Blobs.ContainsKey(digest))
        {
            throw RegistryException.BlobUnknown(name, digest);
        }

        await _metadata.UpdateAsync(name, current => current is null ? null : current with { Blobs = current.Blobs.Remove(digest), LinkedAt = current.LinkedAt.Remove(digest) }, http.RequestAborted);
        _logger.Deleted(name, $"blob {digest}");
        http.Response.StatusCode = StatusCodes.Status202Accepted;
        http.Response.ContentLength = 0;
    }

    // ---- uploads

    private async Task StartUploadAsync(HttpContext http, string name)
    {
        var query = http.Request.Query;
        var ct = http.RequestAborted;
        if (query.TryGetValue("mount", out var mountText) && mountText.ToString() is { Length: > 0 } mount)
        {
            var digest = RequireDigest(mount, "the mount parameter");
            var from = query["from"].ToString();
            if (from.Length > 0 && !ImageReference.IsRepositoryPath(from))
            {
                throw RegistryException.NameInvalid(from);
            }

            // Any caller that may push may pull too, so a blob linked in `from` is readable by it.
            if (from.Length > 0 && await TryMountAsync(from, digest, ct) is { } size)
            {
                await LinkAsync(name, digest, size, ct);
                BlobCreated(http, name, digest);
                return;
            }
        }

        if (query.TryGetValue("digest", out var digestText) && digestText.ToString() is { Length: > 0 } monolithic)
        {
            var digest = RequireDigest(monolithic, "the digest parameter");
            SetBodyLimit(http, null);
            var upload = Blobs.StartUpload(name);
            long size;
            try
            {
                await Blobs.AppendAsync(name, upload.Id, http.Request.Body, http.Request.ContentLength, offset: null, ct);
                size = await Blobs.CompleteUploadAsync(name, upload.Id, digest, ct);
            }
            catch
            {
                await Blobs.CancelUploadAsync(name, upload.Id, CancellationToken.None);
                throw;
            }

            await LinkAsync(name, digest, size, ct);
            BlobCreated(http, name, digest);
            return;
        }

        var started = Blobs.StartUpload(name);
        UploadAccepted(http, name, started, StatusCodes.Status202Accepted);
    }

    private async Task<long?> TryMountAsync(string from, string digest, CancellationToken ct)
    {
        try
        {
            // The mount links bytes that are already here: made young first, so a garbage collection's sweep that saw
            // them unlinked a moment ago leaves them (or, if it removed them already, the client uploads instead).
            var size = await EnsureBlobAsync(from, digest, askPeers: true, ct);
            return Blobs.Refresh(digest) ? size : null;
        }
        catch (RegistryException e) when (e.Code == RegistryErrorCodes.BlobUnknown)
        {
            return null; // the client uploads it instead, as the spec has it
        }
    }

    private Task UploadStatusAsync(HttpContext http, string name, string id)
    {
        var upload = Blobs.FindUpload(name, id) ?? throw RegistryException.UploadUnknown(name, id);
        UploadAccepted(http, name, upload, StatusCodes.Status204NoContent);
        return Task.CompletedTask;
    }

    private async Task PatchUploadAsync(HttpContext http, string name, string id)
    {
        SetBodyLimit(http, null);
        var offset = ContentRangeStart(http, name, id);
        var upload = await Blobs.AppendAsync(name, id, http.Request.Body, http.Request.ContentLength, offset, http.RequestAborted);
        UploadAccepted(http, name, upload, StatusCodes.Status202Accepted);
    }

    private async Task PutUploadAsync(HttpContext http, string name, string id)
    {
        var ct = http.RequestAborted;
        var digestText = http.Request.Query["digest"].ToString();
        if (digestText.Length == 0)
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, RegistryErrorCodes.DigestInvalid,
                $"PUT {http.Request.Path} ends an upload and needs ?digest=sha256:<hex> of the whole blob",
                new { uuid = id });
        }

        var digest = RequireDigest(digestText, "the digest parameter");
        SetBodyLimit(http, null);
        if (http.Request.ContentLength is not 0)
        {
            var offset = ContentRangeStart(http, name, id);
            await Blobs.AppendAsync(name, id, http.Request.Body, http.Request.ContentLength, offset, ct);
        }

        var size = await Blobs.CompleteUploadAsync(name, id, digest, ct);
        await LinkAsync(name, digest, size, ct);
        BlobCreated(http, name, digest);
    }

    private async Task CancelUploadAsync(HttpContext http, string name, string id)
    {
        if (!await Blobs.CancelUploadAsync(name, id, http.RequestAborted))
        {
            throw RegistryException.UploadUnknown(name, id);
        }

        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>A chunk's Content-Range (`START-END`): its start, checked against its length; null when absent.</summary>
    private static long? ContentRangeStart(HttpContext http, string name, string id)
    {
        var header = http.Request.Headers[HeaderNames.ContentRange].ToString();
        if (header.Length == 0)
        {
            return null;
        }

        var text = header.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase) ? header[6..] : header;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || end < start
            || (http.Request.ContentLength is { } length && length != end - start + 1))
        {
            throw new RegistryException(StatusCodes.Status416RangeNotSatisfiable, RegistryErrorCodes.BlobUploadInvalid,
                $"upload {id} of '{name}': Content-Range '{header}' is not START-END (inclusive byte offsets) matching the chunk's Content-Length {http.Request.ContentLength?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}",
                new { contentRange = header });
        }

        return start;
    }

    /// <summary>
    /// Links a verified blob to the repository (creating it), so pulls from it may read the blob, and records when: a
    /// blob linked again is young again, since the push that linked it will name it in its manifest next.
    /// </summary>
    private async Task LinkAsync(string name, string digest, long size, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        await _metadata.UpdateAsync(name, current =>
        {
            var next = current ?? RepositoryObject.Empty(name, now);
            return next with { Blobs = next.Blobs.SetItem(digest, size), LinkedAt = next.LinkedAt.SetItem(digest, now) };
        }, ct);
    }

    private static void BlobCreated(HttpContext http, string name, string digest)
    {
        http.Response.StatusCode = StatusCodes.Status201Created;
        http.Response.Headers[HeaderNames.Location] = $"/v2/{name}/blobs/{digest}";
        http.Response.Headers[DigestHeader] = digest;
        http.Response.ContentLength = 0;
    }

    private static void UploadAccepted(HttpContext http, string name, BlobUpload upload, int status)
    {
        http.Response.StatusCode = status;
        http.Response.Headers[HeaderNames.Location] = $"/v2/{name}/blobs/uploads/{upload.Id}";
        http.Response.Headers[UploadUuidHeader] = upload.Id;
        http.Response.Headers[HeaderNames.Range] = BlobStore.RangeHeader(upload.Size);
        if (status != StatusCodes.Status204NoContent)
        {
            http.Response.ContentLength = 0;
        }
    }

    private static string RequireDigest(string digest, string where) =>
        ImageReference.IsDigest(digest) ? digest : throw RegistryException.DigestInvalid(digest, where);

    /// <summary>Blob bodies may be as large as a layer is; a manifest's is capped. Set before the body is read.</summary>
    private static void SetBodyLimit(HttpContext http, long? limit)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
    }

    // ---- responses

    private static async Task WriteJsonAsync(HttpContext http, int status, Action<Utf8JsonWriter> write, bool endObject)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
            if (endObject)
            {
                json.WriteEndObject();
            }
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = Json;
        http.Response.ContentLength = buffer.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await http.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.RequestAborted);
        }
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<string> items)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStringValue(item);
        }

        json.WriteEndArray();
    }

    private static async Task WriteErrorAsync(HttpContext http, RegistryException error)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.Clear();
        http.Response.Headers[ApiVersionHeader] = "registry/2.0";
        foreach (var (name, value) in error.Headers)
        {
            http.Response.Headers[name] = value;
        }

        var body = error.ToJson();
        http.Response.StatusCode = error.Status;
        http.Response.ContentType = Json;
        http.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await http.Response.Body.WriteAsync(body, CancellationToken.None);
        }
    }
}
