using System.Buffers.Binary;
using System.Net;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// rtnetlink over one NETLINK_ROUTE socket, which belongs to the network namespace of the thread that
/// made the client. Reads are dumps; changes go through <see cref="RtnetlinkBatch"/> (the single-change
/// methods are one-request batches). Not thread-safe: one owner, typically a NamespaceThread.
/// </summary>
public sealed class RtnetlinkClient : IDisposable
{
    private const int ENODEV = 19;
    private readonly NetlinkSocket _socket = new(Rtnl.NETLINK_ROUTE);

    public RtnetlinkBatch Batch() => new(_socket);

    /// <summary>Sends every request of the batch and waits for the kernel's answers; throws the first failure.</summary>
    public void Execute(RtnetlinkBatch batch)
    {
        if (batch.Count > 0)
        {
            _socket.Execute(batch.Requests);
        }
    }

    /// <summary>One-request batch: <c>client.Run(b => b.SetUp(index))</c>.</summary>
    public void Run(Action<RtnetlinkBatch> request)
    {
        var batch = Batch();
        request(batch);
        Execute(batch);
    }

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        var links = new List<LinkInfo>();
        _socket.Dump("list links", Rtnl.RTM_GETLINK, w => w.IfInfo(Rtnl.AF_UNSPEC, 0), m => links.Add(ParseLink(m)));
        return links;
    }

    /// <summary>The device named <paramref name="name"/>, null when there is none.</summary>
    public LinkInfo? GetLink(string name)
    {
        LinkInfo? link = null;
        _socket.Get($"get link {name}", Rtnl.RTM_GETLINK, w =>
        {
            w.IfInfo(Rtnl.AF_UNSPEC, 0);
            w.Attr(Rtnl.IFLA_IFNAME, name);
        }, m => link = ParseLink(m), ENODEV);
        return link;
    }

    /// <summary>The IPv4 addresses, of one device when <paramref name="index"/> is given.</summary>
    public IReadOnlyList<AddressInfo> ListAddresses(int index = 0)
    {
        var addresses = new List<AddressInfo>();
        _socket.Dump("list addresses", Rtnl.RTM_GETADDR, w => w.IfAddr(Rtnl.AF_INET, 0, 0), m =>
        {
            var p = m.Payload;
            var ifindex = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
            if (index != 0 && ifindex != index)
            {
                return;
            }
            IPAddress? local = null, address = null;
            foreach (var a in m.Attributes(8))
            {
                if (a.Type == Rtnl.IFA_LOCAL)
                {
                    local = a.Address;
                }
                else if (a.Type == Rtnl.IFA_ADDRESS)
                {
                    address = a.Address;
                }
            }
            if ((local ?? address) is { } found)
            {
                addresses.Add(new AddressInfo(ifindex, found, p[1]));
            }
        });
        return addresses;
    }

    /// <summary>The IPv4 routes of <paramref name="table"/> (main by default).</summary>
    public IReadOnlyList<RouteInfo> ListRoutes(uint table = Rtnl.RT_TABLE_MAIN)
    {
        var routes = new List<RouteInfo>();
        _socket.Dump("list routes", Rtnl.RTM_GETROUTE, w => w.RtMsg(Rtnl.AF_INET, 0, 0, 0, 0, 0, 0), m =>
        {
            var p = m.Payload;
            uint routeTable = p[4];
            IPAddress dst = IPAddress.Any;
            IPAddress? gateway = null, source = null;
            var oif = 0;
            foreach (var a in m.Attributes(12))
            {
                switch (a.Type)
                {
                    case Rtnl.RTA_TABLE: routeTable = a.U32; break;
                    case Rtnl.RTA_DST: dst = a.Address; break;
                    case Rtnl.RTA_GATEWAY: gateway = a.Address; break;
                    case Rtnl.RTA_PREFSRC: source = a.Address; break;
                    case Rtnl.RTA_OIF: oif = (int)a.U32; break;
                }
            }
            if (routeTable == table)
            {
                routes.Add(new RouteInfo(routeTable, new IPNetwork(dst, p[1]), gateway, oif, source, p[5], p[6]));
            }
        });
        return routes;
    }

    /// <summary>The IPv4 neighbour entries of one device.</summary>
    public IReadOnlyList<NeighbourEntry> ListNeighbours(int index)
    {
        var entries = new List<NeighbourEntry>();
        _socket.Dump("list neighbours", Rtnl.RTM_GETNEIGH, w => w.NdMsg(Rtnl.AF_INET, 0, 0, 0), m =>
        {
            var p = m.Payload;
            var ifindex = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
            if (ifindex != index)
            {
                return;
            }
            var (dst, mac) = NeighbourAttributes(m);
            if (dst is not null)
            {
                entries.Add(new NeighbourEntry(ifindex, dst, mac, BinaryPrimitives.ReadUInt16LittleEndian(p[8..])));
            }
        });
        return entries;
    }

    /// <summary>The device's own forwarding entries (NTF_SELF): for a vxlan device, MAC to remote.</summary>
    public IReadOnlyList<FdbEntry> ListFdb(int index)
    {
        var entries = new List<FdbEntry>();
        _socket.Dump("list fdb", Rtnl.RTM_GETNEIGH, w => w.NdMsg(Rtnl.AF_BRIDGE, 0, 0, 0), m =>
        {
            var p = m.Payload;
            var ifindex = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
            var flags = p[10];
            if (ifindex != index || (flags & Rtnl.NTF_SELF) == 0)
            {
                return;
            }
            var (dst, mac) = NeighbourAttributes(m);
            entries.Add(new FdbEntry(ifindex, mac, dst, BinaryPrimitives.ReadUInt16LittleEndian(p[8..]), flags));
        });
        return entries;
    }

    /// <summary>A neighbour message's destination address and link-layer address (neighbour and FDB dumps alike).</summary>
    private static (IPAddress? Destination, MacAddress Mac) NeighbourAttributes(NetlinkMessage m)
    {
        IPAddress? dst = null;
        var mac = default(MacAddress);
        foreach (var a in m.Attributes(12))
        {
            if (a.Type == Rtnl.NDA_DST)
            {
                dst = a.Address;
            }
            else if (a.Type == Rtnl.NDA_LLADDR)
            {
                mac = MacAddress.FromBytes(a.Value);
            }
        }

        return (dst, mac);
    }

    /// <summary>The MTU of the named device.</summary>
    public int GetLinkMtu(string name) =>
        GetLink(name)?.Mtu ?? throw new NetlinkException($"get link {name}", ENODEV);

    /// <summary>The MTU of the device that holds the main table's default route.</summary>
    public int GetDefaultRouteMtu()
    {
        var route = ListRoutes().FirstOrDefault(r => r.Destination.PrefixLength == 0 && r.OutputIndex > 0)
            ?? throw new NetlinkException("find the default route's device", ENODEV, "no default route in the main table");
        return ListLinks().First(l => l.Index == route.OutputIndex).Mtu;
    }

    /// <summary>The MTU of the device that holds <paramref name="address"/>.</summary>
    public int GetMtuOfAddress(IPAddress address)
    {
        var holder = ListAddresses().FirstOrDefault(a => a.Address.Equals(address))
            ?? throw new NetlinkException($"find the device of {address}", ENODEV, $"no device has {address}");
        return ListLinks().First(l => l.Index == holder.Index).Mtu;
    }

    public void Dispose() => _socket.Dispose();

    private static LinkInfo ParseLink(NetlinkMessage m)
    {
        var p = m.Payload;
        var index = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(p[8..]);
        string name = "", kind = "", alias = "";
        int master = 0, mtu = 0, link = 0;
        var mac = default(MacAddress);
        VxlanInfo? vxlan = null;
        foreach (var a in m.Attributes(16))
        {
            switch (a.Type)
            {
                case Rtnl.IFLA_IFNAME: name = a.String; break;
                case Rtnl.IFLA_MTU: mtu = (int)a.U32; break;
                case Rtnl.IFLA_MASTER: master = (int)a.U32; break;
                case Rtnl.IFLA_LINK: link = (int)a.U32; break;
                case Rtnl.IFLA_ADDRESS: mac = MacAddress.FromBytes(a.Value); break;
                case Rtnl.IFLA_IFALIAS: alias = a.String; break;
                case Rtnl.IFLA_LINKINFO:
                    foreach (var i in a.Nested)
                    {
                        if (i.Type == Rtnl.IFLA_INFO_KIND)
                        {
                            kind = i.String;
                        }
                        else if (i.Type == Rtnl.IFLA_INFO_DATA && kind == "vxlan")
                        {
                            vxlan = ParseVxlan(i.Nested);
                        }
                    }
                    break;
            }
        }
        return new LinkInfo(index, name, kind, master, mac, mtu, (flags & Rtnl.IFF_UP) != 0, link, alias, vxlan);
    }

    private static VxlanInfo ParseVxlan(AttributeReader data)
    {
        uint vni = 0;
        IPAddress? local = null;
        int port = 0;
        bool learning = false, proxy = false;
        foreach (var a in data)
        {
            switch (a.Type)
            {
                case Rtnl.IFLA_VXLAN_ID: vni = a.U32; break;
                case Rtnl.IFLA_VXLAN_LOCAL: local = a.Address; break;
                case Rtnl.IFLA_VXLAN_PORT: port = a.BigEndianU16; break;
                case Rtnl.IFLA_VXLAN_LEARNING: learning = a.U8 != 0; break;
                case Rtnl.IFLA_VXLAN_PROXY: proxy = a.U8 != 0; break;
            }
        }
        return new VxlanInfo(vni, local, port, learning, proxy);
    }
}
