using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// What a service's spec means for the networks: which networks its tasks join (ids, as docker
/// stores them), the published ports it gets (an ingress port asked as 0 gets one of
/// 30000-32767, a port another service publishes is refused), and which networks need a VIP.
/// </summary>
public static class ServiceEndpoints
{
    /// <summary>docker's range for published ports the swarm picks.</summary>
    public const int FirstDynamicPort = 30000;
    public const int LastDynamicPort = 32767;

    /// <summary>
    /// Whether the service's tasks join the ingress network (and the service gets a VIP there): when
    /// it publishes a port in ingress mode, as swarmkit attaches ingress. A host-mode port needs no
    /// ingress: its node DNATs it to the task's address on the node's gateway bridge, as docker maps
    /// it on docker_gwbridge.
    /// </summary>
    public static bool PublishesIngress(EndpointSpec? endpoint) =>
        endpoint is not null && endpoint.Ports.Any(p => p.PublishMode == PublishMode.Ingress);

    /// <summary>
    /// The spec with each network target that names an existing network (name, id or unique id
    /// prefix) replaced by that network's id. Unknown targets stay as they are, for the spec's
    /// validation to report with the spec's other problems; the ingress network is refused, as docker
    /// refuses it: a service reaches it by publishing a port. A service that publishes a port while
    /// the swarm has no ingress network (an operator removed it to make one of their own) is refused,
    /// as docker refuses it, rather than created with ports that nothing would publish.
    /// </summary>
    public static (ServiceSpec Spec, CommandRejected? Rejected) ResolveNetworks(ServiceSpec spec, IReadOnlyCollection<NetworkObject> networks)
    {
        if (PublishesIngress(spec.Endpoint) && !networks.Any(n => n.Spec.Ingress))
        {
            var ports = string.Join(", ", spec.Endpoint!.Ports.Where(p => p.PublishMode == PublishMode.Ingress).Select(p =>
                (p.PublishedPort > 0 ? p.PublishedPort.ToString(CultureInfo.InvariantCulture) : "(any)") + ":" + Describe(p.TargetPort, p.Protocol)));
            return (spec, new CommandRejected(RejectCode.Conflict,
                $"Service {spec.Name} publishes {ports}, but the swarm has no ingress network, through which every port of the routing mesh is reached; " +
                "create one first (`protoswarm network create --driver overlay --ingress ingress`, with --subnet for an address range of your choice), publish in host mode (--publish mode=host,...), or leave --publish out."));
        }

        var attachments = spec.TaskTemplate.Networks;
        if (attachments.IsEmpty)
        {
            return (spec, null);
        }

        var resolved = ImmutableArray.CreateBuilder<NetworkAttachment>(attachments.Length);
        foreach (var attachment in attachments)
        {
            var target = attachment.Target;
            if (string.IsNullOrWhiteSpace(target) || PredefinedNetworks.IsLocal(target))
            {
                // bridge, host and none are kept by name: no network object stands for them (a network may not take their names).
                resolved.Add(attachment);
                continue;
            }

            var (network, rejected) = NetworkCommands.Resolve(networks, target);
            if (network is null)
            {
                if (rejected!.Code == RejectCode.Conflict)
                {
                    return (spec, rejected);
                }

                resolved.Add(attachment);
                continue;
            }

            if (network.Spec.Ingress)
            {
                return (spec, new CommandRejected(RejectCode.InvalidArgument,
                    $"The service spec is invalid:\n  Spec.TaskTemplate.Networks: service {spec.Name} cannot be attached to the ingress network {network.Spec.Name}; it joins it by publishing a port (--publish), so leave --network {target} out."));
            }

            resolved.Add(attachment with { Target = network.Id });
        }

        return (spec with { TaskTemplate = spec.TaskTemplate with { Networks = resolved.MoveToImmutable() } }, null);
    }

