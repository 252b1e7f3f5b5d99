using System.Collections.Immutable;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ProtoSwarm.Cli.Compose;

/// <summary>Where a node starts: the file as the user named it, 1-based line and column.</summary>
internal sealed record SourceMark(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>
/// A compose file as a tree that remembers where every value came from, so that interpolation,
/// merging several files and validation can all point at the exact line and column. Immutable:
/// interpolating or merging makes a new tree.
/// </summary>
internal abstract record ComposeNode(SourceMark Mark)
{
    /// <summary>What the node is, for "expected an integer, got ..." messages.</summary>
    public abstract string Describe();
}

/// <summary>A scalar's text; Plain when written without quotes (only then are null, true or 3 more than text).</summary>
internal sealed record ScalarNode(string Value, bool Plain, SourceMark Mark) : ComposeNode(Mark)
{
    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe() => IsNull ? "null" : $"\"{Value}\"";
}

internal sealed record SequenceNode(ImmutableArray<ComposeNode> Items, SourceMark Mark) : ComposeNode(Mark)
{
    public override string Describe() => "a list";
}

internal sealed record MappingEntry(ScalarNode Key, ComposeNode Value);

/// <summary>A mapping whose keys are scalars, in file order.</summary>
internal sealed record MappingNode(ImmutableArray<MappingEntry> Entries, SourceMark Mark) : ComposeNode(Mark)
{
    public ComposeNode? this[string key] => Entries.FirstOrDefault(e => e.Key.Value == key)?.Value;

    public MappingEntry? Entry(string key) => Entries.FirstOrDefault(e => e.Key.Value == key);

    public MappingNode With(string key, ComposeNode value, ScalarNode? keyNode = null)
    {
        var at = Entries.IndexOf(Entries.FirstOrDefault(e => e.Key.Value == key)!);
        return at >= 0
            ? this with { Entries = Entries.SetItem(at, Entries[at] with { Value = value }) }
            : this with { Entries = Entries.Add(new MappingEntry(keyNode ?? new ScalarNode(key, true, value.Mark), value)) };
    }

    public override string Describe() => "a mapping";
}

/// <summary>Reads one YAML file into a <see cref="ComposeNode"/> tree, with YAML's anchors, aliases and merge keys (&lt;&lt;) resolved.</summary>
internal static partial class ComposeYaml
{
    /// <summary>The first document's root, or the error with its position (a syntax error, a duplicate key).</summary>
    public static (ComposeNode? Root, ComposeError? Error) Parse(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (AnchorNotFoundException e) when (UnknownAnchor().Match(e.Message) is { Success: true } match)
        {
            // YamlDotNet gives no position for it (1:1): the first use of the alias is where it went wrong.
            var anchor = match.Groups[1].Value;
            return (null, new ComposeError(AliasMark(file, text, anchor), "", $"the alias *{anchor} names no anchor; define &{anchor} before it is used, or fix the name"));
        }
        catch (YamlException e)
        {
            return (null, new ComposeError(Mark(file, e.Start), "", Readable(e)));
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return (null, new ComposeError(new SourceMark(file, 1, 1), "", "the file is empty; a compose file is a mapping with services:"));
        }

        var root = Convert(file, stream.Documents[0].RootNode);
        return NonStringKey(root, "") is ({ } key, var path)
            ? (null, new ComposeError(key.Mark, path, $"the key {key.Value} reads as a {(key.Value is "true" or "false" or "True" or "False" or "TRUE" or "FALSE" ? "boolean" : "number")}, and compose keys are strings; quote it: \"{key.Value}\":"))
            : (root, null);
    }

    [GeneratedRegex("anchor '([^']+)' does not exist")]
    private static partial Regex UnknownAnchor();

    /// <summary>Where <c>*anchor</c> first appears in the text (line and column from 1), else the file's start.</summary>
    private static SourceMark AliasMark(string file, string text, string anchor)
    {
        var at = Regex.Match(text, @"\*" + Regex.Escape(anchor) + @"(?![^\s,\]}])");
        if (!at.Success)
        {
            return new SourceMark(file, 1, 1);
        }

        var lineStart = text.LastIndexOf('\n', Math.Max(at.Index - 1, 0)) + 1;
        var line = 1 + text.AsSpan(0, at.Index).Count('\n');
        return new SourceMark(file, line, at.Index - lineStart + 1);
    }

    private static string Readable(YamlException e)
    {
        var message = e.Message;
        // YamlDotNet prefixes its messages with the position, which the error already carries.
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        if (message.StartsWith("(Line:", StringComparison.Ordinal) && close > 0)
        {
            message = message[(close + 3)..];
        }

        message = message.TrimEnd('.');
        if (message.StartsWith("Duplicate key ", StringComparison.Ordinal))
        {
            return $"the key \"{message["Duplicate key ".Length..]}\" is given twice in this mapping; keep one";
        }

        return message.Length == 0 ? "the YAML is not valid here" : "YAML syntax: " + char.ToLowerInvariant(message[0]) + message[1..];
    }

    /// <summary>
    /// The first mapping key YAML reads as a number or a boolean (12:, 1.5:, true:): docker's loader
    /// cannot take a file with one anywhere (yes:, on: and the like are strings to it, as here).
    /// </summary>
    private static (ScalarNode Key, string Path)? NonStringKey(ComposeNode node, string path) => node switch
    {
        MappingNode mapping => mapping.Entries
            .Select(e => e.Key.Plain && NotAString(e.Key.Value) ? (e.Key, ComposeReader.Child(path, e.Key.Value)) : NonStringKey(e.Value, ComposeReader.Child(path, e.Key.Value)))
            .FirstOrDefault(k => k is not null),
        SequenceNode list => list.Items.Select((item, i) => NonStringKey(item, ComposeReader.Item(path, i))).FirstOrDefault(k => k is not null),
        _ => null,
    };

    private static bool NotAString(string key) =>
        key is "true" or "false" or "True" or "False" or "TRUE" or "FALSE"
        || NumberKey().IsMatch(key);

    [GeneratedRegex(@"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)$")]
    private static partial Regex NumberKey();

    private static SourceMark Mark(string file, Mark mark) => new(file, (int)mark.Line, (int)mark.Column);

    private static ComposeNode Convert(string file, YamlNode node) => node switch
    {
        // A tagged scalar (a compose-spec "!reset null", "!!str 3") is text, as docker's YAML reader takes it.
        YamlScalarNode scalar => new ScalarNode(scalar.Value ?? "", scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && scalar.Tag.IsEmpty, Mark(file, scalar.Start)),
        YamlSequenceNode sequence => new SequenceNode([.. sequence.Children.Select(c => Convert(file, c))], Mark(file, sequence.Start)),
        YamlMappingNode mapping => ConvertMapping(file, mapping),
        _ => new ScalarNode("", true, Mark(file, node.Start)),
    };

    /// <summary>A mapping's own keys win over those merged in with &lt;&lt;, and earlier merged mappings over later ones, as YAML's merge key says.</summary>
    private static MappingNode ConvertMapping(string file, YamlMappingNode mapping)
    {
        var own = new List<MappingEntry>();
        var merged = new List<MappingEntry>();
        foreach (var (key, value) in mapping.Children)
        {
            var keyNode = Convert(file, key) as ScalarNode ?? new ScalarNode("", true, Mark(file, key.Start));
            if (keyNode is { Value: "<<", Plain: true })
            {
                var sources = value is YamlSequenceNode list ? list.Children : [value];
                foreach (var source in sources.OfType<YamlMappingNode>())
                {
                    merged.AddRange(ConvertMapping(file, source).Entries);
                }

                continue;
            }

            own.Add(new MappingEntry(keyNode, Convert(file, value)));
        }

        var entries = own.ToList();
        foreach (var entry in merged)
        {
            if (!entries.Any(e => e.Key.Value == entry.Key.Value))
            {
                entries.Add(entry);
            }
        }

        return new MappingNode([.. entries], Mark(file, mapping.Start));
    }
}
