using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ProtoSwarm.Hosting.Logging;

/// <summary>
/// Wraps the node host's log provider (the console) so that the network libraries' entries about
/// expected connection failures are written as <see cref="ExpectedNetworkFailures"/> rewrites them:
/// one line, its level lowered, dropped when that level is below the node's <c>--log-level</c>.
/// At <c>--log-level debug</c> or <c>trace</c> nothing is rewritten: every entry is written as its
/// library wrote it, stack traces and retries included, which is how an operator gets the full detail.
/// </summary>
public sealed class NetworkFailureLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    /// <summary>How long a rewrite with a <see cref="LogRewrite.RepeatKey"/> is written only once at its level.</summary>
    public static readonly TimeSpan RepeatWindow = TimeSpan.FromMinutes(5);

    private readonly ILoggerProvider _inner;
    private readonly LogLevel _minimum;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, long> _lastWritten = new(StringComparer.Ordinal);

    /// <param name="inner">The provider that writes.</param>
    /// <param name="minimum">The node's log level: a rewritten entry below it is not written.</param>
    /// <param name="time">The clock of <see cref="RepeatWindow"/> (the system's by default).</param>
    public NetworkFailureLoggerProvider(ILoggerProvider inner, LogLevel minimum, TimeProvider? time = null)
    {
        _inner = inner;
        _minimum = minimum;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Whether entries are rewritten at all at this log level: not at debug or trace, which ask for everything as it was.</summary>
    public static bool Rewrites(LogLevel minimum) => minimum > LogLevel.Debug;

    public ILogger CreateLogger(string categoryName)
    {
        var logger = _inner.CreateLogger(categoryName);
        return Rewrites(_minimum) && ExpectedNetworkFailures.IsNetworkCategory(categoryName)
            ? new RewritingLogger(logger, categoryName, _minimum, this)
            : logger;
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        if (_inner is ISupportExternalScope scoped)
        {
            scoped.SetScopeProvider(scopeProvider);
        }
    }

    public void Dispose() => _inner.Dispose();

    /// <summary>The level to write a rewrite at: its own, or debug for a repeat of its key within <see cref="RepeatWindow"/>.</summary>
    private LogLevel LevelOf(LogRewrite line)
    {
        if (line.RepeatKey is not { } key)
        {
            return line.Level;
        }

        var now = _time.GetTimestamp();
        var window = (long)(RepeatWindow.TotalSeconds * _time.TimestampFrequency);
        var first = true;
        _lastWritten.AddOrUpdate(key, now, (_, last) =>
        {
            first = now - last >= window;
            return first ? now : last;
        });
        return first ? line.Level : LogLevel.Debug;
    }

    private sealed class RewritingLogger(ILogger inner, string category, LogLevel minimum, NetworkFailureLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var rewrite = ExpectedNetworkFailures.Rewrite(category, logLevel, state as IReadOnlyList<KeyValuePair<string, object?>>, formatter(state, exception), exception);
            if (rewrite is not { } line)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
            else if (provider.LevelOf(line) is var level && level >= minimum && inner.IsEnabled(level))
            {
                inner.Log(level, eventId, line.Text, null, static (text, _) => text);
            }
        }
    }
}
