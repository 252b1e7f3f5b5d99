namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// A template that cannot be parsed or executed, placed as Go's text/template places it. A parse error names the line:
/// <c>template: :1: unclosed action</c>. An execution error names the line and column (in UTF-8 bytes, as Go counts
/// them), the template executing (the top one, or the one a <c>{{template "t"}}</c> called) and the action's part
/// that failed: <c>template: :1:8: executing "t" at &lt;.Foo&gt;: ...</c>. The place's name is the one the top template
/// was parsed with, and that is empty, as docker's CLI parses its --format templates (templates.Parse) and as the
/// engine parses every template. Never a stack trace: the message is the whole story.
/// </summary>
public sealed class GoTemplateException : FormatException
{
    public GoTemplateException()
    {
        Reason = string.Empty;
        Action = string.Empty;
    }

    public GoTemplateException(string message)
        : this(message, null)
    {
    }

    public GoTemplateException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Reason = message;
        Action = string.Empty;
    }

    /// <summary>A parse error (<paramref name="at"/> null) or an execution error while <paramref name="template"/> executes ("" the top one).</summary>
    internal GoTemplateException(string source, int offset, string reason, string? at, string action, Exception? functionError, string template = "")
        : this(Describe(source, offset, reason, at, template), source, offset, reason, at, action, functionError)
    {
    }

    private GoTemplateException(string message, string source, int offset, string reason, string? at, string action, Exception? functionError)
        : base(message, functionError)
    {
        (Line, Column) = Place(source, offset);
        Offset = offset;
        Reason = reason;
        At = at;
        Action = action;
    }

    /// <summary>
    /// An execution error outside any action (text past an output budget), written as Go writes an error with no
    /// node: <c>template: NAME: reason</c>, the executing template's name ("" the top one) with neither place nor
    /// `at &lt;...&gt;`; <see cref="Offset"/> still says where.
    /// </summary>
    internal static GoTemplateException Unplaced(string source, int offset, string reason, string template) =>
        new($"template: {template}: {reason}", source, offset, reason, null, string.Empty, null);

    /// <summary>The line (from 1) of the failing part.</summary>
    public int Line { get; }

    /// <summary>The column of the failing part on its line: the characters before it on the line (Go's message counts their UTF-8 bytes).</summary>
    public int Column { get; }

    /// <summary>Where the failing part starts in the template's text (from 0).</summary>
    public int Offset { get; }

    /// <summary>What went wrong, without the place: `function "x" not defined`, `error calling index: index out of range: 5`.</summary>
    public string Reason { get; }

    /// <summary>For an execution error, the part of the action that failed, as Go writes it in &lt;...&gt; (`.Foo`, `index .Cmd 5`); null for a parse error.</summary>
    public string? At { get; }

    /// <summary>The whole action (`{{...}}`) holding the failing part, as written; empty when the fault is outside one.</summary>
    public string Action { get; }

    /// <summary>Whether the fault is a field the data does not have (the host may say what it has instead).</summary>
    public bool IsUnknownField { get; internal init; }

    /// <summary>The error a function (such as a host's <c>secret</c>) raised, when that is what failed; its message is in <see cref="Reason"/> after `error calling NAME: `.</summary>
    public Exception? FunctionError => InnerException;

    internal static (int Line, int Column) Place(string source, int offset)
    {
        offset = Math.Clamp(offset, 0, source.Length);
        var lineStart = source.AsSpan(0, offset).LastIndexOf('\n') + 1;
        return (source.AsSpan(0, offset).Count('\n') + 1, offset - lineStart);
    }

    /// <summary>Go's words: its parser's errorf names the line alone, its executor's errorf the line, the byte column and the template executing.</summary>
    private static string Describe(string source, int offset, string reason, string? at, string template)
    {
        var (line, _) = Place(source, offset);
        return at is null
            ? $"template: :{line}: {reason}"
            : $"template: :{line}:{ByteColumn(source, offset)}: executing \"{template}\" at <{at}>: {reason}";
    }

    /// <summary>The UTF-8 bytes before the offset on its line: the column Go writes (<see cref="Column"/> counts characters).</summary>
    private static int ByteColumn(string source, int offset)
    {
        offset = Math.Clamp(offset, 0, source.Length);
        var lineStart = source.AsSpan(0, offset).LastIndexOf('\n') + 1;
        return System.Text.Encoding.UTF8.GetByteCount(source.AsSpan(lineStart, offset - lineStart));
    }
}
