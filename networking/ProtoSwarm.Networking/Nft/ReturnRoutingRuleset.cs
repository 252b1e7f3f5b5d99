using System.Collections.Immutable;
using System.Net;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Nft;

/// <summary>
/// One node that may DNAT ingress connections into a task, and how the task's replies get back to it:
/// connections arriving from <see cref="NodeMac"/> (that node's end of the ingress network) carry
/// <see cref="Mark"/> in conntrack; their packets leaving the task carry it as the packet mark, and
/// the routing rules (made over netlink, not here) send them to that node:
/// <c>ip rule add fwmark Mark table Table</c> and <c>ip route add default via NodeAddress dev INGRESS table Table</c>.
/// The task's namespace needs loose reverse-path filtering on the ingress interface (rp_filter 2 or 0),
/// since the clients' addresses are not routed through it otherwise.
/// </summary>
public sealed record IngressReturnRoute(string NodeId, string NodeAddress, string NodeMac, uint Mark, uint Table)
{
    /// <summary>Marks and tables are this base with the low 16 bits of the node's ingress address: stable while the node lives, unique in a /16.</summary>
    public const uint Base = 0x5350_0000;

    /// <summary>The bits of a mark that say it is one of ours.</summary>
    public const uint RangeMask = 0xffff_0000;

    /// <summary>One route per node end on the ingress network (its endpoints without a task), ordered by address.</summary>
    public static ImmutableArray<IngressReturnRoute> Plan(NetworkView ingress) =>
    [
        .. ingress.Endpoints
            .Where(e => e.TaskId.Length == 0)
            .Select(e => (Endpoint: e, Address: NftText.Address(e.Address)))
            .Where(x => x.Address is not null)
            .OrderBy(x => (uint)IPAddress.NetworkToHostOrder(BitConverter.ToInt32(x.Address!.GetAddressBytes())))
            .Select(x =>
            {
                var bytes = x.Address!.GetAddressBytes();
                var id = Base | (uint)(bytes[2] << 8 | bytes[3]);
                return new IngressReturnRoute(x.Endpoint.NodeId, x.Address.ToString(), NetworkEndpoint.MacOf(x.Endpoint.Address), id, id);
            }),
    ];
}

/// <summary>
/// The input of <see cref="ReturnRoutingRuleset"/>: the task's interface on the ingress network and the nodes' routes,
/// and for UDP the task's address there and on the gateway bridge (none: UDP's return is not set up).
/// </summary>
public sealed record ReturnRouting(
    string IngressInterface,
    ImmutableArray<IngressReturnRoute> Routes,
    IPAddress? IngressAddress = null,
    IPAddress? GatewayAddress = null);

/// <summary>
/// In a task's namespace: remember which node a new ingress connection came through (ct mark from the
/// source MAC), and mark that connection's outgoing packets in a route-type output chain so policy
/// routing re-routes them to that node. The task sees the client's real address.
/// UDP needs one more step each way, since a UDP server answers from the source its routing picks for
/// the client (the gateway address, by the default route), not from the address the datagram came to:
/// datagrams arriving on the ingress interface for the task's ingress address are addressed to its
/// gateway address before conntrack sees them (stateless, in a raw-priority chain), so the server's
/// answers match their connection, and those answers leave from the ingress address again. The node's
/// conntrack then sees the reply it expects. (Without it iperf3's UDP test through the mesh hung.)
/// </summary>
public static class ReturnRoutingRuleset
{
    public const string Family = "ip";
    public const string Table = "protoswarm_return";

    public static string Build(ReturnRouting routing)
    {
        var udp = routing.IngressAddress is not null && routing.GatewayAddress is not null;
        var text = NftText.ReplaceTable(Family, Table);
        if (udp)
        {
            text.Append("    chain prerouting_raw {\n")
                .Append("        type filter hook prerouting priority -300; policy accept;\n")
                .Append($"        iifname \"{routing.IngressInterface}\" meta l4proto udp ip daddr {routing.IngressAddress} ip daddr set {routing.GatewayAddress}\n")
                .Append("    }\n");
        }

        text.Append("    chain prerouting {\n")
            .Append("        type filter hook prerouting priority -150; policy accept;\n");
        var routes = routing.Routes.IsDefault ? [] : routing.Routes;
        if (routes.Length > 0)
        {
            var map = string.Join(", ", routes.Select(r => $"{r.NodeMac} : 0x{r.Mark:x8}"));
            text.Append($"        iifname \"{routing.IngressInterface}\" ct state new ct mark set ether saddr map {{ {map} }}\n");
        }

        // A route chain re-runs the routing decision when the mark changes, which is what sends the reply to the right node.
        text.Append("    }\n")
            .Append("    chain output {\n")
            .Append("        type route hook output priority -150; policy accept;\n");
        if (udp)
        {
            text.Append($"        meta l4proto udp ct direction reply ct mark & 0x{IngressReturnRoute.RangeMask:x8} == 0x{IngressReturnRoute.Base:x8} ip saddr set {routing.IngressAddress}\n");
        }

        return text.Append($"        ct mark & 0x{IngressReturnRoute.RangeMask:x8} == 0x{IngressReturnRoute.Base:x8} meta mark set ct mark\n")
            .Append("    }\n")
            .Append("}\n")
            .ToString();
    }

    public static string Delete() => NftText.DeleteTable(Family, Table);
}
