using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

public class NodeCommandsTests
{
    private static readonly NodeObject[] Swarm =
    [
        TestNodes.Worker("abc111", "alpha"),
        TestNodes.Worker("abd222", "beta"),
        TestNodes.Worker("xyz333", "dup"),
        TestNodes.Worker("xyq444", "dup"),
        TestNodes.Worker("qqq555", "abc111"),
        TestNodes.Worker("rrr666", "ab"),
    ];

    [Theory]
    [InlineData("full id", "xyz333", "xyz333", null)]
    [InlineData("full id wins over a hostname equal to it", "abc111", "abc111", null)]
    [InlineData("hostname", "alpha", "abc111", null)]
    [InlineData("unique id prefix", "abd", "abd222", null)]
    [InlineData("hostname wins over an id prefix", "ab", "rrr666", null)]
    [InlineData("ambiguous hostname", "dup", null, RejectCode.Conflict)]
    [InlineData("ambiguous id prefix", "xy", null, RejectCode.Conflict)]
    [InlineData("missing", "nope", null, RejectCode.NotFound)]
    [InlineData("empty", "", null, RejectCode.InvalidArgument)]
    [InlineData("blank", "   ", null, RejectCode.InvalidArgument)]
    public void Resolve(string rule, string nodeRef, string? expectedId, RejectCode? expectedCode)
    {
        var (node, rejected) = NodeCommands.Resolve(Swarm, nodeRef);

        Assert.True(expectedId == node?.Id, $"{rule}: expected {expectedId ?? "none"}, got {node?.Id ?? "none"}");
        Assert.Equal(expectedCode, rejected?.Code);
        if (rejected is not null)
        {
            Assert.False(string.IsNullOrWhiteSpace(rejected.Reason));
        }
    }

