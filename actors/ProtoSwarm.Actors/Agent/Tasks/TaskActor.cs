using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// One task on this node (a child of the <see cref="TaskSupervisor"/>, named by the task's id). It
/// drives the task's container through its controller with <see cref="TaskStep"/>: it applies each
/// step, makes the call the step asks for, adds the call's outcome to the report and steps again,
/// and tells its parent each new observed status. Calls run on the thread pool and come back through
/// ReenterAfter, one at a time, so the actor thread never waits on a container; only the wait for
/// the container's exit (and its health) stays pending beside them. When the actor stops, its
/// context's token ends pending calls and waits, but not the container: a node host that stops
/// leaves its containers running, as docker's does. With a limit, its Prepare and Start go through the node's
/// <see cref="StartGate"/>: it enters before the Prepare and leaves once the Start returned (or
/// failed), or as soon as its next call is something else; a stop or a removal never waits there.
/// </summary>
public sealed partial class TaskActor : IActor
{
    private readonly ITaskController _controller;
    private readonly string? _missing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StartGate _gate;
    private IDisposable? _pass;

    /// <summary>While waiting at the gate and while inside: cancelled by a stop or a removal during the wait, and with the actor's own token.</summary>
    private CancellationTokenSource? _entering;
    private bool _waitingAtGate;
    private TaskObject _task;
    private ControllerReport _report = ControllerReport.Nothing;
    private ControllerOperation _busy;
    private bool _waiting;
    private bool _watchingHealth;
    private bool _removing;

    /// <param name="task">The task as assigned; its Status is where this node's observation starts.</param>
    /// <param name="files">Its secrets and configs with their data; one the node was not given refuses the task at its prepare.</param>
    /// <param name="gate">The node's limit on concurrent starts; none when not given.</param>
    public TaskActor(TaskObject task, ITaskExecutor executor, TimeProvider time, ILoggerFactory loggerFactory, TaskFiles? files = null, StartGate? gate = null)
    {
        _gate = gate ?? StartGate.Unlimited;
        _task = task;
        files ??= TaskFiles.None;
        _missing = files.Problem;
        _controller = executor.CreateController(task, _missing is null ? files : TaskFiles.None);
        _time = time;
        _logger = loggerFactory.CreateLogger<TaskActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        Stopping => OnStopping(),
        TaskUpdated updated => OnUpdated(context, updated),
        TaskRemoved => OnRemoved(context),
        ReadTaskLog read => OnReadLog(context, read),
        _ => Task.CompletedTask,
    };

    private Task OnStarted(IContext context)
    {
        Advance(context);
        return Task.CompletedTask;
    }

    /// <summary>The context's token gives the pass back too; this only does it without waiting for the token.</summary>
    private Task OnStopping()
    {
        LeaveGate();
        return Task.CompletedTask;
    }

    private Task OnUpdated(IContext context, TaskUpdated updated)
    {
        var desired = updated.Task.DesiredState;
        if (updated.Task.Id != _task.Id || desired == _task.DesiredState)
        {
            return Task.CompletedTask;
        }

        if (TaskStates.CheckDesiredTransition(_task.DesiredState, desired) is { } reason)
        {
            LogDesiredRefused(_logger, _task.Id, reason);
            return Task.CompletedTask;
        }

        _task = _task with { DesiredState = desired };
        StopWaitingIfStopped();
        Advance(context);
        return Task.CompletedTask;
    }

