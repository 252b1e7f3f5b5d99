using System.Collections.Immutable;
using System.Net;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Nft;

/// <summary>
/// A task attached on this node, as its host-mode ports need it: the ports the node holds for it (one
/// published as 0 with the port picked here), its address on the node's gateway bridge, and, for a task
/// with no interface there (one on internal networks only), its address on its first network.
/// </summary>
public sealed record TaskHostPorts(string TaskId, ImmutableArray<PortConfig> Ports, string? GatewayAddress, string? NetworkAddress = null);

/// <summary>
/// A host-mode published port of a task on this node: the node's port goes straight to that task.
/// Masquerade: the task has no gateway bridge interface, so no route back to the client; the node
/// answers for it (its address on the task's network is on-link there).
/// </summary>
public sealed record HostPortBinding(int PublishedPort, int TargetPort, PortProtocol Protocol, string TaskAddress, bool Masquerade = false)
{
    /// <summary>
    /// The host-mode ports of the tasks attached on this node, each to the task's address on the
    /// gateway bridge, as docker maps a host-mode port to the container's address on docker_gwbridge:
    /// the task's default route is there, so its replies (TCP and UDP alike, from the address the
    /// client reached) come back through this node, which undoes the DNAT, and the task sees the
    /// client's address. A task without that interface (internal networks only) is reached on its
    /// first network, masqueraded. A port asked twice on one node keeps the first task (by id); the
    /// scheduler places no two such tasks on one node.
    /// </summary>
    public static ImmutableArray<HostPortBinding> ForNode(IEnumerable<TaskHostPorts> tasks)
    {
        var bindings = new List<HostPortBinding>();
        var taken = new HashSet<(int, PortProtocol)>();
        foreach (var task in tasks.OrderBy(t => t.TaskId, StringComparer.Ordinal))
        {
            var masquerade = task.GatewayAddress is null;
            if (NftText.Address(task.GatewayAddress ?? task.NetworkAddress ?? "") is not { } address)
            {
                continue;
            }

            foreach (var port in task.Ports.Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0))
            {
                if (taken.Add((port.PublishedPort, port.Protocol)))
                {
                    bindings.Add(new HostPortBinding(port.PublishedPort, port.TargetPort, port.Protocol, address.ToString(), masquerade));
                }
            }
        }

        return [.. bindings];
    }
}

/// <summary>
/// The routing mesh in a node's own namespace. A connection to any local address of the node on an
/// ingress-published port is DNATed (prerouting for clients elsewhere, output for connections made on
/// the node itself, 127.0.0.1 included) to the ready tasks' ingress addresses in turn, with the target port; a host-mode
/// port to its one task on this node. No masquerade but for the node's own loopback (whose address a task could not
/// answer): the task sees the client's address, and the
/// return routing in the task (<see cref="ReturnRoutingRuleset"/>, UDP included) sends replies back
/// through the node that made the DNAT, where conntrack undoes it. A host-mode port goes to the
/// task's gateway bridge address, where its default route is: no masquerade either. The one
/// exception is a task with no gateway bridge interface (internal networks only), reached on its
/// first network with no route back to the client: those ports are masqueraded, so it answers the
/// node on-link. A forward rule accepts the DNATed connections.
/// </summary>
public static class IngressRuleset
{
    public const string Family = "ip";
    public const string Table = "protoswarm_ingress";

    /// <param name="ingress">The ingress network's view, or null when the node has none yet.</param>
    /// <param name="hostPorts">The host-mode ports of this node's tasks.</param>
    /// <param name="origin">The node the rules are for: where its turn over each port's backends starts (<see cref="NftText.RoundRobin"/>).</param>
    public static string Build(NetworkView? ingress, ImmutableArray<HostPortBinding> hostPorts, string origin)
    {
        var rules = new StringBuilder();
        var masqueraded = new List<HostPortBinding>();
        var taken = new HashSet<(int, PortProtocol)>();
        foreach (var service in ingress?.Services ?? [])
        {
            var backends = NftText.Sorted(ingress!.Endpoints
                    .Where(e => e.Ready && e.TaskId.Length > 0 && e.ServiceId == service.ServiceId)
                    .Select(e => NftText.Address(e.Address))
                    .OfType<IPAddress>())
                .ToList();
            foreach (var port in service.Ports.Where(p => p.PublishMode == PublishMode.Ingress && p.PublishedPort > 0))
            {
                if (backends.Count == 0 || !taken.Add((port.PublishedPort, port.Protocol)))
                {
                    continue;
                }

                var target = backends.Count == 1
                    ? $"{backends[0]}:{port.TargetPort}"
                    : NftText.RoundRobin([.. backends.Select(b => $"{b} . {port.TargetPort}")], origin);
                rules.Append($"{Match(port.Protocol, port.PublishedPort)} dnat ip to {target}\n");
            }
        }

        foreach (var binding in hostPorts.IsDefault ? [] : hostPorts)
        {
            if (taken.Add((binding.PublishedPort, binding.Protocol)))
            {
                rules.Append($"{Match(binding.Protocol, binding.PublishedPort)} dnat ip to {binding.TaskAddress}:{binding.TargetPort}\n");
                if (binding.Masquerade)
                {
                    masqueraded.Add(binding);
                }
            }
        }

        var lines = rules.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var text = NftText.ReplaceTable(Family, Table);
        text.Append("    chain prerouting {\n")
            .Append("        type nat hook prerouting priority -100; policy accept;\n");
        foreach (var line in lines)
        {
            text.Append("        fib daddr type local ").Append(line).Append('\n');
        }

        // The node's own connections, 127.0.0.1:PORT included as docker's mesh answers it: the node host lets such a
        // connection leave loopback toward the task (route_localnet on the tasks' interfaces, see GatewayRuleset's guard).
        text.Append("    }\n")
            .Append("    chain output {\n")
            .Append("        type nat hook output priority -100; policy accept;\n");
        foreach (var line in lines)
        {
            text.Append("        fib daddr type local ").Append(line).Append('\n');
        }

        text.Append("    }\n")
            .Append("    chain postrouting {\n")
            .Append("        type nat hook postrouting priority 100; policy accept;\n")
            // A connection from the node's loopback has a source no task can answer: it leaves with the node's address
            // on the way out, as docker masquerades local sources onto docker_gwbridge. Every other client keeps its own.
            .Append("        ip saddr 127.0.0.0/8 ct status dnat masquerade\n");
        foreach (var protocol in masqueraded.Select(b => b.Protocol).Distinct().Order())
        {
            // Only the connections these rules DNATed: the node's namespace may be the host's, with NAT of its own.
            var ports = string.Join(", ", masqueraded.Where(b => b.Protocol == protocol).Select(b => b.PublishedPort).Order());
            text.Append($"        meta l4proto {Name(protocol)} ct status dnat ct original proto-dst {{ {ports} }} masquerade\n");
        }

        return text.Append("    }\n")
            .Append("    chain forward {\n")
            .Append("        type filter hook forward priority 0; policy accept;\n")
            .Append("        ct status dnat accept\n")
            .Append("    }\n")
            .Append("}\n")
            .ToString();
    }

    public static string Delete() => NftText.DeleteTable(Family, Table);

    private static string Match(PortProtocol protocol, int port) => $"{Name(protocol)} dport {port}";

    private static string Name(PortProtocol protocol) => protocol == PortProtocol.Udp ? "udp" : "tcp";
}
