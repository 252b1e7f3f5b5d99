using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proto;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Nodes;

/// <summary>
/// A node actor judges a node by the silence it watched. The clock is a fake: advancing it by 2.5 s in one
/// step is a manager that did not run for 2.5 s (its cores taken by a burst of container starts, as a lab
/// node starting 100 containers showed), then takes the liveness check that came due meanwhile and, just
/// after it, the beat that waited behind the same stall. (That a node silent while the manager runs is still
/// Down after four beats is NodeLivenessTests' fold of checks on time, and LabSwarmTests' killed worker.)
/// </summary>
public sealed class NodeActorLivenessTests : IAsyncLifetime
{
    private const string NodeId = "w1";

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly FakeTimeProvider _clock = new(TestNodes.T0);
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _dispatcher = null!;

    // The member ids this manager's cluster has blocked, as Proto.Cluster's block list would say.
    private readonly HashSet<string> _blocked = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync([StoreChange.Create(TestNodes.Cluster()), StoreChange.Create(TestNodes.Worker(NodeId, NodeId))]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "m1");
        // The node's agent: a sink for the assignments the node actor sends it.
        var agent = _system.Root.Spawn(Props.FromFunc(_ => Task.CompletedTask));
        context = context with { Time = _clock, AgentOf = node => node.Id == NodeId ? agent : null, MemberBlocked = id => _blocked.Contains(id) };
        _dispatcher = _system.Root.Spawn(Props.FromProducer(() => new DispatcherActor(context)));

        // The first beat starts the node actor, as on a real leader.
        await BeatAsync("10.0.0.1");
        await Poll.Until(() => Node().Status is { State: NodeState.Ready, Addr: "10.0.0.1" }, "w1 is Ready at 10.0.0.1");
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_Managers_Own_Stall_Is_Not_Held_Against_The_Node()
    {
        var version = Node().Meta.Version;

        _clock.Advance(TimeSpan.FromMilliseconds(2_500));
        // Proto's scheduler sends the due check from a pool thread after the advance; give it time to land
        // before the beat, as it does after a real stall. (Were it late, the beat would simply come first: the
        // test could then miss a regression, never fail a correct build.)
        await Task.Delay(300);
        // The beat that waited behind the stall, from a new address so that taking it writes the node once:
        // once that write is seen, every check queued before it has been taken.
        await BeatAsync("10.0.0.9");
        await Poll.Until(() => Node().Status.Addr == "10.0.0.9", "the beat after the stall was taken");

        Assert.Equal(NodeState.Ready, Node().Status.State);
        Assert.True(Node().Meta.Version == version + 1,
            $"the node was written {Node().Meta.Version - version} times (a Down and a Ready), not once (the new address)");
    }

    [Fact]
    public async Task Shortening_The_Heartbeat_Period_Marks_No_Node_Down_Before_It_Was_Told()
    {
        await SetPeriodAsync(TimeSpan.FromSeconds(3));
        // A beat answered with 3 s: the node beats next 3 s later.
        await BeatAsync("10.0.0.2");
        await Poll.Until(() => Node().Status.Addr == "10.0.0.2", "the beat under 3 s was taken");
        var version = Node().Meta.Version;

        await SetPeriodAsync(TimeSpan.FromMilliseconds(500));
        await AdvanceAsync(TimeSpan.FromMilliseconds(2_900), TimeSpan.FromMilliseconds(100));

        Assert.Equal(NodeState.Ready, Node().Status.State);
        Assert.Equal(version, Node().Meta.Version);

        // Its next beat is answered with 500 ms: four of those without a beat, and it is Down.
        await BeatAsync("10.0.0.3");
        await Poll.Until(() => Node().Status.Addr == "10.0.0.3", "the beat under 500 ms was taken");
        await AdvanceAsync(TimeSpan.FromMilliseconds(2_500), TimeSpan.FromMilliseconds(100));
        await Poll.Until(() => Node().Status.State == NodeState.Down, "w1 is Down after four beats of the new period");
    }

