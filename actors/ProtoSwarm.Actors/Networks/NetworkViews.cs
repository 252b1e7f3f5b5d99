using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The <see cref="NetworkView"/>s of one store state: each network some node needs, whole, and which
/// node needs which. A node needs a network when one of its tasks (assigned, not ended) has an
/// address on it, and the ingress network while any service publishes a port through the routing
/// mesh. A task's endpoints carry the host-mode ports its node reported for it. A view's bytes (its MessagePack form) come with it, so a node's dispatch compares what it
/// sent with what is due by content (the records' arrays compare by reference).
/// </summary>
public sealed class NetworkViewSet
{
    public static readonly NetworkViewSet Empty = new(
        ImmutableDictionary<string, (NetworkView, byte[])>.Empty,
        ImmutableDictionary<string, ImmutableSortedSet<string>>.Empty,
        null);

    private readonly ImmutableDictionary<string, (NetworkView View, byte[] Bytes)> _views;
    private readonly ImmutableDictionary<string, ImmutableSortedSet<string>> _byNode;
    private readonly string? _everywhere;

    internal NetworkViewSet(
        ImmutableDictionary<string, (NetworkView, byte[])> views,
        ImmutableDictionary<string, ImmutableSortedSet<string>> byNode,
        string? everywhere)
    {
        _views = views;
        _byNode = byNode;
        _everywhere = everywhere;
    }

    /// <summary>The ids of the networks the node needs, in id order.</summary>
    public ImmutableSortedSet<string> NetworksOf(string nodeId)
    {
        var own = _byNode.GetValueOrDefault(nodeId) ?? ImmutableSortedSet.Create<string>(StringComparer.Ordinal);
        return _everywhere is null ? own : own.Add(_everywhere);
    }

    public NetworkView View(string networkId) => _views[networkId].View;

    /// <summary>Whether some node needs the network (it has a view).</summary>
    public bool Contains(string networkId) => _views.ContainsKey(networkId);

    public byte[] Bytes(string networkId) => _views[networkId].Bytes;

    /// <summary>Every view some node needs, in network id order.</summary>
    public IEnumerable<NetworkView> All => _views.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Value.View);

    /// <summary>The views the node needs, in network id order.</summary>
    public ImmutableArray<NetworkView> For(string nodeId) => [.. NetworksOf(nodeId).Select(View)];
}

/// <summary>Computes <see cref="NetworkViewSet"/>s: pure, and once per store state for all the node actors that ask.</summary>
public static class NetworkViews
{
    private static readonly ConditionalWeakTable<StoreState, NetworkViewSet> Cache = [];

    /// <summary>The views of this state, computed once whoever asks first (every node actor asks for the same state).</summary>
    public static NetworkViewSet Of(StoreState state) => Cache.GetValue(state, Compute);

    /// <summary>Whether a task is a peer on its networks: on a node (assigned) and not ended.</summary>
    public static bool IsEndpoint(TaskObject task) =>
        !task.Networks.IsEmpty && task.NodeId.Length > 0 && task.Status.State >= TaskState.Assigned && !TaskStates.IsTerminal(task.Status.State);

    /// <summary>docker's container name of a task: service.slot.taskid, or service.nodeid.taskid for a global service's task.</summary>
    public static string TaskName(TaskObject task, string serviceName) =>
        $"{serviceName}.{(task.Slot > 0 ? task.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture) : task.NodeId)}.{task.Id}";

