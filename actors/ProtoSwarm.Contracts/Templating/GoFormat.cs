using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>
/// Go's fmt for the template's print, println and printf: Sprint's spaces between operands that are not
/// strings, Sprintln's, and printf's verbs (%v %s %d %q %t %x %X %o %b %c %U %e %f %g and upper case) with flags
/// (- + # 0 space), width and precision (also *), and fmt's own complaints in the output (%!d(string=x),
/// %!s(MISSING), %!(EXTRA ...)) where Go puts them.
/// </summary>
internal static class GoFormat
{
    public static string Sprint(IReadOnlyList<object?> args, Func<JsonObject, bool> isMap)
    {
        var text = new StringBuilder();
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string)
            {
                text.Append(' ');
            }

            text.Append(GoValues.Print(args[i], isMap));
        }

        return text.ToString();
    }

    public static string Sprintln(IReadOnlyList<object?> args, Func<JsonObject, bool> isMap) =>
        string.Join(" ", args.Select(a => GoValues.Print(a, isMap))) + "\n";

    public static string Sprintf(string format, IReadOnlyList<object?> args, Func<JsonObject, bool> isMap)
    {
        var text = new StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                text.Append(c);
                continue;
            }

            var spec = new Spec();
            i++;
            for (; i < format.Length; i++)
            {
                switch (format[i])
                {
                    case '-': spec.Minus = true; spec.Zero = false; continue;
                    case '+': spec.Plus = true; continue;
                    case '#': spec.Sharp = true; continue;
                    case ' ': spec.Space = true; continue;
                    case '0': spec.Zero = !spec.Minus; continue;
                }

                break;
            }

            spec.Width = Number(format, ref i, args, ref next, text, out var widthBad);
            if (widthBad)
            {
                text.Append("%!(BADWIDTH)");
            }

            if (spec.Width < 0)
            {
                spec.Minus = true;
                spec.Zero = false;
                spec.Width = -spec.Width;
            }

            if (i < format.Length && format[i] == '.')
            {
                i++;
                spec.Precision = Number(format, ref i, args, ref next, text, out var precisionBad);
                if (precisionBad)
                {
                    text.Append("%!(BADPREC)");
                }

                if (spec.Precision < 0)
                {
                    spec.Precision = 0;
                }
            }

            if (i >= format.Length)
            {
                text.Append("%!(NOVERB)");
                break;
            }

            var verb = format[i];
            if (verb == '%')
            {
                text.Append('%');
                continue;
            }

            if (next >= args.Count)
            {
                text.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            text.Append(Format(args[next++], verb, spec, isMap));
        }

        if (next < args.Count)
        {
            text.Append("%!(EXTRA ");
            text.Append(string.Join(", ", args.Skip(next).Select(a => a is null or Missing ? "<nil>" : GoValues.TypeName(a) + "=" + GoValues.Print(a, isMap))));
            text.Append(')');
        }

        return text.ToString();
    }

    /// <summary>A width or precision: digits, or * taking an int argument; -1 when none is given.</summary>
    private static int Number(string format, ref int i, IReadOnlyList<object?> args, ref int next, StringBuilder text, out bool bad)
    {
        bad = false;
        if (i < format.Length && format[i] == '*')
        {
            i++;
            if (next < args.Count && args[next] is long n && Math.Abs(n) <= 1_000_000)
            {
                next++;
                return (int)n;
            }

            next++;
            bad = true;
            return -1;
        }

        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }

        return i > start ? int.Parse(format.AsSpan(start, Math.Min(i - start, 7)), CultureInfo.InvariantCulture) : -1;
    }

    private static string Format(object? arg, char verb, Spec spec, Func<JsonObject, bool> isMap)
    {
        switch (arg)
        {
            case null or Missing:
                return verb is 'v' ? Pad("<nil>", spec) : $"%!{verb}(<nil>)";
            case bool b:
                return verb is 't' or 'v' ? Pad(b ? "true" : "false", spec) : Bad(verb, arg, isMap);
            case long l:
                return Integer(l, verb, spec) ?? Bad(verb, arg, isMap);
            case double d:
                return Float(d, verb, spec) ?? Bad(verb, arg, isMap);
            case string s:
                return Text(s, verb, spec) ?? Bad(verb, arg, isMap);
            case JsonArray items when verb != 'T':
                return "[" + string.Join(" ", items.Select(item => Format(GoValues.FromNode(item), verb, spec, isMap))) + "]";
            case GoNilValue nil:
                return verb is 'v' or 's' ? Pad(nil.Printed, spec) : nil.IsMap ? "map[]" : "[]";
            case JsonObject map when isMap(map) && verb != 'v':
                return "map[" + string.Join(" ", map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Format(GoValues.FromNode(p.Value), verb, spec, isMap))) + "]";
            default:
                return verb is 'v' or 's' ? Pad(GoValues.Print(arg, isMap), spec) : Bad(verb, arg, isMap);
        }
    }

    private static string Bad(char verb, object? arg, Func<JsonObject, bool> isMap) =>
        $"%!{verb}({GoValues.TypeName(arg)}={GoValues.Print(arg, isMap)})";

    private static string? Integer(long value, char verb, Spec spec)
    {
        if (verb is 'c')
        {
            return Pad(value is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? char.ConvertFromUtf32((int)value) : "\ufffd", spec);
        }

        if (verb is 'q')
        {
            var rune = value is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? char.ConvertFromUtf32((int)value) : "\ufffd";
            var quoted = GoText.Quote(rune);
            return Pad("'" + quoted[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'", spec);
        }

        if (verb is 'U')
        {
            var u = "U+" + value.ToString("X4", CultureInfo.InvariantCulture);
            return Pad(spec.Sharp && value is >= 0 and <= 0x10FFFF ? u + " '" + char.ConvertFromUtf32((int)value) + "'" : u, spec);
        }

        var (radix, prefix) = verb switch
        {
            'd' or 'v' => (10, string.Empty),
            'b' => (2, spec.Sharp ? "0b" : string.Empty),
            'o' => (8, spec.Sharp ? "0" : string.Empty),
            'O' => (8, "0o"),
            'x' => (16, spec.Sharp ? "0x" : string.Empty),
            'X' => (16, spec.Sharp ? "0X" : string.Empty),
            _ => (0, string.Empty),
        };
        if (radix == 0)
        {
            return null;
        }

        var magnitude = value == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(value);
        var digits = radix switch
        {
            10 => magnitude.ToString(CultureInfo.InvariantCulture),
            16 => magnitude.ToString(verb == 'X' ? "X" : "x", CultureInfo.InvariantCulture),
            _ => ToRadix(magnitude, radix),
        };
        if (spec.Precision >= 0)
        {
            digits = spec.Precision == 0 && value == 0 ? string.Empty : digits.PadLeft(spec.Precision, '0');
        }

        var sign = value < 0 ? "-" : spec.Plus ? "+" : spec.Space ? " " : string.Empty;
        return PadNumber(sign + prefix, digits, spec with { Zero = spec.Zero && spec.Precision < 0 });
    }

    private static string ToRadix(ulong value, int radix)
    {
        if (value == 0)
        {
            return "0";
        }

        var text = new StringBuilder();
        while (value > 0)
        {
            text.Insert(0, (char)('0' + (int)(value % (ulong)radix)));
            value /= (ulong)radix;
        }

        return text.ToString();
    }

    private static string? Float(double value, char verb, Spec spec)
    {
        var text = verb switch
        {
            'v' => GoValues.FormatFloat(value, 'g', spec.Precision),
            'e' or 'E' or 'f' or 'F' => GoValues.FormatFloat(value, verb == 'F' ? 'f' : verb, spec.Precision < 0 ? 6 : spec.Precision),
            'g' or 'G' => GoValues.FormatFloat(value, verb, spec.Precision),
            _ => null,
        };
        if (text is null)
        {
            return null;
        }

        var sign = string.Empty;
        if (text.StartsWith('-'))
        {
            sign = "-";
            text = text[1..];
        }
        else if (spec.Plus || (text != "NaN" && !text.StartsWith('+') && spec.Space))
        {
            sign = spec.Plus ? "+" : " ";
        }

        if (text.StartsWith('+'))
        {
            sign = "+";
            text = text[1..];
        }

        return double.IsFinite(value) ? PadNumber(sign, text, spec) : Pad(sign + text, spec with { Zero = false });
    }

    private static string? Text(string value, char verb, Spec spec)
    {
        if (spec.Precision >= 0 && verb is 's' or 'v' or 'q' or 'x' or 'X')
        {
            var runes = value.EnumerateRunes().Take(spec.Precision).Select(r => r.ToString());
            value = string.Concat(runes);
        }

        switch (verb)
        {
            case 's' or 'v':
                return Pad(value, spec);
            case 'q':
                return Pad(spec.Sharp && !value.Contains('`', StringComparison.Ordinal) && value.All(c => c == '\t' || !char.IsControl(c)) ? "`" + value + "`" : spec.Plus ? AsciiQuote(value) : GoText.Quote(value), spec);
            case 'x' or 'X':
                var hex = Convert.ToHexString(Encoding.UTF8.GetBytes(value));
                hex = verb == 'x' ? hex.ToLowerInvariant() : hex;
                if (spec.Space)
                {
                    hex = string.Join(" ", hex.Chunk(2).Select(pair => (spec.Sharp ? (verb == 'x' ? "0x" : "0X") : string.Empty) + new string(pair)));
                }
                else if (spec.Sharp && hex.Length > 0)
                {
                    hex = (verb == 'x' ? "0x" : "0X") + hex;
                }

                return Pad(hex, spec);
            default:
                return null;
        }
    }

    /// <summary>%+q: strconv.QuoteToASCII, everything beyond ASCII as \u or \U escapes.</summary>
    private static string AsciiQuote(string value)
    {
        var quoted = GoText.Quote(value);
        var text = new StringBuilder();
        foreach (var rune in quoted.EnumerateRunes())
        {
            text.Append(rune.Value < 0x80 ? rune.ToString()
                : rune.Value <= 0xFFFF ? "\\u" + rune.Value.ToString("x4", CultureInfo.InvariantCulture)
                : "\\U" + rune.Value.ToString("x8", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>Padding to the width with spaces (left or, with -, right) or zeros, counted in characters as Go counts runes.</summary>
    private static string Pad(string text, Spec spec)
    {
        var length = text.EnumerateRunes().Count();
        if (spec.Width <= length)
        {
            return text;
        }

        var padding = new string(spec.Zero ? '0' : ' ', spec.Width - length);
        return spec.Minus ? text + padding.Replace('0', ' ') : padding + text;
    }

    /// <summary>A number's padding: zeros go between its sign (or prefix) and its digits.</summary>
    private static string PadNumber(string sign, string digits, Spec spec)
    {
        if (spec.Zero && !spec.Minus && spec.Width > sign.Length + digits.Length)
        {
            return sign + new string('0', spec.Width - sign.Length - digits.Length) + digits;
        }

        return Pad(sign + digits, spec with { Zero = false });
    }

    private sealed record Spec
    {
        public bool Minus { get; set; }

        public bool Plus { get; set; }

        public bool Sharp { get; set; }

        public bool Space { get; set; }

        public bool Zero { get; set; }

        public int Width { get; set; } = -1;

        public int Precision { get; set; } = -1;
    }
}
