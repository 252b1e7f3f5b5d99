namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// The checks are only worth their green if they go red: each test plants one bug in the driver
/// (the way a Raft actor could misuse a correct core) and requires some seed to be caught by the
/// property that bug breaks.
/// </summary>
[Trait("Category", "Simulation")]
public class PlantedBugTests
{
    /// <summary>The first seed whose violation names one of <paramref name="properties"/> (other failures, such as liveness, are passed over).</summary>
    private static string CaughtBy(HarnessFault fault, int seeds, params string[] properties)
    {
        var options = new SimulationOptions { Peers = 3, Fault = fault };
        var others = new List<string>();
        for (var seed = 0; seed < seeds; seed++)
        {
            try
            {
                new Simulator(options, seed).Run();
            }
            catch (SimulationViolationException e)
            {
                var headline = e.Message.Split(Environment.NewLine)[0];
                if (properties.Any(p => headline.Contains(p + ":", StringComparison.Ordinal)))
                {
                    return headline;
                }

                others.Add(headline);
            }
        }

        Assert.Fail($"no seed out of {seeds} caught the planted bug {fault} by {string.Join(" or ", properties)}; other failures: {string.Join(Environment.NewLine, others.Take(5))}");
        return "";
    }

    [Fact]
    public void Reads_Without_ReadIndex_Are_Caught_As_Not_Linearizable() =>
        CaughtBy(HarnessFault.StaleReads, 2000, "linearizability");

    [Fact]
    public void Sending_Before_The_Write_Is_Durable_Is_Caught() =>
        CaughtBy(HarnessFault.SendBeforePersist, 2000, "election safety", "one vote per term", "log matching", "state machine safety", "leader completeness", "acknowledged write lost", "linearizability");

    [Fact]
    public void A_Disk_That_Loses_Acknowledged_Entries_Is_Caught() =>
        CaughtBy(HarnessFault.DiskLosesTailOnCrash, 2000, "state machine safety", "leader completeness", "acknowledged write lost", "log matching", "linearizability");

    /// <summary>
    /// Random seeds rarely make a voter restart between two candidates of one term, so script it:
    /// 3 votes for 1 in term 2 and crashes before 1's entries reach it; restarted, it is asked
    /// again in term 2, by 2.
    /// </summary>
    private static Simulator VoteTwiceScript(HarnessFault fault)
    {
        var sim = new Simulator(new SimulationOptions { Peers = 3, PreVote = false, Fault = fault }, seed: 1);
        sim.Partition([1, 3], [2]);
        sim.Campaign(1);
        sim.Ready(1);
        sim.DeliverAll();
        sim.Ready(3);
        sim.Crash(3);
        sim.DeliverAll();
        sim.Ready(1);
        Assert.Equal(1UL, sim.Leader);
        sim.Restart(3);
        sim.Partition([2, 3], [1]);
        sim.Campaign(2);
        sim.Round(5);
        return sim;
    }

    [Fact]
    public void A_Forgotten_Vote_Lets_Two_Leaders_Win_One_Term()
    {
        var e = Assert.Throws<SimulationViolationException>(() => VoteTwiceScript(HarnessFault.ForgetVoteOnCrash));
        Assert.Contains("one vote per term:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_The_Planted_Bug_The_Same_Script_Is_Safe()
    {
        var sim = VoteTwiceScript(HarnessFault.None);
        sim.Heal();
        sim.AssertLiveness();
    }
}
