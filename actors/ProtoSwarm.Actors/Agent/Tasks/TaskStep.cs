using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// A call on a task's controller. The step asks for Prepare, Start, Shutdown, Terminate, Inspect and
/// Release; the task actor itself keeps Wait and WatchHealth going once the container runs and calls
/// Remove when the task is taken off the node. A failure names the call that failed.
/// </summary>
public enum ControllerOperation
{
    None = 0,
    Prepare = 1,
    Start = 2,
    Wait = 3,
    WatchHealth = 4,
    Shutdown = 5,
    Terminate = 6,
    Inspect = 7,
    Remove = 8,
    ReadLogs = 9,
    Release = 10,
}

/// <summary>A controller call that threw, and its message (which becomes the task's error).</summary>
public sealed record ControllerFailure(ControllerOperation Operation, string Message);

/// <summary>
/// What the task's controller has reported so far, gathered by the task actor as calls return. The
/// step reads facts, not events, so the order in which a stop and an exit come back does not matter.
/// StartedAt is set once the container's process ran (from StartAsync, or from InspectAsync after a
/// node host restart); Exists is InspectAsync's answer (null: not asked); Stopped is set once
/// ShutdownAsync or TerminateAsync returned; Failure is the last call that threw; HealthGated is the
/// controller's word on a health check (the image's counts too; null: the task's spec decides);
/// Released is set once ReleaseAsync returned (failed or not: a release is tried once, and the
/// removal of the task sweeps what it left); Ports are the host-mode ports the node holds for the
/// task (<see cref="ITaskController.HostPorts"/>, once prepared or found again).
/// </summary>
public sealed record ControllerReport(
    bool Prepared = false,
    DateTimeOffset? StartedAt = null,
    bool? Exists = null,
    ContainerHealth Health = ContainerHealth.Starting,
    ContainerExit? Exit = null,
    bool Stopped = false,
    ControllerFailure? Failure = null,
    bool? HealthGated = null,
    bool Released = false,
    ImmutableArray<PortConfig> Ports = default)
{
    public static readonly ControllerReport Nothing = new();

    public ImmutableArray<PortConfig> Ports { get; init; } = Ports.IsDefault ? [] : Ports;

    public bool Started => StartedAt is not null;
}

/// <summary>What to do next: a controller call (or None) and the task's new observed status (or null: unchanged).</summary>
public sealed record TaskStepResult(ControllerOperation Action, TaskObservedStatus? Status)
{
    public static readonly TaskStepResult Idle = new(ControllerOperation.None, null);
}

/// <summary>
/// The task lifecycle on a node as one pure function, after swarmkit's exec.Do: from the task (its
/// desired state and the status observed so far) and what the controller reported, the next call
/// and the next observed status. No clock, no I/O: the task actor applies the result, makes the call,
/// adds its outcome to the report and steps again, so every rule is a row in a table test.
/// </summary>
public static class TaskStep
{
    /// <summary>Err of a task that arrived Starting or Running but whose container this node no longer has.</summary>
    public const string ContainerGone = "its container is gone (the node host restarted)";

    /// <summary>Err of a task whose health check failed: swarm replaces it (docker's wording).</summary>
    public const string Unhealthy = "task: container unhealthy";

