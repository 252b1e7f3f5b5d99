using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// The tasks of this node (the agent's child, named <c>tasks</c>): one <see cref="TaskActor"/> per
/// assigned task, named by the task's id. It applies <see cref="TaskAssignments"/> (a full set
/// replaces what it holds; otherwise tasks are added or updated and the removed ones go), forwards
/// every <see cref="TaskStatusChanged"/> to its parent unchanged and keeps the latest of each, which
/// <see cref="ResendTaskStatuses"/> sends again. It answers <see cref="ReadTaskLogs"/> by asking each
/// task actor named for one page of its log, all at once; a task whose actor does not answer in time is answered with why, and
/// <see cref="ReadTaskUsage"/> through one <see cref="TaskUsageSampler"/> over the executor. The agent checks each assignment's epoch and
/// sequence before it gets here; this actor takes what it is given. It holds the secrets and configs
/// the assignments carry (<see cref="TaskPayloads"/>, in memory only) and gives each new task actor
/// the files of its task; a removed one is forgotten at once (a container that has it keeps its copy).
/// Its task actors share one <see cref="StartGate"/>: the node's limit on containers preparing or starting at once.
/// </summary>
public sealed partial class TaskSupervisor : IActor
{
    /// <summary>
    /// How long a task actor has to answer one page of a log read; below the agent's 4.5 s and the managers' 5 s.
    /// A page still parses the log files from the start (20 MB at most with the default rotation), which on a busy
    /// node took more than the 2 s this once was.
    /// </summary>
    private static readonly TimeSpan LogReadTimeout = TimeSpan.FromSeconds(4);

    private readonly ITaskExecutor _executor;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Dictionary<string, PID> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _taskIdOfActor = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskObservedStatus> _statuses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskObject> _returning = new(StringComparer.Ordinal);
    private readonly TaskPayloads _payloads = new();
    private readonly TaskUsageSampler _usage;
    private readonly StartGate _gate;

    /// <param name="maxConcurrentStarts">How many of its tasks may be preparing or starting at once (<see cref="StartGate"/>); 0: no limit.</param>
    public TaskSupervisor(ITaskExecutor executor, TimeProvider time, ILoggerFactory loggerFactory, int maxConcurrentStarts = 0)
    {
        _gate = new StartGate(maxConcurrentStarts);
        _executor = executor;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<TaskSupervisor>();
        _usage = new TaskUsageSampler(executor, time);
    }

