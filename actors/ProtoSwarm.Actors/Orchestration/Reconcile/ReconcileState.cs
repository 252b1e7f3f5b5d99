using System.Collections.Immutable;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// The store as one reconcile step sees it while deciding: the inputs, with every decision so far
/// applied, so a later rule sees what an earlier one did. At the end the difference from the inputs
/// becomes the proposal: one change per object, each update and delete naming the version that was
/// read, a task made and deleted again within the step not written at all.
/// </summary>
internal sealed class ReconcileState
{
    private readonly SortedDictionary<string, TaskObject> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskObject> _original = new(StringComparer.Ordinal);
    private readonly List<string> _created = [];

    /// <summary>
    /// New tasks one decision makes at most: a scale to 100,000 replicas made them all in one decision (a
    /// burst of 400 proposals that stalled the leader until the cluster dropped it, and that went on writing
    /// tasks for a service removed meanwhile). The actor decides again at once after a decision that wrote
    /// something, so a large scale goes on in steps of this size, each from the store as it is then.
    /// </summary>
    public const int MaxNewTasksPerDecision = 2048;

    /// <summary>How many more new tasks this decision may make.</summary>
    public int NewTaskBudget => MaxNewTasksPerDecision - _created.Count;
    private readonly ServiceObject? _originalService;
    private readonly Func<string> _newTaskId;
    private readonly List<string> _events = [];
    private readonly Dictionary<string, NodeObject> _nodes = new(StringComparer.Ordinal);
    private DateTimeOffset? _wakeAt;
    private SpecComparer? _comparer;
    private NodeEligibility? _eligibility;

