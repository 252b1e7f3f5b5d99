using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking;
using ProtoSwarm.Networking.Dns;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;
using ProtoSwarm.Networking.Nft;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// What a task's container is given for its networks (its overlays, or the node's bridge for a task on none): the namespace
/// to enter and the files that name its DNS and address; a null ResolvConf copies the host's. HostPorts: its host-mode
/// ports as the node holds them for it, a port published as 0 with the one the node picked (reported in its status).
/// </summary>
internal sealed record TaskSandbox(string NetnsPath, string? ResolvConf, ImmutableArray<string> ExtraHosts, ImmutableArray<PortConfig> HostPorts = default)
{
    public ImmutableArray<PortConfig> HostPorts { get; init; } = HostPorts.IsDefault ? [] : HostPorts;
}

/// <summary>
/// The node's overlays made real (the <see cref="INodeNetworks"/> of `--executor linux`): per
/// network a VXLAN device with static peers (<see cref="HostOverlay"/>; each network but ingress in a
/// namespace of its own, bind-mounted under `overlay-netns` of the state dir; ingress with a bridge),
/// the routing mesh's rules in the node's namespace, and per task a network namespace of its own,
/// prepared before its container starts: an interface per network (a macvlan on the network's vxlan
/// device, a veth on ingress's bridge), the embedded DNS server at 127.0.0.11, the
/// virtual IPs' rules and, on ingress, the return routes that send a reply back through the node
/// that took the connection. A task on no network gets a namespace too, with only a veth on the
/// node's gateway bridge, as docker puts such a task on its default bridge. Every change runs one at a time (views, attaches and detaches share
/// one gate); work inside a task's namespace runs on a short-lived thread that entered it, so a
/// node with a thousand tasks holds sockets, not threads, per task.
/// </summary>
internal sealed partial class NodeNetworks : INodeNetworks, IAsyncDisposable
{
    private static readonly TimeSpan ViewWait = TimeSpan.FromSeconds(30);

    private readonly Func<string?> _advertiseAddr;
    private readonly string _netnsDir;
    private readonly ILogger _logger;
    private readonly HostOverlay _overlay;
    private readonly Nftables _nodeRules;
    private readonly DnsForwarder _forwarder;
    private readonly ResolvConf _hostResolv;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, NetworkView> _views = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Sandbox> _sandboxes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _viewArrived = new(StringComparer.Ordinal);

