using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Netlink;

namespace ProtoSwarm.Networking.Overlay;

/// <summary>What one network's devices on this node must be (derived from a NetworkView by <see cref="OverlayPlanner.Want"/>).</summary>
public sealed record NetworkWanted(
    string NetworkId,
    string Bridge,
    string Vxlan,
    uint Vni,
    IPAddress Local,
    int Port,
    int Mtu,
    MacAddress BridgeMac,
    IPNetwork Subnet,
    IReadOnlyList<IPAddress> BridgeAddresses,
    IPAddress RouteSource);

/// <summary>What is there for one network: its two devices (null when absent), the bridge's addresses and the main table's routes.</summary>
public sealed record NetworkActual(LinkInfo? Bridge, LinkInfo? Vxlan, IReadOnlyList<AddressInfo> BridgeAddresses, IReadOnlyList<RouteInfo> Routes);

/// <summary>
/// What is there for a network that lives in a namespace of its own: inside it the vxlan device (and
/// the bridge and gateway veth end of the layout before tasks had macvlans, to be removed); in the
/// node's namespace the gateway device, its addresses, the main table's routes and every link (to
/// find this network's devices left there); and whether bridge netfilter is already off inside.
/// </summary>
public sealed record SandboxActual(
    LinkInfo? Bridge,
    LinkInfo? Vxlan,
    LinkInfo? GatewayPeer,
    LinkInfo? Gateway,
    IReadOnlyList<AddressInfo> GatewayAddresses,
    IReadOnlyList<RouteInfo> Routes,
    IReadOnlyList<LinkInfo> NodeLinks,
    bool BridgeNetfilterOff);

/// <summary>
/// The changes for a network in its own namespace, in order: <see cref="Clear"/> there, <see cref="Node"/>
/// in the node's, <see cref="Inside"/> there (the gateway macvlan is made there, on the vxlan device,
/// straight into the node's namespace), then <see cref="Gateway"/> in the node's.
/// </summary>
public sealed record SandboxPlan(
    IReadOnlyList<NetworkStep> Clear,
    IReadOnlyList<NetworkStep> Node,
    IReadOnlyList<NetworkStep> Inside,
    IReadOnlyList<NetworkStep> Gateway,
    bool DisableBridgeNetfilter)
{
    public int Count => Clear.Count + Node.Count + Inside.Count + Gateway.Count + (DisableBridgeNetfilter ? 1 : 0);
}

/// <summary>One change to a network's devices; devices are named, the executor resolves indexes.</summary>
public abstract record NetworkStep
{
    public sealed record DeleteLink(string Name) : NetworkStep;
    public sealed record CreateBridge(string Name, int Mtu, MacAddress? Mac, string Alias) : NetworkStep;
    public sealed record CreateVxlan(VxlanSpec Spec, string Alias) : NetworkStep;

    /// <summary>A vxlan device made in the node's namespace (its UDP socket stays there) and moved into the network's.</summary>
    public sealed record CreateVxlanInside(VxlanSpec Spec, string Alias) : NetworkStep;

    /// <summary>A macvlan (mode bridge) on the network's vxlan device <paramref name="Vxlan"/>, made inside and put straight into the node's namespace.</summary>
    public sealed record CreateGatewayOnVxlan(string Name, string Vxlan, int Mtu, MacAddress Mac) : NetworkStep;
    public sealed record SetAlias(string Name, string Alias) : NetworkStep;
    public sealed record SetMtu(string Name, int Mtu) : NetworkStep;
    public sealed record SetMac(string Name, MacAddress Mac) : NetworkStep;
    public sealed record SetMaster(string Name, string Master) : NetworkStep;
    public sealed record SetUp(string Name) : NetworkStep;
    public sealed record AddAddress(string Name, IPAddress Address, int PrefixLength) : NetworkStep;
    public sealed record DeleteAddress(string Name, IPAddress Address, int PrefixLength) : NetworkStep;
    public sealed record ReplaceRoute(IPNetwork Destination, string Device, IPAddress Source) : NetworkStep;