    public ReconcileState(ServiceInputs input, Func<string> newTaskId)
    {
        ServiceId = input.ServiceId;
        Service = _originalService = input.Service;
        Now = input.Now;
        HistoryLimit = input.TaskHistoryLimit;
        _newTaskId = newTaskId;
        foreach (var task in input.Tasks.Where(t => t.ServiceId == input.ServiceId))
        {
            _tasks[task.Id] = task;
            _original[task.Id] = task;
        }

        foreach (var node in input.Nodes)
        {
            _nodes[node.Id] = node;
        }

        Nodes = [.. _nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal)];
    }

    public string ServiceId { get; }

    public ServiceObject? Service { get; private set; }

    public DateTimeOffset Now { get; }

    public long HistoryLimit { get; }

    /// <summary>The nodes in id order.</summary>
    public ImmutableArray<NodeObject> Nodes { get; }

    /// <summary>How many decisions changed something; a step that leaves it unchanged found nothing to do.</summary>
    public int Writes { get; private set; }

    /// <summary>The service's tasks as decided so far, in id order.</summary>
    public IEnumerable<TaskObject> Tasks => _tasks.Values;

    /// <summary>The tasks of the current spec and job iteration are "clean"; the comparer knows the current spec.</summary>
    public SpecComparer Specs => _comparer ??= new SpecComparer(Service!.Spec);

    /// <summary>Which nodes the current spec's global tasks may run on.</summary>
    public NodeEligibility Eligibility => _eligibility ??= new NodeEligibility(Service!.Spec.TaskTemplate);

    public bool IsJob => Service?.Spec.Mode.IsJob ?? false;

    public bool IsGlobal => Service?.Spec.Mode.IsGlobal ?? false;

    /// <summary>The task as decided so far (a rule may hold a copy read before an earlier rule changed it).</summary>
    public TaskObject Current(TaskObject task) => _tasks[task.Id];

    public NodeObject? Node(string nodeId) => nodeId.Length > 0 ? _nodes.GetValueOrDefault(nodeId) : null;

    /// <summary>The node is known to be unable to run or report anything: it left the store or is Down.</summary>
    public bool NodeDownOrGone(string nodeId) => Node(nodeId) is not { } node || node.Status?.State == NodeState.Down;

    /// <summary>
    /// Whether a task may still be running somewhere: assigned to a node that is neither down nor
    /// gone, and not observed ended. A stop-first replacement waits until no other task of its slot may,
    /// or at most <see cref="SlotRules.OldTaskStopTimeout"/>.
    /// </summary>
    public bool MayStillRun(TaskObject task) =>
        !TaskStates.IsTerminal(task.Status.State) && !TaskFacts.IsUnassigned(task) && !NodeDownOrGone(task.NodeId);

    /// <summary>
    /// Tasks grouped by slot (or node, for global services), in slot order, leaving out those asked
    /// to be removed: they belong to no slot any more. With <paramref name="currentIteration"/>, a
    /// job's tasks of earlier runs are left out too.
    /// </summary>
    public SortedDictionary<SlotKey, List<TaskObject>> Slots(bool currentIteration = true)
    {
        var slots = new SortedDictionary<SlotKey, List<TaskObject>>();
        foreach (var task in _tasks.Values)
        {
            if (task.DesiredState >= TaskState.Remove || (currentIteration && !InCurrentIteration(task)))
            {
                continue;
            }

            var key = SlotKey.Of(task, IsGlobal);
            if (!slots.TryGetValue(key, out var list))
            {
                slots[key] = list = [];
            }

            list.Add(task);
        }

        return slots;
    }

    /// <summary>Whether the task belongs to the job run under way; every task of a service that is not a job does.</summary>
    public bool InCurrentIteration(TaskObject task) => !IsJob || task.JobIteration == Service!.JobIteration;

    /// <summary>Moves a task's desired state forward (never back, as TaskStates requires); a no-op if it is already there or further.</summary>
    public void SetDesired(TaskObject task, TaskState desired, string? why = null) => MoveDesired(task, desired, why, rejected: false);

    /// <summary>
    /// Stops a task (desired Shutdown); a no-op if it was already asked to stop. <paramref name="rejected"/>: because its
    /// node no longer meets the placement constraints, so the reason goes in its error (<see cref="ConstraintRejection"/>),
    /// its end is stored as Rejected and `service ps` tells why it moved.
    /// </summary>
    public void Stop(TaskObject task, string why, bool rejected) => MoveDesired(task, TaskState.Shutdown, why, rejected);

    private void MoveDesired(TaskObject task, TaskState desired, string? why, bool rejected)
    {
        var current = _tasks[task.Id];
        if (current.DesiredState >= desired)
        {
            return;
        }

        _tasks[task.Id] = current with
        {
            DesiredState = desired,
            Status = rejected ? ConstraintRejection.Mark(current.Status) : current.Status,
            Meta = current.Meta with { UpdatedAt = Now },
        };
        Writes++;
        Event(why);
    }

    /// <summary>
    /// Gives a task the service's current task template and spec version in place, so it is clean from
    /// now on: for a task whose spec differs in placement alone and whose node meets the new placement
    /// (<see cref="PlacementChange"/>). Nothing a node reads changes (its agent acts on the desired
    /// state only), while the managers' rules (the constraint enforcer, the rolling update, `service
    /// update`'s progress) judge the task by the placement the service has now.
    /// </summary>
    public void TakeCurrentSpec(TaskObject task, string? why = null)
    {
        var current = _tasks[task.Id];
        var service = Service!;
        _tasks[task.Id] = current with
        {
            Spec = service.Spec.TaskTemplate,
            SpecVersion = service.SpecVersion,
            Meta = current.Meta with { UpdatedAt = Now },
        };
        Writes++;
        Event(why);
    }

    /// <summary>
    /// Ends a task no node will ever report on again with observed Orphaned and <paramref name="message"/>,
    /// as swarmkit's dispatcher marks the tasks of a node it gave up on; a no-op unless the task is
    /// between Assigned and Running (an ended task keeps its end, one never assigned is not orphaned).
    /// The container's start and id stay, so `service ps` still tells what ran.
    /// </summary>
    public void Orphan(TaskObject task, string message, string? why = null)
    {
        var current = _tasks[task.Id];
        if (current.Status.State < TaskState.Assigned || !TaskStates.CanMove(current.Status.State, TaskState.Orphaned))
        {
            return;
        }

        _tasks[task.Id] = current with
        {
            Status = current.Status with { State = TaskState.Orphaned, Timestamp = Now, Message = message, ExitCode = null },
            Meta = current.Meta with { UpdatedAt = Now },
        };
        Writes++;
        Event(why);
    }

    /// <summary>
    /// A new task of the current spec for the slot (or node), made as swarm makes them: New when it
    /// joins networks (the allocator gives it addresses, then makes it Pending), else Pending at once.
    /// </summary>
    public TaskObject CreateTask(SlotKey slot, TaskState desired, string? why = null)
    {
        var service = Service!;
        var status = Networks.ServiceEndpoints.NeedsAddresses(service.Spec.TaskTemplate, service.Spec.Endpoint)
            ? new TaskObservedStatus(TaskState.New, Now, "created")
            : new TaskObservedStatus(TaskState.Pending, Now, "pending task scheduling");
        var task = new TaskObject(
            _newTaskId(),
            ObjectMeta.New(Now),
            ServiceId,
            slot.Slot,
            slot.NodeId,
            service.Spec.TaskTemplate,
            service.SpecVersion,
            desired,
            status,
            service.Spec.Endpoint,
            service.JobIteration);
        _tasks.Add(task.Id, task);
        _created.Add(task.Id);
        Writes++;
        Event(why is null ? null : $"{why}: new task {task.Id}");
        return task;
    }

    public void Delete(TaskObject task, string? why = null)
    {
        if (_tasks.Remove(task.Id))
        {
            Writes++;
            Event(why);
        }
    }

    public void SetService(ServiceObject service, string? why = null)
    {
        Service = service with { Meta = service.Meta with { UpdatedAt = Now } };
        _comparer = null;
        _eligibility = null;
        Writes++;
        Event(why);
    }

    public void Event(string? sentence)
    {
        if (sentence is not null)
        {
            _events.Add(sentence);
        }
    }

    /// <summary>Asks to be called again at <paramref name="at"/>; only a time after Now counts, the earliest wins.</summary>
    public void WakeAt(DateTimeOffset? at)
    {
        if (at is { } time && time > Now && (_wakeAt is null || time < _wakeAt))
        {
            _wakeAt = time;
        }
    }

    /// <summary>Starts another pass over the rules: only the last pass's wake-up times hold, earlier ones may be stale.</summary>
    public void BeginPass() => _wakeAt = null;

    /// <summary>The difference from the inputs as one proposal: the service, then updates and deletes by task id, then creations in the order made.</summary>
    public ReconcileOutcome ToOutcome()
    {
        var changes = ImmutableArray.CreateBuilder<StoreChange>();
        if (Service is not null && !ReferenceEquals(Service, _originalService))
        {
            changes.Add(StoreChange.Update(Service));
        }

        foreach (var (id, original) in _original.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!_tasks.TryGetValue(id, out var now))
            {
                changes.Add(StoreChange.Delete(original));
            }
            else if (!ReferenceEquals(now, original))
            {
                changes.Add(StoreChange.Update(now));
            }
        }

        foreach (var id in _created)
        {
            if (_tasks.TryGetValue(id, out var task))
            {
                changes.Add(StoreChange.Create(task));
            }
        }

        return new ReconcileOutcome(changes.ToImmutable(), _wakeAt, [.. _events]);
    }
}
