using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Cli.Commands;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// Typed reads of a <see cref="ComposeNode"/> tree that collect every problem instead of stopping at
/// the first: each read returns null when the value cannot be used and records an error at the
/// node's position with its key path. Warnings are docker-style sentences without a position.
/// </summary>
internal sealed partial class ComposeReader(Version? version, IReadOnlySet<SourceMark>? reported = null)
{
    private readonly List<ComposeError> _errors = [];
    private readonly List<string> _warnings = [];

    public IReadOnlyList<ComposeError> Errors => _errors;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The file's version (3.0 to 3.x), or null when it names none: every key then is allowed.</summary>
    public Version? Version => version;

    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Item(string path, int index) => $"{path}[{index.ToString(CultureInfo.InvariantCulture)}]";

    /// <summary>Records an error, unless one was reported at the same place before reading began (a value whose interpolation failed is not checked again).</summary>
    public void Error(ComposeNode at, string path, string message)
    {
        if (reported?.Contains(at.Mark) != true)
        {
            _errors.Add(new ComposeError(at.Mark, path, message.TrimEnd('.')));
        }
    }

    public void Warn(string message)
    {
        if (!_warnings.Contains(message))
        {
            _warnings.Add(message);
        }
    }

    /// <summary>A mapping; null (a key with nothing after it) reads as an empty one.</summary>
    public MappingNode? Mapping(ComposeNode node, string path)
    {
        switch (node)
        {
            case MappingNode mapping:
                return mapping;
            case ScalarNode { IsNull: true }:
                return new MappingNode([], node.Mark);
            default:
                Error(node, path, $"expected a mapping, got {node.Describe()}");
                return null;
        }
    }

    /// <summary>
    /// Checks a mapping's keys: unknown ones are errors with the closest known key as a hint. x- keys are extensions
    /// only where docker's schema has them (<paramref name="extensionsSince"/>: the top level from 3.4; a service, network,
    /// volume, secret or config from 3.7; any version when the file names none) and are refused elsewhere, as docker's
    /// "Additional property x-... is not allowed".
    /// </summary>
    public void Keys(MappingNode mapping, string path, IReadOnlyCollection<string> known, Version? extensionsSince = null)
    {
        foreach (var entry in mapping.Entries)
        {
            var key = entry.Key.Value;
            var keyPath = Child(path, key);
            if (key.StartsWith("x-", StringComparison.Ordinal))
            {
                if (extensionsSince is null)
                {
                    Error(entry.Key, keyPath, $"extension key \"{key}\" is not allowed here: x- keys are extensions only at the top level and in a service, network, volume, secret or config; move it there");
                }
                else if (version is not null && version < extensionsSince)
                {
                    Error(entry.Key, keyPath, $"extension key \"{key}\" is not allowed here before compose file version {extensionsSince.ToString(2)}, and this file says version {version.ToString(2)}; raise version: to \"{extensionsSince.ToString(2)}\"");
                }

                continue;
            }

            if (!known.Contains(key))
            {
                var hint = Closest(key, known) is { } close
                    ? $"did you mean \"{close}\"?"
                    : known.Count <= 12 ? $"use one of {string.Join(", ", known)}" : "see the compose file reference for the keys allowed here";
                Error(entry.Key, keyPath, $"unknown key \"{key}\"; {hint}");
                continue;
            }

            if (version is not null && Introduced(keyPath) is { } since && version < since)
            {
                Error(entry.Key, keyPath, $"\"{key}\" needs compose file version {since.ToString(2)} or later, and this file says version {version.ToString(2)}; raise version: to \"{since.ToString(2)}\"");
            }
        }
    }

    public string? String(ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar)
        {
            return scalar.Value;
        }

