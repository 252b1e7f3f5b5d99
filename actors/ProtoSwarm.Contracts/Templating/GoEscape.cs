using System.Globalization;
using System.Text;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>The escapers behind the template functions html, js and urlquery, as Go's text/template and net/url write them.</summary>
internal static class GoEscape
{
    /// <summary>HTMLEscapeString: the five special characters as entities, NUL as U+FFFD.</summary>
    public static string Html(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            result.Append(c switch
            {
                '"' => "&#34;",
                '\'' => "&#39;",
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '\0' => "\uFFFD",
                _ => c.ToString(),
            });
        }

        return result.ToString();
    }

    /// <summary>JSEscapeString: quotes and backslash escaped, &lt; &gt; &amp; = and control characters as \u00XX, unprintable runes as \uXXXX.</summary>
    public static string JavaScript(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            switch (value)
            {
                case '\\':
                    result.Append("\\\\");
                    break;
                case '\'':
                    result.Append("\\'");
                    break;
                case '"':
                    result.Append("\\\"");
                    break;
                case '<' or '>' or '&' or '=' or < ' ':
                    result.Append("\\u").Append(value.ToString("X4", CultureInfo.InvariantCulture));
                    break;
                case < 0x80:
                    result.Append((char)value);
                    break;
                default:
                    var category = Rune.GetUnicodeCategory(rune);
                    var printable = category is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                        or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                        && !(category == UnicodeCategory.SpaceSeparator && value != ' ');
                    result.Append(printable ? rune.ToString() : "\\u" + value.ToString("X4", CultureInfo.InvariantCulture));
                    break;
            }
        }

        return result.ToString();
    }

    /// <summary>url.QueryEscape: letters, digits and -_.~ as they are, space as +, every other byte of the UTF-8 as %XX.</summary>
    public static string UrlQuery(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                result.Append((char)b);
            }
            else if (b == ' ')
            {
                result.Append('+');
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }
}
