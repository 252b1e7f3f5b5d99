using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>Services, tasks and nodes in the shapes the reconcile tests need, times in seconds after T0.</summary>
internal static class Rc
{
    public const string Sid = "svc";

    public static readonly DateTimeOffset T0 = TestNodes.T0;

    public static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    public static readonly RestartPolicy NoDelay = new(RestartCondition.Any, TimeSpan.Zero);

    public static ServiceSpec Spec(ServiceMode? mode = null, string image = "nginx:1.27", RestartPolicy? restart = null,
        UpdateConfig? update = null, UpdateConfig? rollback = null, string[]? constraints = null) =>
        new("web", ImmutableSortedDictionary<string, string>.Empty, mode ?? ServiceMode.ReplicatedMode(3),
            new TaskSpec(new ContainerSpec(image), Restart: restart ?? NoDelay, Placement: new Placement([.. constraints ?? []])),
            Update: update, Rollback: rollback);

    public static ServiceObject Service(ServiceSpec? spec = null, ulong specVersion = 1, UpdateStatus? status = null,
        ServiceSpec? previous = null, ulong jobIteration = 0) =>
        new(Sid, new ObjectMeta(7, T0, T0), spec ?? Spec(), specVersion, previous, status, jobIteration);

    /// <summary>
    /// A task of <paramref name="spec"/> (the default spec when null) made at <paramref name="created"/>,
    /// whose status was reached at <paramref name="statusAt"/> (default: when made). A running task
    /// started at <paramref name="startedAt"/> (default: its status time). A task that reached Running
    /// did so at <paramref name="runningAt"/> (default: not said, as in a status stored before it was kept).
    /// </summary>
    public static TaskObject Task(string id, long slot, string node, TaskState observed = TaskState.Running, TaskState desired = TaskState.Running,
        ServiceSpec? spec = null, double created = 0, double? statusAt = null, double? startedAt = null, int? exit = null, ulong iteration = 0,
        double? runningAt = null)
    {
        var of = spec ?? Spec();
        var at = At(statusAt ?? created);
        DateTimeOffset? started = startedAt is { } s ? At(s) : observed == TaskState.Running ? at : null;
        return new TaskObject(id, new ObjectMeta(3, At(created), At(created)), Sid, slot, node, of.TaskTemplate, 1, desired,
            new TaskObservedStatus(observed, at, "", observed is TaskState.Failed ? "exit 1" : "", exit, started, RunningAt: runningAt is { } r ? At(r) : null),
            of.Endpoint, iteration);
    }

    public static NodeObject Node(string id, NodeState state = NodeState.Ready, NodeAvailability availability = NodeAvailability.Active,
        params (string Key, string Value)[] labels) =>
        TestServices.Node(id, state: state, availability: availability, labels: labels) with { Meta = new ObjectMeta(2, T0, T0) };

    public static NodeObject[] NodeList(params string[] ids) => [.. ids.Select(id => Node(id))];

    public static ReconcileOutcome Run(ServiceObject? service, IEnumerable<TaskObject> tasks, IEnumerable<NodeObject> nodes, DateTimeOffset now, int history = 5)
    {
        var next = 0;
        return ServiceReconciler.Reconcile(new ServiceInputs(Sid, service, [.. tasks], [.. nodes], now, history), () => $"new{++next}");
    }

    public static List<TaskObject> Created(this ReconcileOutcome outcome) =>
        [.. outcome.Changes.OfType<CreateObject>().Select(c => (TaskObject)c.Object)];

    public static List<TaskObject> Updated(this ReconcileOutcome outcome) =>
        [.. outcome.Changes.OfType<UpdateObject>().Select(c => c.Object).OfType<TaskObject>()];

    public static TaskObject Updated(this ReconcileOutcome outcome, string id) => outcome.Updated().Single(t => t.Id == id);

    public static List<string> Deleted(this ReconcileOutcome outcome) =>
        [.. outcome.Changes.OfType<DeleteObject>().Select(c => c.Id)];

    public static ServiceObject? ServiceWritten(this ReconcileOutcome outcome) =>
        outcome.Changes.OfType<UpdateObject>().Select(c => c.Object).OfType<ServiceObject>().SingleOrDefault();

    /// <summary>"id:desired" for every task whose desired state changed, in id order.</summary>
    public static string DesiredChanges(this ReconcileOutcome outcome) =>
        string.Join(' ', outcome.Updated().Select(t => $"{t.Id}:{TaskStates.Name(t.DesiredState)}"));

    /// <summary>"slot/node:desired" of every created task.</summary>
    public static string Creations(this ReconcileOutcome outcome) =>
        string.Join(' ', outcome.Created().Select(t => $"{(t.NodeId.Length > 0 ? t.NodeId : t.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture))}:{TaskStates.Name(t.DesiredState)}"));
}

