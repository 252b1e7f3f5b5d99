using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Registry.Client.RegistryClientException;

namespace ProtoSwarm.Registry.Client;

/// <summary>A manifest or index as a registry served it: its media type, its digest (the sha256 of exactly these bytes) and the bytes.</summary>
public sealed record ManifestContent(string MediaType, string Digest, byte[] Content);

/// <summary>What a manifest HEAD tells without the body.</summary>
public sealed record ManifestHead(string MediaType, string Digest, long Size);

/// <summary>One blob download: the bytes a partial file already had (resumed from) and the bytes fetched now.</summary>
public sealed record BlobDownload(long ResumedFrom, long Fetched)
{
    public long Size => ResumedFrom + Fetched;
}

/// <summary>
/// A client of the OCI distribution API v2 (the swarm's registry, or any other) over an
/// <see cref="HttpClient"/> the caller sets up: its TLS client certificate or credentials, timeouts and
/// handlers are the caller's. It speaks one request per method and does not retry; what is worth a
/// retry says <see cref="RegistryClientException.IsTransient"/>, and the pull and push around it decide.
/// Every failure is a <see cref="RegistryClientException"/> naming the registry, the repository and the
/// tag or digest.
/// </summary>
public sealed class RegistryClient
{
    /// <summary>A blob up to this size goes up in one PUT; a larger one in PATCH chunks, so a proxy's body limit or a slow link does not fail a whole layer.</summary>
    public const long DefaultMonolithicLimit = 8 << 20;

    /// <summary>No image manifest is near this size; a larger answer is refused before it fills memory.</summary>
    public const int MaxManifestSize = 4 << 20;

    private const string DigestHeader = "Docker-Content-Digest";
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    private readonly HttpClient _http;

