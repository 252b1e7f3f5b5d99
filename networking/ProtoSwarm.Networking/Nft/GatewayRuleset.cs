using System.Net;
using System.Text;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Networking.Nft;

/// <summary>
/// The node's own table for what tasks send through it. Egress: what a task sends from the gateway
/// bridge's subnet (<see cref="GatewayBridge"/>) to anywhere but that bridge leaves with the node's
/// address (masquerade), as docker_gwbridge's does. Isolation: the node routes nothing from one of
/// the tasks' interfaces (the gateway bridge, ingress's bridge, any overlay's gateway veth
/// <c>pg-*</c>) to another, so a task reaches another network only by being on it, and another task
/// over the gateway bridge not at all; connections the routing mesh or a host-mode port DNATed are
/// let through first (a task may reach a published port through its node like any client). Nothing that
/// arrives on those interfaces for 127/8 gets in (they have route_localnet on, <see cref="NeedsRouteLocalnet"/>).
/// </summary>
public static class GatewayRuleset
{
    public const string Family = "ip";
    public const string Table = "protoswarm_gateway";

    /// <param name="subnet">The gateway bridge's subnet; null while the node has none (isolation only).</param>
    /// <param name="ingressBridge">The ingress network's bridge on this node; null while it has none.</param>
    public static string Build(IPNetwork? subnet, string? ingressBridge)
    {
        // Ingress to ingress is left alone: with bridge netfilter on (the kernel's default, and the node's
        // namespace is the host's), frames that ingress's bridge switches between its ports (tasks, the
        // VXLAN) pass this hook as ingress to ingress.
        string[] tasks = [GatewayBridge.Name, OverlayNames.GatewayPrefix + "*"];
        var text = NftText.ReplaceTable(Family, Table)
            // The tasks' interfaces have route_localnet on (RouteLocalnetInterfaces), so that the node's own 127.0.0.1
            // reaches published ports; what arrives on them for 127/8 would then reach the node's loopback services.
            .Append("    chain prerouting {\n")
            .Append("        type filter hook prerouting priority -300; policy accept;\n")
            .Append("        iifname ").Append(Set(ingressBridge is null ? tasks : [.. tasks, ingressBridge])).Append(" ip daddr 127.0.0.0/8 drop\n")
            .Append("    }\n")
            .Append("    chain forward {\n")
            .Append("        type filter hook forward priority 0; policy accept;\n")
            .Append("        ct status dnat accept\n")
            .Append("        iifname ").Append(Set(ingressBridge is null ? tasks : [.. tasks, ingressBridge]))
            .Append(" oifname ").Append(Set(tasks)).Append(" drop\n");
        if (ingressBridge is not null)
        {
            text.Append("        iifname ").Append(Set(tasks)).Append(" oifname \"").Append(ingressBridge).Append("\" drop\n");
        }

        text.Append("    }\n");
        if (subnet is { } s)
        {
            text.Append("    chain postrouting {\n")
                .Append("        type nat hook postrouting priority 100; policy accept;\n")
                .Append("        ip saddr ").Append(s).Append(" oifname != \"").Append(GatewayBridge.Name).Append("\" masquerade\n")
                .Append("    }\n");
        }

        return text.Append("}\n").ToString();
    }

    /// <summary>
    /// The interfaces a connection from the node's 127.0.0.1 to a published port leaves by (toward a task) and its
    /// reply comes in by: the kernel refuses a loopback source or destination on any other interface unless its
    /// route_localnet is on. Docker turns it on for docker_gwbridge; here the gateway bridge, ingress's bridge and the
    /// overlays' gateways (a task on internal networks only is reached there), each guarded by <see cref="Build"/>.
    /// </summary>
    public static bool NeedsRouteLocalnet(string interfaceName, string? ingressBridge) =>
        interfaceName == GatewayBridge.Name || interfaceName == ingressBridge || interfaceName.StartsWith(OverlayNames.GatewayPrefix, StringComparison.Ordinal);

    private static string Set(IEnumerable<string> names) => "{ " + string.Join(", ", names.Select(n => $"\"{n}\"")) + " }";

    public static string Delete() => NftText.DeleteTable(Family, Table);
}
