using System.Collections.Immutable;
using MessagePack;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Networks.TestNetworks;

namespace ProtoSwarm.Tests.Networks;

public sealed class NetworkCommandsTests
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;

    [Fact]
    public void Without_A_Subnet_A_Network_Gets_The_First_Free_24_Of_The_Default_Pool_And_Its_First_Address()
    {
        var existing = new[] { Ingress(), Network("n1", "front", "10.0.1.0/24", 4097) };

        var (created, rejected) = NetworkCommands.Create(new NetworkSpec("back"), existing, "n2", T0);

        Assert.Null(rejected);
        Assert.Equal(("10.0.2.0/24", "10.0.2.1", 4098u), (created!.Subnet, created.Gateway, created.Vni));
        Assert.Equal(NetworkSpec.OverlayDriver, created.Spec.Driver);
    }

    [Fact]
    public void A_Free_24_Is_Found_Past_A_Wider_Subnet_And_Vnis_Fill_Gaps_From_4096()
    {
        var existing = new[] { Network("n1", "wide", "10.0.0.0/16", 4097) };

        var (created, _) = NetworkCommands.Create(new NetworkSpec("next"), existing, "n2", T0);

        Assert.Equal(("10.1.0.0/24", 4096u), (created!.Subnet, created.Vni));
    }

    [Fact]
    public void A_Given_Subnet_And_Gateway_Are_Kept()
    {
        var (created, rejected) = NetworkCommands.Create(new NetworkSpec("db", Subnet: "172.20.0.0/16", Gateway: "172.20.0.254"), [], "n1", T0);

        Assert.Null(rejected);
        Assert.Equal(("172.20.0.0/16", "172.20.0.254"), (created!.Subnet, created.Gateway));
    }

    [Fact]
    public void An_Overlapping_Subnet_Is_Refused_Naming_The_Network_It_Overlaps()
    {
        var existing = new[] { Network("n1", "front", "10.0.0.0/16") };

        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("back", Subnet: "10.0.9.0/24"), existing, "n2", T0);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains("--subnet: 10.0.9.0/24 overlaps network front (10.0.0.0/16)", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Subnet_Holding_A_Nodes_Address_Is_Refused_Naming_The_Node_And_Its_Address()
    {
        var w2 = TestNodes.Worker("node-w2", "w2") with { Status = new NodeStatus(NodeState.Ready, "", "10.250.0.3", T0) };

        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("underlap", Subnet: "10.250.0.0/25"), [], "n1", T0, [w2]);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains("--subnet: 10.250.0.0/25 holds the address 10.250.0.3 of node w2 (node-w2)", rejected.Reason, StringComparison.Ordinal);
        Assert.Null(NetworkCommands.Create(new NetworkSpec("apart", Subnet: "10.250.1.0/25"), [], "n1", T0, [w2]).Rejected);
    }

    [Fact]
    public void A_Managers_Address_With_Its_Port_Counts_Too_And_The_Default_Pool_Skips_Every_Nodes_Address()
    {
        var m1 = TestNodes.Manager("node-m1", "m1") with { ManagerStatus = new ManagerStatus(true, Reachability.Reachable, "10.0.3.7:2377") };

        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("db", Subnet: "10.0.3.0/24"), [], "n1", T0, [m1]);
        Assert.Contains("holds the address 10.0.3.7 of node m1", rejected!.Reason, StringComparison.Ordinal);

        // TestNodes give every node 10.0.0.1: the first free /24 is then 10.0.1.0/24, not the node's own.
        var (created, _) = NetworkCommands.Create(new NetworkSpec("next"), [], "n1", T0, [TestNodes.Worker("node-w1")]);
        Assert.Equal("10.0.1.0/24", created!.Subnet);
    }

    [Fact]
    public void An_Exhausted_Default_Pool_Is_Refused_With_The_Way_Out()
    {
        var existing = new[] { Network("n1", "everything", "10.0.0.0/8") };

        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("more"), existing, "n2", T0);

        Assert.Contains("default address pool 10.0.0.0/8 has no /24 left", rejected!.Reason, StringComparison.Ordinal);
        Assert.Contains("give a --subnet outside it", rejected.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, NetworkSpec, string> InvalidSpecs() => new()
    {
        { "bridge driver", new NetworkSpec("n", Driver: "bridge"), "--driver: 'bridge' is not a driver swarm networks can use" },
        { "bad name", new NetworkSpec("my.net"), "'my.net' is not a valid network name" },
        { "reserved name", new NetworkSpec("host"), "host is a pre-defined network and cannot be created" },
        { "long name", new NetworkSpec(new string('a', 64)), "is not a valid network name" },
        { "not a cidr", new NetworkSpec("n", Subnet: "10.0.0.0"), "--subnet: '10.0.0.0' is not in CIDR notation" },
        { "prefix /30", new NetworkSpec("n", Subnet: "10.9.0.0/30"), "outside /8../29" },
        { "gateway outside", new NetworkSpec("n", Subnet: "10.9.0.0/24", Gateway: "10.9.1.1"), "--gateway: 10.9.1.1 is not a host address of 10.9.0.0/24" },
        { "gateway is broadcast", new NetworkSpec("n", Subnet: "10.9.0.0/24", Gateway: "10.9.0.255"), "is not a host address" },
        { "gateway alone", new NetworkSpec("n", Gateway: "10.9.0.1"), "--gateway: 10.9.0.1 needs the subnet it belongs to" },
        { "mtu text", Mtu("big"), "--opt com.docker.network.driver.mtu: 'big' is not an MTU; give a number from 576 to 9000" },
        { "mtu small", Mtu("500"), "'500' is not an MTU" },
        { "mtu large", Mtu("9001"), "'9001' is not an MTU" },
        { "attachable ingress", new NetworkSpec("n", Ingress: true, Attachable: true), "the ingress network cannot be attachable" },
        { "range not a cidr", Ranged("10.9.0.128"), "--ip-range: '10.9.0.128' is not in CIDR notation" },
        { "range host bits", Ranged("10.9.0.130/25"), "--ip-range: '10.9.0.130/25' has host bits set; the range is 10.9.0.128/25" },
        { "range outside", Ranged("10.10.0.0/25"), "--ip-range: no matching subnet for range 10.10.0.0/25: it is not inside --subnet 10.9.0.0/24; give a range inside it, such as 10.9.0.128/25" },
        { "range wider", Ranged("10.9.0.0/16"), "--ip-range: no matching subnet for range 10.9.0.0/16" },
        { "range of the broadcast", Ranged("10.9.0.255/32"), "--ip-range: 10.9.0.255/32 holds no address a task can get (only the broadcast address of 10.9.0.0/24)" },
        { "range alone", new NetworkSpec("n", IpRange: "10.9.0.128/25"), "--ip-range: every ip-range or gateway must have a corresponding subnet" },
        { "aux alone", Aux("", ("r", "10.9.0.130")), "--aux-address r=10.9.0.130: no matching subnet for aux-address 10.9.0.130; an auxiliary address is one of the network's subnet, so give --subnet as well" },
        { "aux outside", Aux("10.9.0.0/24", ("r", "10.9.1.5")), "--aux-address r=10.9.1.5: no matching subnet for aux-address 10.9.1.5: it is not inside --subnet 10.9.0.0/24" },
        { "aux not an ip", Aux("10.9.0.0/24", ("r", "router")), "--aux-address r=router: 'router' is not an IPv4 address" },
        { "aux no name", Aux("10.9.0.0/24", ("", "10.9.0.5")), "--aux-address =10.9.0.5: the address has no name" },
        { "aux broadcast", Aux("10.9.0.0/24", ("r", "10.9.0.255")), "--aux-address r=10.9.0.255: 10.9.0.255 is the broadcast address of 10.9.0.0/24" },
        { "aux is the gateway given", Aux("10.9.0.0/24", ("r", "10.9.0.254")) with { Gateway = "10.9.0.254" }, "--aux-address r=10.9.0.254: 10.9.0.254 is the network's gateway (--gateway)" },
        { "aux is the default gateway", Aux("10.9.0.0/24", ("r", "10.9.0.1")), "--aux-address r=10.9.0.1: 10.9.0.1 is the network's gateway (by default the first address of --subnet); give another address, or give --gateway elsewhere" },
        { "aux is the range's gateway", Aux("10.9.0.0/24", ("r", "10.9.0.128")) with { IpRange = "10.9.0.128/25" }, "10.9.0.128 is the network's gateway (by default the first address of --ip-range)" },
        { "encrypted", Option(NetworkSpec.EncryptedOption, "true"), "--opt encrypted: encrypted overlays are not supported: ProtoSwarm has no IPsec (ESP) encryption" },
        { "encrypted empty", Option(NetworkSpec.EncryptedOption, ""), "--opt encrypted: encrypted overlays are not supported" },
        { "vni", Option(NetworkSpec.VxlanIdOption, "4097"), "--opt com.docker.network.driver.overlay.vxlanid_list: the VXLAN id is allocated by the swarm" },
    };

    private static NetworkSpec Ranged(string range) => new("n", Subnet: "10.9.0.0/24", IpRange: range);

    private static NetworkSpec Aux(string subnet, params (string Name, string Ip)[] aux) =>
        new("n", Subnet: subnet, AuxAddresses: ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, aux.Select(a => KeyValuePair.Create(a.Name, a.Ip))));

    [Fact]
    public void An_Ip_Range_And_Aux_Addresses_Are_Kept_In_The_Spec_And_The_Gateway_Defaults_To_The_Ranges_First_Address()
    {
        var spec = Aux("10.9.0.0/24", ("r", "10.9.0.130"), ("s", "10.9.0.5")) with { IpRange = "10.9.0.128/25" };

        var (created, rejected) = NetworkCommands.Create(spec, [], "n1", T0);

        Assert.Null(rejected);
        Assert.Equal(("10.9.0.0/24", "10.9.0.128", "10.9.0.128/25"), (created!.Subnet, created.Gateway, created.Spec.IpRange));
        Assert.Equal(["r=10.9.0.130", "s=10.9.0.5"], created.Spec.AuxAddresses.Select(a => $"{a.Key}={a.Value}"));
    }

    [Theory]
    [InlineData("10.9.0.0/25", "", "10.9.0.1")]           // a range at the subnet's start: not its network address
    [InlineData("10.9.0.200/32", "", "10.9.0.200")]       // a range of one address
    [InlineData("10.9.0.128/25", "10.9.0.1", "10.9.0.1")] // a gateway outside the range, as docker allows
    public void The_Gateway_With_An_Ip_Range_Is_The_One_Given_Or_The_Ranges_First_Host(string range, string gateway, string expected)
    {
        var (created, rejected) = NetworkCommands.Create(new NetworkSpec("n", Subnet: "10.9.0.0/24", Gateway: gateway, IpRange: range), [], "n1", T0);

        Assert.Null(rejected);
        Assert.Equal(expected, created!.Gateway);
    }

    [Fact]
    public void Every_Bad_Aux_Address_Is_Named_At_Once()
    {
        var (_, rejected) = NetworkCommands.Create(Aux("10.9.0.0/24", ("a", "10.8.0.1"), ("b", "10.9.0.1"), ("c", "10.9.0.9")), [], "n1", T0);

        Assert.Contains("--aux-address a=10.8.0.1: no matching subnet", rejected!.Reason, StringComparison.Ordinal);
        Assert.Contains("--aux-address b=10.9.0.1: 10.9.0.1 is the network's gateway", rejected.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("c=10.9.0.9", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Network_Is_In_Use_While_A_Service_Names_It_Or_A_Task_Holds_An_Address_On_It()
    {
        var front = Network("n1", "front", "10.0.1.0/24");
        var byName = Service("s1", "web", ["front"]);
        var elsewhere = Service("s2", "api", ["n9"]);
        var holding = Task("t1", elsewhere, TaskState.Running, "node1", networks: new AttachedNetwork("n1", "10.0.1.2/24"));

        Assert.True(NetworkCommands.InUse(front, [byName], []));
        Assert.True(NetworkCommands.InUse(front, [elsewhere], [holding]));
        Assert.False(NetworkCommands.InUse(front, [elsewhere], [holding with { Status = holding.Status with { State = TaskState.Complete } }]));
    }

    [Fact]
    public void A_Spec_Written_Before_Ip_Ranges_Existed_Loads_Without_One_And_Allocates_As_Before()
    {
        var current = Aux("10.9.0.0/24", ("r", "10.9.0.130")) with { IpRange = "10.9.0.128/25" };

        // The spec as the earlier version wrote it: keys 0..8. And the other new keys: UpdateNode's role, NetworkList's ids in use.
        var old = MessagePackSerializer.Deserialize<NetworkSpec>(OldShapes.FirstElements(MessagePackSerializer.Serialize(current), 9));
        var update = MessagePackSerializer.Deserialize<UpdateNode>(OldShapes.FirstElements(
            MessagePackSerializer.Serialize(new UpdateNode("r1", "n1", NodeAvailability.Drain, ImmutableSortedDictionary<string, string>.Empty, [], NodeRole.Manager)), 5));
        var list = MessagePackSerializer.Deserialize<NetworkList>(OldShapes.FirstElements(MessagePackSerializer.Serialize(new NetworkList([], ["n1"])), 1));

        Assert.Equal(("", 0, "10.9.0.0/24"), (old.IpRange, old.AuxAddresses.Count, old.Subnet));
        Assert.Equal((NodeAvailability.Drain, (NodeRole?)null), (update.Availability, update.Role));
        Assert.True(list.InUse is { IsDefault: false, IsEmpty: true });
        Assert.Equal("10.9.0.1", NetworkCommands.Create(old, [], "n1", T0).Created!.Gateway);
    }

    private static NetworkSpec Option(string key, string value) =>
        new("n", Options: ImmutableSortedDictionary<string, string>.Empty.Add(key, value));

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void An_Invalid_Spec_Is_Refused_Saying_What_And_How_To_Fix(string what, NetworkSpec spec, string expected)
    {
        var (created, rejected) = NetworkCommands.Create(spec, [], "n1", T0);

        Assert.Null(created);
        Assert.True(rejected!.Reason.Contains(expected, StringComparison.Ordinal), $"{what}: {rejected.Reason}");
        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
    }

    [Fact]
    public void Every_Problem_Of_A_Spec_Is_Named_At_Once()
    {
        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("a b", Driver: "macvlan", Subnet: "nonsense"), [], "n1", T0);

        Assert.Contains("name:", rejected!.Reason, StringComparison.Ordinal);
        Assert.Contains("--driver:", rejected.Reason, StringComparison.Ordinal);
        Assert.Contains("--subnet:", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Valid_Mtu_Is_Read_From_The_Options()
    {
        var (created, _) = NetworkCommands.Create(Mtu("1400"), [], "n1", T0);

        Assert.Equal(1400, NetworkCommands.MtuOf(created!.Spec));
        Assert.Equal(0, NetworkCommands.MtuOf(new NetworkSpec("plain")));
    }

    [Fact]
    public void A_Name_In_Use_Is_A_Conflict()
    {
        var (_, rejected) = NetworkCommands.Create(new NetworkSpec("front"), [Network("n1", "front", "10.0.1.0/24")], "n2", T0);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains("A network named front already exists (n1)", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Ingress_Network_Is_10_0_0_0_24_Unless_That_Is_Taken_And_A_Swarm_Has_One()
    {
        var ingress = NetworkCommands.NewIngress([], "i1", T0)!;
        Assert.Equal(("ingress", "10.0.0.0/24", "10.0.0.1", 4096u, true), (ingress.Spec.Name, ingress.Subnet, ingress.Gateway, ingress.Vni, ingress.Spec.Ingress));

        var moved = NetworkCommands.NewIngress([Network("n1", "mine", "10.0.0.0/24")], "i1", T0)!;
        Assert.Equal("10.0.1.0/24", moved.Subnet);

        var (_, second) = NetworkCommands.Create(new NetworkSpec("ingress2", Ingress: true), [ingress], "i2", T0);
        Assert.Contains("already has an ingress network, ingress", second!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Network_Is_Found_By_Id_Name_Or_Unique_Prefix()
    {
        var networks = new[] { Network("abc123", "front", "10.0.1.0/24"), Network("abd456", "back", "10.0.2.0/24") };

        Assert.Equal("abc123", NetworkCommands.Resolve(networks, "abc123").Network!.Id);
        Assert.Equal("abd456", NetworkCommands.Resolve(networks, "back").Network!.Id);
        Assert.Equal("abd456", NetworkCommands.Resolve(networks, "abd").Network!.Id);
        Assert.Equal(RejectCode.Conflict, NetworkCommands.Resolve(networks, "ab").Rejected!.Code);
        Assert.Equal(RejectCode.NotFound, NetworkCommands.Resolve(networks, "zzz").Rejected!.Code);
    }

    [Fact]
    public void Removal_Is_Refused_While_A_Service_Is_Attached_Naming_It()
    {
        var front = Network("n1", "front", "10.0.1.0/24");
        var web = Service("s1", "web", ["n1"]);

        var rejected = NetworkCommands.RemovalProblem(front, [web], []);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains("Network front is in use by service(s) web", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Removal_Is_Refused_While_A_Task_Still_Holds_An_Address_And_Allowed_Once_It_Ended()
    {
        var front = Network("n1", "front", "10.0.1.0/24");
        var gone = Service("s1", "web", ["n1"]);
        var running = Task("t1", gone, TaskState.Running, "node1", TaskState.Shutdown, networks: new AttachedNetwork("n1", "10.0.1.2/24"));

        var rejected = NetworkCommands.RemovalProblem(front, [], [running]);
        Assert.Contains("still has 1 task(s) with an address on it (t1)", rejected!.Reason, StringComparison.Ordinal);

        Assert.Null(NetworkCommands.RemovalProblem(front, [], [running with { Status = running.Status with { State = TaskState.Shutdown } }]));
    }

    [Fact]
    public void Ingress_Is_Removable_Only_When_No_Service_Publishes_Through_It()
    {
        var ingress = Ingress();
        var published = Service("s1", "web", ports: [new PortConfig(80, 8080)]);
        var hostOnly = Service("s2", "api", ports: [new PortConfig(80, 8081, PublishMode: PublishMode.Host)]);

        var rejected = NetworkCommands.RemovalProblem(ingress, [published, hostOnly], []);
        Assert.Contains("carries the ports published by service(s) web;", rejected!.Reason, StringComparison.Ordinal);

        Assert.Null(NetworkCommands.RemovalProblem(ingress, [hostOnly], []));
    }

    private static NetworkSpec Mtu(string value) =>
        new("n", Options: ImmutableSortedDictionary<string, string>.Empty.Add(NetworkSpec.MtuOption, value));
}