        Error(node, path, $"expected a string, got {node.Describe()}");
        return null;
    }

    /// <summary>
    /// A whole number from 0 up, as docker's schema takes it: written plain (3), or from a variable at a key docker
    /// casts (replicas: ${N}); a quoted "3", or a variable's value at another key, is a string and refused.
    /// </summary>
    public long? Integer(ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar)
        {
            var number = long.TryParse(scalar.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n);
            var typed = scalar.Interpolated ? CastAt(path) == ComposeCast.Integer : scalar.Plain;
            if (number && typed)
            {
                return n;
            }

            if (number || scalar.Value is ['-', ..] && long.TryParse(scalar.Value[1..], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                if (!typed)
                {
                    Error(node, path, StringNotTyped(scalar, "an integer", scalar.Value));
                    return null;
                }
            }
        }

        Error(node, path, node is ScalarNode { Value: ['-', ..] } negative
            ? $"expected a whole number from 0 up, got \"{negative.Value}\""
            : $"expected an integer, got {node.Describe()}");
        return null;
    }

    /// <summary>
    /// A number, as docker's schema takes it: written plain (0.25, 1, .5, 1e-1, as YAML reads a number), or from a
    /// variable at a key docker casts to a float (max_failure_ratio: ${RATIO}); a quoted "0.25", or a variable's
    /// value at another key, is a string and refused.
    /// </summary>
    public double? Number(ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar && DecimalNumber().IsMatch(scalar.Value))
        {
            var typed = scalar.Interpolated ? CastAt(path) == ComposeCast.Float : scalar.Plain;
            if (!typed)
            {
                Error(node, path, StringNotTyped(scalar, "a number", scalar.Value));
                return null;
            }

            return double.Parse(scalar.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        }

        Error(node, path, $"expected a number, got {node.Describe()}");
        return null;
    }

    /// <summary>
    /// A secret's, config's or tmpfs's file mode, a number as docker's schema takes it, read as docker's loader reads
    /// it: written plain it is a YAML 1.1 integer (docker's yaml.v2: 0440 and 0o440 are octal, 288; 440 is decimal;
    /// 0x120 hex), or a float cut to its whole part (0999 is no octal, so the float 999); from a variable at a key docker
    /// casts (a secret's or config's mode) it is strconv.Atoi's decimal, so "0440" gives 440, said in a warning. A quoted
    /// "0440" is a string and refused. Null with an error when it is no mode from 0 to 0777.
    /// </summary>
    public int? FileMode(ComposeNode node, string path)
    {
        long? mode = null;
        if (node is ScalarNode { IsNull: false } scalar)
        {
            var yaml = YamlWholeNumber(scalar.Value);
            if (scalar.Interpolated && CastAt(path) == ComposeCast.Integer)
            {
                if (!long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var decimalMode))
                {
                    Error(node, path, $"expected a whole number from a variable, got \"{scalar.Value}\": docker reads a variable's mode as a decimal number (Atoi); give the mode in decimal, e.g. 288 for 0440, or write it in the file");
                    return null;
                }

                if (yaml is { } octal && octal != decimalMode)
                {
                    Warn($"{path}: the variable gave \"{scalar.Value}\", which docker reads as the decimal {decimalMode} ({ToOctal(decimalMode)}), not as {ToOctal(octal)}: write the mode in the file, or give {octal} for {ToOctal(octal)}");
                }

                mode = decimalMode;
            }
            else if (yaml is not null && (scalar.Interpolated || !scalar.Plain))
            {
                Error(node, path, StringNotTyped(scalar, "a file mode, a number such as 0440", scalar.Value));
                return null;
            }
            else
            {
                mode = yaml;
            }
        }

        if (mode is >= 0 and <= 0x1FF)
        {
            return (int)mode.Value;
        }

        Error(node, path, mode is { } outside
            ? $"{ToOctal(outside)} is not a file mode; give one from 0 to 0777, such as 0440"
            : $"expected a file mode from 0 to 0777 such as 0440, got {node.Describe()}");
        return null;

        static string ToOctal(long value) => value < 0 ? value.ToString(CultureInfo.InvariantCulture) : "0" + Convert.ToString(value, 8);
    }

    /// <summary>The whole number docker's loader makes of a secret's or config's mode (<see cref="FileMode"/>), or null.</summary>
    public static long? LoadedMode(ScalarNode scalar) => scalar.Interpolated
        ? long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var mode) ? mode : null
        : YamlWholeNumber(scalar.Value);

    /// <summary>A plain YAML 1.1 integer (<see cref="YamlInteger"/>), or a float cut to its whole part as docker's decoder cuts it into a uint32.</summary>
    private static long? YamlWholeNumber(string text) =>
        YamlInteger(text) ?? (DecimalNumber().IsMatch(text) ? (long)Math.Truncate(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)) : null);

    /// <summary>
    /// A plain scalar as docker's yaml.v2 resolves an integer (Go's ParseInt with base 0, after dropping '_'): a sign,
    /// then decimal, 0x hex, 0o or a leading 0 octal, 0b binary; null when it is none.
    /// </summary>
    public static long? YamlInteger(string text)
    {
        var plain = text.Replace("_", "", StringComparison.Ordinal);
        var negative = plain.StartsWith('-');
        var digits = plain.TrimStart('+', '-');
        if (plain.Length - digits.Length > 1 || digits.Length == 0)
        {
            return null;
        }

        var (radix, body) = digits.ToLowerInvariant() switch
        {
            ['0', 'x', .. var rest] => (16, rest),
            ['0', 'o', .. var rest] => (8, rest),
            ['0', 'b', .. var rest] => (2, rest),
            ['0', _, ..] => (8, digits[1..]),
            _ => (10, digits),
        };
        if (body.Length == 0 || body.Any(c => Digit(c) < 0 || Digit(c) >= radix))
        {
            return null;
        }

        try
        {
            var value = Convert.ToInt64(body, radix);
            return negative ? -value : value;
        }
        catch (OverflowException)
        {
            return null;
        }

        static int Digit(char c) => c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
    }

    /// <summary>
    /// A boolean, as docker's schema takes it: true or false written plain (YAML 1.2, as docker's yaml.v3 reads it: yes,
    /// no, on and off are strings), or from a variable at a key docker casts (where y, yes, on, n, no and off count too).
    /// </summary>
    public bool? Bool(ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar)
        {
            if (scalar.Interpolated && CastAt(path) == ComposeCast.Boolean)
            {
                switch (scalar.Value.ToLowerInvariant())
                {
                    case "y" or "yes" or "true" or "on":
                        return true;
                    case "n" or "no" or "false" or "off":
                        return false;
                }
            }
            else if (scalar.Plain && !scalar.Interpolated)
            {
                switch (scalar.Value)
                {
                    case "true" or "True" or "TRUE":
                        return true;
                    case "false" or "False" or "FALSE":
                        return false;
                }
            }

            if (scalar.Value.ToLowerInvariant() is "y" or "yes" or "true" or "on" or "n" or "no" or "false" or "off")
            {
                Error(node, path, StringNotTyped(scalar, "a boolean", scalar.Value.ToLowerInvariant() is "y" or "yes" or "true" or "on" ? "true" : "false"));
                return null;
            }
        }

        Error(node, path, $"expected true or false, got {node.Describe()}");
        return null;
    }

    /// <summary>Why a scalar that reads as a number or a boolean is a string to docker's schema, and what to write.</summary>
    private static string StringNotTyped(ScalarNode scalar, string type, string write) =>
        scalar.Interpolated
            ? $"expected {type}, got the string \"{scalar.Value}\" from a variable: docker converts a variable's value only at some keys (replicas, read_only, tty, ...), not here; write {write} in the file"
            : scalar.Plain
                ? $"expected {type}, got the string \"{scalar.Value}\" (compose files are YAML 1.2, where only true and false are booleans); write {write}"
                : $"expected {type}, got the string \"{scalar.Value}\"; write {write} without quotes";

    /// <summary>What docker's loader casts a variable's value to at this key (<see cref="ComposeSchema.Casts"/>), or null.</summary>
    private static ComposeCast? CastAt(string path) => ComposeSchema.CastAt(ListIndex().Replace(path, "[]").Split('.'));

    public SequenceNode? List(ComposeNode node, string path)
    {
        if (node is SequenceNode list)
        {
            return list;
        }

        Error(node, path, $"expected a list, got {node.Describe()}");
        return null;
    }

    /// <summary>A string, or a list of strings (env_file, tmpfs, dns): one entry per item with its own path.</summary>
    public List<(string Text, ComposeNode Node, string Path)>? StringOrList(ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar)
        {
            return [(scalar.Value, node, path)];
        }

        return node is SequenceNode list ? Strings(list, path) : Fail();

        List<(string, ComposeNode, string)>? Fail()
        {
            Error(node, path, $"expected a string or a list of strings, got {node.Describe()}");
            return null;
        }
    }

    public List<(string Text, ComposeNode Node, string Path)> Strings(SequenceNode list, string path)
    {
        var items = new List<(string, ComposeNode, string)>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            if (String(list.Items[i], Item(path, i)) is { } text)
            {
                items.Add((text, list.Items[i], Item(path, i)));
            }
        }

        return items;
    }

    /// <summary>
    /// Compose's "list or dict" (environment, labels, sysctls, extra_hosts): a mapping KEY: value, or a
    /// list of "KEY&lt;separator&gt;value" strings. A key with no value reads as null.
    /// </summary>
    public List<(string Key, string? Value, ComposeNode Node, string Path)>? ListOrDict(ComposeNode node, string path, char separator = '=')
    {
        var entries = new List<(string, string?, ComposeNode, string)>();
        switch (node)
        {
            case MappingNode mapping:
                foreach (var entry in mapping.Entries)
                {
                    var entryPath = Child(path, entry.Key.Value);
                    switch (entry.Value)
                    {
                        case ScalarNode { IsNull: true }:
                            entries.Add((entry.Key.Value, null, entry.Key, entryPath));
                            break;
                        case ScalarNode scalar:
                            entries.Add((entry.Key.Value, scalar.Value, scalar, entryPath));
                            break;
                        default:
                            Error(entry.Value, entryPath, $"expected a string, number or boolean, got {entry.Value.Describe()}");
                            break;
                    }
                }

                return entries;
            case SequenceNode list:
                foreach (var (text, item, itemPath) in Strings(list, path))
                {
                    var at = text.IndexOf(separator, StringComparison.Ordinal);
                    entries.Add(at < 0 ? (text, null, item, itemPath) : (text[..at], text[(at + 1)..], item, itemPath));
                }

                return entries;
            default:
                Error(node, path, $"expected a mapping or a list of \"KEY{separator}value\" strings, got {node.Describe()}");
                return null;
        }
    }

    /// <summary>A string checked by one of the CLI's value parsers (called with no flag name: the key path says where).</summary>
    public T? Parse<T>(ComposeNode node, string path, Func<string, Checked<T>> parse)
        where T : struct => TryParse(node, path, parse, out var value) ? value : null;

    /// <summary>The same for the parsers that return a reference.</summary>
    public T? ParseObject<T>(ComposeNode node, string path, Func<string, Checked<T>> parse)
        where T : class => TryParse(node, path, parse, out var value) ? value : null;

    private bool TryParse<T>(ComposeNode node, string path, Func<string, Checked<T>> parse, out T value)
    {
        value = default!;
        if (String(node, path) is not { } text)
        {
            return false;
        }

        var parsed = parse(text);
        if (!parsed.IsValid)
        {
            Error(node, path, parsed.Error!);
            return false;
        }

        value = parsed.Value;
        return true;
    }

    /// <summary>
    /// True for `stack config --skip-interpolation`: the values still hold their ${VAR}s, so a text
    /// docker's loader keeps as written (an image, a constraint: <see cref="ParseText"/>) is not checked.
    /// </summary>
    public bool Uninterpolated { get; init; }

    /// <summary>A text checked by <paramref name="parse"/>; left as written when it holds variables not substituted (<see cref="Uninterpolated"/>).</summary>
    public string? ParseText(ComposeNode node, string path, Func<string, Checked<string>> parse) =>
        ParseObject(node, path, text => Uninterpolated && Interpolation.HasReferences(text) ? Checked<string>.Ok(text) : parse(text));

    /// <summary>
    /// A word docker's schema takes as any string and its loader keeps as text, checked only when the
    /// service is converted for the API (deploy's mode, endpoint_mode, a restart condition, a port's mode
    /// and protocol): with <see cref="Uninterpolated"/> one holding variables is not checked and reads
    /// as null (the caller's default), so `stack config --skip-interpolation` prints it as written, as docker's does.
    /// </summary>
    public T? ParseWord<T>(ComposeNode node, string path, Func<string, Checked<T>> parse)
        where T : struct =>
        HoldsVariables(node) ? null : Parse(node, path, parse);

    /// <summary>Whether a value still holds ${VAR}s because interpolation was skipped (<see cref="Uninterpolated"/>).</summary>
    public bool HoldsVariables(ComposeNode node) => Uninterpolated && node is ScalarNode { IsNull: false } scalar && Interpolation.HasReferences(scalar.Value);

    private static Version? Introduced(string path)
    {
        var parts = ListIndex().Replace(path, "[]").Split('.');
        foreach (var (pattern, since) in ComposeSchema.Since)
        {
            var want = pattern.Split('.');
            if (want.Length == parts.Length && want.Zip(parts).All(p => p.First == "*" || p.First == p.Second))
            {
                return System.Version.Parse(since);
            }
        }

        return null;
    }

    /// <summary>The known key nearest to a typo, if one is near enough to be what was meant.</summary>
    public static string? Closest(string key, IEnumerable<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Distance(key.ToLowerInvariant(), k))).OrderBy(k => k.Distance).FirstOrDefault();
        return best.Key is not null && best.Distance <= Math.Max(2, key.Length / 3) && best.Distance < key.Length ? best.Key : null;
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex ListIndex();

    // YAML's (and so docker's yaml.v2's) float: 1, 0.25, .5, 1., 1e-3, with an optional sign.
    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalNumber();
}
