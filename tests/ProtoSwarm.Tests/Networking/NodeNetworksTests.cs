using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Nft;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// The node host's overlays (<see cref="NodeNetworks"/>) on a simulated host of <see cref="OverlayLab"/>:
/// real namespaces and devices, nothing made in the test process's own namespace but the tasks'
/// namespaces (files under a directory of the test's own).
/// </summary>
[Trait("Category", "Privileged")]
public sealed class NodeNetworksTests : IAsyncLifetime
{
    private const string NetA = "aaaa1111bbbb2222cccc3333";
    private const string NetB = "dddd4444eeee5555ffff6666";

    private OverlayLab _lab = null!;
    private string _host = null!;
    private string _other = null!;
    private string _tasks = null!;
    private NodeNetworks _node = null!;

    public async Task InitializeAsync()
    {
        _lab = OverlayLab.Create();
        (_host, _other) = await _lab.TwoHostsAsync();
        _tasks = $"{_lab.Directory}-tasks";
        _node = NewNode();
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        if (Directory.Exists(_tasks))
        {
            foreach (var path in Directory.EnumerateFiles(_tasks))
            {
                NetworkNamespace.Delete(path);
            }

            NetworkNamespace.ReleaseDirectory(_tasks);
        }

        await _lab.DisposeAsync();
    }

    [Fact]
    public async Task A_Network_Made_With_The_Vni_Of_One_Removed_Replaces_It_Though_A_Task_Still_Holds_An_Interface_On_It()
    {
        await _node.ApplyAsync(Full(View(NetA, 4300)), default);
        var stale = Task("t-stale", NetA, "10.251.0.2/24");
        await _node.AttachTaskAsync(stale, default);

        // The managers removed network A (its task is going) and gave its VXLAN id to B at once.
        await _node.ApplyAsync(Full(View(NetB, 4300)), default);

        var fresh = await _node.AttachTaskAsync(Task("t-fresh", NetB, "10.251.0.2/24"), default);
        var vxlan = await OverlayLab.InAsync(Path.Combine(_lab.SandboxDirectory("nodeA"), NetB), n => n.GetLink(OverlayNames.Vxlan(NetB)));
        Assert.Equal(4300u, vxlan!.Vxlan!.Vni);
        Assert.False(File.Exists(Path.Combine(_lab.SandboxDirectory("nodeA"), NetA)));
        Assert.True((await OverlayLab.InAsync(fresh!.NetnsPath, n => n.GetLink("eth0")))!.Up);

        // The stale task's end then removes what is left of it, and nothing of the new one.
        await _node.DetachTaskAsync(stale.Id, default);
        Assert.False(File.Exists(Path.Combine(_tasks, stale.Id)));
        Assert.True(File.Exists(fresh.NetnsPath));
    }

