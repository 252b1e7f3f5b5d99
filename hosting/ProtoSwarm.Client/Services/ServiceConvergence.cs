using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Services;

/// <summary>Where a service stands on its way to what its spec asks.</summary>
public enum ConvergenceState
{
    /// <summary>Tasks are still being placed, started or replaced.</summary>
    InProgress = 0,

    /// <summary>Every task of the current spec runs and no older task is left.</summary>
    Converged = 1,

    /// <summary>A job ran the completions it asked for.</summary>
    JobComplete = 2,

    /// <summary>The update stopped on failures (--update-failure-action pause); the service's message says why.</summary>
    UpdatePaused = 3,

    /// <summary>The rollback itself stopped on failures.</summary>
    RollbackPaused = 4,

    /// <summary>The service is back on its previous spec and converged there.</summary>
    RolledBack = 5,

    /// <summary>
    /// The managers completed the update though not every task runs (failures that
    /// --update-failure-action continue or a max failure ratio let pass): nothing more will come of
    /// waiting, so docker's CLI ends there and succeeds.
    /// </summary>
    UpdateCompleted = 6,

    /// <summary>
    /// The managers completed a rollback though not every task runs: docker's CLI ends there; an
    /// update's caller hears that its update was rolled back, a rollback's caller that it is done.
    /// </summary>
    RollbackCompleted = 7,

    /// <summary>
    /// A job cannot complete: every slot (or node) either completed or failed with its restart policy
    /// spent (condition none, or max attempts used up with no window to age them out), and at least
    /// one failed. Nothing more will come of waiting; the message says how many gave up.
    /// </summary>
    JobFailed = 8,

    /// <summary>
    /// A replicated or global service whose every slot (or node) runs a task of the current spec or
    /// ended one for good, and at least one ended: its restart policy will not start it again
    /// (condition none, on-failure after a clean exit, max attempts used up with no window). Docker's
    /// CLI counts only running tasks and so waits on such a service forever (docker/cli#5299); here it
    /// converged as far as it ever will. Ended says how many ended, Failed how many of them failed.
    /// </summary>
    TasksEnded = 9,
}

/// <summary>One progress line: a replicated slot ("2/3"), a global task's node, or a job's task. State null: no task yet.</summary>
public sealed record SlotProgress(string Label, TaskState? State, string Error);

/// <summary>
/// A service's progress as `service create/update` shows it: Done out of Desired tasks (running,
/// or completed for jobs), one entry per slot or node, and the update status message.
/// VerifyRemaining is set while a converged service is watched for stability; Verified once it held;
/// FailureDetected once a service that had converged no longer is, until it converges again.
/// </summary>
public sealed record ServiceProgress(
    string ServiceId,
    string ServiceName,
    ServiceModeKind Mode,
    ConvergenceState State,
    long Done,
    long Desired,
    bool RollingBack,
    string Message,
    ImmutableArray<SlotProgress> Slots,
    TimeSpan? VerifyRemaining = null,
    bool Verified = false,
    bool FailureDetected = false,
    long Ended = 0,
    long Failed = 0)
{
    /// <summary>Converged, rolled back, or as far as its ended tasks let it: waiting may end once this has held for a while.</summary>
    public bool IsConverged => State is ConvergenceState.Converged or ConvergenceState.RolledBack or ConvergenceState.TasksEnded;

    /// <summary>Nothing more will happen without an operator: stop waiting.</summary>
    public bool IsFinal => Verified || State is ConvergenceState.JobComplete or ConvergenceState.JobFailed or ConvergenceState.UpdatePaused or ConvergenceState.RollbackPaused
        or ConvergenceState.UpdateCompleted or ConvergenceState.RollbackCompleted;
}

