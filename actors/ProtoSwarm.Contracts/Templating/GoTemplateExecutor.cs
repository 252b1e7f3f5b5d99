using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// Runs a parsed template over a value, as Go's text/template's exec.go: pipelines pass each command's value
/// on as the next one's last argument, variables live to the end of the control structure that declared
/// them, if/with/range take Go's truth, range walks a list in order and an object by sorted key. In header
/// mode (a `table` format's title row) a field is its column title and docker's functions pass their first
/// argument through, as docker's HeaderFunctions do.
/// </summary>
internal sealed class GoTemplateExecutor
{
    private const int MaxDepth = 1000;

    private static readonly object NoFinal = new();

    private readonly GoTemplate _template;
    private readonly StringBuilder _out;
    private readonly List<(string Name, object? Value)> _vars;
    private readonly Func<string, string>? _header;
    private readonly int _depth;
    private readonly Budget _budget;

    /// <summary>The template this executor walks: "" for the top one, NAME in one a <c>{{template "NAME"}}</c> called; Go's errors say `executing "NAME"`.</summary>
    private readonly string _name;
    private TemplateNode? _node;
    private string _action = string.Empty;

    /// <summary>The innermost action, if, with, range or template call being walked: where a budget's stop is placed (null: none, at the top level).</summary>
    private TemplateNode? _walking;

    /// <summary>The <c>{{template}}</c> call that started this executor, in its caller's text (<see cref="_walking"/> starts there), and that caller's name.</summary>
    private readonly TemplateNode? _callSite;

    private readonly string _caller;

    private GoTemplateExecutor(GoTemplate template, StringBuilder output, object? data, Func<string, string>? header, int depth, Budget budget, string name = "", string caller = "", TemplateNode? walking = null)
    {
        _template = template;
        _name = name;
        _caller = caller;
        _callSite = walking;
        _out = output;
        _vars = [("$", data)];
        _header = header;
        _depth = depth;
        _budget = budget;
        _walking = walking;
    }

    private Func<JsonObject, bool> IsMap => _template.IsMap;

    public static void Run(GoTemplate template, ListNode root, StringBuilder output, object? data, Func<string, string>? header) =>
        new GoTemplateExecutor(template, output, data, header, 0, new Budget()).Walk(data, root);

    private void Walk(object? dot, TemplateNode node)
    {
        if (++_budget.Steps > _template.Options.MaxSteps)
        {
            throw Stopped(node, $"the template takes more than {_template.Options.MaxSteps} steps; it was stopped");
        }

        var outer = _walking;
        if (node is ActionNode or BranchNode or IncludeNode)
        {
            _walking = node;
        }

        try
        {
            WalkNode(dot, node);
        }
        finally
        {
            _walking = outer;
        }
    }

