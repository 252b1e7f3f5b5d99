using System.Globalization;
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
    [InlineData("unknown (just joined, starting its member) stays unknown past the plain limit", NodeState.Unknown, 2001, false, Addr, null)]
    [InlineData("unknown stays unknown within the join grace", NodeState.Unknown, 15_000, false, Addr, null)]
    [InlineData("unknown goes down after the join grace", NodeState.Unknown, 15_001, false, Addr, NodeState.Down)]
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
    public void A_Node_That_Left_Stays_Down_Even_If_A_Last_Beat_Arrives()
    {
        // swarm leave --force: the demotion marks it Down (NodeCommands.Leaving); a beat sent before its member stopped does not undo that.
        var left = new NodeStatus(NodeState.Down, NodeLiveness.LeftSwarm, Addr, Now);

        Assert.Null(NodeLiveness.Decide(left, Now, TimeSpan.Zero, heartbeatJustArrived: true, Addr));
        Assert.Null(NodeLiveness.Decide(left, Now, TimeSpan.FromMinutes(1), heartbeatJustArrived: false, Addr));
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
    // the period the node was told with its last beat (ms, -1: no beat seen), the swarm's period now (ms) -> the period it is judged by
    [InlineData("unchanged", 500, 500, 500)]
    [InlineData("shortened: the node beats next after the old period", 3_000, 500, 3_000)]
    [InlineData("lengthened: the longer one at once", 500, 3_000, 3_000)]
    [InlineData("no beat seen yet", -1, 500, 500)]
    public void A_Node_Is_Judged_By_The_Period_It_Was_Told(string rule, int toldMs, int currentMs, int expectedMs)
    {
        TimeSpan? told = toldMs < 0 ? null : TimeSpan.FromMilliseconds(toldMs);

        var judged = NodeLiveness.JudgedPeriod(told, TimeSpan.FromMilliseconds(currentMs));

        Assert.True(TimeSpan.FromMilliseconds(expectedMs) == judged, $"{rule}: expected {expectedMs} ms, got {judged.TotalMilliseconds} ms");
    }

    [Theory]
    // the lab's repro: beats every 3 s, `--dispatcher-heartbeat 500ms` lands at `changeAtMs` after the last beat; the node
    // learns it only from the answer to its next beat, 3 s after the last one. Checks every 100 ms until then: never Down.
    [InlineData(0)]
    [InlineData(1_000)]
    [InlineData(2_900)]
    public void Shortening_The_Period_Marks_No_Node_Down_Before_Its_Next_Beat(int changeAtMs)
    {
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        var told = TimeSpan.FromSeconds(3);
        var silence = TimeSpan.Zero;
        for (var at = 100; at <= 3_000; at += 100)
        {
            var current = at >= changeAtMs ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(3);
            var period = NodeLiveness.JudgedPeriod(told, current);
            silence += NodeLiveness.Watched(TimeSpan.FromMilliseconds(100), period);

            Assert.Null(NodeLiveness.Decide(stored, Now, silence, false, Addr, period));
        }

        // The beat at 3 s is answered with the new period: from then on four of those (2 s) make Down.
        told = TimeSpan.FromMilliseconds(500);
        Assert.Null(NodeLiveness.Decide(stored, Now, TimeSpan.FromMilliseconds(2_000), false, Addr, NodeLiveness.JudgedPeriod(told, told)));
        Assert.Equal(NodeState.Down, NodeLiveness.Decide(stored, Now, TimeSpan.FromMilliseconds(2_001), false, Addr, NodeLiveness.JudgedPeriod(told, told))?.State);
    }

    [Theory]
    // ms ago this manager's node actor saw the role change (null: it did not), ms ago the stored change was written by
    // the writer's clock (null: none stored; negative: a writer's clock ahead of this one) -> ms ago it counts (null: none)
    [InlineData("none known", null, null, null)]
    [InlineData("seen here only", 1_000, null, 1_000)]
    [InlineData("stored only: a leader elected after the change", null, 3_000, 3_000)]
    [InlineData("both: the later one", 1_000, 3_000, 1_000)]
    [InlineData("both, the stored one later", 20_000, 3_000, 3_000)]
    [InlineData("stored long ago", null, 3_600_000, 3_600_000)]
    [InlineData("a writer's clock 2 s ahead counts as now", null, -2_000, 0)]
    [InlineData("a writer's clock a whole grace ahead is not believed", null, -15_000, null)]
    public void The_Role_Change_Counted_Is_The_Latest_Known(string rule, int? seenMs, int? storedMs, int? expectedMs)
    {
        DateTimeOffset? seenAt = seenMs is { } seen ? Now.AddMilliseconds(-seen) : null;
        DateTimeOffset? storedAt = storedMs is { } stored ? Now.AddMilliseconds(-stored) : null;

        var ago = NodeLiveness.RoleChangedAgo(Now, seenAt, storedAt, ClusterObject.DefaultHeartbeatPeriod);

        TimeSpan? expected = expectedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        Assert.True(expected == ago, $"{rule}: expected {expected?.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) ?? "none"}, got {ago?.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) ?? "none"}");
    }

    [Theory]
    // ms since the stored role change, ms of silence -> Down or not (the node actor started after the change, so saw none)
    [InlineData(3_000, 5_000, false)]
    [InlineData(3_000, 14_999, false)]
    [InlineData(3_000, 15_001, true)]
    [InlineData(16_000, 2_001, true)]
    public void A_Role_Change_Written_Before_The_Leader_Changed_Still_Gives_The_Grace(int storedMs, int silenceMs, bool down)
    {
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        var ago = NodeLiveness.RoleChangedAgo(Now, null, Now.AddMilliseconds(-storedMs), ClusterObject.DefaultHeartbeatPeriod);

        var decided = NodeLiveness.Decide(stored, Now.AddMilliseconds(-silenceMs), TimeSpan.FromMilliseconds(silenceMs), false, Addr, roleChangedAgo: ago);

        Assert.Equal(down, decided?.State == NodeState.Down);
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
    // ms of silence watched, limit ms (-1: none, a Down node), heartbeat period ms -> ms to the next check
    [InlineData(0, 2_000, 500, 375)]
    [InlineData(1_500, 2_000, 500, 375)]
    [InlineData(1_900, 2_000, 500, 101)]
    [InlineData(2_000, 2_000, 500, 10)]
    [InlineData(2_500, 2_000, 500, 10)]
    [InlineData(0, -1, 500, 375)]
    [InlineData(0, 15_000, 5_000, 3_750)]
    [InlineData(14_000, 15_000, 500, 375)]
    public void The_Next_Check_Is_When_The_Limit_Would_Pass_And_At_Most_Three_Quarters_Of_A_Period_Away(int silenceMs, int limitMs, int periodMs, int expectedMs)
    {
        TimeSpan? limit = limitMs < 0 ? null : TimeSpan.FromMilliseconds(limitMs);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), NodeLiveness.NextCheck(TimeSpan.FromMilliseconds(silenceMs), limit, TimeSpan.FromMilliseconds(periodMs)));
    }

    [Theory]
    // ms each check comes after its planned time -> at most this many checks until Down, Down at most this many ms after the limit
    [InlineData(0, 7, 1)]
    [InlineData(3, 7, 4)]
    [InlineData(50, 7, 51)]
    public void Checks_Planned_By_NextCheck_Find_A_Silent_Node_Down_At_Its_Limit_With_A_Few_Wakeups(int lateMs, int maxChecks, int maxAfterLimitMs)
    {
        // As a node actor runs them: each check counts the silence since the previous one and plans the next.
        var stored = new NodeStatus(NodeState.Ready, string.Empty, Addr, TestNodes.T0);
        var period = ClusterObject.DefaultHeartbeatPeriod;
        var limit = NodeLiveness.Limit(stored, period, null);
        var (now, silence, checks) = (TimeSpan.Zero, TimeSpan.Zero, 0);
        var next = NodeLiveness.NextCheck(silence, limit, period);
        while (true)
        {
            var at = now + next + TimeSpan.FromMilliseconds(lateMs);
            silence += NodeLiveness.Watched(at - now, period);
            now = at;
            checks++;
            if (NodeLiveness.Decide(stored, Now, silence, false, Addr, period) is { State: NodeState.Down })
            {
                break;
            }

            next = NodeLiveness.NextCheck(silence, limit, period);
        }

        Assert.True(checks <= maxChecks, $"{checks} checks until Down (the 100 ms ticks took 21)");
        Assert.InRange(now - limit, TimeSpan.Zero, TimeSpan.FromMilliseconds(maxAfterLimitMs));
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

    [Theory]
    [InlineData(NodeState.Ready, 3_600_000, true)]
    [InlineData(NodeState.Down, 0, true)]
    [InlineData(NodeState.Down, 4_000, true)]
    [InlineData(NodeState.Down, 9_999, true)]
    [InlineData(NodeState.Down, 10_000, false)]
    [InlineData(NodeState.Down, 60_000, false)]
    [InlineData(NodeState.Unknown, 0, false)]
    public void A_Down_Node_Keeps_Its_Member_For_10s_After_Its_Last_Beat(NodeState state, int sinceLastBeatMs, bool kept)
    {
        // A node paused for a few seconds (Down after 2 s) comes back with the member it had: nobody blocked it.
        var status = new NodeStatus(state, string.Empty, "10.0.0.1", TestNodes.T0);

        Assert.Equal(kept, NodeLiveness.KeepsMember(status, TestNodes.T0 + TimeSpan.FromMilliseconds(sinceLastBeatMs)));
    }
}
