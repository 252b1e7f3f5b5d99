using Microsoft.Extensions.Logging;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

// `protoswarm exec`: one more process in the container of a task this executor runs.
internal sealed partial class LinuxExecutor : ITaskExec
{
    public async Task<(string TaskId, ExecResult Result)> ExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct)
    {
        var taskId = StandaloneNamed(taskRef) ?? LocalExec.Resolve(taskRef, _containers.Keys);
        if (!_containers.TryGetValue(taskId, out var entry) || entry.Container is not { } container || Ended(container))
        {
            throw NotRunning(taskId);
        }

        try
        {
            var result = await container.ExecAsync(spec, ct);
            LogExec(_logger, taskId, spec.Command[0], result.ExitCode, result.TimedOut);
            return (taskId, result);
        }
        catch (ContainerExecException) when (Ended(container))
        {
            throw NotRunning(taskId);
        }
        catch (ContainerExecException e)
        {
            throw new TaskExecException(RejectCode.Internal, $"exec in task {taskId}: {e.Message}");
        }
    }

    public async Task<(string TaskId, ExecSession Session)> StartExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct)
    {
        var taskId = StandaloneNamed(taskRef) ?? LocalExec.Resolve(taskRef, _containers.Keys);
        if (!_containers.TryGetValue(taskId, out var entry) || entry.Container is not { } container || Ended(container))
        {
            throw NotRunning(taskId);
        }

        try
        {
            var session = await container.StartExecAsync(spec, ct);
            LogExecStarted(_logger, taskId, spec.Command[0], spec.Interactive, spec.Tty);
            return (taskId, session);
        }
        catch (ContainerExecException) when (Ended(container))
        {
            throw NotRunning(taskId);
        }
        catch (ContainerExecException e)
        {
            throw new TaskExecException(RejectCode.Internal, $"exec in task {taskId}: {e.Message}");
        }
    }

    private static bool Ended(LinuxContainer container) => container.WaitAsync(CancellationToken.None).IsCompleted;

    private static TaskExecException NotRunning(string taskId) =>
        new(RejectCode.Conflict, $"task {taskId} is not running; `protoswarm service ps` shows its state");

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: exec {Command} exited {ExitCode} (timed out: {TimedOut})")]
    private static partial void LogExec(ILogger logger, string taskId, string command, int exitCode, bool timedOut);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: exec {Command} started (interactive: {Interactive}, tty: {Tty})")]
    private static partial void LogExecStarted(ILogger logger, string taskId, string command, bool interactive, bool tty);
}
