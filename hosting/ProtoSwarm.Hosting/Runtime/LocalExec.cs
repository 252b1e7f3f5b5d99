using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>An executor that can run one more process in a task's container (<see cref="LinuxExecutor"/>).</summary>
internal interface ITaskExec
{
    /// <summary>Runs <paramref name="spec"/> in the container of the task <paramref name="taskRef"/> names (<see cref="LocalExec.Resolve"/>);
    /// throws <see cref="TaskExecException"/> when the task is not one this node runs, or not running.</summary>
    Task<(string TaskId, ExecResult Result)> ExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct);

    /// <summary>The same, returning once the process runs, with its streams to relay (exec -i, -t, -d).</summary>
    Task<(string TaskId, ExecSession Session)> StartExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct);
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
    /// <summary>How long, after the command ended, a background child that still holds its output may delay the exit frame.</summary>
    private static readonly TimeSpan OutputDrain = TimeSpan.FromSeconds(2);

    /// <param name="elsewhere">Where a task this node does not run runs, as a sentence for the refusal (<see cref="Elsewhere"/>),
    /// or null when that is not known here (a worker has no store).</param>
    public static async Task<object> HandleAsync(ITaskExecutor? executor, ExecInTask request, CancellationToken ct, Func<string, string?>? elsewhere = null)
    {
        var (exec, refusal, spec) = Prepare(executor, request);
        if (exec is null || spec is null)
        {
            return refusal!;
        }

        try
        {
            if (request.Detach)
            {
                var (startedId, session) = await exec.StartExecAsync(request.TaskRef, spec, ct);
                _ = Task.Run(() => ReapWhenDoneAsync(session), CancellationToken.None);
                return new ExecStarted(startedId);
            }

            var (taskId, result) = await exec.ExecAsync(request.TaskRef, spec, ct);
            return new ExecCompleted(taskId, result.ExitCode, result.Stdout, result.Stderr, result.TimedOut);
        }
        catch (Exception e) when (Refusal(request, e, elsewhere) is { } rejected)
        {
            return rejected;
        }
    }

    /// <summary>
    /// exec -i / -t: answers <see cref="ExecStarted"/> (or a refusal) on <paramref name="connection"/>, then
    /// relays exec frames both ways until the command ends, and last sends its exit frame. A client that
    /// goes away (or stops in the middle of a frame) has the command killed with what it started.
    /// </summary>
    public static async Task StreamAsync(ITaskExecutor? executor, ExecInTask request, Stream connection, CancellationToken ct, Func<string, string?>? elsewhere = null)
    {
        var (exec, refusal, spec) = Prepare(executor, request);
        if (exec is null || spec is null)
        {
            await ControlFraming.WriteAsync(connection, refusal!, ct);
            return;
        }

        string taskId;
        ExecSession session;
        try
        {
            (taskId, session) = await exec.StartExecAsync(request.TaskRef, spec, ct);
        }
        catch (Exception e) when (Refusal(request, e, elsewhere) is { } rejected)
        {
            await ControlFraming.WriteAsync(connection, rejected, ct);
            return;
        }

        await using (session)
        {
            await using var stop = ct.Register(session.Kill);
            try
            {
                await ControlFraming.WriteAsync(connection, new ExecStarted(taskId), ct);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                session.Kill();
                return;
            }

            using var relay = new ExecRelay(connection, session);
            await relay.RunAsync(OutputDrain);
        }
    }

    private static (ITaskExec? Exec, object? Refusal, ExecSpecification? Spec) Prepare(ITaskExecutor? executor, ExecInTask request)
    {
        if (executor is not ITaskExec exec)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, executor is null
                ? "this node runs no tasks (protoswarmd --executor none); exec needs --executor linux"
                : "this node runs tasks with the test executor; exec needs --executor linux"), null);
        }

        var command = request.Command.IsDefault ? [] : request.Command;
        if (command.Length == 0 || command[0].Length == 0)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "exec needs a command: protoswarm exec TASK COMMAND [ARG...]"), null);
        }

        return (exec, null, new ExecSpecification
        {
            Command = command,
            Env = request.Env.IsDefault ? [] : request.Env,
            User = string.IsNullOrEmpty(request.User) ? null : request.User,
            WorkingDir = string.IsNullOrEmpty(request.WorkingDir) ? null : request.WorkingDir,
            Timeout = request.Timeout,
            OutputLimit = ExecCompleted.OutputLimitBytes,
            Interactive = request.Interactive && !request.Detach,
            // docker's -dt gives a terminal nobody reads; a detached command here gets /dev/null instead.
            Tty = request.Tty && !request.Detach,
            Detached = request.Detach,
            Rows = (ushort)Math.Clamp(request.Rows, 0, ushort.MaxValue),
            Columns = (ushort)Math.Clamp(request.Columns, 0, ushort.MaxValue),
        });
    }

    private static CommandRejected? Refusal(ExecInTask request, Exception e, Func<string, string?>? elsewhere) => e switch
    {
        TaskExecException { Code: RejectCode.NotFound } t => new CommandRejected(t.Code, elsewhere?.Invoke(request.TaskRef) ?? t.Message),
        TaskExecException t => new CommandRejected(t.Code, t.Message),
        ArgumentException => new CommandRejected(RejectCode.InvalidArgument, e.Message),
        OperationCanceledException => null,
        _ => new CommandRejected(RejectCode.Internal, $"exec in task {request.TaskRef} failed: {e.Message}; see protoswarmd's log"),
    };

    // exec -d: the command's output is /dev/null and it outlives this process (ExecSpecification.Detached);
    // the session is kept only to reap init when the command ends, while this node host still runs.
    private static async Task ReapWhenDoneAsync(ExecSession session)
    {
        await using (session)
        {
            await session.Completion;
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
                $"no task {taskRef} runs on this node; run `protoswarm service ps` on a manager to see where it runs, and exec on that node"),
            _ => throw new TaskExecException(RejectCode.InvalidArgument,
                $"task prefix {taskRef} is ambiguous on this node: it matches {string.Join(", ", matches)}; give more of the id"),
        };
    }

    /// <summary>
    /// Where the task <paramref name="taskRef"/> names runs when it is not on this node (<paramref name="thisNodeId"/>), read
    /// in a manager's store: "task X is running on node m2 ...", naming the node by hostname, since exec runs only where the
    /// task runs (the CLI talks to its own node; docker's exec is per-engine too). Null when the store has no such task, or
    /// has it on this node (then the plain refusal stands).
    /// </summary>
    public static string? Elsewhere(string taskRef, IEnumerable<TaskObject> tasks, IEnumerable<NodeObject> nodes, string thisNodeId)
    {
        var byId = tasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
        string id;
        try
        {
            id = Resolve(taskRef, byId.Keys);
        }
        catch (TaskExecException)
        {
            return null;
        }

        var task = byId[id];
        if (task.NodeId == thisNodeId)
        {
            return null;
        }

        if (task.NodeId.Length == 0)
        {
            return $"task {taskRef} is not on any node yet ({task.Status.State.ToString().ToLowerInvariant()}); exec once it runs, on the node `protoswarm service ps` shows";
        }

        var node = nodes.FirstOrDefault(n => n.Id == task.NodeId);
        var host = node is null ? task.NodeId : node.Description.Hostname.Length > 0 ? node.Description.Hostname : node.Id;
        var where = task.Status.State == TaskState.Running
            ? $"task {taskRef} is running on node {host}"
            : $"task {taskRef} is on node {host} ({task.Status.State.ToString().ToLowerInvariant()})";
        return $"{where}, not on this node; exec runs on the node that runs the task: run `protoswarm exec` on {host}";
    }

    private static List<string> Matches(string reference, List<string> ids) =>
        ids.Contains(reference, StringComparer.Ordinal)
            ? [reference]
            : [.. ids.Where(id => id.StartsWith(reference, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
}
