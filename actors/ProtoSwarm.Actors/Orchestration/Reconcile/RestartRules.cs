using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>Where a slot (or a global service's node) stands, and so whether it needs a new task.</summary>
public enum SlotState
{
    /// <summary>A task holds the slot.</summary>
    Live,

    /// <summary>No task was ever made for the slot, or every one was removed: make one now.</summary>
    Empty,

    /// <summary>Its last task was stopped or lost before it ended, or ended and its restart is due: make one now.</summary>
    ReplaceNow,

    /// <summary>Its last task ended; the restart delay runs until <see cref="SlotDecision.At"/>.</summary>
    Waiting,

    /// <summary>Its last task ended and the restart policy (or a job's completion) says it stays so.</summary>
    Done,

    /// <summary>The restart policy's attempts are used up (within the window, if one is set, until <see cref="SlotDecision.At"/>).</summary>
    Exhausted,
}

/// <summary>The state of a slot, the task it was judged by, and when that may change with time alone.</summary>
public sealed record SlotDecision(SlotState State, TaskObject? Latest = null, DateTimeOffset? At = null, int Attempts = 0, string Reason = "");

/// <summary>
/// The restart policy as a pure judgement of one slot's tasks (those not asked to be removed, of
/// the current job run). It reads only observed states, never desired ones: the step itself moves
/// a dead task's desired state to Shutdown, and the judgement must not change because of that.
/// </summary>
public static class RestartRules
{
    /// <summary>
    /// Judges one slot. <paramref name="isStale"/> tells tasks of another spec than the service's.
    /// As swarmkit's restart supervisor, the restart policy judges only the slot's run of the
    /// current spec (its tasks made from the service's spec since its last task of another spec):
    /// a slot whose last task was of an older spec is due at once, whatever that task's condition,
    /// attempts or restart delay said, since they judged a spec the service no longer has. So a
    /// service update (a fixed spec, or <c>--force</c>, which changes the spec's ForceUpdate) puts
    /// back a slot that was done or out of attempts, and the new spec gets its full attempts; a
    /// rollback refills the slot its failed spec left at once. A job passes no
    /// <paramref name="isStale"/>: it runs again through its iteration, never through a spec change.
    /// </summary>
    public static SlotDecision Decide(IReadOnlyList<TaskObject> tasks, bool isJob, DateTimeOffset now, Func<TaskObject, bool>? isStale = null)
    {
        if (tasks.Count == 0)
        {
            return new SlotDecision(SlotState.Empty);
        }

        if (tasks.Any(t => TaskFacts.IsLive(t, isJob)))
        {
            return new SlotDecision(SlotState.Live);
        }

        if (isJob && tasks.FirstOrDefault(TaskOutcome.Succeeded) is { } completed)
        {
            return new SlotDecision(SlotState.Done, completed, Reason: "completed");
        }

        var latest = TaskFacts.Latest(tasks);
        if (!TaskStates.IsTerminal(latest.Status.State))
        {
            // Stopped (node lost, drained, an update) and not replaced yet: no failure of the task.
            return new SlotDecision(SlotState.ReplaceNow, latest, Reason: "its task was stopped");
        }

        if (latest.Status.State == TaskState.Orphaned)
        {
            // Lost with its node (removed from the swarm): no end of the task's own, whatever the restart condition.
            return new SlotDecision(SlotState.ReplaceNow, latest, Reason: "its node was lost");
        }

        if (isStale?.Invoke(latest) == true)
        {
            return new SlotDecision(SlotState.ReplaceNow, latest, Reason: "the service's spec changed since the end");
        }

        var policy = latest.Spec.Restart;
        var condition = EffectiveCondition(policy.Condition, isJob);
        if (condition == RestartCondition.None)
        {
            return new SlotDecision(SlotState.Done, latest, Reason: "restart condition is none");
        }

        if (condition == RestartCondition.OnFailure && !TaskOutcome.IsFailure(latest))
        {
            return new SlotDecision(SlotState.Done, latest, Reason: "it ended without failure and the restart condition is on-failure");
        }

        var counted = Attempts(CurrentRun(tasks, isStale), policy, now);
        if (policy.MaxAttempts > 0 && counted.Count >= policy.MaxAttempts)
        {
            DateTimeOffset? retry = policy.Window > TimeSpan.Zero ? counted.Min() + policy.Window : null;
            return new SlotDecision(SlotState.Exhausted, latest, retry, counted.Count, $"{policy.MaxAttempts} restart attempts are used up");
        }

        var due = latest.Status.Timestamp + policy.Delay;
        return due > now
            ? new SlotDecision(SlotState.Waiting, latest, due, counted.Count, "restart delay")
            : new SlotDecision(SlotState.ReplaceNow, latest, Attempts: counted.Count, Reason: "restart");
    }

    /// <summary>
    /// The slot's tasks made since its last task of another spec than the service's (all of them
    /// without <paramref name="isStale"/>): the attempts a spec used, which the next spec does not
    /// inherit, and which a spec rolled back to does not find again from before it was left.
    /// </summary>
    public static IEnumerable<TaskObject> CurrentRun(IReadOnlyList<TaskObject> tasks, Func<TaskObject, bool>? isStale)
    {
        if (isStale is null)
        {
            return tasks;
        }

        var stale = tasks.Where(isStale).ToList();
        if (stale.Count == 0)
        {
            return tasks;
        }

        var lastStale = TaskFacts.Latest(stale);
        return tasks.Where(t => !isStale(t) && t.Meta.CreatedAt > lastStale.Meta.CreatedAt);
    }

    /// <summary>
    /// When a replacement held in Ready may start by the restart policy: the restart delay after the end of the task
    /// it replaces (the slot's task made just before it), when that one ended on its own and was of the service's
    /// spec. Swarmkit's restart supervisor makes the replacement at once, desired Ready, so `service ps` shows it
    /// beside the failed task, and starts it once the delay has passed (DelayStart); <see cref="SlotRules.Fill"/>
    /// does the same, and <see cref="SlotRules.HandOver"/> starts it then. Null when nothing holds it: the task it
    /// replaces was stopped or lost, or was of another spec (the delay guarded a spec the service no longer has).
    /// </summary>
    public static DateTimeOffset? DelayedUntil(IReadOnlyList<TaskObject> tasks, TaskObject replacement, Func<TaskObject, bool>? isStale) =>
        Predecessor(tasks, replacement) is { } ended && TaskStates.IsTerminal(ended.Status.State) && TaskOutcome.EndedOnItsOwn(ended) &&
        isStale?.Invoke(ended) != true && ended.Spec.Restart.Delay > TimeSpan.Zero
            ? ended.Status.Timestamp + ended.Spec.Restart.Delay
            : null;

    /// <summary>The slot's task made just before <paramref name="task"/>, in the order restarts are paired (<see cref="Restarts"/>).</summary>
    private static TaskObject? Predecessor(IReadOnlyList<TaskObject> tasks, TaskObject task)
    {
        var ordered = Ordered(tasks);
        var index = ordered.FindIndex(t => t.Id == task.Id);
        return index > 0 ? ordered[index - 1] : null;
    }

    private static List<TaskObject> Ordered(IEnumerable<TaskObject> tasks) =>
        [.. tasks.OrderBy(t => t.Meta.CreatedAt).ThenBy(t => t.Status.Timestamp).ThenBy(t => t.Id, StringComparer.Ordinal)];

    /// <summary>A job never restarts on success: condition Any reads as OnFailure there (the validator refuses Any for jobs).</summary>
    public static RestartCondition EffectiveCondition(RestartCondition condition, bool isJob) =>
        isJob && condition == RestartCondition.Any ? RestartCondition.OnFailure : condition;

    /// <summary>
    /// The restarts made in the slot: each task that ended on its own and the task made after it
    /// (its replacement), oldest first. A restart happened when its replacement was made, not when
    /// the task ended, as swarmkit's restart supervisor records it.
    /// </summary>
    public static IEnumerable<(TaskObject Ended, TaskObject Replacement)> Restarts(IEnumerable<TaskObject> tasks)
    {
        var ordered = Ordered(tasks);
        return ordered.Zip(ordered.Skip(1)).Where(pair => TaskOutcome.EndedOnItsOwn(pair.First));
    }

    /// <summary>
    /// When the restarts that count against the policy were made: all of the run's, or with a
    /// window only those made within the window before now. Now is when the next restart would be
    /// made, so no window of that length ever holds more than max attempts restarts; counting by
    /// when a task ended instead let the restart made as the window freed escape the next count.
    /// </summary>
    public static List<DateTimeOffset> Attempts(IEnumerable<TaskObject> tasks, RestartPolicy policy, DateTimeOffset now) =>
        [.. Counted(tasks, policy, now).Select(r => r.Replacement.Meta.CreatedAt)];

    /// <summary>The restarts that count against the policy (<see cref="Attempts"/>), as pairs.</summary>
    private static IEnumerable<(TaskObject Ended, TaskObject Replacement)> Counted(IEnumerable<TaskObject> tasks, RestartPolicy policy, DateTimeOffset now) =>
        Restarts(tasks).Where(r => policy.Window <= TimeSpan.Zero || r.Replacement.Meta.CreatedAt > now - policy.Window);

    /// <summary>
    /// The tasks of a slot that history pruning must keep because the judgement above reads them:
    /// the last task while none is live (and the one before a replacement held in Ready), both tasks of each restart counted as an attempt while a
    /// limit is set (a restart is known by the pair), and a job's completions of the current run.
    /// </summary>
    public static HashSet<string> Protected(IReadOnlyList<TaskObject> tasks, bool isJob, DateTimeOffset now)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        if (tasks.Count == 0)
        {
            return kept;
        }

        var latest = TaskFacts.Latest(tasks);
        kept.Add(latest.Id);
        if (latest.DesiredState == TaskState.Ready && Predecessor(tasks, latest) is { } held)
        {
            // The task whose end sets when a replacement held in Ready starts (DelayedUntil).
            kept.Add(held.Id);
        }

        var policy = latest.Spec.Restart;
        if (policy.MaxAttempts > 0)
        {
            foreach (var (ended, replacement) in Counted(tasks, policy, now))
            {
                kept.Add(ended.Id);
                kept.Add(replacement.Id);
            }
        }

        if (isJob)
        {
            kept.UnionWith(tasks.Where(TaskOutcome.Succeeded).Select(t => t.Id));
        }

        return kept;
    }
}
