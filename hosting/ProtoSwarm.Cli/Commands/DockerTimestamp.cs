using System.Globalization;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// A time given on the command line as docker reads it (its timetypes.GetTimestamp, used for `events --since/--until`,
/// `service logs --since` and the `until=` filters): a Go duration back from now (`10m`, whole seconds as docker sends),
/// an RFC 3339 time or a part of one (`2026-12-07`, `2026-12-07T05:40`; without a zone, in the local one), or Unix
/// seconds with optional nanoseconds (`1796622000.5`). <see cref="Parse"/> gives Unix nanoseconds, <see cref="At"/> the
/// same as a time; each command words its own refusal.
/// </summary>
internal static partial class DockerTimestamp
{
    public static Checked<long> Parse(string flag, string value, DateTimeOffset now, TimeZoneInfo? zone = null)
    {
        var text = value.Trim();
        if (text != "0" && GoDuration(text) is { } ago)
        {
            return Checked<long>.Ok(now.Subtract(ago).ToUnixTimeSeconds() * 1_000_000_000L);
        }

        if (Timestamp().Match(text) is { Success: true } m)
        {
            return ParseTime(m, now, zone ?? TimeZoneInfo.Local) is { } at
                ? Checked<long>.Ok(at)
                : Fail(flag, value);
        }

        if (!text.Contains('-', StringComparison.Ordinal) && UnixTime().Match(text) is { Success: true } unix
            && long.TryParse(unix.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds < 253_402_300_800L)
        {
            var fraction = unix.Groups[2].Value;
            var nanos = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
            return Checked<long>.Ok((seconds * 1_000_000_000L) + nanos);
        }

        return Fail(flag, value);
    }

    /// <summary><see cref="Parse"/> as a time (to the tick), or null when it is none.</summary>
    public static DateTimeOffset? At(string value, DateTimeOffset now, TimeZoneInfo? zone = null) =>
        Parse("--since", value, now, zone) is { IsValid: true } parsed
            ? DateTimeOffset.UnixEpoch.AddTicks(parsed.Value / 100)
            : null;

    private static Checked<long> Fail(string flag, string value) =>
        Checked<long>.Fail($"invalid value for \"{flag.TrimStart('-')}\": failed to parse value as time or duration: \"{value}\"; give e.g. 10m (ten minutes ago), 2026-12-07T05:40:00Z or 1796622000 (Unix seconds).");

    /// <summary>Go's time.ParseDuration (a sign, then number-unit pairs), or null.</summary>
    private static TimeSpan? GoDuration(string text)
    {
        var negative = text.StartsWith('-');
        var body = text.TrimStart('-', '+');
        if (body.Length == 0 || body.Length < text.Length - 1)
        {
            return null;
        }

        if (body == "0")
        {
            return TimeSpan.Zero;
        }

        var parsed = ArgumentRules.Duration("--since", body);
        return parsed.IsValid ? (negative ? -parsed.Value : parsed.Value) : null;
    }

    private static long? ParseTime(Match m, DateTimeOffset now, TimeZoneInfo zone)
    {
        int Part(int group) => m.Groups[group].Success ? int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        var offset = m.Groups[8].Value switch
        {
            "" => zone.GetUtcOffset(now),
            "Z" or "z" => TimeSpan.Zero,
            var z => new TimeSpan(int.Parse(z[1..3], CultureInfo.InvariantCulture), int.Parse(z[4..6], CultureInfo.InvariantCulture), 0) * (z[0] == '-' ? -1 : 1),
        };
        try
        {
            var at = new DateTimeOffset(Part(1), Part(2), Part(3), Part(4), Part(5), Part(6), offset);
            var nanos = m.Groups[7].Success ? long.Parse(m.Groups[7].Value.PadRight(9, '0'), CultureInfo.InvariantCulture) : 0;
            return (at.ToUnixTimeSeconds() * 1_000_000_000L) + nanos;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"^(\d+)(?:\.(\d+))?$")]
    private static partial Regex UnixTime();
}
