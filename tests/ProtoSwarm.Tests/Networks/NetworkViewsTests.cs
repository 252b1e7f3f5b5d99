using System.Collections.Immutable;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Networks.TestNetworks;

namespace ProtoSwarm.Tests.Networks;

public sealed class NetworkViewsTests
{
    private const string IngressId = "ingress00000000000000000000";
    private static readonly NetworkObject Front = Network("front1234", "front", "10.0.1.0/24", 4097,
        options: ImmutableSortedDictionary<string, string>.Empty.Add(NetworkSpec.MtuOption, "1400"));

    private static readonly NodeObject Node1 = Addressed(TestNodes.Worker("node1"), "192.168.1.1", "10.0.0.11/24");
    private static readonly NodeObject Node2 = Addressed(TestNodes.Worker("node2"), "192.168.1.2", "10.0.0.12/24");
    private static readonly NodeObject Node3 = Addressed(TestNodes.Worker("node3"), "192.168.1.3", "10.0.0.13/24");

    private static readonly ServiceObject Web = Service("s1", "web", ["front1234"],
        endpoint: new ServiceEndpoint(VirtualIps: [new VirtualIp("front1234", "10.0.1.2/24")]));

    [Fact]
    public void A_Node_Needs_The_Networks_Its_Tasks_Are_On_With_Every_Live_Endpoint_And_Service()
    {
        var t1 = Task("t1", Web, TaskState.Running, "node1", slot: 1, networks: new AttachedNetwork("front1234", "10.0.1.3/24", ["web-alias"]));
        var t2 = Task("t2", Web, TaskState.Starting, "node2", slot: 2, networks: new AttachedNetwork("front1234", "10.0.1.4/24"));
        var ended = Task("t0", Web, TaskState.Failed, "node2", TaskState.Shutdown, networks: new AttachedNetwork("front1234", "10.0.1.9/24"));
        var pending = Task("t3", Web, TaskState.Pending, networks: new AttachedNetwork("front1234", "10.0.1.5/24"));
        var set = NetworkViews.Compute(State(TestNodes.SwarmCluster() with { DataPathPort = 7789 }, Ingress(), Front, Node1, Node2, Node3, Web, t1, t2, ended, pending));

        Assert.Equal(["front1234"], set.NetworksOf("node1"));
        Assert.Empty(set.NetworksOf("node3"));
        var view = Assert.Single(set.For("node2"));
        Assert.Equal(("front", 4097u, "10.0.1.0/24", "10.0.1.1", false, 1400, 7789), (view.Name, view.Vni, view.Subnet, view.Gateway, view.Ingress, view.Mtu, view.DataPathPort));
        Assert.Equal(
            [("10.0.1.3/24", "node1", "192.168.1.1", "t1", "web.1.t1", true), ("10.0.1.4/24", "node2", "192.168.1.2", "t2", "web.2.t2", false)],
            view.Endpoints.Select(e => (e.Address, e.NodeId, e.NodeAddr, e.TaskId, e.TaskName, e.Ready)));
        Assert.Equal(["web-alias"], view.Endpoints[0].Aliases.ToList());
        var service = Assert.Single(view.Services);
        Assert.Equal(("s1", "web", "10.0.1.2", EndpointMode.Vip), (service.ServiceId, service.Name, service.Vip, service.Mode));
        Assert.Equal(["web-alias"], service.Aliases.ToList());
    }

