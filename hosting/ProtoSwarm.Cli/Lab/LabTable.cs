using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProtoSwarm.Cli.Lab;

/// <summary>One row of `lab ls`; the property names are the JSON field names.</summary>
internal sealed record LabNodeRow(string Name, string Role, string Address, int Pid, string StateDir)
{
    /// <summary>The running `lab forward -d` ports that reach this node (in JSON; the table lists forwards below the nodes).</summary>
    public IReadOnlyList<LabForwardRow> Forwards { get; init; } = [];
}

/// <summary>One forwarded port of a `lab forward -d` process: ListenAddress:ListenPort on this machine to NodePort on a node.</summary>
internal sealed record LabForwardRow(int Pid, string ListenAddress, int ListenPort, int NodePort);

/// <summary>`lab ls` output: an aligned table as docker prints them, or one JSON object a line.</summary>
internal static class LabTable
{
    private static readonly string[] Headers = ["NAME", "ROLE", "ADDRESS", "PID", "STATE DIR"];

    public static LabNodeRow Row(LabNodeState node, bool running) =>
        new(node.Name, node.Role == LabRole.Manager ? "manager" : "worker", node.Address, running ? node.Pid : 0, node.StateDir);

    public static string Format(IEnumerable<LabNodeRow> rows)
    {
        var cells = rows
            .Select(r => new[] { r.Name, r.Role, r.Address, r.Pid > 0 ? r.Pid.ToString(CultureInfo.InvariantCulture) : "-", r.StateDir })
            .Prepend(Headers)
            .ToList();
        var widths = Enumerable.Range(0, Headers.Length).Select(i => cells.Max(c => c[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var line in cells)
        {
            var padded = line.Select((cell, i) => i == line.Length - 1 ? cell : cell.PadRight(widths[i]));
            text.Append(string.Join("   ", padded).TrimEnd()).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The forwards that run, under the nodes in `lab ls`.</summary>
    public static string FormatForwards(IEnumerable<LabForwardRecord> forwards)
    {
        var cells = forwards
            .Select(f => new[] { f.Pid.ToString(CultureInfo.InvariantCulture), string.Join(",", f.Nodes), f.PortsText })
            .Prepend(["FORWARD PID", "NODES", "PORTS"])
            .ToList();
        var widths = Enumerable.Range(0, 3).Select(i => cells.Max(c => c[i].Length)).ToArray();
        return string.Concat(cells.Select(line =>
            string.Join("   ", line.Select((cell, i) => i == line.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd() + "\n"));
    }

    /// <summary>The rows with the forwards among <paramref name="forwards"/> (the running ones) that reach each node, an entry per port.</summary>
    public static IReadOnlyList<LabNodeRow> WithForwards(IEnumerable<LabNodeRow> rows, IReadOnlyList<LabForwardRecord> forwards) =>
    [
        .. rows.Select(row => row with
        {
            Forwards =
            [
                .. forwards.Where(f => f.Nodes.Contains(row.Name, StringComparer.Ordinal))
                    .SelectMany(f => f.Ports.Select(PortForward.Parse).Select(p => new LabForwardRow(f.Pid, f.Listen, p.ListenPort, p.NodePort))),
            ],
        }),
    ];

    public static string FormatJson(IEnumerable<LabNodeRow> rows) =>
        string.Concat(rows.Select(r => JsonSerializer.Serialize(r, LabJson.Default.LabNodeRow) + "\n"));
}
