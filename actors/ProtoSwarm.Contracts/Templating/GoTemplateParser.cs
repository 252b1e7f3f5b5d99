using System.Globalization;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// Go's text/template parser over <see cref="GoTemplateLexer"/>'s tokens: the template's list, and the templates
/// it defines (<c>{{define}}</c>, <c>{{block}}</c>). As Go's, it refuses at parse time a function it does not know,
/// a variable not declared, an <c>{{else}}</c> or <c>{{end}}</c> out of place, <c>{{break}}</c> outside <c>{{range}}</c>.
/// </summary>
internal sealed class GoTemplateParser
{
    private readonly string _text;
    private readonly List<Token> _tokens;
    private readonly Func<string, bool> _isFunction;
    private readonly List<string> _vars = ["$"];
    private readonly Dictionary<string, ListNode> _defined = new(StringComparer.Ordinal);
    private int _at;
    private int _rangeDepth;
    private int _actionStart;

    private GoTemplateParser(string text, Func<string, bool> isFunction)
    {
        _text = text;
        _tokens = GoTemplateLexer.Tokens(text);
        _isFunction = isFunction;
    }

    public static (ListNode Root, Dictionary<string, ListNode> Defined) Parse(string text, Func<string, bool> isFunction)
    {
        var parser = new GoTemplateParser(text, isFunction);
        var root = new ListNode(0, []);
        while (parser.Peek().Kind != TokenKind.Eof)
        {
            if (parser.Peek().Kind == TokenKind.LeftDelim && parser.PeekAfterDelim() is { Kind: TokenKind.Keyword, Text: "define" })
            {
                parser.Define();
                continue;
            }

            switch (parser.TextOrAction())
            {
                case ElseMarker e:
                    throw parser.Fault(e.Pos, "unexpected {{else}}");
                case EndMarker e:
                    throw parser.Fault(e.Pos, "unexpected {{end}}");
                case { } node:
                    root.Nodes.Add(node);
                    break;
            }
        }

        return (root, parser._defined);
    }

    private Token Peek() => _tokens[_at];

    private Token Next() => _tokens[_at++];

    private void Backup() => _at--;

    private Token PeekNonSpace()
    {
        var token = NextNonSpace();
        Backup();
        return token;
    }

    private Token NextNonSpace()
    {
        Token token;
        do
        {
            token = Next();
        }
        while (token.Kind == TokenKind.Space);
        return token;
    }

    private Token PeekAfterDelim()
    {
        var at = _at + 1;
        while (_tokens[at].Kind == TokenKind.Space)
        {
            at++;
        }

        return _tokens[at];
    }

    private void Define()
    {
        Next();
        NextNonSpace();
        var name = NextNonSpace();
        if (name.Kind != TokenKind.String)
        {
            throw Fault(name.Pos, $"unexpected {Describe(name)} in define clause");
        }

        Expect(TokenKind.RightDelim, "define clause");
        var (list, next) = ItemList();
        if (next is not EndMarker)
        {
            throw Fault(next.Pos, "unexpected {{else}} in define clause");
        }

        _defined[GoTemplateLexer.Unquote(name.Text)] = list;
    }