    private void WalkNode(object? dot, TemplateNode node)
    {
        switch (node)
        {
            case ListNode list:
                foreach (var item in list.Nodes)
                {
                    Walk(dot, item);
                }

                break;
            case TextNode text:
                _out.Append(text.Text);
                CheckOutput(node);
                break;
            case ActionNode action:
                _action = action.Source;
                var value = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Decl.Count == 0)
                {
                    _out.Append(GoValues.Print(value, IsMap));
                    CheckOutput(node);
                }

                break;
            case BranchNode { Kind: BranchKind.Range } range:
                WalkRange(dot, range);
                break;
            case BranchNode branch:
                var mark = _vars.Count;
                _action = branch.Source;
                var tested = EvalPipeline(dot, branch.Pipe);
                if (GoValues.IsTrue(tested))
                {
                    Walk(branch.Kind == BranchKind.With ? tested : dot, branch.List);
                }
                else if (branch.Else is not null)
                {
                    Walk(dot, branch.Else);
                }

                Pop(mark);
                break;
            case IncludeNode include:
                WalkInclude(dot, include);
                break;
            case BreakNode brk:
                throw brk.IsContinue ? new ContinueSignal() : new BreakSignal();
        }
    }

    private void WalkRange(object? dot, BranchNode range)
    {
        var mark = _vars.Count;
        _action = range.Source;
        _node = range;
        var collection = EvalCommands(dot, range.Pipe);
        var items = new List<(object? Index, object? Element)>();
        IEnumerable<(object? Index, object? Element)> sequence = items;
        switch (collection)
        {
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    items.Add(((long)i, GoValues.FromNode(array[i])));
                }

                break;
            case JsonObject obj:
                foreach (var (key, item) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    items.Add((key, GoValues.FromNode(item)));
                }

                break;
            case long count:
                if (range.Pipe.Decl.Count > 1)
                {
                    throw Fault(range, $"can't use {range.Pipe} to iterate over more than one variable");
                }

                // Counted as it goes, never listed first: the steps' budget stops a count too large for the node.
                sequence = Count(count);
                break;
            case null or Missing or GoNilValue:
                break;
            default:
                throw Fault(range, $"range can't iterate over {GoValues.Print(collection, IsMap)}");
        }

        var any = false;
        foreach (var (index, element) in sequence)
        {
            any = true;
            if (range.Pipe.Decl.Count == 1)
            {
                Declare(range.Pipe, range.Pipe.Decl[0], element);
            }
            else if (range.Pipe.Decl.Count == 2)
            {
                Declare(range.Pipe, range.Pipe.Decl[0], index);
                Declare(range.Pipe, range.Pipe.Decl[1], element);
            }

            try
            {
                Walk(element, range.List);
            }
            catch (ContinueSignal)
            {
            }
            catch (BreakSignal)
            {
                Pop(mark);
                return;
            }

            Pop(mark);
        }

        if (!any && range.Else is not null)
        {
            Walk(dot, range.Else);
        }

        Pop(mark);
    }

    private void WalkInclude(object? dot, IncludeNode include)
    {
        _action = include.Source;
        _node = include;
        if (!_template.Defined.TryGetValue(include.Name, out var list))
        {
            throw Fault(include, $"template \"{include.Name}\" not defined");
        }

        if (_depth >= MaxDepth)
        {
            throw Fault(include, $"exceeded maximum template depth ({MaxDepth})");
        }

        var data = include.Pipe is null ? Missing.Value : EvalPipeline(dot, include.Pipe);
        new GoTemplateExecutor(_template, _out, data, _header, _depth + 1, _budget, include.Name, _name, include).Walk(data, list);
    }

    private void Pop(int mark) => _vars.RemoveRange(mark, _vars.Count - mark);

    private void Declare(PipeNode pipe, string name, object? value)
    {
        if (!pipe.IsAssign)
        {
            _vars.Add((name, value));
            return;
        }

        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                _vars[i] = (name, value);
                return;
            }
        }

        throw Fault(pipe, $"undefined variable: {name}");
    }

    private object? Variable(VariableNode node)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == node.Name)
            {
                return _vars[i].Value;
            }
        }

        throw Fault(node, $"undefined variable: {node.Name}");
    }

    private object? EvalPipeline(object? dot, PipeNode pipe)
    {
        var value = EvalCommands(dot, pipe);
        foreach (var name in pipe.Decl)
        {
            Declare(pipe, name, value);
        }

        return value;
    }

    private object? EvalCommands(object? dot, PipeNode pipe)
    {
        var final = NoFinal;
        object? value = null;
        foreach (var command in pipe.Commands)
        {
            value = EvalCommand(dot, command, final);
            final = value;
        }

        return value;
    }

    private object? EvalCommand(object? dot, CommandNode command, object? final)
    {
        var first = command.Args[0];
        switch (first)
        {
            case FieldNode field:
                return EvalFieldChain(dot, dot, field, field.Idents, command.Args, final);
            case ChainNode chain:
                return EvalChain(dot, chain, command.Args, final);
            case IdentifierNode identifier:
                return EvalFunction(dot, identifier, command, command.Args, final);
            case PipeNode pipe:
                NotAFunction(command.Args, final);
                return EvalPipeline(dot, pipe);
            case VariableNode variable:
                return EvalVariable(dot, variable, command.Args, final);
        }

        _node = first;
        NotAFunction(command.Args, final);
        return first switch
        {
            BoolNode b => b.Value,
            DotNode => dot,
            NilNode => throw Fault(first, "nil is not a command"),
            NumberNode n => n.Value,
            StringNode s => s.Value,
            _ => throw Fault(first, $"can't evaluate command {first}"),
        };
    }

    private void NotAFunction(List<TemplateNode> args, object? final)
    {
        if (args.Count > 1 || !ReferenceEquals(final, NoFinal))
        {
            throw Fault(args[0], $"can't give argument to non-function {args[0]}");
        }
    }

    private object? EvalChain(object? dot, ChainNode chain, List<TemplateNode> args, object? final)
    {
        if (chain.Node is NilNode)
        {
            throw Fault(chain, $"indirection through explicit nil in {chain}");
        }

        var receiver = EvalArg(dot, chain.Node);
        return EvalFieldChain(dot, receiver, chain, chain.Fields, args, final);
    }

    private object? EvalVariable(object? dot, VariableNode variable, List<TemplateNode> args, object? final)
    {
        _node = variable;
        var value = Variable(variable);
        if (variable.Fields.Length == 0)
        {
            NotAFunction(args, final);
            return _header is not null && variable.Name == "$" ? string.Empty : value;
        }

        return EvalFieldChain(dot, value, variable, variable.Fields, args, final);
    }

    private object? EvalFieldChain(object? dot, object? receiver, TemplateNode node, string[] idents, List<TemplateNode> args, object? final)
    {
        _node = node;
        if (_header is not null)
        {
            return _header(idents[^1]);
        }

        for (var i = 0; i < idents.Length - 1; i++)
        {
            receiver = EvalField(idents, i, node, receiver, hasArgs: false);
        }

        return EvalField(idents, idents.Length - 1, node, receiver, args.Count > 1 || !ReferenceEquals(final, NoFinal));
    }

    private object? EvalField(string[] idents, int at, TemplateNode node, object? receiver, bool hasArgs)
    {
        var name = idents[at];
        switch (receiver)
        {
            case JsonObject obj:
                if (hasArgs)
                {
                    throw Fault(node, $"{name} is not a method but has arguments");
                }

                if (obj.TryGetPropertyValue(name, out var value) || (_template.Options.FieldAlias?.Invoke(name) is { } alias && obj.TryGetPropertyValue(alias, out value)))
                {
                    return GoValues.FromNode(value);
                }

                if (IsMap(obj) || !_template.Options.StrictFields)
                {
                    return Missing.Value;
                }

                var path = node is FieldNode ? "." + string.Join('.', idents[..at]) : node + string.Concat(idents[..at].Select(i => "." + i));
                throw new GoTemplateException(
                    _template.Text, node.Pos, $"can't evaluate field {name}: {(at == 0 && node is FieldNode ? "dot" : path)} has no such field; it has {string.Join(", ", obj.Select(p => p.Key))}",
                    node.ToString(), _action, null, _name)
                { IsUnknownField = true };
            case GoNilValue { IsMap: true } or Missing:
                return hasArgs ? throw Fault(node, $"{name} is not a method but has arguments") : Missing.Value;
            case null:
                return _template.Options.StrictFields ? throw Fault(node, $"nil pointer evaluating {name}") : Missing.Value;
            default:
                throw Fault(node, $"can't evaluate field {name} in type {GoValues.TypeName(receiver)}");
        }
    }

    private object? EvalArg(object? dot, TemplateNode node)
    {
        _node = node;
        return node switch
        {
            DotNode => _header is not null ? string.Empty : dot,
            NilNode => null,
            FieldNode field => EvalFieldChain(dot, dot, field, field.Idents, [field], NoFinal),
            VariableNode variable => EvalVariable(dot, variable, [variable], NoFinal),
            PipeNode pipe => EvalPipeline(dot, pipe),
            IdentifierNode identifier => EvalFunction(dot, identifier, identifier, [identifier], NoFinal),
            ChainNode chain => EvalChain(dot, chain, [chain], NoFinal),
            BoolNode b => b.Value,
            NumberNode n => n.Value,
            StringNode s => s.Value,
            _ => throw Fault(node, $"can't handle {node} for arg"),
        };
    }

    private object? EvalFunction(object? dot, IdentifierNode identifier, TemplateNode command, List<TemplateNode> args, object? final)
    {
        _node = identifier;
        var name = identifier.Name;
        if (name is "and" or "or")
        {
            if (args.Count < 2 && ReferenceEquals(final, NoFinal))
            {
                throw Fault(identifier, $"wrong number of args for {name}: want at least 1 got 0");
            }

            object? last = null;
            foreach (var arg in args.Skip(1))
            {
                last = EvalArg(dot, arg);
                if (GoValues.IsTrue(last) == (name == "or"))
                {
                    return last;
                }
            }

            return ReferenceEquals(final, NoFinal) ? last : final;
        }

        var values = args.Skip(1).Select(arg => EvalArg(dot, arg)).ToList();
        if (!ReferenceEquals(final, NoFinal))
        {
            values.Add(final);
        }

        _node = command;
        if (_header is not null && GoTemplate.HeaderFunctions.Contains(name))
        {
            // docker's HeaderFunctions: a table's title row keeps each column's title as it is.
            return values.Count > 0 ? GoValues.Print(values[0], IsMap) : string.Empty;
        }

        try
        {
            return Call(name, values, command);
        }
        catch (CallException e)
        {
            throw new GoTemplateException(_template.Text, command.Pos, $"error calling {name}: {e.Message}", command.ToString(), _action, e.InnerException, _name);
        }
    }

    private object? Call(string name, List<object?> args, TemplateNode node)
    {
        switch (name)
        {
            case "not":
                Arity(name, args, 1);
                return !GoValues.IsTrue(args[0]);
            case "len":
                Arity(name, args, 1);
                return Length(args[0]);
            case "index":
                AtLeast(name, args, 1);
                return Index(args[0], args.Skip(1));
            case "slice":
                AtLeast(name, args, 1);
                return Slice(args[0], args.Skip(1).ToList());
            case "print":
                return GoFormat.Sprint(Interfaces(args), IsMap);
            case "println":
                return GoFormat.Sprintln(Interfaces(args), IsMap);
            case "printf":
                AtLeast(name, args, 1);
                return GoFormat.Sprintf(String(args[0]), Interfaces(args.Skip(1).ToList()), IsMap);
            case "eq":
                AtLeast(name, args, 1);
                return Equal(args[0], args.Skip(1).ToList());
            case "ne":
                Arity(name, args, 2);
                return !Equal(args[0], [args[1]]);
            case "lt":
                Arity(name, args, 2);
                return Less(args[0], args[1]);
            case "le":
                Arity(name, args, 2);
                return Less(args[0], args[1]) || Equal(args[0], [args[1]]);
            case "gt":
                Arity(name, args, 2);
                return !(Less(args[0], args[1]) || Equal(args[0], [args[1]]));
            case "ge":
                Arity(name, args, 2);
                return !Less(args[0], args[1]);
            case "html":
                return GoEscape.Html(Joined(args));
            case "js":
                return GoEscape.JavaScript(Joined(args));
            case "urlquery":
                return GoEscape.UrlQuery(Joined(args));
            case "json":
                Arity(name, args, 1);
                return GoJson.Line(GoValues.ToNode(args[0]), escapeHtml: false);
            case "split":
                Arity(name, args, 2);
                return Split(String(args[0]), String(args[1]));
            case "join":
                Arity(name, args, 2);
                return string.Join(String(args[1]), Strings(args[0]));
            case "title":
                Arity(name, args, 1);
                return Title(String(args[0]));
            case "lower":
                Arity(name, args, 1);
                return String(args[0]).ToLowerInvariant();
            case "upper":
                Arity(name, args, 1);
                return String(args[0]).ToUpperInvariant();
            case "pad":
                Arity(name, args, 3);
                var padded = String(args[0]);
                var (before, after) = (Count(args[1]), Count(args[2]));
                if ((long)before + after + padded.Length > _template.Options.MaxOutput - (long)_out.Length)
                {
                    throw new CallException($"{before} and {after} spaces would make the output longer than {_template.Options.MaxOutput} characters");
                }

                return padded.Length == 0 ? padded : new string(' ', before) + padded + new string(' ', after);
            case "truncate":
                Arity(name, args, 2);
                var whole = String(args[0]);
                var length = Count(args[1]);
                return whole.Length <= length ? whole : whole[..length];
        }

        var function = _template.Options.Functions[name];
        Arity(name, args, 1);
        var argument = String(args[0]);
        try
        {
            return function(argument);
        }
        catch (FormatException e)
        {
            throw new CallException(e.Message, e);
        }
    }

    private void Arity(string name, List<object?> args, int want)
    {
        if (args.Count != want)
        {
            throw Fault(_node!, $"wrong number of args for {name}: want {want} got {args.Count}");
        }
    }

    private void AtLeast(string name, List<object?> args, int want)
    {
        if (args.Count < want)
        {
            throw Fault(_node!, $"wrong number of args for {name}: want at least {want} got {args.Count}");
        }
    }

    /// <summary>Arguments of an interface{} parameter: a missing value is passed as nil.</summary>
    private static List<object?> Interfaces(List<object?> args) => [.. args.Select(a => a is Missing ? null : a)];

    /// <summary>html, js and urlquery's argument: a lone string as it is, else fmt.Sprint of them all.</summary>
    private string Joined(List<object?> args) => args is [string s] ? s : GoFormat.Sprint(Interfaces(args), IsMap);

    private string String(object? value) => value switch
    {
        string s => s,
        null or Missing => throw Fault(_node!, "invalid value; expected string"),
        _ => throw Fault(_node!, $"wrong type for value; expected string; got {GoValues.TypeName(value)}"),
    };

    private int Count(object? value) => value switch
    {
        long l when l is >= 0 and <= int.MaxValue => (int)l,
        long l => throw new CallException($"invalid count {l}"),
        null or Missing => throw Fault(_node!, "invalid value; expected int"),
        _ => throw Fault(_node!, $"wrong type for value; expected int; got {GoValues.TypeName(value)}"),
    };

    private IEnumerable<string> Strings(object? value) => value switch
    {
        JsonArray items when items.All(i => GoValues.FromNode(i) is string) => items.Select(i => (string)GoValues.FromNode(i)!),
        GoNilValue { IsMap: false } => [],
        null or Missing => throw Fault(_node!, "invalid value; expected []string"),
        _ => throw Fault(_node!, $"wrong type for value; expected []string; got {GoValues.TypeName(value)}"),
    };

    private static JsonArray Split(string text, string separator)
    {
        var parts = separator.Length == 0
            ? text.EnumerateRunes().Select(r => r.ToString()).ToArray()
            : text.Split(separator);
        return new JsonArray([.. parts.Select(p => (JsonNode?)JsonValue.Create(p))]);
    }

    /// <summary>docker's title (Go's strings.Title): a letter after a separator (not an ASCII letter, digit or underscore, nor a letter or digit) upper case.</summary>
    private static string Title(string text)
    {
        var result = new StringBuilder(text.Length);
        var previous = ' ';
        foreach (var c in text)
        {
            var separator = previous < 0x80 ? !(char.IsAsciiLetterOrDigit(previous) || previous == '_') : !char.IsLetterOrDigit(previous) && char.IsWhiteSpace(previous);
            result.Append(separator ? char.ToUpperInvariant(c) : c);
            previous = c;
        }

        return result.ToString();
    }

    private static long Length(object? value) => value switch
    {
        string s => Encoding.UTF8.GetByteCount(s),
        JsonArray a => a.Count,
        JsonObject o => o.Count,
        GoNilValue => 0,
        null or Missing => throw new CallException("len of nil pointer"),
        _ => throw new CallException($"len of type {GoValues.TypeName(value)}"),
    };

    /// <summary>
    /// Go's index: a map's value at a key (a key it lacks, or a nil map, gives the zero value, which for docker's
    /// string maps prints empty), a list's item at a position, a string's byte.
    /// </summary>
    private static object? Index(object? item, IEnumerable<object?> keys)
    {
        foreach (var key in keys)
        {
            item = (item, key) switch
            {
                (null or Missing, _) => throw new CallException("index of untyped nil"),
                (JsonObject map, string name) => map.TryGetPropertyValue(name, out var value) ? GoValues.FromNode(value) : string.Empty,
                (GoNilValue { IsMap: true }, string) => string.Empty,
                (JsonObject or GoNilValue { IsMap: true }, _) => throw new CallException($"value has type {GoValues.TypeName(key)}; should be string"),
                (JsonArray list, long at) => at >= 0 && at < list.Count ? GoValues.FromNode(list[(int)at]) : throw new CallException($"index out of range: {at}"),
                (GoNilValue, long at) => throw new CallException($"index out of range: {at}"),
                (string text, long at) => at >= 0 && at < Encoding.UTF8.GetByteCount(text) ? (long)Encoding.UTF8.GetBytes(text)[at] : throw new CallException($"index out of range: {at}"),
                (JsonArray or GoNilValue or string, _) => throw new CallException($"cannot index slice/array with type {GoValues.TypeName(key)}"),
                _ => throw new CallException($"can't index item of type {GoValues.TypeName(item)}"),
            };
        }

        return item;
    }

    private static object? Slice(object? item, List<object?> indexes)
    {
        if (indexes.Count > 3)
        {
            throw new CallException($"too many slice indexes: {indexes.Count}");
        }

        var bounds = indexes.Select(i => i is long l ? l : throw new CallException($"cannot index slice/array with type {GoValues.TypeName(i)}")).ToArray();
        var length = item switch
        {
            string s => Encoding.UTF8.GetByteCount(s),
            JsonArray a => a.Count,
            GoNilValue { IsMap: false } => 0,
            null or Missing => throw new CallException("slice of untyped nil"),
            _ => throw new CallException($"can't slice item of type {GoValues.TypeName(item)}"),
        };
        if (item is string && bounds.Length == 3)
        {
            throw new CallException("cannot 3-index slice a string");
        }

        var from = bounds.Length > 0 ? bounds[0] : 0;
        var to = bounds.Length > 1 ? bounds[1] : length;
        foreach (var bound in bounds)
        {
            if (bound < 0 || bound > length)
            {
                throw new CallException($"index out of range: {bound}");
            }
        }

        if (from > to)
        {
            throw new CallException($"invalid slice index: {from} > {to}");
        }

        if (bounds.Length == 3 && to > bounds[2])
        {
            throw new CallException($"invalid slice index: {to} > {bounds[2]}");
        }

        return item switch
        {
            string s => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s), (int)from, (int)(to - from)),
            JsonArray a => new JsonArray([.. a.Skip((int)from).Take((int)(to - from)).Select(n => n?.DeepClone())]),
            _ => item,
        };
    }

    private enum Kind
    {
        Nil,
        Bool,
        Int,
        Float,
        String,
        Other,
    }

    /// <summary>A value's kind for comparison; null and a missing value are both Go's nil (eq of the two is true).</summary>
    private static Kind KindOf(object? value) => value switch
    {
        Missing or null => Kind.Nil,
        bool => Kind.Bool,
        long => Kind.Int,
        double => Kind.Float,
        string => Kind.String,
        _ => Kind.Other,
    };

    /// <summary>Go's eq: the first argument equals any of the others; basic values of one kind compare, others are an error.</summary>
    private static bool Equal(object? first, List<object?> others)
    {
        if (others.Count == 0)
        {
            throw new CallException("missing argument for comparison");
        }

        var k1 = KindOf(first);
        foreach (var other in others)
        {
            var k2 = KindOf(other);
            bool truth;
            if (k1 != k2)
            {
                if (k1 == Kind.Nil || k2 == Kind.Nil)
                {
                    truth = false;
                }
                else
                {
                    throw new CallException("incompatible types for comparison");
                }
            }
            else if (k1 == Kind.Other)
            {
                throw new CallException($"non-comparable type {GoValues.TypeName(first)}");
            }
            else
            {
                truth = k1 == Kind.Nil || Equals(first, other);
            }

            if (truth)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Less(object? a, object? b)
    {
        var (k1, k2) = (KindOf(a), KindOf(b));
        if (k1 is not (Kind.Int or Kind.Float or Kind.String) || k2 is not (Kind.Int or Kind.Float or Kind.String))
        {
            throw new CallException("invalid type for comparison");
        }

        if (k1 != k2)
        {
            throw new CallException("incompatible types for comparison");
        }

        return (a, b) switch
        {
            (long x, long y) => x < y,
            (double x, double y) => x < y,
            _ => string.CompareOrdinal((string)a!, (string)b!) < 0,
        };
    }

    private GoTemplateException Fault(TemplateNode node, string reason) =>
        new(_template.Text, node.Pos, reason, node.ToString(), _action, null, _name);

    private void CheckOutput(TemplateNode node)
    {
        if (_out.Length > _template.Options.MaxOutput)
        {
            throw Stopped(node, $"the template's output is longer than {_template.Options.MaxOutput} characters; it was stopped");
        }
    }

    /// <summary>
    /// A budget ran out at <paramref name="node"/>: placed at the action, if, with, range or template call being walked,
    /// where Go places such a node (an action, if, with or range at its pipeline's first word), and named as Go writes
    /// an action, `at &lt;{{printf "%s" .}}&gt;`; an if, with or range by its head alone, `at &lt;{{range 5}}&gt;`, not
    /// its whole body. Text outside any action has no such part, as Go's error without a node.
    /// </summary>
    private GoTemplateException Stopped(TemplateNode node, string reason)
    {
        var place = node is ActionNode or BranchNode or IncludeNode ? node : _walking;
        // Stopped in a called template's text outside any of its actions: placed at the call, in the caller's text, so named as the caller.
        var name = place is not null && place == _callSite && place != node ? _caller : _name;
        return place switch
        {
            ActionNode action => new(_template.Text, action.Pipe.Pos, reason, action.ToString(), action.Source, null, name),
            BranchNode branch => new(_template.Text, branch.Pipe.Pos, reason, branch.Source, branch.Source, null, name),
            IncludeNode include => new(_template.Text, include.Pos, reason, include.ToString(), include.Source, null, name),
            _ => GoTemplateException.Unplaced(_template.Text, node.Pos, reason, name),
        };
    }

    /// <summary>A function's failure, named by <see cref="EvalFunction"/> as Go names it: error calling NAME: ...</summary>
    private sealed class CallException(string message, Exception? inner = null) : Exception(message, inner);

    private static IEnumerable<(object? Index, object? Element)> Count(long count)
    {
        for (var i = 0L; i < count; i++)
        {
            yield return (i, i);
        }
    }

    /// <summary>What an execution has spent, shared by the executors of the templates it includes.</summary>
    private sealed class Budget
    {
        public long Steps;
    }

    private sealed class BreakSignal : Exception;

    private sealed class ContinueSignal : Exception;
}
