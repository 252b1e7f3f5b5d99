using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// A standalone Kestrel listener serving one <see cref="RegistryServer"/>: the swarm's optional plain listener
/// for outside tools (docker, skopeo, with basic auth), and the tests. HTTP/1.1, the only protocol every
/// registry client speaks without TLS; with a certificate, HTTP/2 as well. The host does not own the server:
/// whoever made it disposes it.
/// </summary>
public sealed class RegistryHost : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    private readonly WebApplication _app;

    private RegistryHost(WebApplication app, IPEndPoint endpoint, bool tls)
    {
        _app = app;
        EndPoint = endpoint;
        BaseAddress = new Uri($"{(tls ? "https" : "http")}://{FormatHost(endpoint)}/");
    }

    /// <summary>The address actually bound (the port chosen when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }

    public int Port => EndPoint.Port;

    /// <summary>`http://127.0.0.1:PORT/` (https with a certificate).</summary>
    public Uri BaseAddress { get; }

    public static async Task<RegistryHost> StartAsync(IPEndPoint listen, RegistryServer server, X509Certificate2? certificate = null, ILoggerFactory? loggerFactory = null)
    {
        // No watch of appsettings.json (and of every directory under the working directory), as SwarmRemoteHost.NoSettingsReload.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory ?? NullLoggerFactory.Instance);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        // A library host inside another process (protoswarmd, a benchmark): the process owns Ctrl-C and SIGTERM,
        // so this host must not take them over (the default console lifetime cancels the signal and waits for its own stop).
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // The server sets each request's own limit before reading it: none for a blob, 4 MiB for a manifest.
            kestrel.Limits.MaxRequestBodySize = RegistryServer.MaxManifestBytes;
            kestrel.Listen(listen, listenOptions =>
            {
                if (certificate is null)
                {
                    listenOptions.Protocols = HttpProtocols.Http1;
                    return;
                }

                listenOptions.Protocols = HttpProtocols.Http1AndHttp2;
                listenOptions.UseHttps(certificate);
            });
        });

        var app = builder.Build();
        server.Map(app);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IOException($"the registry could not listen on {listen}: {e.Message}; pick another address or port, or stop what holds it", e);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var bound = listen;
        if (listen.Port == 0)
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                          ?? throw new InvalidOperationException("Kestrel started but reported no address; cannot tell the registry's port");
            bound = new IPEndPoint(listen.Address, new Uri(address).Port);
        }

        return new RegistryHost(app, bound, certificate is not null);
    }

    public async ValueTask DisposeAsync()
    {
        // A pull in flight is cut after a few seconds: the client resumes it with a Range request elsewhere.
        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _app.DisposeAsync();
    }

    private static string FormatHost(IPEndPoint endpoint) =>
        endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();
}

/// <summary>A host lifetime that leaves the process's signals alone: the host is started and stopped by its owner.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
