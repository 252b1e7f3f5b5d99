using System.Collections.Concurrent;
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
/// Assignments leave the leader when they are committed: the dispatcher watches the store and tells
/// the node actors concerned, so nothing waits for a node actor's own periodic check. The clock here
/// is a fake that is never advanced, so no timer of the dispatcher or the node actors ever fires.
/// </summary>
public sealed class AssignmentPushTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly FakeTimeProvider _clock = new(TestNodes.T0);
    private readonly ConcurrentQueue<TaskAssignments> _sent = new();
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync([StoreChange.Create(TestNodes.Cluster()), StoreChange.Create(TestNodes.Worker("w1", "w1")), StoreChange.Create(TestNodes.Worker("w2", "w2"))]);
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_Committed_Assignment_And_A_Desired_State_Change_Reach_The_Node_Without_A_Timer()
    {
        var dispatcher = await StartDispatcherAsync("w1");
        await Poll.Until(() => _sent.Any(a => a.Full), "w1 got its (empty) full set");

        await _proposer.ProposeAsync([StoreChange.Create(Task("t1", "w1"))]);
        await Poll.Until(() => _sent.Any(a => !a.Full && a.Tasks.Any(t => t.Id == "t1" && t.DesiredState == TaskState.Running)), "w1 was sent t1");

        var t1 = _store.Current.Get<TaskObject>("t1")!;
        await _proposer.ProposeAsync([StoreChange.Update(t1 with { DesiredState = TaskState.Shutdown })]);
        await Poll.Until(() => _sent.Any(a => a.Tasks.Any(t => t.Id == "t1" && t.DesiredState == TaskState.Shutdown)), "w1 was told to shut t1 down");

        await _proposer.ProposeAsync([StoreChange.Delete(_store.Current.Get<TaskObject>("t1")!)]);
        await Poll.Until(() => _sent.Any(a => a.Removed.Contains("t1")), "w1 was told t1 is gone");

        Assert.Equal(TestNodes.T0, _clock.GetUtcNow());
        Assert.Equal(Enumerable.Range(1, _sent.Count).Select(i => (long)i), _sent.Select(a => a.Sequence));
        _system.Root.Stop(dispatcher);
    }

    [Fact]
    public async Task A_Beat_That_Shows_A_Lost_Assignment_Brings_The_Whole_Set_At_Once_Not_At_A_Later_Check()
    {
        var dispatcher = await StartDispatcherAsync("w1");
        await Poll.Until(() => _sent.Any(a => a.Full), "w1 got its (empty) full set");
        // Past the resync delay, so the next beat that lacks that set asks for it again. The timers due meanwhile
        // (a liveness check, the assignment check) fire once here; the clock does not move again.
        _clock.Advance(TimeSpan.FromMilliseconds(2_500));
        await System.Threading.Tasks.Task.Delay(300);
        var sent = _sent.Count;

        // The agent never applied the set (a restarted node host, a lost message): its beat shows no epoch.
        var node = _store.Current.Get<NodeObject>("w1")!;
        Assert.IsType<HeartbeatAck>(await _system.Root.RequestAsync<object>(dispatcher,
            new NodeHeartbeat("w1", "cluster-a", "10.0.0.1", node.Member!, node.Description, NodeRole.Worker), TimeSpan.FromSeconds(5)));

        await Poll.Until(() => _sent.Skip(sent).Any(a => a.Full), "w1 was sent the whole set again on its beat");
        _system.Root.Stop(dispatcher);
    }

    [Fact]
    public void A_Task_Without_Networks_Concerns_Only_Its_Node()
    {
        var events = new[]
        {
            Event(Task("t1", "w1")),
            Event(Task("t2", "w2"), StoreEventKind.Deleted),
            Event(Task("t3", "")),
        };

        Assert.Equal(["w1", "w2"], DispatcherActor.ConcernedNodes(events)!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void What_Changes_Network_Views_Or_Secrets_Concerns_Every_Node()
    {
        var onNetwork = Task("t1", "w1") with { Networks = [new AttachedNetwork("net-1", "10.0.1.3/24")] };

        Assert.Null(DispatcherActor.ConcernedNodes([Event(onNetwork)]));
        Assert.Null(DispatcherActor.ConcernedNodes([Event(Task("t2", "w1")), Event(TestNodes.Worker("w3"))]));
    }

    [Fact]
    public void Other_Objects_Concern_No_Node()
    {
        Assert.Empty(DispatcherActor.ConcernedNodes([Event(TestNodes.Cluster())])!);
    }

    private static StoreEvent Event(IStoreObject o, StoreEventKind action = StoreEventKind.Updated) => new(7, action, o.Kind, o.Id, o);

    private async Task<PID> StartDispatcherAsync(string nodeId)
    {
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "m1");
        var recorder = _system.Root.Spawn(Props.FromFunc(c =>
        {
            if (c.Message is TaskAssignments assignments)
            {
                _sent.Enqueue(assignments);
            }

            return System.Threading.Tasks.Task.CompletedTask;
        }));
        context = context with { Time = _clock, AgentOf = node => node.Id == nodeId ? recorder : null };
        var dispatcher = _system.Root.Spawn(Props.FromProducer(() => new DispatcherActor(context)));
        var node = _store.Current.Get<NodeObject>(nodeId)!;

        // The node's beat makes the dispatcher start its node actor, as on a real leader.
        var ack = await _system.Root.RequestAsync<object>(dispatcher,
            new NodeHeartbeat(nodeId, "cluster-a", "10.0.0.1", node.Member!, node.Description, NodeRole.Worker), TimeSpan.FromSeconds(5));
        Assert.IsType<HeartbeatAck>(ack);
        return dispatcher;
    }

    private static TaskObject Task(string id, string nodeId) =>
        new(id, ObjectMeta.New(TestNodes.T0), "svc", 1, nodeId, new TaskSpec(new ContainerSpec("busybox:1")), 1, TaskState.Running,
            new TaskObservedStatus(nodeId.Length > 0 ? TaskState.Assigned : TaskState.Pending, TestNodes.T0));
}
