using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>A secret or a config as the CLI shows it; Data only for a config being inspected.</summary>
internal sealed record FileObjectView(
    string Id,
    string Name,
    ImmutableSortedDictionary<string, string> Labels,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    ulong Version,
    byte[]? Data = null,
    string? Templating = null)
{
    public static FileObjectView Of(SecretSummary s) => new(s.Id, s.Name, s.Labels, s.CreatedAt, s.UpdatedAt, s.Version, Templating: s.Templating);

    public static FileObjectView Of(ConfigSummary c) => new(c.Id, c.Name, c.Labels, c.CreatedAt, c.UpdatedAt, c.Version, c.Data, c.Templating);
}

/// <summary>
/// How secrets and configs are shown, in docker's shapes: `ls` (ID, NAME, [DRIVER,] CREATED, UPDATED; JSON
/// lines with docker's fields, times as "2 minutes ago"), `inspect` (ID, Version, CreatedAt,
/// UpdatedAt, Spec{Name, Labels[, Data][, Templating{Name}]}) and `inspect --pretty`.
/// </summary>
internal static class SecretView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "ID",
        ["Name"] = "NAME",
        ["Driver"] = "DRIVER",
        ["CreatedAt"] = "CREATED",
        ["UpdatedAt"] = "UPDATED",
        ["Labels"] = "LABELS",
    };

    public static readonly IReadOnlyCollection<string> InspectFields = ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec"];

    public static IEnumerable<FileObjectView> Sorted(IEnumerable<FileObjectView> items) =>
        items.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.Id, StringComparer.Ordinal);

    /// <summary>
    /// `ls`'s table in docker's columns: a secret's have DRIVER (empty for the swarm's own store, the
    /// only one here), a config's have none, as docker's default formats for the two.
    /// </summary>
    public static string Table(IEnumerable<FileObjectView> items, DateTimeOffset now, bool driverColumn) => Output.Table.Render(
        items.Select(i => (IReadOnlyList<string>)(driverColumn
                ? [i.Id, i.Name, "", Ago(i.CreatedAt, now), Ago(i.UpdatedAt, now)]
                : [i.Id, i.Name, Ago(i.CreatedAt, now), Ago(i.UpdatedAt, now)]))
            .Prepend(driverColumn ? ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"] : ["ID", "NAME", "CREATED", "UPDATED"]));

    public static JsonObject ToJson(FileObjectView item, DateTimeOffset now) => new()
    {
        ["CreatedAt"] = Ago(item.CreatedAt, now),
        ["Driver"] = "",
        ["ID"] = item.Id,
        ["Labels"] = string.Join(',', item.Labels.Select(l => $"{l.Key}={l.Value}")),
        ["Name"] = item.Name,
        ["UpdatedAt"] = Ago(item.UpdatedAt, now),
    };

    /// <summary>docker's inspect object; a config's data as base64, as the API gives it.</summary>
    public static JsonObject Inspect(FileObjectView item)
    {
        var spec = new JsonObject
        {
            ["Name"] = item.Name,
            ["Labels"] = new JsonObject(item.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
        };
        if (item.Data is { } data)
        {
            spec["Data"] = Convert.ToBase64String(data);
        }

        if (item.Templating is { } driver)
        {
            spec["Templating"] = new JsonObject { ["Name"] = driver };
        }

        return new JsonObject
        {
            ["ID"] = item.Id,
            ["Version"] = new JsonObject { ["Index"] = item.Version },
            ["CreatedAt"] = Json.Timestamp(item.CreatedAt),
            ["UpdatedAt"] = Json.Timestamp(item.UpdatedAt),
            ["Spec"] = spec,
        };
    }

    /// <summary>`inspect --pretty`: docker's human form; a config's data follows as text.</summary>
    public static string Pretty(FileObjectView item)
    {
        var text = new StringBuilder();
        void Line(string label, string value) => text.Append((label + ":").PadRight(17)).Append(value).Append('\n');

        Line("ID", item.Id);
        Line("Name", item.Name);
        if (item.Labels.Count > 0)
        {
            text.Append("Labels:\n");
            foreach (var (key, value) in item.Labels)
            {
                text.Append(" - ").Append(key).Append('=').Append(value).Append('\n');
            }
        }

        Line("Created at", Json.GoTime(item.CreatedAt));
        Line("Updated at", Json.GoTime(item.UpdatedAt));
        if (item.Data is { } data)
        {
            text.Append("Data:\n").Append(Encoding.UTF8.GetString(data));
            if (data.Length > 0 && data[^1] != (byte)'\n')
            {
                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Ago(DateTimeOffset at, DateTimeOffset now) => $"{SystemView.Duration(now - at)} ago";
}
