using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// An `events` line as docker's CLI prints it: by default the time (RFC 3339 with nanoseconds, in the local zone),
/// type, action, actor id and the attributes sorted, `key=value, ...`; with --format, docker's events.Message as JSON
/// (Type, Action, Actor{ID, Attributes}, scope, time, timeNano), alone or under a Go template.
/// </summary>
internal static class EventView
{
    /// <summary>The fields a --format template can read, by their Go names (.Scope reads "scope", as docker's struct does).</summary>
    public static readonly IReadOnlyCollection<string> Fields = ["Type", "Action", "Actor", "Scope", "Time", "TimeNano"];

    public static string Text(SwarmEvent e, TimeZoneInfo zone)
    {
        var line = $"{Time(e.TimeNano, zone)} {e.Type} {e.Action} {e.ActorId}";
        return e.Attributes.Count == 0
            ? line
            : $"{line} ({string.Join(", ", e.Attributes.Select(a => $"{a.Key}={a.Value}"))})";
    }

    public static JsonObject Json(SwarmEvent e)
    {
        var attributes = new JsonObject();
        foreach (var (key, value) in e.Attributes)
        {
            attributes[key] = value;
        }

        return new JsonObject
        {
            ["Type"] = e.Type,
            ["Action"] = e.Action,
            ["Actor"] = new JsonObject { ["ID"] = e.ActorId, ["Attributes"] = attributes },
            ["scope"] = e.Scope,
            ["time"] = Math.DivRem(e.TimeNano, 1_000_000_000L, out _),
            ["timeNano"] = e.TimeNano,
        };
    }

    /// <summary>Go's "2006-01-02T15:04:05.000000000Z07:00" of a Unix nanosecond time in <paramref name="zone"/> (Z for UTC).</summary>
    public static string Time(long unixNano, TimeZoneInfo zone)
    {
        var seconds = Math.DivRem(unixNano, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        var utc = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var local = TimeZoneInfo.ConvertTime(utc, zone);
        var offset = local.Offset == TimeSpan.Zero
            ? "Z"
            : (local.Offset < TimeSpan.Zero ? "-" : "+") + local.Offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + nanos.ToString("D9", CultureInfo.InvariantCulture) + offset;
    }
}
