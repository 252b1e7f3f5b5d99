using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Swarm's task states, spaced as swarmkit spaces them so a state can be added between two without
/// renumbering. A task's observed state only ever increases; from Complete on, a state is terminal.
/// The rules live in ProtoSwarm.Actors.Orchestration.TaskStates.
/// </summary>
public enum TaskState
{
    New = 0,
    Pending = 64,
    Assigned = 192,
    Accepted = 256,
    Preparing = 320,
    Ready = 384,
    Starting = 448,
    Running = 512,
    Complete = 576,
    Shutdown = 640,
    Failed = 704,
    Rejected = 768,
    Remove = 800,
    Orphaned = 832,
}

/// <summary>
/// What a node reports of a task (the manager writes the states before assignment). Timestamp is
/// when State was reached; Err says why a task failed or could not be placed ("no suitable node
/// (...)"); ExitCode is the container's, once it exited. StartedAt is when the container started;
/// RunningAt when the task reached Running, later than that for a task held in Starting by its health
/// check (a rolling update counts a failure before RunningAt as a failure whatever the monitor says).
/// </summary>
[MessagePackObject]
public sealed record TaskObservedStatus(
    [property: Key(0)] TaskState State,
    [property: Key(1)] DateTimeOffset Timestamp,
    [property: Key(2)] string Message = "",
    [property: Key(3)] string Err = "",
    [property: Key(4)] int? ExitCode = null,
    [property: Key(5)] DateTimeOffset? StartedAt = null,
    [property: Key(6)] string ContainerId = "",
    ImmutableArray<PortConfig> PortStatus = default,
    [property: Key(8)] DateTimeOffset? RunningAt = null)
{
    /// <summary>
    /// Docker's Status.PortStatus.Ports: the host-mode ports the task's node holds for it, each with
    /// the port that node bound (one published as 0 gets a port the node picked: every task its own).
    /// Reported from the task's prepare until it ends; empty once it ended, since its node freed them.
    /// </summary>
    [Key(7)]
    public ImmutableArray<PortConfig> PortStatus { get; init; } = PortStatus.IsDefault ? [] : PortStatus;
}

/// <summary>
/// One task of a service as the managers' store keeps it. A replicated task has a Slot (1..N) and
/// gets its NodeId from the scheduler; a global task has Slot 0 and is made for its NodeId.
/// DesiredState is the managers' decision, Status what the node observed. Spec and Endpoint are
/// copied from the service at SpecVersion, so a task never changes under its node; only a change of
/// the service's placement alone, which the node does not read, is copied into a task its node still
/// suits (with the new SpecVersion) instead of replacing it. Template is what its node expands the
/// task's templated secrets and configs with (docker's --template-driver golang): set by the managers
/// only in the copy of the task they send to its node, never stored; so is ServiceName (swarmkit's
/// task.ServiceAnnotations.Name), which names the task's container on its node (SERVICE.SLOT.TASKID).
/// </summary>
[MessagePackObject]
public sealed record TaskObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] string ServiceId,
    [property: Key(3)] long Slot,
    [property: Key(4)] string NodeId,
    [property: Key(5)] TaskSpec Spec,
    [property: Key(6)] ulong SpecVersion,
    [property: Key(7)] TaskState DesiredState,
    [property: Key(8)] TaskObservedStatus Status,
    [property: Key(9)] EndpointSpec? Endpoint = null,
    [property: Key(10)] ulong JobIteration = 0,
    ImmutableArray<AttachedNetwork> Networks = default,
    [property: Key(12)] TemplateContext? Template = null,
    [property: Key(13)] string ServiceName = "") : IStoreObject, IStoreKind
{
    public static string StoreKind => "task";

    /// <summary>The task's address on each network it joins, allocated by the managers before it is scheduled.</summary>
    [Key(11)]
    public ImmutableArray<AttachedNetwork> Networks { get; init; } = Networks.IsDefault ? [] : Networks;

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}
