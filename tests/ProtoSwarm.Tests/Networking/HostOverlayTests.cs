using System.Net;
using System.Net.Sockets;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;
using ProtoSwarm.Networking.Nft;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

[Trait("Category", "Privileged")]
public sealed class HostOverlayTests
{
    private const string NetworkId = "a1b2c3d4e5f60718293a4b5c";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_Task_Reaches_A_Task_On_Another_Host_Across_The_Vxlan()
    {
        string directory;
        await using (var lab = OverlayLab.Create())
        {
            directory = lab.Directory;
            var (hostA, hostB) = await lab.TwoHostsAsync();
            var taskA = lab.AddNamespace("taskA");
            var taskB = lab.AddNamespace("taskB");
            var view = OverlayLab.View(NetworkId, 4242,
                new NetworkEndpoint("10.251.0.2/24", "nodeA", lab.Underlay(1).ToString(), TaskId: "tA"),
                new NetworkEndpoint("10.251.0.3/24", "nodeB", lab.Underlay(2).ToString(), TaskId: "tB"),
                new NetworkEndpoint("10.251.0.4/24", "nodeA", lab.Underlay(1).ToString(), TaskId: "tA2"));
            var a = lab.Overlay("nodeA", hostA);
            var b = lab.Overlay("nodeB", hostB);
            await a.EnsureNetworkAsync(view, lab.Underlay(1));
            await b.EnsureNetworkAsync(view, lab.Underlay(2));
            await a.SetPeersAsync(NetworkId, view.Endpoints);
            await b.SetPeersAsync(NetworkId, view.Endpoints);
            Assert.True(await a.AttachTaskAsync(new TaskAttachment("tA", taskA, NetworkId, "eth0", "10.251.0.2/24")));
            Assert.True(await b.AttachTaskAsync(new TaskAttachment("tB", taskB, NetworkId, "eth0", "10.251.0.3/24")));

            using var listener = await OverlayLab.ListenAsync(taskB, IPAddress.Parse("10.251.0.3"), 7001);
            Assert.Equal("hello over vxlan", await OverlayLab.EchoAsync(taskA, listener, IPAddress.Parse("10.251.0.3"), 7001, "hello over vxlan", Timeout));

            // The task end is what the node agent asked for, and the MTU is the underlay's minus 50.
            var eth0 = await OverlayLab.InAsync(taskA, n => n.GetLink("eth0")!);
            Assert.Equal(MacAddress.Parse(NetworkEndpoint.MacOf("10.251.0.2")), eth0.Mac);
            Assert.Equal(1450, eth0.Mtu);
            Assert.True(eth0.Up);

            // ARP never crossed: hostB's vxlan device has no learned entry, only our permanent ones.
            var fdb = await OverlayLab.InAsync(b.SandboxPath(NetworkId), n => n.ListFdb(n.GetLink(OverlayNames.Vxlan(NetworkId))!.Index));
            Assert.All(fdb, f => Assert.Equal(0x80, f.State & 0x80));

            // The network's own namespace holds its vxlan device and nothing else (no bridge, no veth):
            // the task's interface is a macvlan on it, in the task's namespace, and the node holds the
            // gateway on another, in its own namespace, and reaches its own task through it.
            Assert.Equal("macvlan", eth0.Kind);
            Assert.Equal(OverlayNames.TaskAlias(NetworkId, "tA"), eth0.Alias);
            var sandbox = a.SandboxPath(NetworkId);
            Assert.True(NetworkNamespace.IsMountPoint(sandbox));
            var inside = await OverlayLab.InAsync(sandbox, n => n.ListLinks().Select(l => l.Name).Order().ToList());
            Assert.Equal(new[] { "lo", OverlayNames.Vxlan(NetworkId) }.Order(), inside);
            var node = await a.RunAsync(n => n.ListLinks());
            Assert.DoesNotContain(node, l => l.Name == OverlayNames.Bridge(NetworkId) || l.Name == OverlayNames.Vxlan(NetworkId));
            Assert.Equal("macvlan", Assert.Single(node, l => l.Name == OverlayNames.Gateway(NetworkId)).Kind);
            Assert.Equal("1", await BridgeNetfilterAsync(hostA));
            using var local = await OverlayLab.ListenAsync(taskA, IPAddress.Parse("10.251.0.2"), 7003);
            Assert.Equal("node to task", await OverlayLab.EchoAsync(hostA, local, IPAddress.Parse("10.251.0.2"), 7003, "node to task", Timeout));

            // A second task on the same node and network: it reaches the first (macvlan's bridge mode) and the remote one.
            var taskA2 = lab.AddNamespace("taskA2");
            Assert.True(await a.AttachTaskAsync(new TaskAttachment("tA2", taskA2, NetworkId, "eth0", "10.251.0.4/24")));
            using var first = await OverlayLab.ListenAsync(taskA, IPAddress.Parse("10.251.0.2"), 7005);
            Assert.Equal("task to task, one node", await OverlayLab.EchoAsync(taskA2, first, IPAddress.Parse("10.251.0.2"), 7005, "task to task, one node", Timeout));
            Assert.Equal("second task", await OverlayLab.EchoAsync(taskA2, listener, IPAddress.Parse("10.251.0.3"), 7001, "second task", Timeout));
        }
        Assert.False(Directory.Exists(directory));
        Assert.False(NetworkNamespace.IsMountPoint(directory));
    }

