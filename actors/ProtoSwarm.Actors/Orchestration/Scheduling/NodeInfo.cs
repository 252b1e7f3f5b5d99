using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Scheduling;

/// <summary>
/// The scheduler's view of one node: the node and what the tasks that occupy it already take
/// (resources reserved, tasks per service, host ports). Filters only read it; a scheduling pass
/// adds each task it places, so the next decision, in the same batch or the next, sees it.
/// </summary>
public sealed class NodeInfo
{
    private readonly Dictionary<string, int> _tasksByService = new(StringComparer.Ordinal);
    private readonly HashSet<HostPort> _hostPorts = [];

    private NodeInfo(NodeObject node)
    {
        Node = node;
        FreeNanoCpus = node.Description?.NanoCpus ?? 0;
        FreeMemoryBytes = node.Description?.MemoryBytes ?? 0;
        // The node's standalone containers' ports: no task holds them, the node says so itself.
        foreach (var port in node.Description?.HostPorts ?? [])
        {
            _hostPorts.Add(new HostPort(port.Protocol, port.PublishedPort));
        }
    }

    public NodeObject Node { get; }

    public string Id => Node.Id;

    /// <summary>The hostname when known, else the id: how explanations name the node.</summary>
    public string Name => Node.Description?.Hostname is { Length: > 0 } hostname ? hostname : Node.Id;

    /// <summary>The node's CPUs less the reservations of its tasks; negative when it is overcommitted.</summary>
    public long FreeNanoCpus { get; private set; }

    public long FreeMemoryBytes { get; private set; }

    /// <summary>Tasks on the node, of every service.</summary>
    public int TaskCount { get; private set; }

    public int TasksOf(string serviceId) => _tasksByService.GetValueOrDefault(serviceId);

    public bool HostPortInUse(HostPort port) => _hostPorts.Contains(port);

    /// <summary>A view of the node with the tasks that occupy it (<see cref="TaskStates.Occupies"/>); other tasks are skipped.</summary>
    public static NodeInfo Create(NodeObject node, IEnumerable<TaskObject> tasks)
    {
        var info = new NodeInfo(node);
        foreach (var task in tasks)
        {
            if (task.NodeId == node.Id && TaskStates.Occupies(task))
            {
                info.Add(task.ServiceId, task.Spec.Resources.Reservations, HostPortsHeld(task));
            }
        }

        return info;
    }

    /// <summary>
    /// The host ports a task holds on its node: those its spec publishes, and those its node reported
    /// binding for it, which include the ports the node picked for host-mode ports published as 0: a
    /// service that publishes that port number is not placed beside it.
    /// </summary>
    public static IEnumerable<HostPort> HostPortsHeld(TaskObject task) =>
        TaskDemand.HostPortsOf(task.Endpoint).Concat(
            task.Status.PortStatus.Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0).Select(p => new HostPort(p.Protocol, p.PublishedPort)));

    /// <summary>Views of every node, each with the tasks that occupy it, in node id order.</summary>
    public static List<NodeInfo> CreateAll(IEnumerable<NodeObject> nodes, IEnumerable<TaskObject> tasks)
    {
        var byNode = tasks.Where(TaskStates.Occupies).ToLookup(t => t.NodeId, StringComparer.Ordinal);
        return [.. nodes.OrderBy(n => n.Id, StringComparer.Ordinal).Select(n => Create(n, byNode[n.Id]))];
    }

    /// <summary>Counts a task placed here: its reservations, its service, its host ports.</summary>
    public void Add(TaskDemand demand) => Add(demand.ServiceId, demand.Reservations, demand.HostPorts);

    private void Add(string serviceId, ResourceAmounts reservations, IEnumerable<HostPort> hostPorts)
    {
        FreeNanoCpus -= reservations.NanoCpus;
        FreeMemoryBytes -= reservations.MemoryBytes;
        TaskCount++;
        _tasksByService[serviceId] = TasksOf(serviceId) + 1;
        foreach (var port in hostPorts)
        {
            _hostPorts.Add(port);
        }
    }
}
