using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// The part of Go's text/template that `--format` strings in scripts use: `{{.Field}}`,
/// `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`, `upper`/`lower`/`title`, the `table` prefix and the
/// `\t`/`\n` escapes docker's formatter expands. Fields are looked up in the same JSON object that
/// `--format json` prints, so both formats name things the same way.
/// </summary>
internal sealed class GoTemplate
{
    private const string TablePrefix = "table";
    private const string NoValue = "<no value>";
    private static readonly string[] Functions = ["json", "upper", "lower", "title"];

    /// <summary>
    /// The fields of docker's objects that are Go maps wherever they appear, in the JSON the views
    /// write: Labels (of a spec, a container, an engine, an image, a volume, a network...), Options (a
    /// log or volume driver's, a network's, IPAM's), DriverOpts, Sysctls, an image's ExposedPorts and
    /// Volumes, a network's Containers, a graph driver's Data, Annotations. None of them is ever a
    /// struct, so an object under one of these names prints as Go prints a map.
    /// </summary>
    private static readonly FrozenSet<string> MapFields = FrozenSet.ToFrozenSet(
        ["Labels", "Options", "DriverOpts", "Sysctls", "ExposedPorts", "Volumes", "Containers", "Data", "Annotations"], StringComparer.Ordinal);

    private readonly IReadOnlyList<Segment> _segments;

    private GoTemplate(IReadOnlyList<Segment> segments, bool isTable)
    {
        _segments = segments;
        IsTable = isTable;
    }

    /// <summary>True for `table ...` formats: a header row, then cells aligned on the template's tabs.</summary>
    public bool IsTable { get; }

    /// <summary>The top-level fields the template reads (`Spec` for `{{.Spec.Role}}`).</summary>
    public IEnumerable<string> Fields =>
        _segments.OfType<Action>().Where(a => a.Path.Length > 0).Select(a => a.Path[0]).Distinct(StringComparer.Ordinal);

    public static bool LooksLikeTemplate(string format) =>
        format.Contains("{{", StringComparison.Ordinal) || format.StartsWith(TablePrefix + " ", StringComparison.Ordinal);

    /// <summary>Parses a format string; a malformed one throws <see cref="FormatException"/> with a sentence.</summary>
    public static GoTemplate Parse(string format)
    {
        var text = format;
        var isTable = false;
        if (text.StartsWith(TablePrefix, StringComparison.Ordinal) &&
            (text.Length == TablePrefix.Length || char.IsWhiteSpace(text[TablePrefix.Length])))
        {
            isTable = true;
            text = text[TablePrefix.Length..];
        }

        text = text.Trim(' ').Replace(@"\t", "\t", StringComparison.Ordinal).Replace(@"\n", "\n", StringComparison.Ordinal);
        var segments = new List<Segment>();
        var trimNextLiteral = false;
        var at = 0;
        while (at < text.Length)
        {
            var open = text.IndexOf("{{", at, StringComparison.Ordinal);
            var literal = open < 0 ? text[at..] : text[at..open];
            if (trimNextLiteral)
            {
                literal = literal.TrimStart();
            }

            if (open < 0)
            {
                AddLiteral(segments, literal);
                break;
            }

            var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"--format: '{{{{' at character {open + 1} is never closed with '}}}}'.");
            }

            var inner = text[(open + 2)..close];
            if (inner.StartsWith('-'))
            {
                literal = literal.TrimEnd();
                inner = inner[1..];
            }

            trimNextLiteral = inner.EndsWith('-');
            if (trimNextLiteral)
            {
                inner = inner[..^1];
            }

