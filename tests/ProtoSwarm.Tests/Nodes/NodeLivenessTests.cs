using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Nodes;

public class NodeLivenessTests
{
    private const string Addr = "10.0.0.1";
    private static readonly DateTimeOffset Now = TestNodes.T0.AddMinutes(10);

    [Theory]
    // stored state, ms since the last beat, a beat just arrived, its address -> the new state (null: keep)
    [InlineData("ready stays ready under heartbeats", NodeState.Ready, 0, true, Addr, null)]
    [InlineData("ready stays ready in a short silence", NodeState.Ready, 1999, false, Addr, null)]
    [InlineData("ready stays ready exactly at the boundary", NodeState.Ready, 2000, false, Addr, null)]
    [InlineData("ready goes down just after the boundary", NodeState.Ready, 2001, false, Addr, NodeState.Down)]
    [InlineData("ready goes down after a long silence", NodeState.Ready, 60_000, false, Addr, NodeState.Down)]
    [InlineData("down stays down in silence", NodeState.Down, 60_000, false, Addr, null)]
    [InlineData("down comes back on a heartbeat", NodeState.Down, 0, true, Addr, NodeState.Ready)]
    [InlineData("an address change rewrites", NodeState.Ready, 0, true, "10.0.0.9", NodeState.Ready)]
    [InlineData("unknown becomes ready on a heartbeat", NodeState.Unknown, 0, true, Addr, NodeState.Ready)]
    [InlineData("unknown stays unknown within the grace", NodeState.Unknown, 1000, false, Addr, null)]
    [InlineData("unknown goes down after the silence", NodeState.Unknown, 2001, false, Addr, NodeState.Down)]
    [InlineData("disconnected becomes ready on a heartbeat", NodeState.Disconnected, 0, true, Addr, NodeState.Ready)]
    public void Decide(string rule, NodeState stored, int silenceMs, bool heartbeat, string addr, NodeState? expected)
    {
        var storedStatus = new NodeStatus(stored, stored == NodeState.Down ? NodeLiveness.HeartbeatFailure : string.Empty, Addr, TestNodes.T0);
        var lastHeartbeat = Now.AddMilliseconds(-silenceMs);

        var decided = NodeLiveness.Decide(storedStatus, lastHeartbeat, Now, heartbeat, addr);

        Assert.True(expected == decided?.State, $"{rule}: expected {expected?.ToString() ?? "no change"}, got {decided?.State.ToString() ?? "no change"}");
        if (decided is not null)
        {
            Assert.Equal(lastHeartbeat, decided.LastHeartbeat);
            Assert.Equal(addr, decided.Addr);
            Assert.Equal(expected == NodeState.Down ? NodeLiveness.HeartbeatFailure : string.Empty, decided.Message);
        }
    }

    [Fact]
    public void Down_Lands_Within_Four_Missed_Beats_Of_The_Swarms_Period()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), NodeLiveness.DownAfter(ClusterObject.DefaultHeartbeatPeriod));
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        var fiveSeconds = TimeSpan.FromSeconds(5);

        Assert.Null(NodeLiveness.Decide(stored, Now.AddSeconds(-19), Now, false, Addr, fiveSeconds));
        Assert.Equal(NodeState.Down, NodeLiveness.Decide(stored, Now.AddSeconds(-21), Now, false, Addr, fiveSeconds)?.State);
    }

    [Theory]
    [InlineData(NodeState.Ready, Reachability.Reachable)]
    [InlineData(NodeState.Down, Reachability.Unreachable)]
    [InlineData(NodeState.Unknown, Reachability.Unreachable)]
    [InlineData(NodeState.Disconnected, Reachability.Unreachable)]
    public void A_Managers_Reachability_Follows_Its_State_And_Keeps_Leader_And_Address(NodeState state, Reachability expected)
    {
        var manager = TestNodes.Manager("m1", leader: true);

        var status = NodeLiveness.ManagerStatusFor(manager, state);

        Assert.Equal(new ManagerStatus(true, expected, manager.ManagerStatus!.Addr), status);
    }

    [Fact]
    public void A_Manager_Without_A_Status_Gets_One_At_Its_Node_Address()
    {
        var manager = TestNodes.Manager("m1") with { ManagerStatus = null };

        Assert.Equal(new ManagerStatus(false, Reachability.Reachable, manager.Status.Addr), NodeLiveness.ManagerStatusFor(manager, NodeState.Ready));
    }

    [Theory]
    [InlineData(NodeState.Ready)]
    [InlineData(NodeState.Down)]
    public void A_Worker_Has_No_Manager_Status(NodeState state)
    {
        Assert.Null(NodeLiveness.ManagerStatusFor(TestNodes.Worker("w1"), state));
    }
}
