using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration;

/// <summary>
/// A task stopped because its node no longer meets the placement constraints ends Rejected, with
/// swarmkit's constraint enforcer's error and message, so `service ps` tells why it moved. Swarmkit's
/// enforcer writes Rejected at once, while the container still runs; here the managers give out a
/// task's addresses and ports again as soon as its end is stored, so the node must have stopped it
/// first. The reconcile step therefore asks the task to shut down and notes the reason in its error
/// (<see cref="Mark"/>), and the node's report of the stop is stored as the rejection
/// (<see cref="Stored"/>).
/// </summary>
public static class ConstraintRejection
{
    /// <summary>Swarmkit's error for a task whose node no longer meets its constraints.</summary>
    public const string Error = "assigned node no longer meets constraints";

    /// <summary>Swarmkit's message beside it.</summary>
    public const string Message = "task rejected by constraint enforcer";

    /// <summary>The task's status with the reason noted: same state (its node still owns that), the error set.</summary>
    public static TaskObservedStatus Mark(TaskObservedStatus status) => status with { Err = Error };

    /// <summary>Whether the managers stopped this task for its node's constraints and its end is not stored yet.</summary>
    public static bool IsMarked(TaskObject task) =>
        task.DesiredState >= TaskState.Shutdown && task.Status.Err == Error && !TaskStates.IsTerminal(task.Status.State);

    /// <summary>
    /// What to store of a node's report on <paramref name="stored"/>: the report as it is, unless the
    /// task was stopped for its constraints. Then the stop (Shutdown) is stored as Rejected with the
    /// reason, and a report without an error of its own keeps the reason; an end of the task's own
    /// (it exited or failed before it was stopped) keeps its own state and error.
    /// </summary>
    public static TaskObservedStatus Stored(TaskObject stored, TaskObservedStatus reported)
    {
        if (!IsMarked(stored))
        {
            return reported;
        }

        return reported.State == TaskState.Shutdown
            ? reported with { State = TaskState.Rejected, Message = Message, Err = Error }
            : reported.Err.Length == 0 ? reported with { Err = Error } : reported;
    }
}
