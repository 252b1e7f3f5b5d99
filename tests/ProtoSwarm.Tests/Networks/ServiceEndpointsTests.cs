using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Networks.TestNetworks;

namespace ProtoSwarm.Tests.Networks;

public sealed class ServiceEndpointsTests
{
    private static readonly NetworkObject[] Networks = [Ingress(), Network("front1234", "front", "10.0.1.0/24")];

    [Fact]
    public void Network_Targets_Become_Ids_And_Unknown_Ones_Are_Left_For_The_Spec_Checks()
    {
        var spec = Service("s1", "web", ["front", "nowhere"]).Spec;

        var (resolved, rejected) = ServiceEndpoints.ResolveNetworks(spec, Networks);

        Assert.Null(rejected);
        Assert.Equal(["front1234", "nowhere"], resolved.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal(["web-alias"], resolved.TaskTemplate.Networks[0].Aliases.ToList());
    }

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    [InlineData("bridge")]
    public void The_Nodes_Own_Networks_Stay_Named_And_Need_No_Network_Nor_Address(string mode)
    {
        var spec = Service("s1", "web", [mode]).Spec;

        var (resolved, rejected) = ServiceEndpoints.ResolveNetworks(spec, Networks);

        Assert.Null(rejected);
        Assert.Equal([mode], resolved.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Empty(ServiceEndpoints.NetworksOf(resolved.TaskTemplate, resolved.Endpoint, Networks.ToDictionary(n => n.Id), Networks[0], out var missing));
        Assert.Empty(missing);
        Assert.False(ServiceEndpoints.NeedsAddresses(resolved.TaskTemplate, resolved.Endpoint));
    }

    [Fact]
    public void The_Ingress_Network_Is_Refused_As_A_Target()
    {
        var (_, rejected) = ServiceEndpoints.ResolveNetworks(Service("s1", "web", ["ingress"]).Spec, Networks);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains("cannot be attached to the ingress network ingress", rejected.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8080, "8080:80/tcp")]
    [InlineData(0, "(any):80/tcp")]
    public void An_Ingress_Port_Without_An_Ingress_Network_Is_Refused_Saying_How_To_Make_One(int published, string shown)
    {
        var spec = Service("s1", "web", ports: [new PortConfig(80, published), new PortConfig(22, 2222, PublishMode: PublishMode.Host)]).Spec;

        var (_, rejected) = ServiceEndpoints.ResolveNetworks(spec, [Network("front1234", "front", "10.0.1.0/24")]);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains($"Service web publishes {shown}, but the swarm has no ingress network", rejected.Reason, StringComparison.Ordinal);
        Assert.Contains("protoswarm network create --driver overlay --ingress ingress", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_Mode_Ports_Need_No_Ingress_Network_And_Join_No_Ingress()
    {
        // As docker: swarmkit attaches ingress only for a port of the routing mesh.
        var front = Network("front1234", "front", "10.0.1.0/24");
        var ingress = Ingress();
        var spec = Service("s1", "web", ["front"], ports: [new PortConfig(80, 8080, PublishMode: PublishMode.Host), new PortConfig(81, PublishMode: PublishMode.Host)]).Spec;

        var (resolved, rejected) = ServiceEndpoints.ResolveNetworks(spec, [front]);

        Assert.Null(rejected);
        var byId = new Dictionary<string, NetworkObject> { [front.Id] = front, [ingress.Id] = ingress };
        Assert.Equal(["front1234"], ServiceEndpoints.NetworksOf(resolved.TaskTemplate, resolved.Endpoint, byId, ingress, out _).Select(n => n.Id));
        var both = resolved.Endpoint with { Ports = [.. resolved.Endpoint.Ports, new PortConfig(443, 8443)] };
        Assert.Equal([ingress.Id, "front1234"], ServiceEndpoints.NetworksOf(resolved.TaskTemplate, both, byId, ingress, out _).Select(n => n.Id));
        Assert.False(ServiceEndpoints.PublishesIngress(resolved.Endpoint));
    }

    [Fact]
    public void A_Service_Without_Ports_Needs_No_Ingress_Network_And_Any_Ingress_Network_Serves_Ports()
    {
        var front = Network("front1234", "front", "10.0.1.0/24");
        var custom = Network("mine5678", "my-ingress", "10.11.0.0/16", ingress: true);

        Assert.Null(ServiceEndpoints.ResolveNetworks(Service("s1", "web", ["front"]).Spec, [front]).Rejected);
        Assert.Null(ServiceEndpoints.ResolveNetworks(Service("s1", "web", ports: [new PortConfig(80, 8080)]).Spec, [front, custom]).Rejected);
    }

    [Fact]
    public void Ports_Asked_As_Zero_Get_The_First_Free_Of_30000_32767_And_Given_Ones_Are_Kept()
    {
        var other = Service("s2", "api", endpoint: new ServiceEndpoint([new PortConfig(80, 30000)]));
        var spec = Service("s1", "web", ports: [new PortConfig(80), new PortConfig(443, 8443), new PortConfig(53, Protocol: PortProtocol.Udp), new PortConfig(22, PublishMode: PublishMode.Host)]).Spec;

        var (ports, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [other]);

        Assert.Null(rejected);
        Assert.Equal([(80, 30001), (443, 8443), (53, 30000), (22, 0)], ports.Select(p => (p.TargetPort, p.PublishedPort)));
    }

    [Fact]
    public void An_Update_Keeps_The_Port_The_Swarm_Picked_Before()
    {
        var spec = Service("s1", "web", ports: [new PortConfig(80)]).Spec;
        var current = new ServiceEndpoint([new PortConfig(80, 30007)]);

        var (ports, _) = ServiceEndpoints.AllocatePorts(spec, current, []);

        Assert.Equal(30007, Assert.Single(ports).PublishedPort);
    }

    [Fact]
    public void A_Port_Another_Service_Publishes_Is_Refused_Naming_It()
    {
        var other = Service("s2", "api", ports: [new PortConfig(80, 8080)], endpoint: new ServiceEndpoint([new PortConfig(80, 8080)]));
        var spec = Service("s1", "web", ports: [new PortConfig(8000, 8080)]).Spec;

        var (_, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [other]);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains("Port 8080/tcp is already published by service api", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Same_Port_Number_Over_Another_Protocol_Or_In_Host_Mode_For_Two_Services_Is_No_Clash()
    {
        var other = Service("s2", "api", ports: [new PortConfig(80, 8080), new PortConfig(22, 2222, PublishMode: PublishMode.Host)],
            endpoint: new ServiceEndpoint([new PortConfig(80, 8080), new PortConfig(22, 2222, PublishMode: PublishMode.Host)]));
        var spec = Service("s1", "web", ports: [new PortConfig(80, 8080, PortProtocol.Udp), new PortConfig(23, 2222, PublishMode: PublishMode.Host)]).Spec;

        Assert.Null(ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [other]).Rejected);
    }

    [Theory]
    [InlineData(PublishMode.Host, PublishMode.Ingress, "is already published by service api on every node (routing mesh), so no node can publish it in host mode")]
    [InlineData(PublishMode.Ingress, PublishMode.Host, "is already published in host mode by service api, on the nodes that run its tasks")]
    public void A_Port_In_Host_Mode_And_The_Same_Port_Of_The_Routing_Mesh_Clash_Either_Way(PublishMode mine, PublishMode theirs, string reason)
    {
        // An ingress port is DNATed on every node: a host-mode task of another service on any node would be shadowed by it.
        var other = Service("s2", "api", ports: [new PortConfig(80, 8080, PublishMode: theirs)], endpoint: new ServiceEndpoint([new PortConfig(80, 8080, PublishMode: theirs)]));
        var spec = Service("s1", "web", ports: [new PortConfig(81, 8080, PublishMode: mine)]).Spec;

        var (_, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [other]);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains($"Port 8080/tcp {reason}", rejected.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2377, PortProtocol.Tcp, PublishMode.Ingress, "it is the swarm port of node m1 (its traffic with the other nodes)")]
    [InlineData(2377, PortProtocol.Tcp, PublishMode.Host, "it is the swarm port of node m1 (its traffic with the other nodes)")]
    [InlineData(4789, PortProtocol.Udp, PublishMode.Ingress, "it is the overlays' VXLAN port")]
    [InlineData(7000, PortProtocol.Tcp, PublishMode.Ingress, "it is the swarm port of node w1")]
    public void A_Port_The_Swarm_Uses_Itself_Is_Refused_In_Either_Mode(int published, PortProtocol protocol, PublishMode mode, string reason)
    {
        var reserved = ServiceEndpoints.SwarmPorts([Node("m1", 2377), Node("w1", 7000), Node("w2", 2377)], cluster: null);
        var spec = Service("s1", "web", ports: [new PortConfig(80, published, protocol, mode)]).Spec;

        var (_, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [], reserved);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains($"cannot be published: {reason}", rejected.Reason, StringComparison.Ordinal);
        Assert.Null(ServiceEndpoints.AllocatePorts(Service("s1", "web", ports: [new PortConfig(80, 4789)]).Spec, ServiceEndpoint.None, [], reserved).Rejected);
    }

    [Theory]
    [InlineData(PublishMode.Ingress)]
    [InlineData(PublishMode.Host)]
    public void The_Port_Of_A_Managers_Registry_Listener_Is_Refused_In_Either_Mode(PublishMode mode)
    {
        // `-p 5000:80` on a lab (managers' --registry-listen ADDR:5000) made the routing mesh answer MANAGER:5000 instead of the registry.
        var m1 = Node("m1", 2377) with { Role = NodeRole.Manager, Description = new NodeDescription("m1", "linux", "x86_64", 0, 0, "", RegistryPort: 5000) };
        var reserved = ServiceEndpoints.SwarmPorts([m1, Node("w1", 2377)], cluster: null);
        var spec = Service("s1", "web", ports: [new PortConfig(80, 5000, PublishMode: mode)]).Spec;

        var (_, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [], reserved);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Equal(
            "Port 5000/tcp cannot be published: it is the swarm registry's plain listener on node m1 (`protoswarmd --registry-listen`), which the swarm uses itself; publish another port (--publish PUBLISHED:80).",
            rejected.Reason);
        // Only TCP: the listener is HTTP, and 5000/udp is free.
        Assert.Null(ServiceEndpoints.AllocatePorts(Service("s1", "web", ports: [new PortConfig(80, 5000, PortProtocol.Udp, mode)]).Spec, ServiceEndpoint.None, [], reserved).Rejected);
    }

    [Fact]
    public void A_Node_Without_A_Registry_Listener_Reserves_No_Registry_Port()
    {
        var reserved = ServiceEndpoints.SwarmPorts([Node("m1", 2377)], cluster: null);

        Assert.True(reserved.Keys.Select(k => (k.Protocol, k.Port)).ToHashSet().SetEquals([(PortProtocol.Udp, 4789), (PortProtocol.Tcp, 2377)]));
    }

    [Fact]
    public void The_Swarm_Picks_No_Port_The_Swarm_Uses_Or_Another_Service_Publishes_In_Host_Mode()
    {
        var reserved = ServiceEndpoints.SwarmPorts([Node("m1", 30000)], new ClusterObject(ClusterObject.DefaultId, new ObjectMeta(1, default, default), "c", "", "", DataPathPort: 30000));
        var other = Service("s2", "api", ports: [new PortConfig(80, 30001, PublishMode: PublishMode.Host)], endpoint: new ServiceEndpoint([new PortConfig(80, 30001, PublishMode: PublishMode.Host)]));
        var spec = Service("s1", "web", ports: [new PortConfig(80), new PortConfig(53, Protocol: PortProtocol.Udp)]).Spec;

        var (ports, rejected) = ServiceEndpoints.AllocatePorts(spec, ServiceEndpoint.None, [other], reserved);

        Assert.Null(rejected);
        // TCP: 30000 is m1's swarm port, 30001 api's host-mode port; UDP: 30000 is the VXLAN port.
        Assert.Equal([30002, 30001], ports.Select(p => p.PublishedPort));
    }

    private static NodeObject Node(string hostname, int port) =>
        new(hostname + "-id", new ObjectMeta(1, default, default), new NodeSpec(NodeRole.Worker, NodeAvailability.Active, System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty),
            NodeRole.Worker, new NodeDescription(hostname, "linux", "x86_64", 0, 0, ""), new NodeStatus(NodeState.Ready, "", "10.0.0.1", default),
            null, new MemberInfo(hostname + "-member", "10.0.0.1", port, []));
}
