using System.Collections.Immutable;
using System.Net;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Nft;

/// <summary>A host-mode published port of a task on this node: the node's port goes straight to that task.</summary>
public sealed record HostPortBinding(int PublishedPort, int TargetPort, PortProtocol Protocol, string TaskAddress)
{
    /// <summary>
    /// The host-mode ports of the ready tasks on <paramref name="nodeId"/>, each to the task's address on
    /// the first network it is on, ingress last. A fixed port goes to the service's first ready task
    /// here; a port published as 0 is bound for every ready task on the port its node picked for it,
    /// as the task's endpoint carries it (<see cref="NetworkEndpoint.HostPorts"/>; none reported yet:
    /// not bound yet). A port asked twice on one node keeps the first task.
    /// </summary>
    public static ImmutableArray<HostPortBinding> ForNode(ImmutableArray<NetworkView> views, string nodeId)
    {
        var bindings = new List<HostPortBinding>();
        var taken = new HashSet<(int, PortProtocol)>();
        // A task on an overlay of its own is reached there; one that publishes only host-mode ports is on ingress alone.
        foreach (var view in (views.IsDefault ? [] : views).OrderBy(v => v.Ingress))
        {
            foreach (var service in view.Services)
            {
                var tasks = view.Endpoints
                    .Where(e => e.Ready && e.NodeId == nodeId && e.TaskId.Length > 0 && e.ServiceId == service.ServiceId)
                    .OrderBy(e => e.TaskName, StringComparer.Ordinal);
                foreach (var port in service.Ports.Where(p => p.PublishMode == PublishMode.Host))
                {
                    if (port.PublishedPort > 0)
                    {
                        if (tasks.FirstOrDefault() is { } task && NftText.Address(task.Address) is { } address && taken.Add((port.PublishedPort, port.Protocol)))
                        {
                            bindings.Add(new HostPortBinding(port.PublishedPort, port.TargetPort, port.Protocol, address.ToString()));
                        }

                        continue;
                    }

                    foreach (var task in tasks)
                    {
                        // A task is bound once, on its first network: on the next its port is taken.
                        if (task.HostPorts.FirstOrDefault(p => p.PublishMode == PublishMode.Host && p.TargetPort == port.TargetPort && p.Protocol == port.Protocol && p.PublishedPort > 0) is { } picked &&
                            NftText.Address(task.Address) is { } address && taken.Add((picked.PublishedPort, port.Protocol)))
                        {
                            bindings.Add(new HostPortBinding(picked.PublishedPort, port.TargetPort, port.Protocol, address.ToString()));
                        }
                    }
                }
            }
        }

        return [.. bindings];
    }
}

/// <summary>
/// The routing mesh in a node's own namespace. A connection to any local address of the node on an
/// ingress-published port is DNATed (prerouting for clients elsewhere, output for connections made on
/// the node itself) to the ready tasks' ingress addresses in turn, with the target port; a host-mode
/// port to its one task on this node. No masquerade: the task sees the client's address, and the
/// return routing in the task (<see cref="ReturnRoutingRuleset"/>, UDP included) sends replies back
/// through the node that made the DNAT, where conntrack undoes it. Host-mode UDP ports reached on an
/// overlay address are the one exception, masqueraded as docker masquerades all of its mesh: the
/// task's return routing is only on its ingress interface, and a UDP server answers from the source
/// its routing picks (its gateway address), which no conntrack entry would match; from the node's own
/// address it answers on-link, from the right one. (Masqueraded on the ingress address too, the
/// task would answer on-link from that address, which its return routing has just readdressed.) A
/// forward rule accepts the DNATed connections.
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
        var masqueraded = new List<int>();
        var ingressAddresses = (ingress?.Endpoints ?? []).Select(e => NftText.Address(e.Address)?.ToString()).OfType<string>().ToHashSet(StringComparer.Ordinal);
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
                if (binding.Protocol == PortProtocol.Udp && !ingressAddresses.Contains(binding.TaskAddress))
                {
                    masqueraded.Add(binding.PublishedPort);
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

        // Loopback destinations are left alone: DNAT from 127/8 to another host needs route_localnet.
        text.Append("    }\n")
            .Append("    chain output {\n")
            .Append("        type nat hook output priority -100; policy accept;\n");
        foreach (var line in lines)
        {
            text.Append("        fib daddr type local ip daddr != 127.0.0.0/8 ").Append(line).Append('\n');
        }

        text.Append("    }\n")
            .Append("    chain postrouting {\n")
            .Append("        type nat hook postrouting priority 100; policy accept;\n");
        if (masqueraded.Count > 0)
        {
            // Only the connections these rules DNATed: the node's namespace may be the host's, with NAT of its own.
            var ports = string.Join(", ", masqueraded.Order());
            text.Append($"        meta l4proto udp ct status dnat ct original proto-dst {{ {ports} }} masquerade\n");
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

    private static string Match(PortProtocol protocol, int port) =>
        $"{(protocol == PortProtocol.Udp ? "udp" : "tcp")} dport {port}";
}
