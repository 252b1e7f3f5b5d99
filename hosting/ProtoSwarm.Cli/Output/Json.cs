using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// JSON as docker prints it: `--format json` is one compact object a line, `inspect` an array
/// indented by four spaces. Non-ASCII text stays readable; HTML characters are escaped as Go does.
/// </summary>
internal static class Json
{
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);

    private static readonly JsonSerializerOptions Compact = new() { Encoder = Encoder };

    private static readonly JsonSerializerOptions Indented = new()
    {
        Encoder = Encoder,
        WriteIndented = true,
        IndentSize = 4,
    };

    public static string Line(JsonNode? node) => node?.ToJsonString(Compact) ?? "null";

    public static string Lines(IEnumerable<JsonNode> nodes) =>
        string.Concat(nodes.Select(node => Line(node) + "\n"));

    public static string IndentedArray(IEnumerable<JsonNode> nodes) =>
        new JsonArray(nodes.Select(node => (JsonNode?)node.DeepClone()).ToArray()).ToJsonString(Indented) + "\n";

    /// <summary>Go's RFC3339Nano for UTC: fractional seconds without trailing zeros, `Z` suffix.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
