using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// ---- services and tasks through the managers' API (docker's /services and /tasks)

/// <summary>`service create`: the spec is validated before anything is stored; a name in use is a conflict.</summary>
[MessagePackObject]
public sealed record CreateService(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ServiceSpec Spec,
    [property: Key(2)] string ResolveImage = ResolveImageModes.Always) : IManagerApiRequest;

[MessagePackObject]
public sealed record ServiceCreated(
    [property: Key(0)] string ServiceId,
    ImmutableArray<string> Warnings = default)
{
    [Key(1)]
    public ImmutableArray<string> Warnings { get; init; } = Warnings.IsDefault ? [] : Warnings;
}

/// <summary>
/// `service update` and `service rollback`: the whole new spec and the version it was read at (a
/// stale version is a conflict, as docker's). Rollback returns to the previous spec and ignores Spec.
/// </summary>
[MessagePackObject]
public sealed record UpdateService(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ServiceRef,
    [property: Key(2)] ulong Version,
    [property: Key(3)] ServiceSpec? Spec,
    [property: Key(4)] bool Rollback = false,
    [property: Key(5)] string ResolveImage = ResolveImageModes.Changed) : IManagerApiRequest;

[MessagePackObject]
public sealed record ServiceUpdated(
    [property: Key(0)] string ServiceId,
    [property: Key(1)] ulong Version,
    ImmutableArray<string> Warnings = default)
{
    [Key(2)]
    public ImmutableArray<string> Warnings { get; init; } = Warnings.IsDefault ? [] : Warnings;
}

