using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts.Templating;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// JSON as docker prints it: `--format json` is one compact object a line, `inspect` an array
/// indented by four spaces, both written as Go's encoding/json writes them (<see cref="GoJson"/>).
/// Never with &lt;, &gt; and &amp; escaped: docker's `json` template function and its daemon's API
/// write with SetEscapeHTML(false), and inspect only lays out the daemon's JSON (json.Indent, json.Compact).
/// </summary>
internal static class Json
{
    public static string Line(JsonNode? node) => GoJson.Line(node, escapeHtml: false);

    public static string Lines(IEnumerable<JsonNode> nodes) =>
        string.Concat(nodes.Select(node => Line(node) + "\n"));

    public static string IndentedArray(IEnumerable<JsonNode> nodes) => GoJson.IndentedArray(nodes, escapeHtml: false);

    /// <summary>`inspect --format json`: all the objects as one compact array, a final newline (docker's JSONInspector).</summary>
    public static string CompactArray(IEnumerable<JsonNode> nodes) => Line(new JsonArray([.. nodes])) + "\n";

    /// <summary>A string field with Go's omitempty: set only when not empty.</summary>
    public static void AddText(JsonObject json, string name, string value)
    {
        if (value.Length > 0)
        {
            json[name] = value;
        }
    }

    /// <summary>A bool field with Go's omitempty: set only when true.</summary>
    public static void AddFlag(JsonObject json, string name, bool value)
    {
        if (value)
        {
            json[name] = true;
        }
    }

    /// <summary>Go's RFC3339Nano for UTC: fractional seconds without trailing zeros, `Z` suffix.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Go's time.Time String() of a UTC time, `2026-12-06 07:45:57.1234567 +0000 UTC` (fraction without trailing
    /// zeros, none when whole): what docker prints for a time in a template or a listing's CreatedAt, and its pretty output.
    /// </summary>
    public static string GoTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture) + " +0000 UTC";

    /// <summary>
    /// Go's nil slice: its JSON encoder writes null, as for a nil pointer, but a template prints `[]`
    /// where a nil pointer prints `&lt;nil&gt;`. A view gives an empty list docker leaves nil as this.
    /// </summary>
    public static JsonNode NilSlice() => GoJson.NilSlice();

    /// <summary>Go's nil map: null in JSON, `map[]` in a template.</summary>
    public static JsonNode NilMap() => GoJson.NilMap();

    /// <summary>How Go's text/template prints a nil slice or map given as <see cref="NilSlice"/> or <see cref="NilMap"/>; null for any other node.</summary>
    public static string? GoNilText(JsonNode? node) => GoJson.GoNilText(node);
}
