using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Scheduling;

/// <summary>A host-mode published port: it binds on the task's node, so two tasks cannot share it there.</summary>
public readonly record struct HostPort(PortProtocol Protocol, int Port)
{
    public override string ToString() => $"{Port}/{(Protocol == PortProtocol.Udp ? "udp" : "tcp")}";
}

/// <summary>
/// What the scheduler needs of a task, worked out once per group of identical tasks (constraints
/// parsed once, not once per node): its service, reservations, constraints, preferences, max
/// replicas per node and host-mode ports.
/// </summary>
public sealed record TaskDemand(
    string ServiceId,
    ResourceAmounts Reservations,
    ImmutableArray<Constraint> Constraints,
    ImmutableArray<PlacementPreference> Preferences,
    long MaxReplicasPerNode,
    ImmutableArray<HostPort> HostPorts)
{
    /// <summary>The demand of a task made from a validated spec (a malformed constraint throws: validation refuses it first).</summary>
    public static TaskDemand From(TaskObject task) => From(task.ServiceId, task.Spec, task.Endpoint);

    public static TaskDemand From(string serviceId, TaskSpec spec, EndpointSpec? endpoint) => new(
        serviceId,
        spec.Resources.Reservations,
        Constraint.ParseAll(spec.Placement.Constraints),
        spec.Placement.Preferences,
        spec.Placement.MaxReplicasPerNode,
        HostPortsOf(endpoint));

    /// <summary>Host-mode ports with a fixed number; a host port of 0 gets a free one on the node and never conflicts.</summary>
    public static ImmutableArray<HostPort> HostPortsOf(EndpointSpec? endpoint) => endpoint is null
        ? []
        : [.. endpoint.Ports.Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0).Select(p => new HostPort(p.Protocol, p.PublishedPort))];
}
