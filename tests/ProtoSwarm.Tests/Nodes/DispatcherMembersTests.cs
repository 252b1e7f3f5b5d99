using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Nodes;

public class DispatcherMembersTests
{
    [Fact]
    public void Members_Are_Those_Of_Ready_Nodes_That_Have_A_Member()
    {
        NodeObject[] nodes =
        [
            TestNodes.Worker("ready"),
            TestNodes.Worker("down", state: NodeState.Down),
            TestNodes.Worker("unknown", state: NodeState.Unknown),
            TestNodes.Worker("no-member") with { Member = null },
            TestNodes.Manager("manager"),
        ];

        var members = DispatcherActor.MembersOf(nodes);

        Assert.Equal(["member-ready", "member-manager"], members.Select(m => m.MemberId).ToArray());
    }

    [Fact]
    public void Members_Of_No_Nodes_Is_Empty()
    {
        Assert.Empty(DispatcherActor.MembersOf([]));
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
