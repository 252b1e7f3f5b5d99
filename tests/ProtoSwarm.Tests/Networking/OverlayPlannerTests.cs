using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Netlink;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

public sealed class OverlayPlannerTests
{
    private const string NetworkId = "0123456789abcdef";
    private static readonly IPAddress Underlay = IPAddress.Parse("192.168.1.10");

    private static NetworkView View(params NetworkEndpoint[] endpoints) =>
        new(NetworkId, "web", 4100, "10.0.1.0/24", "10.0.1.1", Endpoints: [.. endpoints]);

    private static NetworkWanted Want(NetworkView view) => OverlayPlanner.Want(view, "me", Underlay, 1500);

    private static LinkInfo Bridge(NetworkWanted want, int index = 10) =>
        new(index, want.Bridge, "bridge", 0, want.BridgeMac, want.Mtu, true);

    private static LinkInfo Vxlan(NetworkWanted want, int master = 10, bool proxy = true, uint? vni = null) =>
        new(11, want.Vxlan, "vxlan", master, default, want.Mtu, true, Vxlan: new VxlanInfo(vni ?? want.Vni, want.Local, want.Port, false, proxy));

    private static NetworkActual Complete(NetworkWanted want) =>
        new(Bridge(want), Vxlan(want),
            [.. want.BridgeAddresses.Select(a => new AddressInfo(10, a, 24))],
            [new RouteInfo(254, want.Subnet, null, 10, want.RouteSource, 4, 253)]);

    [Fact]
    public void Names_Fit_In_Fifteen_Characters_And_Are_Stable()
    {
        Assert.Equal("ps-01234567", OverlayNames.Bridge(NetworkId));
        Assert.Equal("vx-01234567", OverlayNames.Vxlan(NetworkId));
        var veth = OverlayNames.Veth("task-1", NetworkId);
        Assert.Equal(14, veth.Length);
        Assert.Equal(veth, OverlayNames.Veth("task-1", NetworkId));
        Assert.NotEqual(veth, OverlayNames.Veth("task-1", "another-network"));
        Assert.Equal((NetworkId, "task-1"), OverlayNames.ParseAlias(OverlayNames.TaskAlias(NetworkId, "task-1")));
        Assert.Equal((NetworkId, (string?)null), OverlayNames.ParseAlias(OverlayNames.NetworkAlias(NetworkId)));
        Assert.Null(OverlayNames.ParseAlias("someone else's"));
    }

    [Fact]
    public void The_Bridge_Has_The_Gateway_And_Its_Mac_Unless_The_Node_Has_Its_Own_Address()
    {
        var plain = Want(View());
        Assert.Equal([IPAddress.Parse("10.0.1.1")], plain.BridgeAddresses);
        Assert.Equal(MacAddress.Parse("02:42:0a:00:01:01"), plain.BridgeMac);
        Assert.Equal(1450, plain.Mtu);
        Assert.Equal(4789, plain.Port);

        var ingress = Want(View(new NetworkEndpoint("10.0.1.200/24", "me", "192.168.1.10"), new NetworkEndpoint("10.0.1.201/24", "other", "192.168.1.11")) with { Mtu = 1400, DataPathPort = 7789 });
        Assert.Equal([IPAddress.Parse("10.0.1.1"), IPAddress.Parse("10.0.1.200")], ingress.BridgeAddresses);
        Assert.Equal(MacAddress.Parse("02:42:0a:00:01:c8"), ingress.BridgeMac);
        Assert.Equal(IPAddress.Parse("10.0.1.200"), ingress.RouteSource);
        Assert.Equal(1400, ingress.Mtu);
        Assert.Equal(7789, ingress.Port);
    }

    [Fact]
    public void A_New_Network_Is_Created_Attached_Addressed_Up_And_Routed_In_That_Order()
    {
        var want = Want(View());
        var steps = OverlayPlanner.PlanNetwork(want, new NetworkActual(null, null, [], []));
        Assert.Collection(steps,
            s => Assert.IsType<NetworkStep.CreateBridge>(s),
            s => Assert.Equal(new NetworkStep.EnableRouteLocalnet(want.Bridge), s),
            s => Assert.True(s is NetworkStep.CreateVxlan { Spec: { Learning: false, Proxy: true, Vni: 4100 } }),
            s => Assert.Equal(new NetworkStep.SetMaster(want.Vxlan, want.Bridge), s),
            s => Assert.Equal(new NetworkStep.AddAddress(want.Bridge, IPAddress.Parse("10.0.1.1"), 24), s),
            s => Assert.Equal(new NetworkStep.SetUp(want.Vxlan), s),
            s => Assert.Equal(new NetworkStep.SetUp(want.Bridge), s),
            s => Assert.Equal(new NetworkStep.ReplaceRoute(want.Subnet, want.Bridge, IPAddress.Parse("10.0.1.1")), s));
    }