    public RegistryClient(HttpClient http, Uri baseUri)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        _http = http;
        BaseUri = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
    }

    /// <summary>The registry's root, such as https://10.0.0.2:5443/.</summary>
    public Uri BaseUri { get; }

    /// <summary>Blobs up to this many bytes are uploaded in one PUT; larger ones in chunks of <see cref="ChunkSize"/>.</summary>
    public long MonolithicLimit { get; init; } = DefaultMonolithicLimit;

    public int ChunkSize { get; init; } = (int)DefaultMonolithicLimit;

    private string Registry => BaseUri.Authority;

    /// <summary>GET /v2/: whether the registry answers and speaks the API (a 401 is an answer: it asks for credentials).</summary>
    public async Task PingAsync(CancellationToken ct = default)
    {
        const string what = "ping /v2/";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, "v2/"));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, string.Empty, null, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, string.Empty, null, ct);
        }
    }

    /// <summary>
    /// A manifest or index by tag or digest, with every type this node reads accepted. Its digest is computed
    /// from the bytes and must match the registry's Docker-Content-Digest, and the digest asked for.
    /// </summary>
    public async Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken ct = default)
    {
        CheckNames(repository, reference);
        var what = $"get manifest {Subject(repository, reference)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, ManifestUri(repository, reference));
        foreach (var type in MediaTypes.Manifests)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, what, repository, reference, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, repository, reference, ct);
        }

        var content = await ReadManifestAsync(response, what, repository, reference, ct);
        var digest = Sha256(content);
        if (Header(response, DigestHeader) is { } served && served.StartsWith("sha256:", StringComparison.Ordinal) && served != digest)
        {
            throw Mismatch(what, repository, reference, $"the registry says its digest is {served} but its bytes hash to {digest}");
        }

        if (ImageReference.IsDigest(reference) && reference != digest)
        {
            throw Mismatch(what, repository, reference, $"the registry answered a manifest whose bytes hash to {digest}");
        }

        return new ManifestContent(MediaTypes.Of(content, response.Content.Headers.ContentType?.MediaType), digest, content);
    }

    /// <summary>HEAD of a manifest: its media type, digest and size; null when the registry has no such tag or digest.</summary>
    public async Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct = default)
    {
        CheckNames(repository, reference);
        var what = $"head manifest {Subject(repository, reference)}";
        using var request = new HttpRequestMessage(HttpMethod.Head, ManifestUri(repository, reference));
        foreach (var type in MediaTypes.Manifests)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, what, repository, reference, ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, repository, reference, ct);
        }

        return new ManifestHead(
            response.Content.Headers.ContentType?.MediaType ?? string.Empty,
            Header(response, DigestHeader) ?? (ImageReference.IsDigest(reference) ? reference : string.Empty),
            response.Content.Headers.ContentLength ?? -1);
    }

    /// <summary>HEAD of a blob: whether the repository has it (a push skips what is there).</summary>
    public async Task<bool> BlobExistsAsync(string repository, string digest, CancellationToken ct = default)
    {
        CheckBlob(repository, digest);
        var what = $"head blob {digest} of {repository}";
        using var request = new HttpRequestMessage(HttpMethod.Head, BlobUri(repository, digest));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, what, repository, digest, ct);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await ErrorAsync(response, repository, digest, ct),
        };
    }

    /// <summary>
    /// Downloads a blob into <paramref name="path"/>, resuming: when the file already has N bytes (an earlier
    /// attempt broke off), only bytes N onward are asked for (Range: bytes=N-) and appended; a registry that
    /// answers the whole blob (200) starts the file over. The caller checks the digest of the whole file.
    /// <paramref name="progress"/> gets the bytes on disk as they grow.
    /// </summary>
    public async Task<BlobDownload> DownloadBlobAsync(string repository, string digest, string path, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        CheckBlob(repository, digest);
        var what = $"download blob {digest} of {repository}";
        var existing = File.Exists(path) ? new FileInfo(path).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, BlobUri(repository, digest));
        if (existing > 0)
        {
            request.Headers.Range = new RangeHeaderValue(existing, null);
        }

        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, what, repository, digest, ct);
        long start;
        if (response.StatusCode == HttpStatusCode.PartialContent && existing > 0)
        {
            start = response.Content.Headers.ContentRange?.From ?? -1;
            if (start != existing)
            {
                File.Delete(path); // the next attempt asks for the whole blob
                throw new RegistryClientException(
                    $"registry {Registry}: {what}: asked for bytes {existing}- but got a range from {start}; the partial download was dropped, try again",
                    response.StatusCode, Codes.Protocol, Registry, repository, digest);
            }
        }
        else if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && existing > 0)
        {
            // The partial file is as long as the blob or longer: it cannot be completed, only replaced.
            File.Delete(path);
            return await DownloadBlobAsync(repository, digest, path, progress, ct);
        }
        else if (response.StatusCode == HttpStatusCode.OK)
        {
            start = 0;
        }
        else
        {
            throw await ErrorAsync(response, repository, digest, ct);
        }

        long fetched = 0;
        await using (var file = new FileStream(path, start == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read, 81920, useAsync: true))
        {
            var buffer = new byte[81920];
            Stream? body = null;
            try
            {
                while (true)
                {
                    int n;
                    try
                    {
                        body ??= await response.Content.ReadAsStreamAsync(ct);
                        n = await body.ReadAsync(buffer, ct);
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
                    {
                        await file.FlushAsync(CancellationToken.None); // what came is kept: the next attempt resumes after it
                        throw new RegistryClientException(
                            $"registry {Registry}: {what}: the connection broke after {start + fetched} bytes ({e.Message}); the next attempt resumes from there",
                            null, Codes.Unreachable, Registry, repository, digest, e);
                    }

                    if (n == 0)
                    {
                        break;
                    }

                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                    fetched += n;
                    progress?.Report(start + fetched);
                }
            }
            finally
            {
                if (body is not null)
                {
                    await body.DisposeAsync();
                }
            }
        }

        return new BlobDownload(start, fetched);
    }

    /// <summary>
    /// Uploads the blob in <paramref name="path"/> as <paramref name="digest"/>: a session is opened (POST), then
    /// the blob goes up in one PUT, or, above <see cref="MonolithicLimit"/>, in PATCH chunks closed by a PUT.
    /// The registry checks the digest; returns the bytes sent.
    /// </summary>
    public async Task<long> UploadBlobAsync(string repository, string digest, string path, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        CheckBlob(repository, digest);
        var what = $"upload blob {digest} to {repository}";
        var size = new FileInfo(path).Length;
        var location = await OpenUploadAsync(repository, digest, what, ct);
        try
        {
            if (size > MonolithicLimit)
            {
                location = await PatchChunksAsync(location, path, size, repository, digest, what, progress, ct);
                await CloseUploadAsync(location, null, repository, digest, what, ct);
            }
            else
            {
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
                using var content = new StreamContent(file);
                content.Headers.ContentType = OctetStream;
                await CloseUploadAsync(location, content, repository, digest, what, ct);
            }
        }
        catch
        {
            await CancelUploadAsync(location);
            throw;
        }

        progress?.Report(size);
        return size;
    }

    /// <summary>
    /// Asks the registry to link a blob <paramref name="fromRepository"/> has into <paramref name="repository"/>
    /// without sending it (cross-repository mount); false when it will not (it opened an upload instead, which
    /// is cancelled), and the caller uploads.
    /// </summary>
    public async Task<bool> MountBlobAsync(string repository, string digest, string fromRepository, CancellationToken ct = default)
    {
        CheckBlob(repository, digest);
        CheckNames(fromRepository, digest);
        var what = $"mount blob {digest} from {fromRepository} into {repository}";
        var uri = new Uri(BaseUri, $"v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(fromRepository)}");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent([]) };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, repository, digest, ct);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }

        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            if (response.Headers.Location is { } location)
            {
                await CancelUploadAsync(new Uri(BaseUri, location));
            }

            return false;
        }

        throw await ErrorAsync(response, repository, digest, ct);
    }

    /// <summary>PUT of a manifest under a tag (or its digest); its blobs must be in the repository. Returns the manifest's digest.</summary>
    public async Task<string> PutManifestAsync(string repository, string reference, string mediaType, byte[] content, CancellationToken ct = default)
    {
        CheckNames(repository, reference);
        var digest = Sha256(content);
        var what = $"put manifest {digest} as {Subject(repository, reference)}";
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var request = new HttpRequestMessage(HttpMethod.Put, ManifestUri(repository, reference)) { Content = body };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, repository, reference, ct);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await ErrorAsync(response, repository, reference, ct);
        }

        if (Header(response, DigestHeader) is { } stored && stored.StartsWith("sha256:", StringComparison.Ordinal) && stored != digest)
        {
            throw Mismatch(what, repository, reference, $"the registry stored it as {stored}, not as the digest of the bytes sent");
        }

        return digest;
    }

    private async Task<Uri> OpenUploadAsync(string repository, string digest, string what, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri, $"v2/{repository}/blobs/uploads/")) { Content = new ByteArrayContent([]) };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, repository, digest, ct);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw await ErrorAsync(response, repository, digest, ct);
        }

        return Location(response, what, repository, digest);
    }

    private async Task<Uri> PatchChunksAsync(Uri location, string path, long size, string repository, string digest, string what, IProgress<long>? progress, CancellationToken ct)
    {
        var buffer = new byte[Math.Max(1, ChunkSize)];
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
        long offset = 0;
        while (offset < size)
        {
            var n = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
            if (n == 0)
            {
                throw new IOException($"{path} ended at {offset} bytes while {size} were expected; the blob changed while it was uploaded");
            }

            using var chunk = new ByteArrayContent(buffer, 0, n);
            chunk.Headers.ContentType = OctetStream;
            // The distribution spec writes the range bare ("0-1023"), not as HTTP's "bytes 0-1023/*".
            chunk.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + n - 1}");
            using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = chunk };
            using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, repository, digest, ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw await ErrorAsync(response, repository, digest, ct);
            }

            offset += n;
            if (Header(response, "Range") is { } range && range != $"0-{offset - 1}")
            {
                throw new RegistryClientException(
                    $"registry {Registry}: {what}: after {offset} bytes the registry says it holds {range}; the upload was cancelled, try again",
                    response.StatusCode, Codes.Protocol, Registry, repository, digest);
            }

            location = Location(response, what, repository, digest);
            progress?.Report(offset);
        }

        return location;
    }

    private async Task CloseUploadAsync(Uri location, HttpContent? content, string repository, string digest, string what, CancellationToken ct)
    {
        var close = new UriBuilder(location);
        var query = close.Query.TrimStart('?');
        close.Query = (query.Length > 0 ? query + "&" : string.Empty) + "digest=" + Uri.EscapeDataString(digest);
        using var request = new HttpRequestMessage(HttpMethod.Put, close.Uri) { Content = content ?? new ByteArrayContent([]) };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, what, repository, digest, ct);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await ErrorAsync(response, repository, digest, ct);
        }

        if (Header(response, DigestHeader) is { } stored && stored.StartsWith("sha256:", StringComparison.Ordinal) && stored != digest)
        {
            throw Mismatch(what, repository, digest, $"the registry stored it as {stored}");
        }
    }

    /// <summary>Best effort: an abandoned session would otherwise wait for the registry's purge.</summary>
    private async Task CancelUploadAsync(Uri location)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var request = new HttpRequestMessage(HttpMethod.Delete, location);
            using var response = await _http.SendAsync(request, timeout.Token);
        }
        catch (Exception)
        {
            // The upload has already failed; that error is the one to report.
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, string what, string repository, string? reference, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryClientException(
                $"registry {Registry}: {what}: no answer ({e.Message}); check that the registry (a manager) is up and reachable from this node",
                null, Codes.Unreachable, Registry, repository, reference, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistryClientException(
                $"registry {Registry}: {what}: no answer within {_http.Timeout.TotalSeconds:0} s; the registry is overloaded or the link is slow",
                null, Codes.Unreachable, Registry, repository, reference, e);
        }
    }

    private async Task<byte[]> ReadManifestAsync(HttpResponseMessage response, string what, string repository, string reference, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > MaxManifestSize)
        {
            throw TooLarge();
        }

        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            using var buffer = new MemoryStream();
            var chunk = new byte[16384];
            int n;
            while ((n = await body.ReadAsync(chunk, ct)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > MaxManifestSize)
                {
                    throw TooLarge();
                }
            }

            return buffer.ToArray();
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            throw new RegistryClientException($"registry {Registry}: {what}: the connection broke while the manifest was read ({e.Message})", null, Codes.Unreachable, Registry, repository, reference, e);
        }

        RegistryClientException TooLarge() => new(
            $"registry {Registry}: {what}: the manifest is larger than {MaxManifestSize} bytes, which no image manifest is; the registry is not serving an image here",
            response.StatusCode, Codes.Unsupported, Registry, repository, reference);
    }

    /// <summary>
    /// The spec's error body, {"errors":[{"code","message","detail"}]}, read into an exception whose message says
    /// what went wrong, where and what to do (<see cref="RegistryErrorText"/>), with the code and digest in a tail.
    /// </summary>
    private async Task<RegistryClientException> ErrorAsync(HttpResponseMessage response, string repository, string? reference, CancellationToken ct)
    {
        var status = response.StatusCode;
        var code = status switch
        {
            HttpStatusCode.Unauthorized => "UNAUTHORIZED",
            HttpStatusCode.Forbidden => "DENIED",
            HttpStatusCode.NotFound => "NOT_FOUND",
            HttpStatusCode.TooManyRequests => "TOOMANYREQUESTS",
            _ => Codes.Unknown,
        };
        var said = string.Empty;
        string? detailDigest = null;
        if (response.RequestMessage?.Method != HttpMethod.Head)
        {
            try
            {
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                if (body.Length > 0)
                {
                    try
                    {
                        using var json = JsonDocument.Parse(body);
                        if (json.RootElement.ValueKind == JsonValueKind.Object
                            && json.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
                            && errors.GetArrayLength() > 0 && errors[0].ValueKind == JsonValueKind.Object)
                        {
                            var first = errors[0];
                            code = first.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : code;
                            said = first.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
                            detailDigest = first.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.Object
                                && d.TryGetProperty("digest", out var dd) && dd.ValueKind == JsonValueKind.String && ImageReference.IsDigest(dd.GetString()!)
                                    ? dd.GetString() : null;
                        }
                    }
                    catch (JsonException)
                    {
                        said = Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)));
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // The status says enough.
            }
        }

        var message = RegistryErrorText.Describe(Registry, RegistryErrorText.OperationOf(response.RequestMessage), status, code, said, repository, reference, detailDigest);
        return new RegistryClientException(message, status, code, Registry, repository, reference);
    }

    private RegistryClientException Mismatch(string what, string repository, string reference, string detail) =>
        new($"registry {Registry}: {what}: {detail}; the content is corrupt or was altered on the way, nothing was kept", null, Codes.DigestMismatch, Registry, repository, reference);

    private Uri Location(HttpResponseMessage response, string what, string repository, string digest) =>
        response.Headers.Location is { } location
            ? new Uri(BaseUri, location)
            : throw new RegistryClientException($"registry {Registry}: {what}: the answer has no Location for the upload; the server does not follow the distribution API", response.StatusCode, Codes.Protocol, Registry, repository, digest);

    private Uri ManifestUri(string repository, string reference) => new(BaseUri, $"v2/{repository}/manifests/{reference}");

    private Uri BlobUri(string repository, string digest) => new(BaseUri, $"v2/{repository}/blobs/{digest}");

    private static string Subject(string repository, string reference) =>
        ImageReference.IsDigest(reference) ? $"{repository}@{reference}" : $"{repository}:{reference}";

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    private static void CheckNames(string repository, string reference)
    {
        if (!ImageReference.IsRepositoryPath(repository))
        {
            throw new ArgumentException($"'{repository}' is not a repository path (lowercase components split by '/', such as library/busybox)", nameof(repository));
        }

        if (!ImageReference.IsTag(reference) && !ImageReference.IsDigest(reference))
        {
            throw new ArgumentException($"'{reference}' is neither a tag nor a sha256 digest", nameof(reference));
        }
    }

    private static void CheckBlob(string repository, string digest)
    {
        CheckNames(repository, digest);
        if (!ImageReference.IsDigest(digest))
        {
            throw new ArgumentException($"'{digest}' is not a sha256 digest (sha256:<64 lowercase hex>)", nameof(digest));
        }
    }

    internal static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
