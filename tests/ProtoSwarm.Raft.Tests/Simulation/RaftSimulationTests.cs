using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// Thousands of random seeds per cluster size. A failing seed prints itself, what broke, the last
/// actions and the command that replays exactly that seed:
/// RAFT_SIM_SEED=1234 RAFT_SIM_PEERS=5 dotnet test tests/ProtoSwarm.Raft.Tests --filter "FullyQualifiedName~RaftSimulationTests.Random_Seeds_With_5_Peers"
/// RAFT_SIM_SEEDS (how many per test) and RAFT_SIM_STEPS (steps per seed) widen or narrow a local run.
/// </summary>
[Trait("Category", "Simulation")]
public class RaftSimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeedsPerSize = 5_000;
    private const int DefaultSteps = 600;

    [Fact]
    public void Random_Seeds_With_3_Peers() => RunSeeds(new() { Peers = 3 }, firstSeed: 0, DefaultSeedsPerSize);

    [Fact]
    public void Random_Seeds_With_5_Peers() => RunSeeds(new() { Peers = 5 }, firstSeed: 1_000_000, DefaultSeedsPerSize);

    /// <summary>Without pre-vote, a rejoining peer disrupts with higher terms: more elections, more conflicts.</summary>
    [Fact]
    public void Random_Seeds_Without_PreVote() =>
        RunSeeds(new() { Peers = 3, PreVote = false, ReplayTest = "RaftSimulationTests.Random_Seeds_Without_PreVote" }, firstSeed: 2_000_000, 1_000);

    /// <summary>Fewer, longer runs: deeper logs, more compaction and snapshot installs, more membership churn.</summary>
    [Fact]
    public void Long_Random_Seeds_With_5_Peers() =>
        RunSeeds(new() { Peers = 5, Steps = 3_000, ReplayTest = "RaftSimulationTests.Long_Random_Seeds_With_5_Peers" }, firstSeed: 3_000_000, 300);

    [Theory]
    [InlineData(3, 42)]
    [InlineData(5, 4242)]
    public void Same_Seed_Replays_Exactly(int peers, int seed)
    {
        static List<string> Trace(int peers, int seed)
        {
            var lines = new List<string>();
            new Simulator(new SimulationOptions { Peers = peers, Steps = 1_500 }, seed) { Log = lines.Add }.Run();
            return lines;
        }

        var first = Trace(peers, seed);
        var second = Trace(peers, seed);
        Assert.True(first.Count > 1_000, $"only {first.Count} actions traced");
        Assert.Equal(first, second);
    }

    private void RunSeeds(SimulationOptions configuration, int firstSeed, int defaultCount)
    {
        var peers = configuration.Peers;
        var options = configuration with { Steps = EnvInt("RAFT_SIM_STEPS") ?? (configuration.Steps == new SimulationOptions().Steps ? DefaultSteps : configuration.Steps) };
        var only = EnvInt("RAFT_SIM_SEED");
        if (only is not null)
        {
            if (EnvInt("RAFT_SIM_PEERS") is { } p && p != peers)
            {
                return;
            }

            var sim = new Simulator(options, only.Value) { Log = output.WriteLine };
            var report = sim.Run();
            output.WriteLine($"seed {only} passed: {report}");
            return;
        }

        var count = EnvInt("RAFT_SIM_SEEDS") ?? defaultCount;
        var failures = new ConcurrentBag<(int Seed, string Message)>();
        var reports = new ConcurrentBag<SimulationReport>();
        var sw = Stopwatch.StartNew();

        // Seeds run in parallel; each seed's simulation is single-threaded and owns all its state.
        Parallel.For(firstSeed, firstSeed + count, seed =>
        {
            try
            {
                reports.Add(new Simulator(options, seed).Run());
            }
            catch (SimulationViolationException e)
            {
                failures.Add((seed, e.Message));
            }
        });

        sw.Stop();
        output.WriteLine(Summary(peers, count, sw.Elapsed, reports));
        if (!failures.IsEmpty)
        {
            var sorted = failures.OrderBy(f => f.Seed).ToList();
            var shown = string.Join(Environment.NewLine + Environment.NewLine, sorted.Take(3).Select(f => f.Message));
            var seeds = string.Join(", ", sorted.Take(50).Select(f => f.Seed));
            Assert.Fail($"{sorted.Count} of {count} seeds failed with {peers} peers (first: {seeds}){Environment.NewLine}{Environment.NewLine}{shown}");
        }

        // Not vacuous: most seeds must have elected leaders and acknowledged client writes.
        Assert.True(reports.Count(r => r.AckedWrites > 0) > count / 2, Summary(peers, count, sw.Elapsed, reports));
    }

    private static string Summary(int peers, int count, TimeSpan elapsed, ConcurrentBag<SimulationReport> reports)
    {
        if (reports.IsEmpty)
        {
            return $"{peers} peers: no seed passed in {elapsed}";
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{peers} peers: {reports.Count}/{count} seeds passed in {elapsed.TotalSeconds:F1}s; per seed on average: " +
            $"{reports.Average(r => r.Steps):F0} steps, {reports.Average(r => r.Ticks):F0} ticks, commit index {reports.Average(r => (double)r.HighestCommitted):F1}, " +
            $"{reports.Average(r => r.LeadersElected):F1} leaders, {reports.Average(r => r.AckedWrites):F1} acked writes, {reports.Average(r => r.CompletedReads):F1} reads, " +
            $"{reports.Average(r => r.PendingOperations):F1} pending ops, {reports.Average(r => r.Crashes):F1} crashes, {reports.Average(r => r.SnapshotsInstalled):F2} snapshots installed, " +
            $"{reports.Average(r => r.MembershipChanges):F2} membership changes; {reports.Sum(r => r.DuplicateApplies)} duplicate applies in all");
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
}
