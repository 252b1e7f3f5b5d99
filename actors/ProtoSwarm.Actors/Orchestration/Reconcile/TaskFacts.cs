using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// Where a task belongs in its service: a replicated task by its slot, a global one by its node.
/// Every rule that speaks of "the slot" (one live task, restarts, history) groups tasks by this.
/// </summary>
public readonly record struct SlotKey(long Slot, string NodeId) : IComparable<SlotKey>
{
    public static SlotKey Of(TaskObject task, bool global) => global ? new SlotKey(0, task.NodeId) : new SlotKey(task.Slot, "");

    public int CompareTo(SlotKey other)
    {
        var bySlot = Slot.CompareTo(other.Slot);
        return bySlot != 0 ? bySlot : string.CompareOrdinal(NodeId, other.NodeId);
    }

    public static bool operator <(SlotKey left, SlotKey right) => left.CompareTo(right) < 0;

    public static bool operator <=(SlotKey left, SlotKey right) => left.CompareTo(right) <= 0;

    public static bool operator >(SlotKey left, SlotKey right) => left.CompareTo(right) > 0;

    public static bool operator >=(SlotKey left, SlotKey right) => left.CompareTo(right) >= 0;

    public override string ToString() => NodeId.Length > 0 ? $"node {NodeId}" : $"slot {Slot}";
}

/// <summary>
/// The questions about one task that every reconcile rule asks, answered in one place so that
/// "live", "failed" and "may still run" mean the same thing to restarts, updates and history.
/// </summary>
public static class TaskFacts
{
    /// <summary>The desired state a wanted task works towards: Complete for a job's tasks, Running otherwise.</summary>
    public static TaskState Target(bool isJob) => isJob ? TaskState.Complete : TaskState.Running;

    /// <summary>A task that holds its slot: still wanted (desired up to the target) and not ended.</summary>
    public static bool IsLive(TaskObject task, bool isJob) =>
        task.DesiredState <= Target(isJob) && !TaskStates.IsTerminal(task.Status.State);

    /// <summary>Never given to a node, so nothing runs anywhere and the task may be deleted at once.</summary>
    public static bool IsUnassigned(TaskObject task) => task.NodeId.Length == 0 || task.Status.State < TaskState.Assigned;

    /// <summary>
    /// When the task started running, if it is running: when it reached Running (a health-gated task
    /// only once healthy, well after its container started), else, in a status stored before that was
    /// kept, the container's start, else the status's time.
    /// </summary>
    public static DateTimeOffset? RunningSince(TaskObject task) =>
        task.Status.State == TaskState.Running ? task.Status.RunningAt ?? task.Status.StartedAt ?? task.Status.Timestamp : null;

    /// <summary>The most recently made task: by creation, then by its last status, then by id so that ties are deterministic.</summary>
    public static TaskObject Latest(IEnumerable<TaskObject> tasks) =>
        tasks.OrderByDescending(t => t.Meta.CreatedAt)
            .ThenByDescending(t => t.Status.Timestamp)
            .ThenByDescending(t => t.Id, StringComparer.Ordinal)
            .First();

    /// <summary>Oldest first, as history is pruned: by the last status, then creation, then id.</summary>
    public static IOrderedEnumerable<TaskObject> OldestFirst(IEnumerable<TaskObject> tasks) =>
        tasks.OrderBy(t => t.Status.Timestamp).ThenBy(t => t.Meta.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal);

    /// <summary>
    /// The best of several live tasks in one slot, the one kept when there are too many: the most
    /// advanced observed state, then the newest, then the lowest id.
    /// </summary>
    public static TaskObject Best(IEnumerable<TaskObject> tasks) =>
        tasks.OrderByDescending(t => t.Status.State)
            .ThenByDescending(t => t.Meta.CreatedAt)
            .ThenBy(t => t.Id, StringComparer.Ordinal)
            .First();
}

/// <summary>Which nodes a global service runs on, with its constraints parsed once.</summary>
public sealed class NodeEligibility
{
    private readonly List<Constraint> _constraints = [];
    private readonly bool _unparsable;

    public NodeEligibility(TaskSpec spec)
    {
        foreach (var text in spec.Placement.Constraints)
        {
            // The validator refuses malformed constraints; should one reach the store anyway, no node
            // matches it rather than the step throwing inside the actor.
            if (Constraint.TryParse(text, out var constraint, out _))
            {
                _constraints.Add(constraint!);
            }
            else
            {
                _unparsable = true;
            }
        }
    }

    /// <summary>Whether the node satisfies the service's placement constraints.</summary>
    public bool Matches(NodeObject node) => !_unparsable && _constraints.TrueForAll(c => c.Matches(node));

    /// <summary>A node that should run a global task: not down, active (not paused or drained), and matching the constraints.</summary>
    public bool IsEligible(NodeObject node) =>
        node.Status?.State != NodeState.Down && node.Spec?.Availability == NodeAvailability.Active && Matches(node);
}
