namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// A template that cannot be parsed or executed, placed as Go's text/template places it:
/// <c>template: :1:8: executing "" at &lt;.Foo&gt;: ...</c> (line and column, and for an execution error the
/// action's part that failed). Never a stack trace: the message is the whole story.
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

    internal GoTemplateException(string source, int offset, string reason, string? at, string action, Exception? functionError)
        : this(Describe(source, offset, reason, at), source, offset, reason, at, action, functionError)
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
    /// node: <c>template: : reason</c>, with neither place nor `at &lt;...&gt;`; <see cref="Offset"/> still says where.
    /// </summary>
    internal static GoTemplateException Unplaced(string source, int offset, string reason) =>
        new($"template: : {reason}", source, offset, reason, null, string.Empty, null);

    /// <summary>The line (from 1) of the failing part.</summary>
    public int Line { get; }

    /// <summary>The column of the failing part on its line, counted as Go counts it: the characters before it on the line.</summary>
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

    private static string Describe(string source, int offset, string reason, string? at)
    {
        var (line, column) = Place(source, offset);
        return at is null
            ? $"template: :{line}:{column}: {reason}"
            : $"template: :{line}:{column}: executing \"\" at <{at}>: {reason}";
    }
}
