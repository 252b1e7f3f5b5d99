using System.Net;
using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// rtnetlink requests gathered for one <see cref="RtnetlinkClient.Execute"/>: the kernel gets them in
/// as few sends as its buffer allows and answers each, so a thousand neighbour entries cost milliseconds.
/// Deletes tolerate what is already gone; creates with <c>replace</c> tolerate what is already there.
/// </summary>
public sealed class RtnetlinkBatch
{
    private const int ENOENT = 2, ENODEV = 19, EADDRNOTAVAIL = 99, ESRCH = 3;
    private const ushort Create = Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL;
    private const ushort Replace = Rtnl.NLM_F_CREATE | Rtnl.NLM_F_REPLACE;

    internal RtnetlinkBatch(NetlinkSocket socket) => Requests = new NetlinkBatch(socket);

    internal NetlinkBatch Requests { get; }

    public int Count => Requests.Count;

    public RtnetlinkBatch CreateBridge(string name, int mtu = 0, MacAddress? mac = null)
    {
        Requests.Add($"create bridge {name}", Rtnl.RTM_NEWLINK, Create, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, name);
            if (mtu > 0)
            {
                w.Attr(Rtnl.IFLA_MTU, (uint)mtu);
            }
            if (mac is { } m)
            {
                w.Attr(Rtnl.IFLA_ADDRESS, m);
            }
            var info = w.BeginNested(Rtnl.IFLA_LINKINFO);
            w.Attr(Rtnl.IFLA_INFO_KIND, "bridge");
            w.EndNested(info);
        });
        return this;
    }

    public RtnetlinkBatch CreateVxlan(VxlanSpec spec)
    {
        Requests.Add($"create vxlan {spec.Name} (vni {spec.Vni}, local {spec.Local}, dstport {spec.Port})", Rtnl.RTM_NEWLINK, Create, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, spec.Name);
            if (spec.Mtu > 0)
            {
                w.Attr(Rtnl.IFLA_MTU, (uint)spec.Mtu);
            }
            var info = w.BeginNested(Rtnl.IFLA_LINKINFO);
            w.Attr(Rtnl.IFLA_INFO_KIND, "vxlan");
            var data = w.BeginNested(Rtnl.IFLA_INFO_DATA);
            w.Attr(Rtnl.IFLA_VXLAN_ID, spec.Vni);
            w.Attr(Rtnl.IFLA_VXLAN_LOCAL, spec.Local);
            w.AttrBigEndian(Rtnl.IFLA_VXLAN_PORT, (ushort)spec.Port);
            w.Attr(Rtnl.IFLA_VXLAN_LEARNING, spec.Learning ? (byte)1 : (byte)0);
            w.Attr(Rtnl.IFLA_VXLAN_PROXY, spec.Proxy ? (byte)1 : (byte)0);
            w.Attr(Rtnl.IFLA_VXLAN_UDP_CSUM, (byte)0);
            if (spec.LinkIndex > 0)
            {
                w.Attr(Rtnl.IFLA_VXLAN_LINK, (uint)spec.LinkIndex);
            }
            w.EndNested(data);
            w.EndNested(info);
        });
        return this;
    }

    /// <summary>
    /// A veth pair: <paramref name="name"/> here, <paramref name="peerName"/> in the namespace of
    /// <paramref name="peerNamespace"/> (here when null), with the peer's MAC and both ends' MTU set.
    /// </summary>
    public RtnetlinkBatch CreateVeth(string name, string peerName, SafeHandle? peerNamespace = null, int mtu = 0, MacAddress? peerMac = null, int master = 0, string? alias = null)
    {
        Requests.Add($"create veth {name} (peer {peerName})", Rtnl.RTM_NEWLINK, Create, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, name);
            if (mtu > 0)
            {
                w.Attr(Rtnl.IFLA_MTU, (uint)mtu);
            }
            if (master > 0)
            {
                w.Attr(Rtnl.IFLA_MASTER, (uint)master);
            }
            var info = w.BeginNested(Rtnl.IFLA_LINKINFO);
            w.Attr(Rtnl.IFLA_INFO_KIND, "veth");
            var data = w.BeginNested(Rtnl.IFLA_INFO_DATA);
            var peer = w.BeginNested(Rtnl.VETH_INFO_PEER);
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, peerName);
            if (mtu > 0)
            {
                w.Attr(Rtnl.IFLA_MTU, (uint)mtu);
            }
            if (peerMac is { } m)
            {
                w.Attr(Rtnl.IFLA_ADDRESS, m);
            }
            if (peerNamespace is not null)
            {
                w.Attr(Rtnl.IFLA_NET_NS_FD, (uint)peerNamespace.DangerousGetHandle());
            }
            w.EndNested(peer);
            w.EndNested(data);
            w.EndNested(info);
        });
        return alias is null ? this : SetAliasByName(name, alias);
    }

    /// <summary>
    /// A macvlan in bridge mode on <paramref name="lowerIndex"/> (a device of this namespace), made
    /// straight in the namespace of <paramref name="netns"/> (here when null) under <paramref name="name"/>:
    /// <c>ip link add link LOWER name NAME netns NS mtu MTU address MAC type macvlan mode bridge</c>.
    /// </summary>
    public RtnetlinkBatch CreateMacvlan(string name, int lowerIndex, SafeHandle? netns, int mtu, MacAddress mac)
    {
        Requests.Add($"create macvlan {name} (on link {lowerIndex})", Rtnl.RTM_NEWLINK, Create, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, name);
            w.Attr(Rtnl.IFLA_LINK, (uint)lowerIndex);
            if (mtu > 0)
            {
                w.Attr(Rtnl.IFLA_MTU, (uint)mtu);
            }
            w.Attr(Rtnl.IFLA_ADDRESS, mac);
            if (netns is not null)
            {
                w.Attr(Rtnl.IFLA_NET_NS_FD, (uint)netns.DangerousGetHandle());
            }
            var info = w.BeginNested(Rtnl.IFLA_LINKINFO);
            w.Attr(Rtnl.IFLA_INFO_KIND, "macvlan");
            var data = w.BeginNested(Rtnl.IFLA_INFO_DATA);
            w.Attr(Rtnl.IFLA_MACVLAN_MODE, Rtnl.MACVLAN_MODE_BRIDGE);
            w.EndNested(data);
            w.EndNested(info);
        });
        return this;
    }

    /// <summary>Sets the alias of a device by name (in the same batch as its creation, whose index is not known yet).</summary>
    public RtnetlinkBatch SetAliasByName(string name, string alias)
    {
        Requests.Add($"set alias of {name}", Rtnl.RTM_SETLINK, 0, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, name);
            w.Attr(Rtnl.IFLA_IFALIAS, alias);
        });
        return this;
    }

    public RtnetlinkBatch SetUp(int index, bool up = true) =>
        SetLink($"set link {index} {(up ? "up" : "down")}", index, w => { }, up ? Rtnl.IFF_UP : 0, Rtnl.IFF_UP);

    public RtnetlinkBatch SetMtu(int index, int mtu) =>
        SetLink($"set link {index} mtu {mtu}", index, w => w.Attr(Rtnl.IFLA_MTU, (uint)mtu));

    /// <summary>Attaches the device to a bridge; master 0 detaches it.</summary>
    public RtnetlinkBatch SetMaster(int index, int master) =>
        SetLink($"set link {index} master {master}", index, w => w.Attr(Rtnl.IFLA_MASTER, (uint)master));

    public RtnetlinkBatch SetMac(int index, MacAddress mac) =>
        SetLink($"set link {index} address {mac}", index, w => w.Attr(Rtnl.IFLA_ADDRESS, mac));

    /// <summary>Renames a device (the kernel wants it down).</summary>
    public RtnetlinkBatch SetName(int index, string name) =>
        SetLink($"set link {index} name {name}", index, w => w.Attr(Rtnl.IFLA_IFNAME, name));

    public RtnetlinkBatch SetAlias(int index, string alias) =>
        SetLink($"set link {index} alias {alias}", index, w => w.Attr(Rtnl.IFLA_IFALIAS, alias));

    /// <summary>Moves the device into the namespace open at <paramref name="netns"/>.</summary>
    public RtnetlinkBatch SetNamespace(int index, SafeHandle netns) =>
        SetLink($"set link {index} netns", index, w => w.Attr(Rtnl.IFLA_NET_NS_FD, (uint)netns.DangerousGetHandle()));

    public RtnetlinkBatch DeleteLink(int index, string? name = null)
    {
        Requests.Add($"delete link {name ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture)}", Rtnl.RTM_DELLINK, 0,
            w => w.IfInfo(Rtnl.AF_UNSPEC, index), ENODEV);
        return this;
    }

    /// <summary>Adds an IPv4 address; <paramref name="noPrefixRoute"/> leaves the subnet's route to the caller.</summary>
    public RtnetlinkBatch AddAddress(int index, IPAddress address, int prefixLength, bool noPrefixRoute = false)
    {
        Requests.Add($"add address {address}/{prefixLength} to link {index}", Rtnl.RTM_NEWADDR, Replace, w =>
        {
            w.IfAddr(Rtnl.AF_INET, (byte)prefixLength, index);
            w.Attr(Rtnl.IFA_LOCAL, address);
            w.Attr(Rtnl.IFA_ADDRESS, address);
            if (noPrefixRoute)
            {
                w.Attr(Rtnl.IFA_FLAGS, Rtnl.IFA_F_NOPREFIXROUTE);
            }
        });
        return this;
    }

    public RtnetlinkBatch DeleteAddress(int index, IPAddress address, int prefixLength)
    {
        Requests.Add($"delete address {address}/{prefixLength} from link {index}", Rtnl.RTM_DELADDR, 0, w =>
        {
            w.IfAddr(Rtnl.AF_INET, (byte)prefixLength, index);
            w.Attr(Rtnl.IFA_LOCAL, address);
        }, EADDRNOTAVAIL, ENODEV);
        return this;
    }

    /// <summary>Adds or replaces a route (ip route replace).</summary>
    public RtnetlinkBatch ReplaceRoute(RouteSpec route) => RouteRequest(route, Rtnl.RTM_NEWROUTE, Replace, "replace");

    /// <summary>Adds a route; it fails with EEXIST when one with that destination is there.</summary>
    public RtnetlinkBatch AddRoute(RouteSpec route) => RouteRequest(route, Rtnl.RTM_NEWROUTE, Create, "add");

    public RtnetlinkBatch DeleteRoute(RouteSpec route) => RouteRequest(route, Rtnl.RTM_DELROUTE, 0, "delete", ESRCH);

    public RtnetlinkBatch AddRule(RuleSpec rule) => RuleRequest(rule, Rtnl.RTM_NEWRULE, Create, "add");

    public RtnetlinkBatch DeleteRule(RuleSpec rule) => RuleRequest(rule, Rtnl.RTM_DELRULE, 0, "delete", ENOENT);

    /// <summary>A permanent IPv4 neighbour entry (ip neigh replace IP lladdr MAC dev DEV nud permanent).</summary>
    public RtnetlinkBatch ReplaceNeighbour(int index, IPAddress address, MacAddress mac) => NeighbourRequest(index, address, mac, Replace, "replace");

    public RtnetlinkBatch AddNeighbour(int index, IPAddress address, MacAddress mac) => NeighbourRequest(index, address, mac, Create, "add");

    public RtnetlinkBatch DeleteNeighbour(int index, IPAddress address)
    {
        Requests.Add($"delete neighbour {address} on link {index}", Rtnl.RTM_DELNEIGH, 0, w =>
        {
            w.NdMsg(Rtnl.AF_INET, index, 0, 0);
            w.Attr(Rtnl.NDA_DST, address);
        }, ENOENT);
        return this;
    }

    /// <summary>A vxlan forwarding entry (bridge fdb replace MAC dev DEV dst REMOTE self permanent).</summary>
    public RtnetlinkBatch ReplaceFdb(int index, MacAddress mac, IPAddress remote) => FdbRequest(index, mac, remote, Replace, "replace");

    public RtnetlinkBatch AddFdb(int index, MacAddress mac, IPAddress remote) => FdbRequest(index, mac, remote, Create, "add");

    /// <summary>Deletes the entry for <paramref name="mac"/> (every remote when <paramref name="remote"/> is null).</summary>
    public RtnetlinkBatch DeleteFdb(int index, MacAddress mac, IPAddress? remote = null)
    {
        Requests.Add($"delete fdb {mac} on link {index}", Rtnl.RTM_DELNEIGH, 0, w =>
        {
            w.NdMsg(Rtnl.AF_BRIDGE, index, Rtnl.NUD_PERMANENT, Rtnl.NTF_SELF);
            w.Attr(Rtnl.NDA_LLADDR, mac);
            if (remote is not null)
            {
                w.Attr(Rtnl.NDA_DST, remote);
            }
        }, ENOENT);
        return this;
    }

    private RtnetlinkBatch SetLink(string operation, int index, Action<NetlinkWriter> attributes, uint flags = 0, uint change = 0)
    {
        Requests.Add(operation, Rtnl.RTM_NEWLINK, 0, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, index, flags, change);
            attributes(w);
        });
        return this;
    }

    private RtnetlinkBatch RouteRequest(RouteSpec route, ushort type, ushort flags, string verb, params int[] ignore)
    {
        Requests.Add($"{verb} route {route.Destination}{(route.Gateway is null ? "" : $" via {route.Gateway}")}{(route.OutputIndex > 0 ? $" dev {route.OutputIndex}" : "")} table {route.Table}",
            type, flags, w =>
            {
                var table = route.Table < 256 ? (byte)route.Table : (byte)0;
                var scope = route.Gateway is null && route.OutputIndex > 0 ? Rtnl.RT_SCOPE_LINK : Rtnl.RT_SCOPE_UNIVERSE;
                w.RtMsg(Rtnl.AF_INET, (byte)route.Destination.PrefixLength, table, Rtnl.RTPROT_STATIC, scope, Rtnl.RTN_UNICAST,
                    route.OnLink ? Rtnl.RTNH_F_ONLINK : 0);
                w.Attr(Rtnl.RTA_TABLE, route.Table);
                if (route.Destination.PrefixLength > 0)
                {
                    w.Attr(Rtnl.RTA_DST, route.Destination.BaseAddress);
                }
                if (route.Gateway is not null)
                {
                    w.Attr(Rtnl.RTA_GATEWAY, route.Gateway);
                }
                if (route.OutputIndex > 0)
                {
                    w.Attr(Rtnl.RTA_OIF, (uint)route.OutputIndex);
                }
                if (route.PreferredSource is not null)
                {
                    w.Attr(Rtnl.RTA_PREFSRC, route.PreferredSource);
                }
            }, ignore);
        return this;
    }

    private RtnetlinkBatch RuleRequest(RuleSpec rule, ushort type, ushort flags, string verb, params int[] ignore)
    {
        Requests.Add($"{verb} rule fwmark {rule.FwMark:x}/{rule.FwMask:x} table {rule.Table} priority {rule.Priority}", type, flags, w =>
        {
            w.FibRule(Rtnl.AF_INET, rule.Table < 256 ? (byte)rule.Table : (byte)0, Rtnl.FR_ACT_TO_TBL);
            w.Attr(Rtnl.FRA_TABLE, rule.Table);
            w.Attr(Rtnl.FRA_PRIORITY, rule.Priority);
            w.Attr(Rtnl.FRA_FWMARK, rule.FwMark);
            w.Attr(Rtnl.FRA_FWMASK, rule.FwMask);
        }, ignore);
        return this;
    }

    private RtnetlinkBatch NeighbourRequest(int index, IPAddress address, MacAddress mac, ushort flags, string verb)
    {
        Requests.Add($"{verb} neighbour {address} lladdr {mac} on link {index}", Rtnl.RTM_NEWNEIGH, flags, w =>
        {
            w.NdMsg(Rtnl.AF_INET, index, Rtnl.NUD_PERMANENT, 0);
            w.Attr(Rtnl.NDA_DST, address);
            w.Attr(Rtnl.NDA_LLADDR, mac);
        });
        return this;
    }

    private RtnetlinkBatch FdbRequest(int index, MacAddress mac, IPAddress remote, ushort flags, string verb)
    {
        Requests.Add($"{verb} fdb {mac} dst {remote} on link {index}", Rtnl.RTM_NEWNEIGH, flags, w =>
        {
            w.NdMsg(Rtnl.AF_BRIDGE, index, Rtnl.NUD_PERMANENT, Rtnl.NTF_SELF);
            w.Attr(Rtnl.NDA_LLADDR, mac);
            w.Attr(Rtnl.NDA_DST, remote);
        });
        return this;
    }
}