    /// <summary>
    /// route_localnet on a device toward tasks in the node's namespace (<see cref="RouteLocalnet"/>), as soon as it is
    /// made: a published port answers on the node's 127.0.0.1 through it from the start, not from the next rules pass.
    /// </summary>
    public sealed record EnableRouteLocalnet(string Name) : NetworkStep;
}

/// <summary>A remote address as the vxlan device must know it: its MAC and the underlay address of its node.</summary>
public sealed record Peer(IPAddress Address, MacAddress Mac, IPAddress Remote);

/// <summary>The neighbour and forwarding changes that turn the vxlan device's tables into the wanted peers.</summary>
public sealed record PeerPlan(
    IReadOnlyList<Peer> Replace,
    IReadOnlyList<IPAddress> DeleteNeighbours,
    IReadOnlyList<(MacAddress Mac, IPAddress? Remote)> DeleteFdb,
    IReadOnlyList<Peer> ReplaceFdb)
{
    public bool IsEmpty => Replace.Count == 0 && DeleteNeighbours.Count == 0 && DeleteFdb.Count == 0 && ReplaceFdb.Count == 0;
    public int Count => Replace.Count + DeleteNeighbours.Count + DeleteFdb.Count + ReplaceFdb.Count;
}

/// <summary>What a task's attachment must be.</summary>
public sealed record AttachmentWanted(string HostEnd, string Alias, string IfName, MacAddress Mac, IPAddress Address, int PrefixLength, int Mtu, string Bridge);

/// <summary>The changes to a task's attachment: on the host side (the bridge end) and inside the task's namespace.</summary>
public sealed record AttachmentPlan(
    bool DeleteHostEnd,
    bool Create,
    bool SetHostMaster,
    bool SetHostMtu,
    bool SetHostUp,
    bool SetTaskMtu,
    bool SetTaskMac,
    IReadOnlyList<(IPAddress Address, int PrefixLength)> AddAddresses,
    IReadOnlyList<(IPAddress Address, int PrefixLength)> DeleteAddresses,
    bool SetTaskUp,
    bool SetLoopbackUp)
{
    public bool IsEmpty => !DeleteHostEnd && !Create && !SetHostMaster && !SetHostMtu && !SetHostUp && !SetTaskMtu && !SetTaskMac
        && AddAddresses.Count == 0 && DeleteAddresses.Count == 0 && !SetTaskUp && !SetLoopbackUp;
}

/// <summary>
/// The overlay's decisions, apart from netlink: wanted state in, actual state in, the changes out.
/// Everything here is pure and tested without root; <see cref="HostOverlay"/> gathers and applies.
/// </summary>
public static class OverlayPlanner
{
    /// <summary>
    /// One network on this node. The bridge holds the gateway (the same address on every node: an
    /// anycast gateway) and, on ingress, the node's own address, which then gives the bridge its MAC
    /// and is the source of the node's own traffic into the overlay; otherwise the MAC is the gateway's.
    /// </summary>
    public static NetworkWanted Want(NetworkView view, string nodeId, IPAddress underlay, int underlayMtu)
    {
        var subnet = IPNetwork.Parse(view.Subnet);
        var gateway = AddressOf(view.Gateway);
        var own = view.Endpoints.FirstOrDefault(e => e.TaskId.Length == 0 && e.NodeId == nodeId);
        var ownAddress = own is null ? null : AddressOf(own.Address);
        List<IPAddress> addresses = ownAddress is null || ownAddress.Equals(gateway) ? [gateway] : [gateway, ownAddress];
        return new NetworkWanted(
            view.NetworkId,
            OverlayNames.Bridge(view.NetworkId),
            OverlayNames.Vxlan(view.NetworkId),
            view.Vni,
            underlay,
            view.DataPathPort > 0 ? view.DataPathPort : NetworkView.DefaultDataPathPort,
            view.Mtu > 0 ? view.Mtu : underlayMtu - 50,
            MacAddress.Parse(NetworkEndpoint.MacOf((ownAddress ?? gateway).ToString())),
            subnet,
            addresses,
            ownAddress ?? gateway);
    }

