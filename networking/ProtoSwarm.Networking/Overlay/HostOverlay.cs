using System.Net;
using System.Runtime.InteropServices;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;

namespace ProtoSwarm.Networking.Overlay;

/// <summary>
/// One task's attachment to an overlay: its namespace, the interface name there and its address (CIDR).
/// <paramref name="DefaultVia"/>, on a veth (the gateway bridge), is the task's default route through that
/// address, on-link, set in the same pass as the address rather than by a second visit to the namespace.
/// </summary>
public sealed record TaskAttachment(string TaskKey, string NetnsPath, string NetworkId, string IfName, string Address, IPAddress? DefaultVia = null);

/// <summary>A network's devices found on this node (either may be missing after a crash), the namespace they are in when it is the network's own, and its vxlan device's id.</summary>
public sealed record OwnedNetwork(string NetworkId, string? Bridge, string? Vxlan, string? Namespace = null, uint? Vni = null);

/// <summary>A task's host-side veth found on this node.</summary>
public sealed record OwnedAttachment(string TaskKey, string NetworkId, string HostEnd);

/// <summary>Everything of ours on this node, read from the devices' aliases.</summary>
public sealed record OwnedDevices(IReadOnlyList<OwnedNetwork> Networks, IReadOnlyList<OwnedAttachment> Attachments);

/// <summary>
/// The overlay data plane of one node: a vxlan device per network with static peer entries, and an
/// interface per task. Ingress keeps a bridge in the node's namespace (the routing mesh routes into
/// it) with a veth per task; every other network has a namespace of its own, a file named after the
/// network id under the sandbox directory, that holds only its vxlan device: each task's interface
/// is a macvlan on it, made there straight into the task's namespace, and the node's gateway is one
/// more, in the node's namespace (<see cref="OverlayPlanner.PlanSandboxedNetwork"/>). Every change
/// runs on one <see cref="NamespaceThread"/> in the node's namespace (so changes are serialised and
/// its netlink socket lives there); work inside a network's or a task's namespace runs on a
/// short-lived thread that entered it. Each call reads what is there, plans with
/// <see cref="OverlayPlanner"/> and applies only the difference: calls are idempotent and safe to
/// repeat after a crash, and the namespaces outlive the process as the tasks' do.
/// </summary>
public sealed class HostOverlay : IAsyncDisposable
{
    private readonly string _nodeId;
    private readonly string _sandboxDirectory;
    private readonly NamespaceThread _thread;
    private RtnetlinkClient? _netlink;

    /// <param name="nodeId">This node's id (its own addresses on a network are the endpoints with this NodeId and no TaskId).</param>
    /// <param name="sandboxDirectory">Where the networks' own namespaces are bind-mounted (one node's alone: the files are named after the network ids).</param>
    /// <param name="netnsPath">The node's network namespace; null for this process's.</param>
    public HostOverlay(string nodeId, string sandboxDirectory, string? netnsPath = null)
    {
        _nodeId = nodeId;
        _sandboxDirectory = sandboxDirectory;
        _thread = new NamespaceThread(netnsPath, $"overlay {nodeId}");
    }

    /// <summary>The namespace a network other than ingress lives in on this node (it exists once <see cref="EnsureNetworkAsync"/> made it).</summary>
    public string SandboxPath(string networkId) => Path.Combine(_sandboxDirectory, networkId);

    /// <summary>Creates or repairs a network's bridge and vxlan device. Returns the number of changes made (0: it was right).</summary>
    public Task<int> EnsureNetworkAsync(NetworkView view, IPAddress underlayAddress) => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        var underlayMtu = view.Mtu > 0 ? view.Mtu + 50 : netlink.GetMtuOfAddress(underlayAddress);
        var want = OverlayPlanner.Want(view, _nodeId, underlayAddress, underlayMtu);
        if (!view.Ingress)
        {
            return EnsureSandboxed(netlink, want);
        }

