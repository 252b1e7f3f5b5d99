using System.Collections.Frozen;
using System.Text;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>What a host adds to, or changes in, the template language.</summary>
public sealed record GoTemplateOptions
{
    /// <summary>
    /// The host's functions of one string giving a string (a templated secret's <c>env</c>, <c>secret</c>,
    /// <c>config</c>); a <see cref="FormatException"/> from one is the template's error (`error calling NAME: ...`).
    /// </summary>
    public IReadOnlyDictionary<string, Func<string, string>> Functions { get; init; } = FrozenDictionary<string, Func<string, string>>.Empty;

    /// <summary>
    /// Whether a field an object (a Go struct) lacks is an error, as Go's for a struct; otherwise it is a missing
    /// value, printed `&lt;no value&gt;`, as Go's for a map. An object <see cref="MapFields"/> names is a map either way.
    /// </summary>
    public bool StrictFields { get; init; }

    /// <summary>The names under which an object is a Go map (printed `map[k:v]`, any key may be asked), not a struct.</summary>
    public IReadOnlySet<string> MapFields { get; init; } = FrozenSet<string>.Empty;

    /// <summary>Another name to look a field up by when the object lacks it (docker's `.ID` of an object whose JSON says "Id").</summary>
    public Func<string, string?>? FieldAlias { get; init; }

    /// <summary>
    /// The most characters the output may reach, and the most actions and nodes the execution may walk; past either it
    /// fails. Unlimited for the CLI's own formats; a node expanding an operator's template caps both, so that
    /// <c>{{range 2000000000}}...{{end}}</c> cannot exhaust its memory or hold its task for hours.
    /// </summary>
    public int MaxOutput { get; init; } = int.MaxValue;

    /// <inheritdoc cref="MaxOutput"/>
    public long MaxSteps { get; init; } = long.MaxValue;
}

/// <summary>
/// Go's text/template, over the JSON values the views and contexts already build (System.Text.Json nodes):
/// actions and pipelines (`|`), variables (<c>$x := ...</c>, <c>$</c>), if/else if/else, range (a list in order,
/// an object by sorted key, as Go ranges a map; with else, break, continue), with/else, define/template/block,
/// comments, the <c>{{- -}}</c> trim markers, Go's truth, Go's builtins (and or not len index slice print printf
/// println eq ne lt le gt ge html js urlquery) and docker's (json split join title lower upper pad truncate).
/// The CLI's --format and a templated secret's or config's data are both this; a fault is a
/// <see cref="GoTemplateException"/> placed at its line and column.
/// </summary>
public sealed class GoTemplate
{
    /// <summary>Go's builtins and docker's template functions.</summary>
    public static readonly FrozenSet<string> Builtins = FrozenSet.ToFrozenSet(
        ["and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery",
         "json", "split", "join", "title", "lower", "upper", "pad", "truncate"], StringComparer.Ordinal);

    /// <summary>docker's functions that a table's title row passes its first argument through (its HeaderFunctions: all but pad, which keeps the columns aligned).</summary>
    internal static readonly FrozenSet<string> HeaderFunctions = FrozenSet.ToFrozenSet(
        ["json", "split", "join", "title", "lower", "upper", "truncate"], StringComparer.Ordinal);

    private readonly ListNode _root;

    private GoTemplate(string text, GoTemplateOptions options)
    {
        Text = text;
        Options = options;
        (_root, Defined) = GoTemplateParser.Parse(text, name => Builtins.Contains(name) || options.Functions.ContainsKey(name));
    }

    public string Text { get; }

    internal GoTemplateOptions Options { get; }

    internal Dictionary<string, ListNode> Defined { get; }

    /// <summary>The fields of the data itself the template reads: `Spec` for <c>{{.Spec.Role}}</c> or <c>{{range .Spec.Ports}}</c> (not the fields read inside the range) or <c>$.Spec</c>.</summary>
    public IReadOnlyList<string> Fields
    {
        get
        {
            var fields = new List<string>();
            Collect(_root, rootDot: true, fields);
            return fields.Distinct(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Parses a template; a fault is a <see cref="GoTemplateException"/>.</summary>
    public static GoTemplate Parse(string text, GoTemplateOptions? options = null) => new(text, options ?? new GoTemplateOptions());

    /// <summary>The template executed over the data; a fault is a <see cref="GoTemplateException"/>.</summary>
    public string Execute(JsonNode? data)
    {
        var output = new StringBuilder();
        GoTemplateExecutor.Run(this, _root, output, GoValues.FromNode(data), header: null);
        return output.ToString();
    }

    /// <summary>
    /// A table's title row, as docker makes it: the template executed with each field standing for its column's
    /// title and docker's functions passing it through; a fault ends the row where it is, as docker ignores it.
    /// </summary>
    public string ExecuteHeader(Func<string, string> title)
    {
        var output = new StringBuilder();
        try
        {
            GoTemplateExecutor.Run(this, _root, output, string.Empty, title);
        }
        catch (GoTemplateException)
        {
            // docker's formatter writes what the header template produced before it failed.
        }

        return output.ToString();
    }

    internal bool IsMap(JsonObject value) =>
        value.Parent is JsonObject && Options.MapFields.Contains(value.GetPropertyName());

    private static void Collect(TemplateNode node, bool rootDot, List<string> fields)
    {
        switch (node)
        {
            case ListNode list:
                list.Nodes.ForEach(n => Collect(n, rootDot, fields));
                break;
            case ActionNode action:
                Collect(action.Pipe, rootDot, fields);
                break;
            case BranchNode branch:
                Collect(branch.Pipe, rootDot, fields);
                Collect(branch.List, rootDot && branch.Kind == BranchKind.If, fields);
                if (branch.Else is not null)
                {
                    Collect(branch.Else, rootDot, fields);
                }

                break;
            case IncludeNode { Pipe: { } pipe }:
                Collect(pipe, rootDot, fields);
                break;
            case PipeNode pipe:
                pipe.Commands.ForEach(c => c.Args.ForEach(a => Collect(a, rootDot, fields)));
                break;
            case FieldNode field when rootDot:
                fields.Add(field.Idents[0]);
                break;
            case VariableNode { Name: "$", Fields.Length: > 0 } variable:
                fields.Add(variable.Fields[0]);
                break;
            case ChainNode chain:
                Collect(chain.Node, rootDot, fields);
                break;
        }
    }
}
