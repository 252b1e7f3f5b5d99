using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

public class ElectionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void A_Cluster_Elects_Exactly_One_Leader_Who_Commits_An_Entry_Of_Its_Term(int size)
    {
        var net = new TestNetwork([.. Enumerable.Range(1, size).Select(i => (ulong)i)]);
        var leader = net.ElectLeader();
        net.Tick(5);

        var leaders = net.Nodes.Values.Where(n => n.Status.Role == StateRole.Leader).ToList();
        Assert.Single(leaders);
        var status = net[leader].Status;
        Assert.Equal(2UL, status.Commit); // the bootstrap snapshot at 1, the leader's empty entry at 2
        Assert.All(net.Nodes.Values, n => Assert.Equal(leader, n.Status.Lead));
        Assert.All(net.Nodes.Values, n => Assert.Equal(status.Term, n.Status.Term));
    }

    [Fact]
    public void Elections_Replay_Exactly_With_The_Same_Seeds()
    {
        static (ulong Leader, ulong Term, int Messages) Run()
        {
            var net = new TestNetwork([1, 2, 3, 4, 5]);
            var leader = net.ElectLeader();
            net.Isolate(leader);
            net.Tick(40);
            net.Heal();
            net.Tick(40);
            var now = net.LeaderId();
            return (now, net[now].Status.Term, net.Sent.Count);
        }

        Assert.Equal(Run(), Run());
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(1, 10)]
    [InlineData(7, 10)]
    [InlineData(12345, 5)]
    public void A_Follower_Campaigns_Within_One_To_Two_Election_Timeouts(int seed, int electionTick)
    {
        var net = new TestNetwork([1, 2, 3], c => c with { RandomSeed = seed, ElectionTick = electionTick });
        net.Isolate(1);
        var ticks = 0;
        while (net[1].Status.Role == StateRole.Follower)
        {
            net[1].Tick();
            net.Process();
            ticks++;
            Assert.True(ticks < 2 * electionTick, $"no campaign after {ticks} ticks");
        }

        Assert.InRange(ticks, electionTick, (2 * electionTick) - 1);
        Assert.Equal(StateRole.PreCandidate, net[1].Status.Role);
    }

    [Fact]
    public void A_Peer_Never_Votes_Twice_In_A_Term()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false, PreVote = false });
        var voter = net[1];
        voter.Step(VoteRequest(from: 2, term: 5, index: 1, logTerm: 1));
        voter.Step(VoteRequest(from: 3, term: 5, index: 1, logTerm: 1));
        voter.Step(VoteRequest(from: 2, term: 5, index: 1, logTerm: 1)); // a retry of the granted one

        var responses = voter.GetReady().Messages.Where(m => m.Type == MessageType.VoteResponse).ToList();
        Assert.Equal([(2UL, false), (3UL, true), (2UL, false)], responses.Select(m => (m.To, m.Reject)));
        Assert.Equal(2UL, voter.Status.Vote);
    }

    [Theory]
    // voter's log: bootstrap (1,1) then entries of terms 2,2,3 at 2..4
    [InlineData(4UL, 3UL, false)] // same last entry: granted
    [InlineData(5UL, 3UL, false)] // longer, same term: granted
    [InlineData(3UL, 3UL, true)]  // shorter, same last term: refused
    [InlineData(9UL, 2UL, true)]  // longer but older last term: refused
    [InlineData(2UL, 4UL, false)] // shorter but newer last term: granted
    public void A_Vote_Goes_Only_To_A_Candidate_At_Least_As_Up_To_Date(ulong lastIndex, ulong lastTerm, bool rejected)
    {
        var log = MemoryRaftLog.Bootstrap(new ConfState([1, 2], []));
        log.Append([Entry(2, 2), Entry(3, 2), Entry(4, 3)]);
        log.SetHardState(new HardState(3, 0, 1));
        var voter = new RaftNode(new RaftConfig { Id = 1, PreVote = false }, log);

        voter.Step(VoteRequest(from: 2, term: 4, index: lastIndex, logTerm: lastTerm));

        var response = Assert.Single(voter.GetReady().Messages);
        Assert.Equal(MessageType.VoteResponse, response.Type);
        Assert.Equal(rejected, response.Reject);
    }

    [Fact]
    public void A_Vote_Is_Persisted_In_The_Same_Ready_That_Sends_It()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { PreVote = false, CheckQuorum = false });
        net[1].Step(VoteRequest(from: 2, term: 7, index: 1, logTerm: 1));
        var ready = net[1].GetReady();
        Assert.Equal(new HardState(7, 2, 1), ready.HardState);
        Assert.True(ready.MustSync);
        Assert.Contains(ready.Messages, m => m.Type == MessageType.VoteResponse && !m.Reject);
    }

    [Fact]
    public void A_Peer_Outside_The_Membership_Does_Not_Campaign()
    {
        var net = new TestNetwork([1, 2, 3], extraPeers: [4]);
        net.ElectLeader();
        net.Tick(100);
        Assert.Equal(StateRole.Follower, net[4].Status.Role);
        Assert.Equal(0UL, net[4].Status.Term);
        Assert.DoesNotContain(net.Sent, m => m.From == 4);
    }

    [Fact]
    public void A_Learner_Does_Not_Campaign()
    {
        var net = new TestNetwork([1], learners: [2]);
        net.Isolate(2);
        net.Tick(100);
        Assert.Equal(StateRole.Follower, net[2].Status.Role);
        Assert.Equal(StateRole.Leader, net[1].Status.Role);
    }

    internal static Entry Entry(ulong index, ulong term, string data = "") =>
        new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes(data));

    internal static Message VoteRequest(ulong from, ulong term, ulong index, ulong logTerm, MessageType type = MessageType.Vote) =>
        new(type, 1, from, term, logTerm, index, [], 0, null, false, 0, null);
}
