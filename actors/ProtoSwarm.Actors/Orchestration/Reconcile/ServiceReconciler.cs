using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// The reconcile step of one service: from the store's view of the service, its tasks and the
/// nodes, the writes that bring the tasks towards the spec. Pure: no actors, no I/O, no clock
/// (Now is an input) and no randomness but the task ids the caller hands in.
/// <para>
/// The step is idempotent: its changes applied to its inputs, the step at the same time finds
/// nothing to do. The caller writes the changes as one proposal, re-reads and re-runs on a
/// conflict, and runs again after its own write lands; a step that does nothing ends the loop.
/// To get there in one call, the rules run in passes over a working copy of the store until a
/// pass changes nothing, so a decision that enables another (a failed task stopped, then its
/// replacement; an update rolled back, then the rollback's first batch) is taken in the same step.
/// </para>
/// </summary>
public static class ServiceReconciler
{
    /// <summary>More passes than any chain of decisions needs; the cap only guards against a rule that would undo another.</summary>
    private const int MaxPasses = 32;

    public static ReconcileOutcome Reconcile(ServiceInputs input, Func<string> newTaskId)
    {
        var state = new ReconcileState(input, newTaskId);
        for (var pass = 0; pass < MaxPasses; pass++)
        {
            var writes = state.Writes;
            state.BeginPass();
            Pass(state);
            if (state.Writes == writes)
            {
                return state.ToOutcome();
            }
        }

        state.Event($"service {input.ServiceId}: the reconcile step did not settle in {MaxPasses} passes; the next step goes on from here");
        return state.ToOutcome();
    }

    /// <summary>One pass over the rules, in an order that avoids making a task another rule then removes.</summary>
    private static void Pass(ReconcileState s)
    {
        if (s.Service is null)
        {
            Cleanup.ServiceRemoved(s);
            Cleanup.DeleteRemoved(s);
            return;
        }

        if (s.IsJob)
        {
            RemoveEarlierRuns(s);
        }

        RollingUpdate.CheckFailures(s);
        PlacementChange.KeepPlacedTasks(s);
        var service = s.Service;
        var mode = service.Spec.Mode;
        if (mode.IsGlobal)
        {
            GlobalRules.FollowNodes(s, s.Eligibility);
            SlotRules.HandOver(s);
            GlobalRules.Fill(s, s.Eligibility);
        }
        else
        {
            ReplicatedRules.LeaveLostNodes(s);
            if (mode.Kind == ServiceModeKind.ReplicatedJob)
            {
                SlotRules.HandOver(s);
                ReplicatedRules.FillJob(s);
            }
            else
            {
                ReplicatedRules.Scale(s, mode.Replicas);
                SlotRules.HandOver(s);
                ReplicatedRules.Fill(s);
            }
        }

        RollingUpdate.Advance(s);
        RollingUpdate.CatchUp(s);
        RemovedNodes.OrphanTasks(s);
        SlotRules.ShutDownEnded(s);
        Cleanup.DeleteRemoved(s);
        Cleanup.PruneHistory(s);
    }

    /// <summary>A job run again (JobIteration moved on): tasks of earlier runs still going are removed.</summary>
    private static void RemoveEarlierRuns(ReconcileState s)
    {
        foreach (var task in s.Tasks.Where(t => !s.InCurrentIteration(t) && !TaskStates.IsTerminal(t.Status.State)).ToList())
        {
            s.SetDesired(task, TaskState.Remove, $"task {task.Id} is removed: it belongs to an earlier run of the job");
        }
    }

    /// <summary>
    /// REPLICAS n/m for `service ls`: tasks observed Running and wanted so (Running; Complete for a
    /// job's) on a node that is not down (docker's count: a down node's last report is no running
    /// task), out of the replicas or, for a global service, the eligible nodes. For a job, Completed
    /// counts the slots (or nodes) that succeeded in the current run, out of the total completions
    /// (replicated job) or the eligible nodes (global job).
    /// </summary>
    public static ServiceReplicas Replicas(ServiceObject service, IReadOnlyList<TaskObject> tasks, IReadOnlyList<NodeObject> nodes)
    {
        var mode = service.Spec.Mode;
        var target = TaskFacts.Target(mode.IsJob);
        var mine = tasks.Where(t => t.ServiceId == service.Id && (!mode.IsJob || t.JobIteration == service.JobIteration)).ToList();
        var down = nodes.Where(n => n.Status?.State == NodeState.Down).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var running = mine.Count(t => t.Status.State == TaskState.Running && t.DesiredState == target && !down.Contains(t.NodeId));
        var eligibility = new NodeEligibility(service.Spec.TaskTemplate);
        long desired = mode.Kind switch
        {
            ServiceModeKind.Replicated => Math.Max(0, mode.Replicas),
            ServiceModeKind.ReplicatedJob => mode.TotalCompletions > 0 ? mode.TotalCompletions : Math.Max(1, mode.MaxConcurrent),
            _ => nodes.Count(eligibility.IsEligible),
        };
        long completed = mode.IsJob
            ? mine.Where(TaskOutcome.Succeeded).Select(t => SlotKey.Of(t, mode.IsGlobal)).Distinct().Count()
            : 0;
        return new ServiceReplicas(running, desired, completed);
    }
}
