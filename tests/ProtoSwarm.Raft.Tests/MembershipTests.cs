using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

public class MembershipTests
{
    private static ConfChange Change(ConfChangeType type, ulong id) => new(type, id, $"10.0.0.{id}:4242");

    [Fact]
    public void A_New_Voter_Catches_Up_From_The_Snapshot_And_Counts_Towards_Quorum()
    {
        var net = new TestNetwork([1, 2, 3], extraPeers: [4]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");

        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.AddVoter, 4)));
        net.Tick(5);

        Assert.Equal([1UL, 2, 3, 4], net[leader].Status.ConfState.Voters.ToArray());
        Assert.Equal([1UL, 2, 3, 4], net[4].Status.ConfState.Voters.ToArray());
        Assert.Equal(["a"], net.Applied[4]);

        // Four voters: quorum is three, so two cut off stop commits.
        var others = net.Nodes.Keys.Where(id => id != leader).Take(2).ToList();
        foreach (var id in others)
        {
            net.Isolate(id);
        }

        var commit = net[leader].Status.Commit;
        net.Propose(leader, "b");
        Assert.Equal(commit, net[leader].Status.Commit);
    }

    [Fact]
    public void Only_One_Change_Is_Pending_At_A_Time()
    {
        var net = new TestNetwork([1, 2, 3], extraPeers: [4, 5]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader && id <= 3);
        net.Cut(leader, follower);
        var third = net.Nodes.Keys.First(id => id != leader && id != follower && id <= 3);
        net.Cut(leader, third); // nothing commits

        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.AddLearner, 4)));
        net.Process();
        Assert.False(net[leader].ProposeConfChange(Change(ConfChangeType.AddLearner, 5)));

        net.Heal();
        net.Tick(3);
        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.AddLearner, 5)));
        net.Tick(3);
        Assert.Equal([4UL, 5], net[leader].Status.ConfState.Learners.ToArray());
    }

    [Fact]
    public void A_New_Leader_Takes_No_Change_Before_An_Entry_Of_Its_Term_Commits()
    {
        var net = new TestNetwork([1, 2, 3], extraPeers: [4]);
        net.Filter = m => m.Type == MessageType.AppendResponse ? null : m;
        net[1].Campaign();
        net.Process();
        Assert.Equal(StateRole.Leader, net[1].Status.Role);
        Assert.False(net[1].ProposeConfChange(Change(ConfChangeType.AddVoter, 4)));

        net.Filter = m => m;
        net.Tick(2);
        Assert.True(net[1].ProposeConfChange(Change(ConfChangeType.AddVoter, 4)));
    }

    [Theory]
    [InlineData(ConfChangeType.AddVoter, 2UL)]     // already a voter
    [InlineData(ConfChangeType.RemoveVoter, 9UL)]  // not a member
    [InlineData(ConfChangeType.AddLearner, 3UL)]   // already a learner
    public void A_Change_That_Changes_Nothing_Is_Refused(ConfChangeType type, ulong id)
    {
        var net = new TestNetwork([1, 2], learners: [3]);
        var leader = net.ElectLeader();
        Assert.False(net[leader].ProposeConfChange(Change(type, id)));
    }

    [Fact]
    public void The_Last_Voter_Cannot_Be_Removed_And_A_Follower_Cannot_Propose_Changes()
    {
        var single = new TestNetwork([1]);
        single.ElectLeader();
        Assert.False(single[1].ProposeConfChange(Change(ConfChangeType.RemoveVoter, 1)));
        Assert.False(single[1].ProposeConfChange(Change(ConfChangeType.AddLearner, 1)));

        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        Assert.False(net[follower].ProposeConfChange(Change(ConfChangeType.AddVoter, 4)));
    }

    [Fact]
    public void Learners_Replicate_But_Neither_Vote_Nor_Count_For_Commit()
    {
        var net = new TestNetwork([1, 2], learners: [3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        Assert.Equal(["a"], net.Applied[3]);
        Assert.True(net[leader].Status.Progress[3].IsLearner);

        var voter = leader == 1 ? 2UL : 1UL;
        net.Cut(leader, voter);
        var commit = net[leader].Status.Commit;
        net.Propose(leader, "b");
        Assert.Equal(commit, net[leader].Status.Commit);
        Assert.Equal(net[leader].Status.LastIndex, net[3].Status.LastIndex); // the learner has it

        Assert.DoesNotContain(net.Sent, m => m.To == 3 && m.Type is MessageType.Vote or MessageType.PreVote);
    }

    [Fact]
    public void A_Learner_Promoted_To_Voter_Counts_Towards_Quorum()
    {
        var net = new TestNetwork([1, 2], learners: [3]);
        var leader = net.ElectLeader();
        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.AddVoter, 3)));
        net.Tick(3);
        Assert.Equal([1UL, 2, 3], net[3].Status.ConfState.Voters.ToArray());
        Assert.Empty(net[3].Status.ConfState.Learners);

        var voter = leader == 1 ? 2UL : 1UL;
        net.Cut(leader, voter);
        net.Propose(leader, "with the promoted learner");
        Assert.Equal(["with the promoted learner"], net.Applied[leader]);
    }

    [Fact]
    public void A_Leader_Removed_From_The_Membership_Steps_Down_And_The_Rest_Elect_Another()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.RemoveVoter, leader)));
        net.Process();

        Assert.Equal(StateRole.Follower, net[leader].Status.Role);
        Assert.All(net.Nodes.Values, n => Assert.DoesNotContain(leader, n.Status.ConfState.Voters));

        net.Tick(50);
        var next = net.LeaderId();
        Assert.NotEqual(leader, next);
        Assert.True(net[next].Status.Term > term);
        Assert.True(net.Propose(next, "after"));
        Assert.Equal(["after"], net.Applied[next]);
        Assert.Equal(StateRole.Follower, net[leader].Status.Role);
    }

    [Fact]
    public void A_Removed_Follower_Never_Campaigns()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var removed = net.Nodes.Keys.First(id => id != leader);
        Assert.True(net[leader].ProposeConfChange(Change(ConfChangeType.RemoveVoter, removed)));
        net.Tick(2);
        net.Isolate(removed);
        net.Sent.Clear();
        net.Tick(100);

        Assert.DoesNotContain(net.Sent, m => m.From == removed);
        Assert.Equal(StateRole.Follower, net[removed].Status.Role);
        Assert.Equal(leader, net.LeaderId());
    }
}
