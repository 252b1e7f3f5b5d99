using System.Diagnostics;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Request/response over Proto.Remote on loopback, heartbeat and answer with the MessagePack contract
/// serializer, in the same run: Proto.Remote's own plain-text host against the product's path, a
/// <see cref="SwarmRemoteHost"/> with a manager's certificate (Kestrel, mutual TLS, the per-message role
/// check) called by a client-mode remote holding an operator's client certificate. Plus the time to the
/// first reply of a client that has no connection yet (TCP, TLS handshake with both certificates checked,
/// HTTP/2, the gRPC stream, one request). A third row puts the same mutual TLS on Proto.Remote's own host
/// without the role check, to tell the cost of TLS from the cost of the rest of the product's host.
/// </summary>
public static class MutualTlsBenchmark
{
    public const string PlainName = "plain h2c (Proto.Remote's host)";
    public const string TlsName = "mutual TLS (SwarmRemoteHost)";
    public const string BareTlsName = "mutual TLS, Proto.Remote's host, no role check";
    public const string SetupPrefix = "first reply, fresh client: ";

    private const string ClusterId = "bench-cluster";

    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(500);

    public static async Task<List<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies)
    {
        var now = DateTimeOffset.UtcNow;
        var ca = RootCa.Create(now);
        var validator = new SwarmCertificateValidator([ca.ToX509Certificate2()], ClusterId);
        var managerKey = NodeKey.Generate();
        var server = new SwarmCredentials(
            managerKey.WithCertificate(ca.Issue(managerKey.CreateCsr(), "manager-1", NodeRole.Manager, ClusterId, [IPAddress.Loopback], now)),
            validator);
        var clientKey = NodeKey.Generate();
        var client = new SwarmCredentials(
            clientKey.WithCertificate(ca.IssueClient(clientKey.CreateCsr(), "client-bench", ClusterId, TimeSpan.FromDays(1), now)),
            validator);

        await using var plain = await StartPlainAsync();
        await using var bareTls = await StartBareMutualTlsAsync(server);
        await using var mutualTls = await StartMutualTlsAsync(server);
        (string, Server, Func<RemoteConfig>)[] contenders =
        [
            (PlainName, plain, RemoteConfigFactory.ForClient),
            (BareTlsName, bareTls, () => RemoteConfigFactory.ForClient(client)),
            (TlsName, mutualTls, () => RemoteConfigFactory.ForClient(client)),
        ];

        var results = new List<Harness.Result>();
        foreach (var concurrency in concurrencies)
        {
            results.AddRange(await RunRequestsAsync(concurrency, duration, contenders));
        }

        results.AddRange(await MeasureFirstReplyAsync(duration, contenders));
        if (server.RefusalCount + client.RefusalCount > 0)
        {
            throw new InvalidOperationException("a certificate was refused during the run: the mutual TLS rows measured something else");
        }

        return results;
    }

    /// <summary>The baseline of a row: the plain row of the same kind and concurrency.</summary>
    public static Harness.Result BaselineOf(IReadOnlyList<Harness.Result> results, Harness.Result row) =>
        row.Name.StartsWith(SetupPrefix, StringComparison.Ordinal)
            ? results.First(r => r.Name == SetupPrefix + PlainName)
            : results.First(r => r.Name == PlainName && r.Concurrency == row.Concurrency);

    /// <summary>One client per server, each with its own connection, measured in alternating half-second turns.</summary>
    private static async Task<List<Harness.Result>> RunRequestsAsync(int concurrency, TimeSpan duration, (string Name, Server Server, Func<RemoteConfig> Config)[] contenders)
    {
        var clients = new List<ActorSystem>();
        try
        {
            var workloads = new List<(string, Func<Task>)>();
            foreach (var (name, server, config) in contenders)
            {
                var client = new ActorSystem().WithClientRemote(config());
                clients.Add(client);
                await client.Remote().StartAsync();
                workloads.Add((name, () => HeartbeatExchange.RequestAsync(client, server.Address)));
            }

            return await Harness.RunInterleavedAsync(concurrency, duration, Slice, [.. workloads]);
        }
        finally
        {
            foreach (var client in clients)
            {
                await StopClientAsync(client);
            }
        }
    }

    /// <summary>
    /// Fresh clients, one at a time and taking turns between the servers, each timed from its first request
    /// (no connection yet) to the reply; the first few are warm-up (JIT, the servers' first streams).
    /// </summary>
    private static async Task<List<Harness.Result>> MeasureFirstReplyAsync(TimeSpan duration, (string Name, Server Server, Func<RemoteConfig> Config)[] contenders)
    {
        var samples = contenders.Select(_ => new List<double>()).ToArray();
        var warmup = 5;
        var until = Stopwatch.GetTimestamp() + (long)(2 * duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until || samples[^1].Count < 20)
        {
            for (var i = 0; i < contenders.Length; i++)
            {
                var client = new ActorSystem().WithClientRemote(contenders[i].Config());
                await client.Remote().StartAsync();
                try
                {
                    var start = Stopwatch.GetTimestamp();
                    await HeartbeatExchange.RequestAsync(client, contenders[i].Server.Address);
                    var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (warmup <= 0)
                    {
                        samples[i].Add(elapsed);
                    }
                }
                finally
                {
                    await StopClientAsync(client);
                }
            }

            warmup--;
        }

        return [.. contenders.Select((c, i) => Harness.FromSamples(SetupPrefix + c.Name, 1, samples[i]))];
    }

    private static async Task<Server> StartPlainAsync()
    {
        var port = LoopbackPorts.Free(1)[0];
        var system = new ActorSystem().WithRemote(RemoteConfigFactory.ForNode(new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1"));
        await system.Remote().StartAsync();
        HeartbeatExchange.SpawnDispatcher(system);
        return new Server(system, null, $"127.0.0.1:{port}");
    }

    /// <summary>
    /// The same certificates and handshake checks on Proto.Remote's own Kestrel host, without the per-message
    /// role check: splits what the product's path costs into the TLS itself and the rest.
    /// </summary>
    private static async Task<Server> StartBareMutualTlsAsync(SwarmCredentials credentials)
    {
        var port = LoopbackPorts.Free(1)[0];
        var config = RemoteConfigFactory.ForNode(new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1", credentials) with
        {
            ConfigureKestrel = listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = credentials.Certificate,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (certificate, chain, _) =>
                        credentials.Check(certificate, PeerUsage.Client, chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>()).IsAccepted,
                    CheckCertificateRevocation = false,
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                });
            },
        };
        var system = new ActorSystem().WithRemote(config);
        await system.Remote().StartAsync();
        HeartbeatExchange.SpawnDispatcher(system);
        return new Server(system, null, $"127.0.0.1:{port}");
    }

    private static async Task<Server> StartMutualTlsAsync(SwarmCredentials credentials)
    {
        var port = LoopbackPorts.Free(1)[0];
        var system = new ActorSystem();
        HeartbeatExchange.SpawnDispatcher(system);
        // The managers' actors as the node protects them; a heartbeat to the dispatcher is allowed to every role.
        var host = await SwarmRemoteHost.StartAsync(system, new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1", credentials,
            new RemoteAccessPolicy(["manager-api", "raft", HeartbeatExchange.Target]), ca: null, NullLoggerFactory.Instance);
        await system.Remote().StartAsync();
        return new Server(system, host, $"127.0.0.1:{port}");
    }

    // Graceful, so the client closes its stream: otherwise the server's shutdown waits on it (see RemoteRequestBenchmark).
    private static async Task StopClientAsync(ActorSystem client)
    {
        await client.Remote().ShutdownAsync(graceful: true);
        await client.ShutdownAsync();
    }

    private sealed record Server(ActorSystem System, SwarmRemoteHost? Host, string Address) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await System.Remote().ShutdownAsync(graceful: Host is not null);
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }

            await System.ShutdownAsync();
        }
    }
}
