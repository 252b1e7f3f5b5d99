using System.Collections.Immutable;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Contracts;
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
        { "reserved name", new NetworkSpec("host"), "'host' is the name of one of docker's own host networks" },
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
        { "encrypted", Option(NetworkSpec.EncryptedOption, "true"), "--opt encrypted: encrypted overlays are not supported: ProtoSwarm has no IPsec (ESP) encryption" },
        { "encrypted empty", Option(NetworkSpec.EncryptedOption, ""), "--opt encrypted: encrypted overlays are not supported" },
        { "vni", Option(NetworkSpec.VxlanIdOption, "4097"), "--opt com.docker.network.driver.overlay.vxlanid_list: the VXLAN id is allocated by the swarm" },
    };

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
