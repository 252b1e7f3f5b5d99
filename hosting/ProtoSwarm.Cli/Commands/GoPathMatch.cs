namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// Go's path.Match, which docker's `image ls` reference filter uses: `*` any run of characters but '/',
/// `?` one character but '/', `[...]` a class (`^` negates, `a-z` ranges, `\` escapes), `\c` the character c.
/// A malformed pattern is an error whether or not the name would match, as in Go.
/// </summary>
internal static class GoPathMatch
{
    /// <summary>Null when the pattern is well formed, else why not (Go's ErrBadPattern).</summary>
    public static string? Problem(string pattern)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    if (++i >= pattern.Length)
                    {
                        return "it ends with a lone '\\'";
                    }

                    break;
                case '[':
                    if (Class(pattern, i + 1, '\0', out _) is not { } end)
                    {
                        return $"its character class at {i + 1} is not closed, is empty, or has a range without an end";
                    }

                    i = end - 1;
                    break;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="name"/> matches the whole of <paramref name="pattern"/>; check <see cref="Problem"/> first.</summary>
    public static bool Matches(string pattern, string name) => Match(pattern, 0, name, 0);

    private static bool Match(string p, int i, string s, int j)
    {
        while (i < p.Length)
        {
            switch (p[i])
            {
                case '*':
                    while (i < p.Length && p[i] == '*')
                    {
                        i++;
                    }

                    for (var k = j; k <= s.Length; k++)
                    {
                        if (Match(p, i, s, k))
                        {
                            return true;
                        }

                        if (k < s.Length && s[k] == '/')
                        {
                            return false;
                        }
                    }

                    return false;
                case '?':
                    if (j >= s.Length || s[j] == '/')
                    {
                        return false;
                    }

                    i++;
                    j++;
                    break;
                case '[':
                    if (j >= s.Length || Class(p, i + 1, s[j], out var matched) is not { } end || !matched)
                    {
                        return false;
                    }

                    i = end;
                    j++;
                    break;
                case '\\':
                    if (i + 1 >= p.Length || j >= s.Length || p[i + 1] != s[j])
                    {
                        return false;
                    }

                    i += 2;
                    j++;
                    break;
                default:
                    if (j >= s.Length || p[i] != s[j])
                    {
                        return false;
                    }

                    i++;
                    j++;
                    break;
            }
        }

        return j == s.Length;
    }

    /// <summary>
    /// Reads a class from just after its '[': returns the index after its ']' (null when malformed: no ']',
    /// an empty class, a range missing an end, or an unescaped '-' or ']' where a character belongs, as Go's
    /// getEsc refuses), and whether <paramref name="c"/> is in it.
    /// </summary>
    private static int? Class(string p, int i, char c, out bool matched)
    {
        matched = false;
        var negated = i < p.Length && p[i] == '^';
        if (negated)
        {
            i++;
        }

        var ranges = 0;
        var inside = false;
        while (true)
        {
            if (i < p.Length && p[i] == ']' && ranges > 0)
            {
                matched = inside != negated;
                return i + 1;
            }

            if (Escaped(p, ref i) is not { } lo)
            {
                return null;
            }

            var hi = lo;
            if (i < p.Length && p[i] == '-')
            {
                i++;
                if (Escaped(p, ref i) is not { } end)
                {
                    return null;
                }

                hi = end;
            }

            inside |= lo <= c && c <= hi;
            ranges++;
        }
    }

    private static char? Escaped(string p, ref int i)
    {
        if (i >= p.Length || p[i] is '-' or ']')
        {
            return null;
        }

        if (p[i] == '\\' && ++i >= p.Length)
        {
            return null;
        }

        var c = p[i++];
        return i >= p.Length ? null : c;
    }
}
