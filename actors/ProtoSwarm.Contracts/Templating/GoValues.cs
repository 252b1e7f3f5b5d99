using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Contracts.Templating;

/// <summary>What a field the data lacks evaluates to: Go's invalid reflect.Value, printed "&lt;no value&gt;".</summary>
internal sealed class Missing
{
    public static readonly Missing Value = new();

    private Missing()
    {
    }
}

/// <summary>A nil slice or map (<see cref="GoJson.NilSlice"/>, <see cref="GoJson.NilMap"/>): empty, printed `[]` or `map[]`.</summary>
internal sealed record GoNilValue(string Printed)
{
    public bool IsMap => Printed == "map[]";
}

/// <summary>
/// The values a template computes with, from the JSON it is given: null (Go's nil), <see cref="Missing"/>, string,
/// long (Go's ints), double (floats), bool, <see cref="JsonArray"/> (slices), <see cref="JsonObject"/> (maps and
/// structs) and <see cref="GoNilValue"/>; how Go prints each, whether it is true, its Go type's name.
/// </summary>
internal static class GoValues
{
    public static object? FromNode(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject or JsonArray:
                return node;
            case JsonValue value:
                if (GoJson.GoNilText(value) is { } nil)
                {
                    return new GoNilValue(nil);
                }

                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        return GoJson.StringOf(value);
                    case JsonValueKind.True:
                        return true;
                    case JsonValueKind.False:
                        return false;
                    case JsonValueKind.Null:
                        return null;
                    case JsonValueKind.Number:
                        return NumberOf(value);
                    default:
                        return value.ToJsonString();
                }