    public static IReadOnlyList<NetworkStep> PlanNetwork(NetworkWanted want, NetworkActual actual)
    {
        var steps = new List<NetworkStep>();
        var bridge = actual.Bridge;
        if (bridge is not null && bridge.Kind != "bridge")
        {
            steps.Add(new NetworkStep.DeleteLink(want.Bridge));
            bridge = null;
        }
        var bridgeIsNew = bridge is null;
        if (bridge is null)
        {
            steps.Add(new NetworkStep.CreateBridge(want.Bridge, want.Mtu, want.BridgeMac, OverlayNames.NetworkAlias(want.NetworkId)));
            steps.Add(new NetworkStep.EnableRouteLocalnet(want.Bridge));
        }
        else
        {
            if (bridge.Mtu != want.Mtu)
            {
                steps.Add(new NetworkStep.SetMtu(want.Bridge, want.Mtu));
            }
            if (bridge.Mac != want.BridgeMac)
            {
                steps.Add(new NetworkStep.SetMac(want.Bridge, want.BridgeMac));
            }
        }

        var vxlan = actual.Vxlan;
        var spec = new VxlanSpec(want.Vxlan, want.Vni, want.Local, want.Port, want.Mtu, Learning: false, Proxy: true);
        if (vxlan is not null && !Matches(vxlan, spec))
        {
            // VNI, local address and port cannot change on a live vxlan device.
            steps.Add(new NetworkStep.DeleteLink(want.Vxlan));
            vxlan = null;
        }
        if (vxlan is null)
        {
            steps.Add(new NetworkStep.CreateVxlan(spec, OverlayNames.NetworkAlias(want.NetworkId)));
        }
        else if (vxlan.Mtu != want.Mtu)
        {
            steps.Add(new NetworkStep.SetMtu(want.Vxlan, want.Mtu));
        }
        if (vxlan is null || bridgeIsNew || vxlan.Master != bridge!.Index)
        {
            steps.Add(new NetworkStep.SetMaster(want.Vxlan, want.Bridge));
        }

        List<NetworkStep> vxlanUp = vxlan is null || !vxlan.Up ? [new NetworkStep.SetUp(want.Vxlan)] : [];
        PlanGateway(want, want.Bridge, bridge, actual.BridgeAddresses, actual.Routes, steps, vxlanUp);
        return steps;
    }

