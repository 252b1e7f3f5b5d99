using System.Text;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// Aligned columns as docker prints them through Go's tabwriter (minwidth 10, padding 3): every
/// cell but a row's last is padded to its column's width, so a listing lines up the same way.
/// </summary>
internal static class Table
{
    public const int MinWidth = 10;
    public const int Padding = 3;

    public static string Render(IEnumerable<IReadOnlyList<string>> rows)
    {
        var lines = rows.ToList();
        var widths = new List<int>();
        foreach (var row in lines)
        {
            // The last cell of a row is not tab-terminated, so like tabwriter it does not widen its column.
            for (var c = 0; c < row.Count - 1; c++)
            {
                while (widths.Count <= c)
                {
                    widths.Add(MinWidth);
                }

                widths[c] = Math.Max(widths[c], row[c].Length + Padding);
            }
        }

        var text = new StringBuilder();
        foreach (var row in lines)
        {
            for (var c = 0; c < row.Count; c++)
            {
                text.Append(c < row.Count - 1 ? row[c].PadRight(widths[c]) : row[c]);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Lines whose cells are separated by tabs, as a `table` format template renders them.</summary>
    public static string RenderTabbed(IEnumerable<string> lines) =>
        Render(lines.Select(line => (IReadOnlyList<string>)line.Split('\t')));
}