    /// <summary>
    /// The supervisor's props, with the one thing its task actors need of a parent: a task actor that
    /// throws is resumed, never restarted, since a restart would begin again from the task as first
    /// assigned and could start its container a second time.
    /// </summary>
    public static Props PropsFor(ITaskExecutor executor, TimeProvider time, ILoggerFactory loggerFactory, int maxConcurrentStarts = 0) =>
        Props.FromProducer(() => new TaskSupervisor(executor, time, loggerFactory, maxConcurrentStarts))
            .WithChildSupervisorStrategy(new OneForOneStrategy((_, _) => SupervisorDirective.Resume, 0, null));

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        TaskAssignments assignments => OnAssignments(context, assignments),
        TaskStatusChanged changed => OnStatusChanged(context, changed),
        ResendTaskStatuses => OnResend(context),
        ReadTaskLogs read => OnReadLogs(context, read),
        ReadTaskUsage read => OnReadUsage(context, read),
        Terminated terminated => OnTerminated(context, terminated),
        _ => Task.CompletedTask,
    };

    private Task OnAssignments(IContext context, TaskAssignments assignments)
    {
        // Before the tasks: a new task's secrets come in the same message.
        _payloads.Apply(assignments);
        if (assignments.Full)
        {
            var wanted = assignments.Tasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var id in _tasks.Keys.Where(id => !wanted.Contains(id)).ToList())
            {
                Remove(context, id);
            }

            foreach (var id in _returning.Keys.Where(id => !wanted.Contains(id)).ToList())
            {
                _returning.Remove(id);
            }

            // Ended by this node's word (its latest report, or the managers' copy of it): nothing but their containers is theirs any more.
            var ended = assignments.Tasks
                .Where(t => TaskStates.IsTerminal(t.Status.State) || (_statuses.TryGetValue(t.Id, out var latest) && TaskStates.IsTerminal(latest.State)))
                .Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
            // A task actor still removing its task keeps its container until it is done (its stop grace).
            var owned = wanted.Concat(_tasks.Keys).ToHashSet(StringComparer.Ordinal);
            _ = _executor.RetainOnlyAsync(owned, ended, CancellationToken.None);
        }

        foreach (var task in assignments.Tasks)
        {
            Upsert(context, task);
        }

        foreach (var id in assignments.Removed)
        {
            _returning.Remove(id);
            Remove(context, id);
        }

        return Task.CompletedTask;
    }

    private void Upsert(IContext context, TaskObject task)
    {
        if (_removing.Contains(task.Id))
        {
            // Its old actor is still shutting down under the same name: start afresh once it stopped.
            _returning[task.Id] = task;
            return;
        }

        if (_tasks.TryGetValue(task.Id, out var actor))
        {
            context.Send(actor, new TaskUpdated(task));
            return;
        }

        Spawn(context, task);
    }

    private void Spawn(IContext context, TaskObject task)
    {
        var files = _payloads.FilesOf(task);
        var actor = context.SpawnNamed(Props.FromProducer(() => new TaskActor(task, _executor, _time, _loggerFactory, files, _gate)), task.Id);
        _tasks[task.Id] = actor;
        _taskIdOfActor[actor.Id] = task.Id;
        LogTaskAdded(_logger, task.Id, task.Status.State, task.DesiredState);
    }

    private void Remove(IContext context, string taskId)
    {
        if (_tasks.TryGetValue(taskId, out var actor) && _removing.Add(taskId))
        {
            context.Send(actor, TaskRemoved.Instance);
        }
    }

    private Task OnStatusChanged(IContext context, TaskStatusChanged changed)
    {
        if (_tasks.ContainsKey(changed.TaskId))
        {
            _statuses[changed.TaskId] = changed.Status;
        }

        if (context.Parent is { } parent)
        {
            context.Send(parent, changed);
        }

        return Task.CompletedTask;
    }

    private Task OnResend(IContext context)
    {
        if (context.Parent is { } parent)
        {
            foreach (var (taskId, status) in _statuses)
            {
                context.Send(parent, new TaskStatusChanged(taskId, status));
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Answers the lines of the tasks asked for; a task this node does not hold, or whose actor does not answer in time, has none.</summary>
    private Task OnReadLogs(IContext context, ReadTaskLogs read)
    {
        var sender = context.Sender;
        var reads = read.Tasks.Select(cursor => ReadOne(context, cursor, read)).ToList();
        context.ReenterAfter(Task.WhenAll(reads), done =>
        {
            if (sender is not null)
            {
                context.Send(sender, new TaskLogs(string.Empty, [.. done.Result]));
            }

            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    /// <summary>
    /// Answers the usage of the tasks asked for that this node holds and whose containers run. The
    /// reading runs on the thread pool (it may wait once for a second reading); a failed one answers none, with why.
    /// </summary>
    private Task OnReadUsage(IContext context, ReadTaskUsage read)
    {
        var sender = context.Sender;
        var held = read.TaskIds.Where(_tasks.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
        var ct = context.CancellationToken;
        var reading = held.Count == 0
            ? Task.FromResult(ImmutableArray<TaskUsage>.Empty)
            : Task.Run(() => _usage.ReadAsync(held, ct), CancellationToken.None);
        context.ReenterAfter(reading, done =>
        {
            var error = done.IsCompletedSuccessfully ? null : done.Exception?.GetBaseException().Message ?? "cancelled";
            if (error is not null)
            {
                LogUsageReadFailed(_logger, error);
            }

            if (sender is not null)
            {
                context.Send(sender, new NodeTaskUsage(string.Empty, done.IsCompletedSuccessfully ? done.Result : [], error));
            }

            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    /// <summary>One task's page; a read that failed or took too long says so (Error), so the operator is told, not shown nothing.</summary>
    private async Task<TaskLog> ReadOne(IContext context, TaskLogCursor cursor, ReadTaskLogs read)
    {
        if (!_tasks.TryGetValue(cursor.TaskId, out var actor))
        {
            return new TaskLog(cursor.TaskId, [], Start: cursor.After);
        }

        try
        {
            return await context.RequestAsync<TaskLog>(actor, new ReadTaskLog(cursor.After, read.Tail, read.Since, read.MaxBytes), LogReadTimeout);
        }
        catch (Exception e) when (e is TimeoutException or DeadLetterException or OperationCanceledException)
        {
            LogLogReadFailed(_logger, cursor.TaskId, e.Message);
            var why = e is TimeoutException ? $"reading it took longer than {LogReadTimeout.TotalSeconds:0} s" : "its task actor is gone";
            return new TaskLog(cursor.TaskId, [], Start: cursor.After, Error: why);
        }
    }

    private Task OnTerminated(IContext context, Terminated terminated)
    {
        if (!_taskIdOfActor.Remove(terminated.Who.Id, out var taskId))
        {
            return Task.CompletedTask;
        }

        _tasks.Remove(taskId);
        _statuses.Remove(taskId);
        if (!_removing.Remove(taskId))
        {
            LogTaskActorStopped(_logger, taskId);
        }

        if (_returning.Remove(taskId, out var task))
        {
            Spawn(context, task);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskId} assigned to this node ({State}, desired {Desired})")]
    private static partial void LogTaskAdded(ILogger logger, string taskId, TaskState state, TaskState desired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The log of task {TaskId} could not be read: {Reason}")]
    private static partial void LogLogReadFailed(ILogger logger, string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The usage of this node's tasks could not be read: {Reason}")]
    private static partial void LogUsageReadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The actor of task {TaskId} stopped without being removed; the next full assignment starts it again")]
    private static partial void LogTaskActorStopped(ILogger logger, string taskId);
}
