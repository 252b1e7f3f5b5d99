using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// A 1,000-peer change on one overlay (1,000 permanent neighbour entries and 1,000 vxlan forwarding
/// entries), applied and then removed: through <see cref="HostOverlay.SetPeersAsync"/> (one netlink
/// batch each way) against iproute2's batch mode (`ip -batch` for the neighbours plus `bridge -batch`
/// for the forwarding entries: one process each, iproute2 has no single command for both). The network
/// is an ordinary overlay, so its vxlan device lives in the network's own namespace, as on a node
/// (ingress is the only one in the node's namespace): both sides reach it there. The node's namespace
/// and the network's are made under /run/netns (so `ip -n` finds them) and deleted at the end. Needs root.
/// </summary>
public static class PeerChangeBenchmark
{
    private const string NetworkId = "bench0000peers";

    public static async Task<IReadOnlyList<Harness.Result>> RunAsync(int peers, int runs)
    {
        var name = "psbench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var netns = NetworkNamespace.Create("/run/netns", name);
        var owner = new object();
        ExitCleanup.Register(owner, () => NetworkNamespace.Delete(netns));
        try
        {
            var underlay = IPAddress.Parse("10.250.0.1");
            await using var overlay = new HostOverlay("bench", "/run/netns", netns);
            await overlay.RunAsync(n =>
            {
                n.Run(b => b.CreateVeth("ul0", "ul1", mtu: 1500));
                var ul0 = n.GetLink("ul0")!.Index;
                n.Run(b => b.AddAddress(ul0, underlay, 24).SetUp(ul0).SetUp(n.GetLink("ul1")!.Index));
                return 0;
            });
            // Every network but ingress has a namespace of its own, here /run/netns/NETWORKID: `ip -n NETWORKID` reaches it.
            var view = new NetworkView(NetworkId, "bench", 4242, "10.252.0.0/16", "10.252.0.1");
            var sandbox = overlay.SandboxPath(NetworkId);
            ExitCleanup.Register(view, () => NetworkNamespace.Delete(sandbox));
            await overlay.EnsureNetworkAsync(view, underlay);
            Check(File.Exists(sandbox), "the network has no namespace of its own");
            var endpoints = Enumerable.Range(0, peers)
                .Select(i => new NetworkEndpoint(string.Create(CultureInfo.InvariantCulture, $"10.252.{2 + (i / 250)}.{1 + (i % 250)}/16"),
                    $"node{i % 16}", string.Create(CultureInfo.InvariantCulture, $"10.250.0.{10 + (i % 16)}"), TaskId: $"t{i}"))
                .ToArray();
            var device = OverlayNames.Vxlan(NetworkId);
            var (neighAdd, fdbAdd, neighDel, fdbDel) = BatchFiles(endpoints, device);

            var oursApply = new List<double>();
            var oursRemove = new List<double>();
            var ipApply = new List<double>();
            var ipRemove = new List<double>();
            // One warm-up round each, then alternate so a burst of other load falls on both alike.
            for (var run = -1; run < runs; run++)
            {
                var sw = Stopwatch.StartNew();
                var plan = await overlay.SetPeersAsync(NetworkId, endpoints);
                var apply = sw.Elapsed.TotalMilliseconds;
                Check(plan.ReplaceFdb.Count == peers, "HostOverlay applied a partial change");
                sw.Restart();
                await overlay.SetPeersAsync(NetworkId, []);
                var remove = sw.Elapsed.TotalMilliseconds;

                sw.Restart();
                await RunAsync("ip", NetworkId, neighAdd);
                await RunAsync("bridge", NetworkId, fdbAdd);
                var batchApply = sw.Elapsed.TotalMilliseconds;
                Check((await overlay.SetPeersAsync(NetworkId, endpoints)).IsEmpty, "ip -batch left the tables unlike HostOverlay's");
                sw.Restart();
                await RunAsync("ip", NetworkId, neighDel);
                await RunAsync("bridge", NetworkId, fdbDel);
                var batchRemove = sw.Elapsed.TotalMilliseconds;
                Check((await overlay.SetPeersAsync(NetworkId, [])).IsEmpty, "ip -batch left entries behind");
                if (run >= 0)
                {
                    oursApply.Add(apply);
                    oursRemove.Add(remove);
                    ipApply.Add(batchApply);
                    ipRemove.Add(batchRemove);
                }
            }
            await overlay.RemoveNetworkAsync(NetworkId);
            ExitCleanup.Forget(view);
            var entries = $"{peers:N0} peers ({2 * peers:N0} entries)";
            return
            [
                Harness.FromSamples($"HostOverlay.SetPeers: apply {entries}", 1, oursApply),
                Harness.FromSamples($"ip -batch + bridge -batch: apply {entries}", 1, ipApply),
                Harness.FromSamples($"HostOverlay.SetPeers: remove {entries}", 1, oursRemove),
                Harness.FromSamples($"ip -batch + bridge -batch: remove {entries}", 1, ipRemove),
            ];
        }
        finally
        {
            NetworkNamespace.Delete(netns);
            ExitCleanup.Forget(owner);
        }
    }

    public static void Print(IReadOnlyList<Harness.Result> results)
    {
        Harness.Print("Overlay peers: one change applied, then removed, on a vxlan device (ops/s = changes/s; baseline iproute2's batch mode)",
            results, r => results[results.ToList().IndexOf(r) | 1]);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Mean per change: HostOverlay apply {1000 / results[0].PerSecond:0.0} ms, remove {1000 / results[2].PerSecond:0.0} ms; " +
            $"ip+bridge -batch apply {1000 / results[1].PerSecond:0.0} ms, remove {1000 / results[3].PerSecond:0.0} ms " +
            $"(ratio {results[0].PerSecond / results[1].PerSecond:0.0}x and {results[2].PerSecond / results[3].PerSecond:0.0}x)"));
    }

    private static (string NeighAdd, string FdbAdd, string NeighDel, string FdbDel) BatchFiles(NetworkEndpoint[] endpoints, string device)
    {
        StringBuilder neighAdd = new(), fdbAdd = new(), neighDel = new(), fdbDel = new();
        foreach (var e in endpoints)
        {
            var ip = e.Address.Split('/')[0];
            var mac = NetworkEndpoint.MacOf(ip);
            neighAdd.Append(CultureInfo.InvariantCulture, $"neigh replace {ip} lladdr {mac} dev {device} nud permanent\n");
            fdbAdd.Append(CultureInfo.InvariantCulture, $"fdb replace {mac} dev {device} dst {e.NodeAddr} self permanent\n");
            neighDel.Append(CultureInfo.InvariantCulture, $"neigh del {ip} dev {device}\n");
            fdbDel.Append(CultureInfo.InvariantCulture, $"fdb del {mac} dev {device} dst {e.NodeAddr} self\n");
        }
        return (neighAdd.ToString(), fdbAdd.ToString(), neighDel.ToString(), fdbDel.ToString());
    }

    private static async Task RunAsync(string tool, string netns, string batch)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, ["-n", netns, "-batch", "-"])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"{tool} did not start");
        await process.StandardInput.WriteAsync(batch);
        process.StandardInput.Close();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Check(process.ExitCode == 0, $"{tool} -batch failed: {errors}");
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
