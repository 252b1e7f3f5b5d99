using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>How networks are shown: `network ls` (docker's NETWORK ID, NAME, DRIVER, SCOPE; JSON lines) and `network inspect` objects.</summary>
internal static class NetworkListing
{
    /// <summary>docker's option naming an overlay's VXLAN id, shown in `network inspect`.</summary>
    public const string VxlanIdOption = NetworkSpec.VxlanIdOption;

    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "NETWORK ID",
        ["Name"] = "NAME",
        ["Driver"] = "DRIVER",
        ["Scope"] = "SCOPE",
        ["IPv6"] = "IPV6",
        ["Internal"] = "INTERNAL",
        ["Labels"] = "LABELS",
        ["CreatedAt"] = "CREATED AT",
    };

    public static readonly IReadOnlyCollection<string> InspectFields =
        ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels", "Peers", "Services"];

    /// <summary>docker's key and name of a node's own end on the ingress network (its ingress sandbox).</summary>
    public const string IngressSandbox = "ingress-sbox";

    public static IEnumerable<NetworkObject> Sorted(IEnumerable<NetworkObject> networks) =>
        networks.OrderBy(n => n.Spec.Name, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal);

    /// <summary>The scope of every network the managers hold: docker's swarm scope (every node may have them).</summary>
    public const string Scope = "swarm";

    /// <summary>The scope of a node's own networks (bridge, host, none): docker's local scope.</summary>
    public const string LocalScope = "local";

    /// <summary>
    /// `network ls`'s lines (<see cref="ToJson(NetworkObject, bool)"/>, <see cref="ToJson(LocalNetwork, bool)"/>), the node's
    /// local networks and the swarm's together, by name as docker sorts them (then by id).
    /// </summary>
    public static IReadOnlyList<JsonObject> Lines(IEnumerable<NetworkObject> networks, IEnumerable<LocalNetwork> local, bool noTrunc = false) =>
        [.. networks.Select(n => ToJson(n, noTrunc)).Concat(local.Select(n => ToJson(n, noTrunc)))
            .OrderBy(j => j["Name"]!.GetValue<string>(), StringComparer.Ordinal).ThenBy(j => j["ID"]!.GetValue<string>(), StringComparer.Ordinal)];

    private static readonly string[] TableFields = ["ID", "Name", "Driver", "Scope"];

    /// <summary>docker's table of <see cref="Lines"/>.</summary>
    public static string Table(IEnumerable<JsonObject> lines) => Output.Table.Render(
        lines.Select(j => (IReadOnlyList<string>)[.. TableFields.Select(k => j[k]!.GetValue<string>())])
            .Prepend(["NETWORK ID", "NAME", "DRIVER", "SCOPE"]));

    /// <summary>A `network ls --format` line of a local network, with docker's fields.</summary>
    public static JsonObject ToJson(LocalNetwork network, bool noTrunc = false) => new()
    {
        ["CreatedAt"] = Json.GoTime(network.Created),
        ["Driver"] = network.Driver,
        ["ID"] = noTrunc ? network.Id : ServiceView.ShortId(network.Id),
        ["IPv6"] = "false",
        ["Internal"] = "false",
        ["Labels"] = string.Empty,
        ["Name"] = network.Name,
        ["Scope"] = LocalScope,
    };

    /// <summary>
    /// docker's `network inspect` object for a node's local network: the bridge's IPAM config is its subnet and gateway as
    /// the node configured the bridge (none before the node made it), Containers the node's containers on it ({} when none,
    /// as docker's local networks).
    /// </summary>
    public static JsonObject Inspect(LocalNetwork network)
    {
        var config = network.Subnet.Length > 0
            ? new JsonArray(new JsonObject { ["Subnet"] = network.Subnet, ["Gateway"] = network.Gateway })
            : new JsonArray();

        var containers = new JsonObject();
        foreach (var endpoint in network.Containers)
        {
            containers[endpoint.ContainerId] = new JsonObject
            {
                ["Name"] = endpoint.Name,
                ["EndpointID"] = endpoint.EndpointId,
                ["MacAddress"] = endpoint.MacAddress,
                ["IPv4Address"] = endpoint.Address,
                ["IPv6Address"] = string.Empty,
            };
        }

        return new JsonObject
        {
            ["Name"] = network.Name,
            ["Id"] = network.Id,
            ["Created"] = Json.Timestamp(network.Created),
            ["Scope"] = LocalScope,
            ["Driver"] = network.Driver,
            ["EnableIPv6"] = false,
            ["IPAM"] = new JsonObject { ["Driver"] = "default", ["Options"] = Json.NilMap(), ["Config"] = config },
            ["Internal"] = false,
            ["Attachable"] = false,
            ["Ingress"] = false,
            ["ConfigFrom"] = new JsonObject { ["Network"] = string.Empty },
            ["ConfigOnly"] = false,
            ["Containers"] = containers,
            ["Options"] = new JsonObject(network.Options.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))),
            ["Labels"] = new JsonObject(),
        };
    }

    /// <summary>docker's table; <paramref name="noTrunc"/>: full ids (`network ls --no-trunc`).</summary>
    public static string Table(IEnumerable<NetworkObject> networks, bool noTrunc = false) => Output.Table.Render(
        networks.Select(n => (IReadOnlyList<string>)[Id(n, noTrunc), n.Spec.Name, n.Spec.Driver, Scope])
            .Prepend(["NETWORK ID", "NAME", "DRIVER", "SCOPE"]));

    /// <summary>A `network ls --format` line; the ID full with <paramref name="noTrunc"/>, as docker's networkContext.</summary>
    public static JsonObject ToJson(NetworkObject network, bool noTrunc = false) => new()
    {
        ["CreatedAt"] = Json.GoTime(network.Meta.CreatedAt), // docker's networkContext.CreatedAt: Created.String()
        ["Driver"] = network.Spec.Driver,
        ["ID"] = Id(network, noTrunc),
        ["IPv6"] = "false",
        ["Internal"] = network.Spec.Internal ? "true" : "false",
        ["Labels"] = string.Join(',', network.Spec.Labels.Select(l => $"{l.Key}={l.Value}")),
        ["Name"] = network.Spec.Name,
        ["Scope"] = Scope,
    };

    private static string Id(NetworkObject network, bool noTrunc) => noTrunc ? network.Id : ServiceView.ShortId(network.Id);

    /// <summary>
    /// docker's `network inspect` object for a swarm-scoped overlay, as the node <paramref name="localNodeId"/> shows it:
    /// Containers are that node's endpoints on the network (null, as docker, when it has none), Peers the nodes that
    /// have the network, and with <paramref name="verbose"/> Services each service's VIP, ingress ports and tasks.
    /// </summary>
    public static JsonObject Inspect(NetworkObject network, NetworkUsage? usage = null, string localNodeId = "", bool verbose = false)
    {
        var options = new JsonObject { [VxlanIdOption] = network.Vni.ToString(CultureInfo.InvariantCulture) };
        foreach (var (key, value) in network.Spec.Options)
        {
            options[key] = value;
        }

        var json = new JsonObject
        {
            ["Name"] = network.Spec.Name,
            ["Id"] = network.Id,
            ["Created"] = Json.Timestamp(network.Meta.CreatedAt),
            ["Scope"] = Scope,
            ["Driver"] = network.Spec.Driver,
            ["EnableIPv6"] = false,
            ["IPAM"] = new JsonObject
            {
                ["Driver"] = "default",
                ["Options"] = Json.NilMap(),
                ["Config"] = new JsonArray(IpamConfig(network)),
            },
            ["Internal"] = network.Spec.Internal,
            ["Attachable"] = network.Spec.Attachable,
            ["Ingress"] = network.Spec.Ingress,
            ["Containers"] = Containers(network, usage, localNodeId),
            ["Options"] = options,
            ["Labels"] = new JsonObject(network.Spec.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
        };
        if (usage is { Peers.IsEmpty: false })
        {
            json["Peers"] = new JsonArray([.. usage.Peers.Select(p => (JsonNode)new JsonObject { ["Name"] = p.Name, ["IP"] = p.Ip })]);
        }

        if (verbose && usage is { Services.IsEmpty: false })
        {
            json["Services"] = Services(network, usage);
        }

        return json;
    }

    /// <summary>docker's IPAMConfig: Subnet, IPRange and Gateway, then AuxiliaryAddresses; the range and the auxiliary addresses only when set (omitted, as docker's omitzero/omitempty).</summary>
    private static JsonObject IpamConfig(NetworkObject network)
    {
        var config = new JsonObject { ["Subnet"] = network.Subnet };
        if (network.Spec.IpRange.Length > 0)
        {
            config["IPRange"] = network.Spec.IpRange;
        }

        config["Gateway"] = network.Gateway;
        if (network.Spec.AuxAddresses.Count > 0)
        {
            config["AuxiliaryAddresses"] = new JsonObject(network.Spec.AuxAddresses.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value)));
        }

        return config;
    }

    /// <summary>
    /// docker's EndpointID of a task's (or, for the ingress sandbox, a node's) endpoint on a network: 64 hex digits,
    /// here derived from the two ids, so the same endpoint always shows the same one.
    /// </summary>
    public static string EndpointId(string networkId, NetworkEndpoint endpoint) =>
        NetworkEndpoint.EndpointIdOf(networkId, endpoint.TaskId.Length > 0 ? endpoint.TaskId : endpoint.NodeId);

    private static JsonNode Containers(NetworkObject network, NetworkUsage? usage, string localNodeId)
    {
        var local = usage?.Endpoints.Where(e => localNodeId.Length > 0 && e.NodeId == localNodeId).ToList() ?? [];
        if (local.Count == 0)
        {
            return Json.NilMap();
        }

        var containers = new JsonObject();
        foreach (var endpoint in local.OrderBy(e => e.TaskId.Length == 0 ? IngressSandbox : e.TaskId, StringComparer.Ordinal))
        {
            containers[endpoint.TaskId.Length > 0 ? endpoint.TaskId : IngressSandbox] = new JsonObject
            {
                ["Name"] = endpoint.TaskId.Length > 0 ? endpoint.TaskName : "ingress-endpoint",
                ["EndpointID"] = EndpointId(network.Id, endpoint),
                ["MacAddress"] = NetworkEndpoint.MacOf(endpoint.Address),
                ["IPv4Address"] = endpoint.Address,
                ["IPv6Address"] = string.Empty,
            };
        }

        return containers;
    }

    /// <summary>
    /// docker's verbose Services, by service name: the VIP, the ingress-published ports as "Target: T, Publish: P",
    /// LocalLBIndex (docker's IPVS firewall mark; 0 here, where nftables balances a VIP) and every task's endpoint.
    /// </summary>
    private static JsonObject Services(NetworkObject network, NetworkUsage usage)
    {
        var services = new JsonObject();
        foreach (var service in usage.Services.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var tasks = usage.Endpoints.Where(e => e.ServiceId == service.ServiceId && e.TaskId.Length > 0)
                .OrderBy(e => e.TaskName, StringComparer.Ordinal)
                .Select(e => (JsonNode)new JsonObject
                {
                    ["Name"] = e.TaskName,
                    ["EndpointID"] = EndpointId(network.Id, e),
                    ["EndpointIP"] = e.Address.Split('/')[0],
                    ["Info"] = new JsonObject { ["Host IP"] = e.NodeAddr },
                });
            services[service.Name] = new JsonObject
            {
                ["VIP"] = service.Vip,
                ["Ports"] = new JsonArray([.. service.Ports
                    .Where(p => p.PublishMode == PublishMode.Ingress && p.PublishedPort > 0)
                    .Select(p => (JsonNode)JsonValue.Create($"Target: {p.TargetPort}, Publish: {p.PublishedPort}"))]),
                ["LocalLBIndex"] = 0,
                ["Tasks"] = new JsonArray([.. tasks]),
            };
        }

        return services;
    }
}
