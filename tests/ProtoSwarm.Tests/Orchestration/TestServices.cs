using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>Specs, tasks and scheduler views in the shapes the orchestration tests need.</summary>
internal static class TestServices
{
    public static ServiceSpec Spec(string name = "web", string image = "nginx:1.27", long replicas = 3) =>
        new(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas), new TaskSpec(new ContainerSpec(image)));

    public static ServiceSpec With(this ServiceSpec spec, Func<TaskSpec, TaskSpec> change) => spec with { TaskTemplate = change(spec.TaskTemplate) };

    public static TaskObject Task(string id, string serviceId, string nodeId, TaskState state = TaskState.Running, TaskState desired = TaskState.Running,
        ResourceAmounts? reserve = null, EndpointSpec? endpoint = null) =>
        new(id, ObjectMeta.New(TestNodes.T0), serviceId, 1, nodeId,
            new TaskSpec(new ContainerSpec("nginx"), new ResourceRequirements(ResourceAmounts.None, reserve ?? ResourceAmounts.None)),
            1, desired, new TaskObservedStatus(state, TestNodes.T0), endpoint);

    /// <summary>A worker (ready and active unless told) with the given CPUs, memory and labels.</summary>
    public static NodeObject Node(string id, double cpus = 4, long memoryGiB = 8, NodeState state = NodeState.Ready,
        NodeAvailability availability = NodeAvailability.Active, (string Key, string Value)[]? labels = null, NodeRole role = NodeRole.Worker)
    {
        var node = TestNodes.Node(id, role, "host-" + id, state).WithLabels(labels ?? []);
        return node with
        {
            Description = TestNodes.Description("host-" + id) with { NanoCpus = (long)(cpus * 1e9), MemoryBytes = memoryGiB << 30 },
            Spec = node.Spec with { Availability = availability },
        };
    }

    public static NodeInfo View(NodeObject node, params TaskObject[] tasks) => NodeInfo.Create(node, tasks);

    public static TaskDemand Demand(string serviceId = "svc", double cpus = 0, long memoryMiB = 0, string[]? constraints = null,
        string[]? spread = null, long maxPerNode = 0, HostPort[]? hostPorts = null) =>
        new(serviceId,
            new ResourceAmounts((long)(cpus * 1e9), memoryMiB << 20),
            Constraint.ParseAll(constraints ?? []),
            [.. (spread ?? []).Select(s => new PlacementPreference(s))],
            maxPerNode,
            [.. hostPorts ?? []]);

    public static List<string> TaskIds(int count, string prefix = "t") => [.. Enumerable.Range(1, count).Select(i => $"{prefix}{i:D5}")];

    /// <summary>How many tasks each node got, e.g. "a=2 b=1 c=0".</summary>
    public static string Counts(IEnumerable<Assignment> assignments, IEnumerable<string> nodeIds)
    {
        var counts = assignments.CountBy(a => a.NodeId).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return string.Join(' ', nodeIds.Select(n => $"{n}={counts.GetValueOrDefault(n)}"));
    }
}
