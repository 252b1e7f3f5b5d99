using ProtoSwarm.Raft.Tests.Simulation.Linearizability;

namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// Longer scripted runs of the simulator, each aimed at one hard case. Every step is still checked
/// against all invariants, and each ends with the liveness check and the clients' history.
/// </summary>
[Trait("Category", "Simulation")]
public class RaftScenarioTests
{
    private static readonly SimulationOptions Quiet = new() { Peers = 3 };

    /// <summary>Writes through the leader until <paramref name="count"/> were acknowledged.</summary>
    private static void WriteThroughLeader(Simulator sim, int count, string key = "k0")
    {
        for (var i = 0; i < count; i++)
        {
            var leader = sim.WaitForLeader();
            sim.RunUntil(() => sim.ClientIdle(0), 100, "client 0 finished its previous operation");
            if (!sim.ClientWrite(0, leader, KvOpKind.Append, key))
            {
                i--;
                sim.Round();
                continue;
            }

            sim.RunUntil(() => sim.ClientIdle(0), 100, $"write {i} acknowledged");
        }
    }

    private static void Finish(Simulator sim)
    {
        sim.AssertLiveness();
        sim.CheckLinearizability();
    }

    [Fact]
    public void Partitioned_Leader_Is_Replaced_And_Cannot_Acknowledge_Or_Serve_Stale_Reads()
    {
        var sim = new Simulator(Quiet with { Peers = 5 }, seed: 11);
        var old = sim.WaitForLeader();
        WriteThroughLeader(sim, 3);

        var rest = sim.PeerIds.Where(id => id != old).ToArray();
        sim.Partition([old], rest);

        // Client 1 writes and client 2 reads through the deposed leader: neither may complete.
        Assert.True(sim.ClientWrite(1, old, KvOpKind.Put, "k1"));
        sim.ClientRead(2, old, "k0");

        sim.RunUntil(() => sim.Leader is { } l && l != old, 100, "a new leader on the majority side");
        var fresh = sim.Leader!.Value;
        Assert.True(sim.ClientWrite(0, fresh, KvOpKind.Append, "k0"));
        sim.RunUntil(() => sim.ClientIdle(0), 100, "a write through the new leader");
        sim.Round(30);
        Assert.False(sim.ClientIdle(1), "the deposed leader acknowledged a write");
        Assert.False(sim.ClientIdle(2), "the deposed leader served a read");
        Assert.NotEqual(StateRole.Leader, sim.StatusOf(old)?.Role);

        sim.Heal();
        sim.RunUntil(() => sim.AppliedOf(old) >= sim.AppliedOf(fresh), 100, "the old leader catching up");
        Finish(sim);
    }

    [Fact]
    public void Leader_Crash_Mid_Replication_Keeps_Acknowledged_Writes()
    {
        var sim = new Simulator(Quiet, seed: 12);
        var leader = sim.WaitForLeader();
        WriteThroughLeader(sim, 5);

        // The leader takes writes, persists and sends them, and crashes before the acks come back.
        Assert.True(sim.ClientWrite(1, leader, KvOpKind.Append, "k0"));
        Assert.True(sim.ClientWrite(2, leader, KvOpKind.Put, "k1"));
        sim.TickAll();
        sim.Crash(leader);

        var next = sim.WaitForLeader();
        Assert.NotEqual(leader, next);
        WriteThroughLeader(sim, 3);
        sim.Restart(leader);
        sim.RunUntil(() => sim.AppliedOf(leader) >= sim.AppliedOf(next), 200, "the crashed leader catching up");
        Finish(sim);
    }

    [Fact]
    public void Far_Behind_Follower_Catches_Up_From_A_Snapshot()
    {
        var sim = new Simulator(Quiet, seed: 13);
        var leader = sim.WaitForLeader();
        var behind = sim.PeerIds.First(id => id != leader);
        sim.Crash(behind);

        WriteThroughLeader(sim, 40);
        foreach (var id in sim.PeerIds.Where(sim.IsUp))
        {
            sim.Snapshot(id, keep: 2);
        }

        WriteThroughLeader(sim, 5);
        Assert.True(sim.FirstIndexOf(sim.Leader!.Value) > 30, "the leader's log was compacted");

        sim.Restart(behind);
        sim.RunUntil(() => sim.AppliedOf(behind) >= sim.AppliedOf(sim.Leader!.Value), 200, "the far-behind follower catching up");
        Assert.True(sim.Report().SnapshotsInstalled > 0, "caught up without a snapshot");
        Finish(sim);
    }

    [Fact]
    public void Members_Are_Added_And_Removed_One_At_A_Time_Under_Load()
    {
        var sim = new Simulator(Quiet, seed: 14);
        var leader = sim.WaitForLeader();
        WriteThroughLeader(sim, 3);

        ulong? added = null;
        sim.RunUntil(() => (added ??= sim.AddMember()) is not null, 50, "the leader taking an AddVoter");
        Assert.True(sim.ClientWrite(1, sim.Leader!.Value, KvOpKind.Append, "k1"));
        sim.RunUntil(() => sim.Leader is { } l && sim.Voters(l).Contains(added!.Value), 100, "the new member becoming a voter");
        sim.RunUntil(() => sim.AppliedOf(added!.Value) >= sim.AppliedOf(sim.Leader!.Value), 200, "the new member catching up");
        WriteThroughLeader(sim, 3);

        var victim = sim.PeerIds.First(id => id != sim.Leader && id != added);
        Assert.True(sim.ClientWrite(1, sim.Leader!.Value, KvOpKind.Append, "k1"));
        sim.RunUntil(() => sim.RemoveMember(victim), 50, "the leader taking a RemoveVoter");
        sim.RunUntil(() => sim.Leader is { } l && !sim.Voters(l).Contains(victim), 100, "the member leaving");
        Assert.DoesNotContain(victim, sim.PeerIds);
        WriteThroughLeader(sim, 3);
        Assert.Equal(3, sim.Voters(sim.Leader!.Value).Count);
        Finish(sim);
    }

    [Fact]
    public void Leadership_Transfer_Hands_Over_To_The_Target()
    {
        var sim = new Simulator(Quiet with { Peers = 5 }, seed: 15);
        var leader = sim.WaitForLeader();
        WriteThroughLeader(sim, 3);
        var target = sim.PeerIds.Last(id => id != leader);
        sim.TransferLeadership(target);
        sim.RunUntil(() => sim.Leader == target, 2 * Quiet.ElectionTick, "the transfer to its target");
        WriteThroughLeader(sim, 3);
        Finish(sim);
    }

    [Fact]
    public void Long_Random_Run_With_Every_Fault() =>
        new Simulator(new SimulationOptions { Peers = 5, Steps = 20_000 }, seed: 16).Run();
}