/// <summary>
/// Decides from a service and its tasks whether the service converged, as docker's CLI watches an
/// update: replicated, every slot 1..N has a task of the current spec running (desired running)
/// and no older task is still on a node; global, every task of the current spec wanted running runs,
/// on every eligible node; jobs, the completions are done. Pure, so it is tested without a swarm.
/// </summary>
public static class ServiceConvergence
{
    /// <summary>Docker draws at most this many per-task lines; past it only the overall count.</summary>
    public const int MaxSlotLines = 20;

    /// <summary>
    /// How long a converged service is watched before waiting ends: the period the managers watch an
    /// update's new tasks for failure (the rollback config's while rolling back), so a task that dies
    /// a few seconds after it started is seen before success is claimed. Docker's CLI waits the
    /// update monitor, 5 s when it is 0; here a rollback is watched as the managers watch it.
    /// </summary>
    public static TimeSpan MonitorPeriod(ServiceObject service)
    {
        var config = service.UpdateStatus?.State is UpdateState.RollbackStarted or UpdateState.RollbackPaused or UpdateState.RollbackCompleted
            ? service.Spec.Rollback
            : service.Spec.Update;
        return config.Monitor > TimeSpan.Zero ? config.Monitor : UpdateConfig.DefaultMonitor;
    }

    /// <summary>
    /// Where the service stands. <paramref name="downNodes"/>: the ids of the nodes that are down; their tasks
    /// are left out of a replicated or global service's count, as docker's CLI leaves out the tasks of
    /// nodes that are not active: a down node reports nothing, so its last task neither runs for the
    /// count nor is a leftover that could stop (a global update never reaches it while it is down).
    /// </summary>
    public static ServiceProgress Evaluate(ServiceObject service, ServiceReplicas replicas, IEnumerable<TaskObject> allTasks, IReadOnlySet<string>? downNodes = null)
    {
        var tasks = allTasks.Where(t => t.ServiceId == service.Id && (service.Spec.Mode.IsJob || downNodes is null || !downNodes.Contains(t.NodeId))).ToList();
        var status = service.UpdateStatus;
        var rollingBack = status?.State is UpdateState.RollbackStarted or UpdateState.RollbackPaused or UpdateState.RollbackCompleted;
        var mode = service.Spec.Mode;
        if (mode.IsJob)
        {
            // The managers' total: TotalCompletions, or MaxConcurrent when none was given.
            var total = mode.TotalCompletions > 0 ? mode.TotalCompletions : Math.Max(1, mode.MaxConcurrent);
            return Job(service, tasks, mode.Kind == ServiceModeKind.ReplicatedJob ? total : replicas.Desired);
        }

        var (done, desired, slots, ended) = mode.Kind == ServiceModeKind.Replicated
            ? Replicated(service, tasks)
            : Global(service, replicas, tasks);
        var converged = done == desired && ended.Count == 0 && !Leftovers(tasks, slots, ended);
        var settled = ended.Count > 0 && done + ended.Count == desired && !Leftovers(tasks, slots, ended);

        var state = status?.State switch
        {
            UpdateState.Paused => ConvergenceState.UpdatePaused,
            UpdateState.RollbackPaused => ConvergenceState.RollbackPaused,
            _ when settled => ConvergenceState.TasksEnded,
            // As docker's CLI: once the managers are done, tasks that still do not run never will by waiting.
            UpdateState.Completed when !converged => ConvergenceState.UpdateCompleted,
            UpdateState.RollbackCompleted when !converged => ConvergenceState.RollbackCompleted,
            _ when !converged => ConvergenceState.InProgress,
            // A rollback's tasks may all run before the managers mark it completed (after its monitor): it is a
            // rollback all the same, which an update's caller must hear about.
            UpdateState.RollbackCompleted or UpdateState.RollbackStarted => ConvergenceState.RolledBack,
            _ => ConvergenceState.Converged,
        };
        return new ServiceProgress(service.Id, service.Spec.Name, mode.Kind, state, done, desired, rollingBack, status?.Message ?? string.Empty, slots.Lines,
            Ended: ended.Count, Failed: ended.Count(TaskOutcome.IsFailure));
    }

