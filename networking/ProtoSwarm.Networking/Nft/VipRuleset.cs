using System.Collections.Immutable;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Nft;

/// <summary>
/// The VIPs of a task's namespace: for each vip-mode service on the task's networks (not ingress), new
/// connections to the VIP are DNATed in the nat output chain to the service's ready tasks in turn
/// (address only: every port of the VIP balances, and the task's own address stays the source).
/// A VIP with no ready task is rejected (TCP reset, ICMP port unreachable) instead of hanging.
/// Applying the text replaces the whole table in one transaction.
/// </summary>
public static class VipRuleset
{
    public const string Family = "ip";
    public const string Table = "protoswarm_vip";

    /// <param name="views">The networks the task is on.</param>
    /// <param name="origin">The task the rules are for: where its turn over each VIP's backends starts (<see cref="NftText.RoundRobin"/>).</param>
    public static string Build(ImmutableArray<NetworkView> views, string origin)
    {
        var balanced = new StringBuilder();
        var rejected = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var view in views.IsDefault ? [] : views)
        {
            if (view.Ingress)
            {
                continue;
            }

            foreach (var service in view.Services.Where(s => s.Mode == EndpointMode.Vip))
            {
                if (NftText.Address(service.Vip) is not { } vip || !seen.Add(vip.ToString()))
                {
                    continue;
                }

                var backends = NftText.Sorted(view.Endpoints
                        .Where(e => e.Ready && e.TaskId.Length > 0 && e.ServiceId == service.ServiceId)
                        .Select(e => NftText.Address(e.Address))
                        .OfType<System.Net.IPAddress>())
                    .Select(a => a.ToString())
                    .ToList();
                if (backends.Count == 0)
                {
                    rejected.Append($"        ip daddr {vip} meta l4proto tcp reject with tcp reset\n");
                    rejected.Append($"        ip daddr {vip} reject with icmp type port-unreachable\n");
                }
                else
                {
                    balanced.Append($"        ip daddr {vip} dnat to {NftText.RoundRobin(backends, origin)}\n");
                }
            }
        }

        // dstnat is refused by some nft versions in an output chain; -100 is its number.
        return NftText.ReplaceTable(Family, Table)
            .Append("    chain output {\n")
            .Append("        type nat hook output priority -100; policy accept;\n")
            .Append(balanced)
            .Append("    }\n")
            // After the nat chain has DNATed: only VIPs without a backend still carry their VIP here.
            .Append("    chain reject_empty {\n")
            .Append("        type filter hook output priority 0; policy accept;\n")
            .Append(rejected)
            .Append("    }\n")
            .Append("}\n")
            .ToString();
    }

    /// <summary>Removes the table (nothing happens when there is none).</summary>
    public static string Delete() => NftText.DeleteTable(Family, Table);
}
