using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// A rolling update (or rollback) of a replicated or global service, read entirely from the store:
/// the tasks made from the current spec since the update started are the ones it updated, their
/// observed states say whether the last batch is still coming up, has failed, or (at the end) has
/// passed its monitor. Nothing is kept in memory between steps, so a new leader picks the update up where it stands.
/// </summary>
internal static class RollingUpdate
{
    /// <summary>
    /// Applies the failure action once failures pass the max failure ratio. Runs first in a pass, so
    /// that after a rollback the slots are filled from the restored spec, not the failed one.
    /// Failures count each updated task that failed within its monitor period; they are divided by
    /// the slots (or nodes) updated so far, as swarm divides by the tasks it updated, so a restart
    /// of a failed task adds a failure when it fails too but never dilutes the ratio.
    /// </summary>
    public static void CheckFailures(ReconcileState s)
    {
        if (Active(s) is not { } active)
        {
            return;
        }

        var (service, status, config) = active;

        var updated = Updated(s, status);
        // Ended on its own, a clean exit included: swarmkit's updater counts every task of the update that went
        // past Running within the monitor ("failure or early termination"); counting failures only, an update to
        // a command that exits 0 at once (restarted again and again by its policy) completed as a success.
        var failures = TaskFacts.OldestFirst(updated.Where(t => TaskOutcome.EndedOnItsOwn(t) && FailedWithinMonitor(t, config.Monitor))).ToList();
        // Out of every slot the update takes, as swarmkit's updater divides by its dirty slots (it divided by
        // the slots updated so far, so a first failure of five paused an update that allowed 0.3); the failure
        // named is the one that crossed the ratio.
        var slots = Math.Max(1, s.Slots().Count);
        if (failures.Count > 0 && (double)failures.Count / slots > config.MaxFailureRatio)
        {
            OnFailure(s, service, status, config, failures[^1]);
        }
    }

    /// <summary>
    /// Moves the update on, as swarm's updater does: the next batch starts once every task of the last
    /// one has reached Running (or ended: a failure counts in <see cref="CheckFailures"/>), the update
    /// delay after the last of them settled (<see cref="SettledAt"/>), whether it still runs or has
    /// failed since: the delay is what slows a bad version's spread under Continue or a failure ratio
    /// above 0, so it is kept after a failed batch too (until 2026-12-06 only running tasks were
    /// looked at, and a batch whose tasks had all failed started the next at once); the monitor period is watched beside the batches that follow
    /// (a failure within it still pauses or rolls back), and once more after the last batch before the
    /// update completes. Waiting out the monitor between batches, as this did, took a 30-replica update
    /// two and a half minutes where docker's takes the tasks' start times.
    /// </summary>
    public static void Advance(ReconcileState s)
    {
        if (Active(s) is not { } active)
        {
            return;
        }

        var (service, status, config) = active;

        var rollingBack = status.State == UpdateState.RollbackStarted;
        var updated = Updated(s, status);
        var live = updated.Where(t => TaskFacts.IsLive(t, isJob: false)).ToList();
        var slots = s.Slots();
        if (live.Any(t => TaskFacts.RunningSince(t) is null && !HeldForRestart(s, slots, t)))
        {
            // A batch is still coming up; its tasks' changes wake the service.
            return;
        }

        var lastStarted = live.Select(t => TaskFacts.RunningSince(t)).Max();
        var due = DirtySlots(s);
        if (due.Count == 0)
        {
            if (lastStarted + config.Monitor is { } watchedUntil && watchedUntil > s.Now)
            {
                s.WakeAt(watchedUntil);
                return;
            }

            var message = rollingBack ? "rollback completed" : "update completed";
            s.SetService(
                service with { UpdateStatus = status with { State = rollingBack ? UpdateState.RollbackCompleted : UpdateState.Completed, CompletedAt = s.Now, Message = message } },
                $"service {service.Id}: {message}");
            return;
        }

        // Each slot's first task of the update: a crash-looping slot's restarts, each settling anew, would
        // otherwise push the delay on for as long as they loop, and the update would never go on.
        var firsts = updated.GroupBy(t => SlotKey.Of(t, s.IsGlobal)).Select(g => g.MinBy(t => t.Meta.CreatedAt)!);
        if (config.Delay > TimeSpan.Zero && firsts.Select(SettledAt).Max() + config.Delay is { } next && next > s.Now)
        {
            s.WakeAt(next);
            return;
        }

        var batch = config.Parallelism > 0 ? due.Take((int)Math.Min(config.Parallelism, int.MaxValue)) : due;
        foreach (var (key, old) in batch)
        {
            Replace(s, key, old, config.Order, rollingBack ? "rollback" : "update");
        }
    }