            default:
                return null;
        }
    }

    private static object NumberOf(JsonValue value)
    {
        if (value.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (value.TryGetValue<int>(out var i))
        {
            return (long)i;
        }

        if (value.TryGetValue<uint>(out var u))
        {
            return (long)u;
        }

        if (value.TryGetValue<short>(out var s))
        {
            return (long)s;
        }

        if (value.TryGetValue<byte>(out var b))
        {
            return (long)b;
        }

        if (value.TryGetValue<ulong>(out var ul) && ul <= long.MaxValue)
        {
            return (long)ul;
        }

        if (value.TryGetValue<JsonElement>(out var element))
        {
            var raw = element.GetRawText();
            if (!raw.AsSpan().ContainsAny(".eE") && element.TryGetInt64(out var whole))
            {
                return whole;
            }

            return element.GetDouble();
        }

        return value.TryGetValue<double>(out var d) ? d
            : value.TryGetValue<float>(out var f) ? (double)f
            : value.TryGetValue<decimal>(out var m) ? (double)m
            : double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);
    }

    /// <summary>A value as JSON, for the json function: a nil slice or map and a missing value are null.</summary>
    public static JsonNode? ToNode(object? value) => value switch
    {
        JsonNode node => node,
        string s => JsonValue.Create(s),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        bool b => JsonValue.Create(b),
        _ => null,
    };

    /// <summary>Go's truth: false for a missing value, nil, false, 0, "", an empty slice or map; anything else is true.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        null or Missing or GoNilValue => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0,
        JsonArray a => a.Count > 0,
        JsonObject o => o.Count > 0,
        _ => true,
    };

    /// <summary>The Go type a value stands for, as Go's errors and printf's %!verb(type=value) name it.</summary>
    public static string TypeName(object? value) => value switch
    {
        null or Missing => "<nil>",
        string => "string",
        long => "int",
        double => "float64",
        bool => "bool",
        JsonArray or GoNilValue { IsMap: false } => "[]interface {}",
        _ => "map[string]interface {}",
    };

    /// <summary>
    /// A value as Go's text/template prints it: a missing one `&lt;no value&gt;`, nil `&lt;nil&gt;`, a nil slice or
    /// map `[]` or `map[]`, a list `[a b]`, a map (<paramref name="isMap"/>) `map[k1:v1 k2:v2]` with its keys
    /// sorted, as Go's fmt sorts them. Another object (a Go struct, which Go prints as `{v1 v2}` in field order)
    /// stays JSON, which says more (written as the `json` function writes it).
    /// </summary>
    public static string Print(object? value, Func<JsonObject, bool> isMap) => value switch
    {
        Missing => "<no value>",
        null => "<nil>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d, 'g', -1),
        GoNilValue nil => nil.Printed,
        JsonArray items => "[" + string.Join(" ", items.Select(item => Print(FromNode(item), isMap))) + "]",
        JsonObject map when isMap(map) => "map[" + string.Join(" ", map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + Print(FromNode(p.Value), isMap))) + "]",
        JsonObject other => GoJson.Line(other, escapeHtml: false),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>
    /// strconv.FormatFloat for 'e', 'f', 'g' (and upper case): precision -1 is the shortest text that reads back the same;
    /// 'g' then switches to an exponent below 1e-4 or from 1e6 (from 10^precision when one is given), as Go's strconv does.
    /// </summary>
    public static string FormatFloat(double value, char verb, int precision)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        var upper = char.IsUpper(verb);
        var text = char.ToLowerInvariant(verb) switch
        {
            'f' => value.ToString("F" + (precision < 0 ? Shortest(value).Fraction : precision).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            'e' => Exponent(value, precision < 0 ? Shortest(value).Digits.Length - 1 : precision),
            _ => General(value, precision),
        };
        if (value == 0 && double.IsNegative(value) && !text.StartsWith('-'))
        {
            text = "-" + text;
        }

        return upper ? text.ToUpperInvariant() : text;
    }

    /// <summary>The shortest round-trip digits of |value| and its decimal exponent (value = 0.DIGITS × 10^(exponent+1)), and how many fraction digits %f needs.</summary>
    private static (string Digits, int Exponent, int Fraction) Shortest(double value)
    {
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var e = shortest.IndexOfAny(['E', 'e']);
        var mantissa = e < 0 ? shortest : shortest[..e];
        var exponent = e < 0 ? 0 : int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot < 0 ? mantissa : mantissa[..dot];
        var fracPart = dot < 0 ? string.Empty : mantissa[(dot + 1)..];
        var digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        var decimalExponent = intPart.Length - 1 - leadingZeros + exponent;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            return ("0", 0, 0);
        }

        return (digits, decimalExponent, Math.Max(0, digits.Length - 1 - decimalExponent));
    }

    private static string Exponent(double value, int precision)
    {
        var text = value.ToString("E" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var e = text.IndexOf('E', StringComparison.Ordinal);
        var exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return text[..e].ToLowerInvariant() + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string General(double value, int precision)
    {
        string digits;
        int exponent;
        if (precision < 0)
        {
            (digits, exponent, _) = Shortest(value);
        }
        else
        {
            precision = Math.Max(precision, 1);
            var text = Math.Abs(value).ToString("E" + (precision - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            var e = text.IndexOf('E', StringComparison.Ordinal);
            digits = text[..e].Replace(".", string.Empty, StringComparison.Ordinal).TrimEnd('0');
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            if (digits.Length == 0)
            {
                digits = "0";
                exponent = 0;
            }
        }

        // strconv's %e-or-%f choice: the exponent against the precision (6 for the shortest form), or the digits there are when fewer.
        var limit = precision < 0 ? 6 : precision;
        if (precision >= 0 && limit > digits.Length && digits.Length >= exponent + 1)
        {
            limit = digits.Length;
        }

        var sign = value < 0 ? "-" : string.Empty;
        if (exponent < -4 || exponent >= limit)
        {
            var mantissa = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }

        if (exponent < 0)
        {
            return sign + "0." + new string('0', -exponent - 1) + digits;
        }

        return digits.Length <= exponent + 1
            ? sign + digits + new string('0', exponent + 1 - digits.Length)
            : sign + digits[..(exponent + 1)] + "." + digits[(exponent + 1)..];
    }
}
