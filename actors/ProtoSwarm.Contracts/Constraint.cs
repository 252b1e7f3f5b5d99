using System.Collections.Immutable;
using System.Net;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

public enum ConstraintOperator
{
    Equal = 0,
    NotEqual = 1,
}

/// <summary>
/// One placement constraint, parsed as docker parses it (swarmkit's constraint.Parse): the first
/// of "==" then "!=" found splits key from value, both trimmed; the key is a letter or underscore
/// then letters, digits, '-', '_' or '.'; the value may not hold an operator character. Values
/// compare case-insensitively; label names are case-sensitive, as in docker.
/// </summary>
public sealed partial record Constraint(string Key, ConstraintOperator Operator, string Value)
{
    public const string NodeLabelPrefix = "node.labels.";
    public const string EngineLabelPrefix = "engine.labels.";

    /// <summary>The keys a constraint may name, besides node.labels.X (`node update --label-add`) and engine.labels.X (`protoswarmd --label`).</summary>
    public static readonly ImmutableArray<string> Keys = ["node.id", "node.hostname", "node.ip", "node.role", "node.platform.os", "node.platform.arch"];

    private static readonly string[] Operators = ["==", "!="];

    [GeneratedRegex(@"^[a-z_][a-z0-9\-_.]+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"^[a-z0-9:\-_\s\.\*\(\)\?\+\[\]\\\^\$\|\/]+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ValuePattern();

    /// <summary>Parses one constraint; on failure, <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryParse(string text, out Constraint? constraint, out string? error)
    {
        constraint = null;
        for (var op = 0; op < Operators.Length; op++)
        {
            var at = text.IndexOf(Operators[op], StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            var key = text[..at].Trim();
            var value = text[(at + 2)..].Trim();
            if (!KeyPattern().IsMatch(key))
            {
                error = $"key '{key}' is invalid";
                return false;
            }

            if (!ValuePattern().IsMatch(value))
            {
                error = $"value '{value}' is invalid";
                return false;
            }

            constraint = new Constraint(key, (ConstraintOperator)op, value);
            error = null;
            return true;
        }

        error = "constraint expected one operator from ==, !=";
        return false;
    }

    /// <summary>Parses every constraint or throws with the first one's problem; the validator has refused bad ones before this.</summary>
    public static ImmutableArray<Constraint> ParseAll(IEnumerable<string> texts) =>
    [
        .. texts.Select(t => TryParse(t, out var c, out var error)
            ? c!
            : throw new FormatException($"constraint '{t}': {error}")),
    ];

    /// <summary>Whether the key names something a node has (node.labels.X, engine.labels.X, or one of <see cref="Keys"/>), case-insensitively as docker does.</summary>
    public static bool IsKnownKey(string key) =>
        IsLabel(key) || Keys.Contains(key, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The node's value of a label key, node.labels.X or engine.labels.X (a spread preference's descriptor, a
    /// constraint's key): "" when the node lacks the label, as swarmkit reads it; null when the key names no label.
    /// </summary>
    public static string? LabelValue(string key, NodeObject node)
    {
        if (IsLabelKey(key, NodeLabelPrefix))
        {
            return node.Spec?.Labels.GetValueOrDefault(key[NodeLabelPrefix.Length..]) ?? "";
        }

        return IsLabelKey(key, EngineLabelPrefix) ? node.Description?.EngineLabels.GetValueOrDefault(key[EngineLabelPrefix.Length..]) ?? "" : null;
    }

    /// <summary>Whether the key is node.labels.X or engine.labels.X, with a name: what a spread preference may name.</summary>
    public static bool IsLabel(string key) => IsLabelKey(key, NodeLabelPrefix) || IsLabelKey(key, EngineLabelPrefix);

    private static bool IsLabelKey(string key, string prefix) =>
        key.Length > prefix.Length && key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a node satisfies the constraint, as swarmkit's NodeMatches: a missing label or
    /// description reads as "", so "!=" holds and "==" does not; an unknown key never holds.
    /// </summary>
    public bool Matches(NodeObject node)
    {
        string? actual;
        if (LabelValue(Key, node) is { } label)
        {
            actual = label;
        }
        else if (Key.Equals("node.ip", StringComparison.OrdinalIgnoreCase))
        {
            return MatchesAddress(node.Status?.Addr);
        }
        else
        {
            actual = Key.ToLowerInvariant() switch
            {
                "node.id" => node.Id,
                "node.hostname" => node.Description?.Hostname ?? "",
                "node.role" => node.Role == NodeRole.Manager ? "manager" : "worker",
                "node.platform.os" => node.Description?.Os ?? "",
                "node.platform.arch" => node.Description?.Architecture ?? "",
                _ => null,
            };
            if (actual is null)
            {
                return false;
            }
        }

        var equal = string.Equals(Value, actual, StringComparison.OrdinalIgnoreCase);
        return Operator == ConstraintOperator.Equal ? equal : !equal;
    }

    /// <summary>Whether the value of a node.ip constraint is an address or a CIDR subnet; anything else never matches.</summary>
    public bool HasAddressValue => TryParseAddress(Value, out _) || TryParseSubnet(Value, out _);

    // .NET reads "10.0.0" as 10.0.0.0 and "10" as 0.0.0.10; Go's net.ParseIP, which docker uses, refuses both.
    private static bool TryParseAddress(string text, out IPAddress? address)
    {
        address = null;
        var strict = text.Contains(':', StringComparison.Ordinal) || text.Count(c => c == '.') == 3;
        return strict && IPAddress.TryParse(text, out address);
    }

    private static bool TryParseSubnet(string text, out IPNetwork subnet)
    {
        subnet = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && TryParseAddress(text[..slash], out _) && IPNetwork.TryParse(text, out subnet);
    }

    // swarmkit: node.ip==2001:db8::2 compares one address, node.ip!=10.0.0.0/24 a subnet; a malformed one never holds.
    private bool MatchesAddress(string? addr)
    {
        bool holds;
        var nodeAddress = TryParseAddress(addr ?? "", out var parsed) ? parsed : null;
        if (TryParseAddress(Value, out var address))
        {
            holds = address!.Equals(nodeAddress);
        }
        else if (TryParseSubnet(Value, out var subnet))
        {
            holds = nodeAddress is not null && subnet.Contains(nodeAddress);
        }
        else
        {
            return false;
        }

        return Operator == ConstraintOperator.Equal ? holds : !holds;
    }

    public override string ToString() => $"{Key}{(Operator == ConstraintOperator.Equal ? "==" : "!=")}{Value}";
}
