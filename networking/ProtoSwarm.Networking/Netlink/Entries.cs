using System.Net;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>A network device as `ip -d link` shows it; Vxlan is set for a vxlan device, Link is a veth's peer index.</summary>
public sealed record LinkInfo(int Index, string Name, string Kind, int Master, MacAddress Mac, int Mtu, bool Up, int Link = 0, string Alias = "", VxlanInfo? Vxlan = null);

/// <summary>A vxlan device's settings that the overlay cares about.</summary>
public sealed record VxlanInfo(uint Vni, IPAddress? Local, int Port, bool Learning, bool Proxy);

/// <summary>An IPv4 address on a device.</summary>
public sealed record AddressInfo(int Index, IPAddress Address, int PrefixLength)
{
    public override string ToString() => $"{Address}/{PrefixLength}";
}

/// <summary>An IPv4 route of one table.</summary>
public sealed record RouteInfo(uint Table, IPNetwork Destination, IPAddress? Gateway, int OutputIndex, IPAddress? PreferredSource, byte Protocol, byte Scope);

/// <summary>An IPv4 neighbour entry (ARP) on a device.</summary>
public sealed record NeighbourEntry(int Index, IPAddress Address, MacAddress Mac, ushort State)
{
    public bool Permanent => (State & 0x80) != 0;
}

/// <summary>A forwarding entry of a device's own table (NTF_SELF): for vxlan, a MAC and the underlay address it lives behind.</summary>
public sealed record FdbEntry(int Index, MacAddress Mac, IPAddress? Destination, ushort State, byte Flags);

/// <summary>What a new vxlan device is: <c>ip link add NAME type vxlan id VNI local LOCAL dstport PORT nolearning [proxy] [dev LINK]</c>.</summary>
public sealed record VxlanSpec(string Name, uint Vni, IPAddress Local, int Port = 4789, int Mtu = 0, bool Learning = false, bool Proxy = false, int LinkIndex = 0);

/// <summary>A route: <c>ip route add DST [via GATEWAY] [dev OIF] [src SRC] [table T] [onlink]</c>; a route with no gateway has link scope.</summary>
public sealed record RouteSpec(IPNetwork Destination, IPAddress? Gateway = null, int OutputIndex = 0, uint Table = 254, bool OnLink = false, IPAddress? PreferredSource = null);

/// <summary>A policy rule: <c>ip rule add fwmark MARK/MASK table T priority P</c>.</summary>
public sealed record RuleSpec(uint FwMark, uint Table, uint Priority, uint FwMask = 0xffffffff);
