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
        ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable", "Ingress", "Options", "Labels"];

    public static IEnumerable<NetworkObject> Sorted(IEnumerable<NetworkObject> networks) =>
        networks.OrderBy(n => n.Spec.Name, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal);

    public static string Table(IEnumerable<NetworkObject> networks) => Output.Table.Render(
        networks.Select(n => (IReadOnlyList<string>)[ServiceView.ShortId(n.Id), n.Spec.Name, n.Spec.Driver, "swarm"])
            .Prepend(["NETWORK ID", "NAME", "DRIVER", "SCOPE"]));

    public static JsonObject ToJson(NetworkObject network) => new()
    {
        ["CreatedAt"] = Json.Timestamp(network.Meta.CreatedAt),
        ["Driver"] = network.Spec.Driver,
        ["ID"] = ServiceView.ShortId(network.Id),
        ["IPv6"] = "false",
        ["Internal"] = network.Spec.Internal ? "true" : "false",
        ["Labels"] = string.Join(',', network.Spec.Labels.Select(l => $"{l.Key}={l.Value}")),
        ["Name"] = network.Spec.Name,
        ["Scope"] = "swarm",
    };

    /// <summary>docker's `network inspect` object for a swarm-scoped overlay (no containers: they are each node's).</summary>
    public static JsonObject Inspect(NetworkObject network)
    {
        var options = new JsonObject { [VxlanIdOption] = network.Vni.ToString(CultureInfo.InvariantCulture) };
        foreach (var (key, value) in network.Spec.Options)
        {
            options[key] = value;
        }

        return new JsonObject
        {
            ["Name"] = network.Spec.Name,
            ["Id"] = network.Id,
            ["Created"] = Json.Timestamp(network.Meta.CreatedAt),
            ["Scope"] = "swarm",
            ["Driver"] = network.Spec.Driver,
            ["EnableIPv6"] = false,
            ["IPAM"] = new JsonObject
            {
                ["Driver"] = "default",
                ["Options"] = Json.NilMap(),
                ["Config"] = new JsonArray(new JsonObject { ["Subnet"] = network.Subnet, ["Gateway"] = network.Gateway }),
            },
            ["Internal"] = network.Spec.Internal,
            ["Attachable"] = network.Spec.Attachable,
            ["Ingress"] = network.Spec.Ingress,
            ["Options"] = options,
            ["Labels"] = new JsonObject(network.Spec.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
        };
    }
}