    [Fact]
    public void Usage_Of_A_Network_Gives_Its_Endpoints_Services_And_The_Nodes_That_Have_It_Null_When_None_Needs_It()
    {
        var t1 = Task("t1", Web, TaskState.Running, "node1", slot: 1, networks: new AttachedNetwork("front1234", "10.0.1.3/24"));
        var t2 = Task("t2", Web, TaskState.Running, "node2", slot: 2, networks: new AttachedNetwork("front1234", "10.0.1.4/24"));
        var t3 = Task("t3", Web, TaskState.Running, "node1", slot: 3, networks: new AttachedNetwork("front1234", "10.0.1.5/24"));
        var state = State(Ingress(), Front, Node1, Node2, Node3, Web, t1, t2, t3);

        var usage = NetworkViews.UsageOf(state, "front1234");

        Assert.NotNull(usage);
        Assert.Equal(["t1", "t2", "t3"], usage.Endpoints.Select(e => e.TaskId));
        Assert.Equal(("web", "10.0.1.2"), (Assert.Single(usage.Services).Name, usage.Services[0].Vip));
        Assert.Equal(
            new[] { Node1, Node2 }.Select(n => (n.Id, n.Description.Hostname, n.Status!.Addr)).OrderBy(p => p.Hostname, StringComparer.Ordinal),
            usage.Peers.Select(p => (p.NodeId, p.Name, p.Ip)));
        Assert.Null(NetworkViews.UsageOf(state, IngressId)); // no published port: no node needs ingress
        Assert.Null(NetworkViews.UsageOf(State(Ingress(), Front, Node1, Web), "front1234"));
    }

    [Fact]
    public void A_Worker_Shows_A_Network_From_Its_View_As_The_Managers_Hold_It_With_Who_Uses_It()
    {
        var labelled = Front with
        {
            Meta = new ObjectMeta(4, TestNodes.T0.AddHours(1), TestNodes.T0.AddHours(2)),
            Spec = Front.Spec with { Attachable = true, Labels = ImmutableSortedDictionary<string, string>.Empty.Add("tier", "web"), IpRange = "10.0.1.128/25" },
        };
        var t1 = Task("t1", Web, TaskState.Running, "node1", slot: 1, networks: new AttachedNetwork("front1234", "10.0.1.3/24"));
        var t2 = Task("t2", Web, TaskState.Running, "node2", slot: 2, networks: new AttachedNetwork("front1234", "10.0.1.4/24"));
        var state = State(Ingress(), labelled, Node1, Node2, Web, t1, t2);
        var view = NetworkViews.Compute(state).View("front1234");

        var (network, usage) = NetworkViews.DetailsOf(view);

        Assert.Equal((labelled.Id, labelled.Spec, labelled.Subnet, labelled.Gateway, labelled.Vni), (network.Id, network.Spec, network.Subnet, network.Gateway, network.Vni));
        Assert.Equal((TestNodes.T0.AddHours(1), TestNodes.T0.AddHours(1)), (network.Meta.CreatedAt, network.Meta.UpdatedAt));
        Assert.Equal(["t1", "t2"], usage!.Endpoints.Select(e => e.TaskId));
        Assert.Equal("web", Assert.Single(usage.Services).Name);
        Assert.Equal(NetworkViews.UsageOf(state, "front1234")!.Peers.ToArray(), usage.Peers.ToArray());
        Assert.Equal([("node1", "192.168.1.1"), ("node2", "192.168.1.2")], usage.Peers.Select(p => (p.NodeId, p.Ip)));

        // A view from a manager of an earlier version, without the spec: what the view itself has.
        var (bare, _) = NetworkViews.DetailsOf(view with { Spec = null });
        Assert.Equal(("front", false, false, "10.0.1.0/24"), (bare.Spec.Name, bare.Spec.Attachable, bare.Spec.Ingress, bare.Subnet));
        Assert.Empty(bare.Spec.Labels);
    }

    [Fact]
    public void A_Tasks_Endpoints_Carry_The_Host_Ports_Its_Node_Reported()
    {
        var web = Service("s3", "web", ["front1234"], ports: [new PortConfig(7200, 0, PortProtocol.Tcp, PublishMode.Host)]);
        ImmutableArray<PortConfig> reported = [new PortConfig(7200, 32768, PortProtocol.Tcp, PublishMode.Host)];
        var running = Task("t1", web, TaskState.Running, "node1", networks: new AttachedNetwork("front1234", "10.0.1.3/24"));
        running = running with { Status = running.Status with { PortStatus = reported } };
        var preparing = Task("t2", web, TaskState.Preparing, "node1", slot: 2, networks: new AttachedNetwork("front1234", "10.0.1.4/24"));

        var view = NetworkViews.Compute(State(Ingress(), Front, Node1, web, running, preparing)).View("front1234");

        Assert.Equal([reported.ToArray(), []], view.Endpoints.Select(e => e.HostPorts.ToArray()));
    }

