using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Dns;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Queries per second for a service name, all inside one throwaway namespace on loopback: the embedded
/// server (records for 1,000 services) against dnsmasq from Debian and ARSoft's bare server with one
/// static answer, in turns, in the same run. Needs root.
/// </summary>
public static class DnsBenchmark
{
    // "web" A IN, recursion desired: a fixed query is all the load generator needs.
    private static readonly byte[] Query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'w', (byte)'e', (byte)'b', 0, 0, 1, 0, 1];

    public static async Task<List<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies)
    {
        if (!File.Exists("/usr/sbin/dnsmasq"))
        {
            using var apt = Process.Start("apt-get", ["install", "-y", "-qq", "dnsmasq-base"])!;
            await apt.WaitForExitAsync();
        }

        var name = $"psdns-bench-{Guid.NewGuid().ToString("n")[..8]}";
        Run("ip", $"netns add {name}");
        Process? dnsmasq = null;
        try
        {
            Run("ip", $"-n {name} link set lo up");
            using var ns = new NamespaceThread($"/run/netns/{name}", "dns benchmark");
            using var forwarder = new DnsForwarder([], TimeSpan.FromSeconds(1));
            await using var embedded = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From([View(1_000)]), forwarder);
            var bare = await ns.RunAsync(() => BareServer(IPAddress.Parse("127.0.0.13")));
            dnsmasq = Process.Start(new ProcessStartInfo("ip",
                $"netns exec {name} dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces " +
                "--listen-address=127.0.0.12 --port=53 --host-record=web,10.0.1.2 --user=root --pid-file=")
            { RedirectStandardError = true })!;
            await WaitAnswersAsync(ns, IPAddress.Parse("127.0.0.12"));

            var results = new List<Harness.Result>();
            foreach (var concurrency in concurrencies)
            {
                var clients = new[] { ResolvConf.EmbeddedAddress, IPAddress.Parse("127.0.0.12"), IPAddress.Parse("127.0.0.13") }
                    .Select(a => Pool(ns, a, concurrency))
                    .ToArray();
                var pools = await Task.WhenAll(clients);
                results.AddRange(await Harness.RunInterleavedAsync(concurrency, duration, TimeSpan.FromSeconds(1),
                    ("embedded DNS (1,000 services)", () => AskAsync(pools[0])),
                    ("dnsmasq 2.90 (one host record)", () => AskAsync(pools[1])),
                    ("ARSoft bare server (static answer)", () => AskAsync(pools[2]))));
                foreach (var socket in pools.SelectMany(p => p))
                {
                    socket.Dispose();
                }
            }

            bare.Stop();
            return results;
        }
        finally
        {
            if (dnsmasq is not null)
            {
                dnsmasq.Kill();
                await dnsmasq.WaitForExitAsync();
                dnsmasq.Dispose();
            }

            Run("ip", $"netns del {name}");
        }
    }

    private static NetworkView View(int services)
    {
        var serviceList = Enumerable.Range(0, services)
            .Select(i => new NetworkService($"s{i}", i == 0 ? "web" : $"svc{i}", [], EndpointMode.Vip, $"10.0.{i / 250}.{i % 250 + 2}/16"))
            .ToList();
        var endpoints = Enumerable.Range(0, services * 2)
            .Select(i => new NetworkEndpoint($"10.1.{i / 250}.{i % 250 + 2}/16", "node1", "192.168.0.1", $"t{i}", $"s{i / 2}", $"task.{i}.t{i}", Ready: true))
            .ToList();
        return new NetworkView("n1", "front", 4097, "10.0.0.0/15", "10.0.0.1", Endpoints: [.. endpoints], Services: [.. serviceList]);
    }

    private static async Task<ConcurrentQueue<Socket>> Pool(INamespaceRunner ns, IPAddress server, int count)
    {
        var pool = new ConcurrentQueue<Socket>();
        for (var i = 0; i < count; i++)
        {
            pool.Enqueue(await ns.RunAsync(() =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Connect(server, 53);
                return socket;
            }));
        }

        return pool;
    }

    private static async Task AskAsync(ConcurrentQueue<Socket> pool)
    {
        pool.TryDequeue(out var socket);
        try
        {
            var buffer = new byte[512];
            await socket!.SendAsync(Query);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var length = await socket.ReceiveAsync(buffer, timeout.Token);
            if (length < 12 || buffer[7] == 0)
            {
                throw new InvalidOperationException($"no answer from {socket.RemoteEndPoint}");
            }
        }
        finally
        {
            pool.Enqueue(socket!);
        }
    }

    private static async Task WaitAnswersAsync(INamespaceRunner ns, IPAddress server)
    {
        var pool = await Pool(ns, server, 1);
        for (var i = 0; ; i++)
        {
            try
            {
                await AskAsync(pool);
                return;
            }
            catch (Exception) when (i < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private static DnsServer BareServer(IPAddress address)
    {
        var server = new DnsServer(new UdpServerTransport(address), new TcpServerTransport(address));
        var vip = IPAddress.Parse("10.0.1.2");
        server.QueryReceived += (_, e) =>
        {
            var query = (DnsMessage)e.Query;
            var response = query.CreateResponseInstance();
            response.AnswerRecords.Add(new ARecord(query.Questions[0].Name, 600, vip));
            e.Response = response;
            return Task.CompletedTask;
        };
        server.Start();
        return server;
    }

    private static void Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args}: {error}");
        }
    }
}
