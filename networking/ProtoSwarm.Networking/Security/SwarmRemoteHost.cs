using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// A node's Proto.Remote endpoint, hosted by ProtoSwarm rather than by Proto.Remote itself, so that it is
/// mutual TLS with the swarm's certificates and every message passes <see cref="RemoteAccessPolicy"/>. Kestrel
/// asks every client for a certificate and refuses one that does not chain to the swarm's root; a connection
/// without one reaches only the CA endpoint (fetch the root, join with a token), as swarmkit's CA service.
/// </summary>
public sealed partial class SwarmRemoteHost : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The host reads appsettings.json once, if there is one, and does not watch it. A host's default watches it for
    /// changes, through a watcher on its content root (the working directory) and every directory below it: a node
    /// started in / would watch the whole file system, and a lab node started in /tmp held 10,703 inotify watches per
    /// host (three hosts in a manager) and woke on every file written anywhere under it.
    /// </summary>
    public static readonly string[] NoSettingsReload = ["--hostBuilder:reloadConfigOnChange=false"];

    private readonly WebApplication _app;

    private SwarmRemoteHost(WebApplication app, RemoteAccessPolicy policy)
    {
        _app = app;
        Policy = policy;
    }

    public RemoteAccessPolicy Policy { get; }

    /// <summary>
    /// Starts the endpoint and registers the remote on <paramref name="system"/>; Proto.Cluster's start then
    /// starts the remote itself. <paramref name="ca"/> is set on managers only; so is <paramref name="endpoints"/>,
    /// which maps more HTTP endpoints on the same listener and certificates (the swarm's registry), so the
    /// swarm needs no second port: gRPC clients negotiate h2 by ALPN, registry clients h2 or HTTP/1.1.
    /// </summary>
    public static async Task<SwarmRemoteHost> StartAsync(
        ActorSystem system,
        IPEndPoint listen,
        string advertiseHost,
        SwarmCredentials credentials,
        RemoteAccessPolicy policy,
        ICertificateAuthorityEndpoint? ca,
        ILoggerFactory loggerFactory,
        Action<IEndpointRouteBuilder>? endpoints = null)
    {
        var config = RemoteConfigFactory.ForNode(listen, advertiseHost, credentials);
        var endpointManager = new EndpointManager(system, config);
        var remote = new HostedGrpcNetRemote(system, config, endpointManager, loggerFactory.CreateLogger<HostedGrpcNetRemote>());
        system.Root.SpawnNamed(Props.FromFunc(DenyAsync), RemoteAccessPolicy.DeniedTarget);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = NoSettingsReload });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton(policy);
        builder.Services.AddSingleton(credentials);
        builder.Services.AddSingleton(new RemotingGrpcService(system, endpointManager));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.Interceptors.Add<RemoteAccessInterceptor>();
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(listen, listenOptions =>
            {
                listenOptions.Protocols = endpoints is null ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
                listenOptions.UseHttps(new TlsHandshakeCallbackOptions
                {
                    // Per handshake, so a renewed certificate, or the cross-signed root presented after it during a CA
                    // rotation, is used from the next connection on.
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = credentials.ServerContext,
                        // Asked of every client; a node's is checked here, and only the CA endpoint serves a caller without one.
                        // A removed node's passes, so that its calls can be refused with the word that it was removed
                        // (RemovalNotice); every endpoint checks the certificate again and refuses it.
                        ClientCertificateRequired = true,
                        RemoteCertificateValidationCallback = credentials.CreateCallback(PeerUsage.Client, allowNone: true, allowRemoved: true),
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ApplicationProtocols = endpoints is null ? [SslApplicationProtocol.Http2] : [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                    }),
                });
            });
        });

        var app = builder.Build();
        app.MapGrpcService<RemotingGrpcService>();
        MapCa(app, ca, credentials);
        endpoints?.Invoke(app);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        remote.ServerAddressesFeature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        return new SwarmRemoteHost(app, policy);
    }

    /// <summary>Answers a refused request with PermissionDenied; a refused one-way message is dropped (it was counted and logged).</summary>
    private static Task DenyAsync(IContext context)
    {
        if (context.Sender is not null && context.Message is { } message && ContractRegistry.IsContract(message.GetType()))
        {
            context.Respond(new CommandRejected(RejectCode.PermissionDenied,
                $"Permission denied: this swarm does not let the certificate of this connection send {message.GetType().Name}. The managers' API needs a manager (run the command on a manager node) or an operator's client certificate (`protoswarm ca issue-client`)."));
        }

        return Task.CompletedTask;
    }

    private static void MapCa(WebApplication app, ICertificateAuthorityEndpoint? ca, SwarmCredentials credentials)
    {
        app.MapGet(CaWire.RootPath, () => ca?.Root is { } root
            ? Results.Bytes(CaWire.Encode(root), CaWire.ContentType)
            : Results.NotFound());

        app.MapPost(CaWire.JoinPath, async (HttpContext http) =>
        {
            if (ca is null)
            {
                return Reply(new CommandRejected(RejectCode.NotManager, "This node is not a swarm manager; join through a manager's address."));
            }

            var request = await ReadAsync(http).ConfigureAwait(false);
            return request is JoinRequest join
                ? Reply(await ca.JoinAsync(join, http.RequestAborted).ConfigureAwait(false))
                : Reply(new CommandRejected(RejectCode.InvalidArgument, "The CA's join endpoint takes one JoinRequest."));
        });

        app.MapPost(CaWire.RenewPath, async (HttpContext http) =>
        {
            var caller = credentials.Check(http.Connection.ClientCertificate, PeerUsage.Client);
            if (!caller.IsAccepted || caller.Peer!.IsClient)
            {
                return Reply(new CommandRejected(RejectCode.PermissionDenied, $"Renewing a node certificate needs that node's current certificate: {caller.Reason}."));
            }

            if (ca is null)
            {
                return Reply(new CommandRejected(RejectCode.NotManager, "This node is not a swarm manager; renew through a manager's address."));
            }

            var request = await ReadAsync(http).ConfigureAwait(false);
            return request is RenewCertificate renew
                ? Reply(await ca.RenewAsync(caller.Peer, renew with { NodeId = caller.Peer.NodeId }, http.RequestAborted).ConfigureAwait(false))
                : Reply(new CommandRejected(RejectCode.InvalidArgument, "The CA's renew endpoint takes one RenewCertificate."));
        });
    }

    private static async Task<object?> ReadAsync(HttpContext http)
    {
        if (http.Request.ContentLength is > CaWire.MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > CaWire.MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return CaWire.Decode(buffer.ToArray());
        }
        catch (MessagePackSerializationException)
        {
            return null;
        }
    }

    private static IResult Reply(object message) => Results.Bytes(CaWire.Encode(message), CaWire.ContentType);

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
