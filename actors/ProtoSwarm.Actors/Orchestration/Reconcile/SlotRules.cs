using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>The rules every mode shares: filling a slot per the restart policy, and keeping one live task per slot.</summary>
internal static class SlotRules
{
    /// <summary>
    /// How long a replacement held Ready waits for the task it replaces to be reported stopped before
    /// it starts anyway, counted from when the replacement was made: swarmkit's restart supervisor's
    /// old-task timeout (one minute, DelayStart's <c>oldTaskTimeout</c>), which a stop-first update's
    /// replacement shares. A node that goes on beating but never reports the stop (a container stop
    /// that hangs, an agent bug) would otherwise keep the slot empty for ever; a minute is well past
    /// the default 10 s stop grace period, so a stop that merely takes its grace period still hands over
    /// cleanly. Timed from the replacement's creation (stored), so a new leader keeps the same deadline.
    /// </summary>
    public static readonly TimeSpan OldTaskStopTimeout = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Judges a slot with <see cref="RestartRules.Decide"/> and acts on it: a task that ended gets
    /// desired Shutdown (its history then reads "desired shutdown, observed failed"), a slot due for
    /// a task gets one when <paramref name="mayCreate"/> allows it, a slot in its restart delay gets its
    /// replacement at once, desired Ready (<see cref="HandOver"/> starts it once the delay has passed, as
    /// swarmkit's restart supervisor does, so `service ps` shows the pending restart), and a slot waiting
    /// on time asks for a wake-up. Returns whether a task was made.
    /// <para>
    /// A slot is never run twice at once: while a task of it may still run (stopped because its node
    /// was drained, no longer meets its constraints or the slot's task was otherwise asked to stop, and
    /// its node has not reported the stop yet), the new task is made desired Ready, so it is placed and
    /// prepared but started by <see cref="HandOver"/> only once the old one cannot run, as a stop-first
    /// update's replacement is. This is swarmkit's restart supervisor, which makes every replacement
    /// Ready and starts it once the old task is past Running or its node is down (DelayStart, waitStop):
    /// a one-replica service holding a lock or a volume must not see two copies for the stop grace
    /// period. As there, the wait is bounded (<see cref="OldTaskStopTimeout"/>): a node that never
    /// reports the stop does not keep the slot empty for ever. A task on a node that is down or gone
    /// cannot run, so its replacement starts at once.
    /// </para>
    /// </summary>
    public static bool Fill(ReconcileState s, SlotKey key, IReadOnlyList<TaskObject> tasks, bool mayCreate)
    {
        var decision = RestartRules.Decide(tasks, s.IsJob, s.Now, s.IsJob ? null : s.Specs.IsDirty);
        if (decision.Latest is { } latest && TaskStates.IsTerminal(latest.Status.State) &&
            latest.DesiredState < TaskState.Shutdown && !(s.IsJob && TaskOutcome.Succeeded(latest)))
        {
            s.SetDesired(latest, TaskState.Shutdown, Ended(key, latest, decision, mayCreate));
        }

        switch (decision.State)
        {
            case SlotState.Empty or SlotState.ReplaceNow when mayCreate:
                var why = decision.Latest is null ? $"{key} has no task" : $"{key}: {decision.Reason} of task {decision.Latest.Id}";
                if (tasks.Select(s.Current).FirstOrDefault(s.MayStillRun) is { } stopping)
                {
                    s.CreateTask(key, TaskState.Ready, $"{why}; it starts once task {stopping.Id} has stopped");
                }
                else
                {
                    s.CreateTask(key, TaskFacts.Target(s.IsJob), why);
                }

                return true;
            case SlotState.Waiting when mayCreate:
                s.CreateTask(key, TaskState.Ready, $"{key}: restart of task {decision.Latest!.Id}; it starts at {decision.At!.Value.ToString("O", CultureInfo.InvariantCulture)} after the restart delay");
                s.WakeAt(decision.At);
                return true;
            case SlotState.Waiting or SlotState.Exhausted:
                s.WakeAt(decision.At);
                return false;
            default:
                return false;
        }
    }

    private static string Ended(SlotKey key, TaskObject task, SlotDecision decision, bool mayCreate)
    {
        var what = $"task {task.Id} ({key}) is {TaskStates.Name(task.Status.State)}";
        return decision.State switch
        {
            SlotState.Waiting => $"{what}; restart at {decision.At!.Value.ToString("O", CultureInfo.InvariantCulture)} after the restart delay",
            SlotState.Exhausted => $"{what}; {decision.Reason}, no replacement",
            SlotState.Done => $"{what}; no replacement: {decision.Reason}",
            _ when !mayCreate => $"{what}; not replaced for now",
            _ => $"{what}; restarting",
        };
    }

