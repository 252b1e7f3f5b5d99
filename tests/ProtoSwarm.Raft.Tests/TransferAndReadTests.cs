using System.Text;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

public class TransferAndReadTests
{
    [Fact]
    public void Leadership_Moves_To_An_Up_To_Date_Follower_At_Once_Despite_The_Lease()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        var target = net.Nodes.Keys.First(id => id != leader);
        net.Sent.Clear();

        net[leader].TransferLeadership(target);
        net.Process();

        Assert.Equal(target, net.LeaderId());
        Assert.Equal(term + 1, net[target].Status.Term);
        Assert.All(net.Nodes.Values, n => Assert.Equal(target, n.Status.Lead));
        Assert.DoesNotContain(net.Sent, m => m.Type == MessageType.PreVote);
    }

    [Fact]
    public void A_Lagging_Transferee_Is_Caught_Up_Before_It_Is_Told_To_Campaign()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var target = net.Nodes.Keys.First(id => id != leader);
        net.Cut(leader, target);
        net.Propose(leader, "a");
        net.Propose(leader, "b");
        net.Heal();

        net[leader].TransferLeadership(target);
        net.Process();

        Assert.Equal(target, net.LeaderId());
        Assert.Equal(["a", "b"], net.Applied[target]);
        var timeoutNow = net.Sent.FindIndex(m => m.Type == MessageType.TimeoutNow);
        var lastAppend = net.Sent.FindLastIndex(m => m.Type == MessageType.Append && m.To == target && m.Entries.Length > 0 && m.Term == net[leader].Status.Term - 1);
        Assert.True(lastAppend < timeoutNow);
    }

    [Fact]
    public void A_Transfer_Refuses_Proposals_Until_It_Is_Aborted_After_An_Election_Timeout()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var target = net.Nodes.Keys.First(id => id != leader);
        net.Isolate(target);

        net[leader].TransferLeadership(target);
        Assert.False(net[leader].Propose([1]));
        Assert.False(net[leader].ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 9, "")));

        net.Tick(10);
        Assert.Equal(leader, net.LeaderId());
        Assert.True(net[leader].Propose([1]));
    }

    [Fact]
    public void A_Follower_Forwards_A_Transfer_Request_To_The_Leader()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var target = net.Nodes.Keys.First(id => id != leader);
        var other = net.Nodes.Keys.First(id => id != leader && id != target);

        net[other].TransferLeadership(target);
        net.Process();
        Assert.Equal(target, net.LeaderId());
    }

    [Fact]
    public void A_Leader_Read_Waits_For_A_Quorum_To_Confirm_Its_Leadership()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Propose(leader, "a");
        var commit = net[leader].Status.Commit;
        net.Sent.Clear();

        net[leader].ReadIndex(Context("r1"));
        var ready = net[leader].GetReady();
        Assert.Empty(ready.ReadStates);
        Assert.All(ready.Messages, m => Assert.Equal((MessageType.Heartbeat, "r1"), (m.Type, Encoding.UTF8.GetString(m.Context!))));
        foreach (var m in ready.Messages)
        {
            net.Deliver(m);
        }

        net[leader].Advance(ready);
        net.Process();

        var read = Assert.Single(net.Reads[leader]);
        Assert.Equal((commit, "r1"), (read.Index, Encoding.UTF8.GetString(read.RequestContext)));
    }

    [Fact]
    public void A_Follower_Read_Is_Answered_By_The_Leader()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        net.Propose(leader, "a");

        net[follower].ReadIndex(Context("f1"));
        net.Process();

        var read = Assert.Single(net.Reads[follower]);
        Assert.Equal(net[leader].Status.Commit, read.Index);
        Assert.Contains(net.Sent, m => m.Type == MessageType.ReadIndexResponse && m.To == follower);
        Assert.Empty(net.Reads[leader]);
    }

    [Fact]
    public void An_Isolated_Leader_Answers_No_Read()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false });
        var leader = net.ElectLeader();
        net.Isolate(leader);
        net[leader].ReadIndex(Context("lost"));
        net.Tick(5);
        Assert.Empty(net.Reads[leader]);
    }

    [Fact]
    public void A_New_Leader_Answers_Reads_Only_After_Committing_An_Entry_Of_Its_Term()
    {
        var net = new TestNetwork([1, 2, 3]);
        net.Filter = m => m.Type == MessageType.AppendResponse ? null : m;
        net[1].Campaign();
        net.Process();
        Assert.Equal(StateRole.Leader, net[1].Status.Role);

        net[1].ReadIndex(Context("early"));
        net.Tick(2);
        Assert.Empty(net.Reads[1]);

        net.Filter = m => m;
        net.Tick(2);
        var read = Assert.Single(net.Reads[1]);
        Assert.Equal(2UL, read.Index); // the new leader's empty entry
    }

    [Fact]
    public void A_Single_Voter_Answers_A_Read_At_Once()
    {
        var net = new TestNetwork([1]);
        net.ElectLeader();
        net[1].ReadIndex(Context("solo"));
        net.Process();
        Assert.Equal(2UL, Assert.Single(net.Reads[1]).Index);
    }

    [Fact]
    public void A_Quorum_For_A_Later_Read_Confirms_Earlier_Ones()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Filter = m => m.Type == MessageType.HeartbeatResponse ? null : m;
        net[leader].ReadIndex(Context("first"));
        net.Process();
        net.Filter = m => m;
        net[leader].ReadIndex(Context("second"));
        net.Process();

        Assert.Equal(["first", "second"], net.Reads[leader].Select(r => Encoding.UTF8.GetString(r.RequestContext)));
    }

    private static byte[] Context(string id) => Encoding.UTF8.GetBytes(id);
}