    /// <summary>A task of another slot or spec than those counted that still holds, or will hold, a node.</summary>
    private static bool Leftovers(List<TaskObject> tasks, Slots slots, List<TaskObject> ended) =>
        tasks.Any(t => !slots.Chosen.Contains(t.Id) && !ended.Any(e => e.Id == t.Id) && IsLive(t) && t.DesiredState <= TaskState.Running);

    /// <summary>The tasks counted for each slot or node (so not leftovers), and the progress lines.</summary>
    private sealed record Slots(HashSet<string> Chosen, ImmutableArray<SlotProgress> Lines);

    /// <summary>A task holds a node and may still run: assigned to a node and not yet ended.</summary>
    public static bool IsLive(TaskObject task) => task.Status.State is >= TaskState.Assigned and <= TaskState.Running;

    /// <summary>
    /// Running tasks of the current spec out of the replicas, with the tasks of slots that ended for
    /// good (<see cref="EndedForGood"/>): such a slot shows its ended task, as a job's slot does.
    /// The slots are those the managers keep (every task not asked to be removed, by slot number),
    /// which need not be 1..replicas: a scale-down removes the slots it picks, so 1, 2 and 4 may be
    /// left. As docker's CLI maps slot numbers to its lines, the slots fill the lines in order.
    /// </summary>
    private static (long, long, Slots, List<TaskObject>) Replicated(ServiceObject service, List<TaskObject> tasks)
    {
        var replicas = Math.Max(0, service.Spec.Mode.Replicas);
        var bySlot = new SortedDictionary<long, List<TaskObject>>(tasks.Where(t => t.DesiredState < TaskState.Remove)
            .GroupBy(t => t.Slot)
            .ToDictionary(g => g.Key, g => g.ToList()));
        var current = bySlot
            .Select(g => (Slot: g.Key, Tasks: g.Value.Where(t => SpecEquality.IsCurrent(t, service.Spec)).ToList()))
            .Where(g => g.Tasks.Count > 0)
            .ToDictionary(g => g.Slot, g => Representative(g.Tasks));
        var ended = bySlot.Values.Select(slot => EndedForGood(service.Spec, slot)).OfType<TaskObject>().ToList();
        var running = current.Values.LongCount(IsUp);
        var chosen = current.Values.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var lines = replicas > MaxSlotLines
            ? []
            : LineSlots(bySlot.Keys, replicas)
                .Select((slot, i) => (Label: $"{i + 1}/{replicas}", Slot: slot))
                .Select(line => ended.FirstOrDefault(t => t.Slot == line.Slot) is { } gone ? Slot(line.Label, gone)
                    : current.TryGetValue(line.Slot, out var task) ? Shown(line.Label, task)
                    : new SlotProgress(line.Label, null, string.Empty))
                .ToImmutableArray();
        return (running, replicas, new Slots(chosen, lines), ended);
    }

    /// <summary>
    /// The slot number each of lines 1..replicas shows, in order: the slots the service has, then
    /// numbers no task holds yet (0) for the lines still to fill; slots beyond the replicas (a
    /// scale-down the managers have yet to carry out) have no line.
    /// </summary>
    private static IEnumerable<long> LineSlots(IEnumerable<long> slots, long replicas) =>
        slots.Concat(Enumerable.Repeat(0L, (int)replicas)).Take((int)replicas);

