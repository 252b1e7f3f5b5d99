using System.Collections.Immutable;
using System.Net;
using ARSoft.Tools.Net.Dns;

namespace ProtoSwarm.Networking.Dns;

/// <summary>
/// Sends the names the swarm does not know to the node's resolvers, with a timeout per resolver. With
/// no runner the sockets are made by pool threads, so queries leave from the node's own namespace
/// (where the host's resolv.conf addresses, loopback ones included, are reachable); with a runner they
/// leave from the task's namespace, as docker does when the host's resolvers are not on loopback.
/// </summary>
public sealed class DnsForwarder : IDisposable
{
    private readonly ARSoft.Tools.Net.Dns.DnsClient? _client;
    private readonly TimeSpan _timeout;

    public DnsForwarder(ImmutableArray<IPAddress> upstreams, TimeSpan timeout, INamespaceRunner? runIn = null, int port = 53)
    {
        Upstreams = [.. upstreams.Where(a => !(a.Equals(ResolvConf.EmbeddedAddress) && port == 53))];
        _timeout = timeout;
        if (Upstreams.Length == 0)
        {
            return;
        }

        IClientTransport[] transports = [new UdpClientTransport(port), new TcpClientTransport(port)];
        if (runIn is not null)
        {
            transports = [.. transports.Select(t => new NamespaceClientTransport(t, runIn))];
        }

        _client = new ARSoft.Tools.Net.Dns.DnsClient(Upstreams, transports, false, (int)timeout.TotalMilliseconds);
    }

    /// <summary>The resolvers asked, in order (never 127.0.0.11:53, the embedded server itself).</summary>
    public ImmutableArray<IPAddress> Upstreams { get; }

    /// <summary>The upstream's answer to the query's question, or null when every resolver failed or timed out.</summary>
    public async Task<DnsMessage?> ForwardAsync(DnsMessage query, CancellationToken ct = default)
    {
        if (_client is null)
        {
            return null;
        }

        var forwarded = new DnsMessage { IsRecursionDesired = query.IsRecursionDesired, IsCheckingDisabled = query.IsCheckingDisabled };
        forwarded.Questions.AddRange(query.Questions);
        try
        {
            // Each resolver gets the timeout once; the overall bound keeps a stuck transport from holding the task's query.
            return await _client.SendMessageAsync(forwarded, ct).WaitAsync(_timeout * (Upstreams.Length + 1), ct);
        }
        catch (Exception e) when (e is TimeoutException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose() => ((IDisposable?)_client)?.Dispose();
}
