using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;

namespace ProtoSwarm.Networking.Overlay;

/// <summary>One task's attachment to an overlay: its namespace, the interface name there and its address (CIDR).</summary>
public sealed record TaskAttachment(string TaskKey, string NetnsPath, string NetworkId, string IfName, string Address);

/// <summary>A network's devices found on this node (either may be missing after a crash).</summary>
public sealed record OwnedNetwork(string NetworkId, string? Bridge, string? Vxlan);

/// <summary>A task's host-side veth found on this node.</summary>
public sealed record OwnedAttachment(string TaskKey, string NetworkId, string HostEnd);

/// <summary>Everything of ours on this node, read from the devices' aliases.</summary>
public sealed record OwnedDevices(IReadOnlyList<OwnedNetwork> Networks, IReadOnlyList<OwnedAttachment> Attachments);

/// <summary>
/// The overlay data plane of one node: a bridge and a vxlan device per network, static peer entries,
/// and veths into tasks' namespaces. Every change to the node's namespace runs on one
/// <see cref="NamespaceThread"/> (so changes are serialised and its netlink socket lives there); work
/// inside a task's namespace runs on a short-lived thread that entered it. Each call reads what is
/// there, plans with <see cref="OverlayPlanner"/> and applies only the difference: calls are
/// idempotent and safe to repeat after a crash.
/// </summary>
public sealed class HostOverlay : IAsyncDisposable
{
    private readonly string _nodeId;
    private readonly NamespaceThread _thread;
    private RtnetlinkClient? _netlink;

    /// <param name="nodeId">This node's id (its own addresses on a network are the endpoints with this NodeId and no TaskId).</param>
    /// <param name="netnsPath">The node's network namespace; null for this process's.</param>
    public HostOverlay(string nodeId, string? netnsPath = null)
    {
        _nodeId = nodeId;
        _thread = new NamespaceThread(netnsPath, $"overlay {nodeId}");
    }

