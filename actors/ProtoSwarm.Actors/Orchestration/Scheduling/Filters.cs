using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Scheduling;

/// <summary>
/// One check a node must pass to take a task. <see cref="Check"/> is pure: null when the node
/// passes, else a sentence saying why it was refused (shown per node); <see cref="Summarize"/>
/// turns a count of refused nodes into the part of "no suitable node (...)" this filter owns.
/// </summary>
public interface ISchedulingFilter
{
    string Name { get; }

    string? Check(TaskDemand task, NodeInfo node);

    string Summarize(int nodes);
}

/// <summary>The filters in the order swarmkit's pipeline runs them; a node is refused by the first that fails.</summary>
public static class SchedulingFilters
{
    public static readonly ReadyFilter Ready = new();
    public static readonly ResourceFilter Resources = new();
    public static readonly ConstraintFilter Constraints = new();
    public static readonly HostPortFilter HostPorts = new();
    public static readonly MaxReplicasFilter MaxReplicas = new();

    public static readonly ImmutableArray<ISchedulingFilter> All = [Ready, Resources, Constraints, HostPorts, MaxReplicas];

    /// <summary>The index in <see cref="All"/> of the first filter that refuses the node, or -1; the refusal in <paramref name="reason"/>.</summary>
    public static int FirstRefusal(TaskDemand task, NodeInfo node, out string? reason)
    {
        for (var i = 0; i < All.Length; i++)
        {
            reason = All[i].Check(task, node);
            if (reason is not null)
            {
                return i;
            }
        }

        reason = null;
        return -1;
    }

    /// <summary>swarmkit's own words for a filter that failed on some nodes ("insufficient resources on 3 nodes"): runbooks grep for them.</summary>
    internal static string On(int count, string what) =>
        count == 1 ? $"{what} on 1 node" : string.Create(CultureInfo.InvariantCulture, $"{what} on {count} nodes");

    internal static string Nodes(int count, string one, string many) =>
        count == 1 ? $"1 node {one}" : string.Create(CultureInfo.InvariantCulture, $"{count} nodes {many}");
}

/// <summary>The node is Ready and Active: a paused or drained node takes no new tasks, a down one none at all.</summary>
public sealed class ReadyFilter : ISchedulingFilter
{
    public string Name => "ready";

    public string? Check(TaskDemand task, NodeInfo node)
    {
        var state = node.Node.Status?.State ?? NodeState.Unknown;
        if (state != NodeState.Ready)
        {
            return $"node {node.Name} is {state.ToString().ToLowerInvariant()}, not ready";
        }

        return node.Node.Spec?.Availability switch
        {
            NodeAvailability.Active => null,
            NodeAvailability.Pause => $"node {node.Name} is paused and takes no new tasks",
            NodeAvailability.Drain => $"node {node.Name} is drained and takes no new tasks",
            var other => $"node {node.Name} has availability {other}, not active",
        };
    }

    public string Summarize(int nodes) => SchedulingFilters.Nodes(nodes, "not available for new tasks", "not available for new tasks");
}

/// <summary>The task's reservations fit in what the node has left after the reservations of its tasks.</summary>
public sealed class ResourceFilter : ISchedulingFilter
{
    public string Name => "resources";

    public string? Check(TaskDemand task, NodeInfo node)
    {
        var want = task.Reservations;
        if (want.NanoCpus > 0 && want.NanoCpus > node.FreeNanoCpus)
        {
            return $"node {node.Name} has {ResourceText.Cpus(Math.Max(0, node.FreeNanoCpus))} CPUs unreserved, the task reserves {ResourceText.Cpus(want.NanoCpus)}";
        }

        if (want.MemoryBytes > 0 && want.MemoryBytes > node.FreeMemoryBytes)
        {
            return $"node {node.Name} has {ResourceText.Bytes(Math.Max(0, node.FreeMemoryBytes))} of memory unreserved, the task reserves {ResourceText.Bytes(want.MemoryBytes)}";
        }

        return null;
    }

    public string Summarize(int nodes) => SchedulingFilters.On(nodes, "insufficient resources");
}

/// <summary>Every placement constraint holds on the node (swarmkit's NodeMatches).</summary>
public sealed class ConstraintFilter : ISchedulingFilter
{
    public string Name => "constraints";

    public string? Check(TaskDemand task, NodeInfo node)
    {
        foreach (var constraint in task.Constraints)
        {
            if (!constraint.Matches(node.Node))
            {
                return $"node {node.Name} does not satisfy the constraint {constraint}";
            }
        }

        return null;
    }

    public string Summarize(int nodes) => SchedulingFilters.On(nodes, "scheduling constraints not satisfied");
}

/// <summary>No task on the node already publishes one of the task's host-mode ports, nor does a standalone container there hold one (the node's description says which).</summary>
public sealed class HostPortFilter : ISchedulingFilter
{
    public string Name => "host ports";

    public string? Check(TaskDemand task, NodeInfo node)
    {
        foreach (var port in task.HostPorts)
        {
            if (node.HostPortInUse(port))
            {
                return $"node {node.Name} already publishes host port {port}";
            }
        }

        return null;
    }

    public string Summarize(int nodes) => SchedulingFilters.On(nodes, "host-mode port already in use");
}

/// <summary>The node runs fewer tasks of the service than its max replicas per node (0: no limit).</summary>
public sealed class MaxReplicasFilter : ISchedulingFilter
{
    public string Name => "max replicas";

    public string? Check(TaskDemand task, NodeInfo node)
    {
        if (task.MaxReplicasPerNode <= 0)
        {
            return null;
        }

        var running = node.TasksOf(task.ServiceId);
        return running < task.MaxReplicasPerNode
            ? null
            : $"node {node.Name} already has {running} tasks of the service, its max replicas per node";
    }

    public string Summarize(int nodes) => "max replicas per node limit exceed";
}
