using System.Globalization;
using System.Text;

namespace ProtoSwarm.Contracts;

/// <summary>
/// A duration as Go's time.Duration.String() writes it, as docker prints and refuses durations: 1m30s, 10s,
/// 1h0m0s, 500ms, 1.5s, 15µs, 0s. One for the CLI's output, `stack config` and the managers' messages.
/// </summary>
public static class GoDuration
{
    public static string Format(TimeSpan span)
    {
        var ticks = span.Ticks;
        if (ticks == 0)
        {
            return "0s";
        }

        var sign = ticks < 0 ? "-" : "";
        ticks = Math.Abs(ticks);
        if (ticks < TimeSpan.TicksPerSecond)
        {
            var nanos = ticks * 100;
            return sign + (nanos >= 1_000_000 ? Fraction(nanos, 1_000_000) + "ms" : nanos >= 1_000 ? Fraction(nanos, 1_000) + "µs" : nanos + "ns");
        }

        var text = new StringBuilder(sign);
        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        if (hours > 0)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        return text.Append(Fraction(ticks % TimeSpan.TicksPerMinute * 100, 1_000_000_000)).Append('s').ToString();
    }

    private static string Fraction(long value, long unit)
    {
        var whole = (value / unit).ToString(CultureInfo.InvariantCulture);
        var rest = value % unit;
        if (rest == 0)
        {
            return whole;
        }

        var digits = unit.ToString(CultureInfo.InvariantCulture).Length - 1;
        return whole + "." + rest.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
    }
}