    /// <summary>
    /// One live task per slot, and the hand-over between an old task and its replacement:
    /// a replacement waiting in Ready (stop-first, or a restart) starts once no other task of its slot
    /// may still run and, for a restart, its restart delay has passed (<see cref="RestartRules.DelayedUntil"/>),
    /// or once <see cref="OldTaskStopTimeout"/> has passed since it was made while the old one has not
    /// reported its stop (a wake-up is asked for then, so it starts on time with nothing else changing);
    /// the old task steps aside (desired Shutdown) as soon as a stop-first replacement exists or a
    /// start-first one is observed Running. These run whatever the update's state, so a hand-over begun
    /// before a pause finishes. Any other surplus keeps the best task only.
    /// </summary>
    public static void HandOver(ReconcileState s)
    {
        var target = TaskFacts.Target(s.IsJob);
        foreach (var (key, tasks) in s.Slots())
        {
            var live = tasks.Where(t => TaskFacts.IsLive(t, s.IsJob)).ToList();
            if (live.Count == 0)
            {
                continue;
            }

            // A job has no rolling update: its tasks are neither clean nor dirty.
            var clean = live.Where(t => s.IsJob || !s.Specs.IsDirty(t)).ToList();
            var dirty = live.Except(clean).ToList();
            var keeper = clean.Count > 0 ? TaskFacts.Best(clean) : TaskFacts.Best(dirty);
            foreach (var extra in clean.Where(t => t != keeper))
            {
                s.SetDesired(extra, TaskState.Shutdown, $"{key} has more than one task; task {extra.Id} stops, task {keeper.Id} stays");
            }

            if (clean.Count > 0 && dirty.Count > 0)
            {
                if (keeper.DesiredState == TaskState.Ready || keeper.Status.State == TaskState.Running)
                {
                    foreach (var old in dirty)
                    {
                        s.SetDesired(old, TaskState.Shutdown, $"{key}: task {old.Id} stops, replaced by task {keeper.Id}");
                    }
                }
            }
            else if (dirty.Count > 1)
            {
                foreach (var extra in dirty.Where(t => t != keeper))
                {
                    s.SetDesired(extra, TaskState.Shutdown, $"{key} has more than one task; task {extra.Id} stops, task {keeper.Id} stays");
                }
            }

            var current = tasks.Select(s.Current).ToList();
            foreach (var ready in current.Where(t => t.DesiredState == TaskState.Ready && !TaskStates.IsTerminal(t.Status.State)))
            {
                var stopping = current.FirstOrDefault(t => t.Id != ready.Id && s.MayStillRun(t));
                var giveUpAt = ready.Meta.CreatedAt + OldTaskStopTimeout;
                if (stopping is null)
                {
                    if (RestartRules.DelayedUntil(current, ready, s.IsJob ? null : s.Specs.IsDirty) is { } at && at > s.Now)
                    {
                        s.WakeAt(at);
                        continue;
                    }

                    s.SetDesired(ready, target, $"{key}: task {ready.Id} starts, the task it replaces has stopped");
                }
                else if (s.Now >= giveUpAt)
                {
                    s.SetDesired(ready, target, string.Create(
                        CultureInfo.InvariantCulture,
                        $"{key}: task {ready.Id} starts: task {stopping.Id} has not reported its stop within {OldTaskStopTimeout.TotalSeconds:0} s"));
                }
                else
                {
                    s.WakeAt(giveUpAt);
                }
            }
        }
    }

    /// <summary>
    /// Every other task that ended while still wanted gets desired Shutdown, so `service ps` shows it
    /// as history; a job's completed task keeps desired Complete, its work done.
    /// </summary>
    public static void ShutDownEnded(ReconcileState s)
    {
        foreach (var task in s.Tasks.ToList())
        {
            if (TaskStates.IsTerminal(task.Status.State) && task.DesiredState < TaskState.Shutdown &&
                !(s.IsJob && task.DesiredState == TaskState.Complete && TaskOutcome.Succeeded(task)))
            {
                s.SetDesired(task, TaskState.Shutdown);
            }
        }
    }
}
