using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

public class RecoveryTests
{
    [Fact]
    public void Force_New_Cluster_Keeps_The_Committed_Log_Drops_The_Rest_And_Leads_Alone()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        net.Propose(leader, "b");
        net.Isolate(leader);
        net.Propose(leader, "uncommitted"); // the other two are gone for good

        net.Restart(leader, c => c with { ForceNewCluster = true });
        net.Process();
        Assert.Equal([leader], net[leader].Status.ConfState.Voters.ToArray());
        net.Tick(25);

        Assert.Equal(StateRole.Leader, net[leader].Status.Role);
        Assert.True(net.Propose(leader, "c"));
        Assert.Equal(["a", "b", "c"], net.Applied[leader]);

        // The new membership is in the log: a plain restart keeps it.
        net.Restart(leader);
        net.Tick(25);
        Assert.Equal(StateRole.Leader, net[leader].Status.Role);
        Assert.Equal(["a", "b", "c"], net.Applied[leader]);
        Assert.Equal([leader], net[leader].Status.ConfState.Voters.ToArray());
    }

    [Fact]
    public void A_Follower_Whose_Log_Was_Emptied_Refuses_The_Leaders_Commit_As_A_Lost_Log()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        net.Propose(leader, "b");
        net.Tick(3);
        var follower = net.Nodes.Keys.First(id => id != leader);
        var heartbeat = net.Sent.Last(m => m.Type == MessageType.Heartbeat && m.To == follower) with { Commit = net[leader].Status.Commit };

        // What an emptied raft.db gives at start: no entries, no hard state, no snapshot.
        var emptied = new RaftNode(new RaftConfig { Id = follower }, new MemoryRaftLog());
        var lost = Assert.Throws<RaftLogLostException>(() => emptied.Step(heartbeat));

        Assert.Equal(net[leader].Status.Commit, lost.Commit);
        Assert.Equal(0UL, lost.LastIndex);
        Assert.IsAssignableFrom<InvalidOperationException>(lost);
    }

    [Fact]
    public void A_Restarted_Peer_Does_Not_Campaign_Until_It_Has_Applied_Its_Committed_Changes()
    {
        var net = new TestNetwork([1, 2, 3], extraPeers: [4]);
        var leader = net.ElectLeader();
        Assert.True(net[leader].ProposeConfChange(new ConfChange(ConfChangeType.AddVoter, 4, "")));
        net.Tick(3);
        var follower = net.Nodes.Keys.First(id => id != leader && id != 4);

        var log = net.Logs[follower];
        var restarted = new RaftNode(new RaftConfig { Id = follower }, log);
        Assert.Equal([1UL, 2, 3], restarted.Status.ConfState.Voters.ToArray()); // the snapshot's
        restarted.Campaign();
        Assert.Equal(StateRole.Follower, restarted.Status.Role);

        var ready = restarted.GetReady();
        foreach (var e in ready.CommittedEntries.Where(e => e.Type == EntryType.ConfChange))
        {
            restarted.ApplyConfChange(ConfChange.FromBytes(e.Data));
        }

        restarted.Advance(ready);
        Assert.Equal([1UL, 2, 3, 4], restarted.Status.ConfState.Voters.ToArray());
        restarted.Campaign();
        Assert.Equal(StateRole.PreCandidate, restarted.Status.Role);
    }

    [Fact]
    public void A_Restarted_Peer_Keeps_Its_Term_Vote_And_Log()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        var before = net[leader].Status;

        net.Restart(leader);
        var after = net[leader].Status;
        Assert.Equal((before.Term, before.Vote, before.Commit, before.LastIndex), (after.Term, after.Vote, after.Commit, after.LastIndex));
        Assert.Equal(StateRole.Follower, after.Role);

        net.Tick(30);
        Assert.All(net.Applied.Values, applied => Assert.Equal(["a"], applied));
    }

    [Fact]
    public void Status_Reports_The_Peers_State()
    {
        var net = new TestNetwork([1, 2], learners: [3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        var status = net[leader].Status;

        Assert.Equal(leader, status.Id);
        Assert.Equal(leader, status.Lead);
        Assert.Equal(leader, status.Vote);
        Assert.Equal(StateRole.Leader, status.Role);
        Assert.Equal((3UL, 3UL, 3UL), (status.Commit, status.Applied, status.LastIndex));
        Assert.Equal([1UL, 2], status.ConfState.Voters.ToArray());
        Assert.Equal([1UL, 2, 3], status.Progress.Keys.Order().ToArray());
        Assert.All(status.Progress.Values, p => Assert.Equal(3UL, p.Match));
        Assert.True(status.Progress[3].IsLearner);

        var follower = net[leader == 1 ? 2UL : 1UL].Status;
        Assert.Empty(follower.Progress);
        Assert.Equal(StateRole.Follower, follower.Role);
    }

    [Fact]
    public void The_Soft_State_Is_Reported_Once_When_It_Changes()
    {
        var net = new TestNetwork([1]);
        net[1].Campaign();
        var ready = net[1].GetReady();
        Assert.Equal(new SoftState(1, StateRole.Leader), ready.SoftState);
        Assert.Equal(new HardState(2, 1, 2), ready.HardState);
        net.Logs[1].Append(ready.Entries);
        net.Logs[1].SetHardState(ready.HardState!.Value);
        net[1].Advance(ready);
        Assert.False(net[1].HasReady());
        Assert.Throws<InvalidOperationException>(() => net[1].Advance(ready));
    }
}