    /// <summary>
    /// The ports the swarm itself uses on its nodes, which no service may publish, with what each is:
    /// every node's swarm port (TCP: the node hosts' traffic, Raft and the managers' API, under mutual
    /// TLS), the overlays' VXLAN port (UDP) and the port of each node's plain registry listener
    /// (`protoswarmd --registry-listen`, as the node reports it: a manager serves it, a worker will
    /// once promoted). Published, a port is DNATed to a task for every address of the node, so it
    /// would take the swarm's own traffic (a node would no longer reach the managers, nor its peers'
    /// overlays; outside tools would reach a task instead of the registry) and could not be undone
    /// on a node cut off by it.
    /// </summary>
    public static Dictionary<(PortProtocol Protocol, int Port), string> SwarmPorts(IEnumerable<NodeObject> nodes, ClusterObject? cluster)
    {
        var reserved = new Dictionary<(PortProtocol, int), string>
        {
            [(PortProtocol.Udp, cluster?.EffectiveDataPathPort ?? NetworkView.DefaultDataPathPort)] = "the overlays' VXLAN port (`swarm init --data-path-port`)",
        };
        foreach (var node in nodes.OrderBy(n => n.Description.Hostname, StringComparer.Ordinal))
        {
            if (node.Member is { Port: > 0 } member)
            {
                reserved.TryAdd((PortProtocol.Tcp, member.Port), $"the swarm port of node {node.Description.Hostname} (its traffic with the other nodes)");
            }

            if (node.Description.RegistryPort > 0)
            {
                reserved.TryAdd((PortProtocol.Tcp, node.Description.RegistryPort),
                    $"the swarm registry's plain listener on node {node.Description.Hostname} (`protoswarmd --registry-listen`)");
            }
        }

        return reserved;
    }

    /// <summary>
    /// The service's ports as its endpoint keeps them: every ingress port published, those asked as
    /// 0 given the port they had before (same target and protocol) or the first free one of
    /// 30000-32767. Refused (a port published twice in the spec is the spec's validation's to refuse):
    /// a port the swarm uses itself (<paramref name="reserved"/>, in either mode); a port another
    /// service publishes in ingress mode, naming it, and, since an ingress port answers on
    /// every node, a port another service publishes in host mode when this one wants it in ingress
    /// mode or the other way round. Host-mode ports of two services may share a number: they are
    /// each node's own, checked where the tasks are placed.
    /// </summary>
    public static (ImmutableArray<PortConfig> Ports, CommandRejected? Rejected) AllocatePorts(
        ServiceSpec spec, ServiceEndpoint current, IEnumerable<ServiceObject> others, IReadOnlyDictionary<(PortProtocol Protocol, int Port), string>? reserved = null)
    {
        reserved ??= new Dictionary<(PortProtocol, int), string>();
        foreach (var port in spec.Endpoint.Ports.Where(p => p.PublishedPort > 0))
        {
            if (reserved.TryGetValue((port.Protocol, port.PublishedPort), out var what))
            {
                return ([], new CommandRejected(RejectCode.InvalidArgument,
                    $"Port {Describe(port.PublishedPort, port.Protocol)} cannot be published: it is {what}, which the swarm uses itself; publish another port (--publish PUBLISHED:{port.TargetPort.ToString(CultureInfo.InvariantCulture)})."));
            }
        }

        var taken = new Dictionary<(PortProtocol, int), string>();
        var takenInHostMode = new Dictionary<(PortProtocol, int), string>();
        foreach (var other in others.Where(o => o.Spec.Name != spec.Name))
        {
            foreach (var port in other.Endpoint.Ports.Concat(other.Spec.Endpoint.Ports).Where(p => p.PublishedPort > 0))
            {
                (port.PublishMode == PublishMode.Ingress ? taken : takenInHostMode).TryAdd((port.Protocol, port.PublishedPort), other.Spec.Name);
            }
        }

        var mine = new HashSet<(PortProtocol, int)>();
        foreach (var port in spec.Endpoint.Ports.Where(p => p.PublishedPort > 0))
        {
            var key = (port.Protocol, port.PublishedPort);
            var ingress = port.PublishMode == PublishMode.Ingress;
            if (taken.TryGetValue(key, out var owner))
            {
                return ([], new CommandRejected(RejectCode.Conflict,
                    $"Port {Describe(port.PublishedPort, port.Protocol)} is already published by service {owner}" +
                    (ingress ? "" : " on every node (routing mesh), so no node can publish it in host mode") +
                    $"; publish another port (--publish PUBLISHED:{port.TargetPort.ToString(CultureInfo.InvariantCulture)}), leave the published port out to get a free one, or unpublish it from {owner} first."));
            }

            if (ingress && takenInHostMode.TryGetValue(key, out owner))
            {
                return ([], new CommandRejected(RejectCode.Conflict,
                    $"Port {Describe(port.PublishedPort, port.Protocol)} is already published in host mode by service {owner}, on the nodes that run its tasks, and a port of the routing mesh is published on every node; " +
                    $"publish another port (--publish PUBLISHED:{port.TargetPort.ToString(CultureInfo.InvariantCulture)}), leave the published port out to get a free one, or unpublish it from {owner} first."));
            }

            mine.Add(key);
        }

        foreach (var (key, _) in reserved)
        {
            mine.Add(key);
        }

        foreach (var (key, _) in takenInHostMode)
        {
            mine.Add(key);
        }

        var ports = ImmutableArray.CreateBuilder<PortConfig>(spec.Endpoint.Ports.Length);
        foreach (var port in spec.Endpoint.Ports)
        {
            if (port.PublishMode != PublishMode.Ingress || port.PublishedPort > 0)
            {
                ports.Add(port);
                continue;
            }

            var previous = current.Ports.FirstOrDefault(p =>
                p.PublishMode == PublishMode.Ingress && p.TargetPort == port.TargetPort && p.Protocol == port.Protocol &&
                p.PublishedPort is >= FirstDynamicPort and <= LastDynamicPort &&
                !taken.ContainsKey((p.Protocol, p.PublishedPort)) && !mine.Contains((p.Protocol, p.PublishedPort)));
            var chosen = previous?.PublishedPort ?? FirstFree(port.Protocol, taken, mine);
            if (chosen == 0)
            {
                return ([], new CommandRejected(RejectCode.Conflict,
                    $"No published port is left in {FirstDynamicPort}-{LastDynamicPort} for target port {Describe(port.TargetPort, port.Protocol)}; publish it on a port of your choice (--publish PUBLISHED:{port.TargetPort.ToString(CultureInfo.InvariantCulture)})."));
            }

            mine.Add((port.Protocol, chosen));
            ports.Add(port with { PublishedPort = chosen });
        }

        return (ports.MoveToImmutable(), null);
    }

