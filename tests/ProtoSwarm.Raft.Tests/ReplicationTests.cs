using System.Collections.Immutable;
using System.Text;
using ProtoSwarm.Raft;
using static ProtoSwarm.Raft.Tests.ElectionTests;

namespace ProtoSwarm.Raft.Tests;

public class ReplicationTests
{
    [Fact]
    public void Proposals_Are_Committed_And_Applied_In_Order_On_Every_Peer()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);

        Assert.True(net.Propose(leader, "a"));
        Assert.True(net.Propose(follower, "b")); // forwarded to the leader
        Assert.True(net.Propose(leader, "c"));
        net.Tick(3);

        Assert.All(net.Applied.Values, applied => Assert.Equal(["a", "b", "c"], applied));
        Assert.All(net.Nodes.Values, n => Assert.Equal(5UL, n.Status.Commit));
        Assert.All(net.Nodes.Values, n => Assert.Equal(5UL, n.Status.Applied));
    }

    [Fact]
    public void A_Proposal_Without_A_Leader_Is_Refused()
    {
        var net = new TestNetwork([1, 2, 3]);
        Assert.False(net[1].Propose([1]));
        Assert.False(net[1].Propose([[1], [2]]));
    }

    [Fact]
    public void Proposals_Made_Together_Travel_In_One_Append_Per_Follower_And_Are_Applied_In_Order()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        net.Sent.Clear();

        Assert.True(net[leader].Propose([.. new[] { "a", "b", "c" }.Select(Encoding.UTF8.GetBytes)]));
        Assert.True(net[follower].Propose([.. new[] { "d", "e" }.Select(Encoding.UTF8.GetBytes)])); // forwarded as one Propose
        net.Process();
        net.Tick(3);

        Assert.All(net.Applied.Values, applied => Assert.Equal(["a", "b", "c", "d", "e"], applied));
        var firstAppends = net.Sent.Where(m => m.Type == MessageType.Append && m.From == leader && m.Entries.Any(e => e.Data.Length > 0 && e.Data[0] == (byte)'a')).ToList();
        Assert.Equal(2, firstAppends.Count);
        Assert.All(firstAppends, m => Assert.Equal(3, m.Entries.Length));
        Assert.Single(net.Sent, m => m.Type == MessageType.Propose && m.From == follower && m.Entries.Length == 2);
    }

    public static TheoryData<ulong, ulong, ulong, Entry[], bool, ulong, ulong, ulong> Appends => new()
    {
        // prev index, prev term, leader commit, entries -> rejected, response index (or hint), our last index, our commit
        { 3, 2, 3, [], false, 3, 3, 3 },
        { 3, 3, 3, [], true, 3, 3, 1 },                                 // our entry 3 is of term 2: hint (3, term 2)
        { 4, 2, 3, [], true, 3, 3, 1 },                                 // we lack 4: hint at our end
        { 2, 1, 3, [Entry(3, 2)], false, 3, 3, 3 },                     // already have it
        { 2, 1, 4, [Entry(3, 3), Entry(4, 3)], false, 4, 4, 4 },        // conflict at 3: our 3 is replaced
        { 1, 1, 2, [Entry(2, 1)], false, 2, 3, 2 },                     // a prefix: nothing truncated
        { 3, 2, 9, [Entry(4, 2), Entry(5, 2)], false, 5, 5, 5 },        // commit bounded by what we hold
        { 0, 0, 5, [], false, 1, 3, 1 },                                // before our commit: answered with it
    };

    [Theory]
    [MemberData(nameof(Appends))]
    public void A_Follower_Appends_Only_After_A_Matching_Entry_And_Truncates_A_Conflicting_Suffix(
        ulong prevIndex, ulong prevTerm, ulong commit, Entry[] entries, bool rejected, ulong responseIndex, ulong lastIndex, ulong committed)
    {
        var log = MemoryRaftLog.Bootstrap(new ConfState([1, 2], []));
        log.Append([Entry(2, 1), Entry(3, 2)]);
        log.SetHardState(new HardState(2, 0, 1));
        var node = new RaftNode(new RaftConfig { Id = 1 }, log);

        node.Step(new Message(MessageType.Append, 1, 2, 3, prevTerm, prevIndex, [.. entries], commit, null, false, 0, null));

        var response = Assert.Single(node.GetReady().Messages);
        Assert.Equal(MessageType.AppendResponse, response.Type);
        Assert.Equal(rejected, response.Reject);
        Assert.Equal(responseIndex, rejected ? response.RejectHint : response.Index);
        Assert.Equal(lastIndex, node.Status.LastIndex);
        Assert.Equal(committed, node.Status.Commit);
    }

    [Fact]
    public void A_Rejection_Hints_The_Last_Entry_No_Later_Than_The_Leaders_Term()
    {
        var log = MemoryRaftLog.Bootstrap(new ConfState([1, 2], []));
        log.Append([Entry(2, 2), Entry(3, 2), Entry(4, 4), Entry(5, 4), Entry(6, 4)]);
        log.SetHardState(new HardState(4, 0, 1));
        var node = new RaftNode(new RaftConfig { Id = 1 }, log);

        // The leader's entry 6 is of term 3: our terms-4 entries cannot match, skip them all.
        node.Step(new Message(MessageType.Append, 1, 2, 5, 3, 6, [], 1, null, false, 0, null));

        var response = Assert.Single(node.GetReady().Messages);
        Assert.True(response.Reject);
        Assert.Equal((3UL, 2UL), (response.RejectHint, response.LogTerm));
    }

    [Fact]
    public void A_Diverged_Peer_Is_Brought_In_Line_With_Few_Rejections()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { CheckQuorum = false });
        var old = net.ElectLeader();
        net.Isolate(old);
        for (var i = 0; i < 50; i++)
        {
            net.Propose(old, $"lost{i}"); // never committed
        }

        net.Tick(50);
        var leader = net.LeaderId();
        Assert.NotEqual(old, leader);
        Assert.Equal(StateRole.Leader, net[old].Status.Role); // still leading its minority
        for (var i = 0; i < 30; i++)
        {
            net.Propose(leader, $"kept{i}");
        }

        net.Sent.Clear();
        net.Heal();
        net.Tick(5);

        var rejections = net.Sent.Count(m => m.Type == MessageType.AppendResponse && m.Reject && m.From == old);
        Assert.InRange(rejections, 0, 3);
        Assert.Equal(net[leader].Status.LastIndex, net[old].Status.LastIndex);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"kept{i}"), net.Applied[old]);
        Assert.All(net.Nodes.Keys, id => Assert.Equal(net.Applied[leader], net.Applied[id]));
    }

    [Fact]
    public void A_Leader_Skips_A_Followers_Whole_Divergent_Term_In_One_Rejection()
    {
        // 1 and 3: terms 1 (2..11) and 3 (12..31). 2: term 1 (2..11), then a longer term 2 (12..61).
        var members = new ConfState([1, 2, 3], []);
        var net = new TestNetwork([]);
        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            var log = MemoryRaftLog.Bootstrap(members);
            log.Append([.. Enumerable.Range(2, 10).Select(i => Entry((ulong)i, 1))]);
            var (term, count) = id == 2 ? (2UL, 50) : (3UL, 20);
            log.Append([.. Enumerable.Range(12, count).Select(i => Entry((ulong)i, term))]);
            log.SetHardState(new HardState(3, 0, 1));
            net.Add(id, log, c => c with { Id = id });
        }

        net[1].Campaign();
        net.Process();
        Assert.Equal(StateRole.Leader, net[1].Status.Role);

        Assert.Equal(1, net.Sent.Count(m => m.Type == MessageType.AppendResponse && m.Reject && m.From == 2));
        Assert.Equal(32UL, net[2].Status.LastIndex);
        Assert.Equal(32UL, net[2].Status.Commit);
    }

    [Fact]
    public void A_Leader_Never_Commits_An_Earlier_Terms_Entry_By_Counting_Replicas()
    {
        // Raft §5.4.2 / Figure 8: peer 1 holds entry 3 of term 2 that no one else has. Elected in
        // term 4, it gets entry 3 onto a majority, but must not commit it until an entry of term
        // 4 is on a majority as well: otherwise a peer with a term-3 entry 3 could still win.
        var members = new ConfState([1, 2, 3], []);
        var net = new TestNetwork([]);
        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            var log = MemoryRaftLog.Bootstrap(members);
            log.Append(id == 1 ? [Entry(2, 1), Entry(3, 2)] : [Entry(2, 1)]);
            log.SetHardState(new HardState(3, 0, 1));
            net.Add(id, log, c => c with { Id = id });
        }

        // Strip term-4 entries from every append: only the old entries get through.
        net.Filter = m => m.Type == MessageType.Append ? m with { Entries = [.. m.Entries.Where(e => e.Term < 4)] } : m;
        net[1].Campaign();
        net.Process();
        Assert.Equal((StateRole.Leader, 4UL), (net[1].Status.Role, net[1].Status.Term));
        net.Tick(3);

        Assert.Equal(3UL, net[1].Status.Progress[2].Match);
        Assert.Equal(3UL, net[1].Status.Progress[3].Match);
        Assert.Equal(1UL, net[1].Status.Commit);

        net.Filter = m => m;
        net.Tick(3);
        Assert.All(net.Nodes.Values, n => Assert.Equal(4UL, n.Status.Commit));
    }

    [Fact]
    public void A_Leader_Pipelines_At_Most_MaxInflightMessages_Appends_To_A_Follower()
    {
        var net = new TestNetwork([1, 2], c => c with { MaxInflightMessages = 3 });
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        net.Filter = m => m.Type == MessageType.AppendResponse ? null : m;
        net.Sent.Clear();

        for (var i = 0; i < 10; i++)
        {
            net.Propose(leader, $"e{i}");
        }

        Assert.Equal(3, net.Sent.Count(m => m.Type == MessageType.Append && m.To == follower));
        Assert.True(net[leader].Status.Progress[follower].Paused);

        net.Filter = m => m;
        net.Tick(3);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"e{i}"), net.Applied[follower]);
        Assert.False(net[leader].Status.Progress[follower].Paused);
    }

    [Fact]
    public void A_Leader_Stops_Pipelining_Appends_To_A_Follower_Silent_For_An_Election_Timeout()
    {
        // The transport queues what it cannot deliver yet: appends sent to a follower that is cut off
        // pile up in the leader's memory and arrive in a burst when the link returns. Once a whole
        // check-quorum round went by without an answer, the leader sends it nothing but heartbeats.
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        net.Propose(leader, "before");
        net.Cut(leader, follower);
        net.Sent.Clear();

        const int electionTick = 10;
        var proposals = 0;
        for (var tick = 0; tick < 10 * electionTick; tick++)
        {
            net.Propose(leader, $"e{proposals++}");
            net.Tick();
        }

        var appends = net.Sent.Count(m => m.Type == MessageType.Append && m.To == follower && m.Entries.Length > 0);
        Assert.True(appends <= 2 * electionTick + 1, $"{appends} appends with entries went to the silent follower for {proposals} proposals");
        Assert.True(net[leader].Status.Progress[follower].Paused);
        Assert.Equal(leader, net.LeaderId());

        net.Heal();
        net.Tick(3);
        Assert.Equal(net[leader].Status.LastIndex, net[follower].Status.LastIndex);
        Assert.Equal(["before", .. Enumerable.Range(0, proposals).Select(i => $"e{i}")], net.Applied[follower]);
        Assert.False(net[leader].Status.Progress[follower].Paused);
    }

    [Fact]
    public void A_Leader_Recovers_A_Follower_Whose_Append_Answers_Were_Lost()
    {
        var net = new TestNetwork([1, 2, 3], c => c with { MaxInflightMessages = 2 });
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        var dropping = true;
        net.Filter = m => dropping && m.To == follower && m.Type == MessageType.Append && m.Entries.Length > 0 ? null : m;
        for (var i = 0; i < 6; i++)
        {
            net.Propose(leader, $"e{i}");
        }

        dropping = false;
        net.Tick(10);
        Assert.Equal(6, net.Applied[follower].Count);
    }

    [Theory]
    [InlineData(200UL, 40, 3)]
    [InlineData(64UL, 40, 1)]
    [InlineData(1024UL * 1024, 40, 20)]
    public void Appends_Are_Batched_Up_To_MaxSizePerMessage(ulong maxSize, int payload, int expectedPerMessage)
    {
        var net = new TestNetwork([1, 2], c => c with { MaxSizePerMessage = maxSize });
        var leader = net.ElectLeader();
        var follower = net.Nodes.Keys.First(id => id != leader);
        net.Cut(leader, follower);
        for (var i = 0; i < 20; i++)
        {
            net[leader].Propose(new byte[payload]);
        }

        net.Process();
        net.Sent.Clear();
        net.Heal();
        net.Tick(5);

        var appends = net.Sent.Where(m => m.Type == MessageType.Append && m.To == follower && m.Entries.Length > 0).ToList();
        Assert.Equal(expectedPerMessage, appends.Max(m => m.Entries.Length));
        Assert.Equal(net[leader].Status.LastIndex, net[follower].Status.LastIndex);
    }

    [Fact]
    public void Committed_Entries_Are_Handed_Out_In_Order_Within_MaxCommittedSizePerReady()
    {
        var log = MemoryRaftLog.Bootstrap(new ConfState([1], []));
        var node = new RaftNode(new RaftConfig { Id = 1, MaxCommittedSizePerReady = 200 }, log);
        node.Campaign();
        for (var i = 0; i < 10; i++)
        {
            Assert.True(node.Propose(Encoding.UTF8.GetBytes($"{i:D40}")));
        }

        var applied = new List<ulong>();
        var readies = 0;
        while (node.HasReady())
        {
            var ready = node.GetReady();
            log.Append(ready.Entries);
            if (ready.HardState is { } hs)
            {
                log.SetHardState(hs);
            }

            Assert.True(ready.CommittedEntries.Length <= 3);
            applied.AddRange(ready.CommittedEntries.Select(e => e.Index));
            node.Advance(ready);
            readies++;
        }

        Assert.Equal(Enumerable.Range(2, 11).Select(i => (ulong)i), applied);
        Assert.True(readies >= 4);
        Assert.Equal(12UL, node.Status.Applied);
    }

    [Fact]
    public void Heartbeats_Carry_At_Most_What_The_Follower_Holds()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        var lagging = net.Nodes.Keys.First(id => id != leader);
        net.Filter = m => m.To == lagging && m.Type == MessageType.Append ? null : m;
        net.Propose(leader, "x");
        net.Sent.Clear();
        net.Tick(1);

        var heartbeat = net.Sent.First(m => m.Type == MessageType.Heartbeat && m.To == lagging);
        Assert.Equal(net[leader].Status.Progress[lagging].Match, heartbeat.Commit);
        Assert.True(heartbeat.Commit < net[leader].Status.Commit);
    }

    [Fact]
    public void Ready_Messages_Never_Run_Ahead_Of_What_The_Same_Ready_Persists()
    {
        var net = new TestNetwork([1, 2, 3]);
        var leader = net.ElectLeader();
        net[leader].Propose([7]);
        var ready = net[leader].GetReady();
        var appended = Assert.Single(ready.Entries);
        Assert.All(
            ready.Messages.Where(m => m.Type == MessageType.Append),
            m => Assert.Equal(appended.Index, m.Entries.Last().Index));
        Assert.True(ready.MustSync);
        net[leader].Advance(ready);
    }

    internal static ImmutableArray<Entry> Entries(params Entry[] entries) => [.. entries];
}