    /// <summary>
    /// The next action and status of <paramref name="task"/>, whose Status is what this node last
    /// observed. The rules, first match wins:
    /// <list type="number">
    /// <item>An ended task (Complete and after) gets nothing: its end is final.</item>
    /// <item>A task that arrived Starting or Running without this process having started it is
    /// inspected first; if its container is gone it fails (a node host restart must not run it twice).</item>
    /// <item>Desired Shutdown or Remove: a task never prepared is shut down at once; otherwise its
    /// container is stopped (killed if the stop fails), and the task is Shutdown, unless it exited
    /// on its own before it was stopped.</item>
    /// <item>A failed call ends the task: Prepare rejects it, any other fails it.</item>
    /// <item>A health check gates Running: the task stays Starting until healthy, and fails (its
    /// container stopped) when unhealthy, before or after it was Running.</item>
    /// <item>An exit ends it: Complete with code 0, Failed otherwise.</item>
    /// <item>Otherwise it moves one state forward: Accepted, Preparing, Ready (after Prepare), then
    /// Starting (after Start) and Running, stopping at Ready while the managers want it only ready.</item>
    /// </list>
    /// Before any end is reported, the container is stopped (when the rule stops it) and then what the
    /// task held on the node apart from its container (its network namespace, its addresses) is
    /// released: the managers give a task's addresses out again as soon as they learn of its end, so
    /// the node must no longer hold them by then (docker too frees a container's network endpoint
    /// when it stops). A task that never got as far as Preparing has nothing to release.
    /// Every move is checked with <see cref="TaskStates.CheckTransition"/>; a move it refuses leaves
    /// the status unchanged. Each status carries the task's host-mode ports (docker's PortStatus):
    /// those the controller reported once it prepared or found the container, else those reported
    /// before (a node host restart keeps them); none once the task ended, as its node freed them.
    /// </summary>
    public static TaskStepResult Next(TaskObject task, ControllerReport report, DateTimeOffset now)
    {
        var next = Decide(task, report, now);
        if (next.Status is { } status && TaskStates.IsTerminal(status.State) && !report.Released && MayHoldResources(task.Status.State, report))
        {
            return next.Action != ControllerOperation.None ? Call(next.Action) : Call(ControllerOperation.Release);
        }

        return next;
    }

    /// <summary>Whether a prepare may have begun, so something of the task may be on the node beside its container.</summary>
    private static bool MayHoldResources(TaskState state, ControllerReport report) =>
        state >= TaskState.Preparing || report.Prepared || report.Started || report.Exists == true;

    private static TaskStepResult Decide(TaskObject task, ControllerReport report, DateTimeOffset now)
    {
        var status = task.Status;
        var state = status.State;
        if (TaskStates.IsTerminal(state))
        {
            return TaskStepResult.Idle;
        }

        if (state is TaskState.Starting or TaskState.Running && !report.Started)
        {
            if (report.Failure is { Operation: ControllerOperation.Inspect } inspectFailure)
            {
                return Move(status, report, TaskState.Failed, now, "failed", "task: inspecting the container failed: " + inspectFailure.Message);
            }

            return report.Exists switch
            {
                false => Move(status, report, TaskState.Failed, now, "failed", ContainerGone),
                _ => Call(ControllerOperation.Inspect),
            };
        }

        if (task.DesiredState >= TaskState.Shutdown)
        {
            return ShutDown(status, report, now);
        }

        if (report.Failure is { } failure)
        {
            return Failed(status, report, failure, now);
        }

        // Before the exit: the container stopped for being unhealthy exits too, and its end is still the health check's.
        var healthGated = report.HealthGated ?? HasHealthCheck(task.Spec.Container);
        if (report.Started && healthGated && report.Health == ContainerHealth.Unhealthy)
        {
            return Move(status, report, TaskState.Failed, now, "failed", Unhealthy, action: StopUnlessStopped(report));
        }

        if (report.Exit is { } exit)
        {
            return Exited(status, report, exit, now);
        }

        return state switch
        {
            < TaskState.Accepted => Move(status, report, TaskState.Accepted, now, "accepted"),
            TaskState.Accepted => Move(status, report, TaskState.Preparing, now, "preparing"),
            TaskState.Preparing => report.Prepared ? Move(status, report, TaskState.Ready, now, "prepared") : Call(ControllerOperation.Prepare),
            TaskState.Ready when !report.Prepared => Call(ControllerOperation.Prepare),
            TaskState.Ready when task.DesiredState <= TaskState.Ready => TaskStepResult.Idle,
            TaskState.Ready => report.Started ? Move(status, report, TaskState.Starting, now, "starting") : Call(ControllerOperation.Start),
            TaskState.Starting when !healthGated || report.Health == ContainerHealth.Healthy =>
                Move(status, report, TaskState.Running, now, "started"),
            _ => TaskStepResult.Idle,
        };
    }

    /// <summary>
    /// Whether the task's container has a health check that gates Running: one is given and it is not
    /// docker's ["NONE"] (an empty test inherits the image's, which the executor then reports on).
    /// </summary>
    public static bool HasHealthCheck(ContainerSpec container) =>
        container.HealthCheck is { } check && !(check.Test.Length > 0 && string.Equals(check.Test[0], "NONE", StringComparison.OrdinalIgnoreCase));