            AddLiteral(segments, literal);
            segments.Add(ParseAction(inner.Trim()));
            at = close + 2;
        }

        return new GoTemplate(segments, isTable);
    }

    /// <summary>A sentence naming the first field the data does not have, or null when all exist.</summary>
    public string? CheckFields(IReadOnlyCollection<string> known)
    {
        var unknown = Fields.FirstOrDefault(f => !known.Contains(f) && !(GoNameOf(f) is { } json && known.Contains(json)));
        return unknown is null
            ? null
            : $"--format: there is no field .{unknown}; the fields are {string.Join(", ", known.Select(k => "." + k))}.";
    }

    public string Execute(JsonNode? data)
    {
        var text = new StringBuilder();
        foreach (var segment in _segments)
        {
            text.Append(segment switch
            {
                Literal literal => literal.Text,
                Action action => action.Render(Index(Lookup(data, action.Path), action.Keys)),
                _ => string.Empty,
            });
        }

        return text.ToString();
    }

    /// <summary>The header row of a `table` format: each field replaced by its column title.</summary>
    public string ExecuteHeader(Func<string, string> title)
    {
        var text = new StringBuilder();
        foreach (var segment in _segments)
        {
            text.Append(segment switch
            {
                Literal literal => literal.Text,
                Action { Path.Length: > 0 } action => title(action.Path[^1]),
                _ => string.Empty,
            });
        }

        return text.ToString();
    }

    private static void AddLiteral(List<Segment> segments, string text)
    {
        if (text.Length > 0)
        {
            segments.Add(new Literal(text));
        }
    }

    private static Action ParseAction(string inner)
    {
        var words = Words(inner);
        var (function, path, keys) = words switch
        {
            [{ Quoted: false } p] => (null, p.Text, []),
            [{ Quoted: false } f, { Quoted: false } p] when Functions.Contains(f.Text) => (f.Text, p.Text, []),
            [{ Text: "index", Quoted: false }, { Quoted: false } p, .. var rest] when rest.Count > 0 => ("index", p.Text, rest.Select(k => IndexKey(k, inner)).ToArray()),
            _ => throw new FormatException(
                $"--format: '{{{{{inner}}}}}' is not supported; use {{{{.Field}}}}, {{{{.A.B}}}}, {{{{json .}}}} or {{{{index .Map \"key\"}}}} (also upper, lower, title)."),
        };
        if (!path.StartsWith('.'))
        {
            throw new FormatException($"--format: '{{{{{inner}}}}}' must name a field starting with a dot, like {{{{.ID}}}}.");
        }

        var parts = path == "." ? [] : path[1..].Split('.');
        if (parts.Any(p => p.Length == 0))
        {
            throw new FormatException($"--format: '{path}' is not a field path; write it like .Spec.Role.");
        }

        return new Action(function, parts, keys);
    }

    /// <summary>
    /// An action's words as Go's lexer splits them: on spaces, except inside a "quoted" string (with
    /// Go's backslash escapes) or a `raw` one, so a key such as "com.example.key" or "a b" is one word.
    /// </summary>
    private static List<Word> Words(string inner)
    {
        var words = new List<Word>();
        var at = 0;
        while (at < inner.Length)
        {
            if (char.IsWhiteSpace(inner[at]))
            {
                at++;
                continue;
            }

            if (inner[at] is '"' or '`')
            {
                var quote = inner[at];
                var text = new StringBuilder();
                var end = at + 1;
                for (; end < inner.Length && inner[end] != quote; end++)
                {
                    if (quote == '"' && inner[end] == '\\' && end + 1 < inner.Length)
                    {
                        end++;
                        text.Append(inner[end] switch { 'n' => '\n', 't' => '\t', var c => c });
                        continue;
                    }

                    text.Append(inner[end]);
                }

                if (end >= inner.Length)
                {
                    throw new FormatException($"--format: the string starting at {inner[at..]} in '{{{{{inner}}}}}' is never closed with {quote}.");
                }

                words.Add(new Word(text.ToString(), Quoted: true));
                at = end + 1;
                continue;
            }

            var start = at;
            while (at < inner.Length && !char.IsWhiteSpace(inner[at]))
            {
                at++;
            }

            words.Add(new Word(inner[start..at], Quoted: false));
        }

        return words;
    }

    /// <summary>An argument of index: a quoted string is a map key (any text, dots and all), a bare whole number a list position.</summary>
    private static object IndexKey(Word word, string inner) =>
        word.Quoted ? word.Text
        : int.TryParse(word.Text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position) ? position
        : throw new FormatException($"--format: index takes a quoted key or a whole number, not {word.Text}, in '{{{{{inner}}}}}'; e.g. {{{{index .Spec.Labels \"com.example.key\"}}}}.");

    /// <summary>
    /// Go's index: a map's value at a key (a key it lacks, or a nil map, gives the zero value, which
    /// for docker's string maps prints empty), a list's item at a position.
    /// </summary>
    private static JsonNode? Index(JsonNode? value, IEnumerable<object> keys)
    {
        foreach (var key in keys)
        {
            if (ReferenceEquals(value, MissingValue.Instance))
            {
                return value;
            }

            value = (value, key) switch
            {
                (JsonObject map, string name) => map.TryGetPropertyValue(name, out var item) ? item : JsonValue.Create(""),
                (JsonArray list, int position) when position < list.Count => list[position],
                _ when Json.GoNilText(value) == "map[]" && key is string => JsonValue.Create(""),
                _ => MissingValue.Instance,
            };
        }

        return value;
    }

    private static JsonNode? Lookup(JsonNode? data, string[] path)
    {
        var node = data;
        foreach (var part in path)
        {
            if (node is not JsonObject obj ||
                (!obj.TryGetPropertyValue(part, out node) && !(GoNameOf(part) is { } json && obj.TryGetPropertyValue(json, out node))))
            {
                return MissingValue.Instance;
            }
        }

        return node;
    }

    /// <summary>
    /// The JSON name of a field whose Go name differs from it: docker's network, container and image
    /// objects write their ID as "Id", and a template reaches it as .ID (the Go struct's field) as
    /// well as .Id (docker's fallback to the raw JSON).
    /// </summary>
    private static string? GoNameOf(string field) => field == "ID" ? "Id" : null;

    private abstract record Segment;

    private sealed record Literal(string Text) : Segment;

    private sealed record Word(string Text, bool Quoted);

    private sealed record Action(string? Function, string[] Path, object[] Keys) : Segment
    {
        public string Render(JsonNode? value)
        {
            if (Function == "json")
            {
                return ReferenceEquals(value, MissingValue.Instance) ? "null" : Json.Line(value);
            }

            var text = Print(value);
            return Function switch
            {
                "upper" => text.ToUpperInvariant(),
                "lower" => text.ToLowerInvariant(),
                "title" => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..],
                _ => text,
            };
        }

        /// <summary>
        /// A value as Go's text/template prints it: null is a nil pointer (`&lt;nil&gt;`), a nil slice or
        /// map is `[]` or `map[]` (<see cref="Json.NilSlice"/>), a list `[a b]`, a map (<see cref="IsMap"/>)
        /// `map[k1:v1 k2:v2]` with its keys sorted, as Go's fmt sorts them. Another object (a Go struct,
        /// which Go prints as `{v1 v2}` in field order) stays JSON.
        /// </summary>
        private static string Print(JsonNode? value) => value switch
        {
            _ when ReferenceEquals(value, MissingValue.Instance) => NoValue,
            null => "<nil>",
            _ when Json.GoNilText(value) is { } nil => nil,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.True => "true",
            JsonValue v when v.GetValueKind() == JsonValueKind.False => "false",
            JsonValue v => v.ToJsonString(),
            JsonArray items => "[" + string.Join(" ", items.Select(Print)) + "]",
            JsonObject map when IsMap(map) => "map[" + string.Join(" ", map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Print(p.Value))) + "]",
            _ => Json.Line(value),
        };

        /// <summary>
        /// Whether an object is a Go map in docker's types rather than a struct. JSON cannot say, but the
        /// fields docker's objects hold as maps have names no struct field of theirs uses:
        /// <see cref="MapFields"/>.
        /// </summary>
        private static bool IsMap(JsonObject value) => value.Parent is JsonObject && MapFields.Contains(value.GetPropertyName());
    }

    /// <summary>Stands for a field the data lacks, which Go prints as "&lt;no value&gt;".</summary>
    private static class MissingValue
    {
        public static readonly JsonNode Instance = JsonValue.Create("<missing>");
    }
}
