using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `node ls --filter`, applied to the listing: id and name match a prefix, role and membership
/// exactly, label (an engine label, `protoswarmd --label`) and node.label (`node update --label-add`)
/// a key or key=value, as docker's. Values of one key are alternatives; keys combine.
/// </summary>
internal sealed class NodeFilter
{
    public static readonly ImmutableArray<string> Keys = ["id", "label", "name", "role", "membership", "node.label"];

    private readonly ILookup<string, string> _terms;

    private NodeFilter(ILookup<string, string> terms) => _terms = terms;

    public static NodeFilter None { get; } = new(Array.Empty<string>().ToLookup(s => s));

    public static Checked<NodeFilter> Parse(IEnumerable<string> filters)
    {
        var terms = new List<(string Key, string Value)>();
        foreach (var filter in filters)
        {
            if (Check(filter) is { } error)
            {
                return Checked<NodeFilter>.Fail(error);
            }

            var equals = filter.IndexOf('=', StringComparison.Ordinal);
            terms.Add((filter[..equals].Trim(), filter[(equals + 1)..]));
        }

        return Checked<NodeFilter>.Ok(new NodeFilter(terms.ToLookup(t => t.Key, t => t.Value, StringComparer.Ordinal)));
    }

    /// <summary>The sentence that says why one --filter value cannot be used, or null.</summary>
    public static string? Check(string filter)
    {
        var equals = filter.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return $"--filter '{filter}' must be key=value, with key one of {string.Join(", ", Keys)}.";
        }

        var key = filter[..equals].Trim();
        var value = filter[(equals + 1)..];
        return key switch
        {
            _ when !Keys.Contains(key) => $"--filter '{filter}': '{key}' is not a node filter; use one of {string.Join(", ", Keys)}.",
            "role" when value is not ("manager" or "worker") => $"--filter '{filter}': role must be manager or worker.",
            "membership" when value is not ("accepted" or "pending") => $"--filter '{filter}': membership must be accepted or pending.",
            _ => null,
        };
    }

    public bool Matches(NodeObject node)
    {
        foreach (var term in _terms)
        {
            if (!term.Any(value => Matches(node, term.Key, value)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Matches(NodeObject node, string key, string value) => key switch
    {
        "id" => node.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => node.Description.Hostname.StartsWith(value, StringComparison.Ordinal),
        "role" => (value == "manager") == (node.Role == NodeRole.Manager),

        // Nodes in the managers' store have all been accepted: certificates are issued on join.
        "membership" => value == "accepted",
        "node.label" => MatchesLabel(node.Spec.Labels, value),
        "label" => MatchesLabel(node.Description.EngineLabels, value),
        _ => false,
    };

    private static bool MatchesLabel(ImmutableSortedDictionary<string, string> labels, string term)
    {
        var equals = term.IndexOf('=', StringComparison.Ordinal);
        return equals < 0
            ? labels.ContainsKey(term)
            : labels.TryGetValue(term[..equals], out var value) && value == term[(equals + 1)..];
    }
}