    [Fact]
    public void A_Complete_Network_Needs_Nothing()
    {
        var want = Want(View());
        Assert.Empty(OverlayPlanner.PlanNetwork(want, Complete(want)));
    }

    [Fact]
    public void A_Vxlan_Device_With_Other_Settings_Is_Made_Again_And_Stale_Addresses_Go()
    {
        var want = Want(View());
        var actual = Complete(want) with { Vxlan = Vxlan(want, vni: 9), BridgeAddresses = [new AddressInfo(10, IPAddress.Parse("10.0.1.1"), 24), new AddressInfo(10, IPAddress.Parse("10.0.1.77"), 24)] };
        var steps = OverlayPlanner.PlanNetwork(want, actual);
        Assert.Equal(new NetworkStep.DeleteLink(want.Vxlan), steps[0]);
        Assert.IsType<NetworkStep.CreateVxlan>(steps[1]);
        Assert.Contains(new NetworkStep.SetMaster(want.Vxlan, want.Bridge), steps);
        Assert.Contains(new NetworkStep.DeleteAddress(want.Bridge, IPAddress.Parse("10.0.1.77"), 24), steps);
        Assert.DoesNotContain(steps, s => s is NetworkStep.CreateBridge);
    }

    [Theory]
    [InlineData(1400, false, 0)]
    [InlineData(1450, true, 0)]
    [InlineData(1450, false, 12)]
    public void A_Drifted_Device_Gets_Only_Its_Fix(int bridgeMtu, bool vxlanDown, int vxlanMaster)
    {
        var want = Want(View());
        var actual = Complete(want) with
        {
            Bridge = Bridge(want) with { Mtu = bridgeMtu },
            Vxlan = Vxlan(want, master: vxlanMaster == 0 ? 10 : vxlanMaster) with { Up = !vxlanDown },
        };
        var steps = OverlayPlanner.PlanNetwork(want, actual);
        Assert.Single(steps);
        Assert.Equal(bridgeMtu != 1450 ? typeof(NetworkStep.SetMtu) : vxlanDown ? typeof(NetworkStep.SetUp) : typeof(NetworkStep.SetMaster), steps[0].GetType());
    }

    private static SandboxActual CompleteSandbox(NetworkWanted want)
    {
        var gateway = new LinkInfo(30, OverlayNames.Gateway(want.NetworkId), "macvlan", 0, want.BridgeMac, want.Mtu, true, Link: 11, Alias: OverlayNames.NetworkAlias(want.NetworkId));
        return new SandboxActual(
            null,
            Vxlan(want, master: 0),
            null,
            gateway,
            [.. want.BridgeAddresses.Select(a => new AddressInfo(30, a, 24))],
            [new RouteInfo(254, want.Subnet, null, 30, want.RouteSource, 4, 253)],
            [new LinkInfo(1, "lo", "", 0, default, 65536, true), gateway],
            BridgeNetfilterOff: true);
    }

    [Fact]
    public void A_Network_In_Its_Own_Namespace_Gets_Its_Vxlan_Moved_In_And_No_Bridge_And_The_Gateway_On_A_Macvlan_In_The_Node()
    {
        var want = Want(View());
        var gateway = OverlayNames.Gateway(NetworkId);
        var plan = OverlayPlanner.PlanSandboxedNetwork(want, new SandboxActual(null, null, null, null, [], [], [], BridgeNetfilterOff: false));
        Assert.True(plan.DisableBridgeNetfilter);
        Assert.Empty(plan.Clear);
        Assert.Collection(plan.Node,
            s => Assert.True(s is NetworkStep.CreateVxlanInside { Spec: { Learning: false, Proxy: true, Vni: 4100 } }));
        Assert.Collection(plan.Inside,
            s => Assert.Equal(new NetworkStep.SetUp(want.Vxlan), s),
            s => Assert.Equal(new NetworkStep.CreateGatewayOnVxlan(gateway, want.Vxlan, 1450, want.BridgeMac), s));
        Assert.Collection(plan.Gateway,
            s => Assert.Equal(new NetworkStep.EnableRouteLocalnet(gateway), s),
            s => Assert.Equal(new NetworkStep.SetAlias(gateway, OverlayNames.NetworkAlias(NetworkId)), s),
            s => Assert.Equal(new NetworkStep.AddAddress(gateway, IPAddress.Parse("10.0.1.1"), 24), s),
            s => Assert.Equal(new NetworkStep.SetUp(gateway), s),
            s => Assert.Equal(new NetworkStep.ReplaceRoute(want.Subnet, gateway, IPAddress.Parse("10.0.1.1")), s));
        Assert.Equal(1 + 1 + 2 + 5, plan.Count);
    }

