using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Managers;

/// <summary>The manager API actor in a real in-process actor system, over a store in a temp file.</summary>
public sealed class ManagerApiActorTests : IAsyncLifetime
{
    private static readonly ImmutableSortedDictionary<string, string> NoLabels = ImmutableSortedDictionary<string, string>.Empty;

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private readonly ClusterObject _cluster = TestNodes.SwarmCluster("cluster-1");
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;
    private System.Collections.Concurrent.ConcurrentQueue<object> _raftRequests = null!;
    private ManagerContext _context = null!;
    private readonly CapturedLogs _logs = new();

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(_cluster),
            StoreChange.Create(TestNodes.Manager("leader0000", "mgr", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w-ready")),
            StoreChange.Create(TestNodes.Worker("worker2222", "w-down", NodeState.Down)),
        ]);
        (_context, _raftRequests) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        _context = _context with { LoggerFactory = _logs.Factory };
        var context = _context;
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task List_Nodes_Answers_Every_Node_Sorted_By_Hostname()
    {
        var list = Assert.IsType<NodeList>(await Ask(new ListNodes("r1")));

        Assert.Equal(["mgr", "w-down", "w-ready"], list.Nodes.Select(n => n.Description.Hostname).ToArray());
    }

    [Fact]
    public async Task Promote_Writes_The_Node_As_A_Manager_And_Answers_It_As_Stored()
    {
        var before = DateTimeOffset.UtcNow;
        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new PromoteNode("r1", "w-ready")));

        var stored = _store.Current.Get<NodeObject>("worker1111")!;
        Assert.Equal(NodeRole.Manager, stored.Role);
        Assert.Equal(2UL, stored.Meta.Version);
        Assert.Equal(stored, ack.Node);
        Assert.NotEqual(0UL, stored.RaftId);
        // When its role changed, for any leader to give it time to restart its member (NodeLiveness.RoleChangedAgo).
        Assert.InRange(stored.RoleChangedAt!.Value, before, DateTimeOffset.UtcNow);
        Assert.Equal([new ProtoSwarm.Raft.ConfChange(ProtoSwarm.Raft.ConfChangeType.AddLearner, stored.RaftId, "worker1111")], _raftRequests.ToArray());
    }

    [Fact]
    public async Task Promote_Of_A_Missing_Node_Is_Rejected_Not_Found()
    {
        var rejected = Assert.IsType<CommandRejected>(await Ask(new PromoteNode("r1", "nope")));

        Assert.Equal(RejectCode.NotFound, rejected.Code);
    }

    [Fact]
    public async Task Demote_Of_The_Leader_Hands_Leadership_Over_And_Writes_Nothing_Yet()
    {
        await Ask(new PromoteNode("r1", "worker1111"));
        var promoted = _store.Current.Get<NodeObject>("worker1111")!;
        var view = _context.Raft;
        view.Update(view.RaftId, view.Term, [view.RaftId, promoted.RaftId], []); // it has caught up and votes
        var index = _store.Current.Index;

        var rejected = Assert.IsType<CommandRejected>(await Ask(new DemoteNode("r2", "leader0000")));

        Assert.Equal(RejectCode.Unavailable, rejected.Code);
        Assert.Equal(index, _store.Current.Index);
        var transfer = new ProtoSwarm.Actors.Raft.TransferLeadershipTo(promoted.RaftId);
        for (var i = 0; i < 100 && !_raftRequests.Contains(transfer); i++)
        {
            await Task.Delay(20); // sent one-way to the Raft peer, so it may land just after the reply
        }

        Assert.Contains(transfer, _raftRequests);
    }

    [Fact]
    public async Task Demote_Of_A_Follower_Removes_It_From_Raft_Then_Makes_It_A_Worker()
    {
        await Ask(new PromoteNode("r1", "worker1111"));
        var promoted = _store.Current.Get<NodeObject>("worker1111")!;
        var raftId = promoted.RaftId;

        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new DemoteNode("r2", "worker1111")));

        Assert.Equal((NodeRole.Worker, 0UL), (ack.Node.Role, ack.Node.RaftId));
        Assert.True(ack.Node.RoleChangedAt > promoted.RoleChangedAt, "the demotion is stamped with its own time");
        Assert.Equal(ack.Node.RoleChangedAt, _store.Current.Get<NodeObject>("worker1111")!.RoleChangedAt);
        Assert.Contains(new ProtoSwarm.Raft.ConfChange(ProtoSwarm.Raft.ConfChangeType.RemoveVoter, raftId, "worker1111"), _raftRequests);
    }

    [Fact]
    public async Task A_Manager_Demoted_On_Its_Way_Out_Is_Down_At_Once_Not_Ready_For_A_Role_Change_Grace()
    {
        await Ask(new PromoteNode("r1", "worker1111"));

        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new DemoteNode("r2", "worker1111", Leaving: true)));

        var stored = _store.Current.Get<NodeObject>("worker1111")!;
        Assert.Equal(stored, ack.Node);
        Assert.Equal((NodeRole.Worker, NodeState.Down, NodeLiveness.LeftSwarm), (stored.Role, stored.Status.State, stored.Status.Message));
        Assert.Null(stored.ManagerStatus);
    }

    [Fact]
    public async Task Update_Writes_Availability_And_Labels()
    {
        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new UpdateNode("r1", "worker1", NodeAvailability.Drain, NoLabels.Add("zone", "east"), [])));

        var stored = _store.Current.Get<NodeObject>("worker1111")!;
        Assert.Equal(NodeAvailability.Drain, stored.Spec.Availability);
        Assert.Equal("east", stored.Spec.Labels["zone"]);
        Assert.Equal(stored, ack.Node);
        Assert.Null(stored.RoleChangedAt); // not a role change
    }

    [Fact]
    public async Task Update_Role_Manager_Promotes_As_Node_Promote_Does_And_Applies_The_Other_Changes()
    {
        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new UpdateNode("r1", "w-ready", NodeAvailability.Pause, NoLabels, [], NodeRole.Manager)));

        var stored = _store.Current.Get<NodeObject>("worker1111")!;
        Assert.Equal((NodeRole.Manager, NodeAvailability.Pause), (stored.Role, stored.Spec.Availability));
        Assert.NotEqual(0UL, stored.RaftId);
        Assert.NotNull(stored.RoleChangedAt);
        Assert.Equal(stored, ack.Node);
        Assert.Equal([new ProtoSwarm.Raft.ConfChange(ProtoSwarm.Raft.ConfChangeType.AddLearner, stored.RaftId, "worker1111")], _raftRequests.ToArray());
        Assert.Contains("Node worker1111 promoted to a manager in the swarm.", _logs.Lines);
    }

    [Fact]
    public async Task Update_Role_Worker_Demotes_As_Node_Demote_Does_And_Of_A_Worker_Changes_Nothing()
    {
        await Ask(new PromoteNode("r1", "w-ready"));
        var raftId = _store.Current.Get<NodeObject>("worker1111")!.RaftId;

        var ack = Assert.IsType<NodeUpdateAck>(await Ask(new UpdateNode("r2", "w-ready", null, NoLabels, [], NodeRole.Worker)));
        var index = _store.Current.Index;
        var again = Assert.IsType<NodeUpdateAck>(await Ask(new UpdateNode("r3", "w-ready", null, NoLabels, [], NodeRole.Worker)));

        Assert.Equal((NodeRole.Worker, 0UL), (ack.Node.Role, ack.Node.RaftId));
        Assert.Contains(new ProtoSwarm.Raft.ConfChange(ProtoSwarm.Raft.ConfChangeType.RemoveVoter, raftId, "worker1111"), _raftRequests);
        Assert.Equal(NodeRole.Worker, again.Node.Role);
        Assert.Equal(index, _store.Current.Index);
    }

    [Fact]
    public async Task Update_Role_Worker_That_Would_Lose_Quorum_Is_Refused_With_The_Reason_And_Changes_Nothing()
    {
        // Three managers, one of them Down: demoting a Ready one would leave two, only one reachable.
        await Ask(new PromoteNode("r1", "w-ready"));
        await Ask(new PromoteNode("r2", "w-down"));
        var index = _store.Current.Index;

        var rejected = Assert.IsType<CommandRejected>(await Ask(new UpdateNode("r3", "w-ready", NodeAvailability.Drain, NoLabels, [], NodeRole.Worker)));

        Assert.Equal(RejectCode.Conflict, rejected.Code);
        Assert.Contains("Demoting worker1111 would lose quorum: 2 managers would remain, of which 1 is reachable, and 2 are needed.", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(index, _store.Current.Index);
        Assert.Equal((NodeRole.Manager, NodeAvailability.Active), (_store.Current.Get<NodeObject>("worker1111")!.Role, _store.Current.Get<NodeObject>("worker1111")!.Spec.Availability));
    }

    [Fact]
    public async Task Update_Role_With_A_Missing_Label_To_Remove_Is_Refused_Before_The_Role_Changes()
    {
        var index = _store.Current.Index;

        var rejected = Assert.IsType<CommandRejected>(await Ask(new UpdateNode("r1", "w-ready", null, NoLabels, ["gpu"], NodeRole.Manager)));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
        Assert.Equal(index, _store.Current.Index);
        Assert.Empty(_raftRequests);
    }

    [Fact]
    public async Task Update_Logs_The_Node_Its_Hostname_And_What_Changed()
    {
        await Ask(new UpdateNode("r1", "w-ready", NodeAvailability.Drain, NoLabels.Add("zone", "east").Add("ssd", ""), []));
        await Ask(new UpdateNode("r2", "w-ready", null, NoLabels, ["zone"]));

        Assert.Contains("Node worker1111 (w-ready) updated: availability drain, labels +ssd= +zone=east", _logs.Lines);
        Assert.Contains("Node worker1111 (w-ready) updated: labels -zone", _logs.Lines);
    }

    [Fact]
    public async Task Promote_And_Demote_Log_Their_Sentence_Once()
    {
        await Ask(new PromoteNode("r1", "w-ready"));
        await Ask(new DemoteNode("r2", "w-ready"));

        Assert.Contains("Node worker1111 promoted to a manager in the swarm.", _logs.Lines);
        Assert.Contains("Manager worker1111 demoted in the swarm.", _logs.Lines);
        Assert.DoesNotContain(_logs.Lines, l => l.StartsWith("Node worker1111: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Update_Removing_A_Missing_Label_Is_Rejected_And_Nothing_Written()
    {
        var index = _store.Current.Index;

        var rejected = Assert.IsType<CommandRejected>(await Ask(new UpdateNode("r1", "w-ready", null, NoLabels, ["gpu"])));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
        Assert.Equal(index, _store.Current.Index);
    }

    [Theory]
    [InlineData("a ready worker without force", "w-ready", false, null)]
    [InlineData("a manager", "mgr", true, null)]
    [InlineData("a ready worker with force", "w-ready", true, "worker1111")]
    [InlineData("a down worker", "w-down", false, "worker2222")]
    public async Task Remove(string rule, string nodeRef, bool force, string? removedId)
    {
        var reply = await Ask(new RemoveNode("r1", nodeRef, force));

        if (removedId is null)
        {
            Assert.True(reply is CommandRejected { Code: RejectCode.Conflict }, $"{rule}: got {reply}");
            Assert.Equal(3, _store.Current.List<NodeObject>().Count());
        }
        else
        {
            Assert.Equal(new RemoveNodeAck(removedId), reply);
            Assert.Null(_store.Current.Get<NodeObject>(removedId));
        }
    }

    [Theory]
    [InlineData(NodeRole.Worker)]
    [InlineData(NodeRole.Manager)]
    public async Task Join_With_A_Valid_Token_Creates_The_Node_In_The_Tokens_Role(NodeRole role)
    {
        var token = Assert.IsType<JoinTokenInfo>(await Ask(new GetJoinToken("t1", role)));

        var accepted = Assert.IsType<JoinAccepted>(await Ask(new JoinRequest("j1", token.Token, "10.0.0.42", TestNodes.Description("newbie"), NewCsr())));

        Assert.Equal((role, "cluster-1"), (accepted.Role, accepted.ClusterId));
        Assert.Contains(accepted.Managers, m => m is { NodeId: "leader0000", Leader: true });
        var node = _store.Current.Get<NodeObject>(accepted.NodeId)!;
        Assert.Equal(("newbie", "10.0.0.42", role, NodeState.Unknown), (node.Description.Hostname, node.Status.Addr, node.Role, node.Status.State));
        Assert.Equal("10.0.1.1:2377", token.ManagerAddr);
        Assert.Equal(role == NodeRole.Manager, accepted.RaftId != 0);
        Assert.Equal(node.RaftId, accepted.RaftId);
        AssertIssuedTo(accepted.CertificatePem, accepted.NodeId, role);
        Assert.Equal(_cluster.RootCaPem, accepted.RootCaPem);
        Assert.Equal(new DateTimeOffset(Pem.ReadCertificate(accepted.CertificatePem).NotAfter, TimeSpan.Zero), node.CertNotAfter);
    }

    [Fact]
    public async Task Join_With_A_Bad_Csr_Is_Refused_And_Creates_Nothing()
    {
        var rejected = Assert.IsType<CommandRejected>(await Ask(new JoinRequest("j-bad", _cluster.WorkerJoinToken, "10.0.0.42", TestNodes.Description("x"), "not a csr")));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
        Assert.Contains("certificate request", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(3, _store.Current.List<NodeObject>().Count());
    }

    [Fact]
    public async Task A_Renewed_Certificate_Takes_The_Role_From_The_Store_Not_From_The_Caller()
    {
        await Ask(new PromoteNode("p1", "w-ready"));

        var issued = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));

        AssertIssuedTo(issued.CertificatePem, "worker1111", NodeRole.Manager);
    }

    [Fact]
    public async Task A_Removed_Node_Gets_No_Certificate_And_Is_Listed_As_Removed()
    {
        await Ask(new RemoveNode("rm1", "w-down", Force: false));

        var refused = Assert.IsType<CommandRejected>(await Ask(new RenewCertificate("r1", "worker2222", NewCsr())));

        Assert.Equal(RejectCode.PermissionDenied, refused.Code);
        Assert.Contains("worker2222", _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RemovedNodes);
    }

    [Fact]
    public async Task A_Node_Removed_After_A_Renewal_Stays_Denied_Until_Its_Certificate_Expires()
    {
        var issued = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        var notAfter = new DateTimeOffset(Pem.ReadCertificate(issued.CertificatePem).NotAfter, TimeSpan.Zero);
        var renewed = _store.Current.Get<NodeObject>("worker1111")!;

        await Ask(new RemoveNode("rm1", "w-down", Force: false));
        await Ask(new RemoveNode("rm2", "w-ready", Force: true));

        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal(notAfter, renewed.CertNotAfter);
        Assert.Equal<string>(["worker2222", "worker1111"], cluster.RemovedNodes);
        // worker2222's certificate was issued before nodes kept its expiry: it is denied for the longest lifetime.
        Assert.Equal(notAfter, cluster.RemovedNodeExpiries.Single(e => e.NodeId == "worker1111").CertExpiresAt);
        var unknown = cluster.RemovedNodeExpiries.Single(e => e.NodeId == "worker2222").CertExpiresAt - DateTimeOffset.UtcNow;
        Assert.InRange(unknown, ClusterObject.DefaultNodeCertExpiry - TimeSpan.FromMinutes(1), ClusterObject.DefaultNodeCertExpiry);
    }

    [Theory]
    [InlineData(NodeRole.Worker)]
    [InlineData(NodeRole.Manager)]
    public async Task Rotating_A_Token_Retires_The_Old_One_Only(NodeRole role)
    {
        var before = _cluster;

        var rotated = Assert.IsType<JoinTokenInfo>(await Ask(new GetJoinToken("rot1", role, Rotate: true)));

        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        var (old, kept) = role == NodeRole.Worker ? (before.WorkerJoinToken, before.ManagerJoinToken) : (before.ManagerJoinToken, before.WorkerJoinToken);
        Assert.NotEqual(old, rotated.Token);
        Assert.Null(JoinTokens.RoleFor(old, after));
        Assert.Equal(role, JoinTokens.RoleFor(rotated.Token, after));
        Assert.NotNull(JoinTokens.RoleFor(kept, after));
        var refused = Assert.IsType<CommandRejected>(await Ask(new JoinRequest("j-old", old, "10.0.0.42", TestNodes.Description("late"), NewCsr())));
        Assert.Equal(RejectCode.InvalidToken, refused.Code);
    }

    [Fact]
    public async Task A_Client_Certificate_Names_A_Client_Of_This_Swarm()
    {
        var issued = Assert.IsType<CertificateIssued>(await Ask(new IssueClientCertificate("c1", NewCsr(), "ci")));

        using var certificate = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.True(SwarmPeer.TryParse(certificate.SubjectName, out var peer, out _));
        Assert.True(peer!.IsClient);
        Assert.Equal("cluster-1", peer.ClusterId);
    }

    [Fact]
    public async Task Cert_Expiry_Is_Set_Swarm_Wide_And_A_Too_Short_One_Is_Refused()
    {
        var updated = Assert.IsType<SwarmUpdated>(await Ask(new UpdateSwarm("s1", (long)TimeSpan.FromDays(30).TotalSeconds)));
        var refused = Assert.IsType<CommandRejected>(await Ask(new UpdateSwarm("s2", 60)));

        Assert.Equal(TimeSpan.FromDays(30).TotalSeconds, updated.CertExpirySeconds);
        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.StartsWith("--cert-expiry 1m0s is too short", refused.Reason, StringComparison.Ordinal);
        var issued = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        using var certificate = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.InRange(certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30.1));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(12)]
    public async Task The_Task_History_Limit_Is_Stored_In_The_Cluster_And_Shown_By_The_Summary(long limit)
    {
        var before = Assert.IsType<SwarmSummary>(await Ask(new GetSwarmSummary("s0")));

        Assert.IsType<SwarmUpdated>(await Ask(new UpdateSwarm("h1", null, TaskHistoryLimit: limit)));

        Assert.Equal(5, before.TaskHistoryRetentionLimit);
        Assert.Equal(limit, _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.TaskHistoryRetentionLimit);
        Assert.Equal(limit, Assert.IsType<SwarmSummary>(await Ask(new GetSwarmSummary("s1"))).TaskHistoryRetentionLimit);
    }

    [Theory]
    [InlineData(0, "--dispatcher-heartbeat 0s: give a period from 100ms to 10m")]
    [InlineData(360_000_000, "--dispatcher-heartbeat 100h0m0s: give a period from 100ms to 10m")]
    public async Task A_Heartbeat_Period_Out_Of_Range_Is_Refused_Naming_It_As_A_Duration(long periodMs, string reason)
    {
        var refused = Assert.IsType<CommandRejected>(await Ask(new UpdateSwarm("h1", null, DispatcherHeartbeatMs: periodMs)));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.StartsWith(reason, refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Ca_Rotation_Trusts_Both_Roots_Until_Every_Node_Has_Renewed_And_Changes_The_Tokens()
    {
        var oldRoot = X509Conversions.ToX509Certificate2(Pem.ReadCertificate(_cluster.RootCaPem));

        var started = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true)));

        Assert.True(started.RotationInProgress);
        var during = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal(2, Pem.ReadCertificates(during.TrustedRootsPem).Count);
        Assert.Null(JoinTokens.RoleFor(_cluster.WorkerJoinToken, during));

        // A node that still trusts only the old root accepts a certificate from the new one through the cross-signed root.
        var renewed = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        using var fromNewRoot = X509Certificate2.CreateFromPem(renewed.CertificatePem);
        var oldOnly = new SwarmCertificateValidator([oldRoot], "cluster-1", intermediates: [X509Certificate2.CreateFromPem(renewed.IntermediatesPem)]);
        Assert.True(oldOnly.Validate(fromNewRoot, PeerUsage.Client).IsAccepted);
        Assert.False(new SwarmCertificateValidator([oldRoot], "cluster-1").Validate(fromNewRoot, PeerUsage.Client).IsAccepted);

        await Ask(new RenewCertificate("r2", "worker2222", NewCsr()));
        Assert.True(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RootRotationInProgress);
        await Ask(new RenewCertificate("r3", "leader0000", NewCsr()));

        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.False(after.RootRotationInProgress);
        Assert.Single(Pem.ReadCertificates(after.TrustedRootsPem));
        var status = Assert.IsType<CaStatus>(await Ask(new RotateCa("st", Rotate: false)));
        Assert.Equal((false, 3, 3), (status.RotationInProgress, status.NodesRenewed, status.Nodes));
    }

    [Fact]
    public async Task Rotating_Again_Before_The_Rotation_Finishes_Replaces_It_And_The_Swarm_Converges_To_The_Newest_Root()
    {
        var oldRoot = X509Conversions.ToX509Certificate2(Pem.ReadCertificate(_cluster.RootCaPem));
        await Ask(new RotateCa("rot", Rotate: true));
        var first = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        var onFirst = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        Assert.Equal(1, Assert.IsType<CaStatus>(await Ask(new RotateCa("st", Rotate: false))).NodesRenewed);

        var replaced = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot2", Rotate: true)));

        // Progress restarts toward the newest root: the node that renewed to the abandoned one counts no more.
        Assert.Equal((true, 0, 3), (replaced.RotationInProgress, replaced.NodesRenewed, replaced.Nodes));
        var second = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.NotEqual(first.RootCaPem, second.RootCaPem);
        Assert.Equal(second.RootCaPem, replaced.RootCaPem);
        Assert.Equal(_cluster.RootCaPem, second.PreviousRootCaPem);
        Assert.Null(JoinTokens.RoleFor(first.WorkerJoinToken, second));
        Assert.Contains(_logs.Lines, l => l.StartsWith("Root CA rotation replaced before it finished", StringComparison.Ordinal));

        // The node on the abandoned root is not cut off (clients present their certificate alone), and renews.
        using var fromFirst = X509Certificate2.CreateFromPem(onFirst.CertificatePem);
        var during = new SwarmCertificateValidator(X509Conversions.ReadCertificates(second.TrustedRootsPem), "cluster-1");
        Assert.True(during.Validate(fromFirst, PeerUsage.Client).IsAccepted);
        var renewed = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r2", "worker1111", NewCsr())));
        using var fromSecond = X509Certificate2.CreateFromPem(renewed.CertificatePem);
        var oldOnly = new SwarmCertificateValidator([oldRoot], "cluster-1", intermediates: X509Conversions.ReadCertificates(renewed.IntermediatesPem));
        Assert.True(oldOnly.Validate(fromSecond, PeerUsage.Client).IsAccepted);

        await Ask(new RenewCertificate("r3", "worker2222", NewCsr()));
        Assert.True(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RootRotationInProgress);
        await Ask(new RenewCertificate("r4", "leader0000", NewCsr()));

        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.False(after.RootRotationInProgress);
        Assert.Equal(second.RootCaPem, after.TrustedRootsPem);
        Assert.False(new SwarmCertificateValidator(X509Conversions.ReadCertificates(after.TrustedRootsPem), "cluster-1").Validate(fromFirst, PeerUsage.Client).IsAccepted);
        var status = Assert.IsType<CaStatus>(await Ask(new RotateCa("st2", Rotate: false)));
        Assert.Equal((false, 3, 3), (status.RotationInProgress, status.NodesRenewed, status.Nodes));
    }

    [Fact]
    public async Task Rotating_To_The_Active_Root_During_A_Rotation_Cancels_It_And_The_Nodes_Renew_Back()
    {
        await Ask(new RenewCertificate("r0", "leader0000", NewCsr()));
        await Ask(new RenewCertificate("r00", "worker2222", NewCsr()));
        await Ask(new RotateCa("rot", Rotate: true));
        var abandoned = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        var onAbandoned = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));

        var cancelled = Assert.IsType<CaStatus>(await Ask(new RotateCa("back", Rotate: true, _cluster.RootCaPem, _cluster.RootCaKeyPem)));

        Assert.Equal((_cluster.RootCaPem, true, 2, 3), (cancelled.RootCaPem, cancelled.RotationInProgress, cancelled.NodesRenewed, cancelled.Nodes));
        var during = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal(_cluster.RootCaPem + abandoned.RootCaPem, during.TrustedRootsPem);
        using var fromAbandoned = X509Certificate2.CreateFromPem(onAbandoned.CertificatePem);
        Assert.True(new SwarmCertificateValidator(X509Conversions.ReadCertificates(during.TrustedRootsPem), "cluster-1").Validate(fromAbandoned, PeerUsage.Client).IsAccepted);
        Assert.Contains(_logs.Lines, l => l.StartsWith("Root CA rotation cancelled", StringComparison.Ordinal));

        AssertIssuedTo(Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r2", "worker1111", NewCsr()))).CertificatePem, "worker1111", NodeRole.Worker);

        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.False(after.RootRotationInProgress);
        Assert.Equal(_cluster.RootCaPem, after.TrustedRootsPem);
    }

    [Fact]
    public async Task A_Rotation_With_A_Cert_Expiry_Sets_It_In_The_Same_Write_And_A_Too_Short_One_Rotates_Nothing()
    {
        var refused = Assert.IsType<CommandRejected>(await Ask(new RotateCa("rot0", Rotate: true, CertExpirySeconds: 60)));
        Assert.Equal(_cluster.RootCaPem, _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RootCaPem);

        var started = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true, CertExpirySeconds: (long)TimeSpan.FromDays(30).TotalSeconds)));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.StartsWith("--cert-expiry 1m0s is too short", refused.Reason, StringComparison.Ordinal);
        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.True(started.RotationInProgress);
        Assert.Equal(TimeSpan.FromDays(30), after.NodeCertExpiry);
        var issued = Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        using var certificate = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.InRange(certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30.1));
    }

    [Fact]
    public async Task External_Cas_Set_By_Update_Are_Kept_And_Shown_By_The_Summary_While_The_Swarms_Own_Key_Signs()
    {
        var updated = Assert.IsType<SwarmUpdated>(await Ask(new UpdateSwarm("u1", null, ExternalCas: [new ExternalCa(ExternalCa.Cfssl, "https://ca.example:8888")])));
        var summary = Assert.IsType<SwarmSummary>(await Ask(new GetSwarmSummary("s1")));

        Assert.Equal("cluster-1", updated.ClusterId);
        Assert.Equal([new ExternalCa(ExternalCa.Cfssl, "https://ca.example:8888")], _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.ExternalCas.ToArray());
        Assert.Equal(["cfssl: https://ca.example:8888"], summary.Security!.ExternalCas.Select(c => c.ToString()).ToArray());
        // The swarm holds its root's key: it signs itself, as before.
        Assert.IsType<CertificateIssued>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
    }

    [Theory]
    [InlineData("acme", "https://ca.example:8888", "unrecognized external CA protocol 'acme'")]
    [InlineData("cfssl", "http://ca.example:8888", "give the CFSSL server's https URL")]
    [InlineData("cfssl", "ca.example:8888", "give the CFSSL server's https URL")]
    public async Task An_External_Ca_The_Managers_Cannot_Use_Is_Refused(string protocol, string url, string why)
    {
        var refused = Assert.IsType<CommandRejected>(await Ask(new UpdateSwarm("u1", null, ExternalCas: [new ExternalCa(protocol, url)])));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.Contains(why, refused.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.ExternalCas);
    }

    [Fact]
    public async Task Rotating_To_A_Root_Without_Its_Key_Needs_An_External_Ca_That_Signs_With_It()
    {
        var given = RootCa.Create(DateTimeOffset.UtcNow);
        var other = RootCa.Create(DateTimeOffset.UtcNow);

        var noCa = Assert.IsType<CommandRejected>(await Ask(new RotateCa("rot1", Rotate: true, given.CertificatePem)));
        var otherRoot = Assert.IsType<CommandRejected>(await Ask(new RotateCa("rot2", Rotate: true, given.CertificatePem,
            ExternalCas: [new ExternalCa(ExternalCa.Cfssl, "https://ca.example:8888", other.CertificatePem)])));
        var started = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot3", Rotate: true, given.CertificatePem,
            ExternalCas: [new ExternalCa(ExternalCa.Cfssl, "https://127.0.0.1:1", given.CertificatePem)])));

        Assert.Equal(RejectCode.InvalidArgument, noCa.Code);
        Assert.Contains("or an external CA that signs with it, and none of the swarm's external CAs does", noCa.Reason, StringComparison.Ordinal);
        Assert.Equal(RejectCode.InvalidArgument, otherRoot.Code);
        Assert.True(started.RotationInProgress);
        var during = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal((given.CertificatePem, string.Empty, _cluster.RootCaPem), (during.RootCaPem, during.RootCaKeyPem, during.PreviousRootCaPem));
        // The active root cross-signed it, as with a root given with its key.
        Assert.True(X509Certificate2.CreateFromPem(during.CrossSignedRootPem).PublicKey.EncodedKeyValue.RawData.SequenceEqual(X509Certificate2.CreateFromPem(given.CertificatePem).PublicKey.EncodedKeyValue.RawData));
        // No external CA answers (and this test manager has no client): the node is told why, and nothing is issued.
        var unsigned = Assert.IsType<CommandRejected>(await Ask(new RenewCertificate("r1", "worker1111", NewCsr())));
        Assert.Equal(RejectCode.Unavailable, unsigned.Code);
        Assert.StartsWith("No certificate was issued: the swarm's external CA did not sign it", unsigned.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotating_Away_From_A_Root_Whose_Key_Is_Not_In_The_Swarm_Is_Refused_Saying_Why()
    {
        var external = RootCa.Create(DateTimeOffset.UtcNow);
        await Ask(new RotateCa("rot1", Rotate: true, external.CertificatePem, ExternalCas: [new ExternalCa(ExternalCa.Cfssl, "https://127.0.0.1:1", external.CertificatePem)]));
        var cluster = SwarmCa.FinishRotation(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!);
        await _proposer.ProposeAsync([StoreChange.Update(cluster)]);

        var refused = Assert.IsType<CommandRejected>(await Ask(new RotateCa("rot2", Rotate: true)));

        Assert.Equal(RejectCode.Conflict, refused.Code);
        Assert.Contains("the swarm's root CA key is not in the swarm", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotating_To_A_Given_Root_Moves_To_It_And_Asking_For_It_Again_Changes_Nothing()
    {
        var given = RootCa.Create(DateTimeOffset.UtcNow);

        var started = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true, given.CertificatePem, given.ExportPrivateKeyPem())));
        var during = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        var again = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot2", Rotate: true, given.CertificatePem, given.ExportPrivateKeyPem())));

        Assert.Equal((given.CertificatePem, true), (started.RootCaPem, started.RotationInProgress));
        Assert.Equal((given.CertificatePem, given.ExportPrivateKeyPem(), _cluster.RootCaPem), (during.RootCaPem, during.RootCaKeyPem, during.PreviousRootCaPem));
        Assert.Equal(given.CertificatePem, again.RootCaPem);
        Assert.Same(during, _store.Current.Get<ClusterObject>(ClusterObject.DefaultId));
    }

    [Fact]
    public async Task A_Rotation_Asked_By_A_Cli_Of_An_Earlier_Version_Makes_A_New_Root()
    {
        // As an earlier CLI sends it: keys 0..1.
        var old = MessagePack.MessagePackSerializer.Deserialize<RotateCa>(OldShapes.FirstElements(MessagePack.MessagePackSerializer.Serialize(new RotateCa("rot", true, "x", "y")), 2));

        var started = Assert.IsType<CaStatus>(await Ask(old));

        Assert.Equal((string.Empty, string.Empty), (old.CaCertPem, old.CaKeyPem));
        Assert.True(started.RotationInProgress);
        Assert.NotEqual(_cluster.RootCaPem, started.RootCaPem);
    }

    public static TheoryData<string, string, string> UnusableRoots()
    {
        var now = DateTimeOffset.UtcNow;
        var good = RootCa.Create(now);
        var other = RootCa.Create(now);
        var shortLived = RootCa.Create(now, TimeSpan.FromDays(200));
        var leafKey = NodeKey.Generate();
        var leaf = SwarmCa.IssueNode(TestNodes.SwarmCluster(), leafKey.CreateCsr().ToPem(), "n1", NodeRole.Worker, "10.0.0.1", now).CertificatePem;
        return new()
        {
            { good.CertificatePem, string.Empty, "needs both its certificate (--ca-cert) and its private key (--ca-key)" },
            { good.CertificatePem, other.ExportPrivateKeyPem(), "the CA key does not belong to the CA certificate" },
            { good.CertificatePem + other.CertificatePem, good.ExportPrivateKeyPem(), "holds 2 certificates; give the root CA certificate alone" },
            { leaf, leafKey.ExportPrivateKeyPem(), "is not a CA certificate" },
            { shortLived.CertificatePem, shortLived.ExportPrivateKeyPem(), "must be valid now and for at least a year more" },
            { "not a certificate", good.ExportPrivateKeyPem(), "holds no PEM certificate" },
            { good.CertificatePem, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "is not the certificate's EC private key in PEM (-----BEGIN PRIVATE KEY-----)" },
        };
    }

    [Theory]
    [MemberData(nameof(UnusableRoots))]
    public async Task A_Given_Root_That_Cannot_Be_A_Swarm_Root_Is_Refused_Saying_Why(string certificatePem, string keyPem, string why)
    {
        var refused = Assert.IsType<CommandRejected>(await Ask(new RotateCa("rot", Rotate: true, certificatePem, keyPem)));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.StartsWith("The root CA was not rotated: ", refused.Reason, StringComparison.Ordinal);
        Assert.Contains(why, refused.Reason, StringComparison.Ordinal);
        Assert.Equal(_cluster.RootCaPem, _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.TrustedRootsPem);
    }

    [Fact]
    public async Task Removing_The_Last_Node_On_The_Old_Root_Finishes_The_Rotation()
    {
        await Ask(new RotateCa("rot", Rotate: true));
        await Ask(new RenewCertificate("r1", "worker1111", NewCsr()));
        await Ask(new RenewCertificate("r2", "leader0000", NewCsr()));
        Assert.True(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RootRotationInProgress);

        Assert.IsType<RemoveNodeAck>(await Ask(new RemoveNode("rm", "w-down", Force: true)));

        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.False(after.RootRotationInProgress);
        Assert.Single(Pem.ReadCertificates(after.TrustedRootsPem));
        Assert.Equal(["worker2222"], after.RemovedNodes.ToArray());
        var status = Assert.IsType<CaStatus>(await Ask(new RotateCa("st", Rotate: false)));
        Assert.Equal((false, 2, 2), (status.RotationInProgress, status.NodesRenewed, status.Nodes));
    }

    [Fact]
    public async Task Removing_A_Node_While_Another_Lags_Keeps_The_Rotation_Going()
    {
        await Ask(new RotateCa("rot", Rotate: true));
        await Ask(new RenewCertificate("r1", "leader0000", NewCsr()));

        await Ask(new RemoveNode("rm", "w-down", Force: true));

        Assert.True(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.RootRotationInProgress);
    }

    [Fact]
    public async Task A_Join_Finishes_A_Rotation_Whose_Last_Lagging_Node_Went_Away_Before()
    {
        await Ask(new RotateCa("rot", Rotate: true));
        await Ask(new RenewCertificate("r1", "worker1111", NewCsr()));
        await Ask(new RenewCertificate("r2", "leader0000", NewCsr()));
        // As an earlier version left it: the lagging node deleted, the rotation still marked in progress.
        await _proposer.ProposeAsync([StoreChange.Delete(_store.Current.Get<NodeObject>("worker2222")!)]);
        var token = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.WorkerJoinToken;

        var accepted = Assert.IsType<JoinAccepted>(await Ask(new JoinRequest("j1", token, "10.0.0.42", TestNodes.Description("w-down"), NewCsr())));

        Assert.Equal(2, Pem.ReadCertificates(accepted.RootCaPem).Count);
        var after = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.False(after.RootRotationInProgress);
        Assert.Single(Pem.ReadCertificates(after.TrustedRootsPem));
    }

    [Fact]
    public async Task The_Heartbeat_Answer_Carries_The_Roots_To_Trust_And_The_Removed_Nodes_To_Every_Node()
    {
        await Ask(new RemoveNode("rm1", "w-down", Force: false));
        await Ask(new RotateCa("rot", Rotate: true));
        var dispatcher = _system.Root.Spawn(Props.FromProducer(() => new ProtoSwarm.Actors.Nodes.DispatcherActor(_context)));
        var heartbeat = new NodeHeartbeat("worker1111", "cluster-1", "10.0.1.2", new MemberInfo("m-w1", "10.0.1.2", 2377, []), TestNodes.Description("w-ready"), NodeRole.Worker);

        var ack = Assert.IsType<HeartbeatAck>(await _system.Root.RequestAsync<object>(dispatcher, heartbeat, TimeSpan.FromSeconds(10)));

        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal(cluster.TrustedRootsPem, ack.TrustedRootsPem);
        Assert.Equal(2, Pem.ReadCertificates(ack.TrustedRootsPem).Count);
        Assert.Equal(cluster.CrossSignedRootPem, ack.IntermediatesPem);
        Assert.Equal("worker2222", Assert.Single(ack.RemovedNodes));
    }

    [Fact]
    public async Task Node_Ls_Gets_The_Swarms_Tls_Info_To_Compare_Each_Nodes_With()
    {
        await Ask(new RotateCa("rot", Rotate: true));
        var during = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;

        var list = Assert.IsType<NodeList>(await Ask(new ListNodes("ls")));

        Assert.Equal(SwarmCa.ClusterTlsInfo(during), list.ClusterTlsInfo);
        Assert.Equal(2, Pem.ReadCertificates(list.ClusterTlsInfo!.TrustRoot).Count);
    }

    [Fact]
    public async Task Ca_Status_Counts_The_Nodes_That_Report_Trusting_The_Swarms_Roots()
    {
        var status = Assert.IsType<CaStatus>(await Ask(new RotateCa("st", Rotate: false)));
        Assert.Equal((0, SwarmCa.ClusterTlsInfo(_cluster).TrustRoot), (status.NodesTrustingRoot, status.TrustRoot));

        var node = _store.Current.Get<NodeObject>("worker1111")!;
        await _proposer.ProposeAsync([StoreChange.Update(node with { Description = node.Description with { TlsInfo = SwarmCa.ClusterTlsInfo(_cluster) } })]);

        Assert.Equal(1, Assert.IsType<CaStatus>(await Ask(new RotateCa("st2", Rotate: false))).NodesTrustingRoot);
    }

    private static string NewCsr() => NodeKey.Generate().CreateCsr().ToPem();

    private void AssertIssuedTo(string certificatePem, string nodeId, NodeRole role)
    {
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        Assert.True(SwarmPeer.TryParse(certificate.SubjectName, out var peer, out var error), error);
        Assert.Equal(new SwarmPeer(nodeId, role, "cluster-1"), peer);
        var validator = new SwarmCertificateValidator([X509Conversions.ToX509Certificate2(Pem.ReadCertificate(_cluster.RootCaPem))], "cluster-1");
        Assert.True(validator.Validate(certificate, PeerUsage.Client).IsAccepted);
    }

    [Theory]
    [InlineData("")]
    [InlineData("SWMTKN-1-wrong")]
    public async Task Join_With_An_Invalid_Token_Is_Rejected_And_Creates_Nothing(string token)
    {
        var rejected = Assert.IsType<CommandRejected>(await Ask(new JoinRequest("j1", token, "10.0.0.42", TestNodes.Description("intruder"))));

        Assert.Equal(RejectCode.InvalidToken, rejected.Code);
        Assert.Equal(3, _store.Current.List<NodeObject>().Count());
    }

    [Fact]
    public async Task Join_Without_An_Address_Is_Rejected()
    {
        var rejected = Assert.IsType<CommandRejected>(await Ask(new JoinRequest("j1", _cluster.WorkerJoinToken, " ", TestNodes.Description("x"), NewCsr())));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
    }

    [Fact]
    public async Task The_Same_Join_Request_Twice_Gets_The_Same_Answer_And_Creates_One_Node()
    {
        var join = new JoinRequest("j-once", _cluster.WorkerJoinToken, "10.0.0.42", TestNodes.Description("newbie"), NewCsr());

        var first = Assert.IsType<JoinAccepted>(await Ask(join));
        var second = Assert.IsType<JoinAccepted>(await Ask(join));

        Assert.Same(first, second);
        Assert.Single(_store.Current.List<NodeObject>(), n => n.Description.Hostname == "newbie");
    }

    [Fact]
    public async Task The_Same_Update_Twice_Is_Written_Once()
    {
        var update = new UpdateNode("u-once", "w-ready", NodeAvailability.Pause, NoLabels, []);

        await Ask(update);
        var index = _store.Current.Index;
        await Ask(update with { Availability = NodeAvailability.Drain });

        Assert.Equal(index, _store.Current.Index);
        Assert.Equal(NodeAvailability.Pause, _store.Current.Get<NodeObject>("worker1111")!.Spec.Availability);
    }

    [Fact]
    public async Task Summary_Counts_Managers_And_Nodes()
    {
        var summary = Assert.IsType<SwarmSummary>(await Ask(new GetSwarmSummary("s1")));

        Assert.Equal(("cluster-1", 1, 3), (summary.ClusterId, summary.Managers, summary.Nodes));
    }

    [Fact]
    public async Task A_Manager_Whose_Raft_Peer_Is_Silent_Is_Unreachable_Though_Its_Node_Beats()
    {
        // Both beat (Ready, Reachable in the store); only "raft-ok" answers the leader's Raft (the fake Raft
        // actor has heard from the view's voters).
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.Manager("raftok0000", "raft-ok")),
            StoreChange.Create(TestNodes.Manager("silent0000", "raft-silent")),
        ]);
        var self = _context.Raft.RaftId;
        _context.Raft.Update(self, 1, [self, TestNodes.RaftIdOf("raftok0000")], []);

        var list = Assert.IsType<NodeList>(await Ask(new ListNodes("r-reach")));
        var inspected = Assert.IsType<NodeDetails>(await Ask(new InspectNode("i-reach", "raft-silent")));

        Assert.Equal(Reachability.Reachable, list.Nodes.Single(n => n.Description.Hostname == "raft-ok").ManagerStatus!.Reachability);
        Assert.Equal(Reachability.Unreachable, list.Nodes.Single(n => n.Description.Hostname == "raft-silent").ManagerStatus!.Reachability);
        Assert.Equal(Reachability.Reachable, list.Nodes.Single(n => n.Description.Hostname == "mgr").ManagerStatus!.Reachability);
        Assert.Equal(Reachability.Unreachable, inspected.Node.ManagerStatus!.Reachability);
        Assert.Equal(Reachability.Reachable, _store.Current.Get<NodeObject>("silent0000")!.ManagerStatus!.Reachability);
    }

    [Fact]
    public void A_Relay_The_Leader_Never_Answered_Says_So_Without_An_Actor_Path_And_Warns_The_Change_May_Be_Made()
    {
        var gone = ManagerApiActor.RelayFailure("10.0.0.1:2377", new DeadLetterException(new PID("10.0.0.1:2377", "manager-api/$1")), TimeSpan.FromSeconds(30));
        var slow = ManagerApiActor.RelayFailure("10.0.0.1:2377", new TimeoutException("Request didn't receive any Response within the expected time."), TimeSpan.FromSeconds(30));

        Assert.StartsWith("The leader at 10.0.0.1:2377 did not answer (it stopped or stepped down", gone, StringComparison.Ordinal);
        Assert.DoesNotContain("manager-api", gone, StringComparison.Ordinal);
        Assert.Contains("may have been made all the same", gone, StringComparison.Ordinal);
        Assert.StartsWith("The leader at 10.0.0.1:2377 did not answer (no answer within 30 s)", slow, StringComparison.Ordinal);
        Assert.DoesNotContain("/agent", ManagerApiActor.Unreachable(new DeadLetterException(new PID("10.250.0.102:2377", "agent"))), StringComparison.Ordinal);
    }

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TestTimeout.Token);
}