    /// <summary>
    /// A global service's node that could not take the update while it ran (down or paused: <see cref="DirtySlots"/>
    /// leaves it out, and the update completes without it) gets the current spec once it is eligible again and no
    /// update is under way, in the update config's order. Swarmkit's global orchestrator does the same: it hands a
    /// node's dirty task to the updater whenever it reconciles the node, whatever the service's update status. Until
    /// 2026-12-06 nothing did, and such a node ran the old spec for good. While an update or rollback runs,
    /// <see cref="Advance"/> takes the node in its batches; while one is paused, nothing is updated, as in swarmkit.
    /// Every such node is taken at once: nodes come back one by one, and the update's parallelism, delay and
    /// failure action judge an update in progress, which this is not (swarmkit would apply them).
    /// </summary>
    public static void CatchUp(ReconcileState s)
    {
        var service = s.Service!;
        if (!s.IsGlobal || s.IsJob || service.UpdateStatus?.State is UpdateState.Updating or UpdateState.RollbackStarted or UpdateState.Paused or UpdateState.RollbackPaused)
        {
            return;
        }

        foreach (var (key, old) in DirtySlots(s))
        {
            Replace(s, key, old, service.Spec.Update.Order, "catch-up update");
        }
    }

    /// <summary>
    /// Replaces a slot's old task by one of the current spec: stop-first stops it and makes the replacement wait
    /// in Ready (<see cref="SlotRules.HandOver"/> starts it once the old one stopped); start-first starts the
    /// replacement at once, and the hand-over stops the old one once the replacement runs.
    /// </summary>
    private static void Replace(ReconcileState s, SlotKey key, TaskObject old, UpdateOrder order, string what)
    {
        if (order == UpdateOrder.StopFirst)
        {
            s.SetDesired(old, TaskState.Shutdown);
            s.CreateTask(key, TaskState.Ready, $"{what} of {key}: task {old.Id} stops first");
        }
        else
        {
            s.CreateTask(key, TaskState.Running, $"{what} of {key}: task {old.Id} stops once its replacement runs");
        }
    }

    /// <summary>
    /// A restart of an updated task held in Ready for its restart delay (<see cref="RestartRules.DelayedUntil"/>) is not
    /// a batch coming up: a crash-looping slot would otherwise always have one, and the update would never go on. It
    /// counts once it starts, as before such a restart was made only when its delay had passed.
    /// </summary>
    private static bool HeldForRestart(ReconcileState s, SortedDictionary<SlotKey, List<TaskObject>> slots, TaskObject task) =>
        task.DesiredState == TaskState.Ready && slots.TryGetValue(SlotKey.Of(task, s.IsGlobal), out var tasks) &&
        RestartRules.DelayedUntil(tasks, task, s.Specs.IsDirty) > s.Now;

    private static (ServiceObject Service, UpdateStatus Status, UpdateConfig Config)? Active(ReconcileState s)
    {
        var service = s.Service!;
        if (s.IsJob || service.UpdateStatus is not { State: UpdateState.Updating or UpdateState.RollbackStarted } status)
        {
            return null;
        }

        return (service, status, status.State == UpdateState.RollbackStarted ? service.Spec.Rollback : service.Spec.Update);
    }

    /// <summary>
    /// The tasks this update made: of the current spec, made since it started. Restarts and
    /// scale-ups made meanwhile count too: each is evidence on whether the new spec runs.
    /// </summary>
    private static List<TaskObject> Updated(ReconcileState s, UpdateStatus status) =>
        [.. s.Tasks.Where(t => t.Meta.CreatedAt >= status.StartedAt && !s.Specs.IsDirty(t))];

