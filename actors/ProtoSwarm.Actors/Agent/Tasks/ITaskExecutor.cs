using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// The node's container runtime as the task actors see it: one per node, and the only thing they
/// know of containers. The node host picks the implementation (the Linux runtime, or
/// <see cref="FakeExecutor"/> until it lands), so the actors never change when containers become real.
/// </summary>
public interface ITaskExecutor
{
    /// <summary>
    /// The controller of one task's container. It only binds the task to this executor: no I/O, no
    /// container is made until <see cref="ITaskController.PrepareAsync"/>. Called once per task actor,
    /// so again for the same task after a node host restart; a controller must then find what this
    /// executor made for the task before, if anything (see <see cref="ITaskController.InspectAsync"/>).
    /// </summary>
    ITaskController CreateController(TaskObject task);

    /// <summary>
    /// As <see cref="CreateController(TaskObject)"/>, with the task's secrets and configs and their
    /// data (<see cref="TaskFiles"/>, resolved by the agent from its assignments): the controller puts
    /// them in the container, read-only, when it prepares it. An executor that cannot refuses the
    /// task rather than run it without them.
    /// </summary>
    ITaskController CreateController(TaskObject task, TaskFiles files) => files.IsEmpty
        ? CreateController(task)
        : throw new NotSupportedException("this node's task executor cannot give a container secrets or configs");

    /// <summary>
    /// Called with each full set of the node's assigned tasks, and the tasks whose actors are still being
    /// removed: containers this executor finds on the node for tasks outside the set have no owner (left
    /// from before a node host restart, or by a task actor of a member that was restarted while the task
    /// was removed) and are removed, so none runs without an owner. Of the assigned
    /// tasks, <paramref name="endedTaskIds"/> have ended: their containers stay (their logs), but
    /// whatever else they left (a network namespace a node host that died before releasing it left
    /// behind) is freed, as <see cref="ITaskController.ReleaseAsync"/> would have. Failures are the
    /// executor's to log; the default does nothing (an executor whose containers die with the host).
    /// </summary>
    Task RetainOnlyAsync(IReadOnlySet<string> assignedTaskIds, IReadOnlySet<string> endedTaskIds, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// The node left the swarm, or was removed from it: every task container on the node is killed and removed,
    /// with what the executor made for it, as docker's daemon force-removes a node's task containers when it
    /// leaves; none may run on as an extra replica nobody owns. Called once the task actors are stopped. A container
    /// that cannot be removed is logged and the rest still go; the default does nothing (an executor whose
    /// containers die with the host).
    /// </summary>
    Task RemoveAllAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// One reading of the counters of these tasks' running containers, all at once (see
    /// <see cref="TaskUsageSample"/>); a task without a running container is left out. Reads only,
    /// so it may run beside any call. The default has none: an executor without real containers.
    /// </summary>
    Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct) =>
        Task.FromResult<IReadOnlyDictionary<string, TaskUsageSample>>(new Dictionary<string, TaskUsageSample>());

    /// <summary>
    /// The containers this executor keeps now, running or ended (a task's history keeps its container until the task
    /// is removed), for the node's `ps` and `container inspect`. Reads only. The default has none.
    /// </summary>
    IReadOnlyList<ContainerFacts> ListContainers() => [];
}

