using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class NetworkCommandTests
{
    private static NetworkObject Network(string id, string name, string subnet, uint vni, bool ingress = false, params (string Key, string Value)[] labels) =>
        new(id, new ObjectMeta(3, Joined, Joined),
            new NetworkSpec(name, Ingress: ingress, Labels: ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value)))),
            subnet, subnet.Replace(".0/24", ".1", StringComparison.Ordinal), vni);

    private static readonly NetworkObject Ingress = Network("ingressid0000000000000000a", "ingress", "10.0.0.0/24", 4096, ingress: true);
    private static readonly NetworkObject Front = Network("frontid000000000000000000b", "front", "10.0.1.0/24", 4097, false, ("tier", "web"));

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
        var node = new FakeNode(_ => new NetworkList([Ingress, Front]));

        var table = await RunAsync(node, "network", "ls");
        var quiet = await RunAsync(node, "network", "ls", "-q");
        var json = await RunAsync(node, "network", "ls", "--format", "json");
        var labelled = await RunAsync(node, "network", "ls", "-q", "-f", "label=tier=web");
        var named = await RunAsync(node, "network", "ls", "--format", "{{.Name}}", "-f", "name=ingr");

        Assert.Equal(
            "NETWORK ID     NAME      DRIVER    SCOPE\n" +
            "frontid00000   front     overlay   swarm\n" +
            "ingressid000   ingress   overlay   swarm\n", table.Out);
        Assert.Equal("frontid00000\ningressid000\n", quiet.Out);
        var first = JsonNode.Parse(json.Out.Split('\n')[0])!;
        Assert.Equal(("front", "swarm", "tier=web"), (first["Name"]!.GetValue<string>(), first["Scope"]!.GetValue<string>(), first["Labels"]!.GetValue<string>()));
        Assert.Equal("frontid00000\n", labelled.Out);
        Assert.Equal("ingress\n", named.Out);
    }

    [Fact]
    public async Task Network_Ls_Refuses_An_Unknown_Filter()
    {
        var (code, _, error) = await RunAsync(new FakeNode(_ => new NetworkList([])), "network", "ls", "-f", "scope=local");

        Assert.NotEqual(0, code);
        Assert.Contains("'scope' is not a filter here; use one of id, name, driver, label", error, StringComparison.Ordinal);
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
}
