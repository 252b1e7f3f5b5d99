using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// A real HTTPS listener on 127.0.0.1 (Kestrel, an ephemeral port) whose TLS certificate is issued by a given root
/// for the address 127.0.0.1, answering each POST with <paramref name="answer"/>; it records the paths and bodies it got.
/// </summary>
internal sealed class HttpsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpsTestServer(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, string Body)> Requests { get; } = new();

    public string Url { get; private set; } = string.Empty;

    /// <summary>A TLS server certificate for 127.0.0.1 from <paramref name="root"/> (the swarm's CA issues node
    /// certificates with an IP SAN and the serverAuth usage, which is all a TLS server needs).</summary>
    public static X509Certificate2 TlsCertificate(RootCa root)
    {
        var key = NodeKey.Generate();
        var issued = root.Issue(key.CreateCsr(), "ca-server", NodeRole.Worker, "tls", [IPAddress.Loopback], DateTimeOffset.UtcNow);
        // Kestrel on Linux needs an exportable key it can load into its own store.
        using var bound = key.WithCertificate(issued);
        return X509CertificateLoader.LoadPkcs12(bound.Export(X509ContentType.Pkcs12), null);
    }

    public static Task<HttpsTestServer> StartAsync(X509Certificate2 tls, Func<string, string, (int Status, string Body)> answer) =>
        StartAsync(tls, (path, body) => Task.FromResult(answer(path, body)));

    /// <summary>As the other, with an answer that may take its time (without holding a thread).</summary>
    public static async Task<HttpsTestServer> StartAsync(X509Certificate2 tls, Func<string, string, Task<(int Status, string Body)>> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(tls)));
        var app = builder.Build();
        HttpsTestServer? server = null;
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            server!.Requests.Enqueue((http.Request.Path.Value ?? string.Empty, body));
            var (status, text) = await answer(http.Request.Path.Value ?? string.Empty, body);
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(text);
        });
        server = new HttpsTestServer(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
