namespace ProtoSwarm.Contracts;

/// <summary>
/// How a task ended, as the managers' restart rule judges it; the CLI's progress reads the same rule
/// to tell when a service or job will get no more tasks, so it lives beside the task model.
/// </summary>
public static class TaskOutcome
{
    /// <summary>
    /// Ended in failure: Failed or Rejected, or a non-zero exit reported with Complete. Shutdown is
    /// what a node reports for a task it was asked to stop, so it is no failure, whatever its exit code.
    /// </summary>
    public static bool IsFailure(TaskObject task) =>
        task.Status.State is TaskState.Failed or TaskState.Rejected ||
        (task.Status.State == TaskState.Complete && task.Status.ExitCode is not (null or 0));

    /// <summary>A task that did its work: Complete, exit code 0 or none.</summary>
    public static bool Succeeded(TaskObject task) => task.Status.State == TaskState.Complete && !IsFailure(task);

    /// <summary>
    /// Ended by itself (exited or was refused by its node) rather than being stopped or lost; only
    /// these count as restart attempts, so node loss and drain never use up a slot's attempts.
    /// </summary>
    public static bool EndedOnItsOwn(TaskObject task) =>
        task.Status.State is TaskState.Complete or TaskState.Failed or TaskState.Rejected;
}
