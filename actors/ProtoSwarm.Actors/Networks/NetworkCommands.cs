using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The managers' decisions on `network create / rm`, apart from the actor that reads the store and
/// proposes: the spec's checks (a list of small ones, each saying what, where and how to fix), the
/// subnet, gateway and VXLAN id a new network gets (its --ip-range and --aux-address checked against
/// the subnet and kept in its spec for the allocator), and whether a network may go.
/// </summary>
public static partial class NetworkCommands
{
    /// <summary>Where subnets come from when `--subnet` is left out: /24s of 10.0.0.0/8, docker's default pool.</summary>
    public static readonly Ipv4Subnet DefaultPool = new(10u << 24, 8);

    public const int DefaultPoolPrefix = 24;

    /// <summary>docker's VXLAN ids for overlays: 4096 up to 2^24 - 1 (lower ones are left to other uses).</summary>
    public const uint FirstVni = 4096;
    public const uint LastVni = (1u << 24) - 1;

    /// <summary>The MTUs an overlay accepts through `-o com.docker.network.driver.mtu=N`.</summary>
    public const int MinimumMtu = 576;
    public const int MaximumMtu = 9000;

    /// <summary>docker's ingress subnet: swarm init makes it 10.0.0.0/24.</summary>
    public const string IngressSubnet = "10.0.0.0/24";

