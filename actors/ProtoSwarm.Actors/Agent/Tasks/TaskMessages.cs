using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

// Messages inside one node, between the agent, its task supervisor and the task actors. They never
// cross the wire (the agent turns status changes into a TaskStatusReport), so they carry no
// MessagePack keys.

/// <summary>A task's observed status moved: sent by its task actor, forwarded unchanged by the supervisor to the agent.</summary>
public sealed record TaskStatusChanged(string TaskId, TaskObservedStatus Status);

/// <summary>The managers sent the task again, perhaps with a new desired state; the task actor takes only that.</summary>
public sealed record TaskUpdated(TaskObject Task);

/// <summary>The task is off this node: its actor shuts the container down if needed, removes it, then stops.</summary>
public sealed record TaskRemoved
{
    public static readonly TaskRemoved Instance = new();
}

/// <summary>
/// Asks the supervisor to send the latest status of every task it holds again, as
/// <see cref="TaskStatusChanged"/>s: a new leader may have missed reports sent to the old one.
/// </summary>
public sealed record ResendTaskStatuses
{
    public static readonly ResendTaskStatuses Instance = new();
}

/// <summary>
/// Asks a task actor for one page of its container's log lines after a sequence (see <see cref="ITaskController.ReadLogsAsync"/>
/// and <see cref="TaskLogPaging.Page"/>); answered with a <see cref="TaskLog"/>, whose Error says why a read failed.
/// </summary>
public sealed record ReadTaskLog(long After, int? Tail, DateTimeOffset? Since = null, int MaxBytes = 0);