    [Fact]
    public async Task A_Detached_Task_Leaves_No_Namespace_Or_Interface_And_A_New_Task_Takes_Its_Address_At_Once()
    {
        await _node.ApplyAsync(Full(View(NetA, 4301)), default);
        var first = await _node.AttachTaskAsync(Task("t-first", NetA, "10.251.0.2/24"), default);
        Assert.True(File.Exists(first!.NetnsPath));

        await _node.DetachTaskAsync("t-first", default);
        await _node.DetachTaskAsync("t-first", default);

        Assert.False(File.Exists(first.NetnsPath));
        var onNode = await OverlayLab.InAsync(_host, n => n.ListLinks());
        Assert.DoesNotContain(onNode, l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: "t-first" });
        var second = await _node.AttachTaskAsync(Task("t-second", NetA, "10.251.0.2/24"), default);
        var eth0 = await OverlayLab.InAsync(second!.NetnsPath, n => n.GetLink("eth0"));
        Assert.True(eth0!.Up);
    }

    [Fact]
    public async Task A_Task_Whose_Network_Is_Removed_While_It_Waits_To_Attach_Waits_For_The_Network_To_Come_Back()
    {
        await _node.ApplyAsync(Full(View(NetA, 4302)), default);

        // The node's last task on A ended and the managers dropped A; a new task on A arrives in the next message.
        var removing = _node.ApplyAsync(Full(), default);
        var attaching = _node.AttachTaskAsync(Task("t-new", NetA, "10.251.0.3/24"), default);
        var readding = _node.ApplyAsync(Full(View(NetA, 4302)), default);
        await removing;
        await readding;

        var sandbox = await attaching.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.NotNull(await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.GetLink("eth0")));
    }

    [Fact]
    public async Task A_Network_Overlapping_The_Nodes_Address_Is_Not_Made_Its_Tasks_Are_Refused_And_One_Made_Before_Goes_At_Start()
    {
        var underlap = new NetworkView(NetA, "underlap", 4303, $"10.250.{_lab.Subnet}.0/25", $"10.250.{_lab.Subnet}.1");

        await _node.ApplyAsync(Full(underlap), default);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.AttachTaskAsync(Task("t-under", NetA, $"10.250.{_lab.Subnet}.5/25"), default));
        Assert.Contains($"network underlap (10.250.{_lab.Subnet}.0/25) overlaps this node's address 10.250.{_lab.Subnet}.1/24", refused.Message, StringComparison.Ordinal);
        var routes = await OverlayLab.InAsync(_host, n => n.ListRoutes());
        Assert.DoesNotContain(routes, r => r.Destination.Equals(IPNetwork.Parse($"10.250.{_lab.Subnet}.0/25")));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));

        // Made as it was before nodes refused such networks: the node host's next start removes it.
        var before = _lab.Overlay("nodeA", _host);
        await before.EnsureNetworkAsync(underlap, _lab.Underlay(1));
        Assert.Contains(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));
        await using var restarted = NewNode();
        await restarted.SweepAtStartAsync(default);
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListRoutes()), r => r.Destination.Equals(IPNetwork.Parse($"10.250.{_lab.Subnet}.0/25")));
    }

    [Fact]
    public async Task A_Task_On_No_Network_Is_On_The_Bridge_Reaches_Its_Node_And_Beyond_As_The_Node_But_No_Other_Task_And_Leaves_Nothing()
    {
        var bridged = await _node.AttachTaskAsync(NoNetwork("t-out"), default);
        var other = await _node.AttachTaskAsync(NoNetwork("t-other"), default);

        // Only eth0 on the gateway bridge: a /32 of its subnet and the default route through the bridge, on-link.
        var links = await OverlayLab.InAsync(bridged!.NetnsPath, n => n.ListLinks());
        Assert.Equal(["eth0", "lo"], links.Select(l => l.Name).Order());
        var eth0 = links.Single(l => l.Name == "eth0");
        Assert.True(eth0.Up);
        Assert.Equal("172.18.0.2/32", Assert.Single(await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListAddresses(eth0.Index))).ToString());
        var route = Assert.Single(await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListRoutes()), r => r.Destination.PrefixLength == 0);
        Assert.Equal((IPAddress.Parse("172.18.0.1"), eth0.Index), (route.Gateway, route.OutputIndex));
        Assert.Equal("t-out:172.18.0.2", Assert.Single(bridged.ExtraHosts));
        Assert.Contains(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == GatewayBridge.Name);

        // The node's own address, seen from the task's; another host through the node, which it sees as the node (masquerade).
        using (var onNode = await OverlayLab.ListenAsync(_host, _lab.Underlay(1), 7020))
        {
            Assert.Equal(IPAddress.Parse("172.18.0.2"), await PeerSeenAsync(bridged.NetnsPath, onNode, _lab.Underlay(1), 7020));
        }

        using (var beyond = await OverlayLab.ListenAsync(_other, _lab.Underlay(2), 7021))
        {
            Assert.Equal(_lab.Underlay(1), await PeerSeenAsync(bridged.NetnsPath, beyond, _lab.Underlay(2), 7021));
        }

        // Never another task on the bridge.
        using (var across = await OverlayLab.ListenAsync(other!.NetnsPath, IPAddress.Parse("172.18.0.3"), 7022))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PeerSeenAsync(bridged.NetnsPath, across, IPAddress.Parse("172.18.0.3"), 7022, TimeSpan.FromSeconds(2)));
        }

        // A node host restart finds it as it was; a task whose container made its own namespace (a node host before this) is left alone.
        await using (var restarted = NewNode())
        {
            Assert.Equal("t-out:172.18.0.2", Assert.Single((await restarted.AttachTaskAsync(NoNetwork("t-out"), default, restoring: true))!.ExtraHosts));
            Assert.Null(await restarted.AttachTaskAsync(NoNetwork("t-old"), default, restoring: true));
            Assert.False(File.Exists(Path.Combine(_tasks, "t-old")));
        }

        // Released with its container: its namespace and veth go, and its address is the next task's.
        await _node.DetachTaskAsync("t-out", default);
        Assert.False(File.Exists(bridged.NetnsPath));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: "t-out" });
        Assert.Equal("t-next:172.18.0.2", Assert.Single((await _node.AttachTaskAsync(NoNetwork("t-next"), default))!.ExtraHosts));

        // What a task no longer assigned left (its node host died before releasing it) is swept.
        await _node.RetainOnlyAsync(new HashSet<string>(["t-next"]), default);
        Assert.False(File.Exists(other.NetnsPath));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: "t-other" });
    }

    [Fact]
    public async Task Network_Connect_Gives_A_Bridged_Container_An_Interface_On_The_Overlay_And_Disconnect_Takes_It_All_Away()
    {
        await _node.ApplyAsync(Full(View(NetA, 4310)), default);
        var peer = await _node.AttachTaskAsync(Task("t-peer", NetA, "10.251.0.2/24"), default);
        var joins = NoNetwork("t-joins");
        var bridged = await _node.AttachTaskAsync(joins, default);
        var overlay = new AttachedNetwork(NetA, "10.251.0.9/24");

        // eth1 on the overlay beside eth0 on the bridge, whose default route stays; the DNS server starts, so its resolv.conf changes.
        var resolvConf = await _node.ConnectTaskAsync(joins, overlay, default);
        Assert.Null(await _node.ConnectTaskAsync(joins, overlay, default));
        Assert.Contains("nameserver 127.0.0.11", resolvConf, StringComparison.Ordinal);
        var links = await OverlayLab.InAsync(bridged!.NetnsPath, n => n.ListLinks());
        Assert.Equal(["eth0", "eth1", "lo"], links.Select(l => l.Name).Order());
        var eth1 = links.Single(l => l.Name == "eth1");
        Assert.Equal("10.251.0.9/24", Assert.Single(await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListAddresses(eth1.Index))).ToString());
        var route = Assert.Single(await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListRoutes()), r => r.Destination.PrefixLength == 0);
        Assert.Equal(links.Single(l => l.Name == "eth0").Index, route.OutputIndex);
        using (var listener = await OverlayLab.ListenAsync(peer!.NetnsPath, IPAddress.Parse("10.251.0.2"), 7030))
        {
            Assert.Equal(IPAddress.Parse("10.251.0.9"), await PeerSeenAsync(bridged.NetnsPath, listener, IPAddress.Parse("10.251.0.2"), 7030));
        }

        // Disconnect (twice: the second finds nothing): the interface goes, and the overlay is out of reach.
        await _node.DisconnectTaskAsync("t-joins", NetA, default);
        await _node.DisconnectTaskAsync("t-joins", NetA, default);
        Assert.Equal(["eth0", "lo"], (await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListLinks())).Select(l => l.Name).Order());
        using (var listener = await OverlayLab.ListenAsync(peer.NetnsPath, IPAddress.Parse("10.251.0.2"), 7031))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => PeerSeenAsync(bridged.NetnsPath, listener, IPAddress.Parse("10.251.0.2"), 7031, TimeSpan.FromSeconds(2)));
        }

        // Connected again, it takes eth1 again (the lowest free); its release removes all of it.
        Assert.Null(await _node.ConnectTaskAsync(joins, overlay, default));
        Assert.Contains(await OverlayLab.InAsync(bridged.NetnsPath, n => n.ListLinks()), l => l.Name == "eth1");
        await _node.DetachTaskAsync("t-joins", default);
        Assert.False(File.Exists(bridged.NetnsPath));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: "t-joins" });
    }

    [Theory]
    [InlineData("lo", "eth0")]
    [InlineData("lo,eth0", "eth1")]
    [InlineData("lo,eth0,eth2", "eth1")]
    [InlineData("lo,eth1", "eth0")]
    public void Network_Connect_Takes_The_Lowest_Free_Interface_Name(string present, string expected) =>
        Assert.Equal(expected, NodeNetworks.FreeInterface(present.Split(',').ToHashSet(StringComparer.Ordinal)));

    [Fact]
    public async Task A_Network_Inside_The_Bridges_Subnet_Is_Refused_Since_It_Would_Take_The_Tasks_Way_Out()
    {
        var bridged = await _node.AttachTaskAsync(NoNetwork("t-out"), default);
        var inside = new NetworkView(NetA, "inside", 4304, "172.18.9.0/24", "172.18.9.1");

        await _node.ApplyAsync(Full(inside), default);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.AttachTaskAsync(Task("t-in", NetA, "172.18.9.2/24"), default));
        Assert.Contains("network inside (172.18.9.0/24) overlaps this node's address 172.18.0.1/16", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListRoutes()), r => r.Destination.Equals(IPNetwork.Parse("172.18.9.0/24")));
        Assert.True(File.Exists(bridged!.NetnsPath));
    }

    [Fact]
    public async Task Host_Ports_Published_As_0_Get_A_Port_Each_That_Nothing_On_The_Node_Uses_And_Keep_It_After_A_Restart()
    {
        var range = PortRange.Parse(await OverlayLab.InAsync(_host, _ => File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")));
        await _node.ApplyAsync(Full(View(NetA, 4303)), default);

        // A process of the node listens on the range's first port: no task gets it.
        using var listener = await OverlayLab.ListenAsync(_host, _lab.Underlay(1), range.First);
        var one = await _node.AttachTaskAsync(HostPortTask("t-one", "10.251.0.2/24"), default);
        var two = await _node.AttachTaskAsync(HostPortTask("t-two", "10.251.0.3/24"), default);

        Assert.Equal([Host(range.First + 1), Host(8080, 80)], one!.HostPorts.ToArray());
        Assert.Equal([Host(range.First + 2), Host(8080, 80)], two!.HostPorts.ToArray());
        Assert.Equal(one.HostPorts, (await _node.AttachTaskAsync(HostPortTask("t-one", "10.251.0.2/24"), default))!.HostPorts);

        // A node host restart (what the process ran stops, as when it dies): t-one keeps the port its status reported;
        // a new task takes none held or reported by another.
        await _node.DisposeAsync();
        var restarted = _node = NewNode();
        var reported = new NetworkEndpoint("10.251.0.3/24", "nodeA", "192.168.0.1", "t-two", "svc", "svc.2.t-two", Ready: true, HostPorts: two.HostPorts);
        await restarted.ApplyAsync(Full(OverlayLab.View(NetA, 4303, reported)), default);
        var restored = HostPortTask("t-one", "10.251.0.2/24");
        restored = restored with { Status = restored.Status with { State = TaskState.Running, PortStatus = one.HostPorts } };
        Assert.Equal(one.HostPorts.ToArray(), (await restarted.AttachTaskAsync(restored, default, restoring: true))!.HostPorts.ToArray());
        var three = await restarted.AttachTaskAsync(HostPortTask("t-three", "10.251.0.4/24"), default);
        Assert.Equal(range.First + 3, three!.HostPorts[0].PublishedPort);
    }

    [Fact]
    public async Task A_Host_Mode_Port_Reaches_The_Task_On_Its_Gateway_Bridge_Address_And_The_Task_Sees_The_Client_Over_Tcp_And_Udp()
    {
        // A service that publishes only host-mode ports joins no ingress: its task on no network is on the bridge only,
        // and the node maps its ports there, as docker maps them on docker_gwbridge.
        var task = NoNetwork("t-host") with { Endpoint = new EndpointSpec(Ports: [Host(8080, 80), new PortConfig(53, 5353, PortProtocol.Udp, PublishMode.Host)]) };
        var sandbox = await _node.AttachTaskAsync(task, default);
        Assert.Equal([Host(8080, 80), new PortConfig(53, 5353, PortProtocol.Udp, PublishMode.Host)], sandbox!.HostPorts.ToArray());
        var gateway = IPAddress.Parse("172.18.0.2");
        var rules = await NodeRulesAsync();
        Assert.True(rules.Contains("dnat to 172.18.0.2:80", StringComparison.Ordinal), rules);
        // Only the node's own loopback is masqueraded; every other client keeps its address.
        Assert.Equal(["ip saddr 127.0.0.0/8 ct status dnat masquerade"], rules.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("masquerade", StringComparison.Ordinal)));

        // TCP from another host to the node's port: the task sees that host's own address.
        using (var server = await OverlayLab.ListenAsync(sandbox.NetnsPath, gateway, 80))
        {
            Assert.Equal(_lab.Underlay(2), await PeerSeenAsync(_other, server, _lab.Underlay(1), 8080));

            // From the node itself, on 127.0.0.1 as on docker's nodes: the task sees the node's address on the bridge.
            Assert.Equal(IPAddress.Parse("172.18.0.1"), await PeerSeenAsync(_host, server, IPAddress.Loopback, 8080));
        }

        // UDP: the server's socket, bound to no address, answers from the source its routing picks (its gateway
        // address); the client's connected socket takes the answer only from the node's port it sent to.
        Assert.Equal(_lab.Underlay(2), await UdpPeerSeenAsync(sandbox.NetnsPath, 53, _other, _lab.Underlay(1), 5353));

        // Released: its ports are no longer mapped.
        await _node.DetachTaskAsync("t-host", default);
        Assert.DoesNotContain("172.18.0.2", await NodeRulesAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Task_Of_A_Service_On_The_Bridge_Gets_An_Address_There_Its_Host_Port_From_The_Node_And_Leaves_Nothing()
    {
        // `service create --network bridge --publish mode=host,...`: the managers allocate nothing, the node puts the task on its bridge.
        var task = NoNetwork("t-br") with
        {
            Spec = new TaskSpec(new ContainerSpec("busybox:1"), Networks: [new NetworkAttachment(PredefinedNetworks.Bridge)]),
            Endpoint = new EndpointSpec(Ports: [Host(8082, 82)]),
        };
        await _node.AttachTaskAsync(NoNetwork("t-first"), default); // makes the bridge, so the links before are the node's own and the bridge
        var before = (await OverlayLab.InAsync(_host, n => n.ListLinks())).Select(l => l.Name).Order().ToList();
        var sandbox = await _node.AttachTaskAsync(task, default);

        var links = await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.ListLinks());
        var eth0 = Assert.Single(links, l => l.Name != "lo");
        Assert.Equal("eth0", eth0.Name);
        Assert.Equal("172.18.0.3/32", Assert.Single(await OverlayLab.InAsync(sandbox.NetnsPath, n => n.ListAddresses(eth0.Index))).ToString());
        Assert.Equal(IPAddress.Parse("172.18.0.3"), _node.BridgedAddressOf("t-br")); // `network inspect bridge` lists it
        Assert.Equal([Host(8082, 82)], sandbox.HostPorts.ToArray());
        using (var server = await OverlayLab.ListenAsync(sandbox.NetnsPath, IPAddress.Parse("172.18.0.3"), 82))
        {
            Assert.Equal(IPAddress.Parse("172.18.0.1"), await PeerSeenAsync(_host, server, IPAddress.Loopback, 8082));
            Assert.Equal(_lab.Underlay(2), await PeerSeenAsync(_other, server, _lab.Underlay(1), 8082));
        }

        await _node.DetachTaskAsync("t-br", default);

        Assert.False(File.Exists(sandbox.NetnsPath));
        Assert.Null(_node.BridgedAddressOf("t-br"));
        Assert.DoesNotContain("172.18.0.3", await NodeRulesAsync(), StringComparison.Ordinal);
        Assert.Equal(before, (await OverlayLab.InAsync(_host, n => n.ListLinks())).Select(l => l.Name).Order().ToList()); // its veth went
    }

    [Fact]
    public async Task A_Task_Naming_The_Bridge_First_Beside_An_Internal_Overlay_Has_Eth0_There_As_Its_Way_Out()
    {
        // A task on internal networks alone gets no way out; one that names bridge too gets it, in the place it names it.
        await _node.ApplyAsync(Full(View(NetA, 4306) with { Internal = true }), default);
        var task = Task("t-both", NetA, "10.251.0.2/24") with
        {
            Spec = new TaskSpec(new ContainerSpec("busybox:1"), Networks: [new NetworkAttachment(PredefinedNetworks.Bridge), new NetworkAttachment(NetA)]),
        };
        var sandbox = await _node.AttachTaskAsync(task, default);

        var addresses = await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.ListAddresses());
        var links = await OverlayLab.InAsync(sandbox.NetnsPath, n => n.ListLinks());
        string On(string cidr) => links.Single(l => l.Index == addresses.Single(a => a.ToString() == cidr).Index).Name;
        Assert.Equal("eth0", On("172.18.0.2/32"));
        Assert.Equal("eth1", On("10.251.0.2/24"));
        Assert.Equal(IPAddress.Parse("172.18.0.2"), _node.BridgedAddressOf("t-both"));
        var route = Assert.Single(await OverlayLab.InAsync(sandbox.NetnsPath, n => n.ListRoutes()), r => r.Destination.PrefixLength == 0);
        Assert.Equal(IPAddress.Parse("172.18.0.1"), route.Gateway);

        await _node.DetachTaskAsync("t-both", default);
        Assert.Null(_node.BridgedAddressOf("t-both"));
        Assert.False(File.Exists(sandbox.NetnsPath));
    }

    [Fact]
    public async Task A_Container_Recorded_On_The_Bridge_And_An_Overlay_Comes_Back_On_Both_After_Stop_Start_And_A_Node_Host_Restart()
    {
        // The record of a container run on the bridge and `network connect`ed to an overlay names both, bridge first.
        await _node.ApplyAsync(Full(View(NetA, 4307)), default);
        var container = Task("c-both", NetA, "10.251.0.2/24") with
        {
            Spec = new TaskSpec(new ContainerSpec("busybox:1"), Networks: StandaloneContainers.Recorded([], new NetworkAttachment(NetA))),
        };

        async Task<TaskSandbox> OnBothAsync(NodeNetworks node, bool restoring)
        {
            var sandbox = await node.AttachTaskAsync(container, default, restoring, standalone: true);
            var addresses = await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.ListAddresses());
            var links = await OverlayLab.InAsync(sandbox.NetnsPath, n => n.ListLinks());
            string On(string cidr) => links.Single(l => l.Index == addresses.Single(a => a.ToString() == cidr).Index).Name;
            Assert.Equal("eth0", On("172.18.0.2/32"));
            Assert.Equal("eth1", On("10.251.0.2/24"));
            Assert.Equal(IPAddress.Parse("172.18.0.2"), node.BridgedAddressOf("c-both")); // `container inspect` shows bridge beside the overlay
            Assert.Equal<string>(["c-both:172.18.0.2", "c-both:10.251.0.2"], sandbox.ExtraHosts);
            return sandbox;
        }

        await OnBothAsync(_node, restoring: false);

        // stop, then start: its namespace goes and is made again from the record.
        await _node.DetachTaskAsync("c-both", default);
        var started = await OnBothAsync(_node, restoring: false);

        // A node host restart while it runs: its namespace outlives the process, and the new one finds both again.
        await _node.DisposeAsync();
        _node = NewNode();
        await _node.ApplyAsync(Full(View(NetA, 4307)), default);
        Assert.Equal(started.NetnsPath, (await OnBothAsync(_node, restoring: true)).NetnsPath);
    }

    [Theory]
    [InlineData(new string[0], 1, -1)]
    [InlineData(new[] { "bridge" }, 0, 0)]
    [InlineData(new[] { "bridge", NetA }, 1, 0)]
    [InlineData(new[] { NetA, "bridge" }, 1, 1)]
    [InlineData(new[] { NetA, "bridge", NetB }, 2, 1)]
    [InlineData(new[] { "bridge", NetA }, 2, 1)] // ingress, which the managers put first, before all
    public void The_Bridge_Takes_The_Interface_In_The_Place_The_Spec_Names_It(string[] targets, int attached, int slot)
    {
        var task = NoNetwork("t") with
        {
            Spec = new TaskSpec(new ContainerSpec("busybox:1"), Networks: [.. targets.Select(t => new NetworkAttachment(t))]),
            Networks = [.. Enumerable.Range(0, attached).Select(i => new AttachedNetwork($"n{i}", $"10.0.{i}.2/24"))],
        };

        Assert.Equal(slot, NodeNetworks.BridgeSlot(task));
    }

    [Fact]
    public async Task A_Host_Mode_Port_Of_A_Task_On_Internal_Networks_Only_Reaches_It_On_Its_Network_Masqueraded()
    {
        // No gateway bridge interface, so no route back to a client: the node answers for it from its own address there.
        await _node.ApplyAsync(Full(View(NetA, 4305) with { Internal = true }), default);
        var task = Task("t-inside", NetA, "10.251.0.2/24") with
        {
            Endpoint = new EndpointSpec(Ports: [Host(8081, 81), new PortConfig(54, 5354, PortProtocol.Udp, PublishMode.Host)]),
        };
        var sandbox = await _node.AttachTaskAsync(task, default);
        Assert.DoesNotContain(await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.ListLinks()), l => l.Name == "eth1");

        using (var server = await OverlayLab.ListenAsync(sandbox.NetnsPath, IPAddress.Parse("10.251.0.2"), 81))
        {
            Assert.Equal(IPAddress.Parse("10.251.0.1"), await PeerSeenAsync(_other, server, _lab.Underlay(1), 8081));
            Assert.Equal(IPAddress.Parse("10.251.0.1"), await PeerSeenAsync(_host, server, IPAddress.Loopback, 8081));
        }

        Assert.Equal(IPAddress.Parse("10.251.0.1"), await UdpPeerSeenAsync(sandbox.NetnsPath, 54, _other, _lab.Underlay(1), 5354));
    }

    [Fact]
    public async Task A_Standalone_Container_Takes_Its_Host_Port_At_Start_Not_At_Create_And_A_Task_Is_Refused_The_Port_It_Holds()
    {
        // Standalone containers: no service. Both are created (attached) with the same fixed port; neither holds it yet.
        var first = NoNetwork("c-first") with { ServiceId = "", Endpoint = new EndpointSpec(Ports: [Host(8091, 80)]) };
        var second = NoNetwork("c-second") with { ServiceId = "", Endpoint = new EndpointSpec(Ports: [Host(8091, 80)]) };
        var created = await _node.AttachTaskAsync(first, default, standalone: true);
        await _node.AttachTaskAsync(second, default, standalone: true);
        var heldWhileCreated = _node.StandaloneHostPorts;

        var bound = await _node.BindHostPortsAsync(first, default);
        var allocated = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.BindHostPortsAsync(second, default));
        // A task the scheduler placed before the node's description said so: refused, naming the port.
        var task = NoNetwork("t-late") with { Endpoint = new EndpointSpec(Ports: [Host(8091, 80)]) };
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.AttachTaskAsync(task, default));
        var heldWhileRunning = _node.StandaloneHostPorts;

        // The first ends (its namespace goes): the port is free for the second.
        await _node.DetachTaskAsync(first.Id, default);
        var freed = _node.StandaloneHostPorts;
        var rebound = await _node.BindHostPortsAsync(second, default);
        await _node.ReleaseHostPortsAsync(second.Id);

        Assert.Empty(created!.HostPorts);
        Assert.Empty(heldWhileCreated);
        Assert.Equal([Host(8091, 80)], bound.ToArray());
        Assert.Equal("Bind for 0.0.0.0:8091 failed: port is already allocated", allocated.Message);
        Assert.Contains("host port 8091/tcp is held by a standalone container on node nodeA", refused.Message, StringComparison.Ordinal);
        Assert.Equal([Host(8091, 80)], heldWhileRunning.ToArray());
        Assert.Empty(freed);
        Assert.Equal([Host(8091, 80)], rebound.ToArray());
        Assert.Empty(_node.StandaloneHostPorts);
    }

    [Fact]
    public void A_Standalone_Port_Taken_Is_Said_In_Dockers_Words()
    {
        Assert.Equal("Bind for 0.0.0.0:8080 failed: port is already allocated", NodeNetworks.PortTaken(Host(8080, 80), bySocket: false));
        Assert.Equal("Error starting userland proxy: listen udp4 0.0.0.0:53: bind: address already in use",
            NodeNetworks.PortTaken(new PortConfig(53, 53, PortProtocol.Udp, PublishMode.Host), bySocket: true));
    }

    [Fact]
    public void A_Host_Port_Is_Not_Picked_Where_The_Views_Publish_Or_Another_Task_Here_Holds_Or_Reported_One()
    {
        var view = OverlayLab.View(NetA, 4304,
            new NetworkEndpoint("10.251.0.2/24", "nodeA", "", "t-mine", HostPorts: [Host(32768)]),
            new NetworkEndpoint("10.251.0.3/24", "nodeA", "", "t-other", HostPorts: [Host(32769)]),
            new NetworkEndpoint("10.251.0.4/24", "nodeB", "", "t-away", HostPorts: [Host(32770)])) with
        {
            Services = [new NetworkService("svc", "web", Ports: [new PortConfig(80, 8080), new PortConfig(53, 5353, PortProtocol.Udp, PublishMode.Host), new PortConfig(7200)])],
        };
        var held = new Dictionary<string, ImmutableArray<PortConfig>> { ["t-mine"] = [Host(32771)], ["t-held"] = [Host(32772)] };

        var inUse = NodeNetworks.PortsInUse([view], held, "nodeA", "t-mine").ToHashSet();

        Assert.Equal(
            [(PortProtocol.Tcp, 8080), (PortProtocol.Tcp, 32769), (PortProtocol.Tcp, 32772), (PortProtocol.Udp, 4789), (PortProtocol.Udp, 5353)],
            inUse.Order());
    }

    /// <summary>Connects from <paramref name="netns"/> and returns the address the listener saw the connection come from.</summary>
    private static async Task<IPAddress> PeerSeenAsync(string netns, Socket listener, IPAddress to, int port, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        using var thread = new NamespaceThread(netns);
        using var client = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await client.ConnectAsync(new IPEndPoint(to, port), cts.Token);
        using var accepted = await accept;
        return ((IPEndPoint)accepted.RemoteEndPoint!).Address;
    }

    /// <summary>
    /// A UDP echo server on <paramref name="port"/> in <paramref name="serverNetns"/> (bound to no address) and one datagram to it from
    /// <paramref name="clientNetns"/> through <paramref name="to"/>:<paramref name="published"/>: returns the source the server saw,
    /// once the client's connected socket got the echo back.
    /// </summary>
    private static async Task<IPAddress> UdpPeerSeenAsync(string serverNetns, int port, string clientNetns, IPAddress to, int published)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var serverThread = new NamespaceThread(serverNetns);
        using var server = await serverThread.RunAsync(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return socket;
        });
        using var clientThread = new NamespaceThread(clientNetns);
        using var client = await clientThread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        await client.ConnectAsync(new IPEndPoint(to, published), cts.Token);
        var buffer = new byte[64];
        var received = server.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token).AsTask();
        await client.SendAsync("ping"u8.ToArray(), cts.Token);
        var from = await received;
        await server.SendToAsync(buffer.AsMemory(0, from.ReceivedBytes), from.RemoteEndPoint, cts.Token);
        var echo = new byte[64];
        Assert.Equal("ping", System.Text.Encoding.ASCII.GetString(echo, 0, await client.ReceiveAsync(echo, cts.Token)));
        return ((IPEndPoint)from.RemoteEndPoint).Address;
    }

    /// <summary>The routing mesh's table in the node's namespace, as nft lists it.</summary>
    private async Task<string> NodeRulesAsync()
    {
        using var thread = new NamespaceThread(_host);
        return await new Nftables(thread).ListAsync($"table ip {IngressRuleset.Table}");
    }

    private static TaskObject NoNetwork(string id) =>
        new(id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "nodeA", new TaskSpec(new ContainerSpec("busybox:1")), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Preparing, DateTimeOffset.UtcNow));

    private NodeNetworks NewNode() =>
        new("nodeA", () => _lab.Underlay(1).ToString(), _tasks, _lab.SandboxDirectory("nodeA"), NullLoggerFactory.Instance, _host);

    private static NetworkChanges Full(params NetworkView[] views) => new(true, [.. views], []);

    private static NetworkView View(string id, uint vni) => OverlayLab.View(id, vni);

    private static PortConfig Host(int published, int target = 7200) => new(target, published, PortProtocol.Tcp, PublishMode.Host);

    /// <summary>A task on network A that publishes 7200 in host mode without a port (its node picks one) and 80 on 8080.</summary>
    private static TaskObject HostPortTask(string id, string address) =>
        Task(id, NetA, address) with { Endpoint = new EndpointSpec(Ports: [Host(0), Host(8080, 80), new PortConfig(443, 30443)]) };

    private static TaskObject Task(string id, string networkId, string address) =>
        new(id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "nodeA", new TaskSpec(new ContainerSpec("busybox:1")), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Preparing, DateTimeOffset.UtcNow), Networks: [new AttachedNetwork(networkId, address)]);
}
