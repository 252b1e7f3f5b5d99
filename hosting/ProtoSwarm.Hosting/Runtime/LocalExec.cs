using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>An executor that can run one more process in a task's container (<see cref="LinuxExecutor"/>).</summary>
internal interface ITaskExec
{
    /// <summary>Runs <paramref name="spec"/> in the container of the task <paramref name="taskRef"/> names (<see cref="LocalExec.Resolve"/>);
    /// throws <see cref="TaskExecException"/> when the task is not one this node runs, or not running.</summary>
    Task<(string TaskId, ExecResult Result)> ExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct);
}

/// <summary>Why a task could not be exec'd in, with the code the CLI reports.</summary>
internal sealed class TaskExecException(RejectCode code, string message) : Exception(message)
{
    public RejectCode Code { get; } = code;
}

/// <summary>
/// The node's answer to `protoswarm exec` (<see cref="ExecInTask"/>): the command runs in a task's
/// container on this node, through the executor that runs it. A worker has no store, so a task is
/// named by what this node knows: its id, or a prefix of it unique among the node's containers.
/// </summary>
internal static class LocalExec
{
    public static async Task<object> HandleAsync(ITaskExecutor? executor, ExecInTask request, CancellationToken ct)
    {
        if (executor is not ITaskExec exec)
        {
            return new CommandRejected(RejectCode.InvalidArgument, executor is null
                ? "this node runs no tasks (protoswarmd --executor none); exec needs --executor linux"
                : "this node runs tasks with the test executor; exec needs --executor linux");
        }

        var command = request.Command.IsDefault ? [] : request.Command;
        if (command.Length == 0 || command[0].Length == 0)
        {
            return new CommandRejected(RejectCode.InvalidArgument, "exec needs a command: protoswarm exec TASK COMMAND [ARG...]");
        }

        var spec = new ExecSpecification
        {
            Command = command,
            Env = request.Env.IsDefault ? [] : request.Env,
            User = string.IsNullOrEmpty(request.User) ? null : request.User,
            WorkingDir = string.IsNullOrEmpty(request.WorkingDir) ? null : request.WorkingDir,
            Timeout = request.Timeout,
            OutputLimit = ExecCompleted.OutputLimitBytes,
        };
        try
        {
            var (taskId, result) = await exec.ExecAsync(request.TaskRef, spec, ct);
            return new ExecCompleted(taskId, result.ExitCode, result.Stdout, result.Stderr, result.TimedOut);
        }
        catch (TaskExecException e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
        catch (ArgumentException e)
        {
            return new CommandRejected(RejectCode.InvalidArgument, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new CommandRejected(RejectCode.Internal, $"exec in task {request.TaskRef} failed: {e.Message}; see protoswarmd's log");
        }
    }

    /// <summary>
    /// The id of the task <paramref name="taskRef"/> names among <paramref name="taskIds"/>: an id, a
    /// unique prefix of one, or docker's container name for a task, SERVICE.SLOT.TASKID (by its id part).
    /// </summary>
    public static string Resolve(string taskRef, IEnumerable<string> taskIds)
    {
        if (taskRef.Length == 0)
        {
            throw new TaskExecException(RejectCode.InvalidArgument, "no task given: name it by its id or a unique prefix of it (`protoswarm service ps` shows them)");
        }

        var ids = taskIds.ToList();
        var matches = Matches(taskRef, ids);
        if (matches.Count == 0 && taskRef.LastIndexOf('.') is var dot and > 0 && dot < taskRef.Length - 1)
        {
            matches = Matches(taskRef[(dot + 1)..], ids);
        }

        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new TaskExecException(RejectCode.NotFound,
                $"no task {taskRef} runs on this node; run `protoswarm service ps` to see where it runs, and exec on that node"),
            _ => throw new TaskExecException(RejectCode.InvalidArgument,
                $"task prefix {taskRef} is ambiguous on this node: it matches {string.Join(", ", matches)}; give more of the id"),
        };
    }

    private static List<string> Matches(string reference, List<string> ids) =>
        ids.Contains(reference, StringComparer.Ordinal)
            ? [reference]
            : [.. ids.Where(id => id.StartsWith(reference, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
}
