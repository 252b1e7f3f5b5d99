using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration;

/// <summary>
/// The one place that says how a task's state may move: forward only, as in swarm. Every writer of
/// a task's observed status (the manager before assignment, the node after) asks here first.
/// </summary>
public static class TaskStates
{
    /// <summary>Complete and every state after it: the task has ended and never runs again.</summary>
    public static bool IsTerminal(TaskState state) => state > TaskState.Running;

    /// <summary>
    /// The states a manager may ask a task to reach: Ready (prepared, waiting for a start-first
    /// update's turn), Running, Complete (a job's tasks), Shutdown and Remove.
    /// </summary>
    public static bool IsDesiredState(TaskState state) =>
        state is TaskState.Ready or TaskState.Running or TaskState.Complete or TaskState.Shutdown or TaskState.Remove;

    /// <summary>
    /// Whether a task holds its node: assigned to it and not ended, and still wanted (desired up to
    /// Complete). A global task names its node while still Pending; like swarmkit, it takes nothing
    /// there until the scheduler has checked that it fits. The scheduler counts only such tasks.
    /// </summary>
    public static bool Occupies(TaskObject task) =>
        task.NodeId.Length > 0 && task.Status.State >= TaskState.Assigned && !IsTerminal(task.Status.State) && task.DesiredState <= TaskState.Complete;

    /// <summary>
    /// Null when the observed state may move from <paramref name="from"/> to <paramref name="to"/>;
    /// otherwise why not, in a sentence. The same state again is no transition and is refused too,
    /// so a repeated report is noticed rather than rewriting the timestamp.
    /// </summary>
    public static string? CheckTransition(TaskState from, TaskState to)
    {
        if (!Enum.IsDefined(to))
        {
            return $"{(int)to} is not a task state.";
        }

        if (IsTerminal(from))
        {
            return $"the task is already {Name(from)}, which is final; start a new task instead.";
        }

        if (to == from)
        {
            return $"the task is already {Name(from)}.";
        }

        if (to < from)
        {
            return $"a task moves forward only: {Name(from)} cannot go back to {Name(to)}.";
        }

        return null;
    }

    public static bool CanMove(TaskState from, TaskState to) => CheckTransition(from, to) is null;

    /// <summary>
    /// A node's report of a task as the managers store it over <paramref name="stored"/>: as reported, and
    /// with when the task reached Running kept. The node stamps RunningAt itself; a report without it (from a
    /// node of an older version) gets it from the stored status if that was Running (its timestamp, when it
    /// got there) or from the report if that is Running, so a rolling update can tell a task that ran and
    /// later failed from one that failed before it ever ran (in Starting, say, held by its health check).
    /// </summary>
    public static TaskObservedStatus KeepRunningAt(TaskObservedStatus stored, TaskObservedStatus reported) =>
        reported.RunningAt is not null ? reported
        : stored.RunningAt is { } ran ? reported with { RunningAt = ran }
        : stored.State == TaskState.Running ? reported with { RunningAt = stored.Timestamp }
        : reported.State == TaskState.Running ? reported with { RunningAt = reported.Timestamp }
        : reported;

    /// <summary>
    /// Null when the managers may set the desired state from <paramref name="from"/> to
    /// <paramref name="to"/>: a desired state, and never backwards (a task asked to shut down is
    /// not asked to run again; a new task is made instead).
    /// </summary>
    public static string? CheckDesiredTransition(TaskState from, TaskState to)
    {
        if (!IsDesiredState(to))
        {
            return $"{Name(to)} is not a state a manager asks for; use ready, running, complete, shutdown or remove.";
        }

        return to < from ? $"the desired state moves forward only: {Name(from)} cannot go back to {Name(to)}." : null;
    }

    /// <summary>Docker's lower-case name of a state, as `service ps` prints it.</summary>
    public static string Name(TaskState state) => state switch
    {
        TaskState.New => "new",
        TaskState.Pending => "pending",
        TaskState.Assigned => "assigned",
        TaskState.Accepted => "accepted",
        TaskState.Preparing => "preparing",
        TaskState.Ready => "ready",
        TaskState.Starting => "starting",
        TaskState.Running => "running",
        TaskState.Complete => "complete",
        TaskState.Shutdown => "shutdown",
        TaskState.Failed => "failed",
        TaskState.Rejected => "rejected",
        TaskState.Remove => "remove",
        TaskState.Orphaned => "orphaned",
        _ => ((int)state).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
