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
/// whatever came after it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source is cancelled and disposed when the actor stops; actors are not disposed.")]
public sealed partial class NetworkAgentActor(INodeNetworks networks, ILoggerFactory loggerFactory) : IActor
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = loggerFactory.CreateLogger<NetworkAgentActor>();
    private readonly CancellationTokenSource _stopping = new();
    private NetworkChanges? _pending;
    private bool _applying;

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
            LogApplyFailed(_logger, failure);
            _pending = _pending is null ? applied.Changes : _pending.After(applied.Changes);
            context.Scheduler().SendOnce(RetryAfter, context.Self, Retry.Instance);
            _applying = true; // hold further applies until the retry fires
            return Task.CompletedTask;
        }

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

    private sealed record Applied(NetworkChanges Changes, Exception? Failure);

    private sealed record Retry
    {
        public static readonly Retry Instance = new();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Making this node's networks as the managers want them failed; trying again in 1 s")]
    private static partial void LogApplyFailed(ILogger logger, Exception e);
}
