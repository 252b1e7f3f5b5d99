using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>The node's bridge, host and none networks: ids of its own kept in its state, and what a node outside a swarm shows on them.</summary>
public sealed class LocalNetworksTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("local-networks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TaskObject Task(string id, params AttachedNetwork[] networks) => new(
        id, ObjectMeta.New(TestNodes.T0), string.Empty, 0, "node1", new TaskSpec(new ContainerSpec("busybox")),
        1, TaskState.Running, new TaskObservedStatus(TaskState.Running, TestNodes.T0), Networks: [.. networks], ServiceName: "c-" + id);

    private static ContainerFacts Facts(TaskObject task, bool exited = false) => new(
        task, "sha256:abc", ["sh"], [], TestNodes.T0, TestNodes.T0, exited ? TestNodes.T0.AddMinutes(1) : null, exited ? 0 : 42, exited ? 0 : null, null, []);

    [Fact]
    public void Ids_Are_Made_Once_Kept_In_The_Nodes_State_And_Differ_From_Node_To_Node()
    {
        var path = Path.Combine(_dir, "a", "local-networks");
        var first = new LocalNetworks(path, new FakeTimeProvider(TestNodes.T0));
        var bridge = first.Of(LocalNetwork.Bridge);
        var host = first.Of(LocalNetwork.Host);

        var again = new LocalNetworks(path, new FakeTimeProvider(TestNodes.T0.AddDays(3)));
        var other = new LocalNetworks(Path.Combine(_dir, "b", "local-networks"), new FakeTimeProvider(TestNodes.T0));

        Assert.Matches("^[0-9a-f]{64}$", bridge.Id);
        Assert.NotEqual(bridge.Id, host.Id);
        Assert.Equal(bridge, again.Of(LocalNetwork.Bridge)); // the same id and creation time after a node host restart
        Assert.Equal(TestNodes.T0, bridge.Created);
        Assert.NotEqual(bridge.Id, other.Of(LocalNetwork.Bridge).Id);
        Assert.Equal(3, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void A_Damaged_Line_Gets_A_New_Id_And_The_Others_Stay()
    {
        var path = Path.Combine(_dir, "local-networks");
        var none = new LocalNetworks(path, TimeProvider.System).Of(LocalNetwork.None);
        File.WriteAllLines(path, File.ReadAllLines(path).Select(l => l.StartsWith("bridge ", StringComparison.Ordinal) ? "bridge xyz 1" : l));

        var reloaded = new LocalNetworks(path, TimeProvider.System);

        Assert.Equal(none, reloaded.Of(LocalNetwork.None));
        Assert.Matches("^[0-9a-f]{64}$", reloaded.Of(LocalNetwork.Bridge).Id);
    }

    [Fact]
    public async Task Outside_A_Swarm_A_Running_Container_On_No_Network_Is_On_None_And_The_Bridge_Has_No_Subnet_Yet()
    {
        var networks = new LocalNetworks(Path.Combine(_dir, "local-networks"), new FakeTimeProvider(TestNodes.T0));
        var running = Task("aaaa");
        var ended = Task("bbbb");

        var list = await networks.ListAsync(null, [Facts(running), Facts(ended, exited: true)], t => t.ServiceName);

        Assert.Equal([("bridge", "bridge"), ("host", "host"), ("none", "null")], list.Networks.Select(n => (n.Name, n.Driver)));
        var bridge = list.Networks[0];
        Assert.Equal(("", "", "ps_gwbridge"), (bridge.Subnet, bridge.Gateway, bridge.Options["com.docker.network.bridge.name"]));
        Assert.Empty(bridge.Containers);
        Assert.Empty(list.Networks[1].Containers);
        var endpoint = Assert.Single(list.Networks[2].Containers);
        Assert.Equal(("aaaa", "c-aaaa", "", "", NetworkEndpoint.EndpointIdOf(networks.Of(LocalNetwork.None).Id, "aaaa")),
            (endpoint.ContainerId, endpoint.Name, endpoint.Address, endpoint.MacAddress, endpoint.EndpointId));
    }

    [Fact]
    public void Container_Inspect_Shows_None_Outside_A_Swarm_With_An_Endpoint_Only_While_It_Runs_And_Nothing_For_An_Overlay_Container()
    {
        var networks = new LocalNetworks(Path.Combine(_dir, "local-networks"), new FakeTimeProvider(TestNodes.T0));
        var none = networks.Of(LocalNetwork.None).Id;

        var running = networks.DefaultNetworkOf(Task("aaaa"), running: true, null, null);
        var ended = networks.DefaultNetworkOf(Task("aaaa"), running: false, null, null);
        var overlay = networks.DefaultNetworkOf(Task("cccc", new AttachedNetwork("n1", "10.0.1.5/24")), running: true, null, null);

        Assert.Equal(("none", none, "", "", "", NetworkEndpoint.EndpointIdOf(none, "aaaa")),
            (running!.Name, running.NetworkId, running.Address, running.Gateway, running.MacAddress, running.EndpointId));
        Assert.Equal(("none", ""), (ended!.Name, ended.EndpointId));
        Assert.Null(overlay);
    }

    private static TaskObject OnMode(string id, string mode) =>
        Task(id) with { Spec = new TaskSpec(new ContainerSpec("busybox"), Networks: [new NetworkAttachment(mode)]) };

    [Fact]
    public async Task Network_Inspect_Host_And_None_List_The_Running_Containers_Run_On_Them()
    {
        var networks = new LocalNetworks(Path.Combine(_dir, "local-networks"), new FakeTimeProvider(TestNodes.T0));
        var host = OnMode("aaaa", "host");
        var none = OnMode("bbbb", "none");
        var ended = OnMode("cccc", "host");
        var facts = new[] { Facts(host), Facts(none), Facts(ended, exited: true) };

        var outside = await networks.ListAsync(null, facts, t => t.ServiceName);

        var endpoint = Assert.Single(outside.Networks[1].Containers);
        Assert.Equal(("aaaa", "c-aaaa", "", "", NetworkEndpoint.EndpointIdOf(networks.Of(LocalNetwork.Host).Id, "aaaa")),
            (endpoint.ContainerId, endpoint.Name, endpoint.Address, endpoint.MacAddress, endpoint.EndpointId));
        Assert.Equal(["bbbb"], outside.Networks[2].Containers.Select(c => c.ContainerId));
        Assert.Empty(outside.Networks[0].Containers);
    }

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    public void Container_Inspect_Shows_A_Containers_Network_Mode_As_Its_Network(string mode)
    {
        var networks = new LocalNetworks(Path.Combine(_dir, "local-networks"), new FakeTimeProvider(TestNodes.T0));
        var id = networks.Of(mode).Id;

        var running = networks.DefaultNetworkOf(OnMode("aaaa", mode), running: true, null, null);
        var ended = networks.DefaultNetworkOf(OnMode("aaaa", mode), running: false, null, null);

        Assert.Equal((mode, id, "", "", "", NetworkEndpoint.EndpointIdOf(id, "aaaa")),
            (running!.Name, running.NetworkId, running.Address, running.Gateway, running.MacAddress, running.EndpointId));
        Assert.Equal((mode, ""), (ended!.Name, ended.EndpointId));
        Assert.Equal(mode, LocalContainers.NetworkModeOf(OnMode("aaaa", mode), standalone: true, running, _ => null));
    }

    [Fact]
    public void Docker_Network_Mode_Of_Other_Containers_Is_Their_Bridge_Their_First_Network_Or_Default()
    {
        var bridged = new ContainerNetwork("bridge", "b1", "172.18.0.2/32", []);
        var onOverlay = Task("aaaa", new AttachedNetwork("n1", "10.0.1.5/24")) with
        {
            Spec = new TaskSpec(new ContainerSpec("busybox"), Networks: [new NetworkAttachment("n1")]),
        };

        Assert.Equal("bridge", LocalContainers.NetworkModeOf(Task("aaaa"), standalone: true, bridged, _ => null));
        Assert.Equal("appnet", LocalContainers.NetworkModeOf(onOverlay, standalone: true, null, id => id == "n1" ? "appnet" : null));
        Assert.Equal("default", LocalContainers.NetworkModeOf(onOverlay, standalone: false, null, _ => "appnet"));
    }

    [Fact]
    public void In_A_Swarm_A_Bridged_Container_Shows_The_Bridges_Prefix_As_Docker_Though_Its_Interface_Has_A_32()
    {
        var networks = new LocalNetworks(Path.Combine(_dir, "local-networks"), new FakeTimeProvider(TestNodes.T0));
        var subnet = System.Net.IPNetwork.Parse("172.18.0.0/16");
        var address = System.Net.IPAddress.Parse("172.18.0.5");
        var bridged = new Dictionary<string, System.Net.IPAddress> { ["aaaa"] = address };

        var list = networks.List(inSwarm: true, subnet, bridged, [Facts(Task("aaaa"))], t => t.ServiceName);
        var inspected = networks.DefaultNetworkOf(Task("aaaa"), running: true, inSwarm: true, address, subnet);

        var bridge = list.Networks[0];
        Assert.Equal(("172.18.0.0/16", "172.18.0.1"), (bridge.Subnet, bridge.Gateway));
        var endpoint = Assert.Single(bridge.Containers);
        Assert.Equal(("172.18.0.5/16", "02:42:ac:12:00:05"), (endpoint.Address, endpoint.MacAddress));
        Assert.Empty(list.Networks[2].Containers); // in a swarm, none holds nobody
        Assert.Equal(("bridge", "172.18.0.5/16", "172.18.0.1", "02:42:ac:12:00:05"), (inspected!.Name, inspected.Address, inspected.Gateway, inspected.MacAddress));
        Assert.Equal("172.18.0.5/32", LocalNetworks.BridgeAddress(address, null));
    }
}
