using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Compose;

namespace ProtoSwarm.Cli.Output;

/// <summary>One `stack ls` row: a stack's name and how many services carry its namespace label.</summary>
internal sealed record StackRow(string Name, int Services);

/// <summary>
/// How stacks are shown. A stack is no object of its own: it is the services and networks that carry
/// docker's namespace label, so `stack ls` counts services per label value. `stack services` and
/// `stack ps` reuse <see cref="ServiceView"/>'s rows.
/// </summary>
internal static class StackView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Name"] = "NAME",
        ["Services"] = "SERVICES",
    };

    public static bool InStack(ImmutableSortedDictionary<string, string> labels, string stack) =>
        labels.TryGetValue(StackModel.NamespaceLabel, out var value) && value == stack;

    /// <summary>Docker's words when a stack has nothing on the swarm.</summary>
    public static string NothingFound(string stack) => $"Nothing found in stack: {stack}";

    public static IReadOnlyList<StackRow> Rows(IEnumerable<ImmutableSortedDictionary<string, string>> serviceLabels) =>
        [.. serviceLabels
            .Select(labels => labels.GetValueOrDefault(StackModel.NamespaceLabel))
            .OfType<string>()
            .GroupBy(name => name, StringComparer.Ordinal)
            .Select(group => new StackRow(group.Key, group.Count()))
            .OrderBy(row => row.Name, NaturalOrder.Instance)];

    public static string Table(IEnumerable<StackRow> rows) => Output.Table.Render(
        rows.Select(r => (IReadOnlyList<string>)[r.Name, r.Services.ToString(CultureInfo.InvariantCulture)]).Prepend(["NAME", "SERVICES"]));

    /// <summary>Docker's JSON for a stack: the count as a string, as its formatter gives it.</summary>
    public static JsonObject ToJson(StackRow row) => new()
    {
        ["Name"] = row.Name,
        ["Services"] = row.Services.ToString(CultureInfo.InvariantCulture),
    };
}
