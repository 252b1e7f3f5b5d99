using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>`system df`: docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE table, its JSON lines and template fields.</summary>
internal static class DiskUsageView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Type"] = "TYPE",
        ["TotalCount"] = "TOTAL",
        ["Active"] = "ACTIVE",
        ["Size"] = "SIZE",
        ["Reclaimable"] = "RECLAIMABLE",
    };

    public static string Table(IEnumerable<DiskUsageRow> rows) => Output.Table.Render(
        rows.Select(r => (IReadOnlyList<string>)[r.Type, Count(r.Total), Count(r.Active), ImageView.HumanSize(r.Size), Reclaimable(r)])
            .Prepend(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]));

    /// <summary>docker's JSON line of a row: every field a string, as its formatter gives them.</summary>
    public static JsonObject ToJson(DiskUsageRow row) => new()
    {
        ["Active"] = Count(row.Active),
        ["Reclaimable"] = Reclaimable(row),
        ["Size"] = ImageView.HumanSize(row.Size),
        ["TotalCount"] = Count(row.Total),
        ["Type"] = row.Type,
    };

    /// <summary>docker's RECLAIMABLE: the size with its share of the row's size in whole percent (none for the build cache, or nothing to share).</summary>
    public static string Reclaimable(DiskUsageRow row) =>
        row.Size > 0 && row.Type != "Build Cache"
            ? $"{ImageView.HumanSize(row.Reclaimable)} ({row.Reclaimable * 100 / row.Size}%)"
            : ImageView.HumanSize(row.Reclaimable);

    private static string Count(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
