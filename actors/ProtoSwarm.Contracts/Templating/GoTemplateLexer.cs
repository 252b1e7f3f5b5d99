using System.Globalization;
using System.Text;

namespace ProtoSwarm.Contracts.Templating;

internal enum TokenKind
{
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Field,
    Variable,
    Identifier,
    Keyword,
    Bool,
    Nil,
    Dot,
    String,
    Number,
    LeftParen,
    RightParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Eof,
}

/// <summary>One token: its kind, its text as written (a string's or number's value is worked out by the parser), where it starts.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Pos);

/// <summary>
/// Go's text/template lexer: text outside <c>{{ }}</c> (trimmed by the <c>{{- </c> and <c> -}}</c> markers),
/// comments <c>{{/* */}}</c> dropped, and inside an action fields, variables, identifiers, keywords, constants,
/// parentheses, `|`, <c>:=</c>, <c>=</c> and spaces. A fault is a <see cref="GoTemplateException"/> placed at it.
/// </summary>
internal sealed class GoTemplateLexer
{
    private const string LeftDelim = "{{";
    private const string RightDelim = "}}";

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
    };

    private readonly string _text;
    private readonly List<Token> _tokens = [];
    private int _at;

    private GoTemplateLexer(string text) => _text = text;

    public static List<Token> Tokens(string text)
    {
        var lexer = new GoTemplateLexer(text);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        var trimLeading = false;
        while (true)
        {
            var open = _text.IndexOf(LeftDelim, _at, StringComparison.Ordinal);
            var end = open < 0 ? _text.Length : open;
            var start = _at;
            if (trimLeading)
            {
                while (start < end && IsSpace(_text[start]))
                {
                    start++;
                }
            }

            if (open < 0)
            {
                AddText(start, end);
                _tokens.Add(new Token(TokenKind.Eof, string.Empty, _text.Length));
                return;
            }

            var inner = open + LeftDelim.Length;
            var trimTrailing = _text.Length > inner + 1 && _text[inner] == '-' && IsSpace(_text[inner + 1]);
            if (trimTrailing)
            {
                while (end > start && IsSpace(_text[end - 1]))
                {
                    end--;
                }

                inner += 2;
            }

            AddText(start, end);
            _at = inner;
            trimLeading = IsComment() ? Comment(open) : Action(open);
        }
    }

    private void AddText(int start, int end)
    {
        if (end > start)
        {
            _tokens.Add(new Token(TokenKind.Text, _text[start..end], start));
        }
    }

    private bool IsComment() => string.CompareOrdinal(_text, _at, "/*", 0, 2) == 0;

    /// <summary>A comment: dropped, but it must end right at the closing delimiter. Whether the text after it is trimmed.</summary>
    private bool Comment(int open)
    {
        var close = _text.IndexOf("*/", _at + 2, StringComparison.Ordinal);
        if (close < 0)
        {
            throw Fault(open, "unclosed comment");
        }

        _at = close + 2;
        var trim = RightTrimmed();
        if (string.CompareOrdinal(_text, _at, RightDelim, 0, RightDelim.Length) != 0)
        {
            throw Fault(open, "comment ends before closing delimiter");
        }

        _at += RightDelim.Length;
        return trim;
    }

    /// <summary>At a right trim marker (` -}}`): it is passed over and true.</summary>
    private bool RightTrimmed()
    {
        if (_at + 1 < _text.Length && IsSpace(_text[_at]) && _text[_at + 1] == '-' && string.CompareOrdinal(_text, _at + 2, RightDelim, 0, RightDelim.Length) == 0)
        {
            _at += 2;
            return true;
        }

        return false;
    }

    /// <summary>The tokens of one action, up to its closing delimiter; whether the text after it is trimmed.</summary>
    private bool Action(int open)
    {
        _tokens.Add(new Token(TokenKind.LeftDelim, LeftDelim, open));
        var parens = 0;
        while (true)
        {
            if (_at >= _text.Length)
            {
                throw Fault(open, "unclosed action: '{{' is never closed with '}}'");
            }

            var start = _at;
            if (RightTrimmed() || string.CompareOrdinal(_text, _at, RightDelim, 0, RightDelim.Length) == 0)
            {
                var trim = _at != start;
                if (parens > 0)
                {
                    throw Fault(start, "unclosed left paren");
                }

                _at += RightDelim.Length;
                _tokens.Add(new Token(TokenKind.RightDelim, RightDelim, start));
                return trim;
            }

            var c = _text[_at];
            switch (c)
            {
                case var _ when IsSpace(c):
                    while (_at < _text.Length && IsSpace(_text[_at]) && !AtRightTrim())
                    {
                        _at++;
                    }

                    Add(TokenKind.Space, start);
                    break;
                case '=':
                    _at++;
                    Add(TokenKind.Assign, start);
                    break;
                case ':':
                    if (_at + 1 >= _text.Length || _text[_at + 1] != '=')
                    {
                        throw Fault(start, "expected :=");
                    }

                    _at += 2;
                    Add(TokenKind.Declare, start);
                    break;
                case '|':
                    _at++;
                    Add(TokenKind.Pipe, start);
                    break;
                case '"':
                    Quoted(start, '"', "unterminated quoted string");
                    break;
                case '`':
                    Quoted(start, '`', "unterminated raw quoted string");
                    break;
                case '\'':
                    Quoted(start, '\'', "unterminated character constant");
                    break;
                case '$':
                    _at++;
                    SkipAlphaNumeric();
                    Add(TokenKind.Variable, start);
                    break;
                case '.' when _at + 1 < _text.Length && char.IsAsciiDigit(_text[_at + 1]):
                    Number(start);
                    break;
                case '.':
                    _at++;
                    if (_at < _text.Length && IsAlphaNumeric(_text[_at]))
                    {
                        SkipAlphaNumeric();
                        Add(TokenKind.Field, start);
                    }
                    else
                    {
                        Add(TokenKind.Dot, start);
                    }

                    break;
                case '+' or '-' or (>= '0' and <= '9'):
                    Number(start);
                    break;
                case var _ when IsAlphaNumeric(c):
                    SkipAlphaNumeric();
                    var word = _text[start.._at];
                    Add(
                        Keywords.Contains(word) ? TokenKind.Keyword : word is "true" or "false" ? TokenKind.Bool : word == "nil" ? TokenKind.Nil : TokenKind.Identifier,
                        start);
                    break;
                case '(':
                    _at++;
                    parens++;
                    Add(TokenKind.LeftParen, start);
                    break;
                case ')':
                    _at++;
                    if (--parens < 0)
                    {
                        throw Fault(start, "unexpected \")\" in command");
                    }

                    Add(TokenKind.RightParen, start);
                    break;
                case ',':
                    _at++;
                    Add(TokenKind.Comma, start);
                    break;
                default:
                    throw Fault(start, $"unexpected {Describe(c)} in command");
            }
        }
    }

    private bool AtRightTrim() =>
        _at + 1 < _text.Length && _text[_at + 1] == '-' && string.CompareOrdinal(_text, _at + 2, RightDelim, 0, RightDelim.Length) == 0;

    private void Add(TokenKind kind, int start) => _tokens.Add(new Token(kind, _text[start.._at], start));

    private void SkipAlphaNumeric()
    {
        while (_at < _text.Length && IsAlphaNumeric(_text[_at]))
        {
            _at++;
        }
    }

    private void Quoted(int start, char quote, string unterminated)
    {
        _at++;
        while (true)
        {
            if (_at >= _text.Length || (quote != '`' && _text[_at] == '\n'))
            {
                throw Fault(start, unterminated);
            }

            var c = _text[_at++];
            if (c == '\\' && quote != '`')
            {
                if (_at >= _text.Length || _text[_at] == '\n')
                {
                    throw Fault(start, unterminated);
                }

                _at++;
            }
            else if (c == quote)
            {
                break;
            }
        }

        Add(quote == '\'' ? TokenKind.Number : TokenKind.String, start);
    }

    /// <summary>A number as Go scans one: sign, 0x/0o/0b prefix, digits with underscores, fraction, exponent; a letter right after is bad syntax.</summary>
    private void Number(int start)
    {
        if (_text[_at] is '+' or '-')
        {
            _at++;
        }

        var digits = "0123456789_";
        var exponent = "eE";
        if (_at + 1 < _text.Length && _text[_at] == '0' && char.ToLowerInvariant(_text[_at + 1]) is 'x' or 'o' or 'b')
        {
            var prefix = char.ToLowerInvariant(_text[_at + 1]);
            _at += 2;
            (digits, exponent) = prefix switch
            {
                'x' => ("0123456789abcdefABCDEF_", "pP"),
                'o' => ("01234567_", string.Empty),
                _ => ("01_", string.Empty),
            };
        }

        Skip(digits);
        if (_at < _text.Length && _text[_at] == '.')
        {
            _at++;
            Skip(digits);
        }

        if (exponent.Length > 0 && _at < _text.Length && exponent.Contains(_text[_at], StringComparison.Ordinal))
        {
            _at++;
            if (_at < _text.Length && _text[_at] is '+' or '-')
            {
                _at++;
            }

            Skip("0123456789_");
        }

        if (_at < _text.Length && IsAlphaNumeric(_text[_at]))
        {
            _at++;
            throw Fault(start, $"bad number syntax: \"{_text[start.._at]}\"");
        }

        Add(TokenKind.Number, start);
    }

    private void Skip(string chars)
    {
        while (_at < _text.Length && chars.Contains(_text[_at], StringComparison.Ordinal))
        {
            _at++;
        }
    }

    private GoTemplateException Fault(int at, string reason) => new(_text, at, reason, null, string.Empty, null);

    private static string Describe(char c) => c < ' ' || c == '\u007f'
        ? $"<U+{(int)c:X4}>"
        : $"\"{c}\"";

    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsAlphaNumeric(char c) => c == '_' || char.IsLetterOrDigit(c);

    /// <summary>A quoted string token's value: Go's escapes in "...", none in `...`.</summary>
    public static string Unquote(string quoted)
    {
        if (quoted[0] == '`')
        {
            return quoted[1..^1].Replace("\r", string.Empty, StringComparison.Ordinal);
        }

        var text = new StringBuilder(quoted.Length);
        for (var i = 1; i < quoted.Length - 1; i++)
        {
            var c = quoted[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }

            var e = quoted[++i];
            switch (e)
            {
                case 'a': text.Append('\a'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'v': text.Append('\v'); break;
                case '\\' or '"' or '\'': text.Append(e); break;
                case 'x' or 'u' or 'U':
                    var length = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + length >= quoted.Length || !int.TryParse(quoted.AsSpan(i + 1, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new FormatException($"invalid syntax: {quoted}");
                    }

                    text.Append(char.ConvertFromUtf32(code));
                    i += length;
                    break;
                case >= '0' and <= '7':
                    if (i + 2 >= quoted.Length)
                    {
                        throw new FormatException($"invalid syntax: {quoted}");
                    }

                    text.Append((char)Convert.ToInt32(quoted.Substring(i, 3), 8));
                    i += 2;
                    break;
                default:
                    throw new FormatException($"invalid syntax: {quoted}");
            }
        }

        return text.ToString();
    }
}