    [Fact]
    public void Every_Node_Needs_Ingress_While_A_Service_Publishes_There_With_Each_Nodes_Address()
    {
        var published = Service("s2", "api", ports: [new PortConfig(80, 8080)],
            endpoint: new ServiceEndpoint([new PortConfig(80, 8080)], [new VirtualIp(IngressId, "10.0.0.2/24")]));
        var down = Addressed(TestNodes.Worker("node4", state: NodeState.Down), "192.168.1.4", "10.0.0.14/24");
        var set = NetworkViews.Compute(State(Ingress(), Front, Node1, Node2, down, published));

        Assert.Equal([IngressId], set.NetworksOf("node3"));
        var view = set.View(IngressId);
        Assert.True(view.Ingress);
        Assert.Equal(NetworkView.DefaultDataPathPort, view.DataPathPort);
        Assert.Equal([("10.0.0.11/24", "node1", ""), ("10.0.0.12/24", "node2", "")], view.Endpoints.Select(e => (e.Address, e.NodeId, e.TaskId)));
        var service = Assert.Single(view.Services);
        Assert.Equal(("api", "10.0.0.2", 8080), (service.Name, service.Vip, Assert.Single(service.Ports).PublishedPort));

        Assert.Empty(NetworkViews.Compute(State(Ingress(), Node1, Node2)).NetworksOf("node1"));
    }

    [Fact]
    public void A_Service_That_Publishes_Only_Host_Mode_Ports_Is_Not_On_Ingress()
    {
        var host = new PortConfig(80, 8080, PublishMode: PublishMode.Host);
        var local = Service("s2", "local", ["front1234"], ports: [host], endpoint: new ServiceEndpoint([host]));
        var task = Task("t1", local, TaskState.Running, "node1", networks: new AttachedNetwork("front1234", "10.0.1.3/24"));
        // A task from before, when host-mode ports joined ingress too, still holds its ingress address until it ends.
        var before = Task("t0", local, TaskState.Running, "node2", networks: new AttachedNetwork(IngressId, "10.0.0.9/24"));
        var set = NetworkViews.Compute(State(Ingress(), Front, Node1, Node2, local, task, before));

        Assert.Equal(["front1234"], set.NetworksOf("node1"));
        Assert.Equal([IngressId], set.NetworksOf("node2"));
        Assert.Empty(set.View(IngressId).Services);
        Assert.Equal(8080, Assert.Single(Assert.Single(set.View("front1234").Services).Ports).PublishedPort);
        Assert.False(NetworkViews.Compute(State(Ingress(), Front, Node1, Node2, local, task)).Contains(IngressId));
    }

    [Fact]
    public void A_Task_Becoming_Ready_Elsewhere_Changes_The_Views_Bytes_And_Nothing_Else_Does()
    {
        var t1 = Task("t1", Web, TaskState.Running, "node1", networks: new AttachedNetwork("front1234", "10.0.1.3/24"));
        var t2 = Task("t2", Web, TaskState.Starting, "node2", slot: 2, networks: new AttachedNetwork("front1234", "10.0.1.4/24"));
        var before = NetworkViews.Compute(State(Front, Node1, Node2, Web, t1, t2)).Bytes("front1234");

        var same = NetworkViews.Compute(State(Front, Node1, Node2, Web, t1, t2)).Bytes("front1234");
        var after = NetworkViews.Compute(State(Front, Node1, Node2, Web, t1, t2 with { Status = t2.Status with { State = TaskState.Running } })).Bytes("front1234");

        Assert.Equal(before, same);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void A_Global_Task_Is_Named_By_Its_Node()
    {
        var task = Task("t9", Web, TaskState.Running, "node1", slot: 0);

        Assert.Equal("web.node1.t9", NetworkViews.TaskName(task, "web"));
    }

    [Fact]
    public void The_Same_State_Is_Computed_Once_For_Every_Node_Actor()
    {
        var state = State(Front, Node1, Web);

        Assert.Same(NetworkViews.Of(state), NetworkViews.Of(state));
    }

    private static NodeObject Addressed(NodeObject node, string addr, string ingress) =>
        node with { Status = node.Status with { Addr = addr }, Attachments = [new AttachedNetwork(IngressId, ingress)] };
}