    // swarmkit's rule for object names: a DNS label of letters and digits, '-' and '_' inside.
    [GeneratedRegex("^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NetworkName();

    /// <summary>Why a name cannot name a network, or null when it can.</summary>
    public static string? NameProblem(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "the network has no name; give one as the last argument: network create NAME";
        }

        if (name.Length > 63 || !NetworkName().IsMatch(name))
        {
            return $"'{name}' is not a valid network name; use 1 to 63 letters, digits, '-' and '_', starting and ending with a letter or digit";
        }

        return PredefinedNetworks.Names.Contains(name)
            ? $"{name} is a pre-defined network and cannot be created (every node has its own {name} network); choose another name"
            : null;
    }

    /// <summary>
    /// `network create`: the network to store (subnet, gateway and VXLAN id allocated), or the refusal
    /// naming every problem of the spec and its fix. The subnet holds no address of
    /// <paramref name="nodes"/> (their advertise and data addresses): a node's gateway route to
    /// such a subnet would take its own traffic into the overlay and cut it off from the swarm.
    /// </summary>
    public static (NetworkObject? Created, CommandRejected? Rejected) Create(
        NetworkSpec spec, IReadOnlyCollection<NetworkObject> existing, string id, DateTimeOffset now, IReadOnlyCollection<NodeObject>? nodes = null)
    {
        var problems = new List<string>();
        if (NameProblem(spec.Name) is { } nameProblem)
        {
            problems.Add($"name: {nameProblem}.");
        }

        var driver = spec.Driver.Length == 0 ? NetworkSpec.OverlayDriver : spec.Driver;
        if (driver != NetworkSpec.OverlayDriver)
        {
            problems.Add($"--driver: '{spec.Driver}' is not a driver swarm networks can use; leave --driver out or pass --driver overlay.");
        }

        if (spec.Ingress && spec.Attachable)
        {
            problems.Add("--attachable: the ingress network cannot be attachable; leave --attachable out.");
        }

        if (spec.Options.TryGetValue(NetworkSpec.MtuOption, out var mtuText) && MtuProblem(mtuText) is { } mtuProblem)
        {
            problems.Add($"--opt {NetworkSpec.MtuOption}: {mtuProblem}.");
        }

        // Here too, not only in the CLI, so a client library or a stack's driver_opts gets the same answer.
        problems.AddRange(spec.Options.Keys.Select(k => NetworkSpec.OptionProblem(k) is { } problem ? $"--opt {k}: {problem}." : null).OfType<string>());

        var (subnet, gateway, addressProblem) = ChooseSubnet(spec, existing, NodeAddresses(nodes ?? []));
        if (addressProblem is not null)
        {
            problems.Add(addressProblem);
        }
        else
        {
            problems.AddRange(AuxiliaryProblems(spec, subnet!.Value, gateway));
        }

        if (problems.Count > 0)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, Invalid(spec.Name, problems)));
        }

        if (existing.FirstOrDefault(n => n.Spec.Name == spec.Name) is { } clash)
        {
            return (null, new CommandRejected(RejectCode.Conflict,
                $"A network named {spec.Name} already exists ({clash.Id}); choose another name, or use it as it is (`protoswarm network inspect {spec.Name}`)."));
        }

        if (spec.Ingress && existing.FirstOrDefault(n => n.Spec.Ingress) is { } ingress)
        {
            return (null, new CommandRejected(RejectCode.Conflict,
                $"The swarm already has an ingress network, {ingress.Spec.Name} ({ingress.Id}); a swarm has one. Remove it first (`protoswarm network rm {ingress.Spec.Name}`, once no service publishes a port)."));
        }

        if (NextVni(existing) is not { } vni)
        {
            return (null, new CommandRejected(RejectCode.Conflict,
                $"Every VXLAN id from {FirstVni} to {LastVni} is in use; remove networks that are no longer needed (`protoswarm network ls`)."));
        }

        var stored = spec with { Driver = driver };
        return (new NetworkObject(id, ObjectMeta.New(now), stored, subnet!.Value.ToString(), Ipv4Subnet.Format(gateway), vni), null);
    }

    /// <summary>The swarm's ingress network as swarm init makes it: 10.0.0.0/24 (or the first free /24 when that is taken), flagged Ingress.</summary>
    public static NetworkObject? NewIngress(IReadOnlyCollection<NetworkObject> existing, string id, DateTimeOffset now)
    {
        Ipv4Subnet.TryParse(IngressSubnet, out var preferred);
        var taken = existing.Any(n => Ipv4Subnet.TryParse(n.Subnet, out var s) is null && s.Overlaps(preferred));
        var spec = new NetworkSpec(NetworkObject.IngressName, Subnet: taken ? string.Empty : IngressSubnet, Ingress: true);
        return Create(spec, existing, id, now).Created;
    }

    /// <summary>A network named by full id, exact name, or a unique id prefix, as docker resolves them.</summary>
    public static (NetworkObject? Network, CommandRejected? Rejected) Resolve(IEnumerable<NetworkObject> networks, string networkRef)
    {
        var all = networks.ToList();
        if (string.IsNullOrWhiteSpace(networkRef))
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "No network was named; give a network id, id prefix or name (see `protoswarm network ls`)."));
        }

        if (all.FirstOrDefault(n => n.Id == networkRef) is { } exact)
        {
            return (exact, null);
        }

        if (all.FirstOrDefault(n => n.Spec.Name == networkRef) is { } named)
        {
            return (named, null);
        }

        var byPrefix = all.Where(n => n.Id.StartsWith(networkRef, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => (byPrefix[0], null),
            0 => (null, new CommandRejected(RejectCode.NotFound, $"No such network: {networkRef}. See `protoswarm network ls` for the swarm's networks.")),
            _ => (null, new CommandRejected(RejectCode.Conflict, $"Network reference {networkRef} is ambiguous: {byPrefix.Count} network ids start with it; give more of the id or the name.")),
        };
    }

    /// <summary>
    /// Why the network cannot be removed now, or null when it can: a service attached to it, a task
    /// still holding an address on it (named, so the user knows what to remove or wait for); the
    /// ingress network while a service publishes a port through the routing mesh.
    /// </summary>
    /// <param name="hostnames">The nodes' hostnames by id, to name where a standalone container is attached (its id when not given).</param>
    public static CommandRejected? RemovalProblem(NetworkObject network, IReadOnlyCollection<ServiceObject> services, IEnumerable<TaskObject> tasks,
        IReadOnlyDictionary<string, string>? hostnames = null)
    {
        var name = network.Spec.Name;
        if (network.Spec.Ingress)
        {
            var publishing = services.Where(s => ServiceEndpoints.PublishesIngress(s.Spec.Endpoint)).Select(s => s.Spec.Name).Order(StringComparer.Ordinal).ToList();
            if (publishing.Count > 0)
            {
                return new CommandRejected(RejectCode.Conflict,
                    $"The ingress network {name} carries the ports published by service(s) {List(publishing)}; remove those services or their published ports (`protoswarm service update --publish-rm PORT SERVICE`) first.");
            }
        }

        var attached = services.Where(s => AttachedTo(s, network)).Select(s => s.Spec.Name).Order(StringComparer.Ordinal).ToList();
        if (attached.Count > 0)
        {
            return new CommandRejected(RejectCode.Conflict,
                $"Network {name} is in use by service(s) {List(attached)}; remove them (`protoswarm service rm`) or detach them (`protoswarm service update --network-rm {name} SERVICE`) first.");
        }

        var all = tasks.ToList();
        var containers = all.Where(t => NetworkAttachments.IsAttachment(t) && HoldsAddressOn(t, network)).ToList();
        if (containers.Count > 0)
        {
            return new CommandRejected(RejectCode.Conflict,
                $"error while removing network: network {name} id {network.Id} has active endpoints: standalone container(s) {List([.. containers.Select(t => t.Status.ContainerId).Order(StringComparer.Ordinal)])} " +
                $"(on node(s) {List([.. containers.Select(t => hostnames?.GetValueOrDefault(t.NodeId) is { Length: > 0 } host ? host : t.NodeId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)])}); remove them (`protoswarm rm -f CONTAINER` on their node) first.");
        }

        var holding = all.Where(t => HoldsAddressOn(t, network)).Select(t => t.Id).Order(StringComparer.Ordinal).ToList();
        if (holding.Count > 0)
        {
            return new CommandRejected(RejectCode.Conflict,
                $"Network {name} still has {holding.Count} task(s) with an address on it ({List(holding)}); wait until they have stopped (`protoswarm service ps`), then try again.");
        }

        return null;
    }

    /// <summary>
    /// Whether a service or a task uses the network: a service attached to it (by id or name), or a task still holding an
    /// address on it, what `network rm` refuses for. Not dangling, in `network ls --filter dangling=` terms.
    /// </summary>
    public static bool InUse(NetworkObject network, IEnumerable<ServiceObject> services, IEnumerable<TaskObject> tasks) =>
        services.Any(s => AttachedTo(s, network)) || tasks.Any(t => HoldsAddressOn(t, network));

    private static bool AttachedTo(ServiceObject service, NetworkObject network) =>
        service.Spec.TaskTemplate.Networks.Any(a => a.Target == network.Id || a.Target == network.Spec.Name);

    private static bool HoldsAddressOn(TaskObject task, NetworkObject network) =>
        NetworkAllocator.HoldsAddresses(task) && task.Networks.Any(a => a.NetworkId == network.Id);

    /// <summary>The network's MTU from its options, 0 when it has none (the node then uses its own).</summary>
    public static int MtuOf(NetworkSpec spec) =>
        spec.Options.TryGetValue(NetworkSpec.MtuOption, out var text) && MtuProblem(text) is null
            ? int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture)
            : 0;

    private static string? MtuProblem(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mtu) && mtu is >= MinimumMtu and <= MaximumMtu
            ? null
            : $"'{text}' is not an MTU; give a number from {MinimumMtu} to {MaximumMtu}, such as 1450";

    /// <summary>The IPv4 addresses nodes are reached on (advertise, data, member), each with its node.</summary>
    private static List<(NodeObject Node, uint Address)> NodeAddresses(IEnumerable<NodeObject> nodes)
    {
        static string HostOf(string address)
        {
            var colon = address.LastIndexOf(':');
            return colon > 0 && address.IndexOf(':', StringComparison.Ordinal) == colon ? address[..colon] : address;
        }

        var found = new List<(NodeObject, uint)>();
        foreach (var node in nodes)
        {
            foreach (var text in new[] { node.Status?.Addr, node.ManagerStatus?.Addr, node.Member?.Host })
            {
                if (!string.IsNullOrEmpty(text) && Ipv4Subnet.TryParseAddress(HostOf(text), out var address) && !found.Contains((node, address)))
                {
                    found.Add((node, address));
                }
            }
        }

        return found;
    }

    private static (Ipv4Subnet? Subnet, uint Gateway, string? Problem) ChooseSubnet(NetworkSpec spec, IReadOnlyCollection<NetworkObject> existing, List<(NodeObject Node, uint Address)> nodes)
    {
        var others = existing.Select(n => (Network: n, Ok: Ipv4Subnet.TryParse(n.Subnet, out var s) is null, Subnet: s)).Where(x => x.Ok).ToList();
        if (spec.Subnet.Length == 0)
        {
            if (spec.Gateway.Length > 0)
            {
                return (null, 0, $"--gateway: {spec.Gateway} needs the subnet it belongs to; give --subnet as well.");
            }

            // docker's CLI refuses these two alike, with these words.
            if (spec.IpRange.Length > 0)
            {
                return (null, 0, $"--ip-range: every ip-range or gateway must have a corresponding subnet; {spec.IpRange} is a part of the network's subnet, so give --subnet as well.");
            }

            if (spec.AuxAddresses.Count > 0)
            {
                var (auxName, auxAddress) = spec.AuxAddresses.First();
                return (null, 0, $"--aux-address {auxName}={auxAddress}: no matching subnet for aux-address {auxAddress}; an auxiliary address is one of the network's subnet, so give --subnet as well.");
            }

            var size = 1u << (32 - DefaultPoolPrefix);
            for (var network = DefaultPool.Network; DefaultPool.Contains(network); network += size)
            {
                var candidate = new Ipv4Subnet(network, DefaultPoolPrefix);
                if (!others.Any(o => o.Subnet.Overlaps(candidate)) && !nodes.Any(n => candidate.Contains(n.Address)))
                {
                    return (candidate, candidate.Network + 1, null);
                }

                if (network + size < network)
                {
                    break;
                }
            }

            return (null, 0, $"--subnet: the default address pool {DefaultPool} has no /{DefaultPoolPrefix} left that no network uses; give a --subnet outside it, or remove networks that are no longer needed.");
        }

        if (Ipv4Subnet.TryParse(spec.Subnet, out var subnet) is { } invalid)
        {
            return (null, 0, $"--subnet: {invalid}.");
        }

        if (others.FirstOrDefault(o => o.Subnet.Overlaps(subnet)) is { Network: not null } overlap)
        {
            return (null, 0,
                $"--subnet: {subnet} overlaps network {overlap.Network.Spec.Name} ({overlap.Subnet}); choose a subnet outside it, or leave --subnet out to get a free /{DefaultPoolPrefix}.");
        }

        if (nodes.FirstOrDefault(n => subnet.Contains(n.Address)) is { Node: not null } node)
        {
            return (null, 0,
                $"--subnet: {subnet} holds the address {Ipv4Subnet.Format(node.Address)} of node {node.Node.Description.Hostname} ({node.Node.Id}), which the nodes reach each other on; "
                + $"choose a subnet apart from the nodes' addresses, or leave --subnet out to get a free /{DefaultPoolPrefix}.");
        }

        Ipv4Subnet? range = null;
        if (spec.IpRange.Length > 0)
        {
            if (RangeProblem(spec.IpRange, subnet, out var parsed) is { } rangeProblem)
            {
                return (null, 0, rangeProblem);
            }

            range = parsed;
        }

        // docker's default gateway: the first address the network can give (of --ip-range when there is one).
        var firstAddress = range is { } r ? Math.Max(r.Network, subnet.Network + 1) : subnet.Network + 1;
        if (spec.Gateway.Length == 0)
        {
            return (subnet, firstAddress, null);
        }

        if (!Ipv4Subnet.TryParseAddress(spec.Gateway, out var gateway))
        {
            return (null, 0, $"--gateway: '{spec.Gateway}' is not an IPv4 address; give one inside {subnet}, or leave --gateway out for {Ipv4Subnet.Format(firstAddress)}.");
        }

        if (!subnet.IsHost(gateway))
        {
            return (null, 0, $"--gateway: {spec.Gateway} is not a host address of {subnet}; give one inside it (not its first or last address), or leave --gateway out for {Ipv4Subnet.Format(firstAddress)}.");
        }

        return (subnet, gateway, null);
    }

    /// <summary>
    /// Why --ip-range cannot be a range of <paramref name="subnet"/>, or null: a CIDR (any prefix, a /32 is one address)
    /// inside the subnet (docker's words when it is not), holding at least one address a task can get.
    /// </summary>
    private static string? RangeProblem(string text, Ipv4Subnet subnet, out Ipv4Subnet range)
    {
        if (Ipv4Subnet.TryParse(text, out range, 0, 32, "range") is { } invalid)
        {
            return $"--ip-range: {invalid}.";
        }

        if (range.Prefix < subnet.Prefix || !subnet.Contains(range.Network))
        {
            return $"--ip-range: no matching subnet for range {range}: it is not inside --subnet {subnet}; give a range inside it, such as {new Ipv4Subnet(subnet.Network | (1u << (31 - subnet.Prefix)), subnet.Prefix + 1)}, or leave --ip-range out to use all of it.";
        }

        return range.Prefix == 32 && !subnet.IsHost(range.Network)
            ? $"--ip-range: {range} holds no address a task can get (only the {(range.Network == subnet.Network ? "network" : "broadcast")} address of {subnet}); give a larger range."
            : null;
    }

    /// <summary>
    /// Why the --aux-address entries cannot be reserved, one line each: NAME=IP, IP a host address of the subnet
    /// (docker's "no matching subnet" when it is outside), not the gateway (given, or the default one).
    /// </summary>
    private static IEnumerable<string> AuxiliaryProblems(NetworkSpec spec, Ipv4Subnet subnet, uint gateway)
    {
        foreach (var (name, address) in spec.AuxAddresses)
        {
            var flag = $"--aux-address {name}={address}";
            if (name.Trim().Length == 0)
            {
                yield return $"{flag}: the address has no name; write --aux-address NAME=IP, such as router=10.0.9.5.";
            }
            else if (!Ipv4Subnet.TryParseAddress(address, out var ip))
            {
                yield return $"{flag}: '{address}' is not an IPv4 address; write --aux-address NAME=IP, such as {name}={Ipv4Subnet.Format(subnet.Network + 5)}.";
            }
            else if (!subnet.Contains(ip))
            {
                yield return $"{flag}: no matching subnet for aux-address {address}: it is not inside --subnet {subnet}; give an address inside it.";
            }
            else if (!subnet.IsHost(ip))
            {
                yield return $"{flag}: {address} is the {(ip == subnet.Network ? "network" : "broadcast")} address of {subnet}, which no task gets anyway; give a host address of the subnet.";
            }
            else if (ip == gateway)
            {
                yield return spec.Gateway.Length > 0
                    ? $"{flag}: {address} is the network's gateway (--gateway); an auxiliary address is one held back beside it: give another address, or another --gateway."
                    : $"{flag}: {address} is the network's gateway (by default the first address of {(spec.IpRange.Length > 0 ? "--ip-range" : "--subnet")}); give another address, or give --gateway elsewhere.";
            }
        }
    }

    private static uint? NextVni(IReadOnlyCollection<NetworkObject> existing)
    {
        var used = existing.Select(n => n.Vni).ToHashSet();
        for (var vni = FirstVni; vni <= LastVni; vni++)
        {
            if (!used.Contains(vni))
            {
                return vni;
            }
        }

        return null;
    }

    private static string Invalid(string name, List<string> problems) =>
        problems.Count == 1
            ? $"Network {name} cannot be created: {problems[0]}"
            : $"Network {name} cannot be created:\n  {string.Join("\n  ", problems)}";

    private static string List(List<string> names) =>
        names.Count <= 5 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(5))} and {names.Count - 5} more";
}
