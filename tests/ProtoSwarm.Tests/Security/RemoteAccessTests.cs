using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Asn1.X509;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Pki;
using Xunit.Abstractions;

namespace ProtoSwarm.Tests.Security;

/// <summary>
/// A node's real Proto.Remote endpoint (<see cref="SwarmRemoteHost"/>: Kestrel, mutual TLS, the per-message role
/// check) on loopback, with stand-ins for the managers' actors that record what reaches them; callers hold a
/// manager's, a worker's, an operator's or a forged certificate.
/// </summary>
public sealed class RemoteAccessTests : IAsyncLifetime
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(3);

    private readonly ITestOutputHelper _output;
    private readonly TestPki _pki = new();
    private readonly ConcurrentBag<object> _reached = [];
    private readonly List<ActorSystem> _clients = [];
    private readonly List<(ActorSystem System, SwarmRemoteHost Host)> _nodes = [];
    private readonly List<string> _nodeAddresses = [];
    private ActorSystem _server = null!;
    private SwarmRemoteHost _host = null!;
    private SwarmCredentials _serverCredentials = null!;
    private string _address = null!;

    public RemoteAccessTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> ManagerApiTypes() =>
        [.. ContractRegistry.Types.Where(t => typeof(IManagerApiRequest).IsAssignableFrom(t)).Select(t => t.Name).Order(StringComparer.Ordinal)];

    public static TheoryData<string> ManagerPeerTypes() =>
        [.. ContractRegistry.Types.Where(t => typeof(IManagerPeerMessage).IsAssignableFrom(t)).Select(t => t.Name).Order(StringComparer.Ordinal)];

    public async Task InitializeAsync()
    {
        var port = TestPorts.FreeLoopback();
        _address = $"127.0.0.1:{port}";
        _serverCredentials = new SwarmCredentials(_pki.Node("manager-1", NodeRole.Manager), _pki.Validator());
        _server = new ActorSystem();
        foreach (var name in new[] { "manager-api", "raft", "dispatcher" })
        {
            _server.Root.SpawnNamed(Props.FromFunc(Record), name);
        }

        _host = await SwarmRemoteHost.StartAsync(
            _server,
            new IPEndPoint(IPAddress.Loopback, port),
            "127.0.0.1",
            _serverCredentials,
            new RemoteAccessPolicy(["manager-api", "raft", "dispatcher"]),
            ca: null,
            NullLoggerFactory.Instance);
        await _server.Remote().StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.Remote().ShutdownAsync(graceful: true);
            await client.ShutdownAsync();
        }

        foreach (var (system, host) in _nodes)
        {
            await system.Remote().ShutdownAsync(graceful: true);
            await host.DisposeAsync();
            await system.ShutdownAsync();
        }

        await _server.Remote().ShutdownAsync(graceful: true);
        await _host.DisposeAsync();
        await _server.ShutdownAsync();
    }

    [Theory]
    [MemberData(nameof(ManagerApiTypes))]
    public async Task A_Workers_Certificate_Is_Refused_Every_Managers_Api_Request(string type)
    {
        var client = await ClientAsync(_pki.Node("worker-1", NodeRole.Worker));

        var reply = await client.Root.RequestAsync<object>(new PID(_address, "manager-api"), Sample(type), Answer);

        var refused = Assert.IsType<CommandRejected>(reply);
        Assert.Equal(RejectCode.PermissionDenied, refused.Code);
        Assert.Contains(type, refused.Reason, StringComparison.Ordinal);
        Assert.Empty(_reached);
        Assert.Equal(1, _host.Policy.Refused.ByType.GetValueOrDefault(type));
        _output.WriteLine($"{type} from a worker: refused ({refused.Reason})");
    }

    [Theory]
    [MemberData(nameof(ManagerApiTypes))]
    public async Task A_Managers_And_An_Operators_Certificates_Reach_The_Managers_Api(string type)
    {
        var manager = await ClientAsync(_pki.Node("manager-2", NodeRole.Manager));
        var operatorClient = await ClientAsync(ClientCertificate("client-ops"));

        Assert.Equal(new NodeList([]), await manager.Root.RequestAsync<object>(new PID(_address, "manager-api"), Sample(type), Answer));
        Assert.Equal(new NodeList([]), await operatorClient.Root.RequestAsync<object>(new PID(_address, "manager-api"), Sample(type), Answer));
        Assert.Equal(2, _reached.Count);
    }

    [Theory]
    [MemberData(nameof(ManagerPeerTypes))]
    public async Task Only_A_Managers_Certificate_May_Send_What_Managers_Send_Each_Other(string type)
    {
        var worker = await ClientAsync(_pki.Node("worker-1", NodeRole.Worker));
        var operatorClient = await ClientAsync(ClientCertificate("client-ops"));
        var manager = await ClientAsync(_pki.Node("manager-2", NodeRole.Manager));

        var fromWorker = Assert.IsType<CommandRejected>(await worker.Root.RequestAsync<object>(new PID(_address, "raft"), Sample(type), Answer));
        var fromClient = Assert.IsType<CommandRejected>(await operatorClient.Root.RequestAsync<object>(new PID(_address, "raft"), Sample(type), Answer));
        Assert.Empty(_reached);
        Assert.Equal(new NodeList([]), await manager.Root.RequestAsync<object>(new PID(_address, "raft"), Sample(type), Answer));

        Assert.Equal((RejectCode.PermissionDenied, RejectCode.PermissionDenied), (fromWorker.Code, fromClient.Code));
        Assert.Single(_reached);
        _output.WriteLine($"{type}: refused from a worker and from a client certificate, delivered from a manager");
    }

    [Fact]
    public async Task A_Worker_Can_Heartbeat_But_Cannot_Stop_A_Managers_Actor()
    {
        var worker = await ClientAsync(_pki.Node("worker-1", NodeRole.Worker));
        var heartbeat = (NodeHeartbeat)Sample(nameof(NodeHeartbeat)) with { NodeId = "worker-1" };

        Assert.Equal(new NodeList([]), await worker.Root.RequestAsync<object>(new PID(_address, "dispatcher"), heartbeat, Answer));
        worker.Root.Send(new PID(_address, "dispatcher"), PoisonPill.Instance);
        worker.Root.Stop(new PID(_address, "dispatcher"));
        await Poll.Until(() => _host.Policy.Refused.Total >= 2, "the policy counts both refusals", Answer);

        // Still alive: it answers the next heartbeat.
        Assert.Equal(new NodeList([]), await worker.Root.RequestAsync<object>(new PID(_address, "dispatcher"), heartbeat, Answer));
        _output.WriteLine($"refused: {string.Join(", ", _host.Policy.Refused.ByType.Select(kv => $"{kv.Key} x{kv.Value}"))}");
    }

    public static TheoryData<string> NodeOwnTypes() =>
        [.. ContractRegistry.Types.Where(t => typeof(INodeOwnMessage).IsAssignableFrom(t)).Select(t => t.Name).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(NodeOwnTypes))]
    public async Task A_Worker_Cannot_Beat_Or_Report_For_Another_Node(string type)
    {
        var worker = await ClientAsync(_pki.Node("worker-2", NodeRole.Worker));
        var sample = Sample(type);
        var own = With(sample, "worker-2");
        var forged = With(sample, "worker-3");

        var refused = Assert.IsType<CommandRejected>(await worker.Root.RequestAsync<object>(new PID(_address, "dispatcher"), forged, Answer));
        Assert.Equal(RejectCode.PermissionDenied, refused.Code);
        Assert.Empty(_reached);
        Assert.Equal(1, _host.Policy.Refused.ByType.GetValueOrDefault(type));

        Assert.Equal(new NodeList([]), await worker.Root.RequestAsync<object>(new PID(_address, "dispatcher"), own, Answer));
        Assert.Equal("worker-2", ((INodeOwnMessage)Assert.Single(_reached)).NodeId);

        // A manager's certificate is trusted with the whole store: it is not held to its own id.
        var manager = await ClientAsync(_pki.Node("manager-2", NodeRole.Manager));
        Assert.Equal(new NodeList([]), await manager.Root.RequestAsync<object>(new PID(_address, "dispatcher"), forged, Answer));
        _output.WriteLine($"{type}: a worker naming another node refused, naming itself delivered");

        static object With(object message, string nodeId) => message switch
        {
            NodeHeartbeat m => m with { NodeId = nodeId },
            TaskStatusReport m => m with { NodeId = nodeId },
            TaskLogs m => m with { NodeId = nodeId },
            NodeTaskUsage m => m with { NodeId = nodeId },
            _ => throw new InvalidOperationException($"{message.GetType().Name} implements INodeOwnMessage: add it here"),
        };
    }

    public static TheoryData<string, CertificateRefusal> Strangers() => new()
    {
        { "another CA's certificate", CertificateRefusal.UntrustedIssuer },
        { "an expired certificate", CertificateRefusal.Expired },
        { "a self-signed certificate", CertificateRefusal.SelfSigned },
        { "a removed node's certificate", CertificateRefusal.RemovedNode },
        { "another cluster's certificate (same CA)", CertificateRefusal.WrongCluster },
    };

    [Theory]
    [MemberData(nameof(Strangers))]
    public async Task A_Connection_With_A_Certificate_The_Swarm_Did_Not_Issue_Or_Revoked_Gets_Nowhere(string who, CertificateRefusal expected)
    {
        var certificate = expected switch
        {
            CertificateRefusal.UntrustedIssuer => new TestPki().Node("manager-9", NodeRole.Manager),
            CertificateRefusal.Expired => _pki.Node("manager-9", NodeRole.Manager, now: DateTimeOffset.UtcNow.AddDays(-10), validity: TimeSpan.FromDays(1)),
            CertificateRefusal.SelfSigned => SelfSigned("manager-9"),
            CertificateRefusal.RemovedNode => _pki.Node("manager-9", NodeRole.Manager),
            CertificateRefusal.WrongCluster => _pki.Node("manager-9", NodeRole.Manager, clusterId: "cluster-b"),
            _ => throw new ArgumentOutOfRangeException(nameof(expected)),
        };
        if (expected == CertificateRefusal.RemovedNode)
        {
            _serverCredentials.Trust(_serverCredentials.Validator.WithRemovedNodes(new HashSet<string> { "manager-9" }));
        }

        var client = await ClientAsync(certificate, trustAnyServer: true);

        await Assert.ThrowsAnyAsync<Exception>(() => client.Root.RequestAsync<object>(new PID(_address, "manager-api"), Sample(nameof(ListNodes)), Refused));

        Assert.Empty(_reached);
        Assert.True(_serverCredentials.Refusals.GetValueOrDefault(expected) >= 1, $"{who}: refusals counted {string.Join(", ", _serverCredentials.Refusals)}");
        _output.WriteLine($"{who}: refused as {expected} ({_serverCredentials.Refusals[expected]} handshake(s))");
    }

    [Fact]
    public async Task A_Connection_Without_A_Certificate_Gets_Nowhere()
    {
        var config = (RemoteConfigFactory.ForClient() with { UseHttps = true }).WithChannelOptions(new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, _, _) => c is not null } },
        });
        var client = new ActorSystem().WithClientRemote(config);
        _clients.Add(client);
        await client.Remote().StartAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => client.Root.RequestAsync<object>(new PID(_address, "manager-api"), Sample(nameof(ListNodes)), Refused));

        Assert.Empty(_reached);
        Assert.True(_serverCredentials.Refusals.GetValueOrDefault(CertificateRefusal.NoCertificate) >= 1);
    }

    [Fact]
    public async Task A_Node_Removed_While_Connected_Is_Told_So_By_The_Manager_And_Gets_Nothing_Else()
    {
        // A node as in a swarm: its own listener, so answers to it travel over the manager's connection to that
        // listener, which the manager's TLS refuses once the node is removed.
        var (worker, credentials) = await NodeAsync(_pki.Node("worker-7", NodeRole.Worker));
        var told = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        credentials.RemovedBySwarm += manager => told.TrySetResult(manager);
        var heartbeat = (NodeHeartbeat)Sample(nameof(NodeHeartbeat)) with { NodeId = "worker-7" };
        Assert.Equal(new NodeList([]), await worker.Root.RequestAsync<object>(new PID(_address, "dispatcher"), heartbeat, Answer));

        _serverCredentials.Trust(_serverCredentials.Validator.WithRemovedNodes(new HashSet<string> { "worker-7" }));

        Assert.Equal("manager-1", await HeartbeatUntilToldAsync(worker, heartbeat, told.Task));
        Assert.Single(_reached);
    }

    [Fact]
    public async Task A_Removed_Node_Connecting_Anew_Passes_The_Handshake_Only_To_Be_Told_So()
    {
        _serverCredentials.Trust(_serverCredentials.Validator.WithRemovedNodes(new HashSet<string> { "worker-8" }));
        var (worker, credentials) = await NodeAsync(_pki.Node("worker-8", NodeRole.Worker));
        var told = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        credentials.RemovedBySwarm += manager => told.TrySetResult(manager);
        var heartbeat = (NodeHeartbeat)Sample(nameof(NodeHeartbeat)) with { NodeId = "worker-8" };

        Assert.Equal("manager-1", await HeartbeatUntilToldAsync(worker, heartbeat, told.Task));
        Assert.Empty(_reached);
        Assert.True(_serverCredentials.Refusals.GetValueOrDefault(CertificateRefusal.RemovedNode) >= 1);
    }

    [Fact]
    public async Task Only_A_Managers_Word_Makes_A_Node_Leave_Not_Another_Workers()
    {
        // Workers learn the removed nodes too and refuse them the same way; that refusal must not count.
        var (_, workerCredentials) = await NodeAsync(_pki.Node("worker-1", NodeRole.Worker));
        workerCredentials.Trust(workerCredentials.Validator.WithRemovedNodes(new HashSet<string> { "worker-9" }));
        var (removed, credentials) = await NodeAsync(_pki.Node("worker-9", NodeRole.Worker));
        var told = false;
        credentials.RemovedBySwarm += _ => told = true;
        var workerAddress = _nodeAddresses[0];

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => removed.Root.RequestAsync<object>(new PID(workerAddress, "dispatcher"), Sample(nameof(ListNodes)), Refused));
        }

        Assert.False(told);
        Assert.True(workerCredentials.Refusals.GetValueOrDefault(CertificateRefusal.RemovedNode) >= 1);
    }

    [Fact]
    public async Task A_Node_Trusting_Only_The_Old_Root_Gets_The_Answers_Of_A_Manager_Renewed_Under_The_New_Root()
    {
        // A CA rotation that started while the node was down: the manager's certificate is from the new root; it
        // presents the cross-signed root after it as a server but not as a client, and its answers travel over its
        // own connection to the node's listener.
        var next = new TestPki();
        using var crossSigned = X509Conversions.ToX509Certificate2(_pki.Ca.CrossSign(next.Ca));
        var bothRoots = new SwarmCertificateValidator([next.Ca.ToX509Certificate2(), _pki.Ca.ToX509Certificate2()], TestPki.ClusterId, intermediates: [crossSigned]);
        var manager = await ManagerAsync(new SwarmCredentials(next.Node("manager-5", NodeRole.Manager), bothRoots, [crossSigned]));
        var (worker, credentials) = await NodeAsync(_pki.Node("worker-5", NodeRole.Worker));
        var heartbeat = (NodeHeartbeat)Sample(nameof(NodeHeartbeat)) with { NodeId = "worker-5" };

        var reply = await worker.Root.RequestAsync<object>(new PID(manager, "dispatcher"), heartbeat, Answer);

        Assert.Equal(new NodeList([]), reply);
        Assert.Equal(0, credentials.RefusalCount);
    }

    [Fact]
    public async Task A_Node_Connected_Before_A_Ca_Rotation_Calls_Again_With_Its_Renewed_Certificate_After_It_Ends()
    {
        // The node's outgoing handler makes a connection with its certificate from the old root; the node renews under
        // the new root during the rotation, and the rotation ends (the old root trusted nowhere). A new call, as
        // Proto.Remote makes when it reconnects after a network blip, must present the renewed certificate: over the
        // pooled connection of before, the manager refused it at every call, and the node never got back in.
        var credentials = new SwarmCredentials(_pki.Node("manager-7", NodeRole.Manager), _pki.Validator());
        var handler = RemoteConfigFactory.ForNode(new IPEndPoint(IPAddress.Loopback, TestPorts.FreeLoopback()), "127.0.0.1", credentials).ChannelOptions.HttpHandler!;
        using var channel = GrpcChannel.ForAddress($"https://{_address}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        var remoting = new Remoting.RemotingClient(channel);
        Assert.Equal(StatusCode.Unknown, await DiagnosticsCallAsync(remoting));

        var next = new TestPki();
        using var crossSigned = X509Conversions.ToX509Certificate2(_pki.Ca.CrossSign(next.Ca));
        var rotating = new SwarmCertificateValidator([next.Ca.ToX509Certificate2(), _pki.Ca.ToX509Certificate2()], TestPki.ClusterId, intermediates: [crossSigned]);
        _serverCredentials.Trust(rotating);
        _serverCredentials.Renew(next.Node("manager-1", NodeRole.Manager), [crossSigned]);
        credentials.Trust(rotating);
        credentials.Renew(next.Node("manager-7", NodeRole.Manager));
        _serverCredentials.Trust(next.Validator());
        credentials.Trust(next.Validator());

        var after = await DiagnosticsCallAsync(remoting);

        Assert.Equal(StatusCode.Unknown, after);
        Assert.Equal(0, _serverCredentials.RefusalCount);
    }

    /// <summary>
    /// A manager's Proto.Remote diagnostics call, one gRPC call of its own: its status is Unknown when it passed the
    /// swarm's checks (Proto.Remote's service then throws, diagnostics being off), PermissionDenied when refused.
    /// </summary>
    private static async Task<StatusCode> DiagnosticsCallAsync(Remoting.RemotingClient remoting)
    {
        try
        {
            await remoting.ListProcessesAsync(new ListProcessesRequest { Pattern = string.Empty }, deadline: DateTime.UtcNow + Answer);
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>Heartbeats as a node does, until the notice comes; no heartbeat may be answered meanwhile.</summary>
    private async Task<string> HeartbeatUntilToldAsync(ActorSystem node, NodeHeartbeat heartbeat, Task<string> told)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!told.IsCompleted && DateTime.UtcNow < until)
        {
            object? reply = null;
            try
            {
                reply = await node.Root.RequestAsync<object>(new PID(_address, "dispatcher"), heartbeat, TimeSpan.FromSeconds(2));
            }
            catch (Exception e) when (e is TimeoutException or DeadLetterException)
            {
            }

            Assert.Null(reply);
        }

        return await told.WaitAsync(TimeSpan.FromSeconds(1));
    }

    /// <summary>A node with its own listener (<see cref="SwarmRemoteHost"/>), as protoswarmd runs one.</summary>
    private async Task<(ActorSystem System, SwarmCredentials Credentials)> NodeAsync(X509Certificate2 certificate)
    {
        var port = TestPorts.FreeLoopback();
        var credentials = new SwarmCredentials(certificate, _pki.Validator());
        var system = new ActorSystem();
        var host = await SwarmRemoteHost.StartAsync(
            system, new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1", credentials, new RemoteAccessPolicy(["dispatcher"]), ca: null, NullLoggerFactory.Instance);
        await system.Remote().StartAsync();
        _nodes.Add((system, host));
        _nodeAddresses.Add($"127.0.0.1:{port}");
        return (system, credentials);
    }

    /// <summary>Another manager, with its own credentials and a recording dispatcher; answers its address.</summary>
    private async Task<string> ManagerAsync(SwarmCredentials credentials)
    {
        var port = TestPorts.FreeLoopback();
        var system = new ActorSystem();
        system.Root.SpawnNamed(Props.FromFunc(Record), "dispatcher");
        var host = await SwarmRemoteHost.StartAsync(
            system, new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1", credentials, new RemoteAccessPolicy(["dispatcher"]), ca: null, NullLoggerFactory.Instance);
        await system.Remote().StartAsync();
        _nodes.Add((system, host));
        return $"127.0.0.1:{port}";
    }

    private async Task<ActorSystem> ClientAsync(X509Certificate2 certificate, bool trustAnyServer = false)
    {
        var peer = SwarmPeer.TryParse(certificate.SubjectName, out var p, out _) ? p : null;
        var validator = trustAnyServer ? _pki.Validator() : new SwarmCertificateValidator([_pki.Ca.ToX509Certificate2()], peer?.ClusterId ?? TestPki.ClusterId);
        var credentials = new SwarmCredentials(certificate, validator);
        var client = new ActorSystem().WithClientRemote(RemoteConfigFactory.ForClient(credentials));
        _clients.Add(client);
        await client.Remote().StartAsync();
        return client;
    }

    private X509Certificate2 ClientCertificate(string clientId)
    {
        var key = NodeKey.Generate();
        return key.WithCertificate(_pki.Ca.IssueClient(key.CreateCsr(), clientId, TestPki.ClusterId, TimeSpan.FromDays(1), DateTimeOffset.UtcNow));
    }

    private static X509Certificate2 SelfSigned(string nodeId)
    {
        var key = TestPki.NewKey();
        var forged = TestPki.Forge($"O={TestPki.ClusterId},OU=swarm-manager,CN={nodeId}", null, key.Private, key.Public,
            usages: [KeyPurposeID.id_kp_clientAuth, KeyPurposeID.id_kp_serverAuth]);
        return TestPki.WithKey(forged, key.Private);
    }

    private static object Sample(string typeName)
    {
        Assert.True(ContractRegistry.TryResolve(typeName, out var type));
        return new SampleValues().Build(type);
    }

    private Task Record(IContext context)
    {
        if (context.Message is { } message && ContractRegistry.IsContract(message.GetType()))
        {
            _reached.Add(message);
            context.Respond(new NodeList([]));
        }

        return Task.CompletedTask;
    }
}
