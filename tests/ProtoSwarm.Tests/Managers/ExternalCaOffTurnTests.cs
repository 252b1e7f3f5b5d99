using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// The leader's API while an external CA is slow to sign: a real HTTPS listener on 127.0.0.1 that signs as CFSSL does
/// (with the external root the swarm rotated to), but only once the test opens its gate. The signing happens outside
/// the actor's turn: other commands and queries are answered meanwhile, and its answer is decided on the store as it
/// is when the CA answers.
/// </summary>
public sealed class ExternalCaOffTurnTests : IAsyncLifetime
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(3);

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private readonly ClusterObject _cluster = TestNodes.SwarmCluster("cluster-1");
    private readonly RootCa _externalRoot = RootCa.Create(DateTimeOffset.UtcNow);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _signing;
    private int _mostAtOnce;
    private HttpsTestServer _ca = null!;
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    public async Task InitializeAsync()
    {
        _ca = await HttpsTestServer.StartAsync(HttpsTestServer.TlsCertificate(_externalRoot), (_, body) => SignWhenOpen(body));
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(_cluster),
            StoreChange.Create(TestNodes.Manager("leader0000", "mgr", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w-ready")),
        ]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        // A CA may take up to 20 s here, so only the gate decides when it answers.
        context = context with { ExternalCa = new CfsslSigner(() => null, TimeSpan.FromSeconds(20)) };
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
        Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true, _externalRoot.CertificatePem,
            ExternalCas: [new ExternalCa(ExternalCa.Cfssl, _ca.Url, _externalRoot.CertificatePem)])));
    }

    public async Task DisposeAsync()
    {
        _gate.TrySetResult();
        await _system.ShutdownAsync();
        await _ca.DisposeAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Commands_And_Queries_Are_Answered_While_An_External_Ca_Signs_And_Its_Certificate_Is_Then_Recorded()
    {
        var tokenBefore = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.WorkerJoinToken;
        var renewal = Ask(new RenewCertificate("r1", "worker1111", NodeKey.Generate().CreateCsr().ToPem()));
        await CaAskedAsync(1);

        // The manager is not waiting on the CA: a query and a command are answered while the CA has not answered.
        var nodes = Assert.IsType<NodeList>(await Ask(new ListNodes("q1"), Quick));
        var token = Assert.IsType<JoinTokenInfo>(await Ask(new GetJoinToken("t1", NodeRole.Worker, Rotate: true), Quick));
        // The node's resend of the same renewal waits for the same answer instead of asking the CA again.
        var resent = Ask(new RenewCertificate("r1", "worker1111", NodeKey.Generate().CreateCsr().ToPem()));
        await Task.Delay(200);
        Assert.False(renewal.IsCompleted);
        Assert.False(resent.IsCompleted);

        _gate.SetResult();
        var issued = Assert.IsType<CertificateIssued>(Unwrap(await renewal));

        Assert.Equal(2, nodes.Nodes.Length);
        Assert.NotEqual(tokenBefore, token.Token);
        Assert.Equal(issued, await resent);
        Assert.Single(_ca.Requests);
        Assert.Equal("worker1111", issued.SubjectId);
        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.Equal(SwarmCa.CurrentRootDigest(cluster), _store.Current.Get<NodeObject>("worker1111")!.CertRootDigest);
    }

    [Fact]
    public async Task A_Node_Removed_While_Its_Certificate_Is_Signed_Is_Refused_It()
    {
        var renewal = Ask(new RenewCertificate("r1", "worker1111", NodeKey.Generate().CreateCsr().ToPem()));
        await CaAskedAsync(1);

        Assert.IsType<RemoveNodeAck>(await Ask(new RemoveNode("rm", "worker1111", Force: true), Quick));
        _gate.SetResult();
        var refused = Assert.IsType<CommandRejected>(await renewal);

        Assert.Equal(RejectCode.PermissionDenied, refused.Code);
        Assert.Contains("Node worker1111 is not a member of this swarm", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Join_Signed_By_A_Slow_Ca_Stores_Its_Node_Once_The_Ca_Answers()
    {
        var token = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!.WorkerJoinToken; // the rotation gave new tokens
        var joining = Ask(new JoinRequest("j1", token, "10.0.0.42", TestNodes.Description("newbie"), NodeKey.Generate().CreateCsr().ToPem()));
        await CaAskedAsync(1);
        Assert.Equal(2, _store.Current.List<NodeObject>().Count());

        _gate.SetResult();
        var joined = Assert.IsType<JoinAccepted>(Unwrap(await joining));

        var node = _store.Current.Get<NodeObject>(joined.NodeId)!;
        Assert.Equal((NodeRole.Worker, "newbie"), (node.Role, node.Description.Hostname));
        Assert.Equal(SwarmCa.CurrentRootDigest(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!), node.CertRootDigest);
    }

    [Fact]
    public async Task At_Most_A_Few_Signings_Are_Asked_Of_The_Cas_At_Once()
    {
        var renewals = Enumerable.Range(0, ManagerApiActor.MaxExternalSignings + 3)
            .Select(i => Ask(new RenewCertificate($"r{i}", "worker1111", NodeKey.Generate().CreateCsr().ToPem())))
            .ToList();
        await CaAskedAsync(ManagerApiActor.MaxExternalSignings);
        await Task.Delay(500);
        Assert.Equal(ManagerApiActor.MaxExternalSignings, _ca.Requests.Count);

        _gate.SetResult();
        foreach (var renewal in renewals)
        {
            Assert.IsType<CertificateIssued>(Unwrap(await renewal));
        }

        Assert.Equal(renewals.Count, _ca.Requests.Count);
        Assert.Equal(ManagerApiActor.MaxExternalSignings, _mostAtOnce);
    }

    /// <summary>Answers as CFSSL's sign endpoint, signing with the external root, once the gate is open.</summary>
    private async Task<(int Status, string Body)> SignWhenOpen(string body)
    {
        var now = Interlocked.Increment(ref _signing);
        InterlockedMax(ref _mostAtOnce, now);
        try
        {
            await _gate.Task.WaitAsync(TimeSpan.FromSeconds(20));
            using var json = JsonDocument.Parse(body);
            var subject = json.RootElement.GetProperty("subject");
            var name = subject.GetProperty("names")[0];
            var role = name.GetProperty("OU").GetString() == "swarm-manager" ? NodeRole.Manager : NodeRole.Worker;
            var addresses = json.RootElement.GetProperty("hosts").EnumerateArray()
                .Select(h => IPAddress.TryParse(h.GetString(), out var ip) ? ip : null).OfType<IPAddress>().ToArray();
            var certificate = _externalRoot.Issue(NodeCsr.FromPem(json.RootElement.GetProperty("certificate_request").GetString()!),
                subject.GetProperty("CN").GetString()!, role, name.GetProperty("O").GetString()!, addresses, DateTimeOffset.UtcNow);
            return (200, JsonSerializer.Serialize(new { success = true, result = new { certificate = Pem.Write(certificate) }, errors = Array.Empty<object>(), messages = Array.Empty<object>() }));
        }
        finally
        {
            Interlocked.Decrement(ref _signing);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    /// <summary>Waits until the CA has been sent <paramref name="count"/> requests.</summary>
    private async Task CaAskedAsync(int count)
    {
        for (var waited = 0; _ca.Requests.Count < count; waited += 20)
        {
            Assert.True(waited < 10_000, $"the CA was sent {_ca.Requests.Count} requests, not {count}");
            await Task.Delay(20);
        }
    }

    private static object Unwrap(object answer) => answer is CommandRejected rejected ? rejected.Reason : answer;

    private Task<object> Ask(object message, TimeSpan? timeout = null) => _system.Root.RequestAsync<object>(_api, message, timeout ?? TimeSpan.FromSeconds(30));
}