    /// <summary>How long a stop signal is given before SIGKILL: the spec's period (zero: SIGKILL at once), or docker's 10 s when none is set.</summary>
    public static TimeSpan StopGracePeriodOf(ContainerSpec container) =>
        container.StopGracePeriod ?? ContainerSpec.DefaultStopGracePeriod;

    /// <summary>The error of a task that exited with a code other than 0, as swarmkit words it.</summary>
    public static string NonZeroExit(int exitCode) => "task: non-zero exit (" + exitCode.ToString(CultureInfo.InvariantCulture) + ")";

    private static TaskStepResult ShutDown(TaskObservedStatus status, ControllerReport report, DateTimeOffset now)
    {
        if (report.Stopped || (status.State < TaskState.Preparing && !report.Prepared))
        {
            // Stopped, or never prepared: nothing of the task runs on this node.
            return Move(status, report, TaskState.Shutdown, now, "shutdown");
        }

        return report.Failure switch
        {
            { Operation: ControllerOperation.Shutdown } => Call(ControllerOperation.Terminate),
            { Operation: ControllerOperation.Terminate } terminate =>
                Move(status, report, TaskState.Failed, now, "failed", "task: the container could not be stopped: " + terminate.Message),
            _ when report.Exit is { } exit => Exited(status, report, exit, now),
            _ => Call(ControllerOperation.Shutdown),
        };
    }

    private static TaskStepResult Failed(TaskObservedStatus status, ControllerReport report, ControllerFailure failure, DateTimeOffset now) => failure.Operation switch
    {
        ControllerOperation.Prepare => Move(status, report, TaskState.Rejected, now, "rejected", failure.Message),
        ControllerOperation.Start => Move(status, report, TaskState.Failed, now, "failed", "task: starting the container failed: " + failure.Message),
        // The container's fate is unknown: stop whatever may still run of it.
        ControllerOperation.Wait => Move(status, report, TaskState.Failed, now, "failed", "task: waiting for the container failed: " + failure.Message, action: StopUnlessStopped(report)),
        _ => Move(status, report, TaskState.Failed, now, "failed", $"task: {failure.Operation.ToString().ToLowerInvariant()} failed: {failure.Message}"),
    };

    private static TaskStepResult Exited(TaskObservedStatus status, ControllerReport report, ContainerExit exit, DateTimeOffset now)
    {
        if (exit.ExitCode == 0)
        {
            return Move(status, report, TaskState.Complete, now, exit.Message.Length > 0 ? exit.Message : "finished", exitCode: 0);
        }

        var err = NonZeroExit(exit.ExitCode) + (exit.OomKilled ? ": the container ran out of memory (OOM-killed)" : string.Empty);
        return Move(status, report, TaskState.Failed, now, exit.Message.Length > 0 ? exit.Message : "failed", err, exit.ExitCode);
    }

    private static ControllerOperation StopUnlessStopped(ControllerReport report) => report.Stopped ? ControllerOperation.None : ControllerOperation.Shutdown;

    private static TaskStepResult Call(ControllerOperation action) => new(action, null);

    /// <summary>
    /// The move to <paramref name="to"/>, if allowed; the status keeps when the container started, once known, the
    /// task's ports until it ends, and when it reached Running (stamped here, on the node, so that a report that
    /// reaches the managers only once the task has ended still says whether, and since when, it ran).
    /// </summary>
    private static TaskStepResult Move(TaskObservedStatus from, ControllerReport report, TaskState to, DateTimeOffset now, string message, string err = "",
        int? exitCode = null, ControllerOperation action = ControllerOperation.None)
    {
        if (TaskStates.CheckTransition(from.State, to) is not null)
        {
            return new TaskStepResult(action, null);
        }

        return new TaskStepResult(action, new TaskObservedStatus(to, now, message, err, exitCode ?? from.ExitCode, report.StartedAt ?? from.StartedAt, from.ContainerId,
            PortsAfter(from, report, to), from.RunningAt ?? (to == TaskState.Running ? now : null)));
    }

    /// <summary>The host-mode ports a status in <paramref name="to"/> shows: none once ended, else the controller's word, else what was reported before.</summary>
    private static ImmutableArray<PortConfig> PortsAfter(TaskObservedStatus from, ControllerReport report, TaskState to) =>
        TaskStates.IsTerminal(to) ? [] : !report.Ports.IsEmpty ? report.Ports : from.PortStatus;
}
