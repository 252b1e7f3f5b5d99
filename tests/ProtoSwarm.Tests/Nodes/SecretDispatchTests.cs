using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Nodes;

/// <summary>
/// Which secrets and configs a node is sent: the pure rules (<see cref="NodePayloads"/>), then the
/// node actors of two nodes over a real store, each agent a recorder of the assignments it gets.
/// </summary>
public sealed class SecretDispatchTests : IAsyncLifetime
{
    private static readonly SecretObject DbPassword = Secret("sec-db", "db_password", "hunter2");
    private static readonly SecretObject ApiKey = Secret("sec-api", "api_key", "k-123");
    private static readonly ConfigObject AppConf = new("cfg-app", ObjectMeta.New(TestNodes.T0), new ConfigSpec("app_conf", null, Encoding.UTF8.GetBytes("port=80\n")));

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly ConcurrentDictionary<string, ConcurrentQueue<TaskAssignments>> _sent = new(StringComparer.Ordinal);
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.Cluster()),
            StoreChange.Create(TestNodes.Worker("w1", "w1")),
            StoreChange.Create(TestNodes.Worker("w2", "w2")),
            StoreChange.Create(DbPassword),
            StoreChange.Create(ApiKey),
            StoreChange.Create(AppConf),
        ]);
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    // ---- the pure rules

    [Fact]
    public void A_Full_Set_Carries_Every_Referenced_Secret_And_Config_Once()
    {
        var state = State(Task("t1", "w1", [DbPassword], [AppConf]), Task("t2", "w1", [DbPassword, ApiKey]));
        var needed = NodePayloads.Of(state, state.List<TaskObject>());

        var delta = NodePayloads.Delta(needed, Ids(), Ids(), full: true);

        Assert.Equal(["sec-api", "sec-db"], delta.Secrets.Select(s => s.Id));
        Assert.Equal("hunter2", Encoding.UTF8.GetString(delta.Secrets.Single(s => s.Id == "sec-db").Data));
        Assert.Equal("db_password", delta.Secrets.Single(s => s.Id == "sec-db").Name);
        Assert.Equal(["cfg-app"], delta.Configs.Select(c => c.Id));
        Assert.Empty(delta.SecretsRemoved);
        Assert.Empty(delta.ConfigsRemoved);
    }

    [Fact]
    public void A_Full_Set_Sends_Again_What_Was_Sent_Before()
    {
        var state = State(Task("t1", "w1", [DbPassword]));

        var delta = NodePayloads.Delta(NodePayloads.Of(state, state.List<TaskObject>()), Ids("sec-db", "sec-gone"), Ids(), full: true);

        Assert.Equal(["sec-db"], delta.Secrets.Select(s => s.Id));
        Assert.Empty(delta.SecretsRemoved);
    }

    [Fact]
    public void A_Delta_Adds_Only_What_Is_Newly_Needed()
    {
        var state = State(Task("t1", "w1", [DbPassword], [AppConf]), Task("t2", "w1", [ApiKey]));

        var delta = NodePayloads.Delta(NodePayloads.Of(state, state.List<TaskObject>()), Ids("sec-db"), Ids("cfg-app"), full: false);

        Assert.Equal(["sec-api"], delta.Secrets.Select(s => s.Id));
        Assert.Empty(delta.Configs);
        Assert.Empty(delta.SecretsRemoved);
    }

    [Fact]
    public void A_Delta_Removes_What_No_Task_References_Any_More()
    {
        var state = State(Task("t2", "w1", [ApiKey]));

        var delta = NodePayloads.Delta(NodePayloads.Of(state, state.List<TaskObject>()), Ids("sec-db", "sec-api"), Ids("cfg-app"), full: false);

        Assert.Empty(delta.Secrets);
        Assert.Equal<string>(["sec-db"], delta.SecretsRemoved);
        Assert.Equal<string>(["cfg-app"], delta.ConfigsRemoved);
    }

    [Theory]
    [InlineData(TaskState.Assigned, TaskState.Running, true)]
    [InlineData(TaskState.Running, TaskState.Running, true)]
    [InlineData(TaskState.Running, TaskState.Shutdown, true)] // being shut down: its container still runs
    [InlineData(TaskState.Shutdown, TaskState.Shutdown, false)]
    [InlineData(TaskState.Complete, TaskState.Running, false)]
    [InlineData(TaskState.Failed, TaskState.Running, false)]
    [InlineData(TaskState.Rejected, TaskState.Shutdown, false)]
    public void A_Tasks_Secrets_Are_Held_Until_The_Task_Has_Ended(TaskState observed, TaskState desired, bool held)
    {
        var task = Task("t1", "w1", [DbPassword], state: observed, desired: desired);
        var state = State(task);

        Assert.Equal(held, NodePayloads.Holds(task));
        string[] expected = held ? ["sec-db"] : [];
        Assert.Equal(expected, NodePayloads.Of(state, [task]).Secrets.Keys);
    }

    [Fact]
    public void A_Secret_Missing_From_The_Store_Is_Not_Sent()
    {
        var removed = Secret("sec-removed", "old", "x");
        var state = State(Task("t1", "w1", [DbPassword, removed]));

        var needed = NodePayloads.Of(state, state.List<TaskObject>());

        Assert.Equal(["sec-db"], needed.Secrets.Keys);
    }

    // ---- the node actors

    [Fact]
    public async Task A_Node_Receives_The_Secrets_Of_Its_Tasks_And_Never_Those_Of_Another_Nodes()
    {
        // A service constrained to w1 (node.hostname == w1): its tasks are on w1 only.
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(Task("t1", "w1", [DbPassword], [AppConf])),
        ]);
        await StartNodeActorsAsync("w1", "w2");

        await Poll.Until(() => Received("w1").Any(a => a.Full && a.Tasks.Any(t => t.Id == "t1")), "w1 got its full set with t1");
        await Poll.Until(() => Received("w2").Any(a => a.Full), "w2 got its (empty) full set");
        var full = Received("w1").First(a => a.Full);
        Assert.Equal(["sec-db"], full.Secrets.Select(s => s.Id));
        Assert.Equal("hunter2", Encoding.UTF8.GetString(full.Secrets[0].Data));
        Assert.Equal(["cfg-app"], full.Configs.Select(c => c.Id));

        // A second task on w1 needs one more secret: only that one is sent, once.
        await _proposer.ProposeAsync([StoreChange.Create(Task("t2", "w1", [DbPassword, ApiKey]))]);
        await Poll.Until(() => Received("w1").Any(a => a.Tasks.Any(t => t.Id == "t2")), "w1 got t2");
        var added = Received("w1").Single(a => a.Tasks.Any(t => t.Id == "t2"));
        Assert.False(added.Full);
        Assert.Equal(["sec-api"], added.Secrets.Select(s => s.Id));
        Assert.Empty(added.Configs);

        // t1 ended: its secret stays for t2, its config goes.
        await EndAsync("t1");
        await Poll.Until(() => Received("w1").Any(a => a.ConfigsRemoved.Contains("cfg-app")), "w1 was told the config is no longer needed");
        Assert.DoesNotContain(Received("w1"), a => a.SecretsRemoved.Contains("sec-db"));

        // t2 ended too: both secrets go.
        await EndAsync("t2");
        await Poll.Until(() => Received("w1").SelectMany(a => a.SecretsRemoved).Order().SequenceEqual(["sec-api", "sec-db"]), "w1 was told both secrets are gone");

        Assert.Equal(1, Received("w1").Sum(a => a.Secrets.Count(s => s.Id == "sec-db")));
        Assert.All(Received("w2"), a =>
        {
            Assert.Empty(a.Secrets);
            Assert.Empty(a.Configs);
        });
    }

    [Fact]
    public async Task A_Secret_Removed_From_The_Store_Is_Taken_Back_From_The_Node()
    {
        await _proposer.ProposeAsync([StoreChange.Create(Task("t1", "w1", [DbPassword, ApiKey]))]);
        await StartNodeActorsAsync("w1");
        await Poll.Until(() => Received("w1").Any(a => a.Full && a.Secrets.Length == 2), "w1 got both secrets");

        await _proposer.ProposeAsync([StoreChange.Delete(_store.Current.Get<SecretObject>("sec-api")!)]);

        await Poll.Until(() => Received("w1").Any(a => a.SecretsRemoved.SequenceEqual(["sec-api"])), "w1 was told sec-api is gone");
    }

    [Fact]
    public async Task A_Nodes_Agent_Hands_The_Secret_To_The_Executor_Of_The_Task_That_Uses_It_And_The_Other_Node_Gets_Nothing()
    {
        await _proposer.ProposeAsync([StoreChange.Create(Task("t1", "w1", [DbPassword], [AppConf], state: TaskState.Assigned))]);
        var executors = new Dictionary<string, FakeExecutor>(StringComparer.Ordinal) { ["w1"] = new(TimeProvider.System), ["w2"] = new(TimeProvider.System) };
        await StartNodeActorsAsync(["w1", "w2"], id => Agent(id, executors[id]));

        await Poll.Until(() => executors["w1"].FilesOf("t1") is not null, "w1's executor prepared t1");

        var files = executors["w1"].FilesOf("t1")!;
        Assert.Equal([("/run/secrets/db_password", "hunter2"), ("/app_conf", "port=80\n")],
            files.Files.Select(f => (f.ContainerPath, Encoding.UTF8.GetString(f.Data))));
        await Poll.Until(() => Received("w2").Any(a => a.Full), "w2 got its full set");
        Assert.Empty(executors["w2"].Calls);
        Assert.All(Received("w2"), a => Assert.Empty(a.Secrets));
    }

    private PID Agent(string nodeId, FakeExecutor executor)
    {
        var settings = new AgentSettings(
            nodeId, "cluster-a", "10.0.0.1", new MemberInfo("member-" + nodeId, "10.0.0.1", 2377, []), TestNodes.Description("host-" + nodeId),
            () => NodeRole.Worker, [new ManagerAddress("m1", _system.Address, true)], TimeProvider.System, _ => { }, _ => { },
            () => TaskSupervisor.PropsFor(executor, TimeProvider.System, NullLoggerFactory.Instance));
        var agent = _system.Root.Spawn(Props.FromProducer(() => new AgentActor(settings, NullLoggerFactory.Instance)));
        var recorder = Recorder(nodeId);
        return _system.Root.Spawn(Props.FromFunc(context =>
        {
            if (context.Message is TaskAssignments)
            {
                context.Send(recorder, context.Message);
                context.Forward(agent);
            }

            return System.Threading.Tasks.Task.CompletedTask;
        }));
    }

    private Task StartNodeActorsAsync(params string[] nodeIds) => StartNodeActorsAsync(nodeIds, Recorder);

    /// <summary>
    /// The node actors as a leader runs them: under its dispatcher, which tells them of each commit that concerns
    /// them, each started by its node's first beat.
    /// </summary>
    private async Task StartNodeActorsAsync(string[] nodeIds, Func<string, PID> agentOf)
    {
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "m1");
        var agents = nodeIds.ToDictionary(id => id, agentOf, StringComparer.Ordinal);
        context = context with { AgentOf = node => agents.GetValueOrDefault(node.Id) };
        var dispatcher = _system.Root.Spawn(Props.FromProducer(() => new DispatcherActor(context)));
        foreach (var id in nodeIds)
        {
            var node = _store.Current.Get<NodeObject>(id)!;
            Assert.IsType<HeartbeatAck>(await _system.Root.RequestAsync<object>(dispatcher,
                new NodeHeartbeat(id, "cluster-a", node.Status.Addr, node.Member!, node.Description, NodeRole.Worker), TimeSpan.FromSeconds(5)));
        }
    }

    private PID Recorder(string nodeId)
    {
        var sent = _sent.GetOrAdd(nodeId, _ => new ConcurrentQueue<TaskAssignments>());
        return _system.Root.Spawn(Props.FromFunc(context =>
        {
            if (context.Message is TaskAssignments assignments)
            {
                sent.Enqueue(assignments);
            }

            return System.Threading.Tasks.Task.CompletedTask;
        }));
    }

    private List<TaskAssignments> Received(string nodeId) => [.. _sent.GetValueOrDefault(nodeId) ?? []];

    private async Task EndAsync(string taskId)
    {
        var task = _store.Current.Get<TaskObject>(taskId)!;
        await _proposer.ProposeAsync([StoreChange.Update(task with { Status = new TaskObservedStatus(TaskState.Complete, TestNodes.T0) })]);
    }

    private static SecretObject Secret(string id, string name, string data) =>
        new(id, ObjectMeta.New(TestNodes.T0), new SecretSpec(name, null, Encoding.UTF8.GetBytes(data)));

    private static TaskObject Task(string id, string nodeId, SecretObject[] secrets, ConfigObject[]? configs = null,
        TaskState state = TaskState.Running, TaskState desired = TaskState.Running) =>
        new(id, ObjectMeta.New(TestNodes.T0), "svc", 1, nodeId,
            new TaskSpec(new ContainerSpec("busybox:1",
                Secrets: [.. secrets.Select(s => new SecretReference(s.Id, s.Spec.Name, new FileTarget(s.Spec.Name)))],
                Configs: [.. (configs ?? []).Select(c => new ConfigReference(c.Id, c.Spec.Name, new FileTarget("/" + c.Spec.Name)))])),
            1, desired, new TaskObservedStatus(state, TestNodes.T0));

    private static StoreState State(params TaskObject[] tasks)
    {
        var objects = new List<IStoreObject> { DbPassword, ApiKey, AppConf };
        objects.AddRange(tasks);
        return StoreState.Restore(1, objects);
    }

    private static HashSet<string> Ids(params string[] ids) => new(ids, StringComparer.Ordinal);
}
