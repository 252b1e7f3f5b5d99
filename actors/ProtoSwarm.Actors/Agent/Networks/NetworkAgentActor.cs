using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Networks;

/// <summary>
/// The node's overlays (child <c>networks</c> of the agent): it takes the network views that come
/// with the task assignments and has the node host apply them (<see cref="INodeNetworks"/>), one
/// change at a time and in order. Changes that arrive while one is applied fold into one, so a
/// slow apply never queues a backlog; a change that fails is kept and tried again, merged with
/// whatever came after it, after a delay that doubles with each failure in a row (<see cref="RetryDelay"/>),
/// with one line in the log each time: a failure that lasts must neither spin nor fill the log.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source is cancelled and disposed when the actor stops; actors are not disposed.")]
public sealed partial class NetworkAgentActor(INodeNetworks networks, ILoggerFactory loggerFactory) : IActor
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger = loggerFactory.CreateLogger<NetworkAgentActor>();
    private readonly CancellationTokenSource _stopping = new();
    private NetworkChanges? _pending;
    private bool _applying;
    private int _failures;

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        NetworkChanges changes => OnChanges(context, changes),
        Applied applied => OnApplied(context, applied),
        Retry => OnRetry(context),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    private Task OnChanges(IContext context, NetworkChanges changes)
    {
        _pending = _pending is null ? changes : changes.After(_pending);
        ApplyNext(context);
        return Task.CompletedTask;
    }

    private void ApplyNext(IContext context)
    {
        if (_applying || _pending is not { } changes)
        {
            return;
        }

        _applying = true;
        _pending = null;
        var self = context.Self;
        var system = context.System;
        _ = Task.Run(async () =>
        {
            Exception? failure = null;
            try
            {
                await networks.ApplyAsync(changes, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                failure = e;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            system.Root.Send(self, new Applied(changes, failure));
        });
    }

    private Task OnApplied(IContext context, Applied applied)
    {
        _applying = false;
        if (applied.Failure is { } failure)
        {
            var delay = RetryDelay(++_failures);
            LogApplyFailed(_logger, delay.TotalSeconds, _failures, Describe(failure));
            _pending = _pending is null ? applied.Changes : _pending.After(applied.Changes);
            context.Scheduler().SendOnce(delay, context.Self, Retry.Instance);
            _applying = true; // hold further applies until the retry fires
            return Task.CompletedTask;
        }

        _failures = 0;

        ApplyNext(context);
        return Task.CompletedTask;
    }

    private Task OnRetry(IContext context)
    {
        _applying = false;
        ApplyNext(context);
        return Task.CompletedTask;
    }

    private Task OnStopping()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>How long to wait after the <paramref name="failures"/>th failure in a row: 1 s, doubling, at most 30 s.</summary>
    public static TimeSpan RetryDelay(int failures) =>
        failures >= 6 ? LongestRetry : TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks << Math.Max(failures - 1, 0), LongestRetry.Ticks));

    /// <summary>A failure in one line: its message and those of what it wraps, without stack traces.</summary>
    public static string Describe(Exception failure) => failure switch
    {
        AggregateException aggregate => string.Join("; ", aggregate.InnerExceptions.Select(Describe)),
        { InnerException: { } inner } when !failure.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{failure.Message}: {Describe(inner)}",
        _ => failure.Message.ReplaceLineEndings(" "),
    };

    private sealed record Applied(NetworkChanges Changes, Exception? Failure);

    private sealed record Retry
    {
        public static readonly Retry Instance = new();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Making this node's networks as the managers want them failed; trying again in {Seconds} s (failure {Count} in a row): {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, double seconds, int count, string reason);
}
