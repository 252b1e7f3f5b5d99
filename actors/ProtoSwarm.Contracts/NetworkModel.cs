using System.Collections.Immutable;
using System.Net;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>
/// What `network create` asks for: docker's NetworkSpec for the overlay driver. Subnet and Gateway
/// empty: the managers pick a /24 from the default pool (10.0.0.0/8) and its first address (the
/// first of IpRange when one is given). IpRange (docker's --ip-range, a CIDR inside Subnet): tasks
/// and VIPs get addresses only from it. AuxAddresses (docker's --aux-address NAME=IP, inside Subnet):
/// addresses never given to a task or VIP. Options are docker's --opt (com.docker.network.driver.mtu
/// is honoured).
/// </summary>
[MessagePackObject]
public sealed record NetworkSpec(
    [property: Key(0)] string Name,
    [property: Key(1)] string Driver = NetworkSpec.OverlayDriver,
    [property: Key(2)] string Subnet = "",
    [property: Key(3)] string Gateway = "",
    [property: Key(4)] bool Attachable = false,
    [property: Key(5)] bool Ingress = false,
    [property: Key(6)] bool Internal = false,
    ImmutableSortedDictionary<string, string>? Labels = null,
    ImmutableSortedDictionary<string, string>? Options = null,
    string? IpRange = null,
    ImmutableSortedDictionary<string, string>? AuxAddresses = null)
{
    public const string OverlayDriver = "overlay";

    /// <summary>docker's option for an overlay's MTU.</summary>
    public const string MtuOption = "com.docker.network.driver.mtu";

    /// <summary>docker's option asking for an overlay whose VXLAN traffic is encrypted (IPsec ESP between nodes).</summary>
    public const string EncryptedOption = "encrypted";

    /// <summary>docker's option naming an overlay's VXLAN id (VNI); inspect shows the allocated one under it.</summary>
    public const string VxlanIdOption = "com.docker.network.driver.overlay.vxlanid_list";

    /// <summary>
    /// Why an option cannot be honoured, or null when it can. Refused rather than stored: kept, it
    /// showed in `network inspect` as if in force while the network ran without it (traffic in the
    /// clear, another VNI). The key as docker reads it; any value (even empty) is refused alike.
    /// </summary>
    public static string? OptionProblem(string key) => key.Trim() switch
    {
        EncryptedOption =>
            "encrypted overlays are not supported: ProtoSwarm has no IPsec (ESP) encryption of VXLAN traffic between nodes, so the network would carry its traffic in the clear; leave the option out",
        VxlanIdOption =>
            "the VXLAN id is allocated by the swarm, one per network from 4096 up, and cannot be chosen; leave the option out (`network inspect` shows the one allocated)",
        _ => null,
    };

    [Key(7)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;

    [Key(8)]
    public ImmutableSortedDictionary<string, string> Options { get; init; } = Options ?? ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>docker's --ip-range: a CIDR inside Subnet, empty for all of it (also as a spec of an earlier version reads, without the key).</summary>
    [Key(9)]
    public string IpRange { get; init; } = IpRange ?? string.Empty;

    /// <summary>docker's --aux-address: name to IPv4 address, each reserved on the network (never a task's or a VIP's).</summary>
    [Key(10)]
    public ImmutableSortedDictionary<string, string> AuxAddresses { get; init; } = AuxAddresses ?? ImmutableSortedDictionary<string, string>.Empty;
}

/// <summary>
/// An overlay network as the managers' store keeps it: its spec and what was allocated for it once,
/// at creation: the subnet (CIDR), the gateway address and the VXLAN network identifier.
/// </summary>
[MessagePackObject]
public sealed record NetworkObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] NetworkSpec Spec,
    [property: Key(3)] string Subnet,
    [property: Key(4)] string Gateway,
    [property: Key(5)] uint Vni) : IStoreObject, IStoreKind
{
    public static string StoreKind => "network";

    /// <summary>The network every swarm has for its routing mesh, made by `swarm init` (docker's).</summary>
    public const string IngressName = "ingress";

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}

