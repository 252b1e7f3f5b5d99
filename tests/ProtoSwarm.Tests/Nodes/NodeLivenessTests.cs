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

        var decided = NodeLiveness.Decide(storedStatus, lastHeartbeat, TimeSpan.FromMilliseconds(silenceMs), heartbeat, addr);

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

        Assert.Null(NodeLiveness.Decide(stored, Now.AddSeconds(-19), TimeSpan.FromSeconds(19), false, Addr, fiveSeconds));
        Assert.Equal(NodeState.Down, NodeLiveness.Decide(stored, Now.AddSeconds(-21), TimeSpan.FromSeconds(21), false, Addr, fiveSeconds)?.State);
    }

    [Theory]
    // ms since the role changed (-1: not lately), ms of silence -> Down or not
    [InlineData(-1, 2_001, true)]
    [InlineData(1_000, 2_001, false)]
    [InlineData(1_000, 14_999, false)]
    [InlineData(1_000, 15_001, true)]
    [InlineData(15_000, 2_001, true)]
    public void A_Node_Whose_Role_Changed_Lately_Has_15_Seconds_To_Restart_Its_Member(int roleChangedMs, int silenceMs, bool down)
    {
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        TimeSpan? ago = roleChangedMs < 0 ? null : TimeSpan.FromMilliseconds(roleChangedMs);

        var decided = NodeLiveness.Decide(stored, Now.AddMilliseconds(-silenceMs), TimeSpan.FromMilliseconds(silenceMs), false, Addr, roleChangedAgo: ago);

        Assert.Equal(down, decided?.State == NodeState.Down);
        Assert.Equal(TimeSpan.FromSeconds(15), NodeLiveness.RoleChangeGrace(ClusterObject.DefaultHeartbeatPeriod));
        Assert.Equal(TimeSpan.FromSeconds(20), NodeLiveness.RoleChangeGrace(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    // ms since the previous check, heartbeat period ms -> ms of silence the check counts
    [InlineData(100, 500, 100)]
    [InlineData(499, 500, 499)]
    [InlineData(500, 500, 500)]
    [InlineData(2_044, 500, 500)]
    [InlineData(60_000, 500, 500)]
    [InlineData(3_000, 5_000, 3_000)]
    [InlineData(0, 500, 0)]
    [InlineData(-5, 500, 0)]
    public void A_Check_Counts_At_Most_One_Heartbeat_Period_Of_Silence(int sinceLastCheckMs, int periodMs, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs),
            NodeLiveness.Watched(TimeSpan.FromMilliseconds(sinceLastCheckMs), TimeSpan.FromMilliseconds(periodMs)));
    }

    [Theory]
    // the times of the liveness checks after the last beat (ms), comma-separated -> the check at which the node is Down (-1: never)
    [InlineData("on time", "100,200,300,400,500,600,700,800,900,1000,1100,1200,1300,1400,1500,1600,1700,1800,1900,2000,2100,2200", 2100)]
    [InlineData("a stall of 2.5 s, then on time", "2500,2600,2700,2800,2900,3000,3100,3200,3300,3400,3500,3600,3700,3800,3900,4000,4100,4200", 4100)]
    [InlineData("a stall of 2.5 s, then nothing more", "2500", -1)]
    [InlineData("stalls of 3 s each", "3000,6000,9000,12000,15000", 15000)]
    [InlineData("late by 400 ms each", "400,800,1200,1600,2000,2400", 2400)]
    public void Down_Comes_After_Four_Beats_Of_Watched_Silence(string rule, string checksMs, int downAtMs)
    {
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        var period = ClusterObject.DefaultHeartbeatPeriod;
        var silence = TimeSpan.Zero;
        var previous = 0;
        var downAt = -1;
        foreach (var at in checksMs.Split(',').Select(int.Parse))
        {
            silence += NodeLiveness.Watched(TimeSpan.FromMilliseconds(at - previous), period);
            previous = at;
            if (NodeLiveness.Decide(stored, Now, silence, false, Addr, period) is { State: NodeState.Down })
            {
                downAt = at;
                break;
            }
        }

        Assert.True(downAt == downAtMs, $"{rule}: expected Down at {downAtMs} ms, got {downAt} ms");
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