    [Fact]
    public void Resolve_Of_An_Ambiguous_Hostname_Names_The_Candidates()
    {
        var (_, rejected) = NodeCommands.Resolve(Swarm, "dup");

        Assert.Contains("xyz333", rejected!.Reason, StringComparison.Ordinal);
        Assert.Contains("xyq444", rejected.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(NodeState.Ready, Reachability.Reachable)]
    [InlineData(NodeState.Down, Reachability.Unreachable)]
    public void Promote_Turns_A_Worker_Into_A_Manager_At_Its_Member_Port(NodeState state, Reachability reachability)
    {
        var worker = TestNodes.Worker("w1", state: state) with { Member = new MemberInfo("m", "10.0.0.1", 4000, []) };

        var decision = NodeCommands.Promote(worker, 42);

        Assert.Null(decision.Rejected);
        var written = Assert.IsType<NodeObject>(decision.Write);
        Assert.Equal((NodeRole.Manager, NodeRole.Manager), (written.Role, written.Spec.DesiredRole));
        Assert.Equal(new ManagerStatus(false, reachability, "10.0.0.1:4000"), written.ManagerStatus);
        Assert.Contains("promoted", decision.Message, StringComparison.Ordinal);
        Assert.Equal(42UL, written.RaftId);
    }

    [Fact]
    public void Promote_Of_A_Worker_With_No_Member_Uses_The_Default_Port()
    {
        var decision = NodeCommands.Promote(TestNodes.Worker("w1") with { Member = null }, 42);

        Assert.Equal("10.0.0.1:2377", decision.Write!.ManagerStatus!.Addr);
    }

    [Fact]
    public void Promote_Of_A_Manager_Changes_Nothing()
    {
        var decision = NodeCommands.Promote(TestNodes.Manager("m1"), 42);

        Assert.Null(decision.Write);
        Assert.Null(decision.Rejected);
        Assert.Contains("already a manager", decision.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, NodeObject[], RejectCode?, bool> DemoteCases() => new()
    {
        // rule, node to demote, the swarm, expected refusal, expected a write
        { "a manager among several", "m2", [TestNodes.Manager("m1", leader: true), TestNodes.Manager("m2"), TestNodes.Worker("w1")], null, true },
        // The leader may be demoted: the API actor first hands leadership to another manager.
        { "the leader", "m1", [TestNodes.Manager("m1", leader: true), TestNodes.Manager("m2")], null, true },
        { "one that would leave the others without quorum", "m3", [TestNodes.Manager("m1", leader: true), TestNodes.Manager("m2", state: NodeState.Down), TestNodes.Manager("m3")], RejectCode.Conflict, false },
        { "one whose loss keeps quorum", "m3", [TestNodes.Manager("m1", leader: true), TestNodes.Manager("m2"), TestNodes.Manager("m3", state: NodeState.Down)], null, true },
        { "the last manager", "m1", [TestNodes.Manager("m1"), TestNodes.Worker("w1")], RejectCode.Conflict, false },
        { "a worker", "w1", [TestNodes.Manager("m1", leader: true), TestNodes.Worker("w1")], null, false },
    };

    [Theory]
    [MemberData(nameof(DemoteCases))]
    public void Demote(string rule, string nodeId, NodeObject[] swarm, RejectCode? expectedCode, bool expectWrite)
    {
        var node = swarm.Single(n => n.Id == nodeId);

        var decision = NodeCommands.Demote(node, swarm);

        Assert.True(expectedCode == decision.Rejected?.Code, $"{rule}: expected {expectedCode?.ToString() ?? "no refusal"}, got {decision.Rejected?.Code.ToString() ?? "no refusal"}");
        Assert.Equal(expectWrite, decision.Write is not null);
        if (decision.Write is { } written)
        {
            Assert.Equal((NodeRole.Worker, NodeRole.Worker), (written.Role, written.Spec.DesiredRole));
            Assert.Null(written.ManagerStatus);
            Assert.Equal(0UL, written.RaftId);
        }
    }

    [Fact]
    public void Demote_Counts_A_Ready_Manager_The_Leader_Has_Not_Just_Heard_From_As_Unreachable()
    {
        // m2 crashed a moment ago: the store still says Ready, Raft has heard only from m1 and m3.
        NodeObject[] swarm = [TestNodes.Manager("m1", leader: true), TestNodes.Manager("m2"), TestNodes.Manager("m3")];
        var heard = new HashSet<ulong> { TestNodes.RaftIdOf("m1"), TestNodes.RaftIdOf("m3") };

        var refused = NodeCommands.Demote(swarm[2], swarm, heard);
        var allowed = NodeCommands.Demote(swarm[1], swarm, heard);

        Assert.Equal(RejectCode.Conflict, refused.Rejected?.Code);
        Assert.Contains("quorum", refused.Rejected!.Reason, StringComparison.Ordinal);
        Assert.Null(allowed.Rejected);
        Assert.NotNull(allowed.Write);
    }

    public static TheoryData<string, NodeAvailability?, string[], string[], RejectCode?, string?> UpdateCases() => new()
    {
        // rule, availability, labels to add (k=v), labels to remove, expected refusal, expected labels and availability (null: no write)
        { "availability", NodeAvailability.Drain, [], [], null, "Drain zone=east" },
        { "label add", null, ["rack=r1"], [], null, "Active rack=r1 zone=east" },
        { "label add replaces a value", null, ["zone=west"], [], null, "Active zone=west" },
        { "label rm", null, [], ["zone"], null, "Active" },
        { "label rm then add the same key", null, ["zone=north"], ["zone"], null, "Active zone=north" },
        { "rm of a missing label", null, [], ["nope"], RejectCode.InvalidArgument, null },
        { "label add with an empty key", null, ["=v"], [], RejectCode.InvalidArgument, null },
        { "nothing asked", null, [], [], null, null },
        { "the same availability", NodeAvailability.Active, [], [], null, null },
        { "the same label value", null, ["zone=east"], [], null, null },
    };

    [Theory]
    [MemberData(nameof(UpdateCases))]
    public void Update(string rule, NodeAvailability? availability, string[] add, string[] remove, RejectCode? expectedCode, string? expected)
    {
        var node = TestNodes.Worker("w1").WithLabels(("zone", "east"));
        var labelsAdd = add.Select(a => a.Split('=')).ToImmutableSortedDictionary(a => a[0], a => a[1], StringComparer.Ordinal);

        var decision = NodeCommands.Update(node, availability, labelsAdd, remove);

        Assert.True(expectedCode == decision.Rejected?.Code, $"{rule}: expected {expectedCode?.ToString() ?? "no refusal"}, got {decision.Rejected?.Code.ToString() ?? "no refusal"}");
        var written = decision.Write is { } w ? string.Join(' ', [w.Spec.Availability.ToString(), .. w.Spec.Labels.Select(l => $"{l.Key}={l.Value}")]) : null;
        Assert.True(expected == written, $"{rule}: expected {expected ?? "no write"}, got {written ?? "no write"}");
    }

    [Theory]
    [InlineData("availability", "drain", new string[0], new string[0], "availability drain")]
    [InlineData("a label added, one changed, one removed, by key", null, new[] { "rack=r1", "gpu=", "zone=west" }, new[] { "old" }, "labels +gpu= -old +rack=r1 +zone=west")]
    [InlineData("both", "pause", new[] { "ssd=" }, new string[0], "availability pause, labels +ssd=")]
    [InlineData("a label set to the value it had", null, new[] { "zone=east" }, new string[0], "")]
    public void Changes_Name_Only_What_An_Update_Changed(string rule, string? availability, string[] add, string[] remove, string expected)
    {
        var before = TestNodes.Worker("w1").WithLabels(("zone", "east"), ("old", "1"));
        var labels = add.Select(a => a.Split('=')).Aggregate(before.Spec.Labels.RemoveRange(remove), (l, a) => l.SetItem(a[0], a[1]));
        var after = before with
        {
            Spec = before.Spec with
            {
                Availability = availability is null ? before.Spec.Availability : Enum.Parse<NodeAvailability>(availability, ignoreCase: true),
                Labels = labels,
            },
        };

        Assert.True(expected == NodeCommands.Changes(before, after), $"{rule}: expected '{expected}', got '{NodeCommands.Changes(before, after)}'");
    }

    [Fact]
    public void Update_Refusing_A_Missing_Label_Names_It()
    {
        var decision = NodeCommands.Update(TestNodes.Worker("w1"), null, ImmutableSortedDictionary<string, string>.Empty, ["gpu"]);

        Assert.Contains("gpu", decision.Rejected!.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a manager", NodeRole.Manager, NodeState.Down, true, RejectCode.Conflict)]
    [InlineData("a ready worker without force", NodeRole.Worker, NodeState.Ready, false, RejectCode.Conflict)]
    [InlineData("an unknown worker without force", NodeRole.Worker, NodeState.Unknown, false, RejectCode.Conflict)]
    [InlineData("a ready worker with force", NodeRole.Worker, NodeState.Ready, true, null)]
    [InlineData("a down worker", NodeRole.Worker, NodeState.Down, false, null)]
    public void Remove(string rule, NodeRole role, NodeState state, bool force, RejectCode? expectedCode)
    {
        var node = role == NodeRole.Manager ? TestNodes.Manager("n1", state: state) : TestNodes.Worker("n1", state: state);

        var decision = NodeCommands.Remove(node, force);

        Assert.True(expectedCode == decision.Rejected?.Code, $"{rule}: expected {expectedCode?.ToString() ?? "allowed"}, got {decision.Rejected?.Code.ToString() ?? "allowed"}");
        Assert.Null(decision.Write);
    }

    [Theory]
    [InlineData(NodeRole.Worker, null)]
    [InlineData(NodeRole.Manager, "10.0.0.5:2377")]
    public void New_Node_Starts_Unknown_Active_With_A_Manager_Status_Only_For_Managers(NodeRole role, string? managerAddr)
    {
        var node = NodeCommands.NewNode("id1", role, "10.0.0.5", NodeCommands.DefaultPort, TestNodes.Description("h"), TestNodes.T0, leader: true);

        Assert.Equal((role, role, NodeAvailability.Active, NodeState.Unknown), (node.Role, node.Spec.DesiredRole, node.Spec.Availability, node.Status.State));
        Assert.Equal(managerAddr, node.ManagerStatus?.Addr);
        Assert.Empty(node.Spec.Labels);
    }
}