    /// <summary>Networks this node will not make, with why (their subnet overlaps one of its own addresses); under the gate.</summary>
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);
    private readonly Lock _viewsLock = new();
    private string _nodeRuleset = string.Empty;
    private ImmutableHashSet<string> _ingressBackends = [];
    private bool _forwarding;

    /// <summary>The gateway bridge's addresses in use; null until a task first needs the bridge.</summary>
    private GatewayAddresses? _gatewayAddresses;

    /// <summary>
    /// The tasks on no network (on the node's bridge, docker's default bridge) and their address there, for `network inspect
    /// bridge` and `container inspect`: written under the gate, read without it, so a query never waits for an attach.
    /// </summary>
    private readonly ConcurrentDictionary<string, IPAddress> _bridged = new(StringComparer.Ordinal);

    /// <summary>Gateway bridge addresses found in task namespaces this process did not attach (it restarted), by task.</summary>
    private readonly Dictionary<string, IPAddress> _gatewayFound = new(StringComparer.Ordinal);

    /// <summary>
    /// The host-mode ports held for each attached task, by task id, from its attach until its detach (under the gate):
    /// a port picked for one is given to no other task meanwhile, also before the managers' views carry it.
    /// </summary>
    private readonly Dictionary<string, ImmutableArray<PortConfig>> _hostPorts = new(StringComparer.Ordinal);

    /// <summary>The tasks of <see cref="_hostPorts"/> that are standalone containers (no service), under the gate.</summary>
    private readonly HashSet<string> _standaloneHolders = new(StringComparer.Ordinal);

    /// <summary>
    /// What <see cref="StandaloneHostPorts"/> reads without the gate (an immutable array is one reference: a read sees the old
    /// one or the new), written under it at each change of a standalone holder's ports.
    /// </summary>
    private ImmutableArray<PortConfig> _standalonePorts = [];

    /// <summary>The last host port picked (<see cref="HostPortPicker"/> goes on after it); under the gate.</summary>
    private int _lastHostPort;

    /// <summary>Where the return-routing rules sit in a task's namespace: before the main table (32766).</summary>
    private const uint RulePriority = 1000;

    /// <param name="nodeNetns">The node's network namespace; null for this process's (tests give a namespace of their own).</param>
    public NodeNetworks(string nodeId, Func<string?> advertiseAddr, string netnsDir, string overlayNetnsDir, ILoggerFactory loggerFactory, string? nodeNetns = null)
    {
        NodeId = nodeId;
        _advertiseAddr = advertiseAddr;
        _netnsDir = netnsDir;
        _logger = loggerFactory.CreateLogger<NodeNetworks>();
        _overlay = new HostOverlay(nodeId, overlayNetnsDir, nodeNetns);
        _nodeRules = nodeNetns is null ? new Nftables() : new Nftables(new NodeNamespace(_overlay));
        _hostResolv = File.Exists("/etc/resolv.conf") ? ResolvConf.ReadHost() : ResolvConf.Parse("");
        _forwarder = new DnsForwarder(_hostResolv.Upstreams, TimeSpan.FromSeconds(2));
    }

    public string NodeId { get; }

    /// <summary>
    /// The host-mode ports the node's standalone containers hold now (they run): the managers' scheduler never placed them, so
    /// the node tells it in its description (<see cref="NodeDescription.HostPorts"/>) and no task that publishes one comes here.
    /// </summary>
    public ImmutableArray<PortConfig> StandaloneHostPorts => _standalonePorts;

    /// <summary>One task's namespace and what runs for it there.</summary>
    private sealed class Sandbox(string taskId, string netnsPath, ImmutableArray<AttachedNetwork> networks)
    {
        public string TaskId { get; } = taskId;

        public string NetnsPath { get; } = netnsPath;

        /// <summary>Its networks, those of its task and then those `network connect` added (a standalone container's).</summary>
        public ImmutableArray<AttachedNetwork> Networks { get; set; } = networks;

        /// <summary>The interface in its namespace of each of <see cref="Networks"/>: eth0, eth1... as attached; a connect takes the lowest free.</summary>
        public ImmutableArray<string> Interfaces { get; set; } = [.. networks.Select((_, i) => $"eth{i}")];

        public EmbeddedDnsServer? Dns { get; set; }

        /// <summary>Where the task's other names go when its service gives --dns servers; null: the node's resolvers.</summary>
        public DnsForwarder? Forwarder { get; set; }

        public string Ruleset { get; set; } = string.Empty;

        public ImmutableArray<IngressReturnRoute> ReturnRoutes { get; set; } = [];

        public bool ReturnRoutesApplied { get; set; }

        public ImmutableHashSet<string> Backends { get; set; } = [];

        /// <summary>The task's address on the gateway bridge; null for a task without one (only internal networks).</summary>
        public IPAddress? GatewayAddress { get; set; }
    }

    /// <summary>The address on the node's bridge of a task on no network whose namespace is here (docker's default bridge), or null.</summary>
    public IPAddress? BridgedAddressOf(string taskId) => _bridged.TryGetValue(taskId, out var address) ? address : null;

    /// <summary>The tasks on no network whose namespace is here, with their address on the node's bridge.</summary>
    public IReadOnlyDictionary<string, IPAddress> Bridged() => _bridged.ToDictionary(StringComparer.Ordinal);

    /// <summary>The subnet tasks on the node's bridge are given addresses of; null until a task first needs the bridge (so set
    /// whenever <see cref="BridgedAddressOf"/> knows a task).</summary>
    public IPNetwork? BridgeSubnet => _gatewayAddresses?.Subnet;

    /// <summary>The node's bridge's subnet: <see cref="BridgeSubnet"/>, else the bridge's address if the bridge is there; null before it is made.</summary>
    public async Task<IPNetwork?> BridgeSubnetAsync() =>
        BridgeSubnet ?? await _overlay.GatewayBridgeSubnetAsync().ConfigureAwait(false);

    /// <summary>The gateway address of a network this node knows (its view from the managers), or null.</summary>
    public string? GatewayOf(string networkId)
    {
        lock (_viewsLock)
        {
            return _views.TryGetValue(networkId, out var view) && view.Gateway.Length > 0 ? view.Gateway.Split('/')[0] : null;
        }
    }

    /// <summary>The networks this node knows (its views from the managers), by id: those its tasks are on, and ingress while it is in the routing mesh.</summary>
    public IReadOnlyList<NetworkView> Views()
    {
        lock (_viewsLock)
        {
            return [.. _views.Values.OrderBy(v => v.NetworkId, StringComparer.Ordinal)];
        }
    }

    /// <summary>The name of a network this node knows (its view from the managers), or null.</summary>
    public string? NameOf(string networkId)
    {
        lock (_viewsLock)
        {
            return _views.TryGetValue(networkId, out var view) ? view.Name : null;
        }
    }

    public async Task ApplyAsync(NetworkChanges changes, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var underlay = Underlay();
            Dictionary<string, NetworkView> wanted;
            lock (_viewsLock)
            {
                wanted = changes.Full ? new(StringComparer.Ordinal) : new(_views, StringComparer.Ordinal);
                foreach (var id in changes.Removed)
                {
                    wanted.Remove(id);
                }

                foreach (var view in changes.Views)
                {
                    wanted[view.NetworkId] = view;
                }
            }

            await RefuseOverlappingAsync(changes.Views, wanted).ConfigureAwait(false);

            // Networks no longer wanted go first: a network made again (ingress removed, then created
            // anew) may get the VXLAN id its predecessor had, and the kernel refuses a second device
            // with that id beside the old one.
            foreach (var id in await RemovableNetworksAsync(wanted).ConfigureAwait(false))
            {
                await _overlay.RemoveNetworkAsync(id).ConfigureAwait(false);
                LogNetworkRemoved(_logger, id);
            }

            // One network that cannot be made here must not hold back the others; the change is
            // retried as a whole (the caller's loop), so the failure is thrown once the rest is done.
            List<Exception> failures = [];
            foreach (var view in changes.Views.Where(v => !_refused.ContainsKey(v.NetworkId)))
            {
                try
                {
                    await _overlay.EnsureNetworkAsync(view, underlay).ConfigureAwait(false);
                    await _overlay.SetPeersAsync(view.NetworkId, view.Endpoints).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Add(e);
                    lock (_viewsLock)
                    {
                        wanted.Remove(view.NetworkId);
                        if (_views.TryGetValue(view.NetworkId, out var previous))
                        {
                            wanted[view.NetworkId] = previous;
                        }
                    }
                }
            }

            List<TaskCompletionSource> arrived = [];
            lock (_viewsLock)
            {
                _views.Clear();
                foreach (var (id, view) in wanted)
                {
                    _views[id] = view;
                    if (_viewArrived.Remove(id, out var waiter))
                    {
                        arrived.Add(waiter);
                    }
                }
            }

            await ApplyNodeRulesAsync().ConfigureAwait(false);
            arrived.ForEach(w => w.TrySetResult());
            // A task on no network (on the bridge only) has no names or rules to bring up to date.
            foreach (var sandbox in _sandboxes.Values.Where(s => !s.Networks.IsEmpty))
            {
                // One task's namespace that cannot be brought up to date (gone with a dying container)
                // must not hold back the others, nor every later change.
                try
                {
                    await RefreshAsync(sandbox).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRefreshFailed(_logger, sandbox.TaskId, e);
                }
            }

            if (failures.Count > 0)
            {
                throw failures.Count == 1
                    ? new InvalidOperationException($"A network could not be made on this node: {failures[0].Message}", failures[0])
                    : new AggregateException($"{failures.Count} networks could not be made on this node", failures);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Networks with devices on this node that must go (<see cref="OverlayPlanner.PlanRemovals"/>).</summary>
    private async Task<IReadOnlyList<string>> RemovableNetworksAsync(Dictionary<string, NetworkView> wanted)
    {
        var owned = await _overlay.ListOwnedAsync().ConfigureAwait(false);
        var used = _sandboxes.Values.SelectMany(s => s.Networks).Select(n => n.NetworkId).ToHashSet(StringComparer.Ordinal);
        return OverlayPlanner.PlanRemovals(owned.Networks, wanted, used, _refused.Keys.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// Refuses the networks among <paramref name="views"/> whose subnet overlaps one of this node's
    /// own addresses: their gateway's route would take the node's own traffic (to the managers, to
    /// the other nodes) into the overlay and cut the node off. A refused network is never made here
    /// and a task on it is rejected with the reason; a network no longer wanted is forgotten.
    /// </summary>
    private async Task RefuseOverlappingAsync(ImmutableArray<NetworkView> views, Dictionary<string, NetworkView> wanted)
    {
        foreach (var id in _refused.Keys.Where(id => !wanted.ContainsKey(id)).ToList())
        {
            _refused.Remove(id);
        }

        if (views.IsEmpty)
        {
            return;
        }

        var addresses = await NodeAddressesAsync().ConfigureAwait(false);
        foreach (var view in views)
        {
            if (!IPNetwork.TryParse(view.Subnet, out var subnet) || OverlayPlanner.ConflictingAddress(subnet, addresses) is not { } conflict)
            {
                _refused.Remove(view.NetworkId);
                continue;
            }

            var reason = $"network {view.Name} ({view.Subnet}) overlaps this node's address {conflict}: its route would take the node's own traffic; "
                + $"remove the network and create it again with a --subnet apart from the nodes' addresses";
            if (_refused.TryAdd(view.NetworkId, reason))
            {
                LogNetworkRefused(_logger, view.Name, view.Subnet, conflict.ToString());
            }
        }
    }

    /// <summary>This node's own addresses (<see cref="OwnAddresses"/>).</summary>
    private Task<List<AddressInfo>> NodeAddressesAsync() => _overlay.RunAsync(netlink => OwnAddresses(netlink.ListLinks(), netlink.ListAddresses()));

    /// <summary>
    /// The node's own addresses among <paramref name="addresses"/>: not loopback, and on devices that are not an overlay's
    /// (their aliases say which are ours). The gateway bridge's address counts as the node's: an overlay inside its
    /// subnet would take the way out of every task here, and of the tasks on no network all they have.
    /// </summary>
    private static List<AddressInfo> OwnAddresses(IReadOnlyList<LinkInfo> links, IReadOnlyList<AddressInfo> addresses)
    {
        var overlays = links.Where(l => OverlayNames.ParseAlias(l.Alias) is { } owner && owner.NetworkId != GatewayBridge.NetworkId).Select(l => l.Index).ToHashSet();
        return [.. addresses.Where(a => !overlays.Contains(a.Index) && !IPAddress.IsLoopback(a.Address))];
    }

    /// <summary>Why this node will not run the task on one of its networks; null when it may. Under the gate.</summary>
    private string? RefusalOf(TaskObject task) =>
        task.Networks.Select(n => _refused.GetValueOrDefault(n.NetworkId)).FirstOrDefault(r => r is not null);

    /// <summary>
    /// At the node host's start, before any view: removes every network whose devices in the node's
    /// namespace hold an address that overlaps one of the node's own (made before nodes refused such
    /// networks): its route may be what keeps the node from reaching the managers that would tell it
    /// to remove the network. A network still wanted comes back with the first views, refused.
    /// </summary>
    public async Task SweepAtStartAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var overlapping = await _overlay.RunAsync(netlink =>
            {
                var links = netlink.ListLinks();
                var ours = links.Where(l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: null } owner && owner.NetworkId != GatewayBridge.NetworkId)
                    .ToDictionary(l => l.Index, l => OverlayNames.ParseAlias(l.Alias)!.Value.NetworkId);
                var addresses = netlink.ListAddresses();
                var own = OwnAddresses(links, addresses);
                return addresses.Where(a => ours.ContainsKey(a.Index) && OverlayPlanner.ConflictingAddress(GatewayBridge.SubnetOf(a.Address, a.PrefixLength), own) is not null)
                    .Select(a => ours[a.Index]).Distinct(StringComparer.Ordinal).ToList();
            }).ConfigureAwait(false);
            foreach (var id in overlapping)
            {
                await _overlay.RemoveNetworkAsync(id).ConfigureAwait(false);
                LogOverlappingRemoved(_logger, id);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Prepares (or, after a node host restart, finds again) the task's namespace with its
    /// interfaces, DNS and rules. A task on no network (or on the node's bridge alone, `--network bridge`) is on the
    /// node's bridge, as docker puts such a task on its default bridge: its namespace has only <c>eth0</c> on the
    /// gateway bridge, its way out, with no DNS server and no rules (<see cref="AttachBridgedAsync"/>). One that names
    /// the bridge beside overlays has its interface there in the place it names it (<see cref="BridgeSlot"/>), even
    /// when its overlays are internal, and is on the bridge as `network inspect bridge` shows it.
    /// </summary>
    /// <param name="restoring">
    /// The container already runs (a node host restart found it): a task on no network whose namespace
    /// file is gone is left as it is (null), since its container made a namespace of its own, as a node
    /// host before the bridge did; nothing made now could be in it.
    /// </param>
    /// <param name="standalone">
    /// A standalone container being created or started again. Its host-mode ports are taken when it starts
    /// (<see cref="BindHostPortsAsync"/>), as docker's engine binds them, not now; a created container holds none.
    /// </param>
    public async Task<TaskSandbox?> AttachTaskAsync(TaskObject task, CancellationToken ct, bool restoring = false, bool standalone = false)
    {
        if (task.Networks.IsEmpty)
        {
            return await AttachBridgedAsync(task, restoring, deferHostPorts: standalone, ct).ConfigureAwait(false);
        }

        await EnterWithViewsAsync(task, ct).ConfigureAwait(false);
        try
        {
            if (RefusalOf(task) is { } refusal)
            {
                throw new InvalidOperationException(refusal);
            }

            if (!_sandboxes.TryGetValue(task.Id, out var sandbox))
            {
                var existed = File.Exists(Path.Combine(_netnsDir, task.Id));
                var path = TaskNamespacePath(task.Id);

                // Found again after a node host restart: each network keeps the interface it has (`network connect` may have
                // given a standalone container's networks other names than eth0, eth1... in their order).
                var held = existed ? await InterfacesOfAsync(path).ConfigureAwait(false) : [];
                var slot = BridgeSlot(task);
                sandbox = new Sandbox(task.Id, path, task.Networks);
                sandbox.Interfaces = [.. task.Networks.Select((n, i) =>
                    held.Where(l => l.Alias == OverlayNames.TaskAlias(n.NetworkId, task.Id)).Select(l => l.Name).FirstOrDefault() ?? $"eth{(slot >= 0 && i >= slot ? i + 1 : i)}")];
                for (var i = 0; i < task.Networks.Length; i++)
                {
                    var network = task.Networks[i];
                    await _overlay.AttachTaskAsync(new TaskAttachment(task.Id, path, network.NetworkId, sandbox.Interfaces[i], network.Address)).ConfigureAwait(false);
                }

                if (slot >= 0 || NeedsGateway(task))
                {
                    sandbox.GatewayAddress = await AttachGatewayAsync(task.Id, path, $"eth{(slot >= 0 ? slot : task.Networks.Length)}").ConfigureAwait(false);
                }

                _sandboxes[task.Id] = sandbox;
            }

            if (PredefinedNetworks.OnBridge(task.Spec.Networks) && sandbox.GatewayAddress is { } bridged)
            {
                // Asked for by name (`--network bridge` beside overlays): its way out is its endpoint on the node's bridge, shown as such.
                _bridged[task.Id] = bridged;
            }

            await RefreshAsync(sandbox).ConfigureAwait(false);
            await StartDnsAsync(sandbox, task).ConfigureAwait(false);
            var hostPorts = standalone ? [] : await HostPortsOfAsync(task).ConfigureAwait(false);
            await ApplyNodeRulesAsync().ConfigureAwait(false);
            return new TaskSandbox(sandbox.NetnsPath, _hostResolv.ForContainer(task.Spec.Container.Dns), HostsLines(task, IngressIds(), _bridged.GetValueOrDefault(task.Id)), hostPorts);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Where a task that names the node's bridge beside its overlays (<see cref="PredefinedNetworks.OnBridge"/>) has its interface
    /// there: the index among its interfaces, in the order its spec names the networks (after ingress, which the managers put
    /// first), as docker's container gets one per network in that order; -1 when it does not name the bridge (its way out on
    /// the gateway bridge, if any, comes after its networks).
    /// </summary>
    internal static int BridgeSlot(TaskObject task)
    {
        var spec = task.Spec.Networks;
        var at = spec.IsDefault ? -1 : spec.Select(n => n.Target).ToList().IndexOf(PredefinedNetworks.Bridge);
        if (at < 0)
        {
            return -1;
        }

        var after = PredefinedNetworks.Networks([.. spec.Skip(at + 1)]).Count();
        return Math.Max(0, task.Networks.Length - after);
    }

    /// <summary>
    /// The "HOSTNAME:IP" lines of a container on overlays for its /etc/hosts, a task's as a standalone container's: its address
    /// on each network in the order of its interfaces, the node's bridge included where it names it (<paramref name="bridged"/>,
    /// <see cref="BridgeSlot"/>), as docker's daemon writes one line for each endpoint a container joins (a stopped container
    /// `network connect`ed to more than one finds them all at its next start). As docker's, none for ingress, nor for its way
    /// out on the gateway bridge (docker_gwbridge) when it does not name the bridge.
    /// </summary>
    internal static ImmutableArray<string> HostsLines(TaskObject task, IReadOnlySet<string> ingress, IPAddress? bridged)
    {
        var hostname = TaskContainers.Hostname(task);
        var lines = task.Networks.Select(n => ingress.Contains(n.NetworkId) ? null : $"{hostname}:{n.Address.Split('/')[0]}").ToList();
        if (bridged is not null && BridgeSlot(task) is >= 0 and var slot)
        {
            lines.Insert(Math.Min(slot, lines.Count), $"{hostname}:{bridged}");
        }

        return [.. lines.OfType<string>()];
    }

    /// <summary>The ids of the ingress networks of the node's views (docker writes no /etc/hosts line for a task's address there).</summary>
    private HashSet<string> IngressIds()
    {
        lock (_viewsLock)
        {
            return [.. _views.Values.Where(v => v.Ingress).Select(v => v.NetworkId)];
        }
    }

    /// <summary>The embedded DNS server at 127.0.0.11 in the task's namespace, unless it runs there already; true when started now.</summary>
    private async Task<bool> StartDnsAsync(Sandbox sandbox, TaskObject task)
    {
        if (sandbox.Dns is not null)
        {
            return false;
        }

        var nameservers = task.Spec.Container.Dns.Nameservers;
        sandbox.Forwarder ??= nameservers.IsEmpty ? null : new DnsForwarder([.. nameservers.Select(IPAddress.Parse)], TimeSpan.FromSeconds(2));
        sandbox.Dns = await EmbeddedDnsServer.StartAsync(new TaskNamespace(sandbox.NetnsPath), DnsRecords.From(ViewsOf(sandbox)), sandbox.Forwarder ?? _forwarder, _logger).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// `network connect` of a standalone container whose namespace is here (running, or created): one more interface in it
    /// on <paramref name="network"/>, the lowest ethN it does not have, made as a task's (<see cref="HostOverlay.AttachTaskAsync"/>),
    /// then the network's names in its DNS and its VIPs in its rules (<see cref="RefreshAsync"/>), under the gate as every
    /// attach. The default route stays where it is, as docker's (the first network's way out, the gateway bridge); a namespace
    /// on internal networks only gets the gateway bridge when the new network is not internal, as a task would. A namespace
    /// without a DNS server (a container on the bridge only) gets one: its resolv.conf is returned, for the caller to give the
    /// container (null when it had the server already). Connecting it again to a network it is on changes nothing.
    /// </summary>
    public async Task<string?> ConnectTaskAsync(TaskObject task, AttachedNetwork network, CancellationToken ct)
    {
        var joining = task with { Networks = [network] };
        await EnterWithViewsAsync(joining, ct).ConfigureAwait(false);
        try
        {
            if (RefusalOf(joining) is { } refusal)
            {
                throw new InvalidOperationException(refusal);
            }

            if (!_sandboxes.TryGetValue(task.Id, out var sandbox))
            {
                throw new InvalidOperationException($"container {task.Id} has no network namespace on this node: it is not running; start it first");
            }

            if (sandbox.Networks.Any(n => n.NetworkId == network.NetworkId))
            {
                return null;
            }

            var ifName = await FreeInterfaceAsync(sandbox.NetnsPath).ConfigureAwait(false);
            try
            {
                await _overlay.AttachTaskAsync(new TaskAttachment(task.Id, sandbox.NetnsPath, network.NetworkId, ifName, network.Address)).ConfigureAwait(false);
            }
            catch
            {
                await _overlay.DetachTaskAsync(task.Id, network.NetworkId, sandbox.NetnsPath).ConfigureAwait(false);
                throw;
            }

            sandbox.Networks = sandbox.Networks.Add(network);
            sandbox.Interfaces = sandbox.Interfaces.Add(ifName);
            if (sandbox.GatewayAddress is null && NeedsGateway(joining))
            {
                sandbox.GatewayAddress = await AttachGatewayAsync(task.Id, sandbox.NetnsPath, await FreeInterfaceAsync(sandbox.NetnsPath).ConfigureAwait(false)).ConfigureAwait(false);
            }

            await RefreshAsync(sandbox).ConfigureAwait(false);
            return await StartDnsAsync(sandbox, task).ConfigureAwait(false) ? _hostResolv.ForContainer(task.Spec.Container.Dns) : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// `network disconnect`: the container's interface on the network goes (its address with it, before the managers give it
    /// to another), and so do the network's names from its DNS and its VIPs from its rules, with conntrack's flows to the
    /// backends it no longer reaches; the network's devices go from the node when nothing else here is on it. The DNS server
    /// stays (the container's resolv.conf names it, and it still forwards other names). Nothing to do when it is not on it.
    /// </summary>
    public async Task DisconnectTaskAsync(string taskId, string networkId, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_sandboxes.TryGetValue(taskId, out var sandbox) || sandbox.Networks.Select(n => n.NetworkId).ToList().IndexOf(networkId) is var index && index < 0)
            {
                return;
            }

            await _overlay.DetachTaskAsync(taskId, networkId, sandbox.NetnsPath).ConfigureAwait(false);
            sandbox.Networks = sandbox.Networks.RemoveAt(index);
            sandbox.Interfaces = sandbox.Interfaces.RemoveAt(index);
            await RefreshAsync(sandbox).ConfigureAwait(false);
            await RemoveUnwantedNetworksAsync().ConfigureAwait(false);
            await ApplyNodeRulesAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The lowest ethN the namespace has no interface of (docker's next interface name, reused once one went).</summary>
    private static async Task<string> FreeInterfaceAsync(string netnsPath)
    {
        var names = await new TaskNamespace(netnsPath).RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            return netlink.ListLinks().Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        }).ConfigureAwait(false);
        return FreeInterface(names);
    }

    /// <summary>The interfaces in a task's namespace, with their alias (ours name the network and task) and addresses.</summary>
    private static Task<List<(string Name, string Alias, List<IPAddress> Addresses)>> InterfacesOfAsync(string netnsPath) =>
        new TaskNamespace(netnsPath).RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var addresses = netlink.ListAddresses();
            return netlink.ListLinks().Select(l => (l.Name, l.Alias, addresses.Where(a => a.Index == l.Index).Select(a => a.Address).ToList())).ToList();
        });

    internal static string FreeInterface(IReadOnlySet<string> names) =>
        Enumerable.Range(0, names.Count + 1).Select(i => $"eth{i}").First(n => !names.Contains(n));

    /// <summary>
    /// A task on no network: its namespace with one interface, <c>eth0</c> on the gateway bridge (a /32 of
    /// its subnet, the default route through the bridge, masqueraded out by the node), and a resolv.conf
    /// naming the node's resolvers (<see cref="ResolvConf.ForBridge"/>); no embedded DNS (no service
    /// names, as on docker's default bridge) and no rules in the namespace, so this costs a namespace and
    /// a veth, no more. Its /etc/hosts maps its hostname to that address, as docker's does.
    /// </summary>
    private async Task<TaskSandbox?> AttachBridgedAsync(TaskObject task, bool restoring, bool deferHostPorts, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_sandboxes.TryGetValue(task.Id, out var sandbox))
            {
                if (restoring && !File.Exists(Path.Combine(_netnsDir, task.Id)))
                {
                    return null;
                }

                var path = TaskNamespacePath(task.Id);
                sandbox = new Sandbox(task.Id, path, [])
                {
                    GatewayAddress = await AttachGatewayAsync(task.Id, path, "eth0").ConfigureAwait(false),
                };
                _sandboxes[task.Id] = sandbox;
            }

            _bridged[task.Id] = sandbox.GatewayAddress!;

            var hostPorts = deferHostPorts ? [] : await HostPortsOfAsync(task).ConfigureAwait(false);
            await ApplyNodeRulesAsync().ConfigureAwait(false);
            return new TaskSandbox(sandbox.NetnsPath, _hostResolv.ForBridge(task.Spec.Container.Dns),
                [$"{TaskContainers.Hostname(task)}:{sandbox.GatewayAddress}"], hostPorts);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The task's host-mode ports with the host port of each (under the gate): those held for it
    /// already, else a fixed one as it is and one published as 0 with a port picked on this node
    /// (<see cref="HostPortPicker"/>), the one its status reported when the node host restarted and
    /// nothing else took it. What is in use: every socket's port in the node's namespace, every
    /// port the managers' views publish (ingress ports answer on every node; a fixed host port may
    /// come to this node), the ports other tasks here hold or reported, and the overlays' VXLAN port.
    /// A node without a free port refuses the task with why, and so does one where a standalone container holds a
    /// fixed port the task publishes (the scheduler placed it before the node's description said so): the swarm
    /// puts its replacement on another node.
    /// </summary>
    private async Task<ImmutableArray<PortConfig>> HostPortsOfAsync(TaskObject task)
    {
        if (_hostPorts.TryGetValue(task.Id, out var held))
        {
            return held;
        }

        var requested = (task.Endpoint?.Ports ?? []).Where(p => p.PublishMode == PublishMode.Host).ToList();
        if (requested.Count == 0)
        {
            return [];
        }

        var inUse = new HashSet<(PortProtocol Protocol, int Port)>();
        var sockets = inUse;
        var range = PortRange.KernelDefault;
        // A standalone container (no service: the managers' scheduler never saw its ports) checks its fixed ports here, as docker's engine does.
        var standalone = task.ServiceId.Length == 0;
        if (standalone || requested.Any(p => p.PublishedPort == 0))
        {
            (sockets, range) = await _overlay.RunAsync(_ => (BoundPorts.ReadOwn(), PortRange.Parse(ReadLocalPortRange()))).ConfigureAwait(false);
            ImmutableArray<NetworkView> views;
            lock (_viewsLock)
            {
                views = [.. _views.Values];
            }

            inUse = [.. PortsInUse(views, _hostPorts, NodeId, task.Id)];
            inUse.UnionWith(sockets);
        }

        if (standalone && requested.FirstOrDefault(p => p.PublishedPort > 0 && inUse.Contains((p.Protocol, p.PublishedPort))) is { } taken)
        {
            throw new InvalidOperationException(PortTaken(taken, bySocket: sockets.Contains((taken.Protocol, taken.PublishedPort))));
        }

        if (!standalone && _hostPorts.Where(h => _standaloneHolders.Contains(h.Key)).SelectMany(h => h.Value)
            .FirstOrDefault(h => requested.Any(p => p.PublishedPort > 0 && p.PublishedPort == h.PublishedPort && p.Protocol == h.Protocol)) is { } standaloneHeld)
        {
            throw new InvalidOperationException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"host port {standaloneHeld.PublishedPort}/{ProtocolName(standaloneHeld.Protocol)} is held by a standalone container on node {NodeId} (`protoswarm ps` there shows it); the swarm places this task on another node"));
        }

        var (ports, problem) = HostPortPicker.Assign(requested, task.Status.PortStatus, inUse, range, ref _lastHostPort);
        if (problem is not null)
        {
            throw new InvalidOperationException(problem);
        }

        _hostPorts[task.Id] = ports;
        if (standalone)
        {
            _standaloneHolders.Add(task.Id);
            PublishStandalonePorts();
        }

        return ports;
    }

    /// <summary>
    /// docker's words for a host port a standalone container cannot have: another container's, a task's or the swarm's
    /// (docker's port allocator), or a socket's on the node (docker's userland proxy, whose listen fails).
    /// </summary>
    internal static string PortTaken(PortConfig port, bool bySocket) => bySocket
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Error starting userland proxy: listen {ProtocolName(port.Protocol)}4 0.0.0.0:{port.PublishedPort}: bind: address already in use")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Bind for 0.0.0.0:{port.PublishedPort} failed: port is already allocated");

    /// <summary>
    /// A standalone container starts: its host-mode ports are taken now and forwarded to its namespace, as docker's engine
    /// binds them at start (<see cref="AttachTaskAsync"/> left them). Throws with docker's words when one is taken.
    /// </summary>
    public async Task<ImmutableArray<PortConfig>> BindHostPortsAsync(TaskObject task, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_sandboxes.ContainsKey(task.Id))
            {
                return [];
            }

            var ports = await HostPortsOfAsync(task).ConfigureAwait(false);
            await ApplyNodeRulesAsync().ConfigureAwait(false);
            return ports;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A standalone container that took its ports did not start after all: they are free again, as its namespace stays.</summary>
    public async Task ReleaseHostPortsAsync(string taskId)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (ForgetHostPorts(taskId))
            {
                await ApplyNodeRulesAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The task's host ports are free again (under the gate); true when it held some.</summary>
    private bool ForgetHostPorts(string taskId)
    {
        var held = _hostPorts.Remove(taskId);
        if (_standaloneHolders.Remove(taskId))
        {
            PublishStandalonePorts();
        }

        return held;
    }

    private static string ProtocolName(PortProtocol protocol) => protocol == PortProtocol.Udp ? "udp" : "tcp";

    private void PublishStandalonePorts() =>
        _standalonePorts = [.. _hostPorts.Where(h => _standaloneHolders.Contains(h.Key)).SelectMany(h => h.Value)];

    /// <summary>
    /// The ports a host port picked for <paramref name="taskId"/> must not be: those the views publish
    /// (either mode), those the other tasks of this node hold or reported, and the VXLAN port (UDP).
    /// </summary>
    internal static IEnumerable<(PortProtocol Protocol, int Port)> PortsInUse(
        IEnumerable<NetworkView> views, IReadOnlyDictionary<string, ImmutableArray<PortConfig>> held, string nodeId, string taskId)
    {
        foreach (var view in views)
        {
            yield return (PortProtocol.Udp, view.DataPathPort > 0 ? view.DataPathPort : NetworkView.DefaultDataPathPort);
            foreach (var port in view.Services.SelectMany(s => s.Ports).Where(p => p.PublishedPort > 0))
            {
                yield return (port.Protocol, port.PublishedPort);
            }

            foreach (var port in view.Endpoints.Where(e => e.NodeId == nodeId && e.TaskId != taskId).SelectMany(e => e.HostPorts))
            {
                yield return (port.Protocol, port.PublishedPort);
            }
        }

        foreach (var port in held.Where(h => h.Key != taskId).SelectMany(h => h.Value))
        {
            yield return (port.Protocol, port.PublishedPort);
        }
    }

    /// <summary>The calling thread's namespace's ephemeral port range (a setting of each network namespace); null when it cannot be read.</summary>
    private static string? ReadLocalPortRange()
    {
        try
        {
            return File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The task's namespace file: the one already there (a node host restart), or a new namespace. Under the gate.</summary>
    private string TaskNamespacePath(string taskId)
    {
        Directory.CreateDirectory(_netnsDir);
        var path = Path.Combine(_netnsDir, taskId);
        return File.Exists(path) && IsNamespace(path) ? path : NetworkNamespace.Create(_netnsDir, taskId);
    }

    /// <summary>
    /// Removes the task's namespace, its interfaces and addresses, its DNS server and rules; a task this
    /// node never attached is nothing to do. Called as soon as the task's container has ended for
    /// good (before its end is reported), again when the task is removed, and for leftovers: each
    /// call after the first finds nothing and changes nothing.
    /// </summary>
    public Task DetachTaskAsync(string taskId, CancellationToken ct) => DetachAsync(taskId, leftover: false, ct);

    /// <param name="leftover">Found by the sweep: its veths are looked for even without its namespace file.</param>
    private async Task DetachAsync(string taskId, bool leftover, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Its host ports are free again: its end is reported after this, and its endpoint, with its ports, leaves the views.
            ForgetHostPorts(taskId);
            var path = Path.Combine(_netnsDir, taskId);
            if (!leftover && !_sandboxes.ContainsKey(taskId) && !File.Exists(path) && !_gatewayFound.ContainsKey(taskId))
            {
                // Released already (or never attached): a namespace made for a task is its file until it is deleted
                // here, and the veths of one whose file went are found by the sweep of the next full assignment set.
                return;
            }

            _bridged.TryRemove(taskId, out _);
            if (_sandboxes.Remove(taskId, out var sandbox))
            {
                if (sandbox.Dns is { } dns)
                {
                    await dns.DisposeAsync().ConfigureAwait(false);
                }

                sandbox.Forwarder?.Dispose();
                foreach (var network in sandbox.Networks)
                {
                    await _overlay.DetachTaskAsync(taskId, network.NetworkId, path).ConfigureAwait(false);
                }

                if (sandbox.GatewayAddress is { } address)
                {
                    await _overlay.DetachTaskAsync(taskId, GatewayBridge.NetworkId).ConfigureAwait(false);
                    _gatewayAddresses?.Release(address);
                    // Flows its host-mode ports DNATed to it are forgotten: a client's UDP flow would otherwise reach the next task given the address.
                    await _overlay.RunAsync(_ =>
                    {
                        using var conntrack = new ConntrackClient();
                        return conntrack.DeleteFlowsTo(address);
                    }).ConfigureAwait(false);
                }
            }
            else
            {
                var owned = await _overlay.ListOwnedAsync().ConfigureAwait(false);
                foreach (var attachment in owned.Attachments.Where(a => a.TaskKey == taskId))
                {
                    await _overlay.DetachTaskAsync(taskId, attachment.NetworkId).ConfigureAwait(false);
                }
            }

            if (_gatewayFound.Remove(taskId, out var found))
            {
                _gatewayAddresses?.Release(found);
            }

            if (File.Exists(path) && IsNamespace(path))
            {
                // Its macvlans go now, not whenever the kernel frees the namespace: their MACs are the addresses' and a new task may take one.
                await HostOverlay.DetachTaskNamespaceAsync(taskId, path).ConfigureAwait(false);
            }

            if (File.Exists(path))
            {
                NetworkNamespace.Delete(path);
            }

            await RemoveUnwantedNetworksAsync().ConfigureAwait(false);
            await ApplyNodeRulesAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A network the managers stopped sending while a task here still used it goes with its last task. Under the gate.</summary>
    private async Task RemoveUnwantedNetworksAsync()
    {
        Dictionary<string, NetworkView> wanted;
        lock (_viewsLock)
        {
            wanted = new(_views, StringComparer.Ordinal);
        }

        foreach (var id in await RemovableNetworksAsync(wanted).ConfigureAwait(false))
        {
            await _overlay.RemoveNetworkAsync(id).ConfigureAwait(false);
            LogNetworkRemoved(_logger, id);
        }
    }

    /// <summary>
    /// Removes what tasks outside <paramref name="keep"/> left on this node (namespaces, veths), as
    /// the executor removes their containers: a node host restart leaves nothing without an owner.
    /// </summary>
    public async Task RetainOnlyAsync(IReadOnlySet<string> keep, CancellationToken ct)
    {
        var leftovers = Directory.Exists(_netnsDir)
            ? Directory.EnumerateFiles(_netnsDir).Select(Path.GetFileName).OfType<string>().Where(id => !keep.Contains(id)).ToList()
            : [];
        var owned = await _overlay.ListOwnedAsync().ConfigureAwait(false);
        leftovers.AddRange(owned.Attachments.Select(a => a.TaskKey).Where(id => !keep.Contains(id)));
        foreach (var id in leftovers.Distinct(StringComparer.Ordinal))
        {
            LogTaskLeftover(_logger, id);
            await DetachAsync(id, leftover: true, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes the gate once every network of the task has its view here. A view seen before the gate
    /// may be gone once it is taken (a change that removes the network was being applied: the task's
    /// last one on it had just ended here, and the change that brings it back comes next), so it is
    /// checked again under the gate, and waited for again while the time allows.
    /// </summary>
    private async Task EnterWithViewsAsync(TaskObject task, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + ViewWait;
        while (true)
        {
            await WaitForViewsAsync(task, deadline - DateTime.UtcNow, ct).ConfigureAwait(false);
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            bool complete;
            lock (_viewsLock)
            {
                complete = task.Networks.All(n => _views.ContainsKey(n.NetworkId));
            }

            if (complete)
            {
                return;
            }

            _gate.Release();
        }
    }

    private async Task WaitForViewsAsync(TaskObject task, TimeSpan timeLeft, CancellationToken ct)
    {
        List<Task> waits = [];
        lock (_viewsLock)
        {
            foreach (var network in task.Networks.Where(n => !_views.ContainsKey(n.NetworkId)))
            {
                if (!_viewArrived.TryGetValue(network.NetworkId, out var waiter))
                {
                    waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _viewArrived[network.NetworkId] = waiter;
                }

                waits.Add(waiter.Task);
            }
        }

        if (waits.Count == 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(waits).WaitAsync(timeLeft > TimeSpan.Zero ? timeLeft : TimeSpan.Zero, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            List<string> missing;
            lock (_viewsLock)
            {
                missing = [.. task.Networks.Select(n => n.NetworkId).Where(id => !_views.ContainsKey(id))];
            }

            throw new InvalidOperationException(
                $"network {string.Join(", ", missing)} did not reach this node within {ViewWait.TotalSeconds:0} s; check that the node reaches the managers");
        }
    }

    /// <summary>
    /// Brings a task's namespace up to date with the views: the DNS records, the virtual IPs' rules
    /// (connections to backends that left are forgotten by conntrack, so they fail fast instead of
    /// hanging), and on ingress the return routing per node.
    /// </summary>
    private async Task RefreshAsync(Sandbox sandbox)
    {
        var views = ViewsOf(sandbox);
        sandbox.Dns?.Update(DnsRecords.From(views));
        var runner = new TaskNamespace(sandbox.NetnsPath);
        var ingressIndex = sandbox.Networks.Select((n, i) => (n, i)).Where(x => views.Any(v => v.Ingress && v.NetworkId == x.n.NetworkId)).Select(x => x.i).DefaultIfEmpty(-1).First();
        var ingress = views.FirstOrDefault(v => v.Ingress);
        var routes = ingress is not null && ingressIndex >= 0 ? IngressReturnRoute.Plan(ingress) : [];
        var ruleset = VipRuleset.Build(views, sandbox.TaskId)
            + (ingressIndex >= 0
                ? ReturnRoutingRuleset.Build(new ReturnRouting(sandbox.Interfaces[ingressIndex], routes, IPAddress.Parse(sandbox.Networks[ingressIndex].Address.Split('/')[0]), sandbox.GatewayAddress))
                : "");
        if (ruleset != sandbox.Ruleset)
        {
            await new Nftables(runner).ApplyAsync(ruleset).ConfigureAwait(false);
            sandbox.Ruleset = ruleset;
        }

        if (ingressIndex >= 0 && (!sandbox.ReturnRoutesApplied || !sandbox.ReturnRoutes.SequenceEqual(routes)))
        {
            var stale = sandbox.ReturnRoutes.Except(routes).ToList();
            var ifName = sandbox.Interfaces[ingressIndex];
            await runner.RunAsync(() =>
            {
                // The clients' addresses are routed through no interface here: reverse-path filtering would drop them.
                foreach (var conf in new[] { "all", "default", ifName })
                {
                    File.WriteAllText($"/proc/sys/net/ipv4/conf/{conf}/rp_filter", "0");
                }

                using var netlink = new RtnetlinkClient();
                var link = netlink.GetLink(ifName) ?? throw new InvalidOperationException($"{ifName} is missing from the task's namespace");
                netlink.Run(batch =>
                {
                    foreach (var route in stale)
                    {
                        batch.DeleteRule(new RuleSpec(route.Mark, route.Table, RulePriority));
                    }

                    // A reply is routed once before the route chain marks it: without a default route that first
                    // lookup fails (a SYN-ACK to a client elsewhere would be dropped); the mark then re-routes it.
                    // A task with the gateway bridge has its default route there.
                    if (sandbox.GatewayAddress is null)
                    {
                        batch.ReplaceRoute(new RouteSpec(new IPNetwork(IPAddress.Any, 0), IPAddress.Parse(ingress!.Gateway.Split('/')[0]), link.Index));
                    }

                    foreach (var route in routes)
                    {
                        batch.DeleteRule(new RuleSpec(route.Mark, route.Table, RulePriority));
                        batch.AddRule(new RuleSpec(route.Mark, route.Table, RulePriority));
                        batch.ReplaceRoute(new RouteSpec(new IPNetwork(IPAddress.Any, 0), IPAddress.Parse(route.NodeAddress), link.Index, route.Table, OnLink: true));
                    }
                });
                return true;
            }).ConfigureAwait(false);
            sandbox.ReturnRoutes = routes;
            sandbox.ReturnRoutesApplied = true;
        }

        var backends = Backends(views);
        var gone = sandbox.Backends.Except(backends);
        if (!gone.IsEmpty)
        {
            await runner.RunAsync(() =>
            {
                using var conntrack = new ConntrackClient();
                return gone.Sum(address => conntrack.DeleteFlowsTo(IPAddress.Parse(address)));
            }).ConfigureAwait(false);
        }

        sandbox.Backends = backends;
    }

    /// <summary>
    /// The routing mesh in the node's own namespace: ingress ports to every ready task, host-mode ports to this node's
    /// attached tasks (their gateway bridge address, as docker maps them on docker_gwbridge). Under the gate.
    /// </summary>
    private async Task ApplyNodeRulesAsync()
    {
        ImmutableArray<NetworkView> views;
        lock (_viewsLock)
        {
            views = [.. _views.Values];
        }

        var ingress = views.FirstOrDefault(v => v.Ingress);
        var hostPorts = HostPortBinding.ForNode(_hostPorts.Where(h => !h.Value.IsEmpty && _sandboxes.ContainsKey(h.Key)).Select(h =>
        {
            var sandbox = _sandboxes[h.Key];
            return new TaskHostPorts(h.Key, h.Value, sandbox.GatewayAddress?.ToString(), sandbox.Networks.FirstOrDefault()?.Address);
        }));
        var ingressBridge = ingress is null ? null : OverlayNames.Bridge(ingress.NetworkId);
        var ruleset = IngressRuleset.Build(ingress, hostPorts, NodeId) + GatewayRuleset.Build(_gatewayAddresses?.Subnet, ingressBridge);
        // Made with each interface (HostOverlay); looked at again on every pass, rules changed or not, as the safety net.
        await _overlay.RunAsync(_ => EnableRouteLocalnet(ingressBridge)).ConfigureAwait(false);
        if (ruleset == _nodeRuleset)
        {
            return;
        }

        if (!_forwarding)
        {
            // DNATed connections are routed on to the overlay, and their replies back (a setting of the node's namespace).
            await _overlay.RunAsync(_ =>
            {
                File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1");
                return true;
            }).ConfigureAwait(false);
            _forwarding = true;
        }

        await _nodeRules.ApplyAsync(ruleset).ConfigureAwait(false);
        _nodeRuleset = ruleset;
        var backends = ingress is null ? [] : Backends([ingress]);
        var gone = _ingressBackends.Except(backends);
        if (!gone.IsEmpty)
        {
            await _overlay.RunAsync(_ =>
            {
                using var conntrack = new ConntrackClient();
                return gone.Sum(address => conntrack.DeleteFlowsTo(IPAddress.Parse(address)));
            }).ConfigureAwait(false);
        }

        _ingressBackends = backends;
    }

    /// <summary>
    /// route_localnet on the node's interfaces toward tasks (<see cref="GatewayRuleset.NeedsRouteLocalnet"/>), so that a
    /// connection from the node's own 127.0.0.1 to a published port reaches its task, as on docker's nodes; in the
    /// node's namespace. <see cref="HostOverlay"/> turns it on as it makes each of them; this sweep is the safety net
    /// (an interface made by an operator, or by a node that died before it got there). Returns how many were turned on.
    /// </summary>
    private static int EnableRouteLocalnet(string? ingressBridge) =>
        Directory.EnumerateDirectories("/proc/sys/net/ipv4/conf").Select(Path.GetFileName)
            .Count(name => GatewayRuleset.NeedsRouteLocalnet(name!, ingressBridge) && RouteLocalnet.Enable(name!));

    /// <summary>As docker gives docker_gwbridge to a task on any network that is not internal (ingress included).</summary>
    private bool NeedsGateway(TaskObject task)
    {
        lock (_viewsLock)
        {
            return task.Networks.Any(n => _views.GetValueOrDefault(n.NetworkId) is { Internal: false });
        }
    }

    /// <summary>
    /// Connects a task to the gateway bridge (made on first use): a veth named <paramref name="ifName"/>
    /// in its namespace with a /32 address of the bridge's subnet and the default route through the
    /// bridge, on-link. A task found again after a node host restart keeps the address it had.
    /// </summary>
    private async Task<IPAddress> AttachGatewayAsync(string taskId, string netnsPath, string ifName)
    {
        var subnet = await _overlay.EnsureGatewayBridgeAsync().ConfigureAwait(false);
        if (_gatewayAddresses?.Subnet != subnet)
        {
            _gatewayAddresses = new GatewayAddresses(subnet);
            _gatewayFound.Clear();
            await FindGatewayAddressesAsync(_gatewayAddresses).ConfigureAwait(false);
        }

        var address = _gatewayFound.Remove(taskId, out var found) ? found : _gatewayAddresses.Allocate();
        if (found is not null && (await InterfacesOfAsync(netnsPath).ConfigureAwait(false)).Where(l => l.Addresses.Contains(found)).Select(l => l.Name).FirstOrDefault() is { } holder)
        {
            // Found again after a node host restart: the interface that holds it (eth0 of a container on the bridge that `network connect` gave more).
            ifName = holder;
        }

        try
        {
            await _overlay.AttachTaskAsync(new TaskAttachment(taskId, netnsPath, GatewayBridge.NetworkId, ifName, $"{address}/32", GatewayBridge.GatewayOf(subnet)))
                .ConfigureAwait(false);
            return address;
        }
        catch
        {
            _gatewayAddresses.Release(address);
            throw;
        }
    }

    /// <summary>
    /// The gateway addresses tasks of this node already hold (their namespaces outlive a node host
    /// restart): read once, from each task namespace, before the first address is given out.
    /// </summary>
    private async Task FindGatewayAddressesAsync(GatewayAddresses addresses)
    {
        foreach (var sandbox in _sandboxes.Values.Where(s => s.GatewayAddress is not null))
        {
            addresses.Reserve(sandbox.GatewayAddress!);
        }

        var others = Directory.Exists(_netnsDir)
            ? Directory.EnumerateFiles(_netnsDir).Where(p => !_sandboxes.ContainsKey(Path.GetFileName(p))).ToList()
            : [];
        foreach (var path in others)
        {
            try
            {
                var held = await new TaskNamespace(path).RunAsync(() =>
                {
                    using var netlink = new RtnetlinkClient();
                    return netlink.ListAddresses().Select(a => a.Address).Where(addresses.Subnet.Contains).ToList();
                }).ConfigureAwait(false);
                foreach (var address in held.Where(addresses.Reserve))
                {
                    _gatewayFound[Path.GetFileName(path)] = address;
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // A namespace file that is no longer one (its task is going): nothing is held there.
            }
        }
    }

    /// <summary>The addresses virtual IPs and published ports balance over: the ready tasks'.</summary>
    private static ImmutableHashSet<string> Backends(IEnumerable<NetworkView> views) =>
        [.. views.SelectMany(v => v.Endpoints).Where(e => e.Ready && e.TaskId.Length > 0).Select(e => e.Address.Split('/')[0])];

    /// <summary>The views of the networks a task is on (those this node has).</summary>
    private ImmutableArray<NetworkView> ViewsOf(Sandbox sandbox)
    {
        lock (_viewsLock)
        {
            return [.. sandbox.Networks.Select(n => _views.GetValueOrDefault(n.NetworkId)).OfType<NetworkView>()];
        }
    }

    private IPAddress Underlay()
    {
        var addr = _advertiseAddr();
        return addr is not null && IPAddress.TryParse(addr, out var ip)
            ? ip
            : throw new InvalidOperationException("this node has no underlay address yet (it is not in a swarm)");
    }

    private static bool IsNamespace(string path)
    {
        try
        {
            using var handle = NetworkNamespace.Open(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sandbox in _sandboxes.Values)
        {
            if (sandbox.Dns is { } dns)
            {
                await dns.DisposeAsync().ConfigureAwait(false);
            }

            sandbox.Forwarder?.Dispose();
        }

        _forwarder.Dispose();
        await _overlay.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    /// <summary>Work in the node's namespace, on the overlay's thread there.</summary>
    private sealed class NodeNamespace(HostOverlay overlay) : INamespaceRunner
    {
        public Task<T> RunAsync<T>(Func<T> work) => overlay.RunAsync(_ => work());
    }

    /// <summary>Short work inside a task's namespace, on a thread that entered it for that work alone.</summary>
    private sealed class TaskNamespace(string path) : INamespaceRunner
    {
        public async Task<T> RunAsync<T>(Func<T> work)
        {
            using var thread = new NamespaceThread(path, "task netns");
            return await thread.RunAsync(work).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bringing task {TaskId}'s DNS and rules up to date failed; tried again with the next change")]
    private static partial void LogRefreshFailed(ILogger logger, string taskId, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network {NetworkId} removed from this node")]
    private static partial void LogNetworkRemoved(ILogger logger, string networkId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Network {Name} ({Subnet}) overlaps this node's address {Address}; it is not made here, and its tasks are rejected on this node")]
    private static partial void LogNetworkRefused(ILogger logger, string name, string subnet, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Network {NetworkId} had an address overlapping this node's own on this node (its route may have cut the node off); removed")]
    private static partial void LogOverlappingRemoved(ILogger logger, string networkId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removing the network namespace and interfaces left by task {TaskId}")]
    private static partial void LogTaskLeftover(ILogger logger, string taskId);
}