    /// <summary>The host-mode ports the task's node reported binding for it (a port it picked for one published as 0 among them).</summary>
    public static ImmutableArray<PortConfig> HostPortsOf(TaskObservedStatus status) =>
        status.PortStatus.All(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0)
            ? status.PortStatus
            : [.. status.PortStatus.Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0)];

    /// <summary>
    /// Who uses the network, for `network inspect`: its view's endpoints and services, and the nodes holding an
    /// endpoint on it (by hostname, then id) with their underlay address; null when no node needs the network.
    /// </summary>
    public static NetworkUsage? UsageOf(StoreState state, string networkId)
    {
        var set = Of(state);
        if (!set.Contains(networkId))
        {
            return null;
        }

        var view = set.View(networkId);
        return new NetworkUsage(view.Endpoints, view.Services, view.Peers);
    }

    /// <summary>
    /// A network as a node that has its view shows it (a worker, which has no store: `network ls` and `network inspect`
    /// there): the object from the view's spec and creation time, and who uses it as the view says. A view from a manager
    /// of an earlier version, without the spec, gives what the view itself has (no labels, options or range).
    /// </summary>
    public static NetworkDetails DetailsOf(NetworkView view)
    {
        var spec = view.Spec ?? new NetworkSpec(view.Name, Ingress: view.Ingress, Internal: view.Internal);
        var network = new NetworkObject(view.NetworkId, new ObjectMeta(0, view.Created, view.Created), spec, view.Subnet, view.Gateway, view.Vni);
        return new NetworkDetails(network, new NetworkUsage(view.Endpoints, view.Services, view.Peers));
    }

    /// <summary>The nodes holding an endpoint among <paramref name="endpoints"/>, with their underlay address, by hostname, then id.</summary>
    private static ImmutableArray<NetworkPeer> PeersOf(IEnumerable<NetworkEndpoint> endpoints, Dictionary<string, NodeObject> nodes) =>
    [
        .. endpoints
            .Where(e => e.NodeId.Length > 0)
            .GroupBy(e => e.NodeId, StringComparer.Ordinal)
            .Select(g => new NetworkPeer(g.Key, nodes.GetValueOrDefault(g.Key)?.Description.Hostname ?? g.Key, g.First().NodeAddr))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.NodeId, StringComparer.Ordinal),
    ];

    public static NetworkViewSet Compute(StoreState state)
    {
        var networks = state.List<NetworkObject>().ToDictionary(n => n.Id, StringComparer.Ordinal);
        if (networks.Count == 0)
        {
            return NetworkViewSet.Empty;
        }

        var services = state.List<ServiceObject>().ToList();
        var serviceNames = services.ToDictionary(s => s.Id, s => s.Spec.Name, StringComparer.Ordinal);
        var nodes = state.List<NodeObject>().ToDictionary(n => n.Id, StringComparer.Ordinal);
        var ingress = networks.Values.Where(n => n.Spec.Ingress).OrderBy(n => n.Id, StringComparer.Ordinal).FirstOrDefault();
        var everywhere = ingress is not null && services.Any(s => ServiceEndpoints.PublishesIngress(s.Spec.Endpoint)) ? ingress.Id : null;

        var byNode = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var endpoints = new Dictionary<string, List<NetworkEndpoint>>(StringComparer.Ordinal);
        foreach (var task in state.List<TaskObject>().Where(IsEndpoint))
        {
            var nodeAddr = nodes.GetValueOrDefault(task.NodeId)?.Status?.Addr ?? string.Empty;
            // A standalone container's attachment is named by its container (its name, else its id), as docker's endpoints are.
            var attached = NetworkAttachments.IsAttachment(task);
            var name = attached ? (task.ServiceName.Length > 0 ? task.ServiceName : task.Status.ContainerId) : TaskName(task, serviceNames.GetValueOrDefault(task.ServiceId) ?? task.ServiceId);
            var ready = task.Status.State == TaskState.Running && task.DesiredState == TaskState.Running;
            var hostPorts = HostPortsOf(task.Status);
            foreach (var attachment in task.Networks.Where(a => networks.ContainsKey(a.NetworkId)))
            {
                if (!byNode.TryGetValue(task.NodeId, out var needed))
                {
                    byNode[task.NodeId] = needed = new SortedSet<string>(StringComparer.Ordinal);
                }

                needed.Add(attachment.NetworkId);
                EndpointsOf(endpoints, attachment.NetworkId).Add(
                    new NetworkEndpoint(attachment.Address, task.NodeId, nodeAddr, task.Id, task.ServiceId, name,
                        attached && name != task.Status.ContainerId ? [.. attachment.Aliases, task.Status.ContainerId] : attachment.Aliases, ready, hostPorts));
            }
        }

        if (ingress is not null)
        {
            foreach (var node in nodes.Values.Where(n => n.Status?.State != NodeState.Down))
            {
                if (node.Attachments.FirstOrDefault(a => a.NetworkId == ingress.Id) is { } attachment)
                {
                    EndpointsOf(endpoints, ingress.Id).Add(new NetworkEndpoint(attachment.Address, node.Id, node.Status?.Addr ?? string.Empty));
                }
            }
        }

        var neededIds = byNode.Values.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
        if (everywhere is not null)
        {
            neededIds.Add(everywhere);
        }

        var dataPathPort = state.Get<ClusterObject>(ClusterObject.DefaultId)?.EffectiveDataPathPort ?? NetworkView.DefaultDataPathPort;
        var views = ImmutableDictionary.CreateBuilder<string, (NetworkView, byte[])>(StringComparer.Ordinal);
        foreach (var id in neededIds)
        {
            var network = networks[id];
            var live = endpoints.GetValueOrDefault(id) ?? [];
            var view = new NetworkView(
                network.Id,
                network.Spec.Name,
                network.Vni,
                network.Subnet,
                network.Gateway,
                network.Spec.Ingress,
                NetworkCommands.MtuOf(network.Spec),
                dataPathPort,
                [.. live.OrderBy(e => e.Address, StringComparer.Ordinal).ThenBy(e => e.TaskId, StringComparer.Ordinal)],
                [.. services.Select(s => ServiceOn(s, network)).OfType<NetworkService>().OrderBy(s => s.Name, StringComparer.Ordinal)],
                network.Spec.Internal,
                network.Spec,
                network.Meta.CreatedAt,
                PeersOf(live, nodes));
            views[id] = (view, SpecEquality.Bytes(view));
        }

        return new NetworkViewSet(
            views.ToImmutable(),
            byNode.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutableSortedSet(StringComparer.Ordinal), StringComparer.Ordinal),
            everywhere);
    }

    /// <summary>
    /// The service as the network's DNS and load balancing need it, or null when it is not on the
    /// network. Vip is the bare address (no prefix): what DNS answers and what rules match.
    /// </summary>
    private static NetworkService? ServiceOn(ServiceObject service, NetworkObject network)
    {
        ImmutableArray<string> aliases;
        if (network.Spec.Ingress)
        {
            if (!ServiceEndpoints.PublishesIngress(service.Spec.Endpoint))
            {
                return null;
            }

            aliases = [];
        }
        else
        {
            var attachments = service.Spec.TaskTemplate.Networks.Where(a => a.Target == network.Id || a.Target == network.Spec.Name).ToList();
            if (attachments.Count == 0)
            {
                return null;
            }

            aliases = [.. attachments.SelectMany(a => a.Aliases).Distinct(StringComparer.Ordinal)];
        }

        var vip = service.Endpoint.VirtualIps.FirstOrDefault(v => v.NetworkId == network.Id)?.Address ?? string.Empty;
        var bare = vip.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? vip[..slash] : vip;
        var ports = service.Endpoint.Ports.IsEmpty ? service.Spec.Endpoint.Ports : service.Endpoint.Ports;
        return new NetworkService(service.Id, service.Spec.Name, aliases, service.Spec.Endpoint.Mode, bare, ports);
    }

    private static List<NetworkEndpoint> EndpointsOf(Dictionary<string, List<NetworkEndpoint>> endpoints, string networkId)
    {
        if (!endpoints.TryGetValue(networkId, out var list))
        {
            endpoints[networkId] = list = [];
        }

        return list;
    }
}
