using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.TestServices;

namespace ProtoSwarm.Tests.Orchestration;

public class FilterTests
{
    [Theory]
    [InlineData(NodeState.Ready, NodeAvailability.Active, null)]
    [InlineData(NodeState.Down, NodeAvailability.Active, "node host-n1 is down, not ready")]
    [InlineData(NodeState.Unknown, NodeAvailability.Active, "node host-n1 is unknown, not ready")]
    [InlineData(NodeState.Disconnected, NodeAvailability.Active, "node host-n1 is disconnected, not ready")]
    [InlineData(NodeState.Ready, NodeAvailability.Pause, "node host-n1 is paused and takes no new tasks")]
    [InlineData(NodeState.Ready, NodeAvailability.Drain, "node host-n1 is drained and takes no new tasks")]
    public void Ready_Filter_Wants_A_Ready_Active_Node(NodeState state, NodeAvailability availability, string? refusal)
    {
        var node = View(Node("n1", state: state, availability: availability));

        Assert.Equal(refusal, SchedulingFilters.Ready.Check(Demand(), node));
    }

    [Theory]
    [InlineData("nothing reserved", 0, 0, null)]
    [InlineData("fits exactly", 3, 7168, null)]
    [InlineData("one CPU too many", 4, 0, "node host-n1 has 3 CPUs unreserved, the task reserves 4")]
    [InlineData("memory", 0.5, 8192, "node host-n1 has 7 GiB of memory unreserved, the task reserves 8 GiB")]
    [InlineData("fraction of a CPU", 3.25, 0, "node host-n1 has 3 CPUs unreserved, the task reserves 3.25")]
    public void Resource_Filter_Counts_Reservations_Of_Tasks_Already_On_The_Node(string rule, double cpus, long memoryMiB, string? refusal)
    {
        var oneGiB = new ResourceAmounts(1_000_000_000, 1L << 30);
        var node = View(Node("n1", cpus: 4, memoryGiB: 8),
            Task("placed", "other", "n1", reserve: oneGiB),
            Task("ended", "other", "n1", TaskState.Failed, reserve: oneGiB),
            Task("elsewhere", "other", "n2", reserve: oneGiB),
            Task("shutting", "other", "n1", TaskState.Running, TaskState.Shutdown, reserve: oneGiB));

        var result = SchedulingFilters.Resources.Check(Demand(cpus: cpus, memoryMiB: memoryMiB), node);

        Assert.True(refusal == result, $"{rule}: expected {refusal ?? "a pass"}, got {result ?? "a pass"}");
    }

    [Fact]
    public void Resource_Filter_Refuses_A_Node_Overcommitted_By_Earlier_Tasks_Without_A_Negative_Figure()
    {
        var node = View(Node("n1", cpus: 1), Task("big", "other", "n1", reserve: new ResourceAmounts(2_000_000_000, 0)));

        Assert.Equal("node host-n1 has 0 CPUs unreserved, the task reserves 0.5", SchedulingFilters.Resources.Check(Demand(cpus: 0.5), node));
        Assert.Null(SchedulingFilters.Resources.Check(Demand(), node));
    }

    [Theory]
    [InlineData(new string[0], null)]
    [InlineData(new[] { "node.labels.zone==a" }, null)]
    [InlineData(new[] { "node.labels.zone==a", "node.role==worker" }, null)]
    [InlineData(new[] { "node.labels.zone==a", "node.role==manager" }, "node host-n1 does not satisfy the constraint node.role==manager")]
    [InlineData(new[] { "node.labels.zone!=a" }, "node host-n1 does not satisfy the constraint node.labels.zone!=a")]
    [InlineData(new[] { "node.hostname != host-n1" }, "node host-n1 does not satisfy the constraint node.hostname!=host-n1")]
    public void Constraint_Filter_Names_The_First_Constraint_That_Fails(string[] constraints, string? refusal)
    {
        var node = View(Node("n1", labels: [("zone", "a")]));

        Assert.Equal(refusal, SchedulingFilters.Constraints.Check(Demand(constraints: constraints), node));
    }

