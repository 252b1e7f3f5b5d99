using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Networks.TestNetworks;

namespace ProtoSwarm.Tests.Networks;

/// <summary>A standalone container's network attachment (`run --network`), as swarmkit's network attachment task.</summary>
public sealed class NetworkAttachmentsTests
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;
    private static readonly NetworkObject Open = Network("open1234", "open", "10.0.5.0/24") is var n ? n with { Spec = n.Spec with { Attachable = true } } : null!;
    private static readonly NetworkObject Closed = Network("closed12", "closed", "10.0.6.0/24");

    private static TaskObject Attach(string network, string node = "w2", string container = "c1") =>
        NetworkAttachments.Decide(State(TestNodes.Worker("w2"), Open, Closed, Ingress()), new AttachContainerNetwork(node, network, container), "a1", T0).Task!;

    [Fact]
    public void An_Attachable_Overlay_Gets_A_Task_Of_No_Service_On_The_Node_Naming_The_Container()
    {
        var task = Attach("open");

        Assert.True(NetworkAttachments.IsAttachment(task));
        Assert.Equal(("a1", "w2", "c1", TaskState.New), (task.Id, task.NodeId, task.Status.ContainerId, task.Status.State));
        Assert.Equal(["open1234"], task.Spec.Networks.Select(a => a.Target));
    }

    [Theory]
    [InlineData("closed", "network closed not manually attachable")]
    [InlineData("ingress", "network ingress not manually attachable")]
    [InlineData("nowhere", "network nowhere not found")]
    public void A_Network_Not_Made_Attachable_Or_Unknown_Is_Refused_In_Dockers_Words(string network, string expected)
    {
        var (task, refused) = NetworkAttachments.Decide(State(TestNodes.Worker("w2"), Open, Closed, Ingress()), new AttachContainerNetwork("w2", network, "c1"), "a1", T0);

        Assert.Null(task);
        Assert.Contains(expected, refused!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Allocator_Gives_It_An_Address_And_Running_And_The_Views_Make_It_A_Peer_Of_Its_Node()
    {
        var web = Service("s1", "web", ["open1234"]);
        var state = State(TestNodes.Worker("w1"), TestNodes.Worker("w2"), Open, web,
            Task("t1", web, TaskState.Running, "w1", networks: new AttachedNetwork("open1234", "10.0.5.3/24")), Attach("open"));

        var allocated = Apply(state, new NetworkAllocator().Decide(state, T0));
        var attachment = allocated.Get<TaskObject>("a1")!;

        Assert.Equal(TaskState.Running, attachment.Status.State);
        Assert.Equal("c1", attachment.Status.ContainerId);
        var address = Assert.Single(attachment.Networks);
        Assert.Equal("open1234", address.NetworkId);
        Assert.Equal(NetworkAttachments.Answer(allocated, "a1"), new ContainerNetworkAttached("a1", address));
        var views = NetworkViews.Of(allocated);
        Assert.Contains("open1234", views.NetworksOf("w2"));
        Assert.Contains(views.View("open1234").Endpoints, e => e.TaskId == "a1" && e.NodeId == "w2" && e.TaskName == "c1" && e.Address == address.Address);
        // service ps and node ps leave it out.
        var (listed, _) = ServiceCommands.SelectTasks([web], [], allocated.List<TaskObject>(), new ListTasks("r", [], []));
        Assert.Equal(["t1"], listed.Select(t => t.Id));
    }

    [Fact]
    public void Network_Rm_Is_Refused_While_A_Container_Is_Attached_And_An_Attachment_Whose_Node_Left_Goes()
    {
        var attached = Attach("open") with { Networks = [new AttachedNetwork("open1234", "10.0.5.7/24")], Status = new TaskObservedStatus(TaskState.Running, T0, ContainerId: "c1") };

        var refused = NetworkCommands.RemovalProblem(Open, [], [attached], new Dictionary<string, string> { ["w2"] = "worker-two" });

        Assert.Contains("has active endpoints: standalone container(s) c1 (on node(s) worker-two)", refused!.Reason, StringComparison.Ordinal);
        Assert.Empty(NetworkAttachments.Orphans(State(TestNodes.Worker("w2"), Open, attached)));
        Assert.Equal(["a1"], NetworkAttachments.Orphans(State(Open, attached)).Select(c => c.Id));
    }

    private static (TaskObject? Task, CommandRejected? Refused) Connect(StoreState state, string network, string container = "c1", string name = "probe",
        string address = "", params string[] aliases) =>
        NetworkAttachments.Decide(state, new AttachContainerNetwork("w2", network, container, name, [.. aliases], address), "a2", T0);

    [Fact]
    public void Network_Connect_Names_The_Endpoint_By_The_Container_With_Its_Aliases_And_Id()
    {
        var (task, _) = Connect(State(TestNodes.Worker("w2"), Open), "open", aliases: ["db"]);
        var state = State(TestNodes.Worker("w2"), Open, task!);

        var allocated = Apply(state, new NetworkAllocator().Decide(state, T0));

        var endpoint = Assert.Single(NetworkViews.Of(allocated).View("open1234").Endpoints);
        Assert.Equal(("probe", true), (endpoint.TaskName, endpoint.Ready));
        Assert.Equal(["db", "c1"], endpoint.Aliases.ToArray());
        Assert.Equal(["db"], Assert.Single(allocated.Get<TaskObject>("a2")!.Networks).Aliases.ToArray());
    }

    [Fact]
    public void Network_Connect_Of_A_Container_Already_On_The_Network_Is_Refused_In_Dockers_Words()
    {
        var held = Attach("open") with { Networks = [new AttachedNetwork("open1234", "10.0.5.7/24")] };

        var (task, refused) = Connect(State(TestNodes.Worker("w2"), Open, held), "open1234");

        Assert.Null(task);
        Assert.Equal("endpoint with name probe already exists in network open", refused!.Reason);
    }

    [Theory]
    [InlineData("10.0.5.40", null)]
    [InlineData("10.0.6.40", "invalid endpoint settings: no configured subnet or ip-range contain the IP address 10.0.6.40")]
    [InlineData("10.0.5.255", "no configured subnet or ip-range contain the IP address 10.0.5.255")]
    [InlineData("10.0.5.40/24", "invalid IPv4 address: 10.0.5.40/24")]
    [InlineData("fe80::1", "invalid IPv4 address: fe80::1")]
    public void Network_Connect_Ip_Must_Be_A_Host_Of_The_Subnet(string address, string? expected)
    {
        var problem = NetworkAttachments.AddressProblem(Open, address);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Network_Connect_Ip_Is_Refused_On_A_Subnet_The_Swarm_Chose_As_Docker_Refuses_It()
    {
        var chosen = Open with { Spec = Open.Spec with { Subnet = "" } };

        Assert.StartsWith("user specified IP address is supported only when connecting to networks with user configured subnets",
            NetworkAttachments.AddressProblem(chosen, "10.0.5.40"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_Allocator_Gives_The_Address_Asked_For_And_Refuses_One_In_Use_Which_Is_Free_Again_Once_Given_Back()
    {
        var (asked, _) = Connect(State(TestNodes.Worker("w2"), Open), "open", address: "10.0.5.40");
        var state = State(TestNodes.Worker("w2"), Open, asked!);
        var allocated = Apply(state, new NetworkAllocator().Decide(state, T0));
        Assert.Equal("10.0.5.40/24", Assert.Single(allocated.Get<TaskObject>("a2")!.Networks).Address);

        var (again, _) = NetworkAttachments.Decide(allocated, new AttachContainerNetwork("w2", "open", "c2", "other", [], "10.0.5.40"), "a3", T0);
        var withAgain = State([.. allocated.List<NetworkObject>(), .. allocated.List<NodeObject>(), .. allocated.List<TaskObject>(), again!]);
        var taken = Apply(withAgain, new NetworkAllocator().Decide(withAgain, T0));
        var refused = Assert.IsType<CommandRejected>(NetworkAttachments.Answer(taken, "a3"));
        Assert.StartsWith("Address already in use: 10.0.5.40 on network open", refused.Reason, StringComparison.Ordinal);

        // The first container disconnects (its attachment goes): the address is given to the one that asks for it.
        var freed = State([.. taken.List<NetworkObject>(), .. taken.List<NodeObject>(), .. taken.List<TaskObject>().Where(t => t.Id != "a2")]);
        var given = Apply(freed, new NetworkAllocator().Decide(freed, T0));
        Assert.Equal("10.0.5.40/24", Assert.Single(given.Get<TaskObject>("a3")!.Networks).Address);
    }
}
