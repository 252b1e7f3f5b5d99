using System.Globalization;

namespace ProtoSwarm.Contracts;

/// <summary>
/// The signal names docker takes for a stop signal: "SIGTERM", "TERM", "term", a real-time name such as
/// SIGRTMIN+3, or a number from 1 to 64. One table for the CLI, the stack loader, the managers' spec check and
/// the node, so a name one of them accepts is one the node can send (a name it could not read used to become
/// SIGTERM there, quietly).
/// </summary>
public static class SignalRule
{
    private static readonly Dictionary<string, int> Numbers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6, ["BUS"] = 7,
        ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14,
        ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21,
        ["TTOU"] = 22, ["URG"] = 23, ["XCPU"] = 24, ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28,
        ["IO"] = 29, ["POLL"] = 29, ["PWR"] = 30, ["SYS"] = 31,
    };

    /// <summary>The signal's number, or null when the text names no Linux signal.</summary>
    public static int? Parse(string value)
    {
        var name = value.Trim();
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number is > 0 and <= 64 ? number : null;
        }

        if (name.StartsWith("SIG", StringComparison.OrdinalIgnoreCase))
        {
            name = name[3..];
        }

        return Numbers.TryGetValue(name, out var known) ? known : RealTime(name.ToUpperInvariant());
    }

    /// <summary>
    /// Docker's real-time names: RTMIN (34 on Linux), RTMIN+1 to RTMIN+15, RTMAX-14 to RTMAX-1, RTMAX (64).
    /// systemd's images stop on SIGRTMIN+3.
    /// </summary>
    private static int? RealTime(string name)
    {
        const int Min = 34, Max = 64;
        return name switch
        {
            "RTMIN" => Min,
            "RTMAX" => Max,
            _ when name.StartsWith("RTMIN+", StringComparison.Ordinal) && Offset(name[6..]) is { } n && n <= 15 => Min + n,
            _ when name.StartsWith("RTMAX-", StringComparison.Ordinal) && Offset(name[6..]) is { } n && n <= 14 => Max - n,
            _ => null,
        };

        static int? Offset(string digits) =>
            int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : null;
    }
}