    /// <summary>
    /// An overlay other than ingress lives in a namespace of its own (as docker's overlay sandbox)
    /// that holds its vxlan device (made in the node's namespace, whose underlay its UDP socket stays
    /// in, then moved) and nothing else: no bridge. Every task's interface on the network is a macvlan
    /// (mode bridge) on that vxlan device, made there straight into the task's namespace
    /// (<see cref="PlanMacvlanAttachment"/>), so a task's frames go from its macvlan into the vxlan
    /// device's transmit and back without a bridge or a veth; tasks on one node reach each other
    /// through macvlan's bridge mode. The node's gateway (<see cref="OverlayNames.Gateway"/>) is one
    /// more macvlan on it, in the node's namespace, holding what the bridge held there (the gateway,
    /// the subnet's route, the MAC). A bridge and gateway veth end inside, from the layout before, go.
    /// Steps come in four phases: deletes inside, the node's side, the rest inside, the gateway's
    /// addresses and route in the node's namespace.
    /// </summary>
    public static SandboxPlan PlanSandboxedNetwork(NetworkWanted want, SandboxActual actual)
    {
        var clear = new List<NetworkStep>();
        var node = new List<NetworkStep>();
        var inside = new List<NetworkStep>();
        var gatewaySteps = new List<NetworkStep>();
        var gatewayName = OverlayNames.Gateway(want.NetworkId);
        var alias = OverlayNames.NetworkAlias(want.NetworkId);

        // The layout before: a bridge and the gateway veth's end inside.
        if (actual.GatewayPeer is not null)
        {
            clear.Add(new NetworkStep.DeleteLink(OverlayNames.GatewayPeer));
        }
        if (actual.Bridge is not null)
        {
            clear.Add(new NetworkStep.DeleteLink(want.Bridge));
        }

        // In the node's namespace only the gateway is ours: a bridge, vxlan or task veth of this
        // network there is from before the move (or a vxlan made and not yet moved when the node died).
        foreach (var stray in actual.NodeLinks.Where(l => l.Name != gatewayName && OverlayNames.ParseAlias(l.Alias)?.NetworkId == want.NetworkId)
                     .OrderBy(l => l.Kind switch { "veth" => 0, "vxlan" => 1, _ => 2 }))
        {
            node.Add(new NetworkStep.DeleteLink(stray.Name));
        }

        var vxlan = actual.Vxlan;
        var spec = new VxlanSpec(want.Vxlan, want.Vni, want.Local, want.Port, want.Mtu, Learning: false, Proxy: true);
        if (vxlan is not null && !Matches(vxlan, spec))
        {
            clear.Add(new NetworkStep.DeleteLink(want.Vxlan));
            vxlan = null;
        }

        // A macvlan dies with its lower device, so a gateway that is not a macvlan, or whose vxlan
        // device is missing or goes, is made again.
        var gateway = actual.Gateway;
        if (gateway is not null && (gateway.Kind != "macvlan" || vxlan is null))
        {
            node.Add(new NetworkStep.DeleteLink(gatewayName));
            gateway = null;
        }

        if (vxlan is null)
        {
            node.Add(new NetworkStep.CreateVxlanInside(spec, alias));
        }
        else if (vxlan.Mtu != want.Mtu)
        {
            inside.Add(new NetworkStep.SetMtu(want.Vxlan, want.Mtu));
        }
        if (vxlan is null || !vxlan.Up)
        {
            inside.Add(new NetworkStep.SetUp(want.Vxlan));
        }

        if (gateway is null)
        {
            inside.Add(new NetworkStep.CreateGatewayOnVxlan(gatewayName, want.Vxlan, want.Mtu, want.BridgeMac));
            gatewaySteps.Add(new NetworkStep.EnableRouteLocalnet(gatewayName));
            gatewaySteps.Add(new NetworkStep.SetAlias(gatewayName, alias));
        }
        else
        {
            if (gateway.Mac != want.BridgeMac)
            {
                gatewaySteps.Add(new NetworkStep.SetMac(gatewayName, want.BridgeMac));
            }
            if (gateway.Mtu != want.Mtu)
            {
                gatewaySteps.Add(new NetworkStep.SetMtu(gatewayName, want.Mtu));
            }
        }
        PlanGateway(want, gatewayName, gateway, actual.GatewayAddresses, actual.Routes, gatewaySteps, []);
        return new SandboxPlan(clear, node, inside, gatewaySteps, !actual.BridgeNetfilterOff);
    }

    /// <summary>
    /// The device that holds the network's addresses in the node's namespace (the bridge on ingress,
    /// the gateway veth otherwise): its addresses, up (after <paramref name="beforeUp"/>), and the subnet's route through it.
    /// </summary>
    private static void PlanGateway(NetworkWanted want, string device, LinkInfo? link, IReadOnlyList<AddressInfo> addresses, IReadOnlyList<RouteInfo> routes,
        List<NetworkStep> steps, IReadOnlyList<NetworkStep> beforeUp)
    {
        var have = link is null ? [] : addresses.Where(a => a.Index == link.Index).ToList();
        foreach (var address in want.BridgeAddresses)
        {
            if (!have.Any(a => a.Address.Equals(address) && a.PrefixLength == want.Subnet.PrefixLength))
            {
                steps.Add(new NetworkStep.AddAddress(device, address, want.Subnet.PrefixLength));
            }
        }
        var deleted = false;
        foreach (var stale in have.Where(a => !want.BridgeAddresses.Any(w => w.Equals(a.Address) && a.PrefixLength == want.Subnet.PrefixLength)))
        {
            steps.Add(new NetworkStep.DeleteAddress(device, stale.Address, stale.PrefixLength));
            deleted |= stale.Address.Equals(want.RouteSource);
        }

        steps.AddRange(beforeUp);
        if (link is null || !link.Up)
        {
            steps.Add(new NetworkStep.SetUp(device));
        }

        // The subnet's route is ours (addresses go on with noprefixroute) so its source is the node's
        // own address on ingress rather than whichever address the kernel would call primary.
        var routed = link is not null && routes.Any(r =>
            r.Destination.Equals(want.Subnet) && r.OutputIndex == link.Index && r.Gateway is null && Equals(r.PreferredSource, want.RouteSource));
        if (!routed || deleted)
        {
            steps.Add(new NetworkStep.ReplaceRoute(want.Subnet, device, want.RouteSource));
        }
    }

