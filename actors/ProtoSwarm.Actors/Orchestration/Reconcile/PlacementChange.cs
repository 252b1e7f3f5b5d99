using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// A service update that changes only where tasks may run (constraints, preferences, max replicas
/// per node) restarts no task whose node still meets the new placement, as swarmkit's IsTaskDirty
/// (a task dirty by placement alone is clean where its node satisfies the service's constraints).
/// </summary>
internal static class PlacementChange
{
    /// <summary>
    /// Each live, placed task whose spec differs from the service's in placement alone takes the
    /// current spec in place (<see cref="ReconcileState.TakeCurrentSpec"/>) when its node is there,
    /// neither down nor drained (those tasks are replaced anyway), meets the new constraints and, under
    /// a max replicas per node, has room for it beside the node's tasks of the current spec (running
    /// tasks first, then the lowest slot). The others stay dirty: a replicated task is replaced by the
    /// rolling update, batch by batch; a global one stops with its node's eligibility
    /// (<see cref="GlobalRules.FollowNodes"/>). A task taken so is clean from then on, so the update
    /// completes, the constraint enforcer judges it by the new constraints, and `service update`'s
    /// progress counts it as converged. Preferences are best effort and never move a placed task.
    /// A job's tasks are neither clean nor dirty: a job runs again through its iteration.
    /// </summary>
    public static void KeepPlacedTasks(ReconcileState s)
    {
        if (s.IsJob)
        {
            return;
        }

        var candidates = s.Tasks
            .Where(t => TaskFacts.IsLive(t, isJob: false) && t.NodeId.Length > 0 && s.Specs.IsDirtyByPlacementOnly(t))
            .OrderByDescending(t => t.Status.State)
            .ThenBy(t => t.Slot)
            .ThenBy(t => t.Id, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        var maxPerNode = s.Service!.Spec.TaskTemplate.Placement.MaxReplicasPerNode;
        var onNode = s.Tasks
            .Where(t => TaskFacts.IsLive(t, isJob: false) && t.NodeId.Length > 0 && !s.Specs.IsDirty(t))
            .CountBy(t => t.NodeId)
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var task in candidates)
        {
            if (s.Node(task.NodeId) is not { } node || node.Status?.State == NodeState.Down ||
                node.Spec?.Availability == NodeAvailability.Drain || !s.Eligibility.Matches(node))
            {
                continue;
            }

            var kept = onNode.GetValueOrDefault(task.NodeId);
            if (maxPerNode > 0 && kept >= maxPerNode)
            {
                continue;
            }

            onNode[task.NodeId] = kept + 1;
            s.TakeCurrentSpec(task, $"task {task.Id} ({SlotKey.Of(task, s.IsGlobal)}) keeps running: only the placement changed, and node {task.NodeId} meets it");
        }
    }
}