    /// <summary>Creates or repairs a network's bridge and vxlan device. Returns the number of changes made (0: it was right).</summary>
    public Task<int> EnsureNetworkAsync(NetworkView view, IPAddress underlayAddress) => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        var underlayMtu = view.Mtu > 0 ? view.Mtu + 50 : netlink.GetMtuOfAddress(underlayAddress);
        var want = OverlayPlanner.Want(view, _nodeId, underlayAddress, underlayMtu);
        var bridge = netlink.GetLink(want.Bridge);
        var actual = new NetworkActual(bridge, netlink.GetLink(want.Vxlan),
            bridge is null ? [] : netlink.ListAddresses(bridge.Index),
            bridge is null ? [] : netlink.ListRoutes());
        var steps = OverlayPlanner.PlanNetwork(want, actual);
        Apply(netlink, steps);
        return steps.Count;
    });

    /// <summary>
    /// Makes the network's static entries exactly the peers among <paramref name="endpoints"/> (those
    /// on other nodes): on the vxlan device, a forwarding entry MAC -> node and a permanent neighbour
    /// IP -> MAC (the device answers ARP from them). One batch of netlink requests.
    /// </summary>
    public Task<PeerPlan> SetPeersAsync(string networkId, IEnumerable<NetworkEndpoint> endpoints) => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
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
    /// Connects a task to a network: a veth whose host end (<see cref="OverlayNames.Veth"/>) is on the
    /// bridge and whose other end is <see cref="TaskAttachment.IfName"/> in the task's namespace, with
    /// MAC MacOf(address), the network's MTU and the address; lo goes up too. No route is added (see
    /// <see cref="ReplaceTaskRouteAsync"/>). Returns false when everything already was as wanted.
    /// </summary>
    public async Task<bool> AttachTaskAsync(TaskAttachment attachment)
    {
        var (hostEndName, bridgeIndex, mtu, hostEnd) = await _thread.RunAsync(() =>
        {
            var bridge = Netlink.GetLink(OverlayNames.Bridge(attachment.NetworkId))
                ?? throw new InvalidOperationException($"network {attachment.NetworkId} has no bridge on this node: EnsureNetwork first");
            var name = OverlayNames.Veth(attachment.TaskKey, attachment.NetworkId);
            return (name, bridge.Index, bridge.Mtu, Netlink.GetLink(name));
        });
        var ip = OverlayPlanner.AddressOf(attachment.Address);
        var slash = attachment.Address.IndexOf('/', StringComparison.Ordinal);
        var prefixLength = slash < 0 ? 32 : int.Parse(attachment.Address.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture);
        var want = new AttachmentWanted(hostEndName, OverlayNames.TaskAlias(attachment.NetworkId, attachment.TaskKey), attachment.IfName,
            MacAddress.Parse(NetworkEndpoint.MacOf(attachment.Address)), ip, prefixLength, mtu, OverlayNames.Bridge(attachment.NetworkId));

        using var task = new NamespaceThread(attachment.NetnsPath, $"attach {attachment.TaskKey}");
        var (taskEnd, taskAddresses, loopback) = await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var end = netlink.GetLink(attachment.IfName);
            return (end, end is null ? [] : netlink.ListAddresses(end.Index), netlink.GetLink("lo"));
        });
        var plan = OverlayPlanner.PlanAttachment(want, hostEnd, bridgeIndex, taskEnd, taskAddresses, loopback);
        if (plan.IsEmpty)
        {
            return false;
        }

        await _thread.RunAsync(() =>
        {
            var netlink = Netlink;
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
        });

        await task.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            var end = netlink.GetLink(attachment.IfName)
                ?? throw new InvalidOperationException($"{attachment.IfName} did not appear in {attachment.NetnsPath}");
            var batch = netlink.Batch();
            if (plan.SetLoopbackUp)
            {
                batch.SetUp(netlink.GetLink("lo")!.Index);
            }
            if (plan.SetTaskMtu)
            {
                batch.SetMtu(end.Index, mtu);
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
            netlink.Execute(batch);
        });
        return true;
    }

    /// <summary>Removes a task's veth (both ends go together). False when there was none.</summary>
    public Task<bool> DetachTaskAsync(string taskKey, string networkId) => _thread.RunAsync(() =>
    {
        var name = OverlayNames.Veth(taskKey, networkId);
        if (Netlink.GetLink(name) is not { } link)
        {
            return false;
        }
        Netlink.Run(b => b.DeleteLink(link.Index, name));
        return true;
    });

    /// <summary>Removes a network's vxlan device, bridge and any task veths still attached for it.</summary>
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
    });

    /// <summary>The networks and attachments this node's devices say are ours.</summary>
    public Task<OwnedDevices> ListOwnedAsync() => _thread.RunAsync(() =>
    {
        var networks = new Dictionary<string, OwnedNetwork>();
        var attachments = new List<OwnedAttachment>();
        foreach (var link in Netlink.ListLinks())
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
            var known = networks.GetValueOrDefault(owner.NetworkId) ?? new OwnedNetwork(owner.NetworkId, null, null);
            networks[owner.NetworkId] = link.Kind == "bridge" ? known with { Bridge = link.Name } : known with { Vxlan = link.Name };
        }
        return new OwnedDevices([.. networks.Values], attachments);
    });

    /// <summary>Removes our devices that nothing wants (a node calls it at start with what its tasks need). Returns what was removed.</summary>
    public Task<IReadOnlyList<string>> SweepAsync(IEnumerable<string> keepNetworkIds, IEnumerable<string> keepTaskKeys) => _thread.RunAsync(() =>
    {
        var netlink = Netlink;
        var sweep = OverlayPlanner.PlanSweep(netlink.ListLinks(), keepNetworkIds.ToHashSet(), keepTaskKeys.ToHashSet());
        var batch = netlink.Batch();
        foreach (var link in sweep)
        {
            batch.DeleteLink(link.Index, link.Name);
        }
        netlink.Execute(batch);
        return (IReadOnlyList<string>)[.. sweep.Select(l => l.Name)];
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

    private static void Apply(RtnetlinkClient netlink, IReadOnlyList<NetworkStep> steps)
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
            }
        }
    }
}