    private TemplateNode? TextOrAction()
    {
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Text:
                return new TextNode(token.Pos, token.Text);
            case TokenKind.LeftDelim:
                _actionStart = token.Pos;
                return Action();
            case TokenKind.Eof:
                throw Fault(token.Pos, "unexpected EOF");
            default:
                throw Fault(token.Pos, $"unexpected {Describe(token)} in input");
        }
    }

    private TemplateNode Action()
    {
        var token = NextNonSpace();
        if (token.Kind == TokenKind.Keyword)
        {
            switch (token.Text)
            {
                case "block":
                    return Block();
                case "break" or "continue":
                    return Break(token);
                case "else":
                    return Else(token);
                case "end":
                    Expect(TokenKind.RightDelim, "end");
                    return new EndMarker(token.Pos);
                case "if":
                    return Control(token, BranchKind.If);
                case "range":
                    return Control(token, BranchKind.Range);
                case "with":
                    return Control(token, BranchKind.With);
                case "template":
                    return Include();
                default:
                    throw Fault(token.Pos, $"unexpected <{token.Text}> in command");
            }
        }

        Backup();
        var start = _actionStart;
        var pipe = Pipeline("command", TokenKind.RightDelim);
        return new ActionNode(start, pipe, SourceFrom(start));
    }

    private string SourceFrom(int start) => _text[start..(_tokens[_at - 1].Pos + _tokens[_at - 1].Text.Length)];

    private BreakNode Break(Token token)
    {
        var isContinue = token.Text == "continue";
        if (NextNonSpace().Kind != TokenKind.RightDelim)
        {
            throw Fault(token.Pos, $"unexpected {Describe(_tokens[_at - 1])} in {{{{{token.Text}}}}}");
        }

        if (_rangeDepth == 0)
        {
            throw Fault(token.Pos, $"{{{{{token.Text}}}}} outside {{{{range}}}}");
        }

        return new BreakNode(token.Pos, isContinue);
    }

    private ElseMarker Else(Token token)
    {
        if (PeekNonSpace() is { Kind: TokenKind.Keyword, Text: "if" or "with" } chained)
        {
            // {{else if ...}}: the if (or with) stands alone in the else part and takes this {{else}}'s {{end}}.
            return new ElseMarker(token.Pos, chained.Text);
        }

        Expect(TokenKind.RightDelim, "else");
        return new ElseMarker(token.Pos, null);
    }

    private BranchNode Control(Token token, BranchKind kind)
    {
        var start = _actionStart;
        var vars = _vars.Count;
        var pipe = Pipeline(token.Text, TokenKind.RightDelim);
        var source = SourceFrom(start);
        if (kind == BranchKind.Range)
        {
            _rangeDepth++;
        }

        var (list, next) = ItemList();
        if (kind == BranchKind.Range)
        {
            _rangeDepth--;
        }

        ListNode? elseList = null;
        if (next is ElseMarker marker)
        {
            if (marker.Chained is { } chained)
            {
                if (!string.Equals(chained, kind.ToString(), StringComparison.OrdinalIgnoreCase) || kind == BranchKind.Range)
                {
                    throw Fault(marker.Pos, $"unexpected {{{{else {chained}}}}} in {{{{{token.Text}}}}}");
                }

                var chainedToken = NextNonSpace();
                _actionStart = marker.Pos;
                elseList = new ListNode(marker.Pos, [Control(chainedToken, kind)]);
            }
            else
            {
                (elseList, next) = ItemList();
                if (next is not EndMarker)
                {
                    throw Fault(next.Pos, "expected end; found {{else}}");
                }
            }
        }

        _vars.RemoveRange(vars, _vars.Count - vars);
        return new BranchNode(token.Pos, kind, pipe, list, elseList, source);
    }

    /// <summary>Nodes up to an {{else}} or {{end}}, which is returned as well.</summary>
    private (ListNode List, TemplateNode Terminator) ItemList()
    {
        var list = new ListNode(Peek().Pos, []);
        while (true)
        {
            if (PeekNonSpace().Kind == TokenKind.Eof)
            {
                throw Fault(_text.Length, "unexpected EOF");
            }

            if (Peek().Kind == TokenKind.LeftDelim && PeekAfterDelim() is { Kind: TokenKind.Keyword, Text: "define" } define)
            {
                throw Fault(define.Pos, "unexpected <define> in command");
            }

            var node = TextOrAction();
            if (node is EndMarker or ElseMarker)
            {
                return (list, node);
            }

            if (node is not null)
            {
                list.Nodes.Add(node);
            }
        }
    }

    private IncludeNode Include()
    {
        var start = _actionStart;
        var name = NextNonSpace();
        if (name.Kind != TokenKind.String)
        {
            throw Fault(name.Pos, $"unexpected {Describe(name)} in template clause");
        }

        PipeNode? pipe = null;
        if (NextNonSpace().Kind != TokenKind.RightDelim)
        {
            Backup();
            pipe = Pipeline("template clause", TokenKind.RightDelim);
        }

        return new IncludeNode(name.Pos, GoTemplateLexer.Unquote(name.Text), pipe, SourceFrom(start));
    }

    /// <summary><c>{{block "name" pipeline}} body {{end}}</c>: defines the template and includes it here.</summary>
    private IncludeNode Block()
    {
        var start = _actionStart;
        var name = NextNonSpace();
        if (name.Kind != TokenKind.String)
        {
            throw Fault(name.Pos, $"unexpected {Describe(name)} in block clause");
        }

        var pipe = Pipeline("block clause", TokenKind.RightDelim);
        var source = SourceFrom(start);
        var (list, next) = ItemList();
        if (next is not EndMarker)
        {
            throw Fault(next.Pos, "unexpected {{else}} in block clause");
        }

        var text = GoTemplateLexer.Unquote(name.Text);
        _defined.TryAdd(text, list);
        return new IncludeNode(name.Pos, text, pipe, source);
    }

    private PipeNode Pipeline(string context, TokenKind end)
    {
        var pipe = new PipeNode(PeekNonSpace().Pos, false, [], []);
        var isAssign = false;
        while (PeekNonSpace().Kind == TokenKind.Variable)
        {
            var variable = NextNonSpace();
            var afterVariable = Peek();
            var next = PeekNonSpace();
            if (next.Kind is TokenKind.Declare or TokenKind.Assign)
            {
                NextNonSpace();
                isAssign = next.Kind == TokenKind.Assign;
                pipe.Decl.Add(variable.Text);
                _vars.Add(variable.Text);
                break;
            }

            if (next.Kind == TokenKind.Comma)
            {
                NextNonSpace();
                pipe.Decl.Add(variable.Text);
                _vars.Add(variable.Text);
                if (context == "range" && pipe.Decl.Count < 2 && PeekNonSpace().Kind == TokenKind.Variable)
                {
                    continue;
                }

                throw Fault(next.Pos, context == "range" ? "range can only initialize variables" : $"too many declarations in {context}");
            }

            _at -= afterVariable.Kind == TokenKind.Space ? 2 : 1;
            break;
        }

        if (pipe.Decl.Count == 2 && !(_tokens[_at - 1].Kind is TokenKind.Declare or TokenKind.Assign))
        {
            throw Fault(pipe.Pos, "range can only initialize variables");
        }

        while (true)
        {
            var token = NextNonSpace();
            if (token.Kind == end)
            {
                if (pipe.Commands.Count == 0)
                {
                    throw Fault(token.Pos, $"missing value for {context}");
                }

                for (var i = 1; i < pipe.Commands.Count; i++)
                {
                    if (pipe.Commands[i].Args[0] is BoolNode or DotNode or NilNode or NumberNode or StringNode)
                    {
                        throw Fault(pipe.Commands[i].Pos, $"non executable command in pipeline stage {i + 1}");
                    }
                }

                return pipe with { IsAssign = isAssign };
            }

            switch (token.Kind)
            {
                case TokenKind.Bool or TokenKind.Dot or TokenKind.Field or TokenKind.Identifier or TokenKind.Number or TokenKind.Nil
                    or TokenKind.String or TokenKind.Variable or TokenKind.LeftParen:
                    Backup();
                    pipe.Commands.Add(Command());
                    break;
                default:
                    throw Fault(token.Pos, $"unexpected {Describe(token)} in {context}");
            }
        }
    }

    private CommandNode Command()
    {
        var command = new CommandNode(PeekNonSpace().Pos, []);
        while (true)
        {
            PeekNonSpace();
            if (Operand() is { } operand)
            {
                command.Args.Add(operand);
            }

            var token = Next();
            switch (token.Kind)
            {
                case TokenKind.Space:
                    continue;
                case TokenKind.RightDelim or TokenKind.RightParen:
                    Backup();
                    break;
                case TokenKind.Pipe:
                    break;
                default:
                    throw Fault(token.Pos, $"unexpected {Describe(token)} in operand");
            }

            break;
        }

        return command.Args.Count == 0 ? throw Fault(command.Pos, "empty command") : command;
    }

    private TemplateNode? Operand()
    {
        var node = Term();
        if (node is null || Peek().Kind != TokenKind.Field)
        {
            return node;
        }

        var fields = new List<string>();
        while (Peek().Kind == TokenKind.Field)
        {
            fields.Add(Next().Text[1..]);
        }

        return node switch
        {
            FieldNode field => new FieldNode(field.Pos, [.. field.Idents, .. fields]),
            VariableNode variable => new VariableNode(variable.Pos, variable.Name, [.. variable.Fields, .. fields]),
            BoolNode or StringNode or NumberNode or NilNode or DotNode => throw Fault(node.Pos, $"unexpected . after term \"{node}\""),
            _ => new ChainNode(node.Pos, node, [.. fields]),
        };
    }

    private TemplateNode? Term()
    {
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Identifier:
                return _isFunction(token.Text) ? new IdentifierNode(token.Pos, token.Text) : throw Fault(token.Pos, $"function \"{token.Text}\" not defined");
            case TokenKind.Dot:
                return new DotNode(token.Pos);
            case TokenKind.Nil:
                return new NilNode(token.Pos);
            case TokenKind.Variable:
                return _vars.Contains(token.Text) ? new VariableNode(token.Pos, token.Text, []) : throw Fault(token.Pos, $"undefined variable \"{token.Text}\"");
            case TokenKind.Field:
                return new FieldNode(token.Pos, [token.Text[1..]]);
            case TokenKind.Bool:
                return new BoolNode(token.Pos, token.Text == "true");
            case TokenKind.Number:
                return Number(token);
            case TokenKind.LeftParen:
                return Pipeline("parenthesized pipeline", TokenKind.RightParen);
            case TokenKind.String:
                try
                {
                    return new StringNode(token.Pos, GoTemplateLexer.Unquote(token.Text), token.Text);
                }
                catch (FormatException e)
                {
                    throw Fault(token.Pos, e.Message);
                }

            default:
                Backup();
                return null;
        }
    }

    /// <summary>A number or character constant: a whole number is a long (as Go's int), anything with a fraction or exponent a double.</summary>
    private NumberNode Number(Token token)
    {
        var text = token.Text;
        if (text[0] == '\'')
        {
            var value = GoTemplateLexer.Unquote("\"" + text[1..^1].Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
            if (value.Length == 0 || char.ConvertToUtf32(value, 0) is var rune && value.Length != char.ConvertFromUtf32(rune).Length)
            {
                throw Fault(token.Pos, $"malformed character constant: {text}");
            }

            return new NumberNode(token.Pos, (long)char.ConvertToUtf32(value, 0), text);
        }

        var digits = text.Replace("_", string.Empty, StringComparison.Ordinal);
        var negative = digits.StartsWith('-');
        var unsigned = digits.TrimStart('+', '-');
        var lower = unsigned.ToLowerInvariant();
        try
        {
            if (lower.StartsWith("0x", StringComparison.Ordinal) && !lower.Contains('.', StringComparison.Ordinal) && !lower.Contains('p', StringComparison.Ordinal))
            {
                return Whole(token, negative, Convert.ToInt64(lower[2..], 16));
            }

            if (lower.StartsWith("0b", StringComparison.Ordinal))
            {
                return Whole(token, negative, Convert.ToInt64(lower[2..], 2));
            }

            if (lower.StartsWith("0o", StringComparison.Ordinal))
            {
                return Whole(token, negative, Convert.ToInt64(lower[2..], 8));
            }

            if (lower.Length > 1 && lower[0] == '0' && lower.All(char.IsAsciiDigit))
            {
                return Whole(token, negative, Convert.ToInt64(lower, 8));
            }

            if (lower.All(char.IsAsciiDigit) && lower.Length > 0)
            {
                return Whole(token, negative, long.Parse(lower, NumberStyles.None, CultureInfo.InvariantCulture));
            }

            if (!lower.StartsWith("0x", StringComparison.Ordinal) && double.TryParse(lower, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var real))
            {
                return new NumberNode(token.Pos, negative ? -real : real, text);
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw Fault(token.Pos, $"illegal number syntax: \"{text}\"");
        }

        throw Fault(token.Pos, $"illegal number syntax: \"{text}\"");
    }

    private static NumberNode Whole(Token token, bool negative, long value) => new(token.Pos, negative ? -value : value, token.Text);

    private void Expect(TokenKind kind, string context)
    {
        var token = NextNonSpace();
        if (token.Kind != kind)
        {
            throw Fault(token.Pos, $"unexpected {Describe(token)} in {context}");
        }
    }

    private GoTemplateException Fault(int at, string reason) => new(_text, at, reason, null, string.Empty, null);

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.Eof => "EOF",
        TokenKind.RightDelim => "\"}}\"",
        TokenKind.LeftDelim => "\"{{\"",
        TokenKind.Keyword => $"<{token.Text}>",
        TokenKind.Space => "space",
        _ => $"\"{token.Text}\"",
    };

    /// <summary>An {{else}} (or {{else if}}/{{else with}}, <see cref="Chained"/>) ending a list; never in the tree.</summary>
    private sealed record ElseMarker(int Pos, string? Chained) : TemplateNode(Pos)
    {
        public override void Write(System.Text.StringBuilder text) => text.Append("{{else}}");
    }

    /// <summary>An {{end}} ending a list; never in the tree.</summary>
    private sealed record EndMarker(int Pos) : TemplateNode(Pos)
    {
        public override void Write(System.Text.StringBuilder text) => text.Append("{{end}}");
    }
}
