using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using Xunit.Abstractions;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// The managers' Raft quorum with real protoswarmd processes in a lab: leaders killed, managers cut
/// off, demotions below quorum, whole-swarm restarts. Measured durations go to the test output.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public partial class RaftLabTests
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private const int MaxAsksInFlight = 8;

    /// <summary>Each look at a replica copies and replays a manager's raft.db: less often than a `node ls`.</summary>
    private static readonly TimeSpan ReplicaPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The product aims at about 1 s; these are the bounds a test on a loaded machine can hold it to.</summary>
    private static readonly TimeSpan ElectionBound = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan NextWriteBound = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;

    public RaftLabTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Killing_The_Leader_Elects_Another_Loses_No_Acknowledged_Write_And_The_Old_Leader_Catches_Up()
    {
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 1);
        var dirs = await StateDirsAsync(lab);
        var healthy = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 4 && AllReady(nodes) && OneLeader(nodes) && AllManagersVote(nodes), TimeSpan.FromSeconds(20));
        Assert.True(healthy.Met, $"The lab did not settle (4 Ready nodes, one Leader) within 20 s; last `node ls`: {healthy.Last}");
        var leader = LeaderOf(healthy.Nodes)!;
        var survivors = Managers(dirs).Where(m => m != leader).ToList();
        _output.WriteLine($"leader before the kill: {leader}");

        var clock = Stopwatch.StartNew();
        await using var writer = new LabelWriter(clock, [.. survivors.Select(m => Socket(dirs, m))], "w1", "k", TimeSpan.FromSeconds(1.5), TimeSpan.FromMilliseconds(20));
        writer.Start();
        Assert.True(await writer.WaitForAcknowledgedAsync(20, TimeSpan.Zero, TimeSpan.FromSeconds(15)), $"The write load did not get 20 writes acknowledged within 15 s; failures: {Describe(writer.Failed)}");

        await AssertStillLeadsAsync(dirs, leader);
        var (killedAt, dead) = await lab.SigkillAsync(leader, clock);
        var probe = FirstWriteAsync(dirs, survivors, "w1", clock, TimeSpan.FromSeconds(15));
        var elected = await WaitForSwarmAsync(dirs, survivors, nodes => LeaderOf(nodes) is { } l && l != leader, TimeSpan.FromSeconds(15));
        var election = clock.Elapsed - killedAt;
        var nextWrite = await probe - killedAt;
        Assert.True(await writer.WaitForAcknowledgedAsync(20, dead, TimeSpan.FromSeconds(15)), $"Fewer than 20 writes were acknowledged within 15 s of the kill; failures: {Describe(writer.Failed)}");
        await writer.StopAsync();
        var stop = await lab.LabAsync("stop", leader, "--kill");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.True(elected.Met, $"No other manager became Leader within 15 s of SIGKILL to {leader}; last `node ls`: {elected.Last}");
        var newLeader = LeaderOf(elected.Nodes)!;
        _output.WriteLine($"SIGKILL {leader} (gone {Ms(dead - killedAt)} after the signal): {newLeader} reported Leader after {Ms(election)}; first write acknowledged after {Ms(nextWrite)} " +
                          $"({writer.Acknowledged.Count} writes acknowledged, {writer.Failed.Count} failed or timed out in all)");
        Assert.True(LeaderKnown(election, nextWrite) <= ElectionBound, $"No new leader was evident within {Ms(ElectionBound)} of the kill: {newLeader} reported Leader after {Ms(election)}, the first write was committed after {Ms(nextWrite)}");
        Assert.True(nextWrite is { } w && w <= NextWriteBound, $"The first write after the kill was acknowledged after {Ms(nextWrite)}; the bound is {Ms(NextWriteBound)}. Failures: {Describe(writer.Failed)}");

        var labels = await LabelsAsync(Socket(dirs, newLeader), "w1");
        AssertHasAll(writer.Acknowledged, labels, $"w1's labels read through the new leader {newLeader}");

        var restartedAt = clock.Elapsed;
        await lab.StartNodeAsync(leader);
        var back = await WaitForSwarmAsync(dirs, [newLeader], nodes => nodes.Count == 4 && AllReady(nodes) && Reachable(nodes, leader), TimeSpan.FromSeconds(30));
        var rejoined = clock.Elapsed - restartedAt;
        Assert.True(back.Met, $"{leader} was not Ready and Reachable within 30 s of `lab start`; last `node ls`: {back.Last}");
        var caughtUp = await WaitForReplicaAsync(dirs[leader], replica => Missing(writer.Acknowledged, LabelsOf(replica, "w1")) == 0, TimeSpan.FromSeconds(20));
        var catchUp = clock.Elapsed - restartedAt;
        _output.WriteLine($"lab start {leader}: Ready and Reachable after {Ms(rejoined)}; its own replica held every acknowledged label after {Ms(catchUp)} " +
                          $"(commit {caughtUp.Replica?.Commit}, snapshot {caughtUp.Replica?.SnapshotIndex})");
        Assert.True(caughtUp.Met, $"{leader}'s own replica (its raft.db) still misses {Missing(writer.Acknowledged, LabelsOf(caughtUp.Replica, "w1"))} acknowledged labels 20 s after its restart (commit {caughtUp.Replica?.Commit})");
        AssertHasAll(writer.Acknowledged, await LabelsAsync(Socket(dirs, leader), "w1"), $"w1's labels read through the restarted {leader}");
    }

    [Fact]
    public async Task A_Manager_Cut_Off_Falls_Behind_While_The_Others_Commit_And_Catches_Up_When_Its_Link_Returns()
    {
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 1);
        var (dirs, leader, cutOff, others, clock, before) = await CutOffAFollowerAsync(lab);

        // Quorum is 2 of 3: the leader and the other manager keep committing.
        await using var writer = new LabelWriter(clock, [.. others.Select(m => Socket(dirs, m))], "w1", "p", TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(10));
        writer.Start();
        var wrote = await writer.WaitForAcknowledgedAsync(150, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        var writing = clock.Elapsed;
        Assert.True(wrote, $"Only {writer.Acknowledged.Count} writes were acknowledged in 60 s with {cutOff} cut off; failures: {Describe(writer.Failed)}");
        Assert.Empty(writer.Failed);
        var behind = ReplicaOnDisk.Read(dirs[cutOff]);
        var missingWhileCut = Missing(writer.Acknowledged, LabelsOf(behind, "w1"));
        _output.WriteLine($"{cutOff} cut off: {writer.Acknowledged.Count} writes acknowledged by {string.Join(" and ", others)} in {Ms(writing)}; " +
                          $"{cutOff}'s commit stayed at {behind.Commit} (was {before.Commit}), it misses {missingWhileCut} of them");
        Assert.Equal(writer.Acknowledged.Count, missingWhileCut);

        var healedAt = clock.Elapsed;
        await lab.SetLinkAsync(cutOff, up: true);
        var caughtUp = await WaitForReplicaAsync(dirs[cutOff], replica => Missing(writer.Acknowledged, LabelsOf(replica, "w1")) == 0, TimeSpan.FromSeconds(30));
        var catchUp = clock.Elapsed - healedAt;
        _output.WriteLine($"link back: {cutOff}'s own replica held every acknowledged label after {Ms(catchUp)} (commit {caughtUp.Replica?.Commit}, snapshot index {caughtUp.Replica?.SnapshotIndex}; " +
                          "catch-up by entries: the product snapshots every 10,000 entries, which this test does not reach)");
        Assert.True(caughtUp.Met, $"{cutOff}'s own replica still misses {Missing(writer.Acknowledged, LabelsOf(caughtUp.Replica, "w1"))} acknowledged labels 30 s after its link came back (commit {caughtUp.Replica?.Commit})");

        var back = await WaitForSwarmAsync(dirs, [leader], nodes => nodes.Count == 4 && AllReady(nodes) && Reachable(nodes, cutOff) && OneLeader(nodes), TimeSpan.FromSeconds(30));
        _output.WriteLine($"{cutOff} Ready and Reachable again {Ms(clock.Elapsed - healedAt)} after its link came back");
        Assert.True(back.Met, $"{cutOff} was not Ready and Reachable within 30 s of its link coming back; last `node ls`: {back.Last}");
    }

    [Fact]
    public async Task A_Manager_Cut_Off_Far_Behind_Catches_Up_By_Snapshot()
    {
        // A snapshot every 50 entries (`swarm init --snapshot-interval 50`), 500 entries kept after
        // it: a manager that misses more than that can only be sent the snapshot.
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 1, snapshotInterval: 50);
        var (dirs, _, cutOff, others, clock, before) = await CutOffAFollowerAsync(lab);
        var cutAt = clock.Elapsed;

        await using var writer = new LabelWriter(clock, [.. others.Select(m => Socket(dirs, m))], "w1", "s", TimeSpan.FromSeconds(3), TimeSpan.Zero);
        writer.Start();

        // Proto.Remote keeps what it cannot deliver yet, so what the leader sent before it noticed the
        // silence (a whole check-quorum round without an answer, 1-2 s here; ProgressTracker.StartQuorumRound)
        // reaches the cut-off manager when the link returns. Whatever the others held 5 s after the cut
        // bounds it: only once both logs start past that entry is the manager truly too far behind.
        await Task.Delay(cutAt + TimeSpan.FromSeconds(5) - clock.Elapsed);
        var sentAtMost = others.Max(m => ReplicaOnDisk.Read(dirs[m]).LastIndex);
        var wrote = await writer.WaitForAcknowledgedAsync(700, TimeSpan.Zero, TimeSpan.FromSeconds(120));
        Assert.True(wrote, $"Only {writer.Acknowledged.Count} writes were acknowledged in 120 s with {cutOff} cut off; failures: {Describe(writer.Failed)}");

        // When a member snapshots depends on bytes as well as entries (RaftActor.SnapshotDue): writing
        // goes on until neither of the others (whichever leads when the link returns) still holds the
        // entry after the last one the cut-off manager can have been sent.
        var compacted = await WaitForAsync(() => others.All(m => ReplicaOnDisk.Read(dirs[m]).FirstIndex > sentAtMost + 1), TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        var behind = ReplicaOnDisk.Read(dirs[cutOff]);
        var logs = string.Join(", ", others.Select(m => ReplicaOnDisk.Read(dirs[m])).Select((r, i) => $"{others[i]} snapshot {r.SnapshotIndex}, entries {r.FirstIndex}-{r.LastIndex}"));
        _output.WriteLine($"{cutOff} cut off: {writer.Acknowledged.Count} writes in {Ms(clock.Elapsed)}; its commit stayed at {behind.Commit} (was {before.Commit}), " +
                          $"snapshot index {behind.SnapshotIndex}; the leader sent it entries up to {sentAtMost} at most; {logs}");
        Assert.True(compacted, $"After {writer.Acknowledged.Count} writes the others' logs still held entry {sentAtMost + 1} ({logs}): a snapshot at the 50-entry interval should have compacted it away");

        var healedAt = clock.Elapsed;
        await lab.SetLinkAsync(cutOff, up: true);
        var caughtUp = await WaitForReplicaAsync(dirs[cutOff], replica => Missing(writer.Acknowledged, LabelsOf(replica, "w1")) == 0, TimeSpan.FromSeconds(40));
        var installed = InstalledSnapshots(lab, cutOff);
        _output.WriteLine($"link back: {cutOff} held every acknowledged label after {Ms(clock.Elapsed - healedAt)} (commit {caughtUp.Replica?.Commit}, " +
                          $"snapshot index {caughtUp.Replica?.SnapshotIndex}); snapshots it installed from a leader: {string.Join(", ", installed)}");
        Assert.True(caughtUp.Met, $"{cutOff} still misses {Missing(writer.Acknowledged, LabelsOf(caughtUp.Replica, "w1"))} acknowledged labels 40 s after its link came back");

        // Its own snapshots do not count: only one sent by the leader shows the install path was taken.
        Assert.True(installed.Any(index => index > sentAtMost),
            $"{cutOff} caught up without installing a leader's snapshot past entry {sentAtMost} (it installed: {string.Join(", ", installed)}): the test did not exercise snapshot install");
    }

    /// <summary>The indexes of the snapshots a manager installed from a leader, from its log ("installed a snapshot at N").</summary>
    private static IReadOnlyList<ulong> InstalledSnapshots(LabFixture lab, string node)
    {
        using var file = new FileStream(Path.Combine(lab.StateRoot, node, "protoswarmd.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(file);
        return [.. InstalledAt().Matches(reader.ReadToEnd()).Select(match => ulong.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture))];
    }

    [GeneratedRegex(@"Raft member \d+ installed a snapshot at (\d+)")]
    private static partial Regex InstalledAt();

    [Fact]
    public async Task Demoting_A_Manager_Right_After_Another_Crashed_Is_Refused_For_Quorum_And_Succeeds_Once_It_Is_Back()
    {
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 0);
        var dirs = await StateDirsAsync(lab);
        // Settled means three voters: a manager still catching up as a learner shows as Unknown, and killing
        // one of the two voters then would leave no quorum at all, which is not what this test is about.
        var healthy = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 3 && AllReady(nodes) && OneLeader(nodes) && AllManagersVote(nodes), TimeSpan.FromSeconds(20));
        Assert.True(healthy.Met, $"The lab did not settle within 20 s; last `node ls`: {healthy.Last}");
        var leader = LeaderOf(healthy.Nodes)!;
        var followers = Managers(dirs).Where(m => m != leader).ToList();
        var (crashed, demoted) = (followers[0], followers[1]);

        // Straight after the crash, before the swarm has marked the node Down: the leader must not
        // take a demotion that leaves the Raft group without a quorum.
        var kill = await lab.LabAsync("stop", crashed, "--kill");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        var refused = await lab.ExecAsync(leader, "protoswarm", "node", "demote", demoted);
        _output.WriteLine($"node demote {demoted} with {crashed} killed: {refused}");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("quorum", refused.StdErr, StringComparison.OrdinalIgnoreCase);

        // The refusal changed nothing: the two live managers still commit.
        await new ControlClient(Socket(dirs, leader)).RequestAsync<NodeUpdateAck>(
            new UpdateNode(NewId(), demoted, null, ImmutableSortedDictionary<string, string>.Empty.Add("after-refusal", "yes"), []), TimeSpan.FromSeconds(10));
        var still = await ListAsync(Socket(dirs, leader));
        Assert.NotNull(still);
        Assert.Equal(3, still.Count(n => n.Role == NodeRole.Manager));

        await lab.StartNodeAsync(crashed);
        var back = await WaitForSwarmAsync(dirs, [leader], nodes => AllReady(nodes) && Reachable(nodes, crashed), TimeSpan.FromSeconds(30));
        Assert.True(back.Met, $"{crashed} was not Ready and Reachable within 30 s of `lab start`; last `node ls`: {back.Last}");

        var clock = Stopwatch.StartNew();
        var demote = await LabQueries.RepeatUntilAsync(() => lab.ExecAsync(leader, "protoswarm", "node", "demote", demoted), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500));

        _output.WriteLine($"node demote {demoted} with {crashed} back, after {Ms(clock.Elapsed)}: {demote}");
        Assert.True(demote.ExitCode == 0, $"Demoting {demoted} with all three managers up failed: {demote}");
        var demotedNow = await WaitForSwarmAsync(dirs, [leader], nodes => nodes.Count(n => n.Role == NodeRole.Manager) == 2 && nodes.Single(n => Host(n) == demoted).Role == NodeRole.Worker && OneLeader(nodes), TimeSpan.FromSeconds(20));
        Assert.True(demotedNow.Met, $"{demoted} was not a worker with two managers left within 20 s; last `node ls`: {demotedNow.Last}");
    }

    [Fact]
    public async Task Restarting_Every_Node_Brings_Back_One_Leader_And_Every_Object()
    {
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 1);
        var dirs = await StateDirsAsync(lab);
        var healthy = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 4 && AllReady(nodes) && OneLeader(nodes) && AllManagersVote(nodes), TimeSpan.FromSeconds(20));
        Assert.True(healthy.Met, $"The lab did not settle within 20 s; last `node ls`: {healthy.Last}");

        // A follower's join command names that follower, as docker's does, though the leader answered it.
        var follower = healthy.Nodes.First(n => n.Role == NodeRole.Manager && n.ManagerStatus is { Leader: false });
        var token = await new ControlClient(Socket(dirs, Host(follower))).RequestAsync<JoinTokenInfo>(new GetJoinToken(NewId(), NodeRole.Worker), TimeSpan.FromSeconds(10));
        Assert.Equal(follower.ManagerStatus!.Addr, token.ManagerAddr);

        var client = new ControlClient(Socket(dirs, "m2"));
        foreach (var node in dirs.Keys)
        {
            await client.RequestAsync<NodeUpdateAck>(new UpdateNode(NewId(), node, null, ImmutableSortedDictionary<string, string>.Empty.Add("name", node).Add("zone", "z-" + node), []), TimeSpan.FromSeconds(10));
        }

        await client.RequestAsync<NodeUpdateAck>(new UpdateNode(NewId(), "w1", NodeAvailability.Drain, ImmutableSortedDictionary<string, string>.Empty, ["zone"]), TimeSpan.FromSeconds(10));
        var expected = (await ListAsync(Socket(dirs, "m2")))!.ToDictionary(n => n.Id, n => n);

        var clock = Stopwatch.StartNew();
        foreach (var node in dirs.Keys.Reverse())
        {
            var stop = await lab.LabAsync("stop", node);
            Assert.True(stop.ExitCode == 0, stop.ToString());
        }

        var stopped = clock.Elapsed;
        foreach (var node in dirs.Keys)
        {
            await lab.StartNodeAsync(node);
        }

        var startedAt = clock.Elapsed;
        var back = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 4 && AllReady(nodes) && OneLeader(nodes) && Managers(dirs).All(m => Reachable(nodes, m)), TimeSpan.FromSeconds(45));
        _output.WriteLine($"SIGTERM to all 4 nodes took {Ms(stopped)}; `lab start` of all took {Ms(startedAt - stopped)}; one Leader ({(back.Met ? LeaderOf(back.Nodes) : "none")}) and all Ready {Ms(clock.Elapsed - startedAt)} after the last start");
        Assert.True(back.Met, $"The swarm did not come back (4 Ready, one Leader, managers Reachable) within 45 s of restarting every node; last `node ls`: {back.Last}");

        var after = back.Nodes.ToDictionary(n => n.Id, n => n);
        Assert.Equal(expected.Keys.Order(), after.Keys.Order());
        foreach (var (id, node) in expected)
        {
            Assert.Equal(node.Description.Hostname, after[id].Description.Hostname);
            Assert.Equal(node.Role, after[id].Role);
            Assert.Equal(node.Spec.Availability, after[id].Spec.Availability);
            Assert.Equal(node.Spec.Labels, after[id].Spec.Labels);
        }

        Assert.Equal(NodeAvailability.Drain, after.Values.Single(n => Host(n) == "w1").Spec.Availability);
        Assert.Equal(ImmutableSortedDictionary<string, string>.Empty.Add("name", "w1"), after.Values.Single(n => Host(n) == "w1").Spec.Labels);
    }

    [Fact]
    public async Task Five_Managers_Elect_A_New_Leader_When_The_Leader_Is_Killed_And_Keep_Taking_Writes()
    {
        await using var lab = await LabFixture.UpAsync(managers: 5, workers: 0);
        var dirs = await StateDirsAsync(lab);
        var healthy = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 5 && AllReady(nodes) && OneLeader(nodes) && nodes.All(n => n.ManagerStatus is { Reachability: Reachability.Reachable }), TimeSpan.FromSeconds(30));
        Assert.True(healthy.Met, $"The lab did not settle (5 Ready managers, one Leader) within 30 s; last `node ls`: {healthy.Last}");
        var leader = LeaderOf(healthy.Nodes)!;
        var survivors = Managers(dirs).Where(m => m != leader).ToList();

        var clock = Stopwatch.StartNew();
        await using var writer = new LabelWriter(clock, [.. survivors.Select(m => Socket(dirs, m))], survivors[^1], "k", TimeSpan.FromSeconds(1.5), TimeSpan.FromMilliseconds(20));
        writer.Start();
        Assert.True(await writer.WaitForAcknowledgedAsync(10, TimeSpan.Zero, TimeSpan.FromSeconds(15)), $"The write load did not get 10 writes acknowledged within 15 s; failures: {Describe(writer.Failed)}");

        await AssertStillLeadsAsync(dirs, leader);
        var (killedAt, dead) = await lab.SigkillAsync(leader, clock);
        var probe = FirstWriteAsync(dirs, survivors, survivors[^1], clock, TimeSpan.FromSeconds(15));
        var elected = await WaitForSwarmAsync(dirs, survivors, nodes => LeaderOf(nodes) is { } l && l != leader, TimeSpan.FromSeconds(15));
        var election = clock.Elapsed - killedAt;
        var wrote = await writer.WaitForAcknowledgedAsync(10, dead, TimeSpan.FromSeconds(15));
        await writer.StopAsync();
        var stop = await lab.LabAsync("stop", leader, "--kill");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var nextWrite = await probe is { } firstWrite ? firstWrite - killedAt : TimeSpan.MaxValue;
        Assert.True(elected.Met, $"No other manager became Leader within 15 s of SIGKILL to {leader}; last `node ls`: {elected.Last}");
        var newLeader = LeaderOf(elected.Nodes)!;
        _output.WriteLine($"5 managers, SIGKILL {leader} (gone {Ms(dead - killedAt)} after the signal): {newLeader} reported Leader after {Ms(election)}; first write acknowledged after {Ms(nextWrite)}");
        Assert.True(wrote, $"Fewer than 10 writes were acknowledged within 15 s of the kill; failures: {Describe(writer.Failed)}");
        Assert.True(LeaderKnown(election, nextWrite) <= ElectionBound, $"No new leader was evident within {Ms(ElectionBound)} of the kill: {newLeader} reported Leader after {Ms(election)}, the first write was committed after {Ms(nextWrite)}");
        Assert.True(nextWrite <= NextWriteBound, $"The first write after the kill was acknowledged after {Ms(nextWrite)}; the bound is {Ms(NextWriteBound)}");
        AssertHasAll(writer.Acknowledged, await LabelsAsync(Socket(dirs, newLeader), survivors[^1]), $"{survivors[^1]}'s labels read through the new leader {newLeader}");
    }

    /// <summary>
    /// Waits for a settled 3-manager lab (all Ready, one Leader), then cuts one follower's link.
    /// The clock starts at the cut; `before` is the follower's replica as the cut found it.
    /// </summary>
    private static async Task<(IReadOnlyDictionary<string, string> Dirs, string Leader, string CutOff, List<string> Others, Stopwatch Clock, ReplicaOnDisk Before)> CutOffAFollowerAsync(LabFixture lab)
    {
        var dirs = await StateDirsAsync(lab);
        var healthy = await WaitForSwarmAsync(dirs, Managers(dirs), nodes => nodes.Count == 4 && AllReady(nodes) && OneLeader(nodes) && AllManagersVote(nodes), TimeSpan.FromSeconds(20));
        Assert.True(healthy.Met, $"The lab did not settle within 20 s; last `node ls`: {healthy.Last}");
        var leader = LeaderOf(healthy.Nodes)!;
        var cutOff = Managers(dirs).First(m => m != leader);
        var others = Managers(dirs).Where(m => m != cutOff).ToList();

        await AssertStillLeadsAsync(dirs, leader);
        var clock = Stopwatch.StartNew();
        await lab.SetLinkAsync(cutOff, up: false);
        return (dirs, leader, cutOff, others, clock, ReplicaOnDisk.Read(dirs[cutOff]));
    }

    /// <summary>
    /// When a new leader was evident: a survivor's `node ls` naming it, or a write committed after the
    /// old leader died (only a new leader commits). `node ls` is answered by the leader's API actor
    /// behind the write load, so on a loaded machine it can show the leader later than a write proves it.
    /// </summary>
    private static TimeSpan LeaderKnown(TimeSpan reported, TimeSpan? firstWrite) =>
        firstWrite is { } w && w < reported ? w : reported;

    private sealed record SwarmPoll(bool Met, IReadOnlyList<NodeObject> Nodes, string Last);

    private sealed record ReplicaPoll(bool Met, ReplicaOnDisk? Replica);

    /// <summary>
    /// Lists the nodes through every given manager at once, each every 100 ms, until the condition
    /// holds on one answer: a manager that hangs (relaying to a dead leader) does not delay the others,
    /// and an ask that hangs does not delay the next one to the same manager (up to
    /// <see cref="MaxAsksInFlight"/> in flight each), so an answer comes within one interval of the
    /// moment a manager can give it, not after the 3 s that an ask sent to a dead leader waits.
    /// </summary>
    private static async Task<SwarmPoll> WaitForSwarmAsync(IReadOnlyDictionary<string, string> dirs, IReadOnlyList<string> throughManagers, Func<IReadOnlyList<NodeObject>, bool> condition, TimeSpan limit)
    {
        using var done = new CancellationTokenSource(limit);
        var met = new TaskCompletionSource<SwarmPoll>(TaskCreationOptions.RunContinuationsAsynchronously);
        var last = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();

        async Task AskAsync(string manager)
        {
            try
            {
                if (await new ControlClient(Socket(dirs, manager)).RequestAsync(new ListNodes(NewId()), QueryTimeout, done.Token) is NodeList { Nodes: var nodes })
                {
                    last[manager] = string.Join("; ", nodes.Select(Describe));
                    if (condition(nodes))
                    {
                        met.TrySetResult(new SwarmPoll(true, nodes, $"through {manager}: {last[manager]}"));
                    }
                }
            }
            catch (SwarmCommandException e)
            {
                last[manager] = e.Message;
            }
            catch (OperationCanceledException)
            {
                // the wait is over
            }
        }

        async Task PollAsync(string manager)
        {
            var asks = new List<Task>();
            while (!done.IsCancellationRequested && !met.Task.IsCompleted)
            {
                asks.RemoveAll(ask => ask.IsCompleted);
                if (asks.Count < MaxAsksInFlight)
                {
                    asks.Add(AskAsync(manager));
                }

                await Task.WhenAny(met.Task, Task.Delay(PollInterval, done.Token));
            }

            await Task.WhenAll(asks);
        }

        var polls = throughManagers.Select(m => Task.Run(() => PollAsync(m))).ToList();
        var all = Task.WhenAll(polls);
        await Task.WhenAny(met.Task, all);
        await done.CancelAsync();
        await all;
        return met.Task.IsCompleted
            ? met.Task.Result
            : new SwarmPoll(false, [], string.Join(" | ", last.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"through {p.Key}: {p.Value}")));
    }

    /// <summary>
    /// Right before the fault: the leader the test chose still leads. With no fault yet, leadership
    /// must stay put; were it to move, the test would kill or cut the wrong manager and prove nothing.
    /// </summary>
    private static async Task AssertStillLeadsAsync(IReadOnlyDictionary<string, string> dirs, string leader)
    {
        var now = await WaitForSwarmAsync(dirs, Managers(dirs), OneLeader, TimeSpan.FromSeconds(10));
        Assert.True(now.Met && LeaderOf(now.Nodes) == leader, $"Leadership moved from {leader} with no fault injected yet; `node ls`: {now.Last}");
    }

    /// <summary>
    /// When the swarm took a write again after the leader's death: from <paramref name="since"/> on, a
    /// label write through every given manager every 100 ms, each waiting up to 3 s and several in
    /// flight at once; the clock's time of the first acknowledged. The load's writer sends one write
    /// at a time, so the one it had sent to the dead leader would add its whole timeout to this.
    /// </summary>
    private static async Task<TimeSpan?> FirstWriteAsync(IReadOnlyDictionary<string, string> dirs, IReadOnlyList<string> throughManagers, string node, Stopwatch clock, TimeSpan limit)
    {
        using var done = new CancellationTokenSource(limit);
        var first = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asks = new List<Task>();
        var number = 0;

        async Task WriteAsync(string manager, int n)
        {
            try
            {
                var labels = ImmutableSortedDictionary<string, string>.Empty.Add(string.Create(CultureInfo.InvariantCulture, $"probe{n}"), "x");
                await new ControlClient(Socket(dirs, manager)).RequestAsync<NodeUpdateAck>(new UpdateNode(NewId(), node, null, labels, []), QueryTimeout, done.Token);
                first.TrySetResult(clock.Elapsed);
            }
            catch (Exception e) when (e is SwarmCommandException or OperationCanceledException)
            {
                // not this one
            }
        }

        while (!done.IsCancellationRequested && !first.Task.IsCompleted)
        {
            asks.AddRange(throughManagers.Select(m => WriteAsync(m, ++number)));
            await Task.WhenAny(first.Task, Task.Delay(PollInterval, done.Token));
        }

        await done.CancelAsync();
        await Task.WhenAll(asks);
        return first.Task.IsCompleted ? first.Task.Result : null;
    }

    private static async Task<ReplicaPoll> WaitForReplicaAsync(string stateDir, Func<ReplicaOnDisk, bool> condition, TimeSpan limit)
    {
        ReplicaOnDisk? replica = null;
        var met = await WaitForAsync(() => condition(replica = ReplicaOnDisk.Read(stateDir)), limit);
        return new ReplicaPoll(met, replica);
    }

    /// <summary>Until the condition holds, looking every <see cref="ReplicaPollInterval"/> (its looks read replicas on disk); false after <paramref name="limit"/>.</summary>
    private static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(ReplicaPollInterval);
        }

        return true;
    }

    private static async Task<IReadOnlyList<NodeObject>?> ListAsync(string socket) =>
        await new ControlClient(socket).RequestAsync(new ListNodes(NewId()), QueryTimeout) is NodeList list ? list.Nodes : null;

    private static async Task<ImmutableSortedDictionary<string, string>> LabelsAsync(string socket, string node) =>
        (await new ControlClient(socket).RequestAsync<NodeDetails>(new InspectNode(NewId(), node), TimeSpan.FromSeconds(10))).Node.Spec.Labels;

    private static ImmutableSortedDictionary<string, string> LabelsOf(ReplicaOnDisk? replica, string hostname) =>
        replica?.State.List<NodeObject>().FirstOrDefault(n => Host(n) == hostname)?.Spec.Labels ?? ImmutableSortedDictionary<string, string>.Empty;

    private static int Missing(IReadOnlyList<LabelWriter.Write> acknowledged, ImmutableSortedDictionary<string, string> labels) =>
        acknowledged.Count(w => !labels.TryGetValue(w.Key, out var value) || value != w.Value);

    private static void AssertHasAll(IReadOnlyList<LabelWriter.Write> acknowledged, ImmutableSortedDictionary<string, string> labels, string what)
    {
        var lost = acknowledged.Where(w => !labels.TryGetValue(w.Key, out var value) || value != w.Value).ToList();
        Assert.True(lost.Count == 0, $"{what} miss {lost.Count} of {acknowledged.Count} acknowledged writes: {Describe(lost)}");
    }

    /// <summary>Hostname -> state dir, as `lab ls` prints them, in lab order (m1.., then w1..).</summary>
    private static async Task<IReadOnlyDictionary<string, string>> StateDirsAsync(LabFixture lab) =>
        (await lab.NodesAsync()).ToDictionary(n => n.GetProperty("Name").GetString()!, n => n.GetProperty("StateDir").GetString()!);

    private static IReadOnlyList<string> Managers(IReadOnlyDictionary<string, string> dirs) =>
        [.. dirs.Keys.Where(n => n.StartsWith('m')).Order(StringComparer.Ordinal)];

    private static string Socket(IReadOnlyDictionary<string, string> dirs, string node) => Path.Combine(dirs[node], ControlClient.SocketFileName);

    private static string Host(NodeObject node) => node.Description.Hostname;

    private static bool AllReady(IReadOnlyList<NodeObject> nodes) => nodes.All(n => n.Status.State == NodeState.Ready);

    private static bool AllManagersVote(IReadOnlyList<NodeObject> nodes) =>
        nodes.Where(n => n.Role == NodeRole.Manager).All(n => n.ManagerStatus is { Leader: true } or { Reachability: Reachability.Reachable });

    private static bool OneLeader(IReadOnlyList<NodeObject> nodes) => nodes.Count(n => n.ManagerStatus is { Leader: true }) == 1;

    private static string? LeaderOf(IReadOnlyList<NodeObject> nodes) =>
        nodes.Where(n => n.ManagerStatus is { Leader: true }).Select(Host).SingleOrDefault();

    private static bool Reachable(IReadOnlyList<NodeObject> nodes, string hostname) =>
        nodes.Any(n => Host(n) == hostname && n.Status.State == NodeState.Ready && n.ManagerStatus is { Reachability: Reachability.Reachable });

    private static string Describe(NodeObject n) =>
        $"{Host(n)} {n.Status.State} {n.Role}{(n.ManagerStatus is { } m ? $" {(m.Leader ? "Leader" : m.Reachability.ToString())}" : string.Empty)}";

    private static string Describe(IEnumerable<LabelWriter.Write> writes)
    {
        var list = writes.ToList();
        return list.Count == 0
            ? "none"
            : string.Join("; ", list.Take(10).Select(w => $"{w.Key} at {Ms(w.Sent)}: {(w.Error.Length > 0 ? w.Error : "acknowledged")}")) + (list.Count > 10 ? $"; ... {list.Count - 10} more" : string.Empty);
    }

    private static string Ms(TimeSpan? t) => t is { } v && v != TimeSpan.MaxValue ? $"{v.TotalMilliseconds:0} ms" : "never";

    private static string NewId() => Guid.NewGuid().ToString("N");
}
