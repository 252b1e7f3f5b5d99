using System.Collections.Immutable;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ProtoSwarm.Cli.Compose;

/// <summary>Where a node starts: the file as the user named it, 1-based line and column; line 0 is the file as a whole (one that could not be read).</summary>
internal sealed record SourceMark(string File, int Line, int Column)
{
    public override string ToString() => Line == 0 ? File : $"{File}:{Line}:{Column}";
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

    /// <summary>A plain true, false or number, which docker's schema refuses where it wants a string.</summary>
    public bool IsBooleanOrNumber => Plain && ComposeYaml.NotAString(Value);

    /// <summary>Whether the value came from substituting variables: docker casts only such a value to a number or a boolean, and only at some keys.</summary>
    public bool Interpolated { get; init; }

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
        catch (YamlException e) when (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && TabIndent(text, (int)e.Start.Line) is { } tab)
        {
            // YamlDotNet places these where the scanner was (the end of the line above, or the mapping's start): the tab is the place.
            return (null, new ComposeError(new SourceMark(file, tab.Line, tab.Column), "", "YAML syntax: a tab in the indentation; YAML indents with spaces only, replace it with spaces"));
        }
        catch (YamlException e)
        {
            return (null, new ComposeError(Mark(file, e.Start), "", Readable(e)));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this, with no position, on a flow list or map ([ or {) left open with lines
            // after it; where its parser stopped is the place to look.
            return (null, new ComposeError(LastParsed(file, text), "", "YAML syntax: the text cannot be read past this point; a [ or { above is probably not closed (or misses a comma)"));
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return (null, new ComposeError(new SourceMark(file, 1, 1), "", "the file is empty; a compose file is a mapping with services:"));
        }

        ComposeNode root;
        try
        {
            root = new Converter(file, text).Convert(stream.Documents[0].RootNode);
        }
        catch (AliasException e)
        {
            return (null, e.Error);
        }

        return NonStringKey(root, "") is ({ } key, var path)
            ? (null, new ComposeError(key.Mark, path, $"the key {key.Value} reads as a {(key.Value is "true" or "false" or "True" or "False" or "TRUE" or "FALSE" ? "boolean" : "number")}, and compose keys are strings; quote it: \"{key.Value}\":"))
            : (root, null);
    }

    /// <summary>The end of the last YAML event YamlDotNet's parser read before it failed: where a syntax error it reports no position for is.</summary>
    private static SourceMark LastParsed(string file, string text)
    {
        var parser = new Parser(new StringReader(text));
        var end = new SourceMark(file, 1, 1);
        try
        {
            while (parser.MoveNext())
            {
                end = Mark(file, parser.Current!.End);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or YamlException)
        {
            // stopped where it stopped
        }

        return end;
    }

    /// <summary>
    /// The first tab in a line's indentation (a line with content, not a comment), searched from
    /// <paramref name="fromLine"/> on and then from the top; line and column from 1. Null when there is none.
    /// </summary>
    internal static (int Line, int Column)? TabIndent(string text, int fromLine)
    {
        var lines = text.Split('\n');
        foreach (var start in new[] { Math.Max(fromLine, 1), 1 })
        {
            for (var i = start - 1; i < lines.Length; i++)
            {
                var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
                var rest = lines[i].AsSpan(indent).TrimEnd('\r');
                if (indent > 0 && !rest.IsEmpty && rest[0] != '#' && lines[i].AsSpan(0, indent).IndexOf('\t') is var tab and >= 0)
                {
                    return (i + 1, tab + 1);
                }
            }
        }

        return null;
    }

    [GeneratedRegex("anchor '([^']+)' does not exist")]
    private static partial Regex UnknownAnchor();

    /// <summary>Where <c>*anchor</c> first appears in the text from <paramref name="from"/> on (line and column from 1), else the file's start.</summary>
    private static SourceMark AliasMark(string file, string text, string anchor, int from = 0)
    {
        var at = new Regex(@"\*" + Regex.Escape(anchor) + @"(?![^\s,\]}])").Match(text, Math.Clamp(from, 0, text.Length));
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

    /// <summary>Whether plain text is a boolean or a number to YAML (yaml.v3, which docker's loader uses), not a string.</summary>
    public static bool NotAString(string key) =>
        key is "true" or "false" or "True" or "False" or "TRUE" or "FALSE"
        || NumberKey().IsMatch(key);

    [GeneratedRegex(@"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)$")]
    private static partial Regex NumberKey();

    private static SourceMark Mark(string file, Mark mark) => new(file, (int)mark.Line, (int)mark.Column);

    /// <summary>An alias that cannot be expanded: the error to give, with where.</summary>
    private sealed class AliasException(ComposeError error) : Exception(error.Message)
    {
        public ComposeError Error { get; } = error;
    }

    /// <summary>
    /// YamlDotNet's nodes with aliases resolved, made a <see cref="ComposeNode"/> tree: each use of an
    /// alias is a full copy of its anchor's value, as docker's YAML reader (yaml.v3) makes it. YamlDotNet
    /// resolves an alias to the anchored node itself, so the graph can hold a cycle (<c>&amp;a {b: *a}</c>)
    /// or a few lines can stand for millions of copies (nested aliases, an "alias bomb"); both are
    /// refused as yaml.v3 refuses them, before they exhaust the stack or the memory.
    /// </summary>
    private sealed class Converter(string file, string text)
    {
        // yaml.v3's rule (decode.go, allowedAliasRatio), so that a file docker reads reads here and a
        // file it refuses as "excessive aliasing" is refused: past 100 nodes copied by aliases and 1000
        // in all, the copies may be at most 99% of the nodes up to 400,000 nodes, falling to 10% at 4,000,000.
        private const int AliasRatioRangeLow = 400_000;
        private const int AliasRatioRangeHigh = 4_000_000;

        private readonly HashSet<YamlNode> _expanding = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<YamlNode> _seen = new(ReferenceEqualityComparer.Instance);
        private long _nodes;
        private long _copied;
        private int _aliasDepth;
        private YamlNode? _outermostAlias; // the alias being expanded, or expanded last, not counting those inside it

        public ComposeNode Convert(YamlNode node) =>
            !node.Anchor.IsEmpty && !_seen.Add(node) ? Alias(node) : Expand(node);

        /// <summary>The node's own value, counted as yaml.v3 counts what it decodes.</summary>
        private ComposeNode Expand(YamlNode node)
        {
            Count();
            _expanding.Add(node);
            try
            {
                return node switch
                {
                    // A tagged scalar (a compose-spec "!reset null", "!!str 3") is text, as docker's YAML reader takes it.
                    YamlScalarNode scalar => new ScalarNode(scalar.Value ?? "", scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && scalar.Tag.IsEmpty, Mark(file, scalar.Start)),
                    YamlSequenceNode sequence => new SequenceNode([.. sequence.Children.Select(Convert)], Mark(file, sequence.Start)),
                    YamlMappingNode mapping => ConvertMapping(mapping),
                    _ => new ScalarNode("", true, Mark(file, node.Start)),
                };
            }
            finally
            {
                _expanding.Remove(node);
            }
        }

        /// <summary>A use of an anchor already met: its value copied, unless the anchor is still being read (the alias is inside its own value).</summary>
        private ComposeNode Alias(YamlNode anchored)
        {
            var anchor = anchored.Anchor.Value;
            if (_expanding.Contains(anchored))
            {
                throw new AliasException(new ComposeError(UseOf(anchored), "",
                    $"the alias *{anchor} is inside the value of its own anchor &{anchor}, so it would repeat without end; point it at another anchor, or write the value out"));
            }

            Count();
            if (_aliasDepth == 0)
            {
                _outermostAlias = anchored;
            }

            _aliasDepth++;
            try
            {
                return Expand(anchored);
            }
            finally
            {
                _aliasDepth--;
            }
        }

        private void Count()
        {
            _nodes++;
            if (_aliasDepth > 0)
            {
                _copied++;
            }

            if (_copied > 100 && _nodes > 1000 && (double)_copied / _nodes > AllowedAliasRatio(_nodes))
            {
                var anchor = _outermostAlias!.Anchor.Value;
                throw new AliasException(new ComposeError(UseOf(_outermostAlias), "",
                    $"document contains excessive aliasing: each use of *{anchor} copies its anchor's whole value, the aliases in it included, making {_copied} copies in {_nodes} values; " +
                    "write the values out, or nest fewer aliases"));
            }
        }

        private static double AllowedAliasRatio(long nodes) => nodes switch
        {
            <= AliasRatioRangeLow => 0.99,
            >= AliasRatioRangeHigh => 0.10,
            _ => 0.99 - (0.89 * (nodes - AliasRatioRangeLow) / (AliasRatioRangeHigh - AliasRatioRangeLow)),
        };

        /// <summary>The first use of the node's anchor after it is defined: YamlDotNet keeps no position for an alias.</summary>
        private SourceMark UseOf(YamlNode anchored) => AliasMark(file, text, anchored.Anchor.Value, (int)anchored.Start.Index);

        /// <summary>A mapping's own keys win over those merged in with &lt;&lt;, and earlier merged mappings over later ones, as YAML's merge key says.</summary>
        private MappingNode ConvertMapping(YamlMappingNode mapping)
        {
            var own = new List<MappingEntry>();
            var merged = new List<MappingEntry>();
            foreach (var (key, value) in mapping.Children)
            {
                var keyNode = Convert(key) as ScalarNode ?? new ScalarNode("", true, Mark(file, key.Start));
                if (keyNode is { Value: "<<", Plain: true })
                {
                    var sources = value is YamlSequenceNode list ? list.Children : [value];
                    foreach (var source in sources.OfType<YamlMappingNode>())
                    {
                        if (Convert(source) is MappingNode sourceMapping)
                        {
                            merged.AddRange(sourceMapping.Entries);
                        }
                    }

                    continue;
                }

                own.Add(new MappingEntry(keyNode, Convert(value)));
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
}
