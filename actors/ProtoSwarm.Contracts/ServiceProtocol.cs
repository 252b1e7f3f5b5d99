using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// ---- services and tasks through the managers' API (docker's /services and /tasks)

/// <summary>`service create`: the spec is validated before anything is stored; a name in use is a conflict.</summary>
[MessagePackObject]
public sealed record CreateService(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ServiceSpec Spec) : IManagerApiRequest;

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
    [property: Key(4)] bool Rollback = false) : IManagerApiRequest;

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
/// names a listing needs. Refs are ids, id prefixes or names.
/// </summary>
[MessagePackObject]
public sealed record ListTasks(
    [property: Key(0)] string RequestId,
    ImmutableArray<string> ServiceRefs = default,
    ImmutableArray<string> NodeRefs = default) : IManagerApiRequest
{
    [Key(1)]
    public ImmutableArray<string> ServiceRefs { get; init; } = ServiceRefs.IsDefault ? [] : ServiceRefs;

    [Key(2)]
    public ImmutableArray<string> NodeRefs { get; init; } = NodeRefs.IsDefault ? [] : NodeRefs;
}

[MessagePackObject]
public sealed record TaskList(
    [property: Key(0)] ImmutableArray<TaskObject> Tasks,
    [property: Key(1)] ImmutableSortedDictionary<string, string> ServiceNames,
    [property: Key(2)] ImmutableSortedDictionary<string, string> NodeNames);

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
    [property: Key(5)] ImmutableArray<string> Removed);

/// <summary>One task's observed status as the node reports it.</summary>
[MessagePackObject]
public sealed record TaskStatusUpdate(
    [property: Key(0)] string TaskId,
    [property: Key(1)] TaskObservedStatus Status);

/// <summary>A node's agent reports what its tasks did, to the leader's dispatcher; answered once stored.</summary>
[MessagePackObject]
public sealed record TaskStatusReport(
    [property: Key(0)] string NodeId,
    [property: Key(1)] ImmutableArray<TaskStatusUpdate> Updates);

[MessagePackObject]
public sealed record TaskStatusReportAck([property: Key(0)] int Stored);
