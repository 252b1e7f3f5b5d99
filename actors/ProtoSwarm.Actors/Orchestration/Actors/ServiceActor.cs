using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>
/// One service on the leader (a child of the <see cref="OrchestratorActor"/>, named by the service
/// id): whenever its service, its tasks or the nodes change, or a time it asked for comes, it runs
/// the pure <see cref="ServiceReconciler"/> on the store's current state and writes what it decided.
/// One decision runs at a time; changes that arrive meanwhile are folded into one more run. When the
/// service is gone and its last task deleted, the actor stops.
/// </summary>
public sealed partial class ServiceActor : IActor
{
    /// <summary>A write that lost a race is redone after this pause, on fresh data.</summary>
    private static readonly TimeSpan ConflictPause = TimeSpan.FromMilliseconds(20);

    private readonly ManagerContext _manager;
    private readonly string _serviceId;
    private readonly ILogger _logger;
    private readonly OneAtATime<(ReconcileOutcome Outcome, bool Stored, bool Done)> _runs;
    private CancellationTokenSource? _wake;
    private DateTimeOffset? _wakeAt;

    public ServiceActor(ManagerContext manager, string serviceId)
    {
        _manager = manager;
        _serviceId = serviceId;
        _logger = manager.LoggerFactory.CreateLogger<ServiceActor>();
        _runs = new(manager.Time, e => LogFailed(_logger, e, serviceId));
    }

    public Task ReceiveAsync(IContext context)
    {
        switch (context.Message)
        {
            case Started:
            case Reconsider:
                Run(context);
                break;
            case Wake:
                _wakeAt = null;
                Run(context);
                break;
            case Stopping:
                _wake?.Cancel();
                break;
        }

        return Task.CompletedTask;
    }

    private void Run(IContext context) => _runs.Run(context, DecideAndWriteAsync, (result, again) =>
    {
        var (outcome, stored, done) = result;
        if (done)
        {
            context.Stop(context.Self);
            return;
        }

        if (!stored)
        {
            context.Scheduler(_manager.Time).SendOnce(ConflictPause, context.Self, Reconsider.Instance);
        }
        else if (again || outcome.Changes.Length > 0)
        {
            // Decide again on what was written: the step is idempotent, so this settles at no change.
            context.Send(context.Self, Reconsider.Instance);
        }

        WakeAt(context, outcome.WakeAt);
    });

    private async Task<(ReconcileOutcome Outcome, bool Stored, bool Done)> DecideAndWriteAsync()
    {
        var state = _manager.Store.Current;
        var service = state.Get<ServiceObject>(_serviceId);
        var tasks = state.List<TaskObject>().Where(t => t.ServiceId == _serviceId).ToList();
        if (service is null && tasks.Count == 0)
        {
            return (new ReconcileOutcome([], null, []), true, true);
        }

        var nodes = state.List<NodeObject>().ToList();
        var historyLimit = state.Get<ClusterObject>(ClusterObject.DefaultId)?.TaskHistoryLimit ?? ClusterObject.DefaultTaskHistoryLimit;
        var outcome = ServiceReconciler.Reconcile(new ServiceInputs(_serviceId, service, tasks, nodes, _manager.Time.GetUtcNow(), historyLimit), () => SwarmIds.New());
        foreach (var e in outcome.Events)
        {
            LogDecision(_logger, service?.Spec.Name ?? _serviceId, e);
        }

        var stored = service is null
            ? await Proposals.ProposeInPartsAsync(_manager.Proposer, outcome.Changes).ConfigureAwait(false)
            : await Proposals.ProposeGuardedAsync(_manager.Proposer, service, outcome.Changes).ConfigureAwait(false);
        return (outcome, stored, false);
    }

    private void WakeAt(IContext context, DateTimeOffset? at)
    {
        if (at is null || at == _wakeAt)
        {
            return;
        }

        _wake?.Cancel();
        _wakeAt = at;
        var delay = at.Value - _manager.Time.GetUtcNow();
        _wake = context.Scheduler(_manager.Time).SendOnce(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, context.Self, Wake.Instance);
    }

    private sealed record Wake
    {
        public static readonly Wake Instance = new();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Decision}")]
    private static partial void LogDecision(ILogger logger, string service, string decision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconciling service {ServiceId} failed; trying again in 1 s")]
    private static partial void LogFailed(ILogger logger, Exception? e, string serviceId);
}
