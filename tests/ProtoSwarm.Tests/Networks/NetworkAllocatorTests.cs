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
