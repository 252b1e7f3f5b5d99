using System.Security.Cryptography.X509Certificates;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// Outgoing HTTPS whose new requests always go over connections made with the node's current certificate.
/// A <see cref="SocketsHttpHandler"/> reuses its pooled connections for new requests, and a connection keeps the
/// client certificate of its handshake: after a renewal, a new call (Proto.Remote reconnecting after a network
/// blip, say) went over a connection made with the previous certificate. Once a CA rotation ended, the managers
/// refuse that certificate at every call (it chains only to the dropped root), while the connection, kept alive by
/// HTTP/2 pings and never idle-closed, stayed in the pool: the node could not reconnect until its daemon restarted.
/// So each certificate gets its own handler, made at the first request after the certificate changed; the previous
/// one takes no new request, and its calls under way go on until they end (it is disposed with this handler).
/// </summary>
internal sealed class CurrentCertificateHandler : HttpMessageHandler
{
    private readonly SwarmCredentials _credentials;
    private readonly Func<X509Certificate2, SocketsHttpHandler> _create;
    private readonly Lock _gate = new();
    private readonly List<HttpMessageInvoker> _retired = [];
    private volatile Pool? _current;
    private bool _disposed;

    /// <param name="create">A handler whose connections present the given certificate.</param>
    public CurrentCertificateHandler(SwarmCredentials credentials, Func<X509Certificate2, SocketsHttpHandler> create)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(create);
        _credentials = credentials;
        _create = create;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        PoolFor(_credentials.Certificate).Invoker.SendAsync(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _disposed = true;
                _current?.Invoker.Dispose();
                _retired.ForEach(r => r.Dispose());
                _retired.Clear();
            }
        }

        base.Dispose(disposing);
    }

    private Pool PoolFor(X509Certificate2 certificate)
    {
        if (_current is { } current && ReferenceEquals(current.Certificate, certificate))
        {
            return current; // the usual case, decided without the lock
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_current is { } again && ReferenceEquals(again.Certificate, certificate))
            {
                return again;
            }

            if (_current is { } previous)
            {
                _retired.Add(previous.Invoker);
            }

            var next = new Pool(certificate, new HttpMessageInvoker(_create(certificate), disposeHandler: true));
            _current = next;
            return next;
        }
    }

    private sealed record Pool(X509Certificate2 Certificate, HttpMessageInvoker Invoker);
}