    [Fact]
    public async Task A_Role_Change_Stored_Before_This_Actor_Started_Gives_The_Node_Time_To_Restart_Its_Member()
    {
        // As on a leader elected after the change: this actor never saw the node in its old role.
        var node = Node();
        await _proposer.ProposeAsync([StoreChange.Update(node with { RoleChangedAt = _clock.GetUtcNow() })]);
        var version = Node().Meta.Version;

        await AdvanceAsync(TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(500));

        Assert.Equal(NodeState.Ready, Node().Status.State);
        Assert.Equal(version, Node().Meta.Version);

        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));
        await Poll.Until(() => Node().Status.State == NodeState.Down, "w1 is Down once the grace has passed");
    }

    [Fact]
    public async Task A_Beat_From_A_Blocked_Member_Is_Refused_And_Only_The_Nodes_New_Member_Makes_It_Ready()
    {
        await AdvanceAsync(TimeSpan.FromMilliseconds(2_500), TimeSpan.FromMilliseconds(100));
        await Poll.Until(() => Node().Status.State == NodeState.Down, "w1 is Down after four silent beats");
        var old = Node().Member!;
        _blocked.Add(old.MemberId);

        // The old member, back: it is about to stop, so it must not make the node Ready (it would be Down again
        // while the node starts its new member, and its tasks replaced a second time).
        var refused = await RequestBeatAsync("10.0.0.1", old);
        Assert.True(refused is HeartbeatRejected { MemberBlocked: true, Removed: false }, $"the blocked member's beat was answered with {refused}");
        await Task.Delay(300);
        Assert.Equal(NodeState.Down, Node().Status.State);

        var renewed = old with { MemberId = "member-w1-new" };
        Assert.IsType<HeartbeatAck>(await RequestBeatAsync("10.0.0.1", renewed));
        await Poll.Until(() => Node().Status.State == NodeState.Ready && Node().Member?.MemberId == renewed.MemberId, "w1 is Ready with its new member");
    }

    [Fact]
    public async Task The_Tls_Info_A_Beat_Carries_Is_Stored_With_The_Node_And_Written_Again_Only_When_It_Changes()
    {
        var tls = new NodeTlsInfo("-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n", "c3ViamVjdA==", "a2V5");
        var node = Node();

        await BeatWithAsync(node.Description with { TlsInfo = tls });
        await Poll.Until(() => Node().Description.TlsInfo == tls, "w1's TLS info is stored");
        var version = Node().Meta.Version;
        await BeatWithAsync(node.Description with { TlsInfo = tls with { } });
        await BeatWithAsync(node.Description with { TlsInfo = tls with { CertIssuerPublicKey = "bmV3" } });
        await Poll.Until(() => Node().Description.TlsInfo?.CertIssuerPublicKey == "bmV3", "w1's renewed TLS info is stored");

        Assert.Equal(version + 1, Node().Meta.Version);
    }

    [Fact]
    public async Task Engine_Labels_A_Beat_Carries_Are_Stored_With_The_Node_And_Written_Again_Only_When_They_Change()
    {
        // A restarted node host with other --label flags beats with its new description; the same labels in a map of
        // their own (as every beat read off the wire has) are no change.
        var node = Node();
        static ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
            labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

        await BeatWithAsync(node.Description with { EngineLabels = Labels(("disk", "ssd")) });
        await Poll.Until(() => Node().Description.EngineLabels.GetValueOrDefault("disk") == "ssd", "w1's engine labels are stored");
        var version = Node().Meta.Version;
        await BeatWithAsync(node.Description with { EngineLabels = Labels(("disk", "ssd")) });
        await BeatWithAsync(node.Description with { EngineLabels = Labels(("disk", "hdd"), ("zone", "b")) });
        await Poll.Until(() => Node().Description.EngineLabels.GetValueOrDefault("disk") == "hdd", "w1's changed engine labels are stored");

        Assert.Equal(version + 1, Node().Meta.Version);
        Assert.Equal("b", Node().Description.EngineLabels["zone"]);
    }

    private async Task BeatWithAsync(NodeDescription description)
    {
        var node = Node();
        Assert.IsType<HeartbeatAck>(await _system.Root.RequestAsync<object>(_dispatcher,
            new NodeHeartbeat(NodeId, "cluster-a", node.Status.Addr, node.Member!, description, NodeRole.Worker), TimeSpan.FromSeconds(5)));
    }

    private NodeObject Node() => _store.Current.Get<NodeObject>(NodeId)!;

    private Task<object> RequestBeatAsync(string addr, MemberInfo member) =>
        _system.Root.RequestAsync<object>(_dispatcher,
            new NodeHeartbeat(NodeId, "cluster-a", addr, member, Node().Description, NodeRole.Worker), TimeSpan.FromSeconds(5));

    private async Task SetPeriodAsync(TimeSpan period)
    {
        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        await _proposer.ProposeAsync([StoreChange.Update(cluster with { DispatcherHeartbeatMs = (long)period.TotalMilliseconds })]);
    }

    /// <summary>Moves the clock on in steps, each taken by the node actor's liveness check before the next (a manager that runs on time).</summary>
    private async Task AdvanceAsync(TimeSpan total, TimeSpan step)
    {
        for (var advanced = TimeSpan.Zero; advanced < total; advanced += step)
        {
            _clock.Advance(step);
            await Task.Delay(25);
        }

        await Task.Delay(300);
    }

    private async Task BeatAsync(string addr)
    {
        var node = Node();
        var ack = await _system.Root.RequestAsync<object>(_dispatcher,
            new NodeHeartbeat(NodeId, "cluster-a", addr, node.Member!, node.Description, NodeRole.Worker), TimeSpan.FromSeconds(5));
        Assert.IsType<HeartbeatAck>(ack);
    }
}