    [Fact]
    public async Task A_Task_On_The_Gateway_Bridge_Reaches_Another_Host_As_Its_Node_And_No_Other_Task()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, hostB) = await lab.TwoHostsAsync();
        var taskA = lab.AddNamespace("taskA");
        var taskC = lab.AddNamespace("taskC");
        var a = lab.Overlay("nodeA", hostA);

        // The bridge takes the first candidate subnet clear of hostA's routes, and is found again as it is.
        var subnet = await a.EnsureGatewayBridgeAsync();
        Assert.Equal(IPNetwork.Parse("172.18.0.0/16"), subnet);
        Assert.Equal(subnet, await a.EnsureGatewayBridgeAsync());
        foreach (var (task, address) in new[] { (taskA, "172.18.0.2"), (taskC, "172.18.0.3") })
        {
            Assert.True(await a.AttachTaskAsync(new TaskAttachment(Path.GetFileName(task), task, GatewayBridge.NetworkId, "eth0", $"{address}/32")));
            await HostOverlay.ReplaceTaskRouteAsync(task, new IPNetwork(IPAddress.Any, 0), GatewayBridge.GatewayOf(subnet), "eth0", onLink: true);
        }

        using (var node = new NamespaceThread(hostA))
        {
            await node.RunAsync(() => File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1"));
        }

        await new Nftables(new PathRunner(hostA)).ApplyAsync(GatewayRuleset.Build(subnet, null));

        // To another host through the node, which it sees as the node itself (masquerade).
        using var outside = await OverlayLab.ListenAsync(hostB, lab.Underlay(2), 7010);
        Assert.Equal(lab.Underlay(1), await PeerSeenAsync(taskA, outside, lab.Underlay(2), 7010));

        // Never to another task over the bridge: the node forwards nothing from the bridge back into it.
        using var other = await OverlayLab.ListenAsync(taskC, IPAddress.Parse("172.18.0.3"), 7011);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PeerSeenAsync(taskA, other, IPAddress.Parse("172.18.0.3"), 7011, TimeSpan.FromSeconds(2)));
    }

    /// <summary>Connects from <paramref name="netns"/> and returns the address the listener saw the connection come from.</summary>
    private static async Task<IPAddress> PeerSeenAsync(string netns, Socket listener, IPAddress to, int port, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        using var thread = new NamespaceThread(netns);
        using var client = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(new IPEndPoint(to, port), cts.Token);
        using var accepted = await accept;
        return ((IPEndPoint)accepted.RemoteEndPoint!).Address;
    }

    /// <summary>libnftables run on a thread that entered a namespace given by its path.</summary>
    private sealed class PathRunner(string netns) : INamespaceRunner
    {
        public async Task<T> RunAsync<T>(Func<T> work)
        {
            using var thread = new NamespaceThread(netns);
            return await thread.RunAsync(work);
        }
    }

    private static async Task<string> BridgeNetfilterAsync(string netns)
    {
        using var thread = new NamespaceThread(netns);
        return await thread.RunAsync(() => File.ReadAllText("/proc/sys/net/bridge/bridge-nf-call-iptables").Trim());
    }

    [Fact]
    public async Task Interfaces_Toward_Tasks_Have_Route_Localnet_On_From_The_Moment_They_Are_Made()
    {
        const string IngressId = "f1e2d3c4b5a6978867564534";
        await using var lab = OverlayLab.Create();
        var (hostA, _) = await lab.TwoHostsAsync();
        var a = lab.Overlay("nodeA", hostA);

        // No node rules pass runs here (no NodeNetworks): the overlay turns it on as it makes each interface,
        // so a published port answers on the node's 127.0.0.1 through a network made a moment ago.
        await a.EnsureNetworkAsync(OverlayLab.View(NetworkId, 4242), lab.Underlay(1));
        await a.EnsureNetworkAsync(OverlayLab.View(IngressId, 4243) with { Subnet = "10.252.0.0/24", Gateway = "10.252.0.1", Ingress = true }, lab.Underlay(1));
        await a.EnsureGatewayBridgeAsync();

        Assert.Equal("1", await RouteLocalnetAsync(hostA, OverlayNames.Gateway(NetworkId)));
        Assert.Equal("1", await RouteLocalnetAsync(hostA, OverlayNames.Bridge(IngressId)));
        Assert.Equal("1", await RouteLocalnetAsync(hostA, GatewayBridge.Name));
        // Only there: the underlay keeps the kernel's default.
        Assert.Equal("0", await RouteLocalnetAsync(hostA, "ul0"));
    }

    private static async Task<string> RouteLocalnetAsync(string netns, string interfaceName)
    {
        using var thread = new NamespaceThread(netns);
        return await thread.RunAsync(() => File.ReadAllText(RouteLocalnet.FileOf(interfaceName)).Trim());
    }

    [Fact]
    public async Task A_New_Overlay_On_The_Same_Node_Finds_Everything_Again_And_Traffic_Keeps_Flowing()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, hostB) = await lab.TwoHostsAsync();
        var taskA = lab.AddNamespace("taskA");
        var taskB = lab.AddNamespace("taskB");
        var view = OverlayLab.View(NetworkId, 4343,
            new NetworkEndpoint("10.251.0.2/24", "nodeA", lab.Underlay(1).ToString(), TaskId: "tA"),
            new NetworkEndpoint("10.251.0.3/24", "nodeB", lab.Underlay(2).ToString(), TaskId: "tB"));
        var attachA = new TaskAttachment("tA", taskA, NetworkId, "eth0", "10.251.0.2/24");
        var first = new HostOverlay("nodeA", lab.SandboxDirectory("nodeA"), hostA);
        var b = lab.Overlay("nodeB", hostB);
        await first.EnsureNetworkAsync(view, lab.Underlay(1));
        await b.EnsureNetworkAsync(view, lab.Underlay(2));
        await first.SetPeersAsync(NetworkId, view.Endpoints);
        await b.SetPeersAsync(NetworkId, view.Endpoints);
        await first.AttachTaskAsync(attachA);
        await b.AttachTaskAsync(new TaskAttachment("tB", taskB, NetworkId, "eth0", "10.251.0.3/24"));
        await first.DisposeAsync();

        // What a node host restart sees: the namespaces and devices outlived the process that made them.
        var again = lab.Overlay("nodeA", hostA);
        Assert.Equal(0, await again.EnsureNetworkAsync(view, lab.Underlay(1)));
        Assert.True((await again.SetPeersAsync(NetworkId, view.Endpoints)).IsEmpty);
        Assert.False(await again.AttachTaskAsync(attachA));
        var owned = await again.ListOwnedAsync();
        Assert.Equal(new OwnedNetwork(NetworkId, null, OverlayNames.Vxlan(NetworkId), again.SandboxPath(NetworkId), Vni: 4343), Assert.Single(owned.Networks));
        // The task's macvlan lives in the task's namespace, not the network's: nothing to list there.
        Assert.Empty(owned.Attachments);
        using var listener = await OverlayLab.ListenAsync(taskB, IPAddress.Parse("10.251.0.3"), 7004);
        Assert.Equal("after a restart", await OverlayLab.EchoAsync(taskA, listener, IPAddress.Parse("10.251.0.3"), 7004, "after a restart", Timeout));
    }

    [Fact]
    public async Task The_Layout_Before_Network_Namespaces_Is_Replaced_And_A_Removed_Network_Frees_Its_Vni_At_Once()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, _) = await lab.TwoHostsAsync();
        var taskA = lab.AddNamespace("taskA");
        var view = OverlayLab.View(NetworkId, 4444, new NetworkEndpoint("10.251.0.2/24", "nodeA", lab.Underlay(1).ToString(), TaskId: "tA"));
        var a = lab.Overlay("nodeA", hostA);
        // A node upgraded in place: the network's bridge and vxlan device, and a task's veth, in the node's namespace.
        await OverlayLab.InAsync(hostA, n =>
        {
            n.Run(x => x.CreateBridge(OverlayNames.Bridge(NetworkId)).SetAliasByName(OverlayNames.Bridge(NetworkId), OverlayNames.NetworkAlias(NetworkId)));
            n.Run(x => x.CreateVxlan(new VxlanSpec(OverlayNames.Vxlan(NetworkId), 4444, lab.Underlay(1), 4789, 1450, false, true))
                .SetAliasByName(OverlayNames.Vxlan(NetworkId), OverlayNames.NetworkAlias(NetworkId)));
            using var task = NetworkNamespace.Open(taskA);
            n.Run(x => x.CreateVeth(OverlayNames.Veth("tA", NetworkId), "eth0", task, alias: OverlayNames.TaskAlias(NetworkId, "tA")));
        });

        await a.EnsureNetworkAsync(view, lab.Underlay(1));
        var node = await a.RunAsync(n => n.ListLinks().Select(l => l.Name).ToList());
        Assert.DoesNotContain(OverlayNames.Bridge(NetworkId), node);
        Assert.DoesNotContain(OverlayNames.Vxlan(NetworkId), node);
        Assert.DoesNotContain(OverlayNames.Veth("tA", NetworkId), node);
        Assert.True(await a.AttachTaskAsync(new TaskAttachment("tA", taskA, NetworkId, "eth0", "10.251.0.2/24")));
        Assert.Equal(0, await a.EnsureNetworkAsync(view, lab.Underlay(1)));

        await a.RemoveNetworkAsync(NetworkId);
        Assert.False(File.Exists(a.SandboxPath(NetworkId)));
        Assert.Null(await OverlayLab.InAsync(taskA, n => n.GetLink("eth0")));
        Assert.Null(await a.RunAsync(n => n.GetLink(OverlayNames.Gateway(NetworkId))));
        // Another network with the same VNI right away: the old vxlan device did not linger with the namespace.
        const string Next = "0f0e0d0c0b0a09080706";
        Assert.NotEqual(0, await a.EnsureNetworkAsync(OverlayLab.View(Next, 4444), lab.Underlay(1)));
    }

    [Fact]
    public async Task A_Node_Reaches_A_Remote_Task_From_Its_Own_Address_On_Ingress()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, hostB) = await lab.TwoHostsAsync(mtu: 1400);
        var taskB = lab.AddNamespace("taskB");
        var view = OverlayLab.View(NetworkId, 4096,
            new NetworkEndpoint("10.251.0.250/24", "nodeA", lab.Underlay(1).ToString()),
            new NetworkEndpoint("10.251.0.251/24", "nodeB", lab.Underlay(2).ToString()),
            new NetworkEndpoint("10.251.0.3/24", "nodeB", lab.Underlay(2).ToString(), TaskId: "tB")) with { Ingress = true };
        var a = lab.Overlay("nodeA", hostA);
        var b = lab.Overlay("nodeB", hostB);
        await a.EnsureNetworkAsync(view, lab.Underlay(1));
        await b.EnsureNetworkAsync(view, lab.Underlay(2));
        await a.SetPeersAsync(NetworkId, view.Endpoints);
        await b.SetPeersAsync(NetworkId, view.Endpoints);
        await b.AttachTaskAsync(new TaskAttachment("tB", taskB, NetworkId, "eth0", "10.251.0.3/24"));

        var bridge = await a.RunAsync(n => n.GetLink(OverlayNames.Bridge(NetworkId))!);
        Assert.Equal(MacAddress.Parse(NetworkEndpoint.MacOf("10.251.0.250")), bridge.Mac);
        Assert.Equal(1350, bridge.Mtu);

        // The reply goes to hostA's own address, which only hostA's bridge holds: the task saw that source.
        using var listener = await OverlayLab.ListenAsync(taskB, IPAddress.Any, 7002);
        var echoed = await OverlayLab.EchoAsync(hostA, listener, IPAddress.Parse("10.251.0.3"), 7002, "from the node", Timeout);
        Assert.Equal("from the node", echoed);
    }

    [Fact]
    public async Task Every_Call_Is_Idempotent()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, _) = await lab.TwoHostsAsync();
        var taskA = lab.AddNamespace("taskA");
        var view = OverlayLab.View(NetworkId, 77,
            new NetworkEndpoint("10.251.0.2/24", "nodeA", lab.Underlay(1).ToString(), TaskId: "tA"),
            new NetworkEndpoint("10.251.0.3/24", "nodeB", lab.Underlay(2).ToString(), TaskId: "tB"));
        var a = lab.Overlay("nodeA", hostA);
        var attachment = new TaskAttachment("tA", taskA, NetworkId, "eth1", "10.251.0.2/24");

        Assert.NotEqual(0, await a.EnsureNetworkAsync(view, lab.Underlay(1)));
        Assert.Equal(2, (await a.SetPeersAsync(NetworkId, view.Endpoints)).Count);
        Assert.True(await a.AttachTaskAsync(attachment));

        Assert.Equal(0, await a.EnsureNetworkAsync(view, lab.Underlay(1)));
        Assert.True((await a.SetPeersAsync(NetworkId, view.Endpoints)).IsEmpty);
        Assert.False(await a.AttachTaskAsync(attachment));

        // A device someone took down, or an MTU changed by hand, is repaired by the next call.
        await OverlayLab.InAsync(a.SandboxPath(NetworkId), n => n.Run(x => x.SetUp(n.GetLink(OverlayNames.Vxlan(NetworkId))!.Index, up: false)));
        Assert.Equal(1, await a.EnsureNetworkAsync(view, lab.Underlay(1)));
        await OverlayLab.InAsync(taskA, n => n.Run(x => x.SetMtu(n.GetLink("eth1")!.Index, 1280)));
        Assert.True(await a.AttachTaskAsync(attachment));
        Assert.False(await a.AttachTaskAsync(attachment));

        Assert.True(await a.DetachTaskAsync("tA", NetworkId, taskA));
        Assert.False(await a.DetachTaskAsync("tA", NetworkId, taskA));
        Assert.Null(await OverlayLab.InAsync(taskA, n => n.GetLink("eth1")));
    }

    [Fact]
    public async Task A_Thousand_Peers_Are_Applied_And_Removed_In_One_Batch_Each()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, _) = await lab.TwoHostsAsync();
        var a = lab.Overlay("nodeA", hostA);
        var view = OverlayLab.View(NetworkId, 1000) with { Subnet = "10.252.0.0/16", Gateway = "10.252.0.1" };
        await a.EnsureNetworkAsync(view, lab.Underlay(1));
        var peers = Enumerable.Range(0, 1000)
            .Select(i => new NetworkEndpoint($"10.252.{2 + (i / 250)}.{1 + (i % 250)}/16", $"node{i % 7}", $"10.250.{lab.Subnet}.{10 + (i % 7)}", TaskId: $"t{i}"))
            .ToArray();

        var applied = await a.SetPeersAsync(NetworkId, peers);
        Assert.Equal(1000, applied.Replace.Count);
        Assert.Equal(1000, applied.ReplaceFdb.Count);
        var (neighbours, fdb) = await OverlayLab.InAsync(a.SandboxPath(NetworkId), n =>
        {
            var vx = n.GetLink(OverlayNames.Vxlan(NetworkId))!.Index;
            return (n.ListNeighbours(vx), n.ListFdb(vx));
        });
        Assert.Equal(1000, neighbours.Count(e => e.Permanent));
        Assert.Equal(1000, fdb.Count);
        Assert.Contains(fdb, f => f.Mac == MacAddress.Parse(NetworkEndpoint.MacOf("10.252.2.1")) && f.Destination!.Equals(IPAddress.Parse($"10.250.{lab.Subnet}.10")));

        // Half of them move to other nodes, and the other half goes.
        var moved = peers.Take(500).Select(p => p with { NodeAddr = $"10.250.{lab.Subnet}.99" }).ToArray();
        var change = await a.SetPeersAsync(NetworkId, moved);
        Assert.Equal(500, change.DeleteNeighbours.Count);
        Assert.Equal(500 + 500, change.DeleteFdb.Count);
        Assert.Equal(500, change.ReplaceFdb.Count);
        Assert.Empty(change.Replace);

        var removed = await a.SetPeersAsync(NetworkId, []);
        Assert.Equal(500, removed.DeleteNeighbours.Count);
        var left = await OverlayLab.InAsync(a.SandboxPath(NetworkId), n =>
        {
            var vx = n.GetLink(OverlayNames.Vxlan(NetworkId))!.Index;
            return n.ListNeighbours(vx).Count + n.ListFdb(vx).Count;
        });
        Assert.Equal(0, left);
        // Not a process per entry: the networking assembly starts no process at all (the time a change takes is the
        // peers benchmark's, docs/benchmarks.md "Overlay peers", not a wall-clock limit here).
        Assert.DoesNotContain(typeof(HostOverlay).Assembly.GetReferencedAssemblies(), r => r.Name == "System.Diagnostics.Process");
    }

    [Fact]
    public async Task Sweep_Removes_What_No_Task_Or_Network_Wants()
    {
        await using var lab = OverlayLab.Create();
        var (hostA, _) = await lab.TwoHostsAsync();
        var task1 = lab.AddNamespace("task1");
        var task2 = lab.AddNamespace("task2");
        const string Other = "ffeeddccbbaa99887766";
        var a = lab.Overlay("nodeA", hostA);
        await a.EnsureNetworkAsync(OverlayLab.View(NetworkId, 10), lab.Underlay(1));
        await a.EnsureNetworkAsync(OverlayLab.View(Other, 11) with { Subnet = "10.253.0.0/24", Gateway = "10.253.0.1" }, lab.Underlay(1));
        await a.AttachTaskAsync(new TaskAttachment("keep", task1, NetworkId, "eth0", "10.251.0.2/24"));
        await a.AttachTaskAsync(new TaskAttachment("gone", task2, NetworkId, "eth0", "10.251.0.3/24"));
        await a.AttachTaskAsync(new TaskAttachment("keep", task1, Other, "eth1", "10.253.0.2/24"));
        // A device that only looks like ours stays.
        await a.RunAsync(n =>
        {
            n.Run(x => x.CreateBridge("ps-notours"));
            return 0;
        });

        var owned = await a.ListOwnedAsync();
        Assert.Equal(2, owned.Networks.Count);
        Assert.Empty(owned.Attachments);

        var swept = await a.SweepAsync([NetworkId], ["keep"]);
        Assert.Equal(new[] { OverlayNames.Gateway(Other), OverlayNames.Vxlan(Other) }.Order(), swept.Order());
        Assert.False(File.Exists(a.SandboxPath(Other)));
        // The macvlans on the removed network's vxlan device went with it.
        Assert.Null(await OverlayLab.InAsync(task1, n => n.GetLink("eth1")));
        var after = await a.ListOwnedAsync();
        Assert.Equal(new OwnedNetwork(NetworkId, null, OverlayNames.Vxlan(NetworkId), a.SandboxPath(NetworkId), Vni: 10), Assert.Single(after.Networks));
        Assert.NotNull(await a.RunAsync(n => n.GetLink("ps-notours")));

        // A task's macvlans are in its own namespace, which the node agent removes; they go first, by their alias.
        Assert.NotNull(await OverlayLab.InAsync(task2, n => n.GetLink("eth0")));
        Assert.Equal(1, await HostOverlay.DetachTaskNamespaceAsync("gone", task2));
        Assert.Null(await OverlayLab.InAsync(task2, n => n.GetLink("eth0")));
        Assert.Equal("macvlan", (await OverlayLab.InAsync(task1, n => n.GetLink("eth0")))!.Kind);

        await a.RemoveNetworkAsync(NetworkId);
        Assert.Empty((await a.ListOwnedAsync()).Networks);
        Assert.Empty((await a.ListOwnedAsync()).Attachments);
        Assert.Empty(Directory.EnumerateFiles(lab.SandboxDirectory("nodeA")));
    }
}