    [Theory]
    [InlineData(8080, PortProtocol.Tcp, "node host-n1 already publishes host port 8080/tcp")]
    [InlineData(8080, PortProtocol.Udp, null)]
    [InlineData(8081, PortProtocol.Tcp, null)]
    [InlineData(9000, PortProtocol.Tcp, null)]
    public void Host_Port_Filter_Refuses_A_Port_Taken_In_Host_Mode_On_The_Node(int port, PortProtocol protocol, string? refusal)
    {
        var hostMode = new EndpointSpec(Ports: [new PortConfig(80, 8080, PortProtocol.Tcp, PublishMode.Host)]);
        var ingress = new EndpointSpec(Ports: [new PortConfig(80, 9000, PortProtocol.Tcp, PublishMode.Ingress)]);
        var node = View(Node("n1"), Task("a", "other", "n1", endpoint: hostMode), Task("b", "other", "n1", endpoint: ingress));

        Assert.Equal(refusal, SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(protocol, port)]), node));
    }

    [Fact]
    public void A_Host_Port_A_Node_Picked_For_A_Task_Is_Taken_There()
    {
        var dynamic = new EndpointSpec(Ports: [new PortConfig(7200, 0, PortProtocol.Tcp, PublishMode.Host)]);
        var task = Task("a", "other", "n1", endpoint: dynamic);
        task = task with { Status = task.Status with { PortStatus = [new PortConfig(7200, 32768, PortProtocol.Tcp, PublishMode.Host)] } };
        var node = View(Node("n1"), task);

        Assert.Equal("node host-n1 already publishes host port 32768/tcp", SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(PortProtocol.Tcp, 32768)]), node));
        Assert.Null(SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(PortProtocol.Tcp, 7200)]), node));
    }

    [Fact]
    public void A_Host_Port_A_Standalone_Container_Holds_Is_Taken_On_Its_Node_As_Its_Description_Says()
    {
        var node = Node("n1");
        node = node with { Description = node.Description with { HostPorts = [new PortConfig(80, 8089, PortProtocol.Tcp, PublishMode.Host)] } };
        var view = View(node);

        Assert.Equal("node host-n1 already publishes host port 8089/tcp", SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(PortProtocol.Tcp, 8089)]), view));
        Assert.Null(SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(PortProtocol.Udp, 8089)]), view));
        Assert.Null(SchedulingFilters.HostPorts.Check(Demand(hostPorts: [new HostPort(PortProtocol.Tcp, 8089)]), View(Node("n1"))));
    }

    [Fact]
    public void Host_Port_Zero_Is_Never_Counted_As_Taken()
    {
        var endpoint = new EndpointSpec(Ports: [new PortConfig(80, 0, PortProtocol.Tcp, PublishMode.Host), new PortConfig(81, 8081, PortProtocol.Tcp, PublishMode.Host)]);

        Assert.Equal([new HostPort(PortProtocol.Tcp, 8081)], TaskDemand.HostPortsOf(endpoint).ToArray());
    }

    [Theory]
    [InlineData(0, 5, null)]
    [InlineData(3, 2, null)]
    [InlineData(2, 2, "node host-n1 already has 2 tasks of the service, its max replicas per node")]
    [InlineData(1, 2, "node host-n1 already has 2 tasks of the service, its max replicas per node")]
    public void Max_Replicas_Filter_Counts_Only_This_Services_Tasks(long maxPerNode, int tasksOfService, string? refusal)
    {
        var tasks = Enumerable.Range(0, tasksOfService).Select(i => Task($"s{i}", "svc", "n1"))
            .Append(Task("o1", "other", "n1")).Append(Task("o2", "other", "n1")).ToArray();
        var node = View(Node("n1"), tasks);

        Assert.Equal(refusal, SchedulingFilters.MaxReplicas.Check(Demand(maxPerNode: maxPerNode), node));
    }

    [Fact]
    public void The_First_Refusing_Filter_Is_Reported_In_Pipeline_Order()
    {
        var node = View(Node("n1", cpus: 1, availability: NodeAvailability.Drain));

        var index = SchedulingFilters.FirstRefusal(Demand(cpus: 2, constraints: ["node.role==manager"]), node, out var reason);

        Assert.Equal(0, index);
        Assert.Equal("node host-n1 is drained and takes no new tasks", reason);
        Assert.Equal(["ready", "resources", "constraints", "host ports", "max replicas"], SchedulingFilters.All.Select(f => f.Name));
    }

    [Theory]
    [InlineData(0, 1, "1 node not available for new tasks")]
    [InlineData(0, 3, "3 nodes not available for new tasks")]
    [InlineData(1, 1, "insufficient resources on 1 node")]
    [InlineData(1, 2, "insufficient resources on 2 nodes")]
    [InlineData(2, 1, "scheduling constraints not satisfied on 1 node")]
    [InlineData(2, 4, "scheduling constraints not satisfied on 4 nodes")]
    [InlineData(3, 1, "host-mode port already in use on 1 node")]
    [InlineData(3, 2, "host-mode port already in use on 2 nodes")]
    [InlineData(4, 1, "max replicas per node limit exceed")]
    [InlineData(4, 7, "max replicas per node limit exceed")]
    public void Each_Filter_Summarizes_Its_Refusals(int filter, int nodes, string summary)
    {
        Assert.Equal(summary, SchedulingFilters.All[filter].Summarize(nodes));
    }
}
