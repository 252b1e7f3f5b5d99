using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proto;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>
/// `service logs` on the managers' side, in one in-process actor system: the managers' API over a
/// store in a temp file, and real agents with fake executors standing for nodes w1 and w2 (each on
/// its own fake clock, so lines have known times). w3 is down; w4 is up but its agent never answers.
/// </summary>
public sealed class ServiceLogsTests : IAsyncLifetime
{
    private const string ServiceId = "svcweb000000000000000000a";
    private const string QuietId = "svcquiet00000000000000000";

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly FakeTimeProvider _w1Time = new(TestNodes.T0.AddSeconds(2));
    private readonly FakeTimeProvider _w2Time = new(TestNodes.T0.AddSeconds(1));
    private readonly Dictionary<string, PID> _agents = new(StringComparer.Ordinal);
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        var tasks = new[]
        {
            Task("task1aaaaaaaaaaaaaaaaaaaa", ServiceId, 1, "worker1111", TaskState.Running, "FAKE_OUTPUT=one from w1|two from w1", "FAKE_LOG_EVERY_MS=1000"),
            Task("task2aaaaaaaaaaaaaaaaaaaa", ServiceId, 2, "worker2222", TaskState.Running, "FAKE_OUTPUT=out from w2", "FAKE_STDERR=err from w2"),
            Task("task2old00000000000000000", ServiceId, 2, "worker2222", TaskState.Complete, "FAKE_OUTPUT=old from w2", "FAKE_EXIT_CODE=0"),
            Task("task3aaaaaaaaaaaaaaaaaaaa", ServiceId, 3, "worker3333", TaskState.Running, "FAKE_OUTPUT=never seen"),
            Task("task4pending0000000000000", ServiceId, 4, string.Empty, TaskState.Pending),
            Task("taskquiet1aaaaaaaaaaaaaaa", QuietId, 1, "worker1111", TaskState.Running, "FAKE_OUTPUT=quiet from w1"),
            Task("taskquiet4aaaaaaaaaaaaaaa", QuietId, 2, "worker4444", TaskState.Running),
        };
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.SwarmCluster("cluster-1")),
            StoreChange.Create(TestNodes.Manager("leader0000", "m1", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w1")),
            StoreChange.Create(TestNodes.Worker("worker2222", "w2")),
            StoreChange.Create(TestNodes.Worker("worker3333", "w3", NodeState.Down)),
            StoreChange.Create(TestNodes.Worker("worker4444", "w4")),
            StoreChange.Create(Service(ServiceId, "web")),
            StoreChange.Create(Service(QuietId, "quiet")),
            .. tasks.Select(StoreChange.Create),
        ]);

        _agents["worker1111"] = Agent("worker1111", _w1Time, tasks);
        _agents["worker2222"] = Agent("worker2222", _w2Time, tasks);
        _agents["worker4444"] = _system.Root.Spawn(Props.FromFunc(_ => System.Threading.Tasks.Task.CompletedTask));
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        context = context with { AgentOf = node => _agents.GetValueOrDefault(node.Id) };
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));

        // The agents run their tasks (the ended one runs and exits 0, so it has written its line): wait until both nodes' lines are there.
        await Poll.Until(async () => (await Logs()).Entries.Length == 5, "every running task wrote its lines");
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_Lines_Of_Every_Task_History_Included_Come_Merged_By_Time_With_Slot_And_Node()
    {
        var logs = await Logs();

        Assert.Equal(ServiceId, logs.ServiceId);
        Assert.Equal(
        [
            ("task2aaaaaaaaaaaaaaaaaaaa", 2L, "worker2222", LogStream.Stdout, "out from w2"),
            ("task2aaaaaaaaaaaaaaaaaaaa", 2L, "worker2222", LogStream.Stderr, "err from w2"),
            ("task2old00000000000000000", 2L, "worker2222", LogStream.Stdout, "old from w2"),
            ("task1aaaaaaaaaaaaaaaaaaaa", 1L, "worker1111", LogStream.Stdout, "one from w1"),
            ("task1aaaaaaaaaaaaaaaaaaaa", 1L, "worker1111", LogStream.Stdout, "two from w1"),
        ],
        logs.Entries.Where(e => e.Line != "tick 1").Select(e => (e.TaskId, e.Slot, e.NodeId, e.Stream, e.Line)));
        Assert.Equal(TestNodes.T0.AddSeconds(1), logs.Entries[0].Timestamp);
        var warning = Assert.Single(logs.Warnings);
        Assert.Equal("Node w3 (worker3333) is down: the logs of its 1 task(s) of this service are not shown.", warning);
    }

    [Fact]
    public async Task Cursors_Bring_Only_The_Lines_Written_Since()
    {
        var first = await Logs();
        Assert.Equal(2, first.Cursors["task1aaaaaaaaaaaaaaaaaaaa"]);

        _w1Time.Advance(TimeSpan.FromSeconds(1));
        ServiceLogs next = null!;
        await Poll.Until(async () => (next = await Logs(after: first.Cursors)).Entries.Length > 0, "the tick is read");

        var tick = Assert.Single(next.Entries);
        Assert.Equal(("task1aaaaaaaaaaaaaaaaaaaa", "tick 1", 3L), (tick.TaskId, tick.Line, tick.Sequence));
        Assert.Equal(3, next.Cursors["task1aaaaaaaaaaaaaaaaaaaa"]);
        Assert.Equal(first.Cursors["task2aaaaaaaaaaaaaaaaaaaa"], next.Cursors["task2aaaaaaaaaaaaaaaaaaaa"]);
        Assert.Empty(await Logs(after: next.Cursors) is { } none ? none.Entries : []);
    }

    [Fact]
    public async Task Tail_Is_The_Last_Lines_Of_Each_Task()
    {
        var logs = await Logs(tail: 1);

        Assert.Equal(["err from w2", "old from w2", "two from w1"], logs.Entries.Select(e => e.Line));
    }

    [Fact]
    public async Task Since_Keeps_Only_The_Lines_Stamped_Then_Or_Later()
    {
        var logs = await Logs(since: TestNodes.T0.AddSeconds(2));

        Assert.Equal(["one from w1", "two from w1"], logs.Entries.Select(e => e.Line));
        Assert.Equal(2, logs.Cursors["task2aaaaaaaaaaaaaaaaaaaa"]);
    }

    [Fact]
    public async Task A_Task_Id_Prefix_Gives_That_Task_Alone()
    {
        var logs = await Logs("task2old");

        Assert.Equal(ServiceId, logs.ServiceId);
        Assert.Equal(["old from w2"], logs.Entries.Select(e => e.Line));
        Assert.Empty(logs.Warnings);
    }

    [Fact]
    public async Task An_Unknown_Name_Or_A_Negative_Tail_Is_Refused_With_What_To_Do()
    {
        var unknown = Assert.IsType<CommandRejected>(await Ask(new GetServiceLogs("r1", "nope")));
        Assert.Equal(RejectCode.NotFound, unknown.Code);
        Assert.StartsWith("No such task or service: nope.", unknown.Reason, StringComparison.Ordinal);

        var ambiguous = Assert.IsType<CommandRejected>(await Ask(new GetServiceLogs("r2", "task")));
        Assert.Equal(RejectCode.Conflict, ambiguous.Code);

        var tail = Assert.IsType<CommandRejected>(await Ask(new GetServiceLogs("r3", "web", Tail: -1)));
        Assert.Equal(RejectCode.InvalidArgument, tail.Code);
    }

    [Fact]
    public async Task A_Service_Whose_Tasks_Log_With_The_None_Driver_Is_Refused_As_Docker_Refuses_It()
    {
        var silent = Task("tasksilent1aaaaaaaaaaaaaa", "svcsilent0000000000000000", 1, "worker1111", TaskState.Running);
        silent = silent with { Spec = silent.Spec with { LogDriver = new LogDriver(LogDriverRule.None) } };
        await _proposer.ProposeAsync([StoreChange.Create(Service("svcsilent0000000000000000", "silent")), StoreChange.Create(silent)]);

        var refused = Assert.IsType<CommandRejected>(await Ask(new GetServiceLogs("r1", "silent")));

        Assert.StartsWith("configured logging driver does not support reading: silent's tasks log with the none driver", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(5, (await Logs()).Entries.Length);
    }

    [Fact]
    public async Task A_Node_That_Does_Not_Answer_Is_Named_And_The_Others_Lines_Still_Come()
    {
        var after = ImmutableSortedDictionary<string, long>.Empty.Add("taskquiet4aaaaaaaaaaaaaaa", 7);
        var started = DateTime.UtcNow;

        var logs = await Logs("quiet", after: after);

        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(4.5), TimeSpan.FromSeconds(12));
        Assert.Equal(["quiet from w1"], logs.Entries.Select(e => e.Line));
        Assert.Equal("Node w4 (worker4444) did not answer within 5 s: the logs of its 1 task(s) of this service are not shown.", Assert.Single(logs.Warnings));
        Assert.Equal(7, logs.Cursors["taskquiet4aaaaaaaaaaaaaaa"]);
    }

    [Fact]
    public async Task Reading_Logs_Writes_Nothing()
    {
        var before = _store.Current.Index;

        await Logs();

        Assert.Equal(before, _store.Current.Index);
    }

    private PID Agent(string nodeId, TimeProvider time, IEnumerable<TaskObject> tasks)
    {
        var executor = new FakeExecutor(time);
        var settings = new AgentSettings(
            nodeId, "cluster-1", "10.0.0.1", new MemberInfo("member-" + nodeId, "10.0.0.1", 2377, []), TestNodes.Description("host-" + nodeId),
            () => NodeRole.Worker, [], time, _ => { }, _ => { },
            () => TaskSupervisor.PropsFor(executor, time, NullLoggerFactory.Instance));
        var agent = _system.Root.Spawn(Props.FromProducer(() => new AgentActor(settings, NullLoggerFactory.Instance)));
        var mine = tasks.Where(t => t.NodeId == nodeId)
            .Select(t => t with { DesiredState = TaskState.Running, Status = new TaskObservedStatus(TaskState.Assigned, TestNodes.T0) });
        _system.Root.Send(agent, new TaskAssignments(nodeId, "e1", 1, true, [.. mine], []));
        return agent;
    }

    private static TaskObject Task(string id, string serviceId, long slot, string nodeId, TaskState state, params string[] env) =>
        new(id, ObjectMeta.New(TestNodes.T0), serviceId, slot, nodeId, new TaskSpec(new ContainerSpec("busybox:1", Env: [.. env])), 1,
            state > TaskState.Running ? TaskState.Shutdown : TaskState.Running, new TaskObservedStatus(state, TestNodes.T0));

    private static ServiceObject Service(string id, string name) =>
        new(id, ObjectMeta.New(TestNodes.T0), TestServices.Spec(name, "busybox:1", 2), 1, null, null);

    private async Task<ServiceLogs> Logs(string target = "web", int? tail = null, ImmutableSortedDictionary<string, long>? after = null, DateTimeOffset? since = null) =>
        Assert.IsType<ServiceLogs>(await Ask(new GetServiceLogs(SwarmIds.NewRequestId(), target, tail, after, since)));

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TimeSpan.FromSeconds(10));
}
