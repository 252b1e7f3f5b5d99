using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

/// <summary>
/// A small randomized sweep (the simulator does the thorough job): drops, partitions, restarts
/// and transfers, checking that applied histories never diverge and terms have one leader.
/// </summary>
public class SafetySweepTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Applied_Histories_Never_Diverge_Under_Drops_Partitions_And_Restarts(int seed)
    {
        var random = new Random(seed);
        var net = new TestNetwork([1, 2, 3, 4, 5], c => c with { RandomSeed = seed, MaxInflightMessages = 4, MaxSizePerMessage = 200 });
        net.Filter = m => random.NextDouble() < 0.1 ? null : m;
        net.ReportDroppedSnapshots = true;
        var leaders = new Dictionary<ulong, ulong>();
        var proposed = 0;

        for (var step = 0; step < 600; step++)
        {
            var roll = random.Next(100);
            var id = (ulong)random.Next(1, 6);
            if (roll < 3)
            {
                net.Isolate(id);
            }
            else if (roll < 6)
            {
                net.Heal();
            }
            else if (roll < 8)
            {
                net.Restart(id);
            }
            else if (roll < 9 && net.LeaderId() is var l and not 0)
            {
                net[l].TransferLeadership(id);
            }
            else if (roll < 11 && net.LeaderId() is var c and not 0 && net[c].Status.Applied > 20)
            {
                net.SnapshotAndCompact(c);
            }
            else if (roll < 40)
            {
                net[id].Propose(System.Text.Encoding.UTF8.GetBytes($"p{proposed++}"));
            }

            net.Tick();
            foreach (var node in net.Nodes.Values.Where(n => n.Status.Role == StateRole.Leader))
            {
                var term = node.Status.Term;
                Assert.True(!leaders.TryGetValue(term, out var other) || other == node.Id, $"two leaders in term {term}");
                leaders[term] = node.Id;
            }

            AssertPrefixes(net);
        }

        net.Heal();
        net.Filter = m => m;
        net.Tick(60);
        var final = net.LeaderId();
        Assert.NotEqual(0UL, final);
        net.Propose(final, "last");
        net.Tick(10);
        Assert.All(net.Applied.Values, a => Assert.Equal(net.Applied[final], a));
        Assert.Contains("last", net.Applied[final]);
    }

    private static void AssertPrefixes(TestNetwork net)
    {
        var histories = net.Applied.Values.OrderByDescending(h => h.Count).ToList();
        var longest = histories[0];
        foreach (var history in histories)
        {
            Assert.Equal(longest.Take(history.Count), history);
        }
    }
}
