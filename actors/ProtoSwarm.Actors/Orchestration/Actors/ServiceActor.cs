using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>
/// One service on the leader (a child of the <see cref="OrchestratorActor"/>, named by the service
/// id): whenever its service, its tasks or the nodes change, or a time it asked for comes, it runs
/// the pure <see cref="ServiceReconciler"/> on the store's current state and writes what it decided.
/// One decision runs at a time; changes that arrive meanwhile are folded into one more run. When the
/// service is gone and its last task deleted, the actor stops.
/// <para>
/// After a run that found nothing to do, it keeps the tasks it read (<see cref="SettledView"/>): a
/// later update of tasks only (<see cref="TasksChanged"/>) that <see cref="QuietChange"/> calls quiet
/// is noted there instead of running the step again over every task, so a status report costs in
/// proportion to the report, not to the service. Anything else runs the step.
/// </para>
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

    /// <summary>What the last run read, while it found nothing to do and nothing else was asked since; else null.</summary>
    private SettledView? _settled;

    /// <summary>What the run under way read, kept if it finds nothing to do.</summary>
    private SettledView? _reading;

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
            case TasksChanged changed:
                OnTasksChanged(context, changed);
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

    /// <summary>Only tasks were updated: quiet changes are noted, anything else runs the step.</summary>
    private void OnTasksChanged(IContext context, TasksChanged changed)
    {
        if (_settled is { } view && view.TryNote(changed.Tasks, _manager.Store.Current))
        {
            return;
        }

        Run(context);
    }

    private void Run(IContext context)
    {
        _settled = null;
        _runs.Run(context, DecideAndWriteAsync, (result, again) => OnDecided(context, result, again));
    }

    private void OnDecided(IContext context, (ReconcileOutcome Outcome, bool Stored, bool Done) result, bool again)
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
        else
        {
            _settled = _reading;
        }

        _reading = null;
        WakeAt(context, outcome.WakeAt);
    }

    private async Task<(ReconcileOutcome Outcome, bool Stored, bool Done)> DecideAndWriteAsync()
    {
        var state = _manager.Store.Current;
        var service = state.Get<ServiceObject>(_serviceId);
        var tasks = state.List<TaskObject>().Where(t => t.ServiceId == _serviceId).ToList();
        if (service is null && tasks.Count == 0)
        {
            return (new ReconcileOutcome([], null, []), true, true);
        }

        _reading = new SettledView(service, state.Index, tasks);
        var nodes = state.List<NodeObject>().ToList();
        var outcome = ServiceReconciler.Reconcile(new ServiceInputs(_serviceId, service, tasks, nodes, _manager.Time.GetUtcNow()), () => SwarmIds.New());
        foreach (var e in outcome.Events)
        {
            LogDecision(_logger, service?.Spec.Name ?? _serviceId, e);
        }

        var stored = await Proposals.ProposeInPartsAsync(_manager.Proposer, outcome.Changes).ConfigureAwait(false);
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

    /// <summary>
    /// The service and its tasks as a run read them at store index Index, and how many tasks each
    /// slot (or node) had: with quiet changes noted, still the inputs of a step that finds nothing to do.
    /// </summary>
    private sealed class SettledView
    {
        private readonly ServiceObject? _service;
        private readonly ulong _index;
        private readonly Dictionary<string, TaskObject> _tasks = new(StringComparer.Ordinal);
        private readonly Dictionary<SlotKey, int> _perSlot = [];

        public SettledView(ServiceObject? service, ulong index, List<TaskObject> tasks)
        {
            _service = service;
            _index = index;
            var global = service?.Spec.Mode.IsGlobal ?? false;
            foreach (var task in tasks)
            {
                _tasks[task.Id] = task;
                var key = SlotKey.Of(task, global);
                _perSlot[key] = _perSlot.GetValueOrDefault(key) + 1;
            }
        }

        /// <summary>
        /// Notes the changes while each is quiet (those at or before the index read are in the view
        /// already); false at the first that is not, after which the view is no longer the step's inputs.
        /// </summary>
        public bool TryNote(IReadOnlyList<StoreEvent> changes, StoreState current)
        {
            var global = _service?.Spec.Mode.IsGlobal ?? false;
            foreach (var change in changes)
            {
                if (change.Index <= _index)
                {
                    continue;
                }

                if (change.Object is not TaskObject after || !_tasks.TryGetValue(after.Id, out var before))
                {
                    return false;
                }

                var alone = _perSlot.GetValueOrDefault(SlotKey.Of(before, global)) == 1;
                var node = after.NodeId != before.NodeId ? current.Get<NodeObject>(after.NodeId) : null;
                if (!QuietChange.IsQuiet(_service, before, after, alone, node))
                {
                    return false;
                }

                _tasks[after.Id] = after;
            }

            return true;
        }
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
