using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration.Actors;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>
/// The leader's orchestration in a real in-process actor system over a store in a temp file: the
/// managers' API takes a service, the orchestrator's service actor makes its tasks, and the scheduler
/// places them on the Ready nodes (the node side is not here: the lab tests run it).
/// </summary>
public sealed class OrchestratorActorTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.SwarmCluster("cluster-1")),
            StoreChange.Create(TestNodes.Manager("leader0000", "m1", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w1")),
            StoreChange.Create(TestNodes.Worker("worker2222", "w2")),
            StoreChange.Create(TestNodes.Worker("worker3333", "w3", NodeState.Down)),
        ]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
        _system.Root.SpawnNamed(Props.FromProducer(() => new OrchestratorActor(context)), Kinds.Orchestrator);

        // The new leader's allocator makes the ingress network and gives the Ready nodes an address on it: let
        // it finish, so the tests below see only their own writes.
        await Poll.Until(
            () => _store.Current.List<NodeObject>().Count(n => n.Attachments.Length > 0) == 3,
            "the leader's allocator gave every Ready node its ingress address");
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_New_Service_Gets_One_Task_Per_Slot_Spread_Over_The_Ready_Nodes()
    {
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r1", Spec("web", 3))));

        await Poll.Until(() => Tasks(created.ServiceId).Count(t => t.Status.State == TaskState.Assigned) == 3, "3 tasks are assigned");
        var tasks = Tasks(created.ServiceId);
        Assert.Equal([1L, 2L, 3L], tasks.Select(t => t.Slot).Order());
        Assert.Equal(["leader0000", "worker1111", "worker2222"], tasks.Select(t => t.NodeId).Order(StringComparer.Ordinal));
        Assert.All(tasks, t => Assert.Equal(TaskState.Running, t.DesiredState));
    }

    [Fact]
    public async Task A_Task_That_Fits_Nowhere_Stays_Pending_With_The_Reason()
    {
        var spec = Spec("big", 1) with
        {
            TaskTemplate = new TaskSpec(new ContainerSpec("nginx:1"), Placement: new Placement(Constraints: ["node.labels.zone==mars"])),
        };
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r1", spec)));

        await Poll.Until(() => Tasks(created.ServiceId).Any(t => t.Status.Err.Length > 0), "the pending task carries an explanation");
        var task = Assert.Single(Tasks(created.ServiceId));
        Assert.Equal(TaskState.Pending, task.Status.State);
        Assert.StartsWith("no suitable node", task.Status.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scaling_Down_And_Removing_A_Service_Retire_Its_Tasks()
    {
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r1", Spec("web", 3))));
        await Poll.Until(() => Tasks(created.ServiceId).Count(t => t.Status.State == TaskState.Assigned) == 3, "3 tasks are assigned");

        var service = Assert.IsType<ServiceDetails>(await Ask(new InspectService("r2", "web"))).Service;
        var scaled = service.Spec with { Mode = ServiceMode.ReplicatedMode(1) };
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("r3", "web", service.Meta.Version, scaled)));
        await Poll.Until(() => Tasks(created.ServiceId).Count(t => t.DesiredState == TaskState.Running) == 1, "one task is still wanted");

        Assert.IsType<ServiceRemoved>(await Ask(new RemoveService("r4", "web")));
        await Poll.Until(() => Tasks(created.ServiceId).All(t => t.DesiredState >= TaskState.Shutdown), "no task of the removed service is wanted");
    }

    [Fact]
    public async Task An_Invalid_Spec_Is_Refused_And_Nothing_Is_Stored()
    {
        var before = _store.Current.Index;
        var rejected = Assert.IsType<CommandRejected>(await Ask(new CreateService("r1", Spec("web", -2))));

        Assert.Equal(RejectCode.InvalidArgument, rejected.Code);
        Assert.Contains("Spec.Mode.Replicated.Replicas", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(before, _store.Current.Index);
        Assert.Empty(_store.Current.List<ServiceObject>());
    }

    [Fact]
    public async Task A_New_Task_History_Limit_Prunes_Every_Service_At_Once()
    {
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("r1", Spec("web", 1))));
        await Poll.Until(() => Tasks(created.ServiceId).Count(t => t.Status.State == TaskState.Assigned) == 1, "the task is assigned");
        var live = Assert.Single(Tasks(created.ServiceId));
        var past = live.Meta.CreatedAt.AddMinutes(-10);
        // Four earlier tasks of the slot that failed: five tasks, within the default limit.
        await _proposer.ProposeAsync(
        [
            .. Enumerable.Range(1, 4).Select(i => StoreChange.Create(live with
            {
                Id = $"dead{i}",
                Meta = ObjectMeta.New(past.AddSeconds(i)),
                DesiredState = TaskState.Shutdown,
                Status = new TaskObservedStatus(TaskState.Failed, past.AddSeconds(i), "failed", "exit 1", 1),
            })),
        ]);
        await Task.Delay(300);
        Assert.Equal(5, Tasks(created.ServiceId).Count);

        Assert.IsType<SwarmUpdated>(await Ask(new UpdateSwarm("u1", null, TaskHistoryLimit: 2)));

        await Poll.Until(() => Tasks(created.ServiceId).Count == 2, "the slot keeps 2 tasks, the live one included");
        Assert.Equal([live.Id, "dead4"], Tasks(created.ServiceId).Select(t => t.Id).OrderBy(id => id == live.Id ? 0 : 1));
    }

    private static ServiceSpec Spec(string name, long replicas) =>
        new(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas), new TaskSpec(new ContainerSpec("nginx:1")));

    private List<TaskObject> Tasks(string serviceId) => [.. _store.Current.List<TaskObject>().Where(t => t.ServiceId == serviceId)];

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TimeSpan.FromSeconds(10));
}
