using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>How volumes are shown: `volume ls` (docker's DRIVER and VOLUME NAME columns, JSON lines) and `volume inspect` objects.</summary>
internal static class VolumeView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Name"] = "VOLUME NAME",
        ["Driver"] = "DRIVER",
        ["Scope"] = "SCOPE",
        ["Mountpoint"] = "MOUNTPOINT",
        ["Labels"] = "LABELS",
    };

    public static readonly IReadOnlyCollection<string> InspectFields = ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"];

    public static IEnumerable<VolumeObject> Sorted(IEnumerable<VolumeObject> volumes) => volumes.OrderBy(v => v.Name, StringComparer.Ordinal);

    public static string Table(IEnumerable<VolumeObject> volumes) => Output.Table.Render(
        Sorted(volumes).Select(v => (IReadOnlyList<string>)[v.Driver, v.Name]).Prepend(["DRIVER", "VOLUME NAME"]));

    public static JsonObject ToJson(VolumeObject volume) => new()
    {
        ["Driver"] = volume.Driver,
        ["Labels"] = string.Join(',', volume.Labels.Select(l => $"{l.Key}={l.Value}")),
        ["Mountpoint"] = volume.Mountpoint,
        ["Name"] = volume.Name,
        ["Scope"] = volume.Scope,
    };

    /// <summary>docker's `volume inspect` object.</summary>
    public static JsonObject Inspect(VolumeObject volume) => new()
    {
        ["CreatedAt"] = volume.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        ["Driver"] = volume.Driver,
        ["Labels"] = volume.Labels.IsEmpty ? Json.NilMap() : new JsonObject(volume.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
        ["Mountpoint"] = volume.Mountpoint,
        ["Name"] = volume.Name,
        ["Options"] = volume.Options.IsEmpty ? Json.NilMap() : new JsonObject(volume.Options.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))),
        ["Scope"] = volume.Scope,
    };
}
