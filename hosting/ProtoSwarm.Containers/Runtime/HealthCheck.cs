using System.Globalization;
using System.Text;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>Docker's HEALTHCHECK: a test run inside the container every Interval; zero durations and
/// retries take docker's defaults (30 s, 30 s, 3, 0 s).</summary>
public sealed record HealthCheck
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultStartInterval = TimeSpan.FromSeconds(5);
    public const int DefaultRetries = 3;

    /// <summary>["NONE"], ["CMD", arg...] or ["CMD-SHELL", "command"] (run by /bin/sh -c); empty is none.</summary>
    public IReadOnlyList<string> Test { get; init; } = [];
    public TimeSpan Interval { get; init; }
    public TimeSpan Timeout { get; init; }
    public int Retries { get; init; }

    /// <summary>While it lasts and the container was never healthy, failures do not count.</summary>
    public TimeSpan StartPeriod { get; init; }

    /// <summary>How often to probe while the start period lasts and the container is still starting (docker's --health-start-interval).</summary>
    public TimeSpan StartInterval { get; init; }

    public bool IsEnabled => Test.Count > 0 && Test[0] != "NONE";

    internal TimeSpan EffectiveInterval => Interval > TimeSpan.Zero ? Interval : DefaultInterval;
    internal TimeSpan EffectiveStartInterval => StartInterval > TimeSpan.Zero ? StartInterval : DefaultStartInterval;
    internal TimeSpan EffectiveTimeout => Timeout > TimeSpan.Zero ? Timeout : DefaultTimeout;
    internal int EffectiveRetries => Retries > 0 ? Retries : DefaultRetries;

    internal IReadOnlyList<string> Command => Test[0] == "CMD-SHELL" ? ["/bin/sh", "-c", Test[1]] : [.. Test.Skip(1)];

    /// <summary>Docker's checks of a health check, each a line a user can act on.</summary>
    public static IReadOnlyList<string> Validate(HealthCheck check)
    {
        var problems = new List<string>();
        if (check.Test.Count > 0)
        {
            switch (check.Test[0])
            {
                case "NONE" when check.Test.Count > 1:
                    problems.Add("healthcheck NONE takes no arguments");
                    break;
                case "NONE":
                    break;
                case "CMD" when check.Test.Count < 2 || check.Test[1].Length == 0:
                    problems.Add("healthcheck CMD needs a command");
                    break;
                case "CMD-SHELL" when check.Test.Count != 2 || check.Test[1].Length == 0:
                    problems.Add("healthcheck CMD-SHELL takes one command line");
                    break;
                case "CMD" or "CMD-SHELL":
                    break;
                default:
                    problems.Add($"healthcheck test \"{check.Test[0]}\": use NONE, CMD or CMD-SHELL");
                    break;
            }
        }
        foreach (var (name, value) in new[] { ("interval", check.Interval), ("timeout", check.Timeout), ("start period", check.StartPeriod), ("start interval", check.StartInterval) })
        {
            if (value != TimeSpan.Zero && value < TimeSpan.FromMilliseconds(1))
            {
                problems.Add($"healthcheck {name} {value}: at least 1 ms (0 takes the default)");
            }
        }
        if (check.Retries < 0)
        {
            problems.Add($"healthcheck retries {check.Retries}: must not be negative");
        }
        return problems;
    }
}

/// <summary>Docker's health states; None when the container has no health check.</summary>
public enum HealthStatus
{
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// <summary>One probe as docker's State.Health.Log keeps it: exit code -1 when it could not run or timed out.</summary>
public sealed record HealthProbe(DateTimeOffset Start, DateTimeOffset End, int ExitCode, string Output);

/// <summary>A container's health: the status, the failures in a row that counted, the last five probes.</summary>
public sealed record HealthState(HealthStatus Status, int FailingStreak, IReadOnlyList<HealthProbe> Log)
{
    public static readonly HealthState Starting = new(HealthStatus.Starting, 0, []);
}

/// <summary>Docker's rules (daemon/health.go, handleProbeResult), as a pure step.</summary>
internal static class HealthRules
{
    public const int MaxLogEntries = 5;
    public const int MaxOutputBytes = 4096;

    public static HealthState Next(HealthState state, HealthProbe probe, HealthCheck check, DateTimeOffset startedAt)
    {
        var log = state.Log.Count >= MaxLogEntries
            ? [.. state.Log.Skip(state.Log.Count + 1 - MaxLogEntries), probe]
            : state.Log.Append(probe).ToList();
        if (probe.ExitCode == 0)
        {
            return new HealthState(HealthStatus.Healthy, 0, log);
        }
        // Never healthy yet and still in the start period: the failure does not count.
        if (state.Status == HealthStatus.Starting && probe.Start - startedAt < check.StartPeriod)
        {
            return state with { Log = log };
        }
        var streak = state.FailingStreak + 1;
        return new HealthState(streak >= check.EffectiveRetries ? HealthStatus.Unhealthy : state.Status, streak, log);
    }

    /// <summary>Docker's limitedBuffer: the first 4096 bytes of stdout and stderr together.</summary>
    public static string Output(ExecResult result)
    {
        var bytes = Encoding.UTF8.GetBytes(result.Stdout + result.Stderr);
        return bytes.Length <= MaxOutputBytes ? result.Stdout + result.Stderr : Encoding.UTF8.GetString(bytes, 0, MaxOutputBytes);
    }

    /// <summary>Go's time.Duration text, as docker's "Health check exceeded timeout (30s)" shows it.</summary>
    public static string GoDuration(TimeSpan value)
    {
        if (value < TimeSpan.FromSeconds(1))
        {
            return value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        }
        var seconds = (value.TotalSeconds % 60).ToString("0.#########", CultureInfo.InvariantCulture) + "s";
        var minutes = (int)value.TotalMinutes;
        return minutes == 0 ? seconds : minutes >= 60 ? $"{minutes / 60}h{minutes % 60}m{seconds}" : $"{minutes}m{seconds}";
    }
}
