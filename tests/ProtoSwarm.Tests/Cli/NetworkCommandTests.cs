using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class NetworkCommandTests
{
    internal static NetworkObject Network(string id, string name, string subnet, uint vni, bool ingress = false, params (string Key, string Value)[] labels) =>
        new(id, new ObjectMeta(3, Joined, Joined),
            new NetworkSpec(name, Ingress: ingress, Labels: ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value)))),
            subnet, subnet.Replace(".0/24", ".1", StringComparison.Ordinal), vni);

    private static readonly NetworkObject Ingress = Network("ingressid0000000000000000a", "ingress", "10.0.0.0/24", 4096, ingress: true);
    private static readonly NetworkObject Front = Network("frontid000000000000000000b", "front", "10.0.1.0/24", 4097, false, ("tier", "web"));

    private static readonly ImmutableSortedDictionary<string, string> NoOptions = ImmutableSortedDictionary<string, string>.Empty;

    // The node's own networks as protoswarmd answers them: the bridge with the subnet it gave its bridge and one container on it.
    private static readonly LocalNetwork Bridge = new(new string('b', 64), "bridge", "bridge", Joined, "172.18.0.0/16", "172.18.0.1",
        NoOptions.Add("com.docker.network.bridge.name", "ps_gwbridge"),
        [new LocalEndpoint(new string('c', 64), "web1", "172.18.0.2/16", "02:42:ac:12:00:02", new string('e', 64))]);

    private static readonly LocalNetwork HostNetwork = new("f00d" + new string('0', 60), "host", "host", Joined, "", "", NoOptions, []);
    private static readonly LocalNetwork NoneNetwork = new("f11e" + new string('0', 60), "none", "null", Joined, "", "", NoOptions, []);
    private static readonly LocalNetworkList Local = new([Bridge, HostNetwork, NoneNetwork]);

    /// <summary>A node that answers for its local networks, and with <paramref name="swarm"/> for anything else.</summary>
    private static FakeNode WithLocal(Func<object, object> swarm) => new(request => request is ListLocalNetworks ? Local : swarm(request));

    [Fact]
    public async Task Network_Create_Sends_The_Spec_And_Prints_The_Id()
    {
        var node = new FakeNode(_ => new NetworkCreated("newid"));

        var (code, output, _) = await RunAsync(node, "network", "create", "-d", "overlay", "--subnet", "10.5.0.0/16", "--gateway", "10.5.0.254",
            "--attachable", "--internal", "--label", "tier=web", "-o", "com.docker.network.driver.mtu=1400", "front");

        Assert.Equal(0, code);
        var spec = Assert.IsType<CreateNetwork>(Assert.Single(node.Requests)).Spec;
        Assert.Equal(("front", "overlay", "10.5.0.0/16", "10.5.0.254", true, true), (spec.Name, spec.Driver, spec.Subnet, spec.Gateway, spec.Attachable, spec.Internal));
        Assert.Equal("web", spec.Labels["tier"]);
        Assert.Equal("1400", spec.Options[NetworkSpec.MtuOption]);
        Assert.Equal("newid\n", output);
    }

    [Theory]
    [InlineData("-o", "encrypted", "encrypted overlays are not supported")]
    [InlineData("-o", "encrypted=", "encrypted overlays are not supported")]
    [InlineData("--opt", "encrypted=true", "encrypted overlays are not supported")]
    [InlineData("-o", "com.docker.network.driver.overlay.vxlanid_list=4097", "the VXLAN id is allocated by the swarm")]
    public async Task Network_Create_Refuses_An_Option_The_Swarm_Cannot_Honour_Sending_Nothing(string flag, string option, string why)
    {
        var node = new FakeNode(_ => new NetworkCreated("newid"));

        var (code, _, err) = await RunAsync(node, "network", "create", flag, option, "front");

        Assert.NotEqual(0, code);
        Assert.Contains($"--opt '{option}': {why}", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Network_Create_Ingress_Asks_For_The_Routing_Mesh_Network_With_Its_Own_Subnet()
    {
        var node = new FakeNode(_ => new NetworkCreated("newingress"));

        var (code, output, _) = await RunAsync(node, "network", "create", "--driver", "overlay", "--ingress", "--subnet", "10.11.0.0/16", "my-ingress");

        Assert.Equal(0, code);
        var spec = Assert.IsType<CreateNetwork>(Assert.Single(node.Requests)).Spec;
        Assert.Equal(("my-ingress", true, false, "10.11.0.0/16"), (spec.Name, spec.Ingress, spec.Attachable, spec.Subnet));
        Assert.Equal("newingress\n", output);
    }

    [Fact]
    public async Task Network_Create_Without_Ingress_Asks_For_An_Ordinary_Overlay()
    {
        var node = new FakeNode(_ => new NetworkCreated("newid"));

        await RunAsync(node, "network", "create", "front");

        Assert.False(Assert.IsType<CreateNetwork>(Assert.Single(node.Requests)).Spec.Ingress);
    }

    [Theory]
    [InlineData("--driver=bridge", "swarm networks use the overlay driver")]
    [InlineData("--opt=novalue", "must be KEY=VALUE")]
    [InlineData("--label==x", "has no name")]
    public async Task Network_Create_Refuses_Bad_Flags_Before_Asking(string argument, string expected)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "network", "create", argument, "front");

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Network_Create_Shows_The_Managers_Refusal_Without_A_Stack_Trace()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.InvalidArgument, "Network front cannot be created: --subnet: 10.0.0.0/16 overlaps network ingress (10.0.0.0/24); choose a subnet outside it."));

        var (code, _, error) = await RunAsync(node, "network", "create", "--subnet", "10.0.0.0/16", "front");

        Assert.NotEqual(0, code);
        Assert.Contains("overlaps network ingress", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Network_Ls_Prints_Dockers_Columns_Ids_With_Q_Json_Lines_And_Filters()
    {
        var node = WithLocal(_ => new NetworkList([Ingress, Front]));

        var table = await RunAsync(node, "network", "ls");
        var quiet = await RunAsync(node, "network", "ls", "-q");
        var json = await RunAsync(node, "network", "ls", "--format", "json");
        var labelled = await RunAsync(node, "network", "ls", "-q", "-f", "label=tier=web");
        var named = await RunAsync(node, "network", "ls", "--format", "{{.Name}}", "-f", "name=ingr");

        // docker's listing: the node's bridge, host and none (scope local) among the swarm's, all by name.
        Assert.Equal(
            "NETWORK ID     NAME      DRIVER    SCOPE\n" +
            "bbbbbbbbbbbb   bridge    bridge    local\n" +
            "frontid00000   front     overlay   swarm\n" +
            "f00d00000000   host      host      local\n" +
            "ingressid000   ingress   overlay   swarm\n" +
            "f11e00000000   none      null      local\n", table.Out);
        Assert.Equal("bbbbbbbbbbbb\nfrontid00000\nf00d00000000\ningressid000\nf11e00000000\n", quiet.Out);
        var first = JsonNode.Parse(json.Out.Split('\n')[0])!;
        Assert.Equal(("bridge", "local", "bridge", ""), (first["Name"]!.GetValue<string>(), first["Scope"]!.GetValue<string>(), first["Driver"]!.GetValue<string>(), first["Labels"]!.GetValue<string>()));
        var second = JsonNode.Parse(json.Out.Split('\n')[1])!;
        Assert.Equal(("front", "swarm", "tier=web"), (second["Name"]!.GetValue<string>(), second["Scope"]!.GetValue<string>(), second["Labels"]!.GetValue<string>()));
        Assert.Equal("frontid00000\n", labelled.Out);
        Assert.Equal("ingress\n", named.Out);
    }

    [Fact]
    public async Task Network_Ls_Prints_CreatedAt_As_Gos_Time_String_As_Docker_Does()
    {
        var whole = Network("wholeid0000000000000000000", "whole", "10.0.4.0/24", 4100) with { Meta = new ObjectMeta(1, new DateTimeOffset(2026, 12, 6, 7, 45, 57, TimeSpan.Zero), Joined) };
        var node = WithLocal(_ => new NetworkList([Front, whole]));

        var json = await RunAsync(node, "network", "ls", "--format", "json", "-f", "scope=swarm");
        var template = await RunAsync(node, "network", "ls", "--format", "{{.Name}} {{.CreatedAt}}", "-f", "scope=swarm");

        Assert.Equal("2025-03-01 12:30:45.12 +0000 UTC", JsonNode.Parse(json.Out.Split('\n')[0])!["CreatedAt"]!.GetValue<string>());
        Assert.Equal("front 2025-03-01 12:30:45.12 +0000 UTC\nwhole 2026-12-06 07:45:57 +0000 UTC\n", template.Out);
    }

    [Fact]
    public async Task Network_Ls_Refuses_An_Unknown_Filter()
    {
        var (code, _, error) = await RunAsync(new FakeNode(_ => new NetworkList([])), "network", "ls", "-f", "colour=red");

        Assert.NotEqual(0, code);
        Assert.Contains("'colour' is not a filter here; use one of id, name, driver, label, scope, type, dangling", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Network_Ls_No_Trunc_Prints_Full_Ids_In_The_Table_With_Q_And_In_Json()
    {
        var node = WithLocal(_ => new NetworkList([Ingress, Front]));

        var table = await RunAsync(node, "network", "ls", "--no-trunc", "-f", "type=custom");
        var quiet = await RunAsync(node, "network", "ls", "-q", "--no-trunc");
        var json = await RunAsync(node, "network", "ls", "--no-trunc", "--format", "json");

        Assert.Equal(
            "NETWORK ID                   NAME      DRIVER    SCOPE\n" +
            "frontid000000000000000000b   front     overlay   swarm\n" +
            "ingressid0000000000000000a   ingress   overlay   swarm\n", table.Out);
        Assert.Equal($"{Bridge.Id}\n{Front.Id}\n{HostNetwork.Id}\n{Ingress.Id}\n{NoneNetwork.Id}\n", quiet.Out);
        Assert.Equal(Bridge.Id, JsonNode.Parse(json.Out.Split('\n')[0])!["ID"]!.GetValue<string>());
    }

    private static readonly NetworkObject Idle = Network("idleid0000000000000000000e", "idle", "10.0.6.0/24", 4102);

    [Theory]
    [InlineData("scope=swarm", "front,idle,ingress")]
    [InlineData("scope=local", "bridge,host,none")]
    [InlineData("scope=global", "")]
    [InlineData("scope=cluster", "")]
    [InlineData("scope=Swarm", "")]
    [InlineData("type=builtin", "bridge,host,none")]
    [InlineData("type=custom", "front,idle,ingress")]
    [InlineData("dangling=true", "idle")]
    [InlineData("dangling=1", "idle")]
    [InlineData("dangling=false", "bridge,front,host,ingress,none")]
    [InlineData("dangling=0", "bridge,front,host,ingress,none")]
    [InlineData("driver=bridge", "bridge")]
    [InlineData("driver=null", "none")]
    [InlineData("driver=host", "host")]
    [InlineData("driver=overlay", "front,idle,ingress")]
    [InlineData("name=o", "front,host,none")]
    [InlineData("id=f00d", "host")]
    [InlineData("label=tier", "front")]
    public async Task Network_Ls_Filters_By_Scope_Type_And_Dangling_As_Docker_Does(string filter, string names)
    {
        // front has a service on it (the managers say so in InUse); ingress is custom, as docker's since 17.05, and the
        // routing mesh always uses it, so it is never dangling.
        var node = WithLocal(_ => new NetworkList([Front, Idle, Ingress], [Front.Id]));

        var (code, output, _) = await RunAsync(node, "network", "ls", "--filter", filter, "--format", "{{.Name}}");

        Assert.Equal(0, code);
        Assert.Equal(names, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Network_Ls_Filters_Of_Different_Keys_All_Apply()
    {
        var node = WithLocal(_ => new NetworkList([Front, Idle, Ingress], [Front.Id]));

        var (_, output, _) = await RunAsync(node, "network", "ls", "-q", "-f", "type=custom", "-f", "dangling=false", "-f", "scope=swarm", "-f", "name=fr");

        Assert.Equal("frontid00000\n", output);
    }

    [Fact]
    public async Task Network_Create_Sends_The_Ip_Range_And_Every_Aux_Address()
    {
        var node = new FakeNode(_ => new NetworkCreated("newid"));

        var (code, output, _) = await RunAsync(node, "network", "create", "--subnet", "10.9.0.0/24", "--ip-range", "10.9.0.128/25",
            "--aux-address", "r=10.9.0.130", "--aux-address", "dns=10.9.0.3", "--gateway", "10.9.0.1", "ranged");

        Assert.Equal(0, code);
        Assert.Equal("newid\n", output);
        var spec = Assert.IsType<CreateNetwork>(Assert.Single(node.Requests)).Spec;
        Assert.Equal(("10.9.0.0/24", "10.9.0.128/25", "10.9.0.1"), (spec.Subnet, spec.IpRange, spec.Gateway));
        Assert.Equal(["dns=10.9.0.3", "r=10.9.0.130"], spec.AuxAddresses.Select(a => $"{a.Key}={a.Value}"));
    }

    [Fact]
    public async Task Network_Inspect_Shows_The_Ip_Range_And_Aux_Addresses_In_Ipam_Config_As_Docker_Only_When_Set()
    {
        var ranged = Front with
        {
            Spec = Front.Spec with
            {
                IpRange = "10.0.1.128/25",
                AuxAddresses = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("r", "10.0.1.130")]),
            },
        };

        var (_, output, _) = await RunAsync(new FakeNode(_ => new NetworkDetails(ranged)), "network", "inspect", "front");
        var (_, plain, _) = await RunAsync(new FakeNode(_ => new NetworkDetails(Front)), "network", "inspect", "front");
        var range = await RunAsync(new FakeNode(_ => new NetworkDetails(ranged)), "network", "inspect", "-f", "{{range .IPAM.Config}}{{.IPRange}} {{.AuxiliaryAddresses.r}}{{end}}", "front");

        Assert.Equal(
            "{\"Subnet\":\"10.0.1.0/24\",\"IPRange\":\"10.0.1.128/25\",\"Gateway\":\"10.0.1.1\",\"AuxiliaryAddresses\":{\"r\":\"10.0.1.130\"}}",
            JsonNode.Parse(output)![0]!["IPAM"]!["Config"]![0]!.ToJsonString());
        Assert.Equal("{\"Subnet\":\"10.0.1.0/24\",\"Gateway\":\"10.0.1.1\"}", JsonNode.Parse(plain)![0]!["IPAM"]!["Config"]![0]!.ToJsonString());
        Assert.Equal("10.0.1.128/25 10.0.1.130\n", range.Out);
    }

    [Fact]
    public async Task Network_Inspect_Prints_Dockers_Shape_With_Ipam_And_The_Vxlan_Id()
    {
        var node = new FakeNode(_ => new NetworkDetails(Front));

        var (code, output, _) = await RunAsync(node, "network", "inspect", "front");
        var template = await RunAsync(node, "network", "inspect", "-f", "{{.Name}} {{.Scope}} {{.Driver}}", "front");

        Assert.Equal(0, code);
        var inspected = Assert.Single(JsonNode.Parse(output)!.AsArray())!;
        Assert.Equal(("front", Front.Id, "swarm", "overlay"), (inspected["Name"]!.GetValue<string>(), inspected["Id"]!.GetValue<string>(), inspected["Scope"]!.GetValue<string>(), inspected["Driver"]!.GetValue<string>()));
        var config = inspected["IPAM"]!["Config"]![0]!;
        Assert.Equal(("default", "10.0.1.0/24", "10.0.1.1"), (inspected["IPAM"]!["Driver"]!.GetValue<string>(), config["Subnet"]!.GetValue<string>(), config["Gateway"]!.GetValue<string>()));
        Assert.Equal("4097", inspected["Options"]!["com.docker.network.driver.overlay.vxlanid_list"]!.GetValue<string>());
        Assert.False(inspected["Ingress"]!.GetValue<bool>());
        Assert.Equal("web", inspected["Labels"]!["tier"]!.GetValue<string>());
        Assert.Equal("front swarm overlay\n", template.Out);
    }

    private static readonly NetworkObject Data = Network("dataid0000000000000000000c", "data", "10.0.5.0/24", 4101, false, ("tier", "db")) with
    {
        Meta = new ObjectMeta(4, Joined.AddDays(2), Joined.AddDays(2)),
    };

    private static readonly NetworkObject Busy = Network("busyid0000000000000000000d", "busy", "10.0.3.0/24", 4099, false, ("tier", "web"), ("keep", "yes"));

    private static FakeNode PruneNode() => new(request => request switch
    {
        ListNetworks => new NetworkList([Ingress, Front, Data, Busy]),
        RemoveNetwork { NetworkRef: "busyid0000000000000000000d" } => new CommandRejected(RejectCode.Conflict, "Network busy is in use by service(s) web; remove them first."),
        RemoveNetwork r => new NetworkRemoved(r.NetworkRef),
        _ => throw new InvalidOperationException(),
    });

    [Fact]
    public async Task Network_Prune_Removes_Every_Unused_Network_By_Id_But_Ingress_And_Prints_Dockers_Report()
    {
        var node = PruneNode();

        var (code, output, error) = await RunAsync(node, "network", "prune", "-f");

        Assert.Equal((0, ""), (code, error));
        // busy is in use (the managers' check of `network rm` says so): skipped without a word, as docker.
        Assert.Equal("Deleted Networks:\ndata\nfront\n\n", output);
        Assert.Equal([Busy.Id, Data.Id, Front.Id], node.Requests.OfType<RemoveNetwork>().Select(r => r.NetworkRef));
        Assert.DoesNotContain(node.Requests.OfType<RemoveNetwork>(), r => r.NetworkRef == Ingress.Id || r.NetworkRef == "ingress");
    }

    [Fact]
    public async Task Network_Prune_With_Nothing_Unused_Prints_Nothing()
    {
        var node = new FakeNode(request => request switch
        {
            ListNetworks => new NetworkList([Ingress, Busy]),
            RemoveNetwork => new CommandRejected(RejectCode.Conflict, "Network busy still has 1 task(s) with an address on it (t1)."),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, error) = await RunAsync(node, "network", "prune", "--force");

        Assert.Equal((0, "", ""), (code, output, error));
    }

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("YES\n", true)]
    [InlineData("n\n", false)]
    [InlineData("", false)] // stdin not a terminal and empty: a "no", as docker reads the answer from stdin
    public async Task Network_Prune_Asks_First_As_Docker_And_Only_Yes_Goes_On(string answer, bool pruned)
    {
        var node = PruneNode();

        var (code, output, error) = await RunWithInputAsync(node, System.Text.Encoding.UTF8.GetBytes(answer), CancellationToken.None, "network", "prune");

        Assert.Equal((0, ""), (code, error));
        Assert.StartsWith(
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ",
            output, StringComparison.Ordinal);
        Assert.Equal(pruned, output.EndsWith("Deleted Networks:\ndata\nfront\n\n", StringComparison.Ordinal));
        Assert.Equal(pruned, node.Requests.OfType<RemoveNetwork>().Any());
    }

    [Theory]
    [InlineData("label=tier=web", "front")]
    [InlineData("label=tier", "data,front")]
    [InlineData("label=tier=web,label=keep", "")]
    [InlineData("label!=tier=web", "data")]
    [InlineData("label!=tier=web,label!=keep", "data,front")]
    [InlineData("until=2025-03-02T00:00:00Z", "front")]
    [InlineData("until=1740873600", "front")]
    [InlineData("until=2025-03-04T00:00:00Z,label=tier=db", "data")]
    public async Task Network_Prune_Filters_As_Dockers_Managers_Do(string filters, string removed)
    {
        var node = PruneNode();
        var args = new List<string> { "network", "prune", "-f" };
        args.AddRange(filters.Split(',').SelectMany(f => new[] { "--filter", f }));

        var (code, _, error) = await RunAsync(node, [.. args]);

        Assert.Equal((0, ""), (code, error));
        var asked = node.Requests.OfType<RemoveNetwork>().Select(r => r.NetworkRef).Where(id => id != Busy.Id);
        Assert.Equal(removed, string.Join(',', asked.Select(id => new[] { Front, Data }.Single(n => n.Id == id).Spec.Name)));
    }

    [Fact]
    public void Network_Prune_Candidates_Never_Hold_An_Ingress_Network_Whatever_The_Filters()
    {
        var custom = Network("myingress00000000000000000", "my-ingress", "10.9.0.0/24", 4100, ingress: true, ("tier", "web"));

        var candidates = ProtoSwarm.Cli.Commands.NetworkCommands.PruneCandidates([Ingress, custom, Front], ["label=tier=web"], null);

        Assert.Equal(["front"], candidates.Select(n => n.Spec.Name));
    }

    [Theory]
    [InlineData("scope=swarm", "'scope' is not a filter here; use one of label, label!, until")]
    [InlineData("until=yesterday", "until takes a time")]
    [InlineData("dangling", "must be key=value")]
    public async Task Network_Prune_Refuses_A_Bad_Filter_Before_Asking(string filter, string expected)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "network", "prune", "-f", "--filter", filter);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Network_Prune_Refuses_Two_Until_Filters_Before_Asking()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "network", "prune", "-f", "--filter", "until=1h", "--filter", "until=2h");

        Assert.Equal(1, code);
        Assert.Contains("more than one until filter specified", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    private static readonly NetworkUsage FrontUsage = new(
        [
            new NetworkEndpoint("10.0.1.3/24", "node1", "192.168.1.1", "task1", "svc1", "web.1.task1", Ready: true),
            new NetworkEndpoint("10.0.1.4/24", "node2", "192.168.1.2", "task2", "svc1", "web.2.task2", Ready: true),
            new NetworkEndpoint("10.0.1.6/24", "node1", "192.168.1.1", "task3", "svc2", "api.1.task3", Ready: true),
        ],
        [
            new NetworkService("svc1", "web", Vip: "10.0.1.2", Ports: [new PortConfig(80, 8080), new PortConfig(81, 9090, PublishMode: PublishMode.Host)]),
            new NetworkService("svc2", "api", Vip: "10.0.1.5"),
        ],
        [new NetworkPeer("node1", "host-one", "192.168.1.1"), new NetworkPeer("node2", "host-two", "192.168.1.2")]);

    private static FakeNode InspectNode(NetworkUsage? usage, string localNode = "node1") => new(request => request switch
    {
        InspectNetwork => new NetworkDetails(Front, usage),
        GetInfo => Info(localNode),
        _ => throw new InvalidOperationException(),
    });

    [Fact]
    public async Task Network_Inspect_Shows_This_Nodes_Tasks_As_Containers_And_The_Nodes_With_The_Network_As_Peers()
    {
        var (code, output, error) = await RunAsync(InspectNode(FrontUsage), "network", "inspect", "front");

        Assert.Equal((0, ""), (code, error));
        var inspected = Assert.Single(JsonNode.Parse(output)!.AsArray())!.AsObject();
        Assert.Equal(
            ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable", "Ingress", "Containers", "Options", "Labels", "Peers"],
            inspected.Select(p => p.Key));
        var containers = inspected["Containers"]!.AsObject();
        Assert.Equal(["task1", "task3"], containers.Select(c => c.Key));
        var web = containers["task1"]!;
        Assert.Equal(("web.1.task1", "02:42:0a:00:01:03", "10.0.1.3/24", ""),
            (web["Name"]!.GetValue<string>(), web["MacAddress"]!.GetValue<string>(), web["IPv4Address"]!.GetValue<string>(), web["IPv6Address"]!.GetValue<string>()));
        Assert.Matches("^[0-9a-f]{64}$", web["EndpointID"]!.GetValue<string>());
        Assert.NotEqual(web["EndpointID"]!.GetValue<string>(), containers["task3"]!["EndpointID"]!.GetValue<string>());
        Assert.Equal("[{\"Name\":\"host-one\",\"IP\":\"192.168.1.1\"},{\"Name\":\"host-two\",\"IP\":\"192.168.1.2\"}]", inspected["Peers"]!.ToJsonString());
        Assert.Equal("4097", inspected["Options"]!["com.docker.network.driver.overlay.vxlanid_list"]!.GetValue<string>());
    }

    [Fact]
    public async Task Network_Inspect_Verbose_Adds_Each_Services_Vip_Ingress_Ports_And_Tasks_Across_The_Nodes()
    {
        var plain = await RunAsync(InspectNode(FrontUsage), "network", "inspect", "front");
        var (code, output, _) = await RunAsync(InspectNode(FrontUsage), "network", "inspect", "-v", "front");
        var template = await RunAsync(InspectNode(FrontUsage), "network", "inspect", "--verbose", "-f", "{{.Services.web.VIP}}", "front");

        Assert.Equal(0, code);
        Assert.Null(Assert.Single(JsonNode.Parse(plain.Out)!.AsArray())!["Services"]);
        var services = Assert.Single(JsonNode.Parse(output)!.AsArray())!["Services"]!.AsObject();
        Assert.Equal(["api", "web"], services.Select(s => s.Key));
        var web = services["web"]!;
        Assert.Equal(("10.0.1.2", "[\"Target: 80, Publish: 8080\"]", 0), (web["VIP"]!.GetValue<string>(), web["Ports"]!.ToJsonString(), web["LocalLBIndex"]!.GetValue<int>()));
        var tasks = web["Tasks"]!.AsArray();
        Assert.Equal(
            [("web.1.task1", "10.0.1.3", "192.168.1.1"), ("web.2.task2", "10.0.1.4", "192.168.1.2")],
            tasks.Select(t => (t!["Name"]!.GetValue<string>(), t["EndpointIP"]!.GetValue<string>(), t["Info"]!["Host IP"]!.GetValue<string>())));
        Assert.Matches("^[0-9a-f]{64}$", tasks[0]!["EndpointID"]!.GetValue<string>());
        Assert.Equal("[]", services["api"]!["Ports"]!.ToJsonString());
        Assert.Equal("10.0.1.2\n", template.Out);
    }

    [Fact]
    public async Task Network_Inspect_Of_A_Network_With_Nothing_On_This_Node_Shows_Null_Containers_As_Docker()
    {
        var elsewhere = await RunAsync(InspectNode(FrontUsage, localNode: "node3"), "network", "inspect", "front");
        var unused = await RunAsync(InspectNode(null), "network", "inspect", "front");

        var seen = Assert.Single(JsonNode.Parse(elsewhere.Out)!.AsArray())!.AsObject();
        Assert.True(seen.ContainsKey("Containers"));
        Assert.Null(seen["Containers"]);
        Assert.Equal(2, seen["Peers"]!.AsArray().Count);
        var idle = Assert.Single(JsonNode.Parse(unused.Out)!.AsArray())!.AsObject();
        Assert.Null(idle["Containers"]);
        Assert.False(idle.ContainsKey("Peers"));
    }

    [Fact]
    public async Task Network_Inspect_Of_Ingress_Shows_This_Nodes_Own_End_As_Dockers_Ingress_Sandbox()
    {
        var usage = new NetworkUsage([new NetworkEndpoint("10.0.0.11/24", "node1", "192.168.1.1")], [], [new NetworkPeer("node1", "host-one", "192.168.1.1")]);
        var node = new FakeNode(request => request switch
        {
            InspectNetwork => new NetworkDetails(Ingress, usage),
            GetInfo => Info("node1"),
            _ => throw new InvalidOperationException(),
        });

        var (_, output, _) = await RunAsync(node, "network", "inspect", "ingress");

        var sandbox = Assert.Single(JsonNode.Parse(output)!.AsArray())!["Containers"]!["ingress-sbox"]!;
        Assert.Equal(("ingress-endpoint", "10.0.0.11/24"), (sandbox["Name"]!.GetValue<string>(), sandbox["IPv4Address"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Network_Rm_Removes_Each_And_Reports_The_One_In_Use()
    {
        var node = new FakeNode(request => request switch
        {
            ListNetworks => new NetworkList([Ingress, Front]),
            RemoveNetwork { NetworkRef: "front" } => new CommandRejected(RejectCode.Conflict, "Network front is in use by service(s) web; remove them first."),
            RemoveNetwork r => new NetworkRemoved(r.NetworkRef + "-id"),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, error) = await RunAsync(node, "network", "rm", "front", "back");

        Assert.Equal(1, code);
        Assert.Equal("back\n", output);
        Assert.Contains("Network front is in use by service(s) web", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("yes\n", true)]
    [InlineData("n\n", false)]
    [InlineData("", false)] // no terminal, nothing on stdin: a "no"
    public async Task Network_Rm_Of_The_Ingress_Network_Asks_First_As_Docker_Does_And_Keeps_It_Unless_Told_Yes(string answer, bool removed)
    {
        var node = new FakeNode(request => request switch
        {
            ListNetworks => new NetworkList([Ingress, Front]),
            RemoveNetwork r => new NetworkRemoved(r.NetworkRef + "-id"),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, error) = await RunWithInputAsync(node, System.Text.Encoding.UTF8.GetBytes(answer), CancellationToken.None, "network", "rm", "ingress", "front");

        Assert.Equal((0, ""), (code, error));
        Assert.StartsWith("WARNING! Removing the routing-mesh network", output, StringComparison.Ordinal);
        Assert.Contains("[y/N] ", output, StringComparison.Ordinal);
        Assert.Equal(removed ? ["ingress", "front"] : ["front"], node.Requests.OfType<RemoveNetwork>().Select(r => r.NetworkRef));
        Assert.EndsWith(removed ? "ingress\nfront\n" : "[y/N] front\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Network_Rm_Force_Is_Silent_About_A_Network_That_Does_Not_Exist()
    {
        var node = new FakeNode(request => request switch
        {
            ListNetworks => new NetworkList([Ingress, Front]),
            ListLocalNetworks => Local,
            RemoveNetwork { NetworkRef: "gone" } => new CommandRejected(RejectCode.NotFound, "network gone not found"),
            RemoveNetwork r => new NetworkRemoved(r.NetworkRef + "-id"),
            _ => throw new InvalidOperationException(),
        });

        var forced = await RunAsync(node, "network", "rm", "-f", "gone", "front");
        var plain = await RunAsync(node, "network", "rm", "gone");

        Assert.Equal((0, "front\n", ""), forced);
        Assert.Equal(1, plain.Code);
        Assert.Contains("network gone not found", plain.Err, StringComparison.Ordinal);
    }

    private static readonly NetworkObject Back = Network("backid0000000000000000000c", "back", "10.0.2.0/24", 4098);

    /// <summary>A fake swarm where service web is attached to <see cref="Front"/> (by id, as the managers store it); its networks ingress, front and back unless given.</summary>
    private static FakeNode SwarmWithWebOnFront(params NetworkObject[] networks)
    {
        var web = Service(spec: Spec() with { TaskTemplate = Spec().TaskTemplate with { Networks = [new NetworkAttachment(Front.Id)] } });
        return new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(web, new ServiceReplicas(3, 3)),
            ListNetworks => new NetworkList(networks.Length > 0 ? [.. networks] : [Ingress, Front, Back]),
            UpdateService u => new ServiceUpdated(u.ServiceRef, u.Version + 1),
            _ => throw new InvalidOperationException(),
        });
    }

    [Fact]
    public async Task Service_Update_Adds_And_Removes_Networks_By_Name_As_The_Ids_The_Managers_Store()
    {
        var node = SwarmWithWebOnFront();

        var added = await RunAsync(node, "service", "update", "--network-add", "back", "--detach", "web");
        var addedSpec = node.Requests.OfType<UpdateService>().Last().Spec!;
        var removed = await RunAsync(node, "service", "update", "--network-rm", "front", "--detach", "web");
        var removedSpec = node.Requests.OfType<UpdateService>().Last().Spec!;

        Assert.Equal((0, 0), (added.Code, removed.Code));
        Assert.Equal([Front.Id, Back.Id], addedSpec.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Empty(removedSpec.TaskTemplate.Networks);
    }

    [Theory]
    [InlineData("frontid000000000000000000b")]
    [InlineData("frontid")]
    [InlineData("front")]
    public async Task Service_Update_Network_Rm_Takes_A_Name_An_Id_Or_An_Id_Prefix(string networkRef)
    {
        var node = SwarmWithWebOnFront();

        var (code, _, err) = await RunAsync(node, "service", "update", "--network-rm", networkRef, "--detach", "web");

        Assert.Equal((0, ""), (code, err));
        Assert.Empty(node.Requests.OfType<UpdateService>().Single().Spec!.TaskTemplate.Networks);
    }

    [Theory]
    [InlineData("--network-rm", "nope", "--network-rm 'nope': network nope not found; name one of the swarm's networks by name, id or id prefix (see `protoswarm network ls`).")]
    [InlineData("--network-add", "nope", "--network-add 'nope': network nope not found; name one of the swarm's networks by name, id or id prefix (see `protoswarm network ls`).")]
    [InlineData("--network-rm", "i", "--network-rm 'i': network i is ambiguous, 2 network ids start with it; give more of the id, or the name.")]
    [InlineData("--network-add", "frontid", "--network-add 'frontid': the service is already attached to network frontid; to change its aliases, give it to --network-rm as well.")]
    [InlineData("--network-add", "front", "--network-add 'front': the service is already attached to network front; to change its aliases, give it to --network-rm as well.")]
    public async Task Service_Update_Refuses_An_Unknown_Ambiguous_Or_Already_Attached_Network_Sending_Nothing(string flag, string networkRef, string message)
    {
        // Two network ids start with "i": ingress's and this one's.
        var node = SwarmWithWebOnFront(Ingress, Front, Back, Network("idother000000000000000000d", "other", "10.0.3.0/24", 4099));

        var (code, _, err) = await RunAsync(node, "service", "update", flag, networkRef, "--detach", "web");

        Assert.Equal(1, code);
        Assert.Equal("Error: " + message, err.Trim());
        Assert.Empty(node.Requests.OfType<UpdateService>());
    }

    [Fact]
    public async Task Service_Update_Network_Rm_And_Add_Of_One_Network_Attaches_It_Again_With_The_New_Aliases()
    {
        var node = SwarmWithWebOnFront();

        var (code, _, err) = await RunAsync(node, "service", "update", "--network-rm", "front", "--network-add", "name=front,alias=two", "--detach", "web");

        Assert.Equal((0, ""), (code, err));
        var network = Assert.Single(node.Requests.OfType<UpdateService>().Single().Spec!.TaskTemplate.Networks);
        Assert.Equal((Front.Id, "two"), (network.Target, string.Join(',', network.Aliases)));
    }

    [Fact]
    public async Task Service_Inspect_Shows_The_Allocated_Endpoint_And_Ls_The_Published_Port()
    {
        var spec = Spec() with { Endpoint = new EndpointSpec(Ports: [new PortConfig(80)]) };
        var web = Service(spec: spec) with
        {
            Endpoint = new ServiceEndpoint([new PortConfig(80, 30000)], [new VirtualIp(Ingress.Id, "10.0.0.2/24"), new VirtualIp(Front.Id, "10.0.1.2/24")]),
        };
        var node = new FakeNode(request => request switch
        {
            InspectService => new ServiceDetails(web, new ServiceReplicas(3, 3)),
            ListServices => new ServiceList([new ServiceSummary(web, new(3, 3))]),
            _ => throw new InvalidOperationException(),
        });

        var inspect = await RunAsync(node, "service", "inspect", "web");
        var list = await RunAsync(node, "service", "ls", "--format", "{{.Ports}}");

        var endpoint = JsonNode.Parse(inspect.Out)!.AsArray().Single()!["Endpoint"]!;
        Assert.Equal(30000, endpoint["Ports"]![0]!["PublishedPort"]!.GetValue<int>());
        Assert.Equal(0, endpoint["Spec"]!["Ports"]![0]!["PublishedPort"]!.GetValue<int>());
        Assert.Equal((Front.Id, "10.0.1.2/24"), (endpoint["VirtualIPs"]![1]!["NetworkID"]!.GetValue<string>(), endpoint["VirtualIPs"]![1]!["Addr"]!.GetValue<string>()));
        Assert.Equal("*:30000->80/tcp\n", list.Out);
    }

    [Fact]
    public async Task Network_Connect_Asks_The_Node_With_The_Aliases_And_Ip_And_Prints_Nothing()
    {
        var node = new FakeNode(_ => new ContainerChange("probe", ""));

        var (code, output, _) = await RunAsync(node, "network", "connect", "--alias", "db", "--alias", "cache", "--ip", "10.0.9.40", "debugnet", "probe");

        Assert.Equal((0, ""), (code, output));
        var request = Assert.IsType<ConnectContainerNetwork>(Assert.Single(node.Requests));
        Assert.Equal(("debugnet", "probe", "10.0.9.40"), (request.Network, request.Container, request.Address));
        Assert.Equal(["db", "cache"], request.Aliases.ToArray());
    }

    [Fact]
    public async Task Network_Disconnect_Asks_The_Node_With_Force_And_Shows_Its_Refusal_Without_A_Stack_Trace()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.NotFound, "container probe is not connected to network debugnet"));

        var (code, _, error) = await RunAsync(node, "network", "disconnect", "-f", "debugnet", "probe");

        Assert.NotEqual(0, code);
        var request = Assert.IsType<DisconnectContainerNetwork>(Assert.Single(node.Requests));
        Assert.Equal(("debugnet", "probe", true), (request.Network, request.Container, request.Force));
        Assert.Contains("container probe is not connected to network debugnet", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--ip", "10.0.9", "invalid argument \"10.0.9\" for \"--ip\" flag: invalid string being converted to IP address: 10.0.9")]
    [InlineData("--ip", "10.0.9.4/24", "invalid string being converted to IP address: 10.0.9.4/24")]
    [InlineData("--ip", "fe80::1", "invalid string being converted to IP address: fe80::1")]
    public async Task Network_Connect_Refuses_A_Bad_Ip_Before_Asking(string flag, string value, string expected)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "network", "connect", flag, value, "debugnet", "probe");

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("connect", "debugnet")]
    [InlineData("disconnect", "debugnet")]
    public async Task Network_Connect_And_Disconnect_Need_A_Network_And_A_Container(string verb, string network)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, _) = await RunAsync(node, "network", verb, network);

        Assert.NotEqual(0, code);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Network_Ls_Outside_A_Swarm_Lists_The_Nodes_Own_Networks_As_Dockers_Engine_Does()
    {
        var node = WithLocal(_ => new CommandRejected(RejectCode.NotInSwarm, "This node is not part of a swarm"));

        var (code, output, error) = await RunAsync(node, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}");

        Assert.Equal((0, ""), (code, error));
        Assert.Equal("bridge bridge local\nhost host local\nnone null local\n", output);
    }

    [Fact]
    public async Task Network_Inspect_Bridge_Shows_The_Nodes_Subnet_Gateway_And_Containers_In_Dockers_Shape()
    {
        // Only the node is asked: a swarm network may not be named bridge.
        var node = WithLocal(request => throw new InvalidOperationException($"the managers were asked {request.GetType().Name}"));

        var (code, output, error) = await RunAsync(node, "network", "inspect", "bridge");
        var template = await RunAsync(node, "network", "inspect", "-f", "{{.Scope}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "bridge", "host", "none");

        Assert.Equal((0, ""), (code, error));
        var bridge = JsonNode.Parse(output)!.AsArray()[0]!;
        Assert.Equal(Bridge.Id, bridge["Id"]!.GetValue<string>());
        Assert.Equal(("local", "bridge", false), (bridge["Scope"]!.GetValue<string>(), bridge["Driver"]!.GetValue<string>(), bridge["Attachable"]!.GetValue<bool>()));
        Assert.Equal("172.18.0.0/16", bridge["IPAM"]!["Config"]![0]!["Subnet"]!.GetValue<string>());
        Assert.Equal("172.18.0.1", bridge["IPAM"]!["Config"]![0]!["Gateway"]!.GetValue<string>());
        var container = bridge["Containers"]![new string('c', 64)]!;
        Assert.Equal(("web1", "172.18.0.2/16", "02:42:ac:12:00:02", new string('e', 64)),
            (container["Name"]!.GetValue<string>(), container["IPv4Address"]!.GetValue<string>(), container["MacAddress"]!.GetValue<string>(), container["EndpointID"]!.GetValue<string>()));
        Assert.Equal("ps_gwbridge", bridge["Options"]!["com.docker.network.bridge.name"]!.GetValue<string>());
        Assert.Equal("local bridge 172.18.0.0/16 172.18.0.1\nlocal host \nlocal null \n", template.Out);
    }

    [Fact]
    public async Task Network_Inspect_Finds_A_Local_Network_By_Its_Id_Prefix_Once_No_Swarm_Network_Has_It()
    {
        var node = WithLocal(request => request is InspectNetwork i
            ? new CommandRejected(RejectCode.NotFound, $"network {i.NetworkRef} not found")
            : throw new InvalidOperationException());

        var (code, output, _) = await RunAsync(node, "network", "inspect", "-f", "{{.Name}}", "f00d");
        var missing = await RunAsync(node, "network", "inspect", "f");

        Assert.Equal((0, "host\n"), (code, output));
        Assert.Equal(1, missing.Code); // f00d... and f11e... both start with f: no unique one, the managers' answer stands
        Assert.Contains("not found", missing.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bridge", "bridge")]
    [InlineData("host", "host")]
    [InlineData("none", "none")]
    [InlineData("f11e", "none")]
    public async Task Network_Rm_Of_A_Predefined_Network_Is_Refused_In_Dockers_Words_Even_With_Force(string reference, string name)
    {
        var node = WithLocal(request => request switch
        {
            ListNetworks => new NetworkList([Ingress, Front]),
            RemoveNetwork r => new CommandRejected(RejectCode.NotFound, $"network {r.NetworkRef} not found"),
            _ => throw new InvalidOperationException(),
        });

        var plain = await RunAsync(node, "network", "rm", reference);
        var forced = await RunAsync(node, "network", "rm", "-f", reference);

        Assert.Equal((1, ""), (plain.Code, plain.Out));
        Assert.Equal($"Error response from daemon: {name} is a pre-defined network and cannot be removed\n", plain.Err);
        Assert.Equal((1, $"Error response from daemon: {name} is a pre-defined network and cannot be removed\n"), (forced.Code, forced.Err));
        // A name is refused before the managers are asked; an id prefix once they have no such network.
        Assert.Equal(PredefinedNetworks.Names.Contains(reference) ? [] : [reference, reference], node.Requests.OfType<RemoveNetwork>().Select(r => r.NetworkRef));
    }

    private const string NotManager =
        "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Run this command on a manager node or promote the current node to a manager.";

    /// <summary>
    /// A worker (node2): the managers' API refuses it, and the node answers for its local networks and for the swarm's networks
    /// it has (<paramref name="overlays"/>).
    /// </summary>
    private static FakeNode Worker(params NetworkDetails[] overlays) => new(request => request switch
    {
        ListLocalNetworks => Local,
        ListNodeOverlays => new NodeOverlayList([.. overlays]),
        GetInfo => Info("node2", manager: false),
        IManagerApiRequest => new CommandRejected(RejectCode.NotManager, NotManager),
        _ => throw new InvalidOperationException($"the worker was asked {request.GetType().Name}"),
    });

    [Fact]
    public async Task Network_Ls_On_A_Worker_Lists_Its_Local_Networks_And_The_Swarm_Networks_It_Has_As_Dockers_Worker_Does()
    {
        var node = Worker(new NetworkDetails(Front, FrontUsage));

        var (code, output, error) = await RunAsync(node, "network", "ls");
        var json = await RunAsync(node, "network", "ls", "--format", "json", "-f", "scope=swarm");

        Assert.Equal((0, ""), (code, error));
        Assert.Equal(
            "NETWORK ID     NAME      DRIVER    SCOPE\n" +
            "bbbbbbbbbbbb   bridge    bridge    local\n" +
            "frontid00000   front     overlay   swarm\n" +
            "f00d00000000   host      host      local\n" +
            "f11e00000000   none      null      local\n", output);
        var front = JsonNode.Parse(json.Out.Trim())!;
        Assert.Equal(("front", "tier=web", "swarm"), (front["Name"]!.GetValue<string>(), front["Labels"]!.GetValue<string>(), front["Scope"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("scope=swarm", "front,ingress")]
    [InlineData("scope=local", "bridge,host,none")]
    [InlineData("type=custom", "front,ingress")]
    [InlineData("type=builtin", "bridge,host,none")]
    [InlineData("dangling=true", "")]
    [InlineData("dangling=false", "bridge,front,host,ingress,none")]
    [InlineData("driver=overlay", "front,ingress")]
    [InlineData("label=tier=web", "front")]
    [InlineData("name=in", "ingress")]
    [InlineData("id=frontid", "front")]
    public async Task Network_Ls_On_A_Worker_Takes_Every_Filter_And_Counts_Its_Networks_In_Use(string filter, string names)
    {
        // Each network a worker has is there because a task of it is on it; ingress, because it is in the routing mesh.
        var node = Worker(new NetworkDetails(Front, FrontUsage), new NetworkDetails(Ingress));

        var (code, output, _) = await RunAsync(node, "network", "ls", "--filter", filter, "--format", "{{.Name}}");

        Assert.Equal(0, code);
        Assert.Equal(names, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Network_Inspect_On_A_Worker_Shows_A_Network_It_Has_With_Its_Own_Containers_And_Refuses_One_It_Has_Not()
    {
        var node = Worker(new NetworkDetails(Front, FrontUsage));

        var (code, output, error) = await RunAsync(node, "network", "inspect", "front");
        var byPrefix = await RunAsync(node, "network", "inspect", "-f", "{{.Name}} {{.Scope}} {{.Labels.tier}}", "frontid", "bridge");
        var verbose = await RunAsync(node, "network", "inspect", "-v", "-f", "{{.Services.web.VIP}}", "front");
        var missing = await RunAsync(node, "network", "inspect", "front", "elsewhere");

        Assert.Equal((0, ""), (code, error));
        var front = Assert.Single(JsonNode.Parse(output)!.AsArray())!.AsObject();
        Assert.Equal(["task2"], front["Containers"]!.AsObject().Select(c => c.Key)); // node2's own, as docker's worker shows
        Assert.Equal(2, front["Peers"]!.AsArray().Count);
        Assert.Equal("front swarm web\nbridge local <no value>\n", byPrefix.Out);
        Assert.Equal("10.0.1.2\n", verbose.Out);
        Assert.Equal(1, missing.Code);
        Assert.Equal("front", Assert.Single(JsonNode.Parse(missing.Out)!.AsArray())!["Name"]!.GetValue<string>());
        Assert.Equal(
            "Error: No such network: elsewhere. This node is a worker: it has only the swarm's networks its tasks and containers are on " +
            "(`protoswarm network ls` here); a manager has them all.\n", missing.Err);
    }

    [Fact]
    public async Task Network_Rm_On_A_Worker_Refuses_A_Predefined_Network_In_Dockers_Words_And_A_Swarm_Network_As_A_Worker()
    {
        var node = Worker(new NetworkDetails(Front, FrontUsage));

        var (code, output, error) = await RunAsync(node, "network", "rm", "bridge", "front", "f11e");

        Assert.Equal((1, ""), (code, output));
        Assert.Equal(
            "Error response from daemon: bridge is a pre-defined network and cannot be removed\n" +
            $"Error: {NotManager}\n" +
            "Error response from daemon: none is a pre-defined network and cannot be removed\n", error);
    }

    [Fact]
    public void Over_Tcp_The_Cli_Asks_A_Manager_For_Its_Own_Local_Networks_But_Nothing_Else_Of_The_Nodes()
    {
        // The manager's API answers ListLocalNetworks for its own node (ManagerApiRouter), so `network ls -H` lists them.
        Assert.True(global::ProtoSwarm.Cli.Control.RemoteManagerConnection.Carries(new ListLocalNetworks("l")));
        Assert.True(global::ProtoSwarm.Cli.Control.RemoteManagerConnection.Carries(new ListNetworks("n")));
        Assert.False(global::ProtoSwarm.Cli.Control.RemoteManagerConnection.Carries(new ListNodeOverlays("o")));
        Assert.False(global::ProtoSwarm.Cli.Control.RemoteManagerConnection.Carries(new GetVersion("v")));
    }
}
