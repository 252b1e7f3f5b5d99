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

/// <summary>The input of <see cref="ReturnRoutingRuleset"/>: the task's interface on the ingress network and the nodes' routes.</summary>
public sealed record ReturnRouting(string IngressInterface, ImmutableArray<IngressReturnRoute> Routes);

/// <summary>
/// In a task's namespace: remember which node a new ingress connection came through (ct mark from the
/// source MAC), and mark that connection's outgoing packets in a route-type output chain so policy
/// routing re-routes them to that node. The task sees the client's real address.
/// </summary>
public static class ReturnRoutingRuleset
{
    public const string Family = "ip";
    public const string Table = "protoswarm_return";

    public static string Build(ReturnRouting routing)
    {
        var text = NftText.ReplaceTable(Family, Table)
            .Append("    chain prerouting {\n")
            .Append("        type filter hook prerouting priority -150; policy accept;\n");
        var routes = routing.Routes.IsDefault ? [] : routing.Routes;
        if (routes.Length > 0)
        {
            var map = string.Join(", ", routes.Select(r => $"{r.NodeMac} : 0x{r.Mark:x8}"));
            text.Append($"        iifname \"{routing.IngressInterface}\" ct state new ct mark set ether saddr map {{ {map} }}\n");
        }

        // A route chain re-runs the routing decision when the mark changes, which is what sends the reply to the right node.
        return text.Append("    }\n")
            .Append("    chain output {\n")
            .Append("        type route hook output priority -150; policy accept;\n")
            .Append($"        ct mark & 0x{IngressReturnRoute.RangeMask:x8} == 0x{IngressReturnRoute.Base:x8} meta mark set ct mark\n")
            .Append("    }\n")
            .Append("}\n")
            .ToString();
    }

    public static string Delete() => NftText.DeleteTable(Family, Table);
}
