using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>Tasks left behind on a node that was removed from the swarm (`node rm`).</summary>
internal static class RemovedNodes
{
    /// <summary>The message an orphaned task carries, naming the node it was lost with.</summary>
    public static string Message(string nodeId) => $"node {nodeId} was removed from the swarm";

    /// <summary>
    /// A task assigned to a node that is no longer in the store and not yet ended is observed
    /// Orphaned: nothing will report on it again, so its last report (Running, say) would otherwise
    /// stay in `service ps` for ever, and history pruning, which deletes only ended tasks, would
    /// never take it. Swarmkit's dispatcher marks a lost node's tasks Orphaned the same way (after
    /// 24 h of a node being down; a removed node never comes back, so here at once). The rules before
    /// this one have already stopped the task (desired Shutdown) and filled its slot, or asked a global
    /// task to be removed; those asked to be removed are deleted by <see cref="Cleanup.DeleteRemoved"/>
    /// and are left to it. A Down node's tasks are not touched: the node may come back and report them.
    /// </summary>
    public static void OrphanTasks(ReconcileState s)
    {
        foreach (var task in s.Tasks.ToList())
        {
            if (task.NodeId.Length > 0 && task.DesiredState < TaskState.Remove && s.Node(task.NodeId) is null)
            {
                s.Orphan(task, Message(task.NodeId),
                    $"task {task.Id} ({SlotKey.Of(task, s.IsGlobal)}) is orphaned: node {task.NodeId} was removed from the swarm");
            }
        }
    }
}