    /// <summary>
    /// Running tasks of the current spec out of the eligible nodes, as for <see cref="Replicated"/>;
    /// a node whose task ended for good counts among the nodes, since the managers no longer want it
    /// running there (its desired state is Shutdown) and will not start another.
    /// </summary>
    private static (long, long, Slots, List<TaskObject>) Global(ServiceObject service, ServiceReplicas replicas, List<TaskObject> tasks)
    {
        var current = tasks.Where(t => t.DesiredState <= TaskState.Running && SpecEquality.IsCurrent(t, service.Spec))
            .GroupBy(t => t.NodeId, StringComparer.Ordinal)
            .Select(Representative)
            .ToList();
        var ended = tasks.Where(t => current.All(c => c.NodeId != t.NodeId))
            .GroupBy(t => t.NodeId, StringComparer.Ordinal)
            .Select(node => EndedForGood(service.Spec, [.. node]))
            .OfType<TaskObject>()
            .ToList();
        var shown = current.Concat(ended).OrderBy(t => t.NodeId, StringComparer.Ordinal).ToList();
        var desired = Math.Max(replicas.Desired, shown.Count);
        var running = current.LongCount(IsUp);
        var chosen = current.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var lines = shown.Count > MaxSlotLines
            ? []
            : shown.Select(t => Slot(ShortId(t.NodeId), t)).ToImmutableArray();
        return (running, desired, new Slots(chosen, lines), ended);
    }

    /// <summary>
    /// The task a slot (or a global service's node) ended with, if the managers' restart rule will
    /// not start another there: its newest task is of the current spec, none is still on its way or
    /// running, and that task exited or was refused with restart condition none, exited cleanly with
    /// on-failure, or used up max attempts with no window to age them out. Null otherwise: a task
    /// stopped or lost, or one that will restart, is replaced, so the slot is still on its way.
    /// </summary>
    public static TaskObject? EndedForGood(ServiceSpec spec, IReadOnlyCollection<TaskObject> slot)
    {
        if (slot.Count == 0 || slot.Any(t => t.Status.State < TaskState.Complete && t.DesiredState <= TaskState.Running))
        {
            return null;
        }

        var last = Newest(slot);
        if (!SpecEquality.IsCurrent(last, spec) || !TaskOutcome.EndedOnItsOwn(last))
        {
            return null;
        }

        var policy = last.Spec.Restart;
        return policy.Condition == RestartCondition.None
            || (policy.Condition == RestartCondition.OnFailure && !TaskOutcome.IsFailure(last))
            || AttemptsUsedUp(policy, slot.Where(t => SpecEquality.IsCurrent(t, spec)))
            ? last
            : null;
    }