        var bridge = netlink.GetLink(want.Bridge);
        var actual = new NetworkActual(bridge, netlink.GetLink(want.Vxlan),
            bridge is null ? [] : netlink.ListAddresses(bridge.Index),
            bridge is null ? [] : netlink.ListRoutes());
        var steps = OverlayPlanner.PlanNetwork(want, actual);
        Apply(netlink, steps, null);
        return steps.Count;
    });

    private int EnsureSandboxed(RtnetlinkClient netlink, NetworkWanted want)
    {
        var path = SandboxPath(want.NetworkId);
        var made = 0;
        if (!File.Exists(path) || !NetworkNamespace.IsMountPoint(path))
        {
            // A file that is no longer a mount (the machine restarted under a persistent state dir) is made again.
            if (File.Exists(path))
            {
                File.Delete(path);
            }
            NetworkNamespace.Create(_sandboxDirectory, want.NetworkId);
            made = 1;
        }

        var (bridge, vxlan, peer, netfilterOff) = InNamespace(path, n =>
            (n.GetLink(want.Bridge), n.GetLink(want.Vxlan), n.GetLink(OverlayNames.GatewayPeer), BridgeNetfilterIsOff()));
        var gateway = netlink.GetLink(OverlayNames.Gateway(want.NetworkId));
        var actual = new SandboxActual(bridge, vxlan, peer, gateway,
            gateway is null ? [] : netlink.ListAddresses(gateway.Index),
            gateway is null ? [] : netlink.ListRoutes(),
            netlink.ListLinks(), netfilterOff);
        var plan = OverlayPlanner.PlanSandboxedNetwork(want, actual);
        if (plan.DisableBridgeNetfilter || plan.Clear.Count > 0)
        {
            InNamespace(path, n =>
            {
                if (plan.DisableBridgeNetfilter)
                {
                    DisableBridgeNetfilter();
                }
                Apply(n, plan.Clear, null);
                return 0;
            });
        }
        Apply(netlink, plan.Node, path);
        if (plan.Inside.Count > 0)
        {
            // The gateway macvlan is made inside, on the vxlan device, and put straight into this (the node's) namespace.
            using var nodeNamespace = NetworkNamespace.Open("/proc/thread-self/ns/net");
            InNamespace(path, n =>
            {
                Apply(n, plan.Inside, null, nodeNamespace);
                return 0;
            });
        }
        Apply(netlink, plan.Gateway, path);
        return made + plan.Count;
    }

    /// <summary>The gateway bridge's subnet as its address says, without making it: null while the node has no such bridge (or it has no address).</summary>
    public Task<IPNetwork?> GatewayBridgeSubnetAsync() => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        return netlink.GetLink(GatewayBridge.Name) is { } bridge && netlink.ListAddresses(bridge.Index) is [var address, ..]
            ? GatewayBridge.SubnetOf(address.Address, address.PrefixLength)
            : (IPNetwork?)null;
    });

    /// <summary>
    /// Makes (or finds) the node's gateway bridge (<see cref="GatewayBridge"/>) and returns its subnet.
    /// A bridge of that name that is already there keeps its address, whoever made it (an operator may
    /// make it beforehand with a subnet of their choice, as with docker_gwbridge); otherwise the first
    /// candidate subnet that none of the node's routes and addresses overlaps.
    /// </summary>
    public Task<IPNetwork> EnsureGatewayBridgeAsync() => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        var bridge = netlink.GetLink(GatewayBridge.Name);
        if (bridge is not null && netlink.ListAddresses(bridge.Index) is [var existing, ..])
        {
            RouteLocalnet.Enable(GatewayBridge.Name);
            if (!bridge.Up)
            {
                netlink.Run(b => b.SetUp(bridge.Index));
            }
            return GatewayBridge.SubnetOf(existing.Address, existing.PrefixLength);
        }

        var inUse = netlink.ListRoutes().Select(r => r.Destination)
            .Concat(netlink.ListAddresses().Select(a => new IPNetwork(a.Address, 32)));
        var subnet = GatewayBridge.ChooseSubnet(inUse) ?? throw new InvalidOperationException(
            $"every subnet tried for the gateway bridge {GatewayBridge.Name} (172.18-31.0.0/16, 192.168.0-240.0/20) overlaps a route or address of this node; "
            + $"make the bridge yourself with a free subnet (ip link add {GatewayBridge.Name} type bridge; ip addr add 10.x.y.1/24 dev {GatewayBridge.Name})");
        if (bridge is null)
        {
            netlink.Run(b => b.CreateBridge(GatewayBridge.Name).SetAliasByName(GatewayBridge.Name, OverlayNames.NetworkAlias(GatewayBridge.NetworkId)));
            bridge = netlink.GetLink(GatewayBridge.Name)!;
        }

        // Toward tasks, so on before it is up (GatewayRuleset.NeedsRouteLocalnet), not from the next rules pass.
        RouteLocalnet.Enable(GatewayBridge.Name);
        netlink.Run(b => b.AddAddress(bridge.Index, GatewayBridge.GatewayOf(subnet), subnet.PrefixLength).SetUp(bridge.Index));
        return subnet;
    });

    /// <summary>
    /// Makes the network's static entries exactly the peers among <paramref name="endpoints"/> (those
    /// on other nodes): on the vxlan device, a forwarding entry MAC -> node and a permanent neighbour
    /// IP -> MAC (the device answers ARP from them). One batch of netlink requests.
    /// </summary>
    public Task<PeerPlan> SetPeersAsync(string networkId, IEnumerable<NetworkEndpoint> endpoints) => OnNetworkAsync(networkId, netlink =>
    {
        var vxlan = netlink.GetLink(OverlayNames.Vxlan(networkId))
            ?? throw new InvalidOperationException($"network {networkId} has no vxlan device on this node: EnsureNetwork first");
        var plan = OverlayPlanner.PlanPeers(OverlayPlanner.Peers(endpoints, _nodeId), netlink.ListNeighbours(vxlan.Index), netlink.ListFdb(vxlan.Index));
        var batch = netlink.Batch();
        foreach (var address in plan.DeleteNeighbours)
        {
            batch.DeleteNeighbour(vxlan.Index, address);
        }
        foreach (var (mac, remote) in plan.DeleteFdb)
        {
            batch.DeleteFdb(vxlan.Index, mac, remote);
        }
        foreach (var peer in plan.ReplaceFdb)
        {
            batch.ReplaceFdb(vxlan.Index, peer.Mac, peer.Remote);
        }
        foreach (var peer in plan.Replace)
        {
            batch.ReplaceNeighbour(vxlan.Index, peer.Address, peer.Mac);
        }
        netlink.Execute(batch);
        return plan;
    });

    /// <summary>
    /// Connects a task to a network: on a network in its own namespace a macvlan (<see cref="AttachMacvlanAsync"/>);
    /// on ingress and the gateway bridge a veth whose host end (<see cref="OverlayNames.Veth"/>) is on the
    /// bridge and whose other end is <see cref="TaskAttachment.IfName"/> in the task's namespace, with
    /// MAC MacOf(address), the network's MTU and the address; lo goes up too. No route is added (see
    /// <see cref="ReplaceTaskRouteAsync"/>) but the default one <see cref="TaskAttachment.DefaultVia"/> asks for.
    /// Returns false when everything already was as wanted.
    /// </summary>
    public async Task<bool> AttachTaskAsync(TaskAttachment attachment)
    {
        if (File.Exists(SandboxPath(attachment.NetworkId)))
        {
            return await AttachMacvlanAsync(attachment).ConfigureAwait(false);
        }

        var (hostEndName, bridgeIndex, mtu, hostEnd) = await OnNetworkAsync(attachment.NetworkId, netlink =>
        {
            var bridge = netlink.GetLink(OverlayNames.Bridge(attachment.NetworkId))
                ?? throw new InvalidOperationException($"network {attachment.NetworkId} has no bridge on this node: EnsureNetwork first");
            var name = OverlayNames.Veth(attachment.TaskKey, attachment.NetworkId);
            return (name, bridge.Index, bridge.Mtu, netlink.GetLink(name));
        });
        var (ip, prefixLength) = AddressAndPrefix(attachment.Address);
        var want = new AttachmentWanted(hostEndName, OverlayNames.TaskAlias(attachment.NetworkId, attachment.TaskKey), attachment.IfName,
            MacAddress.Parse(NetworkEndpoint.MacOf(attachment.Address)), ip, prefixLength, mtu, OverlayNames.Bridge(attachment.NetworkId));

        using var task = new NamespaceThread(attachment.NetnsPath, $"attach {attachment.TaskKey}");
        var (taskEnd, taskAddresses, loopback, routes) = await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var end = netlink.GetLink(attachment.IfName);
            return (end, end is null ? [] : netlink.ListAddresses(end.Index), netlink.GetLink("lo"),
                end is null || attachment.DefaultVia is null ? [] : netlink.ListRoutes());
        });
        var plan = OverlayPlanner.PlanAttachment(want, hostEnd, bridgeIndex, taskEnd, taskAddresses, loopback);
        var route = OverlayPlanner.NeedsDefaultRoute(attachment.DefaultVia, plan.Create ? null : taskEnd, routes);
        if (plan.IsEmpty && !route)
        {
            return false;
        }

        await OnNetworkAsync(attachment.NetworkId, netlink =>
        {
            if (plan.DeleteHostEnd)
            {
                netlink.Run(b => b.DeleteLink(hostEnd!.Index, hostEndName));
            }
            if (plan.Create)
            {
                using var ns = NetworkNamespace.Open(attachment.NetnsPath);
                netlink.Run(b => b.CreateVeth(hostEndName, attachment.IfName, ns, mtu, want.Mac, bridgeIndex, want.Alias));
            }
            var index = netlink.GetLink(hostEndName)!.Index;
            var batch = netlink.Batch();
            if (plan.SetHostMtu)
            {
                batch.SetMtu(index, mtu);
            }
            if (plan.SetHostMaster)
            {
                batch.SetMaster(index, bridgeIndex);
            }
            if (plan.SetHostUp)
            {
                batch.SetUp(index);
            }
            netlink.Execute(batch);
            return true;
        });

        await task.RunAsync(() => ConfigureTaskEnd(attachment, want, plan, setAlias: false, route ? attachment.DefaultVia : null));
        return true;
    }

    /// <summary>
    /// A task on a network in its own namespace: a macvlan (mode bridge) on the network's vxlan device,
    /// made there straight into the task's namespace as <see cref="TaskAttachment.IfName"/>, with MAC
    /// MacOf(address), the vxlan device's MTU, the address and the task's alias; lo goes up too. A veth
    /// of the layout before goes first. Returns false when everything already was as wanted.
    /// </summary>
    private async Task<bool> AttachMacvlanAsync(TaskAttachment attachment)
    {
        var oldName = OverlayNames.Veth(attachment.TaskKey, attachment.NetworkId);
        var (vxlanIndex, mtu, oldHostEnd) = await OnNetworkAsync(attachment.NetworkId, netlink =>
        {
            var vxlan = netlink.GetLink(OverlayNames.Vxlan(attachment.NetworkId))
                ?? throw new InvalidOperationException($"network {attachment.NetworkId} has no vxlan device on this node: EnsureNetwork first");
            return (vxlan.Index, vxlan.Mtu, netlink.GetLink(oldName));
        });
        var (ip, prefixLength) = AddressAndPrefix(attachment.Address);
        var want = new AttachmentWanted(string.Empty, OverlayNames.TaskAlias(attachment.NetworkId, attachment.TaskKey), attachment.IfName,
            MacAddress.Parse(NetworkEndpoint.MacOf(attachment.Address)), ip, prefixLength, mtu, string.Empty);

        using var task = new NamespaceThread(attachment.NetnsPath, $"attach {attachment.TaskKey}");
        var (taskEnd, taskAddresses, loopback) = await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var end = netlink.GetLink(attachment.IfName);
            return (end, end is null ? [] : netlink.ListAddresses(end.Index), netlink.GetLink("lo"));
        });
        var plan = OverlayPlanner.PlanMacvlanAttachment(want, taskEnd, taskAddresses, loopback, oldHostEnd);
        var setAlias = plan.Create || taskEnd!.Alias != want.Alias;
        if (plan.IsEmpty && !setAlias)
        {
            return false;
        }

        if (plan.DeleteHostEnd || plan.Create)
        {
            await OnNetworkAsync(attachment.NetworkId, netlink =>
            {
                if (plan.DeleteHostEnd)
                {
                    netlink.Run(b => b.DeleteLink(oldHostEnd!.Index, oldName));
                }
                if (plan.Create)
                {
                    using var ns = NetworkNamespace.Open(attachment.NetnsPath);
                    netlink.Run(b => b.CreateMacvlan(attachment.IfName, vxlanIndex, ns, mtu, want.Mac));
                }
                return true;
            });
        }

        await task.RunAsync(() => ConfigureTaskEnd(attachment, want, plan, setAlias));
        return true;
    }

    /// <summary>
    /// The task's end of an attachment as the plan says (run on a thread in the task's namespace): alias, lo, MTU, MAC, address, up,
    /// then the default route via <paramref name="defaultVia"/> when given (the kernel takes an on-link route only on a device that is up).
    /// </summary>
    private static void ConfigureTaskEnd(TaskAttachment attachment, AttachmentWanted want, AttachmentPlan plan, bool setAlias, IPAddress? defaultVia = null)
    {
        using var netlink = new RtnetlinkClient();
        var end = netlink.GetLink(attachment.IfName)
            ?? throw new InvalidOperationException($"{attachment.IfName} did not appear in {attachment.NetnsPath}");
        var batch = netlink.Batch();
        if (setAlias)
        {
            batch.SetAlias(end.Index, want.Alias);
        }
        if (plan.SetLoopbackUp)
        {
            batch.SetUp(netlink.GetLink("lo")!.Index);
        }
        if (plan.SetTaskMtu)
        {
            batch.SetMtu(end.Index, want.Mtu);
        }
        if (plan.SetTaskMac)
        {
            batch.SetMac(end.Index, want.Mac);
        }
        foreach (var (stale, prefix) in plan.DeleteAddresses)
        {
            batch.DeleteAddress(end.Index, stale, prefix);
        }
        foreach (var (added, prefix) in plan.AddAddresses)
        {
            batch.AddAddress(end.Index, added, prefix);
        }
        if (plan.SetTaskUp)
        {
            batch.SetUp(end.Index);
        }
        if (defaultVia is not null)
        {
            batch.ReplaceRoute(new RouteSpec(new IPNetwork(IPAddress.Any, 0), defaultVia, end.Index, OnLink: true));
        }
        netlink.Execute(batch);
    }

    /// <summary>
    /// Removes a task's interface on a network: its veth (both ends go together) and, given the task's
    /// namespace, its macvlan there (at once, rather than when the kernel frees the namespace: a new
    /// task with the same address needs the MAC). False when there was neither.
    /// </summary>
    public async Task<bool> DetachTaskAsync(string taskKey, string networkId, string? netnsPath = null)
    {
        var removed = await OnNetworkAsync(networkId, netlink =>
        {
            var name = OverlayNames.Veth(taskKey, networkId);
            if (netlink.GetLink(name) is not { } link)
            {
                return false;
            }
            netlink.Run(b => b.DeleteLink(link.Index, name));
            return true;
        });
        var alias = OverlayNames.TaskAlias(networkId, taskKey);
        return await RemoveTaskLinksAsync(netnsPath, l => l.Alias == alias).ConfigureAwait(false) > 0 || removed;
    }

    /// <summary>Removes every interface of ours in a task's namespace that belongs to that task (its macvlans). Returns how many.</summary>
    public static Task<int> DetachTaskNamespaceAsync(string taskKey, string netnsPath) =>
        RemoveTaskLinksAsync(netnsPath, l => OverlayNames.ParseAlias(l.Alias)?.TaskKey == taskKey);

    private static async Task<int> RemoveTaskLinksAsync(string? netnsPath, Func<LinkInfo, bool> ours)
    {
        if (netnsPath is null || !File.Exists(netnsPath))
        {
            return 0;
        }
        using var task = new NamespaceThread(netnsPath, "detach");
        return await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var links = netlink.ListLinks().Where(ours).ToList();
            var batch = netlink.Batch();
            foreach (var link in links)
            {
                batch.DeleteLink(link.Index, link.Name);
            }
            netlink.Execute(batch);
            return links.Count;
        }).ConfigureAwait(false);
    }

    private static (IPAddress Address, int PrefixLength) AddressAndPrefix(string address)
    {
        var slash = address.IndexOf('/', StringComparison.Ordinal);
        return (OverlayPlanner.AddressOf(address),
            slash < 0 ? 32 : int.Parse(address.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Removes a network's vxlan device (and with it every macvlan on it), bridge and any task veths still attached for it, and its namespace.</summary>
    public Task RemoveNetworkAsync(string networkId) => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        var batch = netlink.Batch();
        foreach (var link in netlink.ListLinks().Where(l => OverlayNames.ParseAlias(l.Alias)?.NetworkId == networkId)
                     .OrderBy(l => l.Kind == "bridge" ? 1 : 0))
        {
            batch.DeleteLink(link.Index, link.Name);
        }
        netlink.Execute(batch);
        RemoveSandbox(networkId);
    });

    /// <summary>The networks and attachments this node's devices (in its namespace and in the networks' own) say are ours.</summary>
    public Task<OwnedDevices> ListOwnedAsync() => _thread.RunAsync(() =>
    {
        var networks = new Dictionary<string, OwnedNetwork>();
        var attachments = new List<OwnedAttachment>();
        void Read(IEnumerable<LinkInfo> links, string? sandbox)
        {
            foreach (var link in links)
            {
                if (OverlayNames.ParseAlias(link.Alias) is not { } owner)
                {
                    continue;
                }
                if (owner.TaskKey is { } task)
                {
                    attachments.Add(new OwnedAttachment(task, owner.NetworkId, link.Name));
                    continue;
                }
                var known = networks.GetValueOrDefault(owner.NetworkId) ?? new OwnedNetwork(owner.NetworkId, null, null, sandbox);
                networks[owner.NetworkId] = link.Kind switch
                {
                    "bridge" => known with { Bridge = link.Name },
                    "vxlan" => known with { Vxlan = link.Name, Vni = link.Vxlan?.Vni },
                    _ => known,
                };
            }
        }

        Read(Netlink.ListLinks(), null);
        foreach (var (networkId, path) in Sandboxes())
        {
            networks[networkId] = networks.GetValueOrDefault(networkId) is { } known ? known with { Namespace = path } : new OwnedNetwork(networkId, null, null, path);
            if (NetworkNamespace.IsMountPoint(path))
            {
                Read(InNamespace(path, n => n.ListLinks()), path);
            }
        }
        return new OwnedDevices([.. networks.Values], attachments);
    });

    /// <summary>
    /// Removes what nothing wants (a node calls it at start with what its tasks need): our devices in
    /// the node's namespace, the namespaces of networks not kept, and in kept ones the veths of tasks
    /// not kept. Returns the devices removed.
    /// </summary>
    public Task<IReadOnlyList<string>> SweepAsync(IEnumerable<string> keepNetworkIds, IEnumerable<string> keepTaskKeys) => _thread.RunAsync(() =>
    {
        var keepNetworks = keepNetworkIds.ToHashSet();
        var keepTasks = keepTaskKeys.ToHashSet();
        List<string> Sweep(RtnetlinkClient netlink)
        {
            var stale = OverlayPlanner.PlanSweep(netlink.ListLinks(), keepNetworks, keepTasks);
            var batch = netlink.Batch();
            foreach (var link in stale)
            {
                batch.DeleteLink(link.Index, link.Name);
            }
            netlink.Execute(batch);
            return [.. stale.Select(l => l.Name)];
        }

        var removed = Sweep(Netlink);
        foreach (var (networkId, path) in Sandboxes())
        {
            if (!keepNetworks.Contains(networkId))
            {
                removed.AddRange(RemoveSandbox(networkId));
            }
            else if (NetworkNamespace.IsMountPoint(path))
            {
                removed.AddRange(InNamespace(path, Sweep));
            }
        }
        return (IReadOnlyList<string>)removed;
    });

    /// <summary>Adds or replaces a route inside a task's namespace (<c>ip route replace DST [via GW] dev IFNAME [onlink]</c>).</summary>
    public static async Task ReplaceTaskRouteAsync(string netnsPath, IPNetwork destination, IPAddress? gateway, string ifName, bool onLink = false)
    {
        using var task = new NamespaceThread(netnsPath, "task route");
        await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var link = netlink.GetLink(ifName) ?? throw new InvalidOperationException($"{ifName} is not in {netnsPath}");
            netlink.Run(b => b.ReplaceRoute(new RouteSpec(destination, gateway, link.Index, OnLink: onLink)));
        });
    }

    /// <summary>Runs <paramref name="work"/> with this node's netlink client on its namespace thread (the node agent's other netlink work, tests).</summary>
    public Task<T> RunAsync<T>(Func<RtnetlinkClient, T> work) => _thread.RunAsync(() => work(Netlink));

    public async ValueTask DisposeAsync()
    {
        await _thread.RunAsync(() => _netlink?.Dispose());
        _thread.Dispose();
    }

    private RtnetlinkClient Netlink => _netlink ??= new RtnetlinkClient();

    /// <summary>Runs on the node's thread, in the network's own namespace when it has one (the vxlan device, the bridge and the tasks' veths are there).</summary>
    private Task<T> OnNetworkAsync<T>(string networkId, Func<RtnetlinkClient, T> work) => _thread.RunAsync(() =>
    {
        var path = SandboxPath(networkId);
        return File.Exists(path) ? InNamespace(path, work) : work(Netlink);
    });

    /// <summary>
    /// Work in another namespace from the node's thread: a thread that entered it runs the work with a
    /// netlink socket of that namespace, and the node's thread waits for it (changes stay one at a time).
    /// </summary>
    private static T InNamespace<T>(string path, Func<RtnetlinkClient, T> work)
    {
        using var thread = new NamespaceThread(path, "overlay netns");
        return thread.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            return work(netlink);
        }).GetAwaiter().GetResult();
    }

    private IEnumerable<(string NetworkId, string Path)> Sandboxes() =>
        Directory.Exists(_sandboxDirectory)
            ? [.. Directory.EnumerateFiles(_sandboxDirectory).Select(p => (Path.GetFileName(p), p))]
            : [];

    /// <summary>Deletes a network's namespace, its devices first (so the VNI is free at once, not when the kernel gets round to the namespace). Returns the devices deleted.</summary>
    private List<string> RemoveSandbox(string networkId)
    {
        var path = SandboxPath(networkId);
        if (!File.Exists(path))
        {
            return [];
        }
        var removed = !NetworkNamespace.IsMountPoint(path) ? [] : InNamespace(path, n =>
        {
            // Everything in it is the overlay's: task veths first, then the vxlan device, the gateway end and the bridge.
            var links = n.ListLinks().Where(l => l.Name != "lo").OrderBy(l => l.Kind switch { "veth" => 0, "vxlan" => 1, _ => 2 }).ToList();
            var batch = n.Batch();
            foreach (var link in links)
            {
                batch.DeleteLink(link.Index, link.Name);
            }
            n.Execute(batch);
            return links.Where(l => l.Name != OverlayNames.GatewayPeer).Select(l => l.Name).ToList();
        });
        NetworkNamespace.Delete(path);
        return removed;
    }

    /// <summary>Bridge netfilter settings are per namespace; a kernel without br_netfilter has none, which is off too.</summary>
    private static readonly string[] BridgeNetfilter =
        ["/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"];

    private static bool BridgeNetfilterIsOff() =>
        BridgeNetfilter.All(f => !File.Exists(f) || File.ReadAllText(f).Trim() == "0");

    private static void DisableBridgeNetfilter()
    {
        foreach (var file in BridgeNetfilter.Where(File.Exists))
        {
            File.WriteAllText(file, "0");
        }
    }

    private static void Apply(RtnetlinkClient netlink, IReadOnlyList<NetworkStep> steps, string? sandbox, SafeHandle? nodeNamespace = null)
    {
        int IndexOf(string name) => netlink.GetLink(name)?.Index ?? throw new InvalidOperationException($"{name} is missing");
        foreach (var step in steps)
        {
            switch (step)
            {
                case NetworkStep.DeleteLink d:
                    netlink.Run(b => b.DeleteLink(IndexOf(d.Name), d.Name));
                    break;
                case NetworkStep.CreateBridge c:
                    netlink.Run(b => b.CreateBridge(c.Name, c.Mtu, c.Mac).SetAliasByName(c.Name, c.Alias));
                    break;
                case NetworkStep.CreateVxlan c:
                    netlink.Run(b => b.CreateVxlan(c.Spec).SetAliasByName(c.Spec.Name, c.Alias));
                    break;
                case NetworkStep.CreateVxlanInside c:
                {
                    netlink.Run(b => b.CreateVxlan(c.Spec).SetAliasByName(c.Spec.Name, c.Alias));
                    using var ns = NetworkNamespace.Open(sandbox ?? throw new InvalidOperationException("a vxlan device to move, and no namespace to move it to"));
                    netlink.Run(b => b.SetNamespace(IndexOf(c.Spec.Name), ns));
                    break;
                }
                case NetworkStep.CreateGatewayOnVxlan c:
                    netlink.Run(b => b.CreateMacvlan(c.Name, IndexOf(c.Vxlan),
                        nodeNamespace ?? throw new InvalidOperationException("a gateway macvlan, and no namespace to put it in"), c.Mtu, c.Mac));
                    break;
                case NetworkStep.SetAlias a:
                    netlink.Run(b => b.SetAlias(IndexOf(a.Name), a.Alias));
                    break;
                case NetworkStep.SetMtu s:
                    netlink.Run(b => b.SetMtu(IndexOf(s.Name), s.Mtu));
                    break;
                case NetworkStep.SetMac s:
                    netlink.Run(b => b.SetMac(IndexOf(s.Name), s.Mac));
                    break;
                case NetworkStep.SetMaster s:
                    netlink.Run(b => b.SetMaster(IndexOf(s.Name), IndexOf(s.Master)));
                    break;
                case NetworkStep.SetUp s:
                    netlink.Run(b => b.SetUp(IndexOf(s.Name)));
                    break;
                case NetworkStep.AddAddress a:
                    netlink.Run(b => b.AddAddress(IndexOf(a.Name), a.Address, a.PrefixLength, noPrefixRoute: true));
                    break;
                case NetworkStep.DeleteAddress a:
                    netlink.Run(b => b.DeleteAddress(IndexOf(a.Name), a.Address, a.PrefixLength));
                    break;
                case NetworkStep.ReplaceRoute r:
                    netlink.Run(b => b.ReplaceRoute(new RouteSpec(r.Destination, OutputIndex: IndexOf(r.Device), PreferredSource: r.Source)));
                    break;
                case NetworkStep.EnableRouteLocalnet e:
                    // A sysctl of this thread's namespace: the steps that make it run in the one the device is in.
                    RouteLocalnet.Enable(e.Name);
                    break;
            }
        }
    }
}
