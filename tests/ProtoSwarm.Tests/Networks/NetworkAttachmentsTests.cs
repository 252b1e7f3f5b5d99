using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
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
}
