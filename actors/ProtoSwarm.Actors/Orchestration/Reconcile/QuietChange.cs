using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// Which changes of a task the reconcile step cannot react to, once a step on the store before
/// them found nothing to do: the service actor then skips the step instead of running it over all
/// of the service's tasks again (100 status reports of a 100-replica service were 100 full steps).
/// <para>
/// The rules read a lone live task's observed state only through <see cref="TaskFacts.IsLive"/>
/// (the restart judgement, scaling, history), <see cref="TaskFacts.IsUnassigned"/> (deleting
/// removed tasks, pruning dead ones, a stop-first replacement waiting for its slot), its node (lost,
/// down or drained nodes) and, with Running, a rolling update's monitor and a start-first hand-over.
/// So a change is quiet when the service is a replicated or global service (no job) with no update
/// or rollback under way, the task is the only one its slot (or node) has ever had in the store the
/// step read, it is wanted Running before and after, its observed state stays short of an end
/// (Running at most), nothing but its status (and, once, its node: the scheduler's assignment, to
/// a node that is there, up and not drained) changed. Each such change leaves the step's inputs
/// where the step finds nothing to do, so any number of them in a row do too.
/// </para>
/// </summary>
public static class QuietChange
{
    /// <summary>
    /// Whether <paramref name="after"/>, the stored version of <paramref name="before"/>, needs no
    /// reconcile step. <paramref name="assignedTo"/> is the store's node of <paramref name="after"/>
    /// when the change assigned the task (null if the node is unknown).
    /// </summary>
    public static bool IsQuiet(ServiceObject? service, TaskObject before, TaskObject after, bool aloneInSlot, NodeObject? assignedTo)
    {
        if (service is null || service.Spec.Mode.IsJob || UpdateUnderWay(service) || !aloneInSlot)
        {
            return false;
        }

        if (before.Id != after.Id || before.ServiceId != after.ServiceId || before.Slot != after.Slot ||
            before.JobIteration != after.JobIteration || before.SpecVersion != after.SpecVersion)
        {
            return false;
        }

        if (before.DesiredState != TaskState.Running || after.DesiredState != TaskState.Running ||
            TaskStates.IsTerminal(before.Status.State) || TaskStates.IsTerminal(after.Status.State))
        {
            return false;
        }

        if (before.NodeId == after.NodeId)
        {
            return true;
        }

        // The scheduler's assignment: the node must be one the step would leave the task on.
        return before.NodeId.Length == 0 && !service.Spec.Mode.IsGlobal && assignedTo is { } node && node.Id == after.NodeId &&
               node.Status?.State != NodeState.Down && node.Spec.Availability != NodeAvailability.Drain;
    }

    /// <summary>An update or rollback whose monitor reads the tasks' Running.</summary>
    public static bool UpdateUnderWay(ServiceObject service) =>
        service.UpdateStatus is { State: UpdateState.Updating or UpdateState.RollbackStarted };
}