    [Fact]
    public void A_Complete_Network_In_Its_Own_Namespace_Needs_Nothing()
    {
        Assert.Equal(0, OverlayPlanner.PlanSandboxedNetwork(Want(View()), CompleteSandbox(Want(View()))).Count);
    }

    [Fact]
    public void Devices_Of_The_Network_Left_In_The_Node_Namespace_Go_And_A_Gateway_Without_Its_Vxlan_Is_Made_Again()
    {
        var want = Want(View());
        var gateway = OverlayNames.Gateway(NetworkId);
        var complete = CompleteSandbox(want);
        LinkInfo Ours(int i, string name, string kind, string? task = null) =>
            new(i, name, kind, 0, default, 1450, true, Alias: task is null ? OverlayNames.NetworkAlias(NetworkId) : OverlayNames.TaskAlias(NetworkId, task));
        // The layout before networks had namespaces: bridge, vxlan and a task veth in the node's namespace.
        var old = complete with
        {
            NodeLinks = [.. complete.NodeLinks, Ours(40, want.Bridge, "bridge"), Ours(41, want.Vxlan, "vxlan"), Ours(42, "vtabc", "veth", "t1"),
                new LinkInfo(43, "ps-other", "bridge", 0, default, 1450, true, Alias: OverlayNames.NetworkAlias("another"))],
        };
        var plan = OverlayPlanner.PlanSandboxedNetwork(want, old);
        Assert.Equal([new NetworkStep.DeleteLink("vtabc"), new NetworkStep.DeleteLink(want.Vxlan), new NetworkStep.DeleteLink(want.Bridge)], plan.Node);
        Assert.Empty(plan.Inside);
        Assert.Empty(plan.Gateway);

        // The layout with a bridge in the network's namespace: the bridge and the gateway veth's end
        // there go, the node's veth end too, and the gateway comes back as a macvlan on the vxlan device.
        var bridged = complete with
        {
            Bridge = Bridge(want),
            GatewayPeer = new LinkInfo(3, OverlayNames.GatewayPeer, "veth", 10, default, 1450, true, Link: 30),
            Gateway = complete.Gateway! with { Kind = "veth", Link = 3 },
        };
        var moved = OverlayPlanner.PlanSandboxedNetwork(want, bridged);
        Assert.Equal([new NetworkStep.DeleteLink(OverlayNames.GatewayPeer), new NetworkStep.DeleteLink(want.Bridge)], moved.Clear);
        Assert.Equal([new NetworkStep.DeleteLink(gateway)], moved.Node);
        Assert.Equal([new NetworkStep.CreateGatewayOnVxlan(gateway, want.Vxlan, 1450, want.BridgeMac)], moved.Inside);
        Assert.Contains(new NetworkStep.AddAddress(gateway, IPAddress.Parse("10.0.1.1"), 24), moved.Gateway);

        // The namespace was made again (the vxlan device, and the gateway macvlan on it, went with the old one).
        var lone = OverlayPlanner.PlanSandboxedNetwork(want, complete with { Vxlan = null });
        Assert.Equal(new NetworkStep.DeleteLink(gateway), lone.Node[0]);
        Assert.IsType<NetworkStep.CreateVxlanInside>(lone.Node[1]);
        Assert.Equal([new NetworkStep.SetUp(want.Vxlan), new NetworkStep.CreateGatewayOnVxlan(gateway, want.Vxlan, 1450, want.BridgeMac)], lone.Inside);
        Assert.Contains(new NetworkStep.AddAddress(gateway, IPAddress.Parse("10.0.1.1"), 24), lone.Gateway);

        // A vxlan device with another VNI is deleted inside before the new one is moved in, and the gateway with it.
        var vni = OverlayPlanner.PlanSandboxedNetwork(want, complete with { Vxlan = Vxlan(want, master: 0, vni: 9) });
        Assert.Equal([new NetworkStep.DeleteLink(want.Vxlan)], vni.Clear);
        Assert.Equal([new NetworkStep.DeleteLink(gateway)], vni.Node.Take(1));
        Assert.IsType<NetworkStep.CreateVxlanInside>(vni.Node[1]);
        Assert.Equal([new NetworkStep.SetUp(want.Vxlan), new NetworkStep.CreateGatewayOnVxlan(gateway, want.Vxlan, 1450, want.BridgeMac)], vni.Inside);
    }