    /// <summary>The peers the vxlan device needs: every address on another node (one entry an address; the first wins).</summary>
    public static IReadOnlyList<Peer> Peers(IEnumerable<NetworkEndpoint> endpoints, string thisNodeId)
    {
        var peers = new Dictionary<IPAddress, Peer>();
        foreach (var e in endpoints)
        {
            if (e.NodeId == thisNodeId || e.NodeAddr.Length == 0 || e.Address.Length == 0)
            {
                continue;
            }
            var address = AddressOf(e.Address);
            peers.TryAdd(address, new Peer(address, MacAddress.Parse(NetworkEndpoint.MacOf(e.Address)), AddressOf(e.NodeAddr)));
        }
        return [.. peers.Values];
    }

    /// <summary>
    /// Neighbour entries (IP to MAC, permanent: the vxlan device answers ARP from them, as its proxy)
    /// and forwarding entries (MAC to the node's underlay address) for exactly the wanted peers.
    /// </summary>
    public static PeerPlan PlanPeers(IReadOnlyList<Peer> wanted, IReadOnlyList<NeighbourEntry> neighbours, IReadOnlyList<FdbEntry> fdb)
    {
        var neighbourByIp = new Dictionary<IPAddress, NeighbourEntry>();
        foreach (var n in neighbours)
        {
            neighbourByIp[n.Address] = n;
        }
        var fdbByMac = fdb.GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.ToList());
        var wantedIps = new HashSet<IPAddress>();
        var wantedMacs = new Dictionary<MacAddress, IPAddress>();
        var replace = new List<Peer>();
        var replaceFdb = new List<Peer>();
        var deleteFdb = new List<(MacAddress, IPAddress?)>();
        foreach (var peer in wanted)
        {
            wantedIps.Add(peer.Address);
            wantedMacs[peer.Mac] = peer.Remote;
            if (!neighbourByIp.TryGetValue(peer.Address, out var n) || n.Mac != peer.Mac || !n.Permanent)
            {
                replace.Add(peer);
            }
            if (!fdbByMac.TryGetValue(peer.Mac, out var entries))
            {
                replaceFdb.Add(peer);
                continue;
            }
            // A MAC can have several remotes; keep exactly the wanted one, permanent.
            foreach (var extra in entries.Where(e => !Equals(e.Destination, peer.Remote)))
            {
                deleteFdb.Add((extra.Mac, extra.Destination));
            }
            if (!entries.Any(e => Equals(e.Destination, peer.Remote) && (e.State & 0x80) != 0))
            {
                replaceFdb.Add(peer);
            }
        }
        var deleteNeighbours = neighbours.Where(n => n.Permanent && !wantedIps.Contains(n.Address)).Select(n => n.Address).ToList();
        foreach (var entry in fdb.Where(f => !wantedMacs.ContainsKey(f.Mac)))
        {
            deleteFdb.Add((entry.Mac, entry.Destination));
        }
        return new PeerPlan(replace, deleteNeighbours, deleteFdb, replaceFdb);
    }

    /// <summary>The changes that make a task's attachment what it must be, given the host end, the task end, its addresses and lo.</summary>
    public static AttachmentPlan PlanAttachment(AttachmentWanted want, LinkInfo? hostEnd, int bridgeIndex, LinkInfo? taskEnd, IReadOnlyList<AddressInfo> taskAddresses, LinkInfo? loopback)
    {
        var paired = hostEnd is { Kind: "veth" } && taskEnd is { Kind: "veth" } && taskEnd.Link == hostEnd.Index;
        if (!paired && taskEnd is not null)
        {
            throw new InvalidOperationException(
                $"{want.IfName} already exists in the task's namespace and is not the veth of {want.HostEnd}: remove it or attach under another interface name");
        }
        var loUp = loopback is not { Up: true };
        if (!paired)
        {
            // A host end alone (its task end went with a namespace) or a stray pair: start again.
            return new AttachmentPlan(hostEnd is not null, true, false, false, true, false, false,
                [(want.Address, want.PrefixLength)], [], true, loUp);
        }
        var (add, delete) = AddressChanges(want, taskEnd!, taskAddresses);
        return new AttachmentPlan(false, false,
            hostEnd!.Master != bridgeIndex, hostEnd.Mtu != want.Mtu, !hostEnd.Up,
            taskEnd!.Mtu != want.Mtu, taskEnd.Mac != want.Mac, add, delete, !taskEnd.Up, loUp);
    }

    /// <summary>
    /// The changes that make a task's macvlan on a network in its own namespace what it must be, given
    /// the task's interface of that name (ours when it is a macvlan with the task's alias), its
    /// addresses, lo, and the host end of a veth of the layout before (<paramref name="oldHostEnd"/>,
    /// in the network's namespace), which goes, and with it a task end it was paired with.
    /// <see cref="AttachmentPlan.DeleteHostEnd"/> means that old veth; the alias (which the kernel does
    /// not take when a link is made) is set by the caller whenever the macvlan lacks it.
    /// </summary>
    public static AttachmentPlan PlanMacvlanAttachment(AttachmentWanted want, LinkInfo? taskEnd, IReadOnlyList<AddressInfo> taskAddresses, LinkInfo? loopback, LinkInfo? oldHostEnd)
    {
        // A macvlan with the task's MAC and no alias yet was made by an attach that stopped before naming it.
        var mine = taskEnd is { Kind: "macvlan" } && (taskEnd.Alias == want.Alias || (taskEnd.Alias.Length == 0 && taskEnd.Mac == want.Mac));
        var oldPair = taskEnd is { Kind: "veth" } && oldHostEnd is { Kind: "veth" } && taskEnd.Link == oldHostEnd.Index;
        if (!mine && taskEnd is not null && !oldPair)
        {
            throw new InvalidOperationException(
                $"{want.IfName} already exists in the task's namespace and is not its macvlan on the network ({want.Alias}): remove it or attach under another interface name");
        }
        var loUp = loopback is not { Up: true };
        if (!mine)
        {
            return new AttachmentPlan(oldHostEnd is not null, true, false, false, false, false, false,
                [(want.Address, want.PrefixLength)], [], true, loUp);
        }
        var (add, delete) = AddressChanges(want, taskEnd!, taskAddresses);
        return new AttachmentPlan(oldHostEnd is not null, false, false, false, false,
            taskEnd!.Mtu != want.Mtu, taskEnd.Mac != want.Mac, add, delete, !taskEnd.Up, loUp);
    }

    /// <summary>
    /// Whether a task's default route via <paramref name="via"/> must be set on <paramref name="taskEnd"/> (null: the
    /// interface is about to be made, so it has none yet): no route asked for, or the main table of the task's
    /// namespace (<paramref name="routes"/>) already sends 0.0.0.0/0 there through that interface, is nothing to do.
    /// </summary>
    public static bool NeedsDefaultRoute(IPAddress? via, LinkInfo? taskEnd, IReadOnlyList<RouteInfo> routes) =>
        via is not null && !(taskEnd is not null
            && routes.Any(r => r.Destination.PrefixLength == 0 && via.Equals(r.Gateway) && r.OutputIndex == taskEnd.Index));

    /// <summary>What to add to and delete from the task's interface so it holds exactly the wanted address.</summary>
    private static (List<(IPAddress, int)> Add, List<(IPAddress, int)> Delete) AddressChanges(AttachmentWanted want, LinkInfo taskEnd, IReadOnlyList<AddressInfo> taskAddresses)
    {
        var current = taskAddresses.Where(a => a.Index == taskEnd.Index).ToList();
        var add = current.Any(a => a.Address.Equals(want.Address) && a.PrefixLength == want.PrefixLength)
            ? [] : new List<(IPAddress, int)> { (want.Address, want.PrefixLength) };
        var delete = current.Where(a => !(a.Address.Equals(want.Address) && a.PrefixLength == want.PrefixLength))
            .Select(a => (a.Address, a.PrefixLength)).ToList();
        return (add, delete);
    }

    /// <summary>The devices with our alias that nothing wants any more: veths of tasks or networks not kept, then vxlans and bridges.</summary>
    public static IReadOnlyList<LinkInfo> PlanSweep(IReadOnlyList<LinkInfo> links, IReadOnlySet<string> keepNetworkIds, IReadOnlySet<string> keepTaskKeys)
    {
        var sweep = new List<LinkInfo>();
        foreach (var link in links)
        {
            if (OverlayNames.ParseAlias(link.Alias) is not { } owner)
            {
                continue;
            }
            var stale = owner.TaskKey is null
                ? !keepNetworkIds.Contains(owner.NetworkId)
                : !keepNetworkIds.Contains(owner.NetworkId) || !keepTaskKeys.Contains(owner.TaskKey);
            if (stale)
            {
                sweep.Add(link);
            }
        }
        return [.. sweep.OrderBy(l => l.Kind switch { "veth" => 0, "vxlan" => 1, _ => 2 })];
    }

    /// <summary>
    /// The networks whose devices this node removes: those no view names that no task here still
    /// uses, and those no view names whose VXLAN id a wanted network has (the kernel refuses a second
    /// device with the same id, and the managers give a removed network's id to the next one at once:
    /// the new network wins over what a task that is going still holds), and those this node refuses
    /// (<paramref name="refused"/>: their devices must not stay). Never the gateway bridge.
    /// </summary>
    public static IReadOnlyList<string> PlanRemovals(IEnumerable<OwnedNetwork> owned, IReadOnlyDictionary<string, NetworkView> wanted,
        IReadOnlySet<string> usedByTasks, IReadOnlySet<string> refused)
    {
        bool VniWanted(OwnedNetwork network) =>
            network.Vni is { } vni && wanted.Values.Any(v => v.Vni == vni && v.NetworkId != network.NetworkId && !refused.Contains(v.NetworkId));

        bool Removed(OwnedNetwork network) =>
            refused.Contains(network.NetworkId)
            || (!wanted.ContainsKey(network.NetworkId) && (!usedByTasks.Contains(network.NetworkId) || VniWanted(network)));

        return [.. owned.Where(n => n.NetworkId != GatewayBridge.NetworkId && Removed(n)).Select(n => n.NetworkId).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The first of the node's own addresses (those on devices that are not the overlays') that a
    /// network's subnet overlaps, either way: a subnet holding the node's address, or one inside the
    /// node's network, would route the node's own traffic into the overlay (its gateway's route is
    /// more specific). Null when none does.
    /// </summary>
    public static AddressInfo? ConflictingAddress(IPNetwork subnet, IEnumerable<AddressInfo> nodeAddresses) =>
        nodeAddresses.FirstOrDefault(a => a.Address.AddressFamily == subnet.BaseAddress.AddressFamily
            && (subnet.Contains(a.Address) || GatewayBridge.SubnetOf(a.Address, a.PrefixLength).Contains(subnet.BaseAddress)));

    /// <summary>An address given as "10.0.0.2" or "10.0.0.2/24".</summary>
    public static IPAddress AddressOf(string address) => IPAddress.Parse(address.Split('/')[0]);

    private static bool Matches(LinkInfo link, VxlanSpec spec) =>
        link is { Kind: "vxlan", Vxlan: { } v }
        && v.Vni == spec.Vni && Equals(v.Local, spec.Local) && v.Port == spec.Port && v.Learning == spec.Learning && v.Proxy == spec.Proxy;
}