/// <summary>
/// An address allocated on a network (to a task, or to a node's end of the ingress network), with
/// the extra DNS names it answers to there. Address is CIDR ("10.0.1.5/24").
/// </summary>
[MessagePackObject]
public sealed record AttachedNetwork(
    [property: Key(0)] string NetworkId,
    [property: Key(1)] string Address,
    ImmutableArray<string> Aliases = default)
{
    [Key(2)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;
}

/// <summary>A service's virtual IP on one network (CIDR), docker's Endpoint.VirtualIPs entry.</summary>
[MessagePackObject]
public sealed record VirtualIp(
    [property: Key(0)] string NetworkId,
    [property: Key(1)] string Address);

/// <summary>
/// What the managers allocated for a service's endpoint: the ports with every published port
/// chosen (an ingress port asked as 0 gets one from 30000-32767), and a virtual IP per network in
/// endpoint mode vip (docker's Service.Endpoint).
/// </summary>
[MessagePackObject]
public sealed record ServiceEndpoint(
    ImmutableArray<PortConfig> Ports = default,
    ImmutableArray<VirtualIp> VirtualIps = default)
{
    [Key(0)]
    public ImmutableArray<PortConfig> Ports { get; init; } = Ports.IsDefault ? [] : Ports;

    [Key(1)]
    public ImmutableArray<VirtualIp> VirtualIps { get; init; } = VirtualIps.IsDefault ? [] : VirtualIps;

    public static readonly ServiceEndpoint None = new();
}

/// <summary>
/// One address on a network as the nodes need it: where it lives (the node and its underlay
/// address, for the static VXLAN forwarding and neighbour entries) and what answers there (a task
/// of a service, or a node's own ingress end when TaskId is empty). Ready: the task runs (and is
/// healthy), so DNS answers it, virtual IPs balance over it and its node binds its host-mode ports.
/// </summary>
[MessagePackObject]
public sealed record NetworkEndpoint(
    [property: Key(0)] string Address,
    [property: Key(1)] string NodeId,
    [property: Key(2)] string NodeAddr,
    [property: Key(3)] string TaskId = "",
    [property: Key(4)] string ServiceId = "",
    [property: Key(5)] string TaskName = "",
    ImmutableArray<string> Aliases = default,
    [property: Key(7)] bool Ready = false,
    ImmutableArray<PortConfig> HostPorts = default)
{
    [Key(6)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;

    /// <summary>
    /// The task's host-mode ports as its node reported them (<see cref="TaskObservedStatus.PortStatus"/>): how the
    /// node binds a port it picked for the task, also right after its node host restarted and before it found the task again.
    /// </summary>
    [Key(8)]
    public ImmutableArray<PortConfig> HostPorts { get; init; } = HostPorts.IsDefault ? [] : HostPorts;

    /// <summary>The MAC of an overlay address, derived from it as docker does (02:42 then the IPv4 bytes).</summary>
    public static string MacOf(string address)
    {
        var ip = IPAddress.Parse(address.Split('/')[0]).GetAddressBytes();
        return $"02:42:{ip[0]:x2}:{ip[1]:x2}:{ip[2]:x2}:{ip[3]:x2}";
    }

    /// <summary>
    /// docker's EndpointID of an endpoint on a network (a task's or container's, or a node's ingress sandbox by its node
    /// id): 64 hex digits, derived from the two ids, so the same endpoint always shows the same one, wherever it is shown.
    /// </summary>
    public static string EndpointIdOf(string networkId, string holderId) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{networkId}/{holderId}")));
}

/// <summary>A service on a network as the nodes need it: its names (service name and aliases), its endpoint mode, VIP and ports.</summary>
[MessagePackObject]
public sealed record NetworkService(
    [property: Key(0)] string ServiceId,
    [property: Key(1)] string Name,
    ImmutableArray<string> Aliases = default,
    [property: Key(3)] EndpointMode Mode = EndpointMode.Vip,
    [property: Key(4)] string Vip = "",
    ImmutableArray<PortConfig> Ports = default)
{
    [Key(2)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;

    [Key(5)]
    public ImmutableArray<PortConfig> Ports { get; init; } = Ports.IsDefault ? [] : Ports;
}

/// <summary>
/// Everything a node needs to make one overlay real: the network (VNI, subnet, gateway), the peer
/// table (every live address on it, with the node that holds it) and the services reachable on it.
/// Derived from the store by the managers and sent to the nodes that need it with their task
/// assignments (a node needs a network when one of its tasks is on it; every node needs ingress
/// while any service publishes a port in ingress mode). Mtu 0: the node's underlay MTU minus 50.
/// Spec, Created and Peers are what a worker, which has no store, shows of the network in `network ls`
/// and `network inspect`, as docker's worker shows the networks its tasks are on (Spec null from a
/// manager of an earlier version).
/// </summary>
[MessagePackObject]
public sealed record NetworkView(
    [property: Key(0)] string NetworkId,
    [property: Key(1)] string Name,
    [property: Key(2)] uint Vni,
    [property: Key(3)] string Subnet,
    [property: Key(4)] string Gateway,
    [property: Key(5)] bool Ingress = false,
    [property: Key(6)] int Mtu = 0,
    [property: Key(7)] int DataPathPort = 0,
    ImmutableArray<NetworkEndpoint> Endpoints = default,
    ImmutableArray<NetworkService> Services = default,
    [property: Key(10)] bool Internal = false,
    [property: Key(11)] NetworkSpec? Spec = null,
    [property: Key(12)] DateTimeOffset Created = default,
    ImmutableArray<NetworkPeer> Peers = default)
{
    /// <summary>VXLAN's IANA port, docker's default data path port.</summary>
    public const int DefaultDataPathPort = 4789;

    [Key(8)]
    public ImmutableArray<NetworkEndpoint> Endpoints { get; init; } = Endpoints.IsDefault ? [] : Endpoints;

    [Key(9)]
    public ImmutableArray<NetworkService> Services { get; init; } = Services.IsDefault ? [] : Services;

    /// <summary>The nodes holding an endpoint on the network (docker's `network inspect` Peers), by hostname, then id.</summary>
    [Key(13)]
    public ImmutableArray<NetworkPeer> Peers { get; init; } = Peers.IsDefault ? [] : Peers;
}

/// <summary>A node that has a network (docker's `network inspect` Peers): its hostname and the address its overlay traffic goes to.</summary>
[MessagePackObject]
public sealed record NetworkPeer(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string Name,
    [property: Key(2)] string Ip);

/// <summary>
/// Who uses a network now, from the managers' <see cref="NetworkView"/> of it (what the nodes that need it are sent):
/// its live endpoints (tasks, and on ingress each node's own end), the services on it, and the nodes that have it.
/// `network inspect` shows it as docker's Containers (this node's endpoints), Peers and, verbose, Services.
/// </summary>
[MessagePackObject]
public sealed record NetworkUsage(
    ImmutableArray<NetworkEndpoint> Endpoints = default,
    ImmutableArray<NetworkService> Services = default,
    ImmutableArray<NetworkPeer> Peers = default)
{
    [Key(0)]
    public ImmutableArray<NetworkEndpoint> Endpoints { get; init; } = Endpoints.IsDefault ? [] : Endpoints;

    [Key(1)]
    public ImmutableArray<NetworkService> Services { get; init; } = Services.IsDefault ? [] : Services;

    [Key(2)]
    public ImmutableArray<NetworkPeer> Peers { get; init; } = Peers.IsDefault ? [] : Peers;
}
