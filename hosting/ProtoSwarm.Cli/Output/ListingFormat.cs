using System.Text;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// How a listing prints, from docker's `-q` and `--format`: the default table ("table" or nothing),
/// one JSON object a line ("json", "{{json .}}"), ids only (-q), or a Go template over the JSON
/// object's fields. Chosen and checked before anything is sent, so a typo costs no round trip.
/// </summary>
internal sealed class ListingFormat
{
    private readonly Kind _kind;
    private readonly GoTemplate? _template;

    private ListingFormat(Kind kind, GoTemplate? template = null)
    {
        _kind = kind;
        _template = template;
    }

    private enum Kind
    {
        Table,
        Json,
        Quiet,
        Template,
    }

    /// <summary>Null and a sentence naming the fault when the format cannot be used for these fields.</summary>
    public static ListingFormat? Parse(string? format, bool quiet, IReadOnlyCollection<string> fields, out string? error)
    {
        error = null;
        if (quiet)
        {
            return new ListingFormat(Kind.Quiet);
        }

        switch (format?.Trim())
        {
            case null or "" or "table":
                return new ListingFormat(Kind.Table);
            case "json" or "{{json .}}":
                return new ListingFormat(Kind.Json);
        }

        if (!GoTemplate.LooksLikeTemplate(format))
        {
            error = $"--format '{format}' is not a format; use table, json, or a Go template such as '{{{{.ID}}}}'.";
            return null;
        }

        try
        {
            var template = GoTemplate.Parse(format);
            error = template.CheckFields(fields);
            return error is null ? new ListingFormat(Kind.Template, template) : null;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>Whether a Go template format reads any of these fields (so what they need is fetched only then).</summary>
    public bool Reads(IEnumerable<string> fields) => _template is { } template && template.Fields.Intersect(fields, StringComparer.Ordinal).Any();

    /// <summary>Checks a format for System.CommandLine's validators: the sentence, or null when fine.</summary>
    public static string? Check(string? format, IReadOnlyCollection<string> fields)
    {
        Parse(format, quiet: false, fields, out var error);
        return error;
    }

    /// <summary>Renders items; defaultTable is used for the table format, idField for -q.</summary>
    public string Render(
        IReadOnlyList<JsonObject> items,
        Func<string> defaultTable,
        IReadOnlyDictionary<string, string> titles,
        string idField = "ID")
    {
        switch (_kind)
        {
            case Kind.Table:
                return defaultTable();
            case Kind.Json:
                return Json.Lines(items);
            case Kind.Quiet:
                return string.Concat(items.Select(i => i[idField]?.GetValue<string>() + "\n"));
        }

        var template = _template!;
        var lines = items.Select(template.Execute);
        if (template.IsTable)
        {
            var header = template.ExecuteHeader(field => titles.TryGetValue(field, out var title) ? title : field.ToUpperInvariant());
            return Table.RenderTabbed(lines.SelectMany(SplitLines).Prepend(header));
        }

        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    private static IEnumerable<string> SplitLines(string text) => text.Split('\n');
}
