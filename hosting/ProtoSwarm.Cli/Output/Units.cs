using System.Globalization;

namespace ProtoSwarm.Cli.Output;

/// <summary>Sizes and counts printed the way docker's go-units prints them.</summary>
internal static class Units
{
    private static readonly string[] BinaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>go-units BytesSize: binary units, four significant digits ("7.704GiB").</summary>
    public static string BytesSize(long bytes)
    {
        double size = bytes;
        var unit = 0;
        while (size >= 1024 && unit < BinaryUnits.Length - 1)
        {
            size /= 1024;
            unit++;
        }

        return size.ToString("G4", CultureInfo.InvariantCulture) + BinaryUnits[unit];
    }

    /// <summary>Nano-CPUs as a number of CPUs without trailing zeros ("4", "0.5").</summary>
    public static string Cpus(long nanoCpus) =>
        (nanoCpus / 1e9).ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Go's time.Duration String() ("1m30s", "300ms", "0s"), as docker prints durations.</summary>
internal static class GoDuration
{
    public static string Format(TimeSpan span)
    {
        if (span == TimeSpan.Zero)
        {
            return "0s";
        }

        var sign = span < TimeSpan.Zero ? "-" : string.Empty;
        var ticks = Math.Abs(span.Ticks);
        if (ticks < TimeSpan.TicksPerSecond)
        {
            return sign + (ticks >= TimeSpan.TicksPerMillisecond
                ? Trim(ticks / (double)TimeSpan.TicksPerMillisecond) + "ms"
                : ticks >= TimeSpan.TicksPerMicrosecond ? Trim(ticks / (double)TimeSpan.TicksPerMicrosecond) + "µs" : (ticks * 100).ToString(CultureInfo.InvariantCulture) + "ns");
        }

        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        var seconds = ticks % TimeSpan.TicksPerMinute / (double)TimeSpan.TicksPerSecond;
        var text = hours > 0 ? $"{hours}h{minutes}m" : minutes > 0 ? $"{minutes}m" : string.Empty;
        return sign + text + Trim(seconds) + "s";
    }

    private static string Trim(double value) => value.ToString("0.#######", CultureInfo.InvariantCulture);
}
