namespace ProtoSwarm.Networking.Netlink;

// The numbers of the kernel's netlink ABI (linux/netlink.h, rtnetlink.h, if_link.h, neighbour.h,
// fib_rules.h, nfnetlink_conntrack.h) that this client uses.
internal static class Rtnl
{
    public const int NETLINK_ROUTE = 0, NETLINK_NETFILTER = 12;

    // nlmsghdr
    public const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 1, NLM_F_MULTI = 2, NLM_F_ACK = 4, NLM_F_DUMP = 0x300;
    public const ushort NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    public const ushort NLM_F_ACK_TLVS = 0x200;
    public const ushort NLMSGERR_ATTR_MSG = 1;
    public const int HeaderSize = 16;

    // message types
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19;
    public const ushort RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
    public const ushort RTM_NEWNEIGH = 28, RTM_DELNEIGH = 29, RTM_GETNEIGH = 30;
    public const ushort RTM_NEWRULE = 32, RTM_DELRULE = 33;

    public const byte AF_UNSPEC = 0, AF_INET = 2, AF_BRIDGE = 7;
    public const uint IFF_UP = 1;

    // ifinfomsg attributes
    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10;
    public const ushort IFLA_LINKINFO = 18, IFLA_IFALIAS = 20, IFLA_NET_NS_FD = 28;
    public const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    public const ushort VETH_INFO_PEER = 1;
    public const ushort IFLA_MACVLAN_MODE = 1;
    public const uint MACVLAN_MODE_BRIDGE = 4;
    public const ushort IFLA_VXLAN_ID = 1, IFLA_VXLAN_LINK = 3, IFLA_VXLAN_LOCAL = 4, IFLA_VXLAN_LEARNING = 7;
    public const ushort IFLA_VXLAN_PROXY = 11, IFLA_VXLAN_PORT = 15, IFLA_VXLAN_UDP_CSUM = 18;

    // ifaddrmsg
    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_FLAGS = 8;
    public const uint IFA_F_NOPREFIXROUTE = 0x200;

    // rtmsg
    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PREFSRC = 7, RTA_TABLE = 15;
    public const byte RT_TABLE_MAIN = 254, RTPROT_STATIC = 4, RTPROT_KERNEL = 2, RTPROT_BOOT = 3;
    public const byte RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;
    public const uint RTNH_F_ONLINK = 4;

    // fib rules
    public const ushort FRA_PRIORITY = 6, FRA_FWMARK = 10, FRA_TABLE = 15, FRA_FWMASK = 16;
    public const byte FR_ACT_TO_TBL = 1;

    // ndmsg
    public const ushort NDA_DST = 1, NDA_LLADDR = 2;
    public const ushort NUD_PERMANENT = 0x80;
    public const byte NTF_SELF = 0x02;

    // ctnetlink
    public const ushort NFNL_SUBSYS_CTNETLINK = 1;
    public const ushort IPCTNL_MSG_CT_GET = 1, IPCTNL_MSG_CT_DELETE = 2;
    public const ushort CTA_TUPLE_ORIG = 1, CTA_TUPLE_REPLY = 2, CTA_ID = 12, CTA_ZONE = 18;
    public const ushort CTA_TUPLE_IP = 1, CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2;

    public const ushort NLA_F_NESTED = 0x8000, NLA_TYPE_MASK = 0x3fff;
}
