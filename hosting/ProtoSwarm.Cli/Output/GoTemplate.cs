using System.Collections.Frozen;
using System.Text.Json.Nodes;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;
using ProtoSwarm.Contracts.Templating;
using Engine = ProtoSwarm.Contracts.Templating.GoTemplate;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// A `--format` Go template: Go's text/template (<see cref="Engine"/>, the node's templated configs use the
/// same) over the JSON object that `--format json` prints, so both formats name things the same way, plus what
/// docker's formatter adds around it: the `table` prefix (a header row of column titles, cells aligned on the
/// template's tabs) and the `\t`/`\n` escapes it expands.
/// </summary>
internal sealed class GoTemplate
{
    private const string TablePrefix = "table";

    /// <summary>
    /// The fields of docker's objects that are Go maps wherever they appear, in the JSON the views
    /// write: Labels (of a spec, a container, an engine, an image, a volume, a network...), Options (a
    /// log or volume driver's, a network's, IPAM's), DriverOpts, Sysctls, an image's ExposedPorts and
    /// Volumes, a network's Containers, a graph driver's Data, Annotations, a container's HostConfig.Tmpfs. None of them is
    /// ever a struct, so an object under one of these names prints as Go prints a map.
    /// </summary>
    private static readonly FrozenSet<string> MapFields = FrozenSet.ToFrozenSet(
        ["Labels", "Options", "DriverOpts", "Sysctls", "ExposedPorts", "Volumes", "Containers", "Data", "Annotations", "Tmpfs"], StringComparer.Ordinal);

    /// <summary>
    /// A field docker's objects lack prints `&lt;no value&gt;` (the CLI checks the data's own fields before anything is
    /// sent: <see cref="CheckFields"/>); an object's ID written "Id" is reached as .ID as well.
    /// </summary>
    private static readonly GoTemplateOptions Options = new() { MapFields = MapFields, FieldAlias = GoNameOf };

    private readonly Engine _template;

    private GoTemplate(Engine template, bool isTable)
    {
        _template = template;
        IsTable = isTable;
    }

    /// <summary>True for `table ...` formats: a header row, then cells aligned on the template's tabs.</summary>
    public bool IsTable { get; }

    /// <summary>The fields of the data itself the template reads (`Spec` for `{{.Spec.Role}}`; not those inside a range over .Spec.Ports).</summary>
    public IEnumerable<string> Fields => _template.Fields;

    public static bool LooksLikeTemplate(string format) =>
        format.Contains("{{", StringComparison.Ordinal) || format.StartsWith(TablePrefix + " ", StringComparison.Ordinal);

    /// <summary>Parses a format string; a malformed one throws <see cref="FormatException"/> with a sentence placing the fault.</summary>
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
        try
        {
            return new GoTemplate(Engine.Parse(text, Options), isTable);
        }
        catch (GoTemplateException e)
        {
            throw new FormatException($"--format: {e.Message}", e);
        }
    }

    /// <summary>A sentence naming the first field the data does not have, or null when all exist.</summary>
    public string? CheckFields(IReadOnlyCollection<string> known)
    {
        var unknown = Fields.FirstOrDefault(f => !known.Contains(f) && !(GoNameOf(f) is { } json && known.Contains(json)));
        return unknown is null
            ? null
            : $"--format: there is no field .{unknown}; the fields are {string.Join(", ", known.Select(k => "." + k))}.";
    }

    /// <summary>The template over one object; a fault while executing (an index out of range, a function given the wrong type) is the command's error.</summary>
    public string Execute(JsonNode? data)
    {
        try
        {
            return _template.Execute(data);
        }
        catch (GoTemplateException e)
        {
            throw new SwarmCommandException(RejectCode.InvalidArgument, $"--format: {e.Message}");
        }
    }

    /// <summary>The header row of a `table` format: the template with each field standing for its column title (docker's header context).</summary>
    public string ExecuteHeader(Func<string, string> title) => _template.ExecuteHeader(title);

    /// <summary>
    /// The JSON name of a field whose Go name differs from it: docker's network, container and image
    /// objects write their ID as "Id", and a template reaches it as .ID (the Go struct's field) as
    /// well as .Id (docker's fallback to the raw JSON); an event writes its Scope, Time and TimeNano
    /// as "scope", "time" and "timeNano".
    /// </summary>
    private static string? GoNameOf(string field) => field switch
    {
        "ID" => "Id",
        "Scope" => "scope",
        "Time" => "time",
        "TimeNano" => "timeNano",
        _ => null,
    };
}