    [Fact]
    public void Peers_Are_The_Addresses_On_Other_Nodes_With_Derived_Macs()
    {
        var peers = OverlayPlanner.Peers([
            new NetworkEndpoint("10.0.1.2/24", "me", "192.168.1.10", TaskId: "local"),
            new NetworkEndpoint("10.0.1.3/24", "n2", "192.168.1.11", TaskId: "t3"),
            new NetworkEndpoint("10.0.1.4/24", "n3", "192.168.1.12"),
            new NetworkEndpoint("10.0.1.3/24", "n9", "192.168.1.99", TaskId: "duplicate"),
        ], "me");
        Assert.Equal(
            [new Peer(IPAddress.Parse("10.0.1.3"), MacAddress.Parse("02:42:0a:00:01:03"), IPAddress.Parse("192.168.1.11")),
             new Peer(IPAddress.Parse("10.0.1.4"), MacAddress.Parse("02:42:0a:00:01:04"), IPAddress.Parse("192.168.1.12"))],
            peers);
    }

    [Fact]
    public void Peer_Plan_Adds_What_Is_Missing_Moves_What_Moved_And_Removes_The_Rest()
    {
        Peer P(int host, int node) => new(IPAddress.Parse($"10.0.1.{host}"), MacAddress.Parse(NetworkEndpoint.MacOf($"10.0.1.{host}")), IPAddress.Parse($"192.168.1.{node}"));
        NeighbourEntry N(Peer p, ushort state = 0x80) => new(11, p.Address, p.Mac, state);
        FdbEntry F(Peer p, int node) => new(11, p.Mac, IPAddress.Parse($"192.168.1.{node}"), 0x80, 2);
        var same = P(3, 11);
        var moved = P(4, 12);
        var added = P(5, 13);
        var gone = P(6, 14);
        var plan = OverlayPlanner.PlanPeers([same, moved, added],
            [N(same), N(moved), N(gone)],
            [F(same, 11), F(moved, 99), F(gone, 14)]);
        Assert.Equal([added], plan.Replace);
        Assert.Equal([gone.Address], plan.DeleteNeighbours);
        Assert.Equal([moved, added], plan.ReplaceFdb);
        Assert.Equal([(moved.Mac, (IPAddress?)IPAddress.Parse("192.168.1.99")), (gone.Mac, IPAddress.Parse("192.168.1.14"))], plan.DeleteFdb);

        Assert.True(OverlayPlanner.PlanPeers([same], [N(same)], [F(same, 11)]).IsEmpty);
        // An entry the kernel learned (not permanent) for a wanted address is made permanent.
        Assert.Equal([same], OverlayPlanner.PlanPeers([same], [N(same, state: 0x02)], [F(same, 11)]).Replace);
    }

