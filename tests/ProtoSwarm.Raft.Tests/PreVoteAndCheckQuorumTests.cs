using ProtoSwarm.Raft;
using static ProtoSwarm.Raft.Tests.ElectionTests;

namespace ProtoSwarm.Raft.Tests;

public class PreVoteAndCheckQuorumTests
{
    [Fact]
    public void A_Partitioned_Peer_Rejoining_Does_Not_Disrupt_The_Leader_With_PreVote()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        var loner = net.Nodes.Keys.First(id => id != leader);

        net.Isolate(loner);
        net.Tick(100);
        Assert.Equal(term, net[loner].Status.Term); // pre-votes fail without bumping the term
        Assert.Equal(StateRole.PreCandidate, net[loner].Status.Role);

        net.Heal();
        net.Tick(20);
        Assert.Equal(leader, net.LeaderId());
        Assert.Equal(term, net[leader].Status.Term);
        Assert.Equal(leader, net[loner].Status.Lead);
    }

    [Fact]
    public void Without_PreVote_A_Rejoining_Peer_Forces_A_New_Term()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { PreVote = false, CheckQuorum = false });
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        var loner = net.Nodes.Keys.First(id => id != leader);

        net.Isolate(loner);
        net.Tick(100);
        Assert.True(net[loner].Status.Term > term + 3);

        net.Heal();
        net.Tick(50);
        Assert.True(net[net.LeaderId()].Status.Term > term + 3);
    }

    [Fact]
    public void A_Pre_Vote_Does_Not_Change_The_Voters_Term_Or_Vote()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false });
        var voter = net[1];
        voter.Step(VoteRequest(from: 2, term: 9, index: 1, logTerm: 1, type: MessageType.PreVote));

        var ready = voter.GetReady();
        var response = Assert.Single(ready.Messages);
        Assert.Equal((MessageType.PreVoteResponse, false, 9UL), (response.Type, response.Reject, response.Term));
        Assert.Null(ready.HardState);
        Assert.Equal((1UL, 0UL), (voter.Status.Term, voter.Status.Vote));
    }

    [Fact]
    public void A_Leader_That_Loses_Its_Quorum_Steps_Down_Within_An_Election_Timeout()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net.Isolate(leader);

        net.Tick(10);
        net.Tick(10);
        Assert.NotEqual(StateRole.Leader, net[leader].Status.Role);
    }

    [Fact]
    public void Without_CheckQuorum_An_Isolated_Leader_Keeps_Leading()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false });
        var leader = net.ElectLeader();
        net.Isolate(leader);
        net.Tick(50);
        Assert.Equal(StateRole.Leader, net[leader].Status.Role);
    }

    [Theory]
    [InlineData(MessageType.Vote)]
    [InlineData(MessageType.PreVote)]
    public void A_Follower_In_A_Leader_Lease_Ignores_Higher_Term_Votes(MessageType type)
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        var candidate = net.Nodes.Keys.First(id => id != leader && id != follower);
        var term = net[follower].Status.Term;

        net[follower].Step(VoteRequest(from: candidate, term: term + 5, index: 100, logTerm: term + 4, type: type) with { To = follower });

        Assert.Equal(term, net[follower].Status.Term);
        Assert.False(net[follower].HasReady());
    }

    [Fact]
    public void After_The_Lease_Expires_A_Follower_Grants_A_Higher_Term_Vote()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        var candidate = net.Nodes.Keys.First(id => id != leader && id != follower);
        var term = net[follower].Status.Term;
        net.Isolate(follower);
        for (var i = 0; i < 10; i++)
        {
            net[follower].Tick();
        }

        net.Process();
        net[follower].Step(VoteRequest(from: candidate, term: term + 5, index: 100, logTerm: term, type: MessageType.Vote) with { To = follower });

        Assert.Equal((term + 5, candidate), (net[follower].Status.Term, net[follower].Status.Vote));
    }

    [Fact]
    public void A_Leader_Ignores_Messages_From_Older_Terms_And_Answers_A_Stale_Leader_With_Its_Term()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        var other = net.Nodes.Keys.First(id => id != leader);

        var staleAppend = new Message(MessageType.Append, leader, other, term - 1, 1, 1, [Entry(2, term - 1, "stale")], 2, null, false, 0, null);
        net[leader].Step(staleAppend);
        var staleVote = VoteRequest(from: other, term: term - 1, index: 100, logTerm: 100) with { To = leader };
        net[leader].Step(staleVote);

        var ready = net[leader].GetReady();
        var answer = Assert.Single(ready.Messages);
        Assert.Equal((MessageType.AppendResponse, term, other), (answer.Type, answer.Term, answer.To));
        Assert.Equal(StateRole.Leader, net[leader].Status.Role);
        Assert.Equal(term, net[leader].Status.Term);
    }

    [Fact]
    public void A_Higher_Term_Append_Makes_A_Candidate_Follow_Its_Sender()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { PreVote = false });
        net.Isolate(1);
        net[1].Campaign();
        net.Process();
        Assert.Equal(StateRole.Candidate, net[1].Status.Role);
        var term = net[1].Status.Term;

        net[1].Step(new Message(MessageType.Append, 1, 3, term + 1, 1, 1, [], 1, null, false, 0, null));

        Assert.Equal((StateRole.Follower, 3UL, term + 1), (net[1].Status.Role, net[1].Status.Lead, net[1].Status.Term));
    }

    [Fact]
    public void A_Stale_Leader_Steps_Down_When_A_Response_Carries_A_Higher_Term()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false });
        var leader = net.ElectLeader();
        var term = net[leader].Status.Term;
        var other = net.Nodes.Keys.First(id => id != leader);

        net[leader].Step(new Message(MessageType.AppendResponse, leader, other, term + 3, 0, 0, [], 0, null, false, 0, null));

        Assert.Equal((StateRole.Follower, term + 3, 0UL), (net[leader].Status.Role, net[leader].Status.Term, net[leader].Status.Lead));
    }
}
