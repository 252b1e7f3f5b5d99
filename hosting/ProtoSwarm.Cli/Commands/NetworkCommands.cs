using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm network create|ls|inspect|rm|prune`: the swarm's overlay networks (docker's swarm-scoped
/// networks, overlay driver only), answered by the managers (on a worker, which they refuse, `ls` and `inspect` show the
/// swarm's networks the node has, as docker's worker), and beside them in `ls` and `inspect` the local networks of
/// the node the CLI talks to (bridge, host, none: docker's pre-defined ones, which cannot be created or removed);
/// `network connect|disconnect`: a standalone container of that node joins or leaves an attachable overlay, answered by that node.
/// </summary>
internal static class NetworkCommands
{
    public static readonly ImmutableArray<string> FilterKeys = ["id", "name", "driver", "label", "scope", "type", "dangling"];

    public static Command Create(CliApp app) =>
        new Command("network", "Manage swarm networks").With(CreateNetwork(app), List(app), Inspect(app), Remove(app), Prune(app), Connect(app), Disconnect(app));

    /// <summary>`network connect [--alias A]... [--ip ADDR] NETWORK CONTAINER`: docker's, for a standalone container of this node; prints nothing.</summary>
    private static Command Connect(CliApp app)
    {
        var aliases = new Option<string[]>("--alias") { Description = "Add network-scoped alias for the container", DefaultValueFactory = _ => [] };
        var ip = new Option<string?>("--ip") { Description = "IPv4 address (e.g., \"10.0.1.10\"): one of the network's subnet, which must have been given with --subnet" }
            .CheckedBy(IpProblem);
        var network = new Argument<string>("NETWORK") { Description = "An attachable overlay: name, id or id prefix" };
        var container = new Argument<string>("CONTAINER") { Description = "A standalone container of this node: id, unique id prefix or name" };
        var command = new Command("connect", "Connect a container to a network").With(aliases, ip, network, container);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            await cli.RequestAsync<ContainerChange>(ConnectRequest(parse.GetRequiredValue(network), parse.GetRequiredValue(container),
                parse.GetValue(aliases) ?? [], parse.GetValue(ip)), Timeouts.Change, ct);
            return 0;
        });
        return command;
    }

    /// <summary>`network disconnect [-f] NETWORK CONTAINER`: docker's, for a standalone container of this node; prints nothing.</summary>
    private static Command Disconnect(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force the container to disconnect from a network" };
        var network = new Argument<string>("NETWORK") { Description = "Network name, id or id prefix" };
        var container = new Argument<string>("CONTAINER") { Description = "A standalone container of this node: id, unique id prefix or name" };
        var command = new Command("disconnect", "Disconnect a container from a network").With(force, network, container);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            await cli.RequestAsync<ContainerChange>(new DisconnectContainerNetwork(SwarmIds.NewRequestId(), parse.GetRequiredValue(network),
                parse.GetRequiredValue(container), parse.GetValue(force)), Timeouts.Change, ct);
            return 0;
        });
        return command;
    }

    internal static ConnectContainerNetwork ConnectRequest(string network, string container, IEnumerable<string> aliases, string? ip) =>
        new(SwarmIds.NewRequestId(), network, container, [.. aliases], ip ?? string.Empty);

    /// <summary>docker's check of --ip: an IPv4 address in four dotted numbers (Go's ParseIP; .NET would read 10.0.9 as 10.0.0.9), without a prefix.</summary>
    internal static string? IpProblem(string ip) =>
        ip.Split('.').Length == 4 && System.Net.IPAddress.TryParse(ip, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? null
            : $"invalid argument \"{ip}\" for \"--ip\" flag: invalid string being converted to IP address: {ip}";

    private static Command CreateNetwork(CliApp app)
    {
        var driver = new Option<string>("--driver", "-d") { Description = "Driver to manage the Network", DefaultValueFactory = _ => NetworkSpec.OverlayDriver }
            .CheckedBy(d => d == NetworkSpec.OverlayDriver ? null : $"--driver '{d}' is not available; swarm networks use the overlay driver (leave --driver out).");
        var subnet = new Option<string?>("--subnet") { Description = "Subnet in CIDR format that represents a network segment (default: a free /24 of 10.0.0.0/8)" };
        var gateway = new Option<string?>("--gateway") { Description = "IPv4 Gateway for the master subnet (default: its first address, or --ip-range's)" };
        var ipRange = new Option<string?>("--ip-range") { Description = "Allocate container ip from a sub-range (a CIDR inside --subnet)" }
            .CheckedBy(IpRangeProblem);
        var auxAddresses = new Option<string[]>("--aux-address")
        {
            Description = "Auxiliary IPv4 addresses used by Network driver, never given to a task (NAME=IP inside --subnet; repeat for several)",
            DefaultValueFactory = _ => [],
        }.CheckedBy(AuxAddressProblem);
        var attachable = new Option<bool>("--attachable") { Description = "Enable manual container attachment" };
        var isInternal = new Option<bool>("--internal") { Description = "Restrict external access to the network" };
        var ingress = new Option<bool>("--ingress")
        {
            Description = "Create the swarm's routing-mesh network (one per swarm: `network rm ingress` first, once no service publishes a port)",
        };
        var labels = new Option<string[]>("--label") { Description = "Set metadata on a network (KEY=VALUE)", DefaultValueFactory = _ => [] }
            .CheckedBy(l => l.Split('=', 2)[0].Length == 0 ? $"--label '{l}' has no name; write --label KEY=VALUE." : null);
        var options = new Option<string[]>("--opt", "-o") { Description = "Set driver specific options (com.docker.network.driver.mtu=N)", DefaultValueFactory = _ => [] }
            .CheckedBy(OptionProblem);
        var name = new Argument<string>("NETWORK") { Description = "The network's name" };
        var command = new Command("create", "Create a network").With(driver, subnet, gateway, ipRange, auxAddresses, attachable, ingress, isInternal, labels, options, name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var spec = new NetworkSpec(
                parse.GetRequiredValue(name),
                parse.GetValue(driver) ?? NetworkSpec.OverlayDriver,
                parse.GetValue(subnet) ?? string.Empty,
                parse.GetValue(gateway) ?? string.Empty,
                parse.GetValue(attachable),
                Ingress: parse.GetValue(ingress),
                Internal: parse.GetValue(isInternal),
                Labels: Pairs(parse.GetValue(labels)),
                Options: Pairs(parse.GetValue(options)),
                IpRange: parse.GetValue(ipRange) ?? string.Empty,
                AuxAddresses: Pairs(parse.GetValue(auxAddresses)));
            await cli.Out.WriteLineAsync(await cli.Swarm.Networks.CreateAsync(spec, ct));
            return 0;
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display network IDs" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Do not truncate the output" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.ID}}\\t{{.Name}}'",
        }.CheckedBy(v => ListingFormat.Check(v, NetworkListing.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Provide filter values ({string.Join(", ", FilterKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(CheckFilter);
        var command = new Command("ls", "List networks").With(quiet, noTrunc, format, filter);
        command.Aliases.Add("list");
        command.Validators.Add(result =>
        {
            if (DanglingProblem(result.GetValue(filter) ?? []) is { } problem)
            {
                result.AddError(problem);
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), NetworkListing.Columns.Keys.ToList(), out _)!;
            var terms = (parse.GetValue(filter) ?? []).Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim(), p => p[1], StringComparer.Ordinal);
            var local = await LocalNetworksAsync(cli, ct);
            NetworkList list;
            try
            {
                list = await cli.Swarm.Networks.ListWithUseAsync(ct);
            }
            catch (SwarmCommandException e) when (e.Code == RejectCode.NotInSwarm && local.Length > 0)
            {
                list = new NetworkList([]); // docker's engine outside a swarm lists its local networks alone
            }
            catch (SwarmCommandException e) when (e.Code == RejectCode.NotManager)
            {
                list = WorkerList(await NodeOverlaysAsync(cli, ct));
            }

            var inUse = list.InUse.ToHashSet(StringComparer.Ordinal);
            var lines = NetworkListing.Lines(list.Networks.Where(n => Matches(n, terms, inUse.Contains(n.Id))), local.Where(n => Matches(n, terms)), parse.GetValue(noTrunc));
            await cli.Out.WriteAsync(listing.Render(lines, () => NetworkListing.Table(lines), NetworkListing.Columns));
            return 0;
        });
        return command;
    }

    private static Command Inspect(CliApp app)
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a Go template, such as '{{.IPAM}}'" }
            .CheckedBy(f => PerItem.InspectFormatError(f, NetworkListing.InspectFields));
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Verbose output for diagnostics (the services on the network and their tasks)" };
        var networks = new Argument<string[]>("NETWORK") { Description = "Network names or ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("inspect", "Display detailed information on one or more networks").With(format, verbose, networks);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<object>();
            var local = new LocalLookup(cli, ct);
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(networks), async name =>
            {
                if (await local.ExactAsync(name) is { } predefined)
                {
                    found.Add(predefined);
                    return;
                }

                try
                {
                    found.Add(await cli.Swarm.Networks.DetailsAsync(name, ct));
                }
                catch (SwarmCommandException e) when (e.Code is RejectCode.NotFound or RejectCode.NotInSwarm)
                {
                    if (await local.PrefixAsync(name) is not { } byPrefix)
                    {
                        throw;
                    }

                    found.Add(byPrefix);
                }
                catch (SwarmCommandException e) when (e.Code == RejectCode.NotManager)
                {
                    // A worker: the swarm's networks it has, as docker's worker inspects those its tasks are on.
                    found.Add(ResolveOnWorker(await local.OverlaysAsync(), name) ?? (object?)await local.PrefixAsync(name)
                        ?? throw new SwarmCommandException(RejectCode.NotFound, WorkerNotFound(name)));
                }
            });
            var here = found.Any(d => d is NetworkDetails { Usage.Endpoints.IsEmpty: false }) ? await LocalNodeIdAsync(cli, ct) : string.Empty;
            await cli.Out.WriteAsync(PerItem.Inspected(found, d => d is LocalNetwork n
                ? NetworkListing.Inspect(n)
                : NetworkListing.Inspect(((NetworkDetails)d).Network, ((NetworkDetails)d).Usage, here, parse.GetValue(verbose)), parse.GetValue(format)));
            return status;
        });
        return command;
    }

    /// <summary>
    /// The local networks of the node this CLI talks to (a manager reached over TCP answers for its own, as docker's remote
    /// daemon); none from a node that does not answer for them (an earlier version).
    /// </summary>
    internal static async Task<ImmutableArray<LocalNetwork>> LocalNetworksAsync(CliContext cli, CancellationToken ct)
    {
        try
        {
            return (await cli.RequestAsync<LocalNetworkList>(new ListLocalNetworks(SwarmIds.NewRequestId()), Timeouts.Query, ct)).Networks;
        }
        catch (SwarmCommandException e) when (e.Code == RejectCode.InvalidArgument)
        {
            return [];
        }
    }

    /// <summary>The swarm's networks a worker has (those its tasks and attached containers are on, ingress while it is in the mesh), from the node itself.</summary>
    internal static async Task<ImmutableArray<NetworkDetails>> NodeOverlaysAsync(CliContext cli, CancellationToken ct) =>
        (await cli.RequestAsync<NodeOverlayList>(new ListNodeOverlays(SwarmIds.NewRequestId()), Timeouts.Query, ct)).Networks;

    /// <summary>
    /// A worker's `network ls` of the swarm's networks: those it has, each in use (a task or container of the node holds an
    /// address on it, which is why the node has it) but ingress, which <see cref="Matches(NetworkObject, ILookup{string, string}, bool)"/>
    /// never counts as dangling anyway.
    /// </summary>
    internal static NetworkList WorkerList(IEnumerable<NetworkDetails> overlays)
    {
        var networks = overlays.Select(d => d.Network).ToList();
        return new NetworkList([.. networks], [.. networks.Where(n => !n.Spec.Ingress).Select(n => n.Id)]);
    }

    /// <summary>
    /// The network a reference names among a worker's, as the managers resolve one (<c>NetworkCommands.Resolve</c>): its full id,
    /// then its name, then a unique id prefix; null when none matches. A prefix of several is refused as the managers refuse it.
    /// </summary>
    internal static NetworkDetails? ResolveOnWorker(IReadOnlyCollection<NetworkDetails> overlays, string reference)
    {
        if (reference.Length == 0)
        {
            return null;
        }

        if ((overlays.FirstOrDefault(d => d.Network.Id == reference) ?? overlays.FirstOrDefault(d => d.Network.Spec.Name == reference)) is { } exact)
        {
            return exact;
        }

        var byPrefix = overlays.Where(d => d.Network.Id.StartsWith(reference, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            0 => null,
            1 => byPrefix[0],
            _ => throw new SwarmCommandException(RejectCode.Conflict,
                $"Network reference {reference} is ambiguous: {byPrefix.Count} network ids start with it; give more of the id or the name."),
        };
    }

    /// <summary>What a worker says of a network it does not have: it may still be the swarm's, on no task of this node.</summary>
    internal static string WorkerNotFound(string reference) =>
        $"No such network: {reference}. This node is a worker: it has only the swarm's networks its tasks and containers are on " +
        "(`protoswarm network ls` here); a manager has them all.";

    /// <summary>
    /// A local network named by a reference, as docker resolves one: its name or its full id first (no swarm network may take
    /// those names, and a swarm network's id is shorter), a unique id prefix only once no swarm network matched. Asks the node
    /// once; on a worker, the swarm's networks it has likewise.
    /// </summary>
    private sealed class LocalLookup(CliContext cli, CancellationToken ct)
    {
        private ImmutableArray<LocalNetwork>? _networks;
        private ImmutableArray<NetworkDetails>? _overlays;

        public async Task<ImmutableArray<NetworkDetails>> OverlaysAsync() => _overlays ??= await NodeOverlaysAsync(cli, ct);

        public async Task<LocalNetwork?> ExactAsync(string reference) =>
            PredefinedNetworks.Names.Contains(reference) || reference.Length == 64
                ? (await AllAsync()).FirstOrDefault(n => n.Name == reference || n.Id == reference)
                : null;

        public async Task<LocalNetwork?> PrefixAsync(string reference) =>
            reference.Length > 0 && (await AllAsync()).Where(n => n.Id.StartsWith(reference, StringComparison.Ordinal)).ToList() is [var one] ? one : null;

        private async Task<ImmutableArray<LocalNetwork>> AllAsync() => _networks ??= await LocalNetworksAsync(cli, ct);
    }

    /// <summary>docker's refusal to remove bridge, host or none, which its daemon words (printed after "Error response from daemon: ").</summary>
    internal static string PredefinedRemoval(string name) => $"{name} is a pre-defined network and cannot be removed";

    /// <summary>The node this CLI talks to, whose endpoints docker shows as a network's Containers; empty when it cannot say.</summary>
    private static async Task<string> LocalNodeIdAsync(CliContext cli, CancellationToken ct)
    {
        try
        {
            return (await cli.InfoAsync(ct)).NodeId;
        }
        catch (SwarmCommandException)
        {
            return string.Empty;
        }
    }

    /// <summary>What `network rm` asks before it removes the ingress network; only "y" or "yes" goes on, as docker's prompt.</summary>
    public const string IngressWarning =
        "WARNING! Removing the routing-mesh network: until an ingress network exists again " +
        "(`protoswarm network create --driver overlay --ingress NAME`), no service can publish a port in either mode.\n" +
        "Are you sure you want to continue? [y/N] ";

    private static Command Remove(CliApp app)
    {
        var networks = new Argument<string[]>("NETWORK") { Description = "Network names or ids", Arity = ArgumentArity.OneOrMore };
        var force = new Option<bool>("--force", "-f") { Description = "Do not error if the network does not exist" };
        var command = new Command("rm", "Remove one or more networks").With(networks, force);
        command.Aliases.Add("remove");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var names = parse.GetRequiredValue(networks);
            // Read once, only to know which name is the ingress network; the managers resolve the names themselves.
            List<NetworkObject> existing;
            try
            {
                existing = (await cli.Swarm.Networks.ListAsync(ct)).ToList();
            }
            catch (SwarmCommandException e) when (e.Code is RejectCode.NotInSwarm or RejectCode.NotManager)
            {
                // Only bridge, host and none are here, each refused below; on a worker, the node refuses a swarm network's removal.
                existing = [];
            }

            using var input = new StreamReader(app.StandardInput(), leaveOpen: true);
            var local = new LocalLookup(cli, ct);
            return await PerItem.ForEachAsync(cli, names, async name =>
            {
                if (await local.ExactAsync(name) is { } predefined)
                {
                    throw new PerItem.DaemonRefusal(PredefinedRemoval(predefined.Name));
                }

                if (existing.Any(n => n.Spec.Ingress && (n.Spec.Name == name || n.Id.StartsWith(name, StringComparison.Ordinal)))
                    && !await Confirmation.AskAsync(cli, input, IngressWarning, ct))
                {
                    return; // docker's answer to a "no": the network stays, nothing printed, not a failure
                }

                try
                {
                    await cli.Swarm.Networks.RemoveAsync(name, ct);
                }
                catch (SwarmCommandException e) when (e.Code is RejectCode.NotFound or RejectCode.NotInSwarm or RejectCode.NotManager)
                {
                    if (await local.PrefixAsync(name) is { } byPrefix)
                    {
                        throw new PerItem.DaemonRefusal(PredefinedRemoval(byPrefix.Name));
                    }

                    if (e.Code == RejectCode.NotFound && parse.GetValue(force))
                    {
                        return;
                    }

                    throw;
                }

                await cli.Out.WriteLineAsync(name);
            });
        });
        return command;
    }

    /// <summary>docker's prompt of `network prune`; only "y" or "yes" goes on.</summary>
    public const string PruneWarning =
        "WARNING! This will remove all custom networks not used by at least one container.\n" +
        "Are you sure you want to continue? [y/N] ";

    /// <summary>
    /// `network prune [-f] [--filter label=|label!=|until=]`: as docker's managers prune swarm networks, every network
    /// the filters keep but ingress (removed only by name) is removed by id through `network rm`'s own check, and the
    /// ones a service or task uses are skipped without a word. Names of the removed, as docker, under "Deleted Networks:".
    /// </summary>
    private static Command Prune(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = PruneFilters.Option();
        var command = new Command("prune", "Remove all unused networks").With(force, filter);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var filters = parse.GetValue(filter) ?? [];
            var (exit, until) = await PruneFilters.BeginAsync(app, cli, filters, parse.GetValue(force), PruneWarning, ct);
            if (exit is { } code)
            {
                return code;
            }

            await cli.Out.WriteAsync(await PruneAsync(cli, filters, until, ct));
            return 0;
        });
        return command;
    }

    /// <summary>`network prune`'s work once asked (also a step of `system prune`): docker's "Deleted Networks:" part of the report.</summary>
    public static async Task<string> PruneAsync(CliContext cli, IReadOnlyCollection<string> filters, DateTimeOffset? until, CancellationToken ct)
    {
        var candidates = PruneCandidates(await cli.Swarm.Networks.ListAsync(ct), filters, until);
        var deleted = new List<string>();
        foreach (var network in candidates)
        {
            try
            {
                await cli.Swarm.Networks.RemoveAsync(network.Id, ct);
                deleted.Add(network.Spec.Name);
            }
            catch (SwarmCommandException e) when (e.Code is RejectCode.Conflict or RejectCode.NotFound)
            {
                // In use by a service or a task (the managers' check of `network rm`), or removed meanwhile: not pruned, as docker.
            }
        }

        return deleted.Count > 0 ? "Deleted Networks:\n" + string.Concat(deleted.Select(d => d + "\n")) + "\n" : string.Empty;
    }

    /// <summary>
    /// The networks `network prune` tries to remove, in name order, as docker's managers choose them: never an ingress
    /// network, none created after until, each carrying every label= term and not every label!= term. Whether one is
    /// in use is the managers' to say when it is removed. <paramref name="until"/> is <see cref="PruneFilters.UntilOf"/>'s.
    /// </summary>
    public static IReadOnlyList<NetworkObject> PruneCandidates(IEnumerable<NetworkObject> networks, IReadOnlyCollection<string> filters, DateTimeOffset? until)
    {
        var kept = PruneFilters.Matcher(filters, until);
        return [.. NetworkListing.Sorted(networks.Where(n => !n.Spec.Ingress && kept(n.Spec.Labels, n.Meta.CreatedAt)))];
    }

    /// <summary>
    /// Why an --opt cannot be used, or null: KEY=VALUE, and not an option the swarm cannot honour
    /// (encrypted, the VXLAN id), which is refused in any form, even as a key alone.
    /// </summary>
    public static string? OptionProblem(string option)
    {
        var parts = option.Split('=', 2);
        return NetworkSpec.OptionProblem(parts[0]) is { } problem
            ? $"--opt '{option}': {problem}."
            : parts is [{ Length: > 0 }, _] ? null : $"--opt '{option}' must be KEY=VALUE, such as com.docker.network.driver.mtu=1400.";
    }

    /// <summary>
    /// Why an --ip-range cannot be used, or null: a CIDR (any prefix, a /32 is one address). Whether it lies inside
    /// --subnet the managers say, for every client alike.
    /// </summary>
    public static string? IpRangeProblem(string range) =>
        Ipv4Subnet.TryParse(range, out _, 0, 32, "range") is { } problem ? $"--ip-range: {problem}." : null;

    /// <summary>Why an --aux-address cannot be used, or null: NAME=IP with an IPv4 address. Whether it lies inside --subnet the managers say.</summary>
    public static string? AuxAddressProblem(string aux) => aux.Split('=', 2) switch
    {
        [{ Length: > 0 }, var address] when Ipv4Subnet.TryParseAddress(address, out _) => null,
        [{ Length: > 0 } name, var address] => $"--aux-address '{aux}': '{address}' is not an IPv4 address; write NAME=IP, such as {name}=10.0.9.5.",
        _ => $"--aux-address '{aux}' must be NAME=IP, such as router=10.0.9.5.",
    };

    /// <summary>
    /// Why a --filter cannot be used, or null: key=value with a key docker's `network ls` takes here, and for type and
    /// dangling a value they know (in docker's words). scope takes any value, as docker's: one other than swarm or local matches none.
    /// </summary>
    public static string? CheckFilter(string filter) => ServiceFilter.Check(filter, FilterKeys, (key, value) => key switch
    {
        "type" when value is not ("builtin" or "custom") => $"invalid filter: 'type'='{value}'; type takes builtin (the node's pre-defined bridge, host and none) or custom (the swarm's networks)",
        "dangling" when DanglingValue(value) is null => "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")",
        _ => null,
    });

    /// <summary>docker refuses dangling given twice, even with one value: "got more than one value for filter key".</summary>
    public static string? DanglingProblem(IEnumerable<string> filters) =>
        filters.Count(f => f.Split('=', 2)[0].Trim() == "dangling") > 1
            ? "--filter dangling= is given more than once; give it once (got more than one value for filter key \"dangling\")."
            : null;

    private static bool? DanglingValue(string value) => value switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => null,
    };

    /// <summary>
    /// docker's builtin networks are its predefined local ones (bridge, host, none; moby's IsPreDefinedNetwork), a node's
    /// <see cref="LocalNetwork"/>s here: every swarm network is custom, ingress too, as docker lists ingress since 17.05.
    /// </summary>
    public static bool IsBuiltin(NetworkObject network) => false;

    /// <summary>
    /// <see cref="Matches(NetworkObject, ILookup{string, string}, bool)"/>'s rules for a node's local network: scope local,
    /// type builtin, no labels, never dangling (docker never counts a pre-defined network as dangling).
    /// </summary>
    public static bool Matches(LocalNetwork network, ILookup<string, string> terms) => terms.All(term => term.Any(value => term.Key switch
    {
        "id" => network.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => network.Name.Contains(value, StringComparison.Ordinal),
        "driver" => network.Driver == value,
        "scope" => value == NetworkListing.LocalScope,
        "type" => value == "builtin",
        "dangling" => DanglingValue(value) is false,
        _ => false,
    }));

    /// <summary>
    /// docker's rules: id and name match a prefix (name also a part), driver and scope exactly (every network here is
    /// swarm-scoped), label a key or key=value, type builtin or custom (<see cref="IsBuiltin"/>), dangling=true a custom
    /// network no service or task uses (<paramref name="inUse"/>) and dangling=false the others; values of one key are alternatives.
    /// </summary>
    public static bool Matches(NetworkObject network, ILookup<string, string> terms, bool inUse = false) => terms.All(term => term.Any(value => term.Key switch
    {
        "id" => network.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => network.Spec.Name.Contains(value, StringComparison.Ordinal),
        "driver" => network.Spec.Driver == value,
        "label" => value.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
            ? network.Spec.Labels.TryGetValue(value[..eq], out var v) && v == value[(eq + 1)..]
            : network.Spec.Labels.ContainsKey(value),
        "scope" => value == NetworkListing.Scope,
        "type" => value == "builtin" ? IsBuiltin(network) : !IsBuiltin(network),
        // The routing mesh always uses ingress (docker's ingress sandbox is attached on every node): never dangling.
        "dangling" => DanglingValue(value) is true
            ? !IsBuiltin(network) && !network.Spec.Ingress && !inUse
            : IsBuiltin(network) || network.Spec.Ingress || inUse,
        _ => false,
    }));

    private static ImmutableSortedDictionary<string, string> Pairs(string[]? pairs)
    {
        var map = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        foreach (var pair in pairs ?? [])
        {
            var parts = pair.Split('=', 2);
            map = map.SetItem(parts[0], parts.Length > 1 ? parts[1] : string.Empty);
        }

        return map;
    }
}