    /// <summary>
    /// A job's progress, as docker's job progress shows it: one line per slot 1..total (per node that
    /// has a task of this run, for a global job), each the slot's task that says most: a live one,
    /// else the one that completed, else the last that ended, so a failure shows with its error
    /// rather than the line staying at its last live state. Done counts the slots that succeeded.
    /// Docker's CLI keeps waiting on a job that cannot complete; here the wait ends once every slot
    /// has either completed or failed for good (<see cref="GaveUp"/>) and one has failed.
    /// </summary>
    private static ServiceProgress Job(ServiceObject service, List<TaskObject> tasks, long target)
    {
        var global = service.Spec.Mode.IsGlobal;
        var bySlot = tasks.Where(t => t.JobIteration == service.JobIteration && t.DesiredState < TaskState.Remove)
            .GroupBy(t => global ? t.NodeId : t.Slot.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var keys = global
            ? [.. bySlot.Keys.Order(StringComparer.Ordinal)]
            : Enumerable.Range(1, (int)Math.Min(Math.Max(0, target), int.MaxValue)).Select(n => n.ToString(CultureInfo.InvariantCulture)).ToList();
        long done = 0, gaveUp = 0, settled = 0, active = 0;
        var lines = ImmutableArray.CreateBuilder<SlotProgress>();
        foreach (var key in keys)
        {
            var label = global ? ShortId(key) : $"{key}/{target}";
            if (!bySlot.TryGetValue(key, out var slot))
            {
                lines.Add(new SlotProgress(label, null, string.Empty));
                continue;
            }

            var live = slot.Where(t => t.Status.State < TaskState.Complete && t.DesiredState <= TaskState.Complete).ToList();
            var shown = live.Count > 0 ? Newest(live) : slot.FirstOrDefault(TaskOutcome.Succeeded) ?? Newest(slot);
            if (live.Count > 0)
            {
                active++;
            }
            else if (TaskOutcome.Succeeded(shown))
            {
                done++;
                settled++;
            }
            else if (GaveUp(slot, shown))
            {
                gaveUp++;
                settled++;
            }

            lines.Add(Slot(label, shown));
        }

        var state = done >= target && active == 0 ? ConvergenceState.JobComplete
            : gaveUp > 0 && settled >= Math.Max(target, keys.Count) ? ConvergenceState.JobFailed
            : ConvergenceState.InProgress;
        var message = state == ConvergenceState.JobFailed
            ? string.Create(CultureInfo.InvariantCulture, $"job cannot complete: {gaveUp} of {keys.Count} {(global ? "nodes" : "tasks")} failed and their restart policy will not run them again")
            : string.Empty;
        return new ServiceProgress(service.Id, service.Spec.Name, service.Spec.Mode.Kind, state, done, target, false, message,
            lines.Count > MaxSlotLines ? [] : lines.ToImmutable());
    }

    /// <summary>
    /// Whether a job slot whose last task failed will never get another in this run, as the
    /// managers' restart rule decides: its condition is none, or its max attempts are used up (every
    /// task that exited or was refused beyond the first is an attempt) and no restart window lets
    /// them age out. A task stopped or lost (Shutdown, Orphaned) is no failure: it is replaced.
    /// </summary>
    public static bool GaveUp(IReadOnlyCollection<TaskObject> slot, TaskObject last)
    {
        var policy = last.Spec.Restart;
        return TaskOutcome.IsFailure(last) && (policy.Condition == RestartCondition.None || AttemptsUsedUp(policy, slot));
    }

    /// <summary>
    /// Max attempts used up with no restart window to age them out: every task that exited or was
    /// refused beyond the first is an attempt (the managers' count, <see cref="TaskOutcome.EndedOnItsOwn"/>).
    /// </summary>
    private static bool AttemptsUsedUp(RestartPolicy policy, IEnumerable<TaskObject> tasks) =>
        policy.MaxAttempts > 0 && policy.Window <= TimeSpan.Zero && tasks.Count(TaskOutcome.EndedOnItsOwn) > policy.MaxAttempts;

    private static TaskObject Newest(IEnumerable<TaskObject> tasks) =>
        tasks.OrderByDescending(t => t.Meta.CreatedAt).ThenByDescending(t => t.Status.Timestamp).ThenByDescending(t => t.Id, StringComparer.Ordinal).First();

    /// <summary>Of several tasks in one slot (a restart, a start-first update), the one wanted running, newest first.</summary>
    private static TaskObject Representative(IEnumerable<TaskObject> group) =>
        group.OrderBy(t => t.DesiredState).ThenByDescending(t => t.Meta.CreatedAt).ThenByDescending(t => t.Status.State).First();

    private static bool IsUp(TaskObject task) => task.DesiredState == TaskState.Running && task.Status.State == TaskState.Running;

    private static SlotProgress Slot(string label, TaskObject task) => new(label, task.Status.State, task.Status.Err);

    /// <summary>
    /// A slot's line for its task of the current spec, as docker's CLI draws one: its state while it is
    /// wanted and on its way or running, its error if it has one, else nothing. So during a rollback a
    /// slot whose task of the restored spec was stopped by the update, and which still runs the spec
    /// being rolled back, is blank until its new task comes, rather than reading "shutdown".
    /// </summary>
    private static SlotProgress Shown(string label, TaskObject task) =>
        task.Status.Err.Length > 0 || (task.DesiredState <= TaskState.Running && task.Status.State <= TaskState.Running)
            ? Slot(label, task)
            : new SlotProgress(label, null, string.Empty);

    private static string ShortId(string id) => id.Length > 12 ? id[..12] : id;
}
