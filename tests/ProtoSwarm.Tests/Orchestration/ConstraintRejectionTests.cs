using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration;

public class ConstraintRejectionTests
{
    private static TaskObject Marked(TaskState observed = TaskState.Running)
    {
        var task = Task("x1", 1, "a", observed, TaskState.Shutdown);
        return task with { Status = ConstraintRejection.Mark(task.Status) };
    }

    private static TaskObservedStatus Report(TaskState state, string err = "", int? exit = null) =>
        new(state, At(5), TaskStates.Name(state), err, exit);

    [Fact]
    public void The_Stop_Of_A_Task_Marked_For_Its_Constraints_Is_Stored_As_Its_Rejection()
    {
        var stored = ConstraintRejection.Stored(Marked(), Report(TaskState.Shutdown));

        Assert.Equal((TaskState.Rejected, "task rejected by constraint enforcer", "assigned node no longer meets constraints", At(5)),
            (stored.State, stored.Message, stored.Err, stored.Timestamp));
    }

    [Fact]
    public void A_Report_On_The_Way_Keeps_The_Reason_And_An_End_Of_The_Tasks_Own_Keeps_Its_Own()
    {
        Assert.Equal(ConstraintRejection.Error, ConstraintRejection.Stored(Marked(TaskState.Starting), Report(TaskState.Running)).Err);
        var failed = ConstraintRejection.Stored(Marked(), Report(TaskState.Failed, "task: non-zero exit (3)", 3));
        Assert.Equal((TaskState.Failed, "task: non-zero exit (3)"), (failed.State, failed.Err));
    }

    [Fact]
    public void Any_Other_Stop_Is_Stored_As_Reported()
    {
        var plain = Task("x1", 1, "a", TaskState.Running, TaskState.Shutdown);
        var report = Report(TaskState.Shutdown);

        Assert.Equal(report, ConstraintRejection.Stored(plain, report));
        // Not asked to stop (the mark is the managers' only with a stop): a report is the node's word.
        var running = Marked() with { DesiredState = TaskState.Running };
        Assert.Equal(report, ConstraintRejection.Stored(running, report));
    }
}
