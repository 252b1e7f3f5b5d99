using System.Text;
using ProtoSwarm.Cli.Commands;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// Compose's variable substitution in a value: $VAR and ${VAR}; ${VAR:-default} (unset or empty),
/// ${VAR-default} (unset); ${VAR:?message} and ${VAR?message} (an error when unset or empty / unset);
/// $$ for a literal $. A default is taken as written (no nested substitution). Any other $ is an
/// error, as docker's template is. Variables used without a default and not set are listed in
/// <paramref name="unset"/>, for docker's "not set, defaulting to a blank string" warning.
/// </summary>
internal static class Interpolation
{
    /// <summary>True when substitution would change the text: it names a variable, or is a $ docker's template refuses.</summary>
    public static bool HasReferences(string text)
    {
        var named = false;
        var applied = Apply(text, _ =>
        {
            named = true;
            return "";
        }, new HashSet<string>());
        return named || !applied.IsValid;
    }

    public static Checked<string> Apply(string text, Func<string, string?> lookup, ISet<string> unset)
    {
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            return Checked<string>.Ok(text);
        }

        var output = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c != '$')
            {
                output.Append(c);
                i++;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '$')
            {
                output.Append('$');
                i += 2;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                var close = text.IndexOf('}', i + 2);
                if (close < 0)
                {
                    return Invalid(text);
                }

                var body = text[(i + 2)..close];
                var name = NameAt(body, 0);
                if (name.Length == 0)
                {
                    return Invalid(text);
                }

                var rest = body[name.Length..];
                var value = lookup(name);
                switch (rest)
                {
                    case "":
                        output.Append(Plain(name, value, unset));
                        break;
                    case [':', '-', ..]:
                        output.Append(string.IsNullOrEmpty(value) ? rest[2..] : value);
                        break;
                    case ['-', ..]:
                        output.Append(value ?? rest[1..]);
                        break;
                    case [':', '?', ..] when string.IsNullOrEmpty(value):
                    case ['?', ..] when value is null:
                        var message = rest[(rest[0] == ':' ? 2 : 1)..];
                        return Checked<string>.Fail(message.Length == 0
                            ? $"required variable {name} is missing a value; set it in the environment"
                            : $"required variable {name} is missing a value: {message}");
                    case [':', '?', ..] or ['?', ..]:
                        output.Append(value);
                        break;
                    default:
                        return Invalid(text);
                }

                i = close + 1;
                continue;
            }

            var bare = NameAt(text, i + 1);
            if (bare.Length == 0)
            {
                return Invalid(text);
            }

            output.Append(Plain(bare, lookup(bare), unset));
            i += 1 + bare.Length;
        }

        return Checked<string>.Ok(output.ToString());
    }

    private static string Plain(string name, string? value, ISet<string> unset)
    {
        if (value is null)
        {
            unset.Add(name);
        }

        return value ?? "";
    }

    private static string NameAt(string text, int start)
    {
        var end = start;
        while (end < text.Length && (text[end] == '_' || char.IsAsciiLetter(text[end]) || (end > start && char.IsAsciiDigit(text[end]))))
        {
            end++;
        }

        return text[start..end];
    }

    private static Checked<string> Invalid(string text) =>
        Checked<string>.Fail($"invalid interpolation in \"{text}\"; write ${{NAME}}, ${{NAME:-default}} or ${{NAME:?message}}, and $$ for a literal $");
}