    private Task OnRemoved(IContext context)
    {
        _removing = true;
        if (_task.DesiredState < TaskState.Remove)
        {
            _task = _task with { DesiredState = TaskState.Remove };
        }

        StopWaitingIfStopped();
        Advance(context);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads the container's log, and cuts the page, off the actor thread. Unlike the lifecycle's calls it does not wait
    /// for the one in flight: a log read changes nothing, and a slow stop must not hold up `service logs`. A failed
    /// read answers its reason, so the operator is told rather than shown nothing.
    /// </summary>
    private Task OnReadLog(IContext context, ReadTaskLog read)
    {
        var sender = context.Sender;
        var controller = _controller;
        var ct = context.CancellationToken;
        var taskId = _task.Id;
        // With since the tail counts the lines since then, so the controller reads them all; without either, a page's worth.
        var tail = read.Since is null ? read.Tail : null;
        var limit = read.Since is null && read.Tail is null ? TaskLogPaging.ReadLimit(read.MaxBytes) : (int?)null;
        var reading = Task.Run(async () => TaskLogPaging.Page(
            taskId, await controller.ReadLogsAsync(read.After, tail, limit, ct), read.After, read.Tail, read.Since, read.MaxBytes), CancellationToken.None);
        context.ReenterAfter(reading, done =>
        {
            if (!done.IsCompletedSuccessfully)
            {
                LogCallFailed(_logger, taskId, ControllerOperation.ReadLogs, FailureMessage(done));
            }

            if (sender is not null)
            {
                context.Send(sender, done.IsCompletedSuccessfully ? done.Result : new TaskLog(taskId, [], Start: read.After, Error: FailureMessage(done)));
            }

            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    /// <summary>Steps until the task needs a call or has nothing to do; a call in flight steps again when it returns.</summary>
    private void Advance(IContext context)
    {
        if (_busy != ControllerOperation.None)
        {
            return;
        }

        // Each status a step returns is a forward move, so this ends within the number of states.
        while (true)
        {
            var step = TaskStep.Next(_task, _report, _time.GetUtcNow());
            if (step.Status is { } status)
            {
                Report(context, status);
            }

            if (step.Action != ControllerOperation.None)
            {
                Call(context, step.Action);
                return;
            }

            if (step.Status is null)
            {
                break;
            }
        }

        // Prepared but not to be started now (desired Ready, or a stop that needs no call): its place goes to the next.
        LeaveGate();

        if (_removing && TaskStates.IsTerminal(_task.Status.State))
        {
            Call(context, ControllerOperation.Remove);
        }
    }

    private void Report(IContext context, TaskObservedStatus status)
    {
        LogMoved(_logger, _task.Id, TaskStates.Name(_task.Status.State), TaskStates.Name(status.State), status.Err);
        _task = _task with { Status = status };
        if (context.Parent is { } parent)
        {
            context.Send(parent, new TaskStatusChanged(_task.Id, status));
        }
    }

    private static bool IsGated(ControllerOperation operation) =>
        operation is ControllerOperation.Prepare or ControllerOperation.Start;

    /// <summary>A task to be stopped or removed while it waits at the gate stops waiting: it has nothing left to start.</summary>
    private void StopWaitingIfStopped()
    {
        if (_waitingAtGate && _entering is { } entering && _task.DesiredState > TaskState.Running)
        {
            entering.Cancel();
        }
    }

    private void LeaveGate()
    {
        _pass?.Dispose();
        _pass = null;
        if (!_waitingAtGate)
        {
            _entering?.Dispose();
            _entering = null;
        }
    }

    private void Call(IContext context, ControllerOperation operation)
    {
        if (!IsGated(operation))
        {
            LeaveGate();
        }
        // Without a limit the call goes straight on, as before the gate existed: no wait, no extra turn of the actor.
        else if (_pass is null && _gate.Limit > 0 && (operation != ControllerOperation.Prepare || _missing is null))
        {
            EnterGate(context, operation);
            return;
        }

        _busy = operation;
        var controller = _controller;
        var ct = context.CancellationToken;
        var missing = operation == ControllerOperation.Prepare ? _missing : null;
        var call = missing is null
            ? QueueFairly(() => InvokeAsync(controller, operation, ct))
            : Task.FromException<ContainerInspection?>(new InvalidOperationException(missing));
        context.ReenterAfter(call, done =>
        {
            OnCallReturned(context, operation, done);
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// Waits for this task's turn at the node's start gate, then steps again: the step may have moved
    /// on while it waited (a stop, a removal), and a call other than Prepare or Start leaves at once.
    /// </summary>
    private void EnterGate(IContext context, ControllerOperation operation)
    {
        _busy = operation;
        _waitingAtGate = true;
        var entering = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        _entering = entering;
        context.ReenterAfter(_gate.EnterAsync(entering.Token), done =>
        {
            _busy = ControllerOperation.None;
            _waitingAtGate = false;
            if (done.IsCompletedSuccessfully)
            {
                // The pass goes back with this token too (an actor that stops), so the token lives as long as the pass.
                _pass = done.Result;
            }

            if (context.CancellationToken.IsCancellationRequested || !done.IsCompletedSuccessfully)
            {
                // Stopping, or the wait given up for a stop or a removal, which the step now takes.
                LeaveGate();
                if (context.CancellationToken.IsCancellationRequested)
                {
                    return Task.CompletedTask;
                }
            }

            Advance(context);
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// Runs a controller call on the thread pool's global queue, in turn with work that arrived
    /// from outside (a manager's request on a socket, a timer), not on this worker's own queue.
    /// Queued there (Task.Run from an actor's thread), a burst of a hundred prepares and starts ran
    /// before anything waiting in the global queue: the node host answered no request and sent no
    /// status report for most of a second while its tasks started (docs/benchmarks.md, issue 9).
    /// </summary>
    private static Task<T> QueueFairly<T>(Func<Task<T>> call) =>
        Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.PreferFairness | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();

    private void OnCallReturned(IContext context, ControllerOperation operation, Task<ContainerInspection?> done)
    {
        _busy = ControllerOperation.None;
        if (operation == ControllerOperation.Start || !done.IsCompletedSuccessfully)
        {
            LeaveGate();
        }

        if (context.CancellationToken.IsCancellationRequested)
        {
            return;
        }

        if (operation == ControllerOperation.Release)
        {
            // Tried once: the end is reported all the same, and the task's removal frees what is left.
            if (!done.IsCompletedSuccessfully)
            {
                LogCallFailed(_logger, _task.Id, operation, FailureMessage(done));
            }

            _report = _report with { Released = true };
        }
        else if (!done.IsCompletedSuccessfully)
        {
            var message = FailureMessage(done);
            LogCallFailed(_logger, _task.Id, operation, message);
            _report = _report with { Failure = new ControllerFailure(operation, message) };
        }
        else
        {
            _report = operation switch
            {
                ControllerOperation.Prepare => _report with { Prepared = true, HealthGated = _controller.HealthChecked, Ports = _controller.HostPorts },
                ControllerOperation.Start => _report with { StartedAt = _time.GetUtcNow() },
                ControllerOperation.Shutdown or ControllerOperation.Terminate => _report with { Stopped = true },
                ControllerOperation.Inspect when done.Result is { Exists: true } found =>
                    _report with
                    {
                        Exists = true, Prepared = true, StartedAt = found.StartedAt ?? _task.Status.StartedAt ?? _time.GetUtcNow(),
                        HealthGated = _controller.HealthChecked, Ports = _controller.HostPorts,
                    },
                ControllerOperation.Inspect => _report with { Exists = false },
                _ => _report,
            };
        }

        if (operation == ControllerOperation.Remove)
        {
            // Removed or not, the task is off this node; a container left behind is logged above.
            context.Stop(context.Self);
            return;
        }

        if (_report.Started && !_report.Stopped)
        {
            Watch(context);
        }

        Advance(context);
    }

    /// <summary>Once the container runs: one wait for its exit and, with a health check, one watch of its health.</summary>
    private void Watch(IContext context)
    {
        var ct = context.CancellationToken;
        if (!_waiting)
        {
            _waiting = true;
            var wait = Task.Run(() => _controller.WaitAsync(ct), CancellationToken.None);
            context.ReenterAfter(wait, done =>
            {
                if (context.CancellationToken.IsCancellationRequested)
                {
                    return Task.CompletedTask;
                }

                if (done.IsCompletedSuccessfully)
                {
                    _report = _report with { Exit = done.Result };
                }
                else
                {
                    var message = FailureMessage(done);
                    LogCallFailed(_logger, _task.Id, ControllerOperation.Wait, message);
                    _report = _report with { Failure = new ControllerFailure(ControllerOperation.Wait, message) };
                }

                Advance(context);
                return Task.CompletedTask;
            });
        }

        if (!_watchingHealth && (_report.HealthGated ?? TaskStep.HasHealthCheck(_task.Spec.Container)))
        {
            WatchHealth(context);
        }
    }

    private void WatchHealth(IContext context)
    {
        _watchingHealth = true;
        var known = _report.Health;
        var ct = context.CancellationToken;
        var watch = Task.Run(() => _controller.WaitHealthAsync(known, ct), CancellationToken.None);
        context.ReenterAfter(watch, done =>
        {
            _watchingHealth = false;
            if (context.CancellationToken.IsCancellationRequested)
            {
                return Task.CompletedTask;
            }

            var health = ContainerHealth.Unhealthy;
            if (done.IsCompletedSuccessfully)
            {
                health = done.Result;
            }
            else if (done.Exception?.GetBaseException() is ObjectDisposedException)
            {
                // The container is being stopped and its probes with it: its health no longer counts, and
                // calling it Unhealthy would fail a task that is only shutting down. Watch no more.
                return Task.CompletedTask;
            }
            else
            {
                // A health that cannot be learned is not healthy.
                LogCallFailed(_logger, _task.Id, ControllerOperation.WatchHealth, FailureMessage(done));
            }

            if (health == known)
            {
                // The controller broke its word (it answers only a change); asking again would spin.
                return Task.CompletedTask;
            }

            LogHealth(_logger, _task.Id, health);
            _report = _report with { Health = health };
            Advance(context);
            if (!TaskStates.IsTerminal(_task.Status.State))
            {
                WatchHealth(context);
            }

            return Task.CompletedTask;
        });
    }

    private static async Task<ContainerInspection?> InvokeAsync(ITaskController controller, ControllerOperation operation, CancellationToken ct)
    {
        switch (operation)
        {
            case ControllerOperation.Prepare:
                await controller.PrepareAsync(ct);
                return null;
            case ControllerOperation.Start:
                await controller.StartAsync(ct);
                return null;
            case ControllerOperation.Shutdown:
                await controller.ShutdownAsync(ct);
                return null;
            case ControllerOperation.Terminate:
                await controller.TerminateAsync(ct);
                return null;
            case ControllerOperation.Remove:
                await controller.RemoveAsync(ct);
                return null;
            case ControllerOperation.Release:
                await controller.ReleaseAsync(ct);
                return null;
            case ControllerOperation.Inspect:
                return await controller.InspectAsync(ct);
            default:
                throw new ArgumentOutOfRangeException(nameof(operation), operation, "the step never asks for this call");
        }
    }

    private static string FailureMessage(Task done) =>
        done.Exception?.GetBaseException().Message ?? "the call was cancelled";

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} {From}->{To} {Err}")]
    private static partial void LogMoved(ILogger logger, string taskId, string from, string to, string err);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: {Operation} failed: {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string taskId, ControllerOperation operation, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} is {Health}")]
    private static partial void LogHealth(ILogger logger, string taskId, ContainerHealth health);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: desired state not taken: {Reason}")]
    private static partial void LogDesiredRefused(ILogger logger, string taskId, string reason);
}
