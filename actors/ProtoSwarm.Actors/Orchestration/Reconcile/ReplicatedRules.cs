using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>Slots 1..N of a replicated service or a replicated job: node loss, scaling, filling the slots.</summary>
internal static class ReplicatedRules
{
    /// <summary>
    /// A live task whose node is down, drained or gone stops (desired Shutdown), and its slot is
    /// filled again in the same step, with no restart delay and no attempt counted: losing a node
    /// or draining it is not the task's failure. Docker applies the restart delay to a down or gone
    /// node's tasks (not to a drained node's); we do not, because the swarm promises that a lost
    /// node's tasks run elsewhere within 3 s. The replacement of a task on a down or gone node starts
    /// at once (nothing runs there any more); that of a task still running on a drained node, or on one
    /// that no longer meets its constraints, waits in Ready until the old task has stopped, so the
    /// slot never runs twice (<see cref="SlotRules.Fill"/>), as swarmkit's restart supervisor waits.
    /// A task whose node no longer meets the task's own placement constraints (a label removed,
    /// a node demoted) stops too, as swarmkit's constraint enforcer does; its replacement is placed
    /// where the constraints hold, or waits pending; it ends Rejected with swarmkit's error
    /// (<see cref="ReconcileState.Stop"/>). Judged by the task's own spec, so a rolling update that
    /// changes the constraints still replaces the old tasks batch by batch.
    /// </summary>
    public static void LeaveLostNodes(ReconcileState s)
    {
        var eligibility = new Dictionary<TaskSpec, NodeEligibility>(ReferenceEqualityComparer.Instance);
        foreach (var task in s.Tasks.ToList())
        {
            if (!TaskFacts.IsLive(task, s.IsJob) || task.NodeId.Length == 0)
            {
                continue;
            }

            var node = s.Node(task.NodeId);
            var (why, rejected) = node switch
            {
                null => ("left the swarm", false),
                { Status.State: NodeState.Down } => ("is down", false),
                { Spec.Availability: NodeAvailability.Drain } => ("is drained", false),
                _ when !EligibilityOf(task.Spec).Matches(node) => ("no longer meets the task's placement constraints", true),
                _ => ((string?)null, false),
            };
            if (why is not null)
            {
                s.Stop(task, $"task {task.Id} (slot {task.Slot}) stops: node {task.NodeId} {why}; it is replaced", rejected);
            }
        }

        // Tasks of one spec share it by reference: its constraints are parsed once per step.
        NodeEligibility EligibilityOf(TaskSpec spec)
        {
            if (!eligibility.TryGetValue(spec, out var judged))
            {
                eligibility[spec] = judged = new NodeEligibility(spec);
            }

            return judged;
        }
    }

    /// <summary>
    /// As many occupied slots as replicas. A slot is occupied while it has a task not asked to be
    /// removed, live or dead (a slot waiting for its restart, done, or out of attempts still counts).
    /// Scaling down removes whole slots (every task desired Remove): first those with no running
    /// task, then those on the node with the most tasks of the service (counted again after each
    /// removal, so nodes even out), then the highest slot. Scaling up takes the lowest free numbers, at
    /// most <see cref="ReconcileState.MaxNewTasksPerDecision"/> in one decision (the next one goes on).
    /// </summary>
    public static void Scale(ReconcileState s, long replicas)
    {
        var slots = s.Slots();
        var surplus = slots.Count - Math.Max(0, replicas);
        if (surplus > 0)
        {
            RemoveSlots(s, slots, surplus);
            return;
        }

        var number = 1L;
        for (var missing = Math.Min(-surplus, s.NewTaskBudget); missing > 0; missing--)
        {
            while (slots.ContainsKey(new SlotKey(number, "")))
            {
                number++;
            }

            s.CreateTask(new SlotKey(number, ""), TaskState.Running, $"scaled to {replicas}: slot {number}");
            number++;
        }
    }

    private static void RemoveSlots(ReconcileState s, SortedDictionary<SlotKey, List<TaskObject>> slots, long count)
    {
        var load = s.Tasks.Where(t => TaskFacts.IsLive(t, s.IsJob) && t.NodeId.Length > 0)
            .CountBy(t => t.NodeId)
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var candidates = slots.Select(p => (Key: p.Key, Tasks: p.Value, Live: p.Value.Where(t => TaskFacts.IsLive(t, s.IsJob)).ToList())).ToList();
        for (var i = 0; i < count; i++)
        {
            var pick = candidates
                .OrderBy(c => c.Live.Any(t => t.Status.State == TaskState.Running) ? 1 : 0)
                .ThenByDescending(c => c.Live.Count > 0 ? load.GetValueOrDefault(TaskFacts.Best(c.Live).NodeId) : 0)
                .ThenByDescending(c => c.Key)
                .First();
            candidates.Remove(pick);
            if (pick.Live.Count > 0 && TaskFacts.Best(pick.Live).NodeId is { Length: > 0 } node)
            {
                load[node]--;
            }

            foreach (var task in pick.Tasks)
            {
                s.SetDesired(task, TaskState.Remove, $"scaled down: task {task.Id} ({pick.Key}) is removed");
            }
        }
    }

    /// <summary>Every occupied slot without a live task is judged by the restart policy and filled when due.</summary>
    public static void Fill(ReconcileState s)
    {
        foreach (var (key, tasks) in s.Slots())
        {
            SlotRules.Fill(s, key, tasks, mayCreate: true);
        }
    }

    /// <summary>
    /// A replicated job: slots 1..TotalCompletions each need one success of the current run, with at
    /// most MaxConcurrent tasks live at once, lowest slots first. Tasks of slots beyond the total are removed.
    /// </summary>
    public static void FillJob(ReconcileState s)
    {
        var mode = s.Service!.Spec.Mode;
        var maxConcurrent = Math.Max(1, mode.MaxConcurrent);
        var total = mode.TotalCompletions > 0 ? mode.TotalCompletions : maxConcurrent;
        var slots = s.Slots();
        foreach (var (key, tasks) in slots.Where(p => p.Key.Slot < 1 || p.Key.Slot > total))
        {
            foreach (var task in tasks)
            {
                s.SetDesired(task, TaskState.Remove, $"task {task.Id} ({key}) is removed: the job wants {total} completions");
            }
        }

        var budget = maxConcurrent - slots.Values.Count(tasks => tasks.Any(t => TaskFacts.IsLive(t, isJob: true)));
        var lastUsed = slots.Count > 0 ? slots.Keys.Max().Slot : 0;
        for (var slot = 1L; slot <= total && (budget > 0 || slot <= lastUsed); slot++)
        {
            var tasks = slots.GetValueOrDefault(new SlotKey(slot, "")) ?? [];
            if (SlotRules.Fill(s, new SlotKey(slot, ""), tasks, mayCreate: budget > 0))
            {
                budget--;
            }
        }
    }
}
