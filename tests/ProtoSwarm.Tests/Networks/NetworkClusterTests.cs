using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Orchestration.Actors;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Networks;

/// <summary>
/// Overlay networks end to end on the managers' side, in one in-process actor system: the managers'
/// API, the orchestration (allocator and scheduler) and the dispatcher over a store in a temp file,
/// and a real agent with a fake executor for each of three nodes. What each agent is sent is recorded
/// on the way, so the tests see the network views a node would build its overlays from.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class NetworkClusterTests : IAsyncLifetime
{
    private static readonly string[] NodeIds = ["leader0000", "worker1111", "worker2222"];

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly Dictionary<string, PID> _agents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<TaskAssignments>> _sent = new(StringComparer.Ordinal);
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.SwarmCluster("cluster-1")),
            // At their agents' addresses: a network's subnet never holds a node's (TestNodes' own 10.0.x.1 are in the default pool).
            StoreChange.Create(At(TestNodes.Manager("leader0000", "m1", leader: true), "192.168.0.1")),
            StoreChange.Create(At(TestNodes.Worker("worker1111", "w1"), "192.168.0.2")),
            StoreChange.Create(At(TestNodes.Worker("worker2222", "w2"), "192.168.0.3")),
        ]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        context = context with { AgentOf = node => _agents.GetValueOrDefault(node.Id) };
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
        _system.Root.SpawnNamed(Props.FromProducer(() => new OrchestratorActor(context)), Kinds.Orchestrator);
        _system.Root.SpawnNamed(Props.FromProducer(() => new DispatcherActor(context)), Kinds.Dispatcher);
        for (var i = 0; i < NodeIds.Length; i++)
        {
            _agents[NodeIds[i]] = Agent(NodeIds[i], $"192.168.0.{i + 1}");
        }

        await Poll.Until(() => Ingress() is { } ingress && _store.Current.List<NodeObject>().All(n => n.Attachments.Any(a => a.NetworkId == ingress.Id)),
            "the leader made the ingress network and gave every node an address on it");
    }

    private static NodeObject At(NodeObject node, string address) => node with
    {
        Status = node.Status with { Addr = address },
        ManagerStatus = node.ManagerStatus is { } manager ? manager with { Addr = address + ":2377" } : null,
        Member = node.Member is { } member ? member with { Host = address } : null,
    };

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_Leader_Makes_The_Ingress_Network_As_Docker_Does()
    {
        var ingress = Ingress()!;

        Assert.Equal(("ingress", "10.0.0.0/24", "10.0.0.1", 4096u), (ingress.Spec.Name, ingress.Subnet, ingress.Gateway, ingress.Vni));
        var listed = Assert.IsType<NetworkList>(await Ask(new ListNetworks("r1")));
        Assert.Equal(["ingress"], listed.Networks.Select(n => n.Spec.Name));
    }

    [Fact]
    public async Task A_Service_On_A_Network_Runs_With_Addresses_And_Every_Node_Sees_Its_Peers()
    {
        var created = Assert.IsType<NetworkCreated>(await Ask(new CreateNetwork("r1", new NetworkSpec("front"))));
        var front = _store.Current.Get<NetworkObject>(created.NetworkId)!;
        Assert.Equal(("10.0.1.0/24", 4097u), (front.Subnet, front.Vni));

        var spec = Spec("web", 2, ["front"], [new PortConfig(80)]);
        var service = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r2", spec)));

        await Poll.Until(() => Tasks(service.ServiceId).Count(t => t.Status.State == TaskState.Running) == 2, "both tasks run");
        var ingress = Ingress()!;
        foreach (var task in Tasks(service.ServiceId))
        {
            Assert.Equal([ingress.Id, front.Id], task.Networks.Select(n => n.NetworkId));
            Assert.StartsWith("10.0.0.", task.Networks[0].Address, StringComparison.Ordinal);
            Assert.StartsWith("10.0.1.", task.Networks[1].Address, StringComparison.Ordinal);
            Assert.Equal(["web-db"], task.Networks[1].Aliases.ToList());
        }

        var details = Assert.IsType<ServiceDetails>(await Ask(new InspectService("r3", "web")));
        Assert.Equal(front.Id, Assert.Single(details.Service.Spec.TaskTemplate.Networks).Target);
        Assert.Equal(30000, Assert.Single(details.Service.Endpoint.Ports).PublishedPort);
        Assert.Equal([ingress.Id, front.Id], details.Service.Endpoint.VirtualIps.Select(v => v.NetworkId));

        // Every node is sent ingress (a port is published); the nodes with a task are sent front, with both tasks ready.
        await Poll.Until(() => NodeIds.All(id => Views(id).ContainsKey(ingress.Id)), "every node has the ingress view");
        var running = Tasks(service.ServiceId).Select(t => t.NodeId).ToList();
        await Poll.Until(
            () => running.All(id => Views(id).TryGetValue(front.Id, out var view) && view.Endpoints.Count(e => e.Ready) == 2),
            "the nodes running web see both its tasks ready on front");
        var seen = Views(running[0])[front.Id];
        Assert.Equal("web", Assert.Single(seen.Services).Name);
        Assert.Equal(details.Service.Endpoint.VirtualIps[1].Address.Split('/')[0], seen.Services[0].Vip);
        Assert.All(seen.Endpoints, e => Assert.StartsWith("192.168.0.", e.NodeAddr, StringComparison.Ordinal));
        Assert.Equal(3, Views(running[0])[ingress.Id].Endpoints.Count(e => e.TaskId.Length == 0));
    }

    [Fact]
    public async Task A_Network_In_Use_Cannot_Be_Removed_Until_Its_Service_And_Tasks_Are_Gone()
    {
        Assert.IsType<NetworkCreated>(await Ask(new CreateNetwork("r1", new NetworkSpec("front"))));
        var service = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r2", Spec("web", 1, ["front"]))));
        await Poll.Until(() => Tasks(service.ServiceId).Any(t => t.Status.State == TaskState.Running), "the task runs");

        var refused = Assert.IsType<CommandRejected>(await Ask(new RemoveNetwork("r3", "front")));
        Assert.Contains("in use by service(s) web", refused.Reason, StringComparison.Ordinal);

        Assert.IsType<ServiceRemoved>(await Ask(new RemoveService("r4", "web")));
        await Poll.Until(() => Tasks(service.ServiceId).All(t => t.Status.State > TaskState.Running), "the task stopped");
        Assert.IsType<NetworkRemoved>(await Ask(new RemoveNetwork("r5", "front")));
        Assert.Equal(["ingress"], _store.Current.List<NetworkObject>().Select(n => n.Spec.Name));
    }

    [Fact]
    public async Task Services_Naming_A_Missing_Network_Or_Ingress_Or_A_Taken_Port_Are_Refused()
    {
        var missing = Assert.IsType<CommandRejected>(await Ask(new CreateService("r1", Spec("web", 1, ["nowhere"]))));
        Assert.Contains("network nowhere does not exist", missing.Reason, StringComparison.Ordinal);

        var ingress = Assert.IsType<CommandRejected>(await Ask(new CreateService("r2", Spec("web", 1, ["ingress"]))));
        Assert.Contains("cannot be attached to the ingress network", ingress.Reason, StringComparison.Ordinal);

        Assert.IsType<ServiceCreated>(await Ask(new CreateService("r3", Spec("api", 1, [], [new PortConfig(80, 8080)]))));
        var clash = Assert.IsType<CommandRejected>(await Ask(new CreateService("r4", Spec("web", 1, [], [new PortConfig(81, 8080)]))));
        Assert.Contains("Port 8080/tcp is already published by service api", clash.Reason, StringComparison.Ordinal);

        var ingressRm = Assert.IsType<CommandRejected>(await Ask(new RemoveNetwork("r5", "ingress")));
        Assert.Contains("carries the ports published by service(s) api", ingressRm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Ingress_Network_Can_Be_Replaced_By_One_Of_The_Operators_As_Docker_Documents()
    {
        var original = Ingress()!;
        Assert.IsType<NetworkRemoved>(await Ask(new RemoveNetwork("r1", "ingress")));
        Assert.Null(Ingress());

        // Without one, a published port is refused rather than stored with nothing to publish it.
        var refused = Assert.IsType<CommandRejected>(await Ask(new CreateService("r2", Spec("web", 1, [], [new PortConfig(80, 8080)]))));
        Assert.Contains("Service web publishes 8080:80/tcp, but the swarm has no ingress network", refused.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.List<ServiceObject>());

        var created = Assert.IsType<NetworkCreated>(await Ask(new CreateNetwork("r3", new NetworkSpec("my-ingress", Subnet: "10.11.0.0/16", Ingress: true))));
        var second = Assert.IsType<CommandRejected>(await Ask(new CreateNetwork("r4", new NetworkSpec("other-ingress", Ingress: true))));
        Assert.Contains("already has an ingress network, my-ingress", second.Reason, StringComparison.Ordinal);

        var service = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r5", Spec("web", 1, [], [new PortConfig(80, 8080)]))));
        await Poll.Until(() => Tasks(service.ServiceId).Any(t => t.Status.State == TaskState.Running), "the task runs");
        var task = Tasks(service.ServiceId).First(t => t.Status.State == TaskState.Running);
        Assert.Equal(created.NetworkId, Assert.Single(task.Networks).NetworkId);
        Assert.StartsWith("10.11.", task.Networks[0].Address, StringComparison.Ordinal);
        Assert.NotEqual(original.Id, created.NetworkId);
        await Poll.Until(() => NodeIds.All(id => Views(id).ContainsKey(created.NetworkId)), "every node is sent the new ingress network's view");
    }

    [Fact]
    public async Task A_Bad_Network_Spec_Is_Refused_And_Nothing_Is_Stored()
    {
        var before = _store.Current.List<NetworkObject>().Count();

        var rejected = Assert.IsType<CommandRejected>(await Ask(new CreateNetwork("r1", new NetworkSpec("front", Subnet: "10.0.0.128/25"))));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
        Assert.Contains("overlaps network ingress (10.0.0.0/24)", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(before, _store.Current.List<NetworkObject>().Count());
    }

    private PID Agent(string nodeId, string addr)
    {
        var executor = new FakeExecutor(TimeProvider.System);
        var settings = new AgentSettings(
            nodeId, "cluster-1", addr, new MemberInfo("member-" + nodeId, addr, 2377, []), TestNodes.Description("host-" + nodeId),
            () => NodeRole.Worker, [new ManagerAddress("leader0000", _system.Address, true)], TimeProvider.System, _ => { }, _ => { },
            () => TaskSupervisor.PropsFor(executor, TimeProvider.System, NullLoggerFactory.Instance));
        var agent = _system.Root.SpawnNamed(Props.FromProducer(() => new AgentActor(settings, NullLoggerFactory.Instance)), "agent-" + nodeId);
        var sent = _sent.GetOrAdd(nodeId, _ => new ConcurrentQueue<TaskAssignments>());
        return _system.Root.SpawnNamed(Props.FromFunc(context =>
        {
            if (context.Message is TaskAssignments assignments)
            {
                sent.Enqueue(assignments);
            }

            if (context.Message is not (Started or Stopping or Stopped))
            {
                context.Forward(agent);
            }

            return Task.CompletedTask;
        }), "tap-" + nodeId);
    }

    /// <summary>The network views a node holds after every message it was sent, applied as the node would: a full one replaces all.</summary>
    private Dictionary<string, NetworkView> Views(string nodeId)
    {
        var views = new Dictionary<string, NetworkView>(StringComparer.Ordinal);
        foreach (var message in _sent.GetValueOrDefault(nodeId) ?? [])
        {
            if (message.Full)
            {
                views.Clear();
            }

            foreach (var view in message.Networks)
            {
                views[view.NetworkId] = view;
            }

            foreach (var gone in message.NetworksRemoved)
            {
                views.Remove(gone);
            }
        }

        return views;
    }

    private NetworkObject? Ingress() => _store.Current.List<NetworkObject>().FirstOrDefault(n => n.Spec.Ingress);

    private static ServiceSpec Spec(string name, long replicas, string[] networks, PortConfig[]? ports = null) =>
        new(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas),
            new TaskSpec(new ContainerSpec("busybox:1"), Networks: [.. networks.Select(n => new NetworkAttachment(n, [$"{name}-db"]))]),
            new EndpointSpec(Ports: [.. ports ?? []]));

    private List<TaskObject> Tasks(string serviceId) => [.. _store.Current.List<TaskObject>().Where(t => t.ServiceId == serviceId)];

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TimeSpan.FromSeconds(10));
}