[MessagePackObject]
public sealed record RemoveService(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ServiceRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record ServiceRemoved([property: Key(0)] string ServiceId);

/// <summary>A service named by id, id prefix or name, as docker resolves them.</summary>
[MessagePackObject]
public sealed record InspectService(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ServiceRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record ServiceDetails(
    [property: Key(0)] ServiceObject Service,
    [property: Key(1)] ServiceReplicas Replicas);

[MessagePackObject]
public sealed record ListServices([property: Key(0)] string RequestId) : IManagerApiRequest;

/// <summary>
/// What `service ls` shows as REPLICAS n/m: Running tasks wanted running, out of Desired (replicas,
/// or the eligible nodes of a global service); for jobs, Completed out of the completions wanted.
/// </summary>
[MessagePackObject]
public sealed record ServiceReplicas(
    [property: Key(0)] long Running,
    [property: Key(1)] long Desired,
    [property: Key(2)] long Completed = 0);

[MessagePackObject]
public sealed record ServiceSummary(
    [property: Key(0)] ServiceObject Service,
    [property: Key(1)] ServiceReplicas Replicas);

[MessagePackObject]
public sealed record ServiceList([property: Key(0)] ImmutableArray<ServiceSummary> Services);

/// <summary>
/// `service ps` and `node ps`: the tasks of some services and/or some nodes (empty: all), with the
/// names a listing needs. Refs are ids, id prefixes or names. ServiceIds are whole ids taken as they are,
/// unresolved, so that they may name services already removed (`stack rm --detach=false` waits on their
/// tasks); with ServiceRefs, a task of either is listed.
/// </summary>
[MessagePackObject]
public sealed record ListTasks(
    [property: Key(0)] string RequestId,
    ImmutableArray<string> ServiceRefs = default,
    ImmutableArray<string> NodeRefs = default,
    ImmutableArray<string> ServiceIds = default) : IManagerApiRequest
{
    [Key(1)]
    public ImmutableArray<string> ServiceRefs { get; init; } = ServiceRefs.IsDefault ? [] : ServiceRefs;

    [Key(2)]
    public ImmutableArray<string> NodeRefs { get; init; } = NodeRefs.IsDefault ? [] : NodeRefs;

    [Key(3)]
    public ImmutableArray<string> ServiceIds { get; init; } = ServiceIds.IsDefault ? [] : ServiceIds;
}

[MessagePackObject]
public sealed record TaskList(
    [property: Key(0)] ImmutableArray<TaskObject> Tasks,
    [property: Key(1)] ImmutableSortedDictionary<string, string> ServiceNames,
    [property: Key(2)] ImmutableSortedDictionary<string, string> NodeNames);

/// <summary>
/// `service logs`: the log lines of a service's tasks (history included, as docker shows the logs of
/// ended tasks) or of one task, named by id, id prefix or name (a service is looked for first). Tail:
/// only the last N lines of each task (null: all the node keeps). After: per task id, the last
/// sequence already seen (a follow's cursors); lines after it only. Since: only lines stamped then or
/// later. A query: nothing is written.
/// </summary>
[MessagePackObject]
public sealed record GetServiceLogs(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ServiceRef,
    [property: Key(2)] int? Tail = null,
    ImmutableSortedDictionary<string, long>? After = null,
    [property: Key(4)] DateTimeOffset? Since = null) : IManagerApiRequest
{
    [Key(3)]
    public ImmutableSortedDictionary<string, long> After { get; init; } = After ?? ImmutableSortedDictionary<string, long>.Empty;
}

/// <summary>
/// The lines found, merged over the tasks by timestamp; Cursors: per task, the last sequence read (pass
/// them back as After to get only newer lines); Warnings: the nodes whose tasks' lines are missing
/// (down, gone, not answering, or a log the node could not read) and why. ServiceId is the service the
/// reference resolved to. More: this answer is one page (about 1 MiB at most, so no answer strains the
/// connection it shares with heartbeats) and there are more lines: ask again at once with Cursors as
/// After, with no tail and the same since, until More is false.
/// </summary>
[MessagePackObject]
public sealed record ServiceLogs(
    [property: Key(0)] string ServiceId,
    [property: Key(1)] ImmutableArray<ServiceLogEntry> Entries,
    [property: Key(2)] ImmutableSortedDictionary<string, long> Cursors,
    ImmutableArray<string> Warnings = default,
    [property: Key(4)] bool More = false)
{
    [Key(3)]
    public ImmutableArray<string> Warnings { get; init; } = Warnings.IsDefault ? [] : Warnings;
}

/// <summary>One line of `service logs`, with the task, slot and node it came from.</summary>
[MessagePackObject]
public sealed record ServiceLogEntry(
    [property: Key(0)] string TaskId,
    [property: Key(1)] long Slot,
    [property: Key(2)] string NodeId,
    [property: Key(3)] DateTimeOffset Timestamp,
    [property: Key(4)] LogStream Stream,
    [property: Key(5)] string Line,
    [property: Key(6)] long Sequence);

public enum LogStream
{
    Stdout = 0,
    Stderr = 1,
}

/// <summary>One line a task's container wrote; Sequence increases per task, from 1, and is never reused.</summary>
[MessagePackObject]
public sealed record TaskLogEntry(
    [property: Key(0)] long Sequence,
    [property: Key(1)] DateTimeOffset Timestamp,
    [property: Key(2)] LogStream Stream,
    [property: Key(3)] string Line);

// ---- between the leader's dispatcher and a node's agent

/// <summary>
/// The tasks a node must run, sent by the leader's node actor to the node's agent. Full replaces the
/// agent's whole set; otherwise Tasks are added or changed and Removed are gone. Epoch names the
/// sender (a new leader starts a new one) and Sequence counts its messages: an agent that sees a
/// gap ignores the message, and its next heartbeat's sequence makes the manager send the full set.
/// </summary>
[MessagePackObject]
public sealed record TaskAssignments(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string Epoch,
    [property: Key(2)] long Sequence,
    [property: Key(3)] bool Full,
    [property: Key(4)] ImmutableArray<TaskObject> Tasks,
    [property: Key(5)] ImmutableArray<string> Removed,
    ImmutableArray<NetworkView> Networks = default,
    ImmutableArray<string> NetworksRemoved = default,
    ImmutableArray<SecretPayload> Secrets = default,
    ImmutableArray<string> SecretsRemoved = default,
    ImmutableArray<SecretPayload> Configs = default,
    ImmutableArray<string> ConfigsRemoved = default)
{
    /// <summary>
    /// The secrets the node's tasks use, with their data: all of them when Full, else those newly
    /// needed. A node never receives a secret none of its assigned tasks references.
    /// </summary>
    [Key(8)]
    public ImmutableArray<SecretPayload> Secrets { get; init; } = Secrets.IsDefault ? [] : Secrets;

    /// <summary>Secrets (by id) the node's tasks no longer use (not set when Full: what Secrets lacks is gone).</summary>
    [Key(9)]
    public ImmutableArray<string> SecretsRemoved { get; init; } = SecretsRemoved.IsDefault ? [] : SecretsRemoved;

    /// <summary>The configs the node's tasks use, as <see cref="Secrets"/>.</summary>
    [Key(10)]
    public ImmutableArray<SecretPayload> Configs { get; init; } = Configs.IsDefault ? [] : Configs;

    [Key(11)]
    public ImmutableArray<string> ConfigsRemoved { get; init; } = ConfigsRemoved.IsDefault ? [] : ConfigsRemoved;

    /// <summary>The networks the node needs, each whole: all of them when Full, else those that changed.</summary>
    [Key(6)]
    public ImmutableArray<NetworkView> Networks { get; init; } = Networks.IsDefault ? [] : Networks;

    /// <summary>Networks the node no longer needs (not set when Full: what Networks lacks is gone).</summary>
    [Key(7)]
    public ImmutableArray<string> NetworksRemoved { get; init; } = NetworksRemoved.IsDefault ? [] : NetworksRemoved;
}

/// <summary>One task's observed status as the node reports it.</summary>
[MessagePackObject]
public sealed record TaskStatusUpdate(
    [property: Key(0)] string TaskId,
    [property: Key(1)] TaskObservedStatus Status);

/// <summary>A node's agent reports what its tasks did, to the leader's dispatcher; answered once stored.</summary>
[MessagePackObject]
public sealed record TaskStatusReport(
    [property: Key(0)] string NodeId,
    [property: Key(1)] ImmutableArray<TaskStatusUpdate> Updates) : INodeOwnMessage;

[MessagePackObject]
public sealed record TaskStatusReportAck([property: Key(0)] int Stored);

// ---- between the managers and a node's agent: task logs

/// <summary>
/// A manager asks a node's agent for the log lines of some of its tasks: after each task's cursor,
/// stamped Since or later when given, and with Tail only the last N of those. Each task's answer is
/// one page of at most MaxBytes (<see cref="TaskLogPaging.BytesOf"/>; 0: <see cref="TaskLogPaging.DefaultPageBytes"/>),
/// oldest first, with More when lines remain. Only managers may send it (a worker could otherwise
/// read another node's logs). A task the node does not hold answers no lines, not an error.
/// </summary>
[MessagePackObject]
public sealed record ReadTaskLogs(
    [property: Key(0)] ImmutableArray<TaskLogCursor> Tasks,
    [property: Key(1)] int? Tail = null,
    [property: Key(2)] DateTimeOffset? Since = null,
    [property: Key(3)] int MaxBytes = 0) : IManagerPeerMessage;

/// <summary>One task whose lines are wanted, and the last sequence already seen (0: from the start).</summary>
[MessagePackObject]
public sealed record TaskLogCursor(
    [property: Key(0)] string TaskId,
    [property: Key(1)] long After = 0);

[MessagePackObject]
public sealed record TaskLogs(
    [property: Key(0)] string NodeId,
    [property: Key(1)] ImmutableArray<TaskLog> Tasks) : INodeOwnMessage;

/// <summary>
/// One page of the lines of one task, oldest first. More: lines after the last one given remain. Start:
/// the cursor this read's window began after (the sequence before its first line once since and tail
/// are applied, or the last sequence read when they left nothing), so the next page, asked without a
/// tail, resumes there even when none of these lines was shown. Error: the node could not read the log
/// (why, for the operator); a task the node does not hold is no error, just no lines.
/// </summary>
[MessagePackObject]
public sealed record TaskLog(
    [property: Key(0)] string TaskId,
    [property: Key(1)] ImmutableArray<TaskLogEntry> Entries,
    [property: Key(2)] bool More = false,
    [property: Key(3)] long Start = 0,
    [property: Key(4)] string? Error = null);

// ---- task resource usage (`service ps --stats`, `node ps --stats`): asked of the nodes, never stored

/// <summary>
/// The usage of some tasks now: the managers ask the nodes that run them (running tasks only; any
/// other id is left out of the answer). A query: usage changes all the time and is not in the store.
/// </summary>
[MessagePackObject]
public sealed record GetTaskUsage(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> TaskIds) : IManagerApiRequest;

/// <summary>The usage found, one entry per running task whose node answered; Warnings name the nodes that did not, and why.</summary>
[MessagePackObject]
public sealed record TaskUsageList(
    [property: Key(0)] ImmutableArray<TaskUsage> Tasks,
    ImmutableArray<string> Warnings = default)
{
    [Key(1)]
    public ImmutableArray<string> Warnings { get; init; } = Warnings.IsDefault ? [] : Warnings;
}

/// <summary>
/// One task's container as docker stats shows it. CpuPercent: CPU time used over wall time in a
/// recent window, 100 = one core busy. MemoryBytes: usage without the inactive page cache.
/// MemoryLimitBytes: the container's limit, or the node's memory when it has none. PidsLimit: null when none.
/// </summary>
[MessagePackObject]
public sealed record TaskUsage(
    [property: Key(0)] string TaskId,
    [property: Key(1)] double CpuPercent,
    [property: Key(2)] long MemoryBytes,
    [property: Key(3)] long MemoryLimitBytes,
    [property: Key(4)] long Pids,
    [property: Key(5)] long? PidsLimit = null);

/// <summary>A manager asks a node's agent for the usage of some of its tasks; only managers may send it. A task it does not run is left out.</summary>
[MessagePackObject]
public sealed record ReadTaskUsage([property: Key(0)] ImmutableArray<string> TaskIds) : IManagerPeerMessage;

/// <summary>A node's answer to <see cref="ReadTaskUsage"/>; <paramref name="Error"/> says why it could read none.</summary>
[MessagePackObject]
public sealed record NodeTaskUsage(
    [property: Key(0)] string NodeId,
    [property: Key(1)] ImmutableArray<TaskUsage> Tasks,
    [property: Key(2)] string? Error = null) : INodeOwnMessage;

/// <summary>
/// `--resolve-image`, as docker's: whether the managers pin a service's image tag to the manifest
/// digest the swarm's registry holds for it, so every node runs the same image. `changed` pins only
/// when the update changes the image.
/// </summary>
public static class ResolveImageModes
{
    public const string Always = "always";
    public const string Changed = "changed";
    public const string Never = "never";

    public static bool IsValid(string mode) => mode is Always or Changed or Never;
}
