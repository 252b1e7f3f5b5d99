using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>A global service (or global job) follows the nodes: one live task per eligible node.</summary>
internal static class GlobalRules
{
    /// <summary>
    /// Tasks follow their node: a node that left the store takes its tasks with it (desired Remove,
    /// deleted once they cannot run); a drained node, or one that no longer matches the constraints,
    /// has its task stopped (the latter ends Rejected, as swarmkit's constraint enforcer has it,
    /// <see cref="ReconcileState.Stop"/>); a paused node keeps its task; a down node's task is left alone, since
    /// it can run nowhere else and may come back with its node.
    /// </summary>
    public static void FollowNodes(ReconcileState s, NodeEligibility eligibility)
    {
        foreach (var (key, tasks) in s.Slots(currentIteration: false))
        {
            var node = s.Node(key.NodeId);
            if (node is null)
            {
                foreach (var task in tasks)
                {
                    s.SetDesired(task, TaskState.Remove, $"task {task.Id} is removed: node {key.NodeId} left the swarm");
                }

                continue;
            }

            var (why, rejected) = node switch
            {
                { Status.State: NodeState.Down } => (null, false),
                { Spec.Availability: NodeAvailability.Drain } => ("is drained", false),
                _ when !eligibility.Matches(node) => ("no longer matches the placement constraints", true),
                _ => ((string?)null, false),
            };
            if (why is null)
            {
                continue;
            }

            foreach (var task in tasks.Where(t => TaskFacts.IsLive(t, s.IsJob)))
            {
                s.Stop(task, $"task {task.Id} stops: node {key.NodeId} {why}", rejected);
            }
        }
    }

    /// <summary>Every eligible node is judged as a slot by the restart policy and gets a task when due; a global job's node that completed the current run is done.</summary>
    public static void Fill(ReconcileState s, NodeEligibility eligibility)
    {
        var slots = s.Slots();
        foreach (var node in s.Nodes)
        {
            var key = new SlotKey(0, node.Id);
            var tasks = slots.GetValueOrDefault(key) ?? [];
            SlotRules.Fill(s, key, tasks, mayCreate: eligibility.IsEligible(node));
        }
    }
}
