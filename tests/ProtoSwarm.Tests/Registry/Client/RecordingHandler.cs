using System.Collections.Concurrent;
using System.Net;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>One request the client sent and what it got: method, path, Range header, status, body bytes delivered.</summary>
internal sealed record Exchange(HttpMethod Method, string Path, string? Range, HttpStatusCode Status, long Bytes)
{
    public bool IsBlobGet(string digest) => Method == HttpMethod.Get && Path.EndsWith("/blobs/" + digest, StringComparison.Ordinal);

    public bool IsManifestGet => Method == HttpMethod.Get && Path.Contains("/manifests/", StringComparison.Ordinal);
}

/// <summary>
/// Sits between the client and the real registry: records every exchange, and lets a test hold blob
/// GETs for a while (so concurrent pulls overlap) or until it lets them go, replace a response body
/// (corrupt it, break it off) or edit a response's headers.
/// </summary>
internal sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly ConcurrentQueue<Exchange> _exchanges = new();

    public IReadOnlyList<Exchange> Exchanges => [.. _exchanges];

    public TimeSpan BlobDelay { get; set; }

    /// <summary>The body to answer a GET with, given the request and the registry's body; null keeps it.</summary>
    public Func<HttpRequestMessage, byte[], HttpContent?>? Body { get; set; }

    public Action<HttpRequestMessage, HttpResponseMessage>? Edit { get; set; }

    /// <summary>Awaited before a request goes to the registry: a test holds one there until it lets it go.</summary>
    public Func<HttpRequestMessage, CancellationToken, Task>? Before { get; set; }

    public void Clear() => _exchanges.Clear();

    /// <summary>
    /// For <see cref="Body"/>: the blob <paramref name="digest"/>'s bytes with one flipped in the middle, so its
    /// digest no longer matches; null (the registry's body kept) for any other request.
    /// </summary>
    public static HttpContent? CorruptBlob(HttpRequestMessage request, byte[] body, string digest)
    {
        if (!request.RequestUri!.AbsolutePath.EndsWith("/blobs/" + digest, StringComparison.Ordinal))
        {
            return null;
        }

        var corrupt = (byte[])body.Clone();
        corrupt[corrupt.Length / 2] ^= 0xff;
        return new ByteArrayContent(corrupt);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (BlobDelay > TimeSpan.Zero && request.Method == HttpMethod.Get && path.Contains("/blobs/sha256:", StringComparison.Ordinal))
        {
            await Task.Delay(BlobDelay, cancellationToken);
        }

        if (Before is { } before)
        {
            await before(request, cancellationToken);
        }

        var response = await base.SendAsync(request, cancellationToken);
        long bytes = 0;
        if (request.Method == HttpMethod.Get)
        {
            var original = response.Content;
            var body = await original.ReadAsByteArrayAsync(cancellationToken);
            var content = Body?.Invoke(request, body) ?? new ByteArrayContent(body);
            foreach (var header in original.Headers)
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = content;
            original.Dispose();
            bytes = content is BrokenContent broken ? broken.Delivered : body.Length;
        }

        Edit?.Invoke(request, response);
        _exchanges.Enqueue(new Exchange(request.Method, path, request.Headers.Range?.ToString(), response.StatusCode, bytes));
        return response;
    }
}

/// <summary>A body that breaks off after <see cref="Delivered"/> bytes, as a connection reset mid-blob does.</summary>
internal sealed class BrokenContent(byte[] body, int delivered) : HttpContent
{
    public int Delivered { get; } = delivered;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(body.AsMemory(0, Delivered));
        throw new IOException("connection reset by peer (simulated)");
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new BreakingStream(body, Delivered));

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }

    private sealed class BreakingStream(byte[] body, int delivered) : MemoryStream(body, 0, delivered, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = base.Read(buffer, offset, count);
            return n > 0 ? n : throw new IOException("connection reset by peer (simulated)");
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await base.ReadAsync(buffer, cancellationToken);
            return n > 0 ? n : throw new IOException("connection reset by peer (simulated)");
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
