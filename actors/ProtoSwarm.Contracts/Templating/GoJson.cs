using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// JSON as Go's encoding/json writes it, for docker's outputs and the templates' <c>json</c> function: strings
/// escaped as Go escapes them, not as System.Text.Json's encoders do: `\"` rather than \u0022, '+' and '\'' and
/// non-ASCII text as they are, U+2028 and U+2029 always as \u2028 and \u2029 (Go's encoder escapes them even with
/// SetEscapeHTML(false)), and &lt;, &gt;, &amp; as \u003c, \u003e, \u0026 only with escapeHTML (json.Marshal's
/// default; docker's outputs and its template function turn it off). Also Go's nil slice and nil map, which the JSON cannot tell from a nil pointer
/// but a template prints differently.
/// </summary>
public static class GoJson
{
    private const string Indent = "    ";

    /// <summary>How a nil marker is written (null); built by hand, so no reflection is needed (the CLI is compiled ahead of time).</summary>
    private static readonly JsonTypeInfo<GoNil> GoNilInfo = JsonMetadataServices.CreateValueInfo<GoNil>(
        new JsonSerializerOptions { TypeInfoResolver = JsonTypeInfoResolver.Combine() }, new GoNilConverter());

    /// <summary>One compact line, as json.Marshal writes it (<paramref name="escapeHtml"/>) or an Encoder with SetEscapeHTML(false).</summary>
    public static string Line(JsonNode? node, bool escapeHtml = true)
    {
        var text = new StringBuilder();
        Write(text, node, indented: false, depth: 0, escapeHtml);
        return text.ToString();
    }

    /// <summary>
    /// An array of the nodes indented by four spaces, with a final newline: docker's inspect, the daemon's JSON (an Encoder
    /// with SetEscapeHTML(false) unless <paramref name="escapeHtml"/>) laid out by json.Indent, which keeps its escapes.
    /// </summary>
    public static string IndentedArray(IEnumerable<JsonNode> nodes, bool escapeHtml = true)
    {
        var text = new StringBuilder();
        WriteItems(text, '[', ']', nodes.Select(node => (Key: (string?)null, Value: (JsonNode?)node)).ToList(), indented: true, depth: 0, escapeHtml);
        return text.Append('\n').ToString();
    }

    /// <summary>
    /// Go's nil slice: its JSON encoder writes null, as for a nil pointer, but a template prints `[]`
    /// where a nil pointer prints `&lt;nil&gt;`. A view gives an empty list docker leaves nil as this.
    /// </summary>
    public static JsonNode NilSlice() => JsonValue.Create(GoNil.Slice, GoNilInfo)!;

    /// <summary>Go's nil map: null in JSON, `map[]` in a template.</summary>
    public static JsonNode NilMap() => JsonValue.Create(GoNil.Map, GoNilInfo)!;

    /// <summary>How Go's text/template prints a nil slice or map given as <see cref="NilSlice"/> or <see cref="NilMap"/>; null for any other node.</summary>
    public static string? GoNilText(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<GoNil>(out var nil) ? nil.Printed : null;

    /// <summary>A string value's text, also when it holds something written as a string (a date, a Guid).</summary>
    public static string StringOf(JsonValue value)
    {
        if (value.TryGetValue<string>(out var text))
        {
            return text;
        }

        using var written = JsonDocument.Parse(value.ToJsonString());
        return written.RootElement.GetString() ?? string.Empty;
    }

    private static void Write(StringBuilder text, JsonNode? node, bool indented, int depth, bool escapeHtml)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                WriteItems(text, '{', '}', obj.Select(p => (Key: (string?)p.Key, p.Value)).ToList(), indented, depth, escapeHtml);
                break;
            case JsonArray array:
                WriteItems(text, '[', ']', array.Select(v => (Key: (string?)null, Value: v)).ToList(), indented, depth, escapeHtml);
                break;
            case JsonValue value when GoNilText(value) is not null:
                text.Append("null");
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                WriteString(text, StringOf(value), escapeHtml);
                break;
            default:
                text.Append(node.ToJsonString());
                break;
        }
    }

    /// <summary>An object's members or an array's items, one a line and indented when asked, as Go's MarshalIndent; empty is `{}` or `[]`.</summary>
    private static void WriteItems(StringBuilder text, char open, char close, List<(string? Key, JsonNode? Value)> items, bool indented, int depth, bool escapeHtml)
    {
        text.Append(open);
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            if (indented)
            {
                NewLine(text, depth + 1);
            }

            if (items[i].Key is { } key)
            {
                WriteString(text, key, escapeHtml);
                text.Append(indented ? ": " : ":");
            }

            Write(text, items[i].Value, indented, depth + 1, escapeHtml);
        }

        if (indented && items.Count > 0)
        {
            NewLine(text, depth);
        }

        text.Append(close);
    }

    private static void NewLine(StringBuilder text, int depth)
    {
        text.Append('\n');
        for (var i = 0; i < depth; i++)
        {
            text.Append(Indent);
        }
    }

    /// <summary>A string as Go's encoding/json writes it.</summary>
    private static void WriteString(StringBuilder text, string value, bool escapeHtml)
    {
        text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
                    break;
                case < ' ' or '\u2028' or '\u2029':
                case '<' or '>' or '&' when escapeHtml:
                    text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                case >= '\ud800' and <= '\udbff' when i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]):
                    text.Append(c).Append(value[++i]);
                    break;
                case >= '\ud800' and <= '\udfff':
                    // A lone surrogate is not text: Go writes invalid UTF-8 as the replacement character.
                    text.Append("\\ufffd");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        text.Append('"');
    }

    /// <summary>The value behind <see cref="NilSlice"/> and <see cref="NilMap"/>: what a template prints for it.</summary>
    private sealed class GoNil(string printed)
    {
        public static readonly GoNil Slice = new("[]");
        public static readonly GoNil Map = new("map[]");

        public string Printed { get; } = printed;
    }

    /// <summary>Writes a nil slice or map as Go's encoder does: null. Nothing reads one back.</summary>
    private sealed class GoNilConverter : JsonConverter<GoNil>
    {
        public override GoNil Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("A Go nil marker is written only.");

        public override void Write(Utf8JsonWriter writer, GoNil value, JsonSerializerOptions options) => writer.WriteNullValue();
    }
}
