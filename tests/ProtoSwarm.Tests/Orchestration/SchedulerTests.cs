using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Orchestration.TestServices;

namespace ProtoSwarm.Tests.Orchestration;

public class SchedulerTests
{
    private static List<NodeInfo> Views(params NodeObject[] nodes) => [.. nodes.Select(n => View(n))];

    [Fact]
    public void Three_Replicas_Land_One_Per_Node()
    {
        var nodes = Views(Node("a"), Node("b"), Node("c"));

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(3), nodes);

        Assert.Equal("a=1 b=1 c=1", Counts(result.Assignments, ["a", "b", "c"]));
        Assert.Empty(result.Unplaced);
        Assert.Null(result.Explanation);
    }

    [Fact]
    public void Fewest_Tasks_Of_This_Service_Wins_Then_Fewest_Tasks_In_All()
    {
        // a already runs 2 of svc; b runs 1 of svc and 3 of others; c runs 1 of svc and nothing else.
        var nodes = new List<NodeInfo>
        {
            View(Node("a"), Task("a1", "svc", "a"), Task("a2", "svc", "a")),
            View(Node("b"), Task("b1", "svc", "b"), Task("b2", "x", "b"), Task("b3", "x", "b"), Task("b4", "x", "b")),
            View(Node("c"), Task("c1", "svc", "c")),
        };

        var result = Scheduler.PlaceBatch(Demand(), TaskIds(4), nodes);

        // c (1 of svc, 1 in all); then b, the only node left with 1 of svc; then a, b, c all have 2 of svc,
        // a and c 2 in all, and the id breaks the tie: a; then c, the only node left with 2 of svc.
        Assert.Equal(["c", "b", "a", "c"], result.Assignments.Select(a => a.NodeId));
    }

    [Fact]
    public void Ties_Go_To_The_Lowest_Node_Id_So_Placement_Is_Deterministic()
    {
        var result = Scheduler.PlaceBatch(Demand(), TaskIds(2), Views(Node("b"), Node("a"), Node("c")));

        Assert.Equal(["a", "b"], result.Assignments.Select(a => a.NodeId));
    }

    [Fact]
    public void Nodes_Are_Skipped_By_Every_Filter_And_The_Counts_Carry_Into_The_Next_Batch()
    {
        var nodes = Views(
            Node("a"),
            Node("down", state: NodeState.Down),
            Node("drained", availability: NodeAvailability.Drain),
            Node("small", cpus: 0.5),
            Node("manager", role: NodeRole.Manager));
        var demand = Demand(cpus: 1, constraints: ["node.role==worker"]);

        var first = Scheduler.PlaceBatch(demand, TaskIds(2, "x"), nodes);
        var second = Scheduler.PlaceBatch(demand, TaskIds(1, "y"), nodes);

        Assert.All(first.Assignments.Concat(second.Assignments), a => Assert.Equal("a", a.NodeId));
        Assert.Equal(3, nodes[0].TasksOf("svc"));
        Assert.Equal(1_000_000_000, nodes[0].FreeNanoCpus);
    }

    [Fact]
    public void No_Suitable_Node_Explains_Per_Filter_Most_Refusals_First()
    {
        var nodes = Views(
            Node("down", state: NodeState.Down),
            Node("small1", cpus: 1),
            Node("small2", cpus: 1),
            Node("manager", role: NodeRole.Manager));

        var result = Scheduler.PlaceBatch(Demand(cpus: 2, constraints: ["node.role==worker"]), TaskIds(2), nodes);

        Assert.Empty(result.Assignments);
        Assert.Equal(["t00001", "t00002"], result.Unplaced.ToArray());
        Assert.Equal("no suitable node (insufficient resources on 2 nodes; 1 node not available for new tasks; scheduling constraints not satisfied on 1 node)", result.Explanation);
        Assert.Equal(
            ["down: ready: node host-down is down, not ready",
             "manager: constraints: node host-manager does not satisfy the constraint node.role==worker",
             "small1: resources: node host-small1 has 1 CPUs unreserved, the task reserves 2",
             "small2: resources: node host-small2 has 1 CPUs unreserved, the task reserves 2"],
            result.Refusals.Select(r => $"{r.NodeId}: {r.Filter}: {r.Reason}"));
    }

    [Fact]
    public void A_Batch_Places_What_Fits_And_Explains_The_Rest()
    {
        var nodes = Views(Node("a", cpus: 2), Node("b", cpus: 1));

        var result = Scheduler.PlaceBatch(Demand(cpus: 1), TaskIds(5), nodes);

        Assert.Equal("a=2 b=1", Counts(result.Assignments, ["a", "b"]));
        Assert.Equal(["t00004", "t00005"], result.Unplaced.ToArray());
        Assert.Equal("no suitable node (insufficient resources on 2 nodes)", result.Explanation);
    }

    [Fact]
    public void Max_Replicas_Per_Node_Caps_Each_Node_And_Says_So()
    {
        var result = Scheduler.PlaceBatch(Demand(maxPerNode: 2), TaskIds(7), Views(Node("a"), Node("b"), Node("c")));

        Assert.Equal("a=2 b=2 c=2", Counts(result.Assignments, ["a", "b", "c"]));
        Assert.Equal("no suitable node (max replicas per node limit exceed)", result.Explanation);
    }

    [Fact]
    public void A_Host_Port_Takes_A_Node_Once()
    {
        var result = Scheduler.PlaceBatch(Demand(hostPorts: [new HostPort(PortProtocol.Tcp, 80)]), TaskIds(3), Views(Node("a"), Node("b")));

        Assert.Equal("a=1 b=1", Counts(result.Assignments, ["a", "b"]));
        Assert.Equal("no suitable node (host-mode port already in use on 2 nodes)", result.Explanation);
    }

    [Fact]
    public void An_Empty_Swarm_Says_So()
    {
        var result = Scheduler.PlaceBatch(Demand(), TaskIds(1), []);

        Assert.Equal("no suitable node (the swarm has no nodes)", result.Explanation);
    }

    private static NodeObject Zoned(string id, string? zone, string? rack = null) =>
        Node(id, labels: [.. new[] { ("zone", zone), ("rack", rack) }.Where(l => l.Item2 is not null).Select(l => (l.Item1, l.Item2!))]);

    [Fact]
    public void Spread_Evens_Tasks_Over_Label_Values_Not_Over_Nodes()
    {
        // Zone a has 3 nodes, zone b one: docker's spread puts half the tasks in each zone.
        var nodes = Views(Zoned("a1", "a"), Zoned("a2", "a"), Zoned("a3", "a"), Zoned("b1", "b"));

        var result = Scheduler.PlaceBatch(Demand(spread: ["node.labels.zone"]), TaskIds(6), nodes);

        Assert.Equal("a1=1 a2=1 a3=1 b1=3", Counts(result.Assignments, ["a1", "a2", "a3", "b1"]));
    }

    [Fact]
    public void Spread_Counts_Tasks_Already_Running_In_Each_Branch()
    {
        var nodes = new List<NodeInfo>
        {
            View(Zoned("a1", "a"), Task("r1", "svc", "a1"), Task("r2", "svc", "a1")),
            View(Zoned("b1", "b")),
        };

        var result = Scheduler.PlaceBatch(Demand(spread: ["node.labels.zone"]), TaskIds(4), nodes);

        Assert.Equal("a1=1 b1=3", Counts(result.Assignments, ["a1", "b1"]));
    }

    [Fact]
    public void Nodes_Without_The_Label_Form_One_Branch_Of_Their_Own()
    {
        var nodes = Views(Zoned("a1", "a"), Zoned("n1", null), Zoned("n2", null));

        var result = Scheduler.PlaceBatch(Demand(spread: ["node.labels.zone"]), TaskIds(4), nodes);

        Assert.Equal("a1=2 n1=1 n2=1", Counts(result.Assignments, ["a1", "n1", "n2"]));
    }

    [Fact]
    public void Two_Preferences_Spread_Level_By_Level()
    {
        // zone a: racks r1 (1 node) and r2 (2 nodes); zone b: rack r3 (1 node).
        var nodes = Views(Zoned("a1", "a", "r1"), Zoned("a2", "a", "r2"), Zoned("a3", "a", "r2"), Zoned("b1", "b", "r3"));

        var result = Scheduler.PlaceBatch(Demand(spread: ["node.labels.zone", "node.labels.rack"]), TaskIds(8), nodes);

        // 4 per zone; in zone a, 2 per rack; in rack r2, 1 per node.
        Assert.Equal("a1=2 a2=1 a3=1 b1=4", Counts(result.Assignments, ["a1", "a2", "a3", "b1"]));
    }

    [Fact]
    public void A_Full_Branch_Leaves_The_Rest_To_The_Others()
    {
        var nodes = Views(Zoned("a1", "a") with { Description = TestNodesDescription("a1", cpus: 1) }, Zoned("b1", "b"));

        var result = Scheduler.PlaceBatch(Demand(cpus: 1, spread: ["node.labels.zone"]), TaskIds(4), nodes);

        Assert.Equal("a1=1 b1=3", Counts(result.Assignments, ["a1", "b1"]));
        Assert.Empty(result.Unplaced);
    }

    [Fact]
    public void Spread_Honours_Constraints_Below_The_Tree()
    {
        var nodes = Views(Zoned("a1", "a"), Zoned("b1", "b"), Node("m1", role: NodeRole.Manager, labels: [("zone", "b")]));

        var result = Scheduler.PlaceBatch(Demand(constraints: ["node.role==worker"], spread: ["node.labels.zone"]), TaskIds(4), nodes);

        Assert.Equal("a1=2 b1=2 m1=0", Counts(result.Assignments, ["a1", "b1", "m1"]));
    }

    [Fact]
    public void Spread_Over_An_Engine_Label_Evens_Tasks_Over_Its_Values()
    {
        // The daemons' --label zone: a on three nodes, b on one; the node labels say otherwise and are not read.
        var nodes = Views(
            Zoned("a1", "b").WithEngineLabels(("zone", "a")), Zoned("a2", "b").WithEngineLabels(("zone", "a")),
            Zoned("a3", "b").WithEngineLabels(("zone", "a")), Zoned("b1", "a").WithEngineLabels(("zone", "b")));

        var result = Scheduler.PlaceBatch(Demand(spread: ["engine.labels.zone"]), TaskIds(6), nodes);

        Assert.Equal("a1=1 a2=1 a3=1 b1=3", Counts(result.Assignments, ["a1", "a2", "a3", "b1"]));
    }

    [Fact]
    public void An_Engine_Label_Constraint_Places_Every_Replica_On_The_Nodes_That_Have_It()
    {
        var nodes = Views(Node("w1").WithEngineLabels(("disk", "ssd")), Node("w2"), Node("w3", labels: [("disk", "ssd")]));

        var result = Scheduler.PlaceBatch(Demand(constraints: ["engine.labels.disk==ssd"]), TaskIds(3), nodes);

        Assert.Equal("w1=3 w2=0 w3=0", Counts(result.Assignments, ["w1", "w2", "w3"]));
    }

    private static NodeDescription TestNodesDescription(string id, double cpus) =>
        Nodes.TestNodes.Description("host-" + id) with { NanoCpus = (long)(cpus * 1e9) };

    public static TheoryData<string, int, int, int> Swarms() => new()
    {
        // name, nodes, tasks, seed
        { "even", 10, 100, 1 },
        { "fewer tasks than nodes", 50, 7, 2 },
        { "uneven capacity and load", 40, 300, 3 },
        { "tight on resources", 20, 500, 4 },
    };

    [Theory]
    [MemberData(nameof(Swarms))]
    public void A_Batch_Places_Exactly_As_One_Task_At_A_Time(string swarm, int nodeCount, int taskCount, int seed)
    {
        var demand = Demand(cpus: 0.25, memoryMiB: 256, constraints: ["node.labels.tier!=db"], maxPerNode: 40);

        var batch = Scheduler.PlaceBatch(demand, TaskIds(taskCount), RandomSwarm(nodeCount, seed));
        var naive = OneTaskAtATime.Place(demand, TaskIds(taskCount), RandomSwarm(nodeCount, seed));

        Assert.True(naive.SequenceEqual(batch.Assignments), $"{swarm}: the batch placed differently");
    }

    /// <summary>Nodes of random size, some drained, some labelled tier=db, each already running some tasks of this and other services.</summary>
    internal static List<NodeInfo> RandomSwarm(int nodeCount, int seed)
    {
        var random = new Random(seed);
        var views = new List<NodeInfo>();
        for (var i = 0; i < nodeCount; i++)
        {
            var id = $"n{i:D4}";
            var node = Node(id, cpus: random.Next(1, 9), memoryGiB: random.Next(1, 17),
                availability: random.Next(10) == 0 ? NodeAvailability.Drain : NodeAvailability.Active,
                labels: random.Next(5) == 0 ? [("tier", "db")] : []);
            var tasks = Enumerable.Range(0, random.Next(4))
                .Select(k => Task($"{id}-{k}", random.Next(2) == 0 ? "svc" : "other", id, reserve: new ResourceAmounts(100_000_000, 64L << 20)))
                .ToArray();
            views.Add(View(node, tasks));
        }

        return views;
    }

    [Fact]
    public void Schedule_Groups_Identical_Tasks_And_Leaves_The_Unplaceable_Pending_With_The_Reason()
    {
        var nodes = new[] { Node("a"), Node("b") };
        var running = Task("r1", "web", "a");
        var pending = new[]
        {
            Pending("w1", "web", 2), Pending("w2", "web", 3),
            Pending("d1", "db", 1) with { Spec = new TaskSpec(new ContainerSpec("pg"), Placement: new Placement(["node.role==manager"])) },
        };

        var (assignments, left) = Scheduler.Schedule(pending, nodes, [running, .. pending]);

        Assert.Equal([new Assignment("w1", "b"), new Assignment("w2", "a")], assignments.ToArray());
        Assert.Equal("no suitable node (scheduling constraints not satisfied on 2 nodes)", Assert.Single(left, p => p.Key == "d1").Value);
    }

    [Fact]
    public void A_Global_Task_Is_Checked_Against_Its_Own_Node_Only()
    {
        var nodes = new[] { Node("a", cpus: 1), Node("b", cpus: 4), Node("c", state: NodeState.Down) };
        var reserveTwo = new ResourceRequirements(ResourceAmounts.None, new ResourceAmounts(2_000_000_000, 0));
        TaskObject Global(string id, string nodeId) => Task(id, "agent", nodeId, TaskState.Pending) with { Slot = 0, Spec = new TaskSpec(new ContainerSpec("agent"), reserveTwo) };
        var pending = new[] { Global("ga", "a"), Global("gb", "b"), Global("gc", "c"), Global("gx", "gone") };

        var (assignments, left) = Scheduler.Schedule(pending, nodes, pending);

        Assert.Equal([new Assignment("gb", "b")], assignments.ToArray());
        Assert.Equal("no suitable node (insufficient resources on 1 node)", left["ga"]);
        Assert.Equal("no suitable node (1 node not available for new tasks)", left["gc"]);
        Assert.Equal("no suitable node (node gone is not in the swarm)", left["gx"]);
    }

    private static TaskObject Pending(string id, string serviceId, long slot) =>
        Task(id, serviceId, "", TaskState.Pending) with { Slot = slot };
}
