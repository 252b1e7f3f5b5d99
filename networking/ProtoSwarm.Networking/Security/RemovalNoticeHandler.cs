using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// The outgoing side of <see cref="RemovalNotice"/>: reads the header on every answer to this node's calls and
/// tells <see cref="SwarmCredentials"/> when a manager says this very node was removed. Only a manager's word counts
/// (the server certificate of the connection the answer came on says its role): any node's listener refuses a
/// removed node, but a worker that could make another node leave would be a worker with a manager's power.
/// </summary>
internal sealed class RemovalNoticeHandler : DelegatingHandler
{
    // Per server address (host:port), the role its certificate named at the last handshake. Proto.Remote dials the
    // advertised address of each node, so an address stands for one node's listener.
    private readonly ConcurrentDictionary<string, SwarmPeer> _servers = new(StringComparer.OrdinalIgnoreCase);
    private readonly SwarmCredentials _credentials;

    /// <param name="credentials">This node's; set <see cref="DelegatingHandler.InnerHandler"/> to handlers watched with <see cref="WatchServers"/>.</param>
    public RemovalNoticeHandler(SwarmCredentials credentials) => _credentials = credentials;

    /// <summary>Records, at each handshake of <paramref name="handler"/>'s connections, which node the server's certificate names.</summary>
    public void WatchServers(SocketsHttpHandler handler) =>
        handler.PlaintextStreamFilter = (context, cancellationToken) =>
        {
            // Runs once per connection, after the handshake accepted the server's certificate.
            if (context.PlaintextStream is SslStream { RemoteCertificate: { } certificate } && context.InitialRequestMessage.RequestUri is { } uri)
            {
                using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                if (SwarmPeer.TryParse(copy.SubjectName, out var peer, out _))
                {
                    _servers[uri.Authority] = peer;
                }
            }

            return ValueTask.FromResult(context.PlaintextStream);
        };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.TryGetValues(RemovalNotice.Header, out var named)
            && named.Contains(_credentials.Self.NodeId, StringComparer.Ordinal)
            && request.RequestUri is { } uri
            && _servers.TryGetValue(uri.Authority, out var server)
            && server is { IsClient: false, Role: NodeRole.Manager })
        {
            _credentials.NoticeRemoval(server.NodeId);
        }

        return response;
    }
}
