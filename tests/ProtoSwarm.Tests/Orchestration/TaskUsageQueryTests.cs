using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>
/// `service ps --stats` on the managers' side, in one in-process actor system: the managers' API over
/// a store in a temp file and a real agent (w1) whose executor meters its containers at half a core,
/// 20 MiB of 1 GiB and 4 processes. w3 is down; w4 is up but its agent never answers; w5's agent
/// answers but its executor cannot read its cgroups.
/// </summary>
public sealed class TaskUsageQueryTests : IAsyncLifetime
{
    private const string Running1 = "task1aaaaaaaaaaaaaaaaaaaa";
    private const string Ended1 = "task1old00000000000000000";
    private const string Running3 = "task3aaaaaaaaaaaaaaaaaaaa";
    private const string Running4 = "task4aaaaaaaaaaaaaaaaaaaa";
    private const string Running5 = "task5aaaaaaaaaaaaaaaaaaaa";

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly Dictionary<string, PID> _agents = new(StringComparer.Ordinal);
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    /// <summary>The fake executor's containers, each using half a core of CPU time since it was made.</summary>
    private sealed class HalfCoreExecutor(FakeExecutor inner) : ITaskExecutor
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public ITaskController CreateController(TaskObject task) => inner.CreateController(task);

        public Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct) =>
            System.Threading.Tasks.Task.FromResult<IReadOnlyDictionary<string, TaskUsageSample>>(taskIds.ToDictionary(
                id => id, id => new TaskUsageSample((long)(_clock.Elapsed.Ticks * 100 * 0.5), 20 << 20, 1 << 30, 4, null)));
    }

    /// <summary>Its containers run, but their cgroups cannot be read.</summary>
    private sealed class UnreadableExecutor(FakeExecutor inner) : ITaskExecutor
    {
        public ITaskController CreateController(TaskObject task) => inner.CreateController(task);

        public Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct) =>
            throw new IOException("memory.usage_in_bytes: Permission denied");
    }

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        var tasks = new[]
        {
            Task(Running1, "worker1111", TaskState.Running),
            Task(Ended1, "worker1111", TaskState.Complete),
            Task(Running3, "worker3333", TaskState.Running),
            Task(Running4, "worker4444", TaskState.Running),
            Task(Running5, "worker5555", TaskState.Running),
        };
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.SwarmCluster("cluster-1")),
            StoreChange.Create(TestNodes.Manager("leader0000", "m1", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w1")),
            StoreChange.Create(TestNodes.Worker("worker3333", "w3", NodeState.Down)),
            StoreChange.Create(TestNodes.Worker("worker4444", "w4")),
            StoreChange.Create(TestNodes.Worker("worker5555", "w5")),
            StoreChange.Create(new ServiceObject("svcweb000000000000000000a", ObjectMeta.New(TestNodes.T0), TestServices.Spec("web", "busybox:1", 3), 1, null, null)),
            .. tasks.Select(StoreChange.Create),
        ]);

        StartAgent("worker1111", "w1", new HalfCoreExecutor(new FakeExecutor(TimeProvider.System)), tasks);
        StartAgent("worker5555", "w5", new UnreadableExecutor(new FakeExecutor(TimeProvider.System)), tasks);
        _agents["worker4444"] = _system.Root.Spawn(Props.FromFunc(_ => System.Threading.Tasks.Task.CompletedTask));
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        context = context with { AgentOf = node => _agents.GetValueOrDefault(node.Id) };
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
    }

    private void StartAgent(string nodeId, string name, ITaskExecutor executor, TaskObject[] tasks)
    {
        var settings = new AgentSettings(
            nodeId, "cluster-1", "10.0.0.1", new MemberInfo("member-" + name, "10.0.0.1", 2377, []), TestNodes.Description("host-" + name),
            () => NodeRole.Worker, [], TimeProvider.System, _ => { }, _ => { },
            () => TaskSupervisor.PropsFor(executor, TimeProvider.System, NullLoggerFactory.Instance));
        _agents[nodeId] = _system.Root.Spawn(Props.FromProducer(() => new AgentActor(settings, NullLoggerFactory.Instance)));
        _system.Root.Send(_agents[nodeId], new TaskAssignments(nodeId, "e1", 1, true,
            [.. tasks.Where(t => t.NodeId == nodeId).Select(t => t with { Status = new TaskObservedStatus(TaskState.Assigned, TestNodes.T0) })], []));
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Running_Tasks_Usage_Comes_From_Their_Nodes_And_Unreachable_Or_Failing_Nodes_Are_Named()
    {
        var list = Assert.IsType<TaskUsageList>(await _system.Root.RequestAsync<object>(_api,
            new GetTaskUsage(SwarmIds.NewRequestId(), [Running1, Ended1, Running3, Running4, Running5, "nosuchtask"]), TimeSpan.FromSeconds(10)));

        var usage = Assert.Single(list.Tasks);
        Assert.Equal((Running1, 20L << 20, 1L << 30, 4L), (usage.TaskId, usage.MemoryBytes, usage.MemoryLimitBytes, usage.Pids));
        Assert.InRange(usage.CpuPercent, 40, 60);
        Assert.Equal(
        [
            "Node w3 (worker3333) is down: the usage of its 1 running task(s) is not shown.",
            "Node w4 (worker4444) did not answer within 3 s: the usage of its 1 running task(s) is not shown.",
            "Node w5 (worker5555) answered without usage (memory.usage_in_bytes: Permission denied): the usage of its 1 running task(s) is not shown.",
        ], list.Warnings.ToArray());
    }

    [Fact]
    public async Task No_Running_Task_Asks_No_Node()
    {
        var list = Assert.IsType<TaskUsageList>(await _system.Root.RequestAsync<object>(_api,
            new GetTaskUsage(SwarmIds.NewRequestId(), [Ended1]), TimeSpan.FromSeconds(10)));

        Assert.Empty(list.Tasks);
        Assert.Empty(list.Warnings);
    }

    private static TaskObject Task(string id, string nodeId, TaskState state) =>
        new(id, ObjectMeta.New(TestNodes.T0), "svcweb000000000000000000a", 1, nodeId, new TaskSpec(new ContainerSpec("busybox:1")), 1,
            state > TaskState.Running ? TaskState.Shutdown : TaskState.Running, new TaskObservedStatus(state, TestNodes.T0));
}