/// <summary>
/// The store as far as one service's reconcile step is concerned: applies an outcome as the real
/// store would (versions checked, creates stamped with the write's index, updates replacing the
/// object) and refuses anything the store or TaskStates would refuse.
/// </summary>
internal sealed class FakeStore
{
    private ulong _index = 100;
    private int _ids;

    public FakeStore(ServiceObject? service, IEnumerable<TaskObject> tasks, IEnumerable<NodeObject> nodes)
    {
        Service = service;
        foreach (var task in tasks)
        {
            Tasks[task.Id] = task;
        }

        Nodes = [.. nodes];
    }

    public ServiceObject? Service { get; set; }

    public SortedDictionary<string, TaskObject> Tasks { get; } = new(StringComparer.Ordinal);

    public List<NodeObject> Nodes { get; set; }

    public int HistoryLimit { get; set; } = 5;

    public ReconcileOutcome Reconcile(DateTimeOffset now) =>
        ServiceReconciler.Reconcile(new ServiceInputs(Rc.Sid, Service, [.. Tasks.Values], Nodes, now, HistoryLimit), () => $"t{++_ids:D4}");

    /// <summary>Reconciles and applies the outcome, as the service's actor does.</summary>
    public ReconcileOutcome Step(DateTimeOffset now)
    {
        var outcome = Reconcile(now);
        Apply(outcome);
        return outcome;
    }

    public void Apply(ReconcileOutcome outcome)
    {
        var index = ++_index;
        foreach (var change in outcome.Changes)
        {
            switch (change)
            {
                case CreateObject { Object: TaskObject task }:
                    Assert.False(Tasks.ContainsKey(task.Id), $"task {task.Id} created twice");
                    Tasks[task.Id] = task with { Meta = task.Meta with { Version = index } };
                    break;
                case UpdateObject { Object: TaskObject task } update:
                    var old = Tasks[task.Id];
                    Assert.Equal(old.Meta.Version, update.ExpectedVersion);
                    if (old.DesiredState != task.DesiredState)
                    {
                        Assert.Null(TaskStates.CheckDesiredTransition(old.DesiredState, task.DesiredState));
                    }

                    if (old.Status != task.Status && task.Status == ConstraintRejection.Mark(old.Status))
                    {
                        // The reason of a stop for its node's constraints, noted as the stop is asked (a removal in the same
                        // step may go further); the state stays the node's.
                        Assert.True(task.DesiredState >= TaskState.Shutdown, $"{task.Id}: its reason noted without a stop");
                    }
                    else if (old.Status != task.Status)
                    {
                        // The step writes no observed state but one: Orphaned, for a task of a node that left the store.
                        Assert.Equal(TaskState.Orphaned, task.Status.State);
                        Assert.True(TaskStates.CanMove(old.Status.State, TaskState.Orphaned), $"{task.Id}: {old.Status.State} -> orphaned");
                        Assert.DoesNotContain(Nodes, n => n.Id == task.NodeId);
                    }

                    Tasks[task.Id] = task with { Meta = task.Meta with { Version = index } };
                    break;
                case UpdateObject { Object: ServiceObject service } update:
                    Assert.Equal(Service!.Meta.Version, update.ExpectedVersion);
                    Service = service with { Meta = service.Meta with { Version = index } };
                    break;
                case DeleteObject delete:
                    Assert.Equal(Tasks[delete.Id].Meta.Version, delete.ExpectedVersion);
                    Tasks.Remove(delete.Id);
                    break;
                default:
                    Assert.Fail($"unexpected change {change}");
                    break;
            }
        }
    }

    /// <summary>Changes a task's observed state as its node would report it, stored as the managers store a report.</summary>
    public void Report(string taskId, TaskState state, DateTimeOffset at, int? exitCode = null)
    {
        var task = Tasks[taskId];
        Assert.True(TaskStates.CanMove(task.Status.State, state), $"{task.Id}: {task.Status.State} -> {state}");
        var started = state == TaskState.Running ? at : task.Status.StartedAt;
        Tasks[taskId] = task with
        {
            Status = ConstraintRejection.Stored(task, new TaskObservedStatus(state, at, TaskStates.Name(state), state == TaskState.Failed ? "task failed" : "", exitCode, started)),
            Meta = task.Meta with { Version = ++_index },
        };
    }

    public void Assign(string taskId, string nodeId, DateTimeOffset at)
    {
        var task = Tasks[taskId];
        Tasks[taskId] = task with
        {
            NodeId = nodeId,
            Status = new TaskObservedStatus(TaskState.Assigned, at, "assigned"),
            Meta = task.Meta with { Version = ++_index },
        };
    }

    public IEnumerable<TaskObject> Live => Tasks.Values.Where(t => TaskFacts.IsLive(t, Service?.Spec.Mode.IsJob ?? false));
}