    /// <summary>
    /// The slots the update has still to take, in slot (or node) order, each with its old task: a
    /// dirty live task and no clean one beside it. A global task is taken only on an eligible node:
    /// on a down node it can neither stop nor be replaced, and a paused node takes no new task (the
    /// scheduler would leave the replacement pending and the update would stall); <see cref="CatchUp"/> takes
    /// it once the node is eligible again.
    /// </summary>
    private static List<(SlotKey Key, TaskObject Old)> DirtySlots(ReconcileState s)
    {
        var due = new List<(SlotKey, TaskObject)>();
        foreach (var (key, tasks) in s.Slots())
        {
            var live = tasks.Where(t => TaskFacts.IsLive(t, isJob: false)).ToList();
            var dirty = live.Where(s.Specs.IsDirty).ToList();
            if (dirty.Count > 0 && dirty.Count == live.Count && !(s.IsGlobal && (s.Node(key.NodeId) is not { } node || !s.Eligibility.IsEligible(node))))
            {
                due.Add((key, TaskFacts.Best(dirty)));
            }
        }

        return due;
    }

    /// <summary>
    /// When a task of the update was done coming up, as swarmkit's updater sees a slot done (its task at
    /// Running or past it): when it reached Running, or, for one that ended without, when it ended.
    /// Null while it is still on its way.
    /// </summary>
    private static DateTimeOffset? SettledAt(TaskObject task) =>
        TaskFacts.RunningSince(task) ?? (TaskStates.IsTerminal(task.Status.State) ? task.Status.RunningAt ?? task.Status.Timestamp : null);

    /// <summary>
    /// Failed before it ever reached Running, or within the monitor period after it did, as swarmkit's
    /// updater counts. Reaching Running is what counts, not the container's start: a task held in Starting
    /// by its health check that ends unhealthy never ran, whatever the monitor (until 2026-12-06 the
    /// container's start was taken, so with a monitor shorter than the health check's retries every
    /// slot was replaced by a task that never ran and the update said completed).
    /// </summary>
    private static bool FailedWithinMonitor(TaskObject task, TimeSpan monitor) =>
        task.Status.RunningAt is not { } ran || task.Status.Timestamp < ran + monitor;

    /// <summary>
    /// The failure action: Continue goes on; a rollback whose own ratio is exceeded pauses (it has
    /// nothing to roll back to); an update rolls back to the previous spec, or pauses (also when
    /// there is no previous spec).
    /// </summary>
    private static void OnFailure(ReconcileState s, ServiceObject service, UpdateStatus status, UpdateConfig config, TaskObject failed)
    {
        var rollingBack = status.State == UpdateState.RollbackStarted;
        if (config.FailureAction == FailureAction.Continue)
        {
            return;
        }

        var cause = string.Create(CultureInfo.InvariantCulture, $"due to failure or early termination of task {failed.Id}");
        if (rollingBack)
        {
            s.SetService(service with { UpdateStatus = status with { State = UpdateState.RollbackPaused, Message = $"rollback paused {cause}" } },
                $"service {service.Id}: rollback paused {cause}");
            return;
        }

        if (config.FailureAction == FailureAction.Rollback && service.PreviousSpec is { } previous)
        {
            s.SetService(
                service with
                {
                    Spec = previous,
                    PreviousSpec = service.Spec,
                    SpecVersion = service.SpecVersion + 1,
                    UpdateStatus = new UpdateStatus(UpdateState.RollbackStarted, s.Now, null, $"update rolled back {cause}"),
                },
                $"service {service.Id}: update rolled back {cause}");
            return;
        }

        s.SetService(service with { UpdateStatus = status with { State = UpdateState.Paused, Message = $"update paused {cause}" } },
            $"service {service.Id}: update paused {cause}{(config.FailureAction == FailureAction.Rollback ? " (no previous spec to roll back to)" : "")}");
    }
}