    /// <summary>
    /// The networks a service's tasks join, ingress first when it publishes a port in ingress mode
    /// (as swarmkit attaches it, for the routing mesh; not for host-mode ports), then its own networks
    /// by id (a target not found is left out).
    /// </summary>
    public static List<NetworkObject> NetworksOf(TaskSpec spec, EndpointSpec? endpoint, IReadOnlyDictionary<string, NetworkObject> byId, NetworkObject? ingress, out List<string> missing)
    {
        var networks = new List<NetworkObject>();
        missing = [];
        if (ingress is not null && PublishesIngress(endpoint))
        {
            networks.Add(ingress);
        }

        foreach (var attachment in PredefinedNetworks.Networks(spec.Networks))
        {
            // Targets are ids since services resolve them; a name is still looked for, for a spec stored before.
            var network = byId.GetValueOrDefault(attachment.Target) ?? byId.Values.FirstOrDefault(n => n.Spec.Name == attachment.Target);
            if (network is null)
            {
                missing.Add(attachment.Target);
            }
            else if (!networks.Contains(network))
            {
                networks.Add(network);
            }
        }

        return networks;
    }

    /// <summary>Whether a task of this spec needs addresses before it can be scheduled.</summary>
    public static bool NeedsAddresses(TaskSpec spec, EndpointSpec? endpoint) => PredefinedNetworks.Networks(spec.Networks).Any() || PublishesIngress(endpoint);

    /// <summary>Docker's `service ls` PORTS: "*:8080->80/tcp", host-mode ports as "8080->80/tcp" per node.</summary>
    public static string Describe(int port, PortProtocol protocol) =>
        string.Create(CultureInfo.InvariantCulture, $"{port}/{(protocol == PortProtocol.Udp ? "udp" : "tcp")}");

    private static int FirstFree(PortProtocol protocol, Dictionary<(PortProtocol, int), string> taken, HashSet<(PortProtocol, int)> mine)
    {
        for (var port = FirstDynamicPort; port <= LastDynamicPort; port++)
        {
            if (!taken.ContainsKey((protocol, port)) && !mine.Contains((protocol, port)))
            {
                return port;
            }
        }

        return 0;
    }
}