/// <summary>
/// What an executor knows of one task's container: the task it runs, the image's id, the process it runs (its
/// entrypoint and its command apart, as resolved against the image), when it was made (kept across a node host's
/// restart), started and ended, its main pid while it runs, its exit code once ended, its health (null: no check),
/// and the host-mode ports its node holds for it.
/// </summary>
public sealed record ContainerFacts(
    TaskObject Task,
    string ImageId,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    DateTimeOffset Created,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Pid,
    int? ExitCode,
    ContainerHealth? Health,
    ImmutableArray<PortConfig> HostPorts)
{
    public IReadOnlyList<string> Env { get; init; } = [];

    public string User { get; init; } = "";

    public string WorkingDir { get; init; } = "";

    public string Hostname { get; init; } = "";

    /// <summary>Its image's EXPOSE ports ("80/tcp"), as docker's Config.ExposedPorts.</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    /// <summary>The health check it runs: its spec's over its image's (docker's Config.Healthcheck); null without one.</summary>
    public HealthCheck? HealthCheck { get; init; }

    /// <summary>The health check's failures in a row that counted (docker's FailingStreak).</summary>
    public int HealthFailingStreak { get; init; }

    /// <summary>The health check's last five probes, oldest first (docker's State.Health.Log).</summary>
    public IReadOnlyList<ContainerHealthProbe> HealthLog { get; init; } = [];

    /// <summary>The node's directory of each volume it mounts, by the volume's name (docker's Mounts[].Source of a volume).</summary>
    public IReadOnlyDictionary<string, string> VolumePaths { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Its mounts as made: its spec's, an anonymous volume under the name the node gave it (docker's Mounts[].Name, read back
    /// from its config by a node host that finds it again); null where the node does not know them: its spec's as they are.
    /// </summary>
    public IReadOnlyList<MountSpec>? Mounts { get; init; }

    /// <summary>The process: the entrypoint, then the command.</summary>
    public IReadOnlyList<string> Command => [.. Entrypoint, .. Cmd];

    /// <summary>Made but never started (docker's "created").</summary>
    public bool Started => StartedAt is not null;

    public bool Exited => ExitCode is not null;
}

/// <summary>
/// A container's counters at one moment: CPU time used since it started (a rate needs two samples),
/// memory without the inactive page cache, the memory limit (the node's memory when it has none),
/// its processes and their limit (null: none).
/// </summary>
public sealed record TaskUsageSample(long CpuNanoseconds, long MemoryBytes, long MemoryLimitBytes, long Pids, long? PidsLimit)
{
    /// <summary>Bytes received and sent by its network namespace's interfaces but loopback (0 on the node's own network).</summary>
    public long NetRxBytes { get; init; }

    public long NetTxBytes { get; init; }

    /// <summary>Bytes read from and written to block devices, from its cgroup.</summary>
    public long BlockReadBytes { get; init; }

    public long BlockWriteBytes { get; init; }
}

/// <summary>
/// One task's container, driven by its task actor one call at a time (only <see cref="WaitAsync"/>,
/// <see cref="WaitHealthAsync"/> and <see cref="ReadLogsAsync"/> may run beside another call). Every call is idempotent:
/// the actor may repeat one after a node host restart, and a call that does not apply (stopping a
/// container that never started, removing one that is gone) succeeds doing nothing. A call that fails
/// throws; the exception's message becomes the task's error, so it should say what a user can act on
/// ("image nginx:1.27 not found on this node").
/// </summary>
public interface ITaskController
{
    /// <summary>
    /// Makes everything the container needs (image, root filesystem, namespaces, cgroups, network)
    /// so that <see cref="StartAsync"/> runs it at once. A failure here rejects the task.
    /// </summary>
    Task PrepareAsync(CancellationToken ct);

    /// <summary>Starts the prepared container and returns once its process runs (not once it is healthy).</summary>
    Task StartAsync(CancellationToken ct);

    /// <summary>Completes when the started container's process has exited, with how it ended.</summary>
    Task<ContainerExit> WaitAsync(CancellationToken ct);

    /// <summary>
    /// Completes with the container's health as soon as it differs from <paramref name="known"/> (at
    /// once if it already does). Asked only for a task whose spec has a health check; a container
    /// that turns out to have no check at all (none in the image either) reports Healthy.
    /// </summary>
    Task<ContainerHealth> WaitHealthAsync(ContainerHealth known, CancellationToken ct);

    /// <summary>
    /// Known once <see cref="PrepareAsync"/> returned or <see cref="InspectAsync"/> found the container:
    /// whether it has a health check that gates RUNNING, the task's or, when the task gives none, its
    /// image's (docker's rule). Null leaves the decision to the task's spec alone.
    /// </summary>
    bool? HealthChecked => null;

    /// <summary>
    /// Known once <see cref="PrepareAsync"/> returned or <see cref="InspectAsync"/> found the container:
    /// the task's host-mode ports as its node holds them, each with the port bound (one published as 0
    /// with the port the node picked for this task), which the task's status reports (docker's
    /// PortStatus). Empty for a task without host-mode ports, and from an executor that binds none.
    /// </summary>
    ImmutableArray<PortConfig> HostPorts => [];

    /// <summary>
    /// Stops the container the way docker does: the stop signal (the spec's, or SIGTERM), then the
    /// task's stop grace period (<see cref="TaskStep.StopGracePeriodOf"/>: none set means
    /// <see cref="ContainerSpec.DefaultStopGracePeriod"/>, zero SIGKILL at once), then SIGKILL. Returns once the process
    /// is gone. The container is kept (its logs, its exit) until <see cref="RemoveAsync"/>.
    /// </summary>
    Task ShutdownAsync(CancellationToken ct);

    /// <summary>Kills the container at once (SIGKILL), for one that would not shut down.</summary>
    Task TerminateAsync(CancellationToken ct);

    /// <summary>
    /// Frees what the task holds on the node beside its container once the container has ended for
    /// good (its network namespace, interfaces and addresses, its DNS server), before the task's end
    /// is reported: the managers give its addresses out again as soon as they learn of it. The
    /// container, its log and its exit stay until <see cref="RemoveAsync"/>, which frees anything
    /// left. Called at most once per task actor, after the container stopped or never started; a
    /// failure is logged and the end reported all the same. The default has nothing to free.
    /// </summary>
    Task ReleaseAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Deletes the container and everything prepared for it; the task is forgotten on this node.</summary>
    Task RemoveAsync(CancellationToken ct);

    /// <summary>
    /// Whether this executor still has the task's container, asked when a task arrives Starting or
    /// Running that this process never started: after a node host restart. A controller for a task
    /// the executor does not know must say Exists = false, so the task is reported failed ("its
    /// container is gone") rather than started a second time.
    /// </summary>
    Task<ContainerInspection> InspectAsync(CancellationToken ct);

    /// <summary>
    /// The lines the container wrote (stdout and stderr, each stamped and numbered in one sequence per
    /// task that starts at 1 and only grows), oldest first: those with a sequence above
    /// <paramref name="after"/>, and with <paramref name="tail"/> only the last that many of them. The
    /// log outlives the container's process and is deleted by <see cref="RemoveAsync"/>; an executor may
    /// drop the oldest lines (rotation), so a cursor older than what it keeps reads from the oldest kept.
    /// A task with no container (never prepared, removed, unknown after a restart) has no lines: an
    /// empty answer, not an error. May run beside any other call.
    /// </summary>
    Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, CancellationToken ct);

    /// <summary>
    /// As <see cref="ReadLogsAsync(long, int?, CancellationToken)"/>, with <paramref name="limit"/> (when given, and
    /// no tail) only the first that many lines after <paramref name="after"/>: a page of `service logs` needs no more,
    /// and an executor that keeps large logs should not build every later line for each page. The default reads them
    /// all and keeps the first; the Linux executor stops reading there.
    /// </summary>
    async Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, int? limit, CancellationToken ct)
    {
        var all = await ReadLogsAsync(after, tail, ct).ConfigureAwait(false);
        return tail is null && limit is { } first && first < all.Count ? [.. all.Take(first)] : all;
    }
}

/// <summary>How a container's process ended: its exit code, whether the kernel's OOM killer ended it, and any word from the runtime.</summary>
public sealed record ContainerExit(int ExitCode, bool OomKilled = false, string Message = "");

/// <summary>Docker's health states: Starting until the first check passes (or the start period ends).</summary>
public enum ContainerHealth
{
    Starting = 0,
    Healthy = 1,
    Unhealthy = 2,
}

/// <summary>What the executor still has of a task's container; StartedAt when it is known.</summary>
public sealed record ContainerInspection(bool Exists, DateTimeOffset? StartedAt = null)
{
    public static readonly ContainerInspection Gone = new(false);
}