    [Fact]
    public void A_Macvlan_Attachment_Is_Created_When_Missing_Left_Alone_When_Right_And_Replaces_An_Old_Veth()
    {
        var want = new AttachmentWanted("", OverlayNames.TaskAlias(NetworkId, "t1"), "eth1", MacAddress.Parse("02:42:0a:00:01:02"), IPAddress.Parse("10.0.1.2"), 24, 1450, "");
        var lo = new LinkInfo(1, "lo", "", 0, default, 65536, true);
        var fresh = OverlayPlanner.PlanMacvlanAttachment(want, null, [], new LinkInfo(1, "lo", "", 0, default, 65536, false), null);
        Assert.True(fresh is { Create: true, DeleteHostEnd: false, SetTaskUp: true, SetLoopbackUp: true });
        Assert.Equal([(want.Address, 24)], fresh.AddAddresses);

        var task = new LinkInfo(2, "eth1", "macvlan", 0, want.Mac, 1450, true, Link: 11, Alias: want.Alias);
        Assert.True(OverlayPlanner.PlanMacvlanAttachment(want, task, [new AddressInfo(2, want.Address, 24)], lo, null).IsEmpty);

        var drifted = OverlayPlanner.PlanMacvlanAttachment(want, task with { Mtu = 1500, Up = false }, [new AddressInfo(2, IPAddress.Parse("10.0.1.9"), 24)], lo, null);
        Assert.True(drifted is { Create: false, SetTaskMtu: true, SetTaskUp: true, SetTaskMac: false });
        Assert.Equal([(want.Address, 24)], drifted.AddAddresses);
        Assert.Equal([(IPAddress.Parse("10.0.1.9"), 24)], drifted.DeleteAddresses);

        // Made, but the attach stopped before naming it: still ours (the caller sets the alias).
        Assert.True(OverlayPlanner.PlanMacvlanAttachment(want, task with { Alias = "" }, [new AddressInfo(2, want.Address, 24)], lo, null).IsEmpty);

        // The veth of the layout before: its host end goes (its task end with it) and the macvlan comes.
        var oldHost = new LinkInfo(20, OverlayNames.Veth("t1", NetworkId), "veth", 10, default, 1450, true);
        var oldTask = new LinkInfo(2, "eth1", "veth", 0, want.Mac, 1450, true, Link: 20);
        Assert.True(OverlayPlanner.PlanMacvlanAttachment(want, oldTask, [new AddressInfo(2, want.Address, 24)], lo, oldHost) is { DeleteHostEnd: true, Create: true });

        // Somebody else's eth1 in the task (another veth, a macvlan of another task): refused with a reason.
        var error = Assert.Throws<InvalidOperationException>(() => OverlayPlanner.PlanMacvlanAttachment(want, oldTask, [], lo, null));
        Assert.Contains("eth1 already exists", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => OverlayPlanner.PlanMacvlanAttachment(want, task with { Alias = OverlayNames.TaskAlias(NetworkId, "t2") }, [], lo, null));
    }

