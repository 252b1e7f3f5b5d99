using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Networks.TestNetworks;

namespace ProtoSwarm.Tests.Networks;

public sealed class NetworkAllocatorTests
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;
    private static readonly NetworkObject Front = Network("front1234", "front", "10.0.1.0/24");

    [Fact]
    public void A_New_Task_Gets_An_Address_Per_Network_With_Its_Aliases_Ingress_First_And_Becomes_Pending()
    {
        var web = Service("s1", "web", ["front1234"], ports: [new PortConfig(80, 8080)]);
        var task = Task("t1", web, TaskState.New);

        var changes = new NetworkAllocator().Decide(State(Ingress(), Front, web, task), T0);

        var written = Written<TaskObject>(changes, "t1");
        Assert.Equal(TaskState.Pending, written.Status.State);
        Assert.Equal("pending task scheduling", written.Status.Message);
        Assert.Equal([("ingress00000000000000000000", "10.0.0.3/24"), ("front1234", "10.0.1.3/24")], written.Networks.Select(n => (n.NetworkId, n.Address)));
        Assert.Empty(written.Networks[0].Aliases);
        Assert.Equal(["web-alias"], written.Networks[1].Aliases.ToList());
    }

    [Fact]
    public void A_Service_Gets_A_Vip_On_Each_Of_Its_Networks_And_On_Ingress_When_It_Publishes_There()
    {
        var web = Service("s1", "web", ["front1234"], ports: [new PortConfig(80, 8080)]);
        var dnsrr = Service("s2", "db", ["front1234"], mode: EndpointMode.Dnsrr);

        var changes = new NetworkAllocator().Decide(State(Ingress(), Front, web, dnsrr), T0);

        var vips = Written<ServiceObject>(changes, "s1").Endpoint.VirtualIps;
        Assert.Equal([new VirtualIp("ingress00000000000000000000", "10.0.0.2/24"), new VirtualIp("front1234", "10.0.1.2/24")], vips.ToList());
        Assert.DoesNotContain(changes, c => c.Id == "s2");
    }

    [Fact]
    public void A_Service_That_Publishes_Only_Host_Mode_Ports_Joins_No_Ingress_And_Gets_No_Vip_There()
    {
        // As swarmkit: ingress only for a port of the routing mesh; a host-mode port is reached on the task's gateway bridge address.
        var host = new PortConfig(80, 8080, PublishMode: PublishMode.Host);
        var web = Service("s1", "web", ["front1234"], ports: [host]);
        var alone = Service("s2", "alone", ports: [host with { PublishedPort = 0 }]);
        var both = Service("s3", "both", ports: [host, new PortConfig(443, 8443)]);
        var state = State(Ingress(), Front, web, alone, both, Task("t1", web, TaskState.New), Task("t2", alone, TaskState.New), Task("t3", both, TaskState.New));

        var changes = new NetworkAllocator().Decide(state, T0);

        Assert.Equal([new VirtualIp("front1234", "10.0.1.2/24")], Written<ServiceObject>(changes, "s1").Endpoint.VirtualIps.ToList());
        Assert.DoesNotContain(changes, c => c.Id == "s2");
        Assert.Equal(["ingress00000000000000000000"], Written<ServiceObject>(changes, "s3").Endpoint.VirtualIps.Select(v => v.NetworkId));
        Assert.Equal(["front1234"], Written<TaskObject>(changes, "t1").Networks.Select(n => n.NetworkId));
        Assert.Equal(["ingress00000000000000000000"], Written<TaskObject>(changes, "t3").Networks.Select(n => n.NetworkId));
        // A task on no network needs no address (the reconciler makes it Pending at once).
        Assert.Empty(Written<TaskObject>(changes, "t2").Networks);
        Assert.False(ServiceEndpoints.NeedsAddresses(alone.Spec.TaskTemplate, alone.Spec.Endpoint));
        Assert.True(ServiceEndpoints.NeedsAddresses(both.Spec.TaskTemplate, both.Spec.Endpoint));
    }

    [Fact]
    public void A_Service_Updated_To_Host_Mode_Only_Loses_Its_Ingress_Vip_And_Back_Gets_One()
    {
        var ingressPort = new PortConfig(80, 8080);
        var web = Service("s1", "web", ["front1234"], ports: [ingressPort]);
        var state = Apply(State(Ingress(), Front, web), new NetworkAllocator().Decide(State(Ingress(), Front, web), T0));
        var allocated = state.Get<ServiceObject>("s1")!;
        Assert.Equal(2, allocated.Endpoint.VirtualIps.Length);

        var hostOnly = allocated with { Spec = allocated.Spec with { Endpoint = allocated.Spec.Endpoint with { Ports = [ingressPort with { PublishMode = PublishMode.Host }] } } };
        var after = Written<ServiceObject>(new NetworkAllocator().Decide(State(Ingress(), Front, hostOnly), T0), "s1");
        Assert.Equal([new VirtualIp("front1234", "10.0.1.2/24")], after.Endpoint.VirtualIps.ToList());

        var back = after with { Spec = allocated.Spec };
        Assert.Equal(["ingress00000000000000000000", "front1234"],
            Written<ServiceObject>(new NetworkAllocator().Decide(State(Ingress(), Front, back), T0), "s1").Endpoint.VirtualIps.Select(v => v.NetworkId));
    }

    [Fact]
    public void A_Vip_Of_A_Network_The_Service_Left_Is_Dropped()
    {
        var web = Service("s1", "web", endpoint: new ServiceEndpoint(VirtualIps: [new VirtualIp("front1234", "10.0.1.2/24")]));

        var changes = new NetworkAllocator().Decide(State(Front, web), T0);

        Assert.Empty(Written<ServiceObject>(changes, "s1").Endpoint.VirtualIps);
    }

    [Fact]
    public void Ready_Nodes_Get_An_Ingress_Address_And_Down_Ones_Wait()
    {
        var up = TestNodes.Worker("node1");
        var down = TestNodes.Worker("node2", state: NodeState.Down);

        var changes = new NetworkAllocator().Decide(State(Ingress(), up, down), T0);

        var attachment = Assert.Single(Written<NodeObject>(changes, "node1").Attachments);
        Assert.Equal(("ingress00000000000000000000", "10.0.0.2/24"), (attachment.NetworkId, attachment.Address));
        Assert.DoesNotContain(changes, c => c.Id == "node2");
    }

    [Fact]
    public void Nothing_Is_Written_When_Everything_Has_Its_Addresses()
    {
        var allocator = new NetworkAllocator();
        var web = Service("s1", "web", ["front1234"]);
        var state = State(Ingress(), Front, web, Task("t1", web, TaskState.New), TestNodes.Worker("node1"));

        state = Apply(state, allocator.Decide(state, T0));

        Assert.Empty(allocator.Decide(state, T0));
    }

    [Fact]
    public void Addresses_Of_Ended_Tasks_Are_Freed_But_Given_Again_Only_After_The_Others()
    {
        var allocator = new NetworkAllocator();
        var web = Service("s1", "web", ["front1234"], mode: EndpointMode.Dnsrr);
        var state = State(Front, web, Task("t1", web, TaskState.New), Task("t2", web, TaskState.New));
        state = Apply(state, allocator.Decide(state, T0));
        Assert.Equal("10.0.1.2/24", Address(state, "t1"));

        // t1 ends: its address is free, but the next task gets .4, not .2 at once.
        var ended = state.Get<TaskObject>("t1")!;
        state = Apply(state, [StoreChange.Update(ended with { Status = ended.Status with { State = TaskState.Failed } }), StoreChange.Create(Task("t3", web, TaskState.New))]);
        state = Apply(state, allocator.Decide(state, T0));

        Assert.Equal("10.0.1.4/24", Address(state, "t3"));
    }

    [Fact]
    public void A_New_Leader_Starts_After_The_Highest_Address_In_Use()
    {
        var web = Service("s1", "web", ["front1234"], mode: EndpointMode.Dnsrr);
        var holder = Task("t1", web, TaskState.Running, "node1", networks: new AttachedNetwork("front1234", "10.0.1.9/24"));

        var changes = new NetworkAllocator().Decide(State(Front, web, holder, Task("t2", web, TaskState.New)), T0);

        Assert.Equal("10.0.1.10/24", Written<TaskObject>(changes, "t2").Networks.Single().Address);
    }

    [Fact]
    public void A_Full_Network_Leaves_The_Task_New_With_The_Reason_And_Takes_Nothing_Elsewhere()
    {
        var tiny = Network("tiny1234", "tiny", "10.0.9.0/29");
        var web = Service("s1", "web", ["front1234", "tiny1234"], mode: EndpointMode.Dnsrr);
        var holders = Enumerable.Range(2, 5).Select(i => Task($"h{i}", web, TaskState.Running, "node1", networks: new AttachedNetwork("tiny1234", $"10.0.9.{i}/29")));
        var allocator = new NetworkAllocator();

        var changes = allocator.Decide(State([Front, tiny, web, Task("t1", web, TaskState.New), .. holders]), T0);

        var written = Written<TaskObject>(changes, "t1");
        Assert.Equal(TaskState.New, written.Status.State);
        Assert.Contains("no address is left on network tiny (10.0.9.0/29)", written.Status.Err, StringComparison.Ordinal);
        Assert.Empty(written.Networks);
    }

    /// <summary>The lab's network: --subnet 10.9.0.0/24 --ip-range 10.9.0.128/25 --aux-address r=10.9.0.130, its gateway the range's first address.</summary>
    private static NetworkObject Ranged(string range = "10.9.0.128/25", string gateway = "10.9.0.128", params (string Name, string Ip)[] aux)
    {
        var network = Network("ranged12", "ranged", "10.9.0.0/24", gateway: gateway);
        var auxiliary = aux.Length > 0 ? aux : [("r", "10.9.0.130")];
        return network with
        {
            Spec = network.Spec with
            {
                IpRange = range,
                AuxAddresses = System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, auxiliary.Select(a => KeyValuePair.Create(a.Name, a.Ip))),
            },
        };
    }

    [Fact]
    public void Tasks_And_Vips_Get_Addresses_Only_From_The_Ip_Range_And_Never_An_Aux_Address()
    {
        var web = Service("s1", "web", ["ranged12"]);
        var tasks = Enumerable.Range(1, 4).Select(i => (IStoreObject)Task($"t{i}", web, TaskState.New, slot: i)).ToArray();

        var state = Apply(State([Ranged(), web, .. tasks]), new NetworkAllocator().Decide(State([Ranged(), web, .. tasks]), T0));

        Assert.Equal("10.9.0.129/24", state.Get<ServiceObject>("s1")!.Endpoint.VirtualIps.Single().Address);
        Assert.Equal(["10.9.0.131/24", "10.9.0.132/24", "10.9.0.133/24", "10.9.0.134/24"], Enumerable.Range(1, 4).Select(i => Address(state, $"t{i}")));
    }

    [Fact]
    public void An_Ip_Range_Full_Leaves_The_Task_New_Saying_So_While_The_Rest_Of_The_Subnet_Is_Free()
    {
        // 10.9.0.252/30: .252 the gateway, .253 an aux address, .254 for t1; the subnet's broadcast .255 never.
        var network = Ranged("10.9.0.252/30", "10.9.0.252", ("r", "10.9.0.253"));
        var web = Service("s1", "web", ["ranged12"], mode: EndpointMode.Dnsrr);
        var state = State(network, web, Task("t1", web, TaskState.New, slot: 1), Task("t2", web, TaskState.New, slot: 2));

        var changes = new NetworkAllocator().Decide(state, T0);

        Assert.Equal("10.9.0.254/24", Written<TaskObject>(changes, "t1").Networks.Single().Address);
        var refused = Written<TaskObject>(changes, "t2");
        Assert.Equal(TaskState.New, refused.Status.State);
        Assert.Contains("no address is left on network ranged in its --ip-range 10.9.0.252/30 (of 10.9.0.0/24)", refused.Status.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_New_Leader_Honours_The_Ip_Range_And_Aux_Addresses_Read_From_The_Store_And_Wraps_Round_Inside_The_Range()
    {
        // .128/30: gateway .128, aux .130; t1 holds .129 and .131 is free. A fresh allocator (a restarted or newly elected
        // leader) has nothing but the store: t2 gets .131, and t3, once t1 ended, wraps round to .129, never .130 or past the range.
        var network = Ranged("10.9.0.128/30");
        var web = Service("s1", "web", ["ranged12"], mode: EndpointMode.Dnsrr);
        var t1 = Task("t1", web, TaskState.Running, "node1", networks: new AttachedNetwork("ranged12", "10.9.0.129/24"));
        var state = State(network, web, t1, Task("t2", web, TaskState.New, slot: 2));

        state = Apply(state, new NetworkAllocator().Decide(state, T0));
        Assert.Equal("10.9.0.131/24", Address(state, "t2"));

        state = Apply(state, [StoreChange.Update(t1 with { Status = t1.Status with { State = TaskState.Failed } }), StoreChange.Create(Task("t3", web, TaskState.New, slot: 3))]);
        state = Apply(state, new NetworkAllocator().Decide(state, T0));
        Assert.Equal("10.9.0.129/24", Address(state, "t3"));
    }

    [Fact]
    public void A_Task_On_A_Missing_Network_Stays_New_Saying_Which()
    {
        var web = Service("s1", "web", ["gone5678"]);

        var changes = new NetworkAllocator().Decide(State(Front, web, Task("t1", web, TaskState.New)), T0);

        Assert.Contains("network gone5678 does not exist", Written<TaskObject>(changes, "t1").Status.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Task_No_Longer_Wanted_Gets_No_Address()
    {
        var web = Service("s1", "web", ["front1234"]);

        var changes = new NetworkAllocator().Decide(State(Front, web, Task("t1", web, TaskState.New, desired: TaskState.Shutdown)), T0);

        Assert.DoesNotContain(changes, c => c.Id == "t1");
    }

    [Fact]
    public void A_Node_Address_On_A_Removed_Network_Is_Dropped()
    {
        var node = TestNodes.Worker("node1") with { Attachments = [new AttachedNetwork("gone5678", "10.0.7.2/24")] };

        var changes = new NetworkAllocator().Decide(State(Front, node), T0);

        Assert.Empty(Written<NodeObject>(changes, "node1").Attachments);
    }

    [Theory]
    [InlineData(TaskState.Running, TaskState.Running, true)]
    [InlineData(TaskState.Running, TaskState.Shutdown, true)]
    [InlineData(TaskState.Pending, TaskState.Running, true)]
    [InlineData(TaskState.Pending, TaskState.Shutdown, false)]
    [InlineData(TaskState.Complete, TaskState.Running, false)]
    [InlineData(TaskState.Failed, TaskState.Shutdown, false)]
    public void A_Task_Holds_Its_Addresses_Until_It_Ended_Or_Will_Never_Run(TaskState observed, TaskState desired, bool holds)
    {
        var task = Task("t1", Service("s1", "web"), observed, "node1", desired, networks: new AttachedNetwork("n1", "10.0.1.2/24"));

        Assert.Equal(holds, NetworkAllocator.HoldsAddresses(task));
    }

    private static string Address(StoreState state, string taskId) => state.Get<TaskObject>(taskId)!.Networks.Single().Address;
}
