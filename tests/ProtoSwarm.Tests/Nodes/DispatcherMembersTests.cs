using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Nodes;

public class DispatcherMembersTests
{
    [Fact]
    public void Members_Are_Those_Of_Ready_Nodes_And_Of_Nodes_Down_Less_Than_10s_That_Have_A_Member()
    {
        // TestNodes stamp every status's last heartbeat T0; "down" was last heard 10 s before the others' Down.
        var now = TestNodes.T0 + TimeSpan.FromSeconds(9.9);
        NodeObject[] nodes =
        [
            TestNodes.Worker("ready"),
            TestNodes.Worker("down", state: NodeState.Down) with { Status = new NodeStatus(NodeState.Down, NodeLiveness.HeartbeatFailure, "10.0.0.1", now - TimeSpan.FromSeconds(10)) },
            TestNodes.Worker("just-down", state: NodeState.Down),
            TestNodes.Worker("unknown", state: NodeState.Unknown),
            TestNodes.Worker("no-member") with { Member = null },
            TestNodes.Worker("down-no-member", state: NodeState.Down) with { Member = null },
            TestNodes.Manager("manager"),
        ];

        var members = DispatcherActor.MembersOf(nodes, now);

        Assert.Equal(["member-ready", "member-just-down", "member-manager"], members.Select(m => m.MemberId).ToArray());
    }

    [Fact]
    public void Members_Of_No_Nodes_Is_Empty()
    {
        Assert.Empty(DispatcherActor.MembersOf([], TestNodes.T0));
    }

    [Fact]
    public void Managers_Are_Every_Manager_Whatever_Its_State_With_Its_Address_And_Leadership()
    {
        NodeObject[] nodes =
        [
            TestNodes.Worker("w1"),
            TestNodes.Manager("leader", leader: true),
            TestNodes.Manager("down", state: NodeState.Down),
            TestNodes.Manager("bare") with { ManagerStatus = null },
        ];

        var managers = DispatcherActor.ManagersOf(nodes, TestNodes.RaftIdOf("leader"));

        Assert.Equal(
            [
                new ManagerAddress("leader", "10.0.1.1:2377", Leader: true),
                new ManagerAddress("down", "10.0.1.1:2377", Leader: false),
                new ManagerAddress("bare", "10.0.0.1", Leader: false),
            ],
            managers.ToArray());
    }
}