    [Fact]
    public void An_Attachment_Is_Created_When_Missing_And_Left_Alone_When_Right()
    {
        var want = new AttachmentWanted("vt0123", "alias", "eth0", MacAddress.Parse("02:42:0a:00:01:02"), IPAddress.Parse("10.0.1.2"), 24, 1450, "ps-x");
        var fresh = OverlayPlanner.PlanAttachment(want, null, 10, null, [], new LinkInfo(1, "lo", "", 0, default, 65536, false));
        Assert.True(fresh is { Create: true, DeleteHostEnd: false, SetTaskUp: true, SetLoopbackUp: true });

        var host = new LinkInfo(20, "vt0123", "veth", 10, default, 1450, true);
        var task = new LinkInfo(2, "eth0", "veth", 0, want.Mac, 1450, true, Link: 20);
        var right = OverlayPlanner.PlanAttachment(want, host, 10, task, [new AddressInfo(2, want.Address, 24)], new LinkInfo(1, "lo", "", 0, default, 65536, true));
        Assert.True(right.IsEmpty);

        var drifted = OverlayPlanner.PlanAttachment(want, host with { Master = 0 }, 10, task with { Mtu = 1500 },
            [new AddressInfo(2, IPAddress.Parse("10.0.1.9"), 24)], new LinkInfo(1, "lo", "", 0, default, 65536, true));
        Assert.True(drifted is { Create: false, SetHostMaster: true, SetTaskMtu: true });
        Assert.Equal([(want.Address, 24)], drifted.AddAddresses);
        Assert.Equal([(IPAddress.Parse("10.0.1.9"), 24)], drifted.DeleteAddresses);

        // The host end alone (its namespace is gone): made again.
        Assert.True(OverlayPlanner.PlanAttachment(want, host, 10, null, [], null) is { DeleteHostEnd: true, Create: true });
        // Somebody else's eth0 in the task: refused with a reason.
        var error = Assert.Throws<InvalidOperationException>(() => OverlayPlanner.PlanAttachment(want, null, 10, task with { Link = 0 }, [], null));
        Assert.Contains("eth0 already exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Gateway_Attachments_Default_Route_Is_Set_Unless_The_Task_Already_Has_It_Through_That_Interface()
    {
        var via = IPAddress.Parse("172.18.0.1");
        var eth0 = new LinkInfo(2, "eth0", "veth", 0, default, 1500, true, Link: 20);
        RouteInfo Default(IPAddress? gateway, int index) => new(254, new IPNetwork(IPAddress.Any, 0), gateway, index, null, 3, 0);

        // Asked for none (an overlay's or ingress's interface): nothing to do.
        Assert.False(OverlayPlanner.NeedsDefaultRoute(null, null, []));
        // A new interface, or one whose namespace has no default route yet (an attach cut short): set it.
        Assert.True(OverlayPlanner.NeedsDefaultRoute(via, null, [Default(via, 2)]));
        Assert.True(OverlayPlanner.NeedsDefaultRoute(via, eth0, [new RouteInfo(254, IPNetwork.Parse("172.18.0.1/32"), null, 2, null, 3, 253)]));
        // Through another gateway or interface: replaced.
        Assert.True(OverlayPlanner.NeedsDefaultRoute(via, eth0, [Default(IPAddress.Parse("10.0.1.1"), 2)]));
        Assert.True(OverlayPlanner.NeedsDefaultRoute(via, eth0, [Default(via, 3)]));
        // Already there (a node host restart finds the task as it was): left alone.
        Assert.False(OverlayPlanner.NeedsDefaultRoute(via, eth0, [Default(via, 2)]));
    }

    [Fact]
    public void A_Network_No_Longer_Wanted_Goes_Unless_A_Task_Here_Uses_It_And_Then_Only_When_A_New_Network_Needs_Its_Vni()
    {
        OwnedNetwork Owned(string id, uint vni) => new(id, null, "vx-" + id, "/run/x/" + id, vni);
        NetworkView Wanted(string id, uint vni) => new(id, id, vni, "10.0.9.0/24", "10.0.9.1");
        var owned = new[] { Owned("keep", 4100), Owned("idle", 4101), Owned("used", 4102), Owned("usedvni", 4103), Owned(GatewayBridge.NetworkId, 0) };
        var wanted = new Dictionary<string, NetworkView> { ["keep"] = Wanted("keep", 4100), ["new"] = Wanted("new", 4103) };
        var used = new HashSet<string> { "used", "usedvni", "keep" };

        var removed = OverlayPlanner.PlanRemovals(owned, wanted, used, new HashSet<string>());

        // "usedvni": a task that is going still has an interface on it, but the managers gave its VXLAN id to "new".
        Assert.Equal(["idle", "usedvni"], removed);
        Assert.Equal(["idle"], OverlayPlanner.PlanRemovals(owned, wanted, used, new HashSet<string> { "new" }));
        Assert.Equal(["keep", "idle", "usedvni"], OverlayPlanner.PlanRemovals(owned, wanted, used, new HashSet<string> { "keep" }));
    }

    [Theory]
    [InlineData("10.250.0.0/25", "10.250.0.2/24")]
    [InlineData("10.250.0.128/25", "10.250.0.2/24")]
    [InlineData("10.0.0.0/8", "10.250.0.2/24")]
    [InlineData("192.168.1.10/32", "192.168.1.10/24")]
    [InlineData("10.251.0.0/24", null)]
    public void A_Subnet_Overlapping_A_Node_Address_Either_Way_Is_Found(string subnet, string? conflict)
    {
        AddressInfo[] node = [new(2, IPAddress.Parse("10.250.0.2"), 24), new(3, IPAddress.Parse("192.168.1.10"), 24), new(4, IPAddress.Parse("fd00::1"), 64)];

        var found = OverlayPlanner.ConflictingAddress(IPNetwork.Parse(subnet), node);

        Assert.Equal(conflict, found?.ToString());
    }

    [Fact]
    public void Sweep_Takes_Only_Our_Devices_Nothing_Wants_Veths_First()
    {
        LinkInfo L(int i, string name, string kind, string alias) => new(i, name, kind, 0, default, 1500, true, Alias: alias);
        var links = new[]
        {
            L(1, "lo", "", ""),
            L(2, "ps-keepnet", "bridge", OverlayNames.NetworkAlias("keepnet")),
            L(3, "ps-oldnet0", "bridge", OverlayNames.NetworkAlias("oldnet0")),
            L(4, "vx-oldnet0", "vxlan", OverlayNames.NetworkAlias("oldnet0")),
            L(5, "vtaaaa", "veth", OverlayNames.TaskAlias("keepnet", "keeptask")),
            L(6, "vtbbbb", "veth", OverlayNames.TaskAlias("keepnet", "oldtask")),
            L(7, "vtcccc", "veth", OverlayNames.TaskAlias("oldnet0", "keeptask")),
            L(8, "ps-lookalike", "bridge", ""),
        };
        var sweep = OverlayPlanner.PlanSweep(links, new HashSet<string> { "keepnet" }, new HashSet<string> { "keeptask" });
        Assert.Equal(["vtbbbb", "vtcccc", "vx-oldnet0", "ps-oldnet0"], sweep.Select(l => l.Name));
    }
}
