using System.Globalization;
using System.Text;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// The parse tree of a template, as Go's text/template/parse builds it: a list of text, actions and control
/// structures; an action's pipeline is commands joined by `|`, a command a function, field, variable or constant
/// with its arguments. Each node knows where it starts (<see cref="Pos"/>) and writes itself back as Go does, for errors.
/// </summary>
internal abstract record TemplateNode(int Pos)
{
    public abstract void Write(StringBuilder text);

    public sealed override string ToString()
    {
        var text = new StringBuilder();
        Write(text);
        return text.ToString();
    }
}

internal sealed record ListNode(int Pos, List<TemplateNode> Nodes) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => Nodes.ForEach(n => n.Write(text));
}

internal sealed record TextNode(int Pos, string Text) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(Text);
}

/// <summary>An action that prints: <c>{{pipeline}}</c>; <see cref="Source"/> is the whole action as written.</summary>
internal sealed record ActionNode(int Pos, PipeNode Pipe, string Source) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append("{{").Append(Pipe).Append("}}");
}

internal enum BranchKind
{
    If,
    With,
    Range,
}

/// <summary><c>{{if}}</c>, <c>{{with}}</c> or <c>{{range}}</c> with its body and, when given, its else part (an <c>else if</c> is an if alone in it).</summary>
internal sealed record BranchNode(int Pos, BranchKind Kind, PipeNode Pipe, ListNode List, ListNode? Else, string Source) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        text.Append("{{").Append(Kind.ToString().ToLowerInvariant()).Append(' ').Append(Pipe).Append("}}").Append(List);
        if (Else is not null)
        {
            text.Append("{{else}}").Append(Else);
        }

        text.Append("{{end}}");
    }
}

/// <summary><c>{{template "name" pipeline}}</c>.</summary>
internal sealed record IncludeNode(int Pos, string Name, PipeNode? Pipe, string Source) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        text.Append("{{template ").Append(GoText.Quote(Name));
        if (Pipe is not null)
        {
            text.Append(' ').Append(Pipe);
        }

        text.Append("}}");
    }
}

internal sealed record BreakNode(int Pos, bool IsContinue) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(IsContinue ? "{{continue}}" : "{{break}}");
}

/// <summary>A pipeline: optional variables declared (<c>$x :=</c>) or assigned (<c>$x =</c>), then commands joined by `|`.</summary>
internal sealed record PipeNode(int Pos, bool IsAssign, List<string> Decl, List<CommandNode> Commands) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        if (Decl.Count > 0)
        {
            text.Append(string.Join(", ", Decl)).Append(IsAssign ? " = " : " := ");
        }

        for (var i = 0; i < Commands.Count; i++)
        {
            if (i > 0)
            {
                text.Append(" | ");
            }

            Commands[i].Write(text);
        }
    }
}

internal sealed record CommandNode(int Pos, List<TemplateNode> Args) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        for (var i = 0; i < Args.Count; i++)
        {
            if (i > 0)
            {
                text.Append(' ');
            }

            if (Args[i] is PipeNode)
            {
                text.Append('(').Append(Args[i]).Append(')');
            }
            else
            {
                Args[i].Write(text);
            }
        }
    }
}

/// <summary><c>.A.B</c>: fields of dot.</summary>
internal sealed record FieldNode(int Pos, string[] Idents) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        foreach (var ident in Idents)
        {
            text.Append('.').Append(ident);
        }
    }
}

/// <summary><c>$x.A.B</c>: a variable (<c>$</c> is the data the template was given) and fields of it.</summary>
internal sealed record VariableNode(int Pos, string Name, string[] Fields) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        text.Append(Name);
        foreach (var field in Fields)
        {
            text.Append('.').Append(field);
        }
    }
}

/// <summary><c>(pipeline).A.B</c>: fields of a term that is not dot or a variable.</summary>
internal sealed record ChainNode(int Pos, TemplateNode Node, string[] Fields) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text)
    {
        if (Node is PipeNode)
        {
            text.Append('(').Append(Node).Append(')');
        }
        else
        {
            Node.Write(text);
        }

        foreach (var field in Fields)
        {
            text.Append('.').Append(field);
        }
    }
}

internal sealed record IdentifierNode(int Pos, string Name) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(Name);
}

internal sealed record DotNode(int Pos) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append('.');
}

internal sealed record NilNode(int Pos) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append("nil");
}

internal sealed record BoolNode(int Pos, bool Value) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(Value ? "true" : "false");
}

/// <summary>A number constant: a long for a whole number (also a character constant like 'a'), a double otherwise.</summary>
internal sealed record NumberNode(int Pos, object Value, string Text) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(Text);
}

internal sealed record StringNode(int Pos, string Value, string Quoted) : TemplateNode(Pos)
{
    public override void Write(StringBuilder text) => text.Append(Quoted);
}

/// <summary>Small text helpers shared by the parser, the evaluator and printf.</summary>
internal static class GoText
{
    /// <summary>strconv.Quote: a double-quoted Go string literal, printable characters as they are.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
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
                case '\a':
                    text.Append("\\a");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
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
                case '\v':
                    text.Append("\\v");
                    break;
                case < ' ' or '\u007f':
                    text.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    break;
                case >= '\ud800' and <= '\udbff' when i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]):
                    text.Append(c).Append(value[++i]);
                    break;
                case >= '\ud800' and <= '\udfff':
                    text.Append("\\ufffd");
                    break;
                default:
                    if (char.IsControl(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned)
                    {
                        text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        return text.Append('"').ToString();
    }
}
