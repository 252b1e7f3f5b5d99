using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Remote;

/// <summary>The one place where ProtoSwarm's Proto.Remote settings are made.</summary>
public static class RemoteConfigFactory
{
    /// <summary>
    /// A node's remote: bound to the listen address, advertised as the node's address, mutual TLS with the
    /// node's certificate both ways (served by <see cref="SwarmRemoteHost"/>). Its outgoing calls read a manager's
    /// word that this node was removed (<see cref="RemovalNotice"/>, raised as <see cref="SwarmCredentials.RemovedBySwarm"/>).
    /// </summary>
    public static RemoteConfig ForNode(IPEndPoint listen, string advertiseHost, SwarmCredentials credentials)
    {
        var notices = new RemovalNoticeHandler(credentials);
        notices.InnerHandler = MutualTlsHandler(credentials, notices.WatchServers);
        return (ForNode(listen, advertiseHost) with { UseHttps = true })
            .WithChannelOptions(new GrpcChannelOptions { HttpHandler = notices });
    }

    /// <summary>
    /// A plain-text node remote, for benchmarks and tests of the layers above TLS.
    /// <para>
    /// No wait after an endpoint's termination (Proto.Remote's default: 3 s in which every message to the address is
    /// dropped). A node restarted on its address is reached by the others over a new connection before its previous
    /// cluster member leaves their member lists; that leave terminates the endpoint of the address, the new
    /// connection's, and the wait would then drop everything sent to the restarted node for 3 s: Raft's appends, the
    /// answers to its heartbeats (it went Down again) and to the requests it relays to the leader (lost).
    /// </para>
    /// </summary>
    public static RemoteConfig ForNode(IPEndPoint listen, string advertiseHost) =>
        (RemoteConfig.BindTo(listen.Address.ToString(), listen.Port) with { WaitAfterEndpointTerminationTimeSpan = null })
            .WithAdvertisedHost(advertiseHost)
            .WithAdvertisedPort(listen.Port)
            .WithContractSerializer();

    /// <summary>A remote that only connects out, with an operator's client certificate (`protoswarm ca issue-client`).</summary>
    public static RemoteConfig ForClient(SwarmCredentials credentials) =>
        (ForClient() with { UseHttps = true })
            .WithChannelOptions(new GrpcChannelOptions { HttpHandler = MutualTlsHandler(credentials) });

    /// <summary>A plain-text client remote, for benchmarks and tests of the layers above TLS.</summary>
    public static RemoteConfig ForClient() =>
        RemoteConfig.BindToLocalhost().WithContractSerializer();

    public static RemoteConfig WithContractSerializer(this RemoteConfig config) =>
        config.WithSerializer(ContractSerializer.SerializerId, ContractSerializer.Priority, new ContractSerializer());

    /// <summary>
    /// The client side of every outgoing connection: presents the current certificate and accepts only a server whose
    /// certificate chains to the swarm's root. A renewal takes effect on the next request: it goes over a new
    /// connection, never over one made with the previous certificate (<see cref="CurrentCertificateHandler"/>).
    /// <paramref name="configure"/> is applied to each connection pool made (one per certificate).
    /// </summary>
    public static HttpMessageHandler MutualTlsHandler(SwarmCredentials credentials, Action<SocketsHttpHandler>? configure = null) =>
        new CurrentCertificateHandler(credentials, certificate =>
        {
            var handler = MutualTlsHandler(credentials, certificate);
            configure?.Invoke(handler);
            return handler;
        });

    private static SocketsHttpHandler MutualTlsHandler(SwarmCredentials credentials, X509Certificate2 certificate) => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        KeepAlivePingDelay = TimeSpan.FromSeconds(30),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        SslOptions = new SslClientAuthenticationOptions
        {
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
            RemoteCertificateValidationCallback = credentials.CreateCallback(PeerUsage.Server),
        },
    };
}
