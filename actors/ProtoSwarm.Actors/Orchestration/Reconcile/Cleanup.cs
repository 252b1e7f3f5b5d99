using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>Deleting tasks: those asked to be removed once nothing can run them, and history beyond the limit.</summary>
internal static class Cleanup
{
    /// <summary>The service was removed: every task is asked to be removed, and deleted once it cannot run.</summary>
    public static void ServiceRemoved(ReconcileState s)
    {
        var stopping = s.Tasks.Where(t => t.DesiredState < TaskState.Remove).ToList();
        foreach (var task in stopping)
        {
            s.SetDesired(task, TaskState.Remove);
        }

        if (stopping.Count > 0)
        {
            s.Event($"service {s.ServiceId} was removed: {stopping.Count} task(s) asked to stop");
        }
    }

    /// <summary>
    /// A task desired Remove (scaled down, of a removed service, of an earlier job run, or of a
    /// node that left) is deleted once it is observed ended, was never assigned, or its node is
    /// down or gone: in each case no node will report on it again.
    /// </summary>
    public static void DeleteRemoved(ReconcileState s)
    {
        foreach (var task in s.Tasks.Where(t => t.DesiredState >= TaskState.Remove).ToList())
        {
            if (TaskStates.IsTerminal(task.Status.State) || TaskFacts.IsUnassigned(task) || s.NodeDownOrGone(task.NodeId))
            {
                s.Delete(task);
            }
        }
    }

    /// <summary>
    /// Keeps at most the history limit of tasks per slot (or node), the live one included, as swarmkit's
    /// task reaper counts its TaskHistoryRetentionLimit: dead tasks go oldest first until the slot is
    /// within the limit, so the default 5 keeps the live task and 4 dead ones, and 0 or 1 keep no dead
    /// task beside a live one; a negative limit keeps everything. Only a task that has ended or was
    /// never assigned may go (a stopping task still holds its node), and never one the restart
    /// judgement still reads (<see cref="RestartRules.Protected"/>), so pruning cannot change a
    /// decision: with a restart attempt limit, up to one more than that many tasks stay beyond the history limit.
    /// </summary>
    public static void PruneHistory(ReconcileState s)
    {
        if (s.HistoryLimit < 0)
        {
            return;
        }

        var current = s.Slots();
        foreach (var (key, tasks) in s.Slots(currentIteration: false))
        {
            var dead = tasks.Where(t => !TaskFacts.IsLive(t, s.IsJob)).ToList();
            var excess = tasks.Count - s.HistoryLimit;
            if (excess <= 0)
            {
                continue;
            }

            var kept = RestartRules.Protected(current.GetValueOrDefault(key) ?? [], s.IsJob, s.Now);
            foreach (var task in TaskFacts.OldestFirst(dead))
            {
                if (excess == 0)
                {
                    break;
                }

                if ((TaskStates.IsTerminal(task.Status.State) || TaskFacts.IsUnassigned(task)) && !kept.Contains(task.Id))
                {
                    s.Delete(task);
                    excess--;
                }
            }
        }
    }
}
