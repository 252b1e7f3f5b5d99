using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>
/// The swarm's orchestration (named <c>orchestrator</c>, on every manager, active on the Raft
/// leader only, as swarmkit runs its orchestrators, allocator and scheduler on the leader). While this
/// manager leads with everything committed applied, it keeps one <see cref="ServiceActor"/> per service
/// (and per removed service whose tasks remain), the <see cref="NetworkAllocatorActor"/> and the
/// <see cref="SchedulerActor"/>, watches the store from the index it started at, and tells each actor
/// what concerns it: a service's own changes and its tasks' to that service, every node change to all
/// of them, tasks waiting for addresses and service, node and network changes to the allocator,
/// pending tasks and node changes to the scheduler. When it stops leading, it stops them all; the next leader starts its
/// own from the store, which holds everything they decide.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The watch's token source is disposed when the actor stops (Stopping) or resigns; actors are not disposed.")]
public sealed partial class OrchestratorActor : IActor
{
    /// <summary>
    /// How often leadership is checked besides the Raft view's notices (<see cref="ProtoSwarm.Actors.Raft.RaftView.OnLeadershipChanged"/>), which
    /// carry every change: only a safety net. It was the only way, every 100 ms, until 2026-12-07.
    /// </summary>
    private static readonly TimeSpan LeadershipCheck = TimeSpan.FromSeconds(1);

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly Dictionary<string, PID> _services = new(StringComparer.Ordinal);
    private PID? _scheduler;
    private PID? _allocator;
    private int _generation;

    /// <summary>The task history limit the services last pruned by; a change of it reconsiders them all.</summary>
    private long _historyLimit = ClusterObject.DefaultTaskHistoryLimit;
    private CancellationTokenSource? _watch;
    private CancellationTokenSource? _timer;
    private IDisposable? _leadershipNotices;

    public OrchestratorActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<OrchestratorActor>();
    }

    public Task ReceiveAsync(IContext context)
    {
        switch (context.Message)
        {
            case Started:
                var (system, self) = (context.System, context.Self);
                _leadershipNotices = _manager.Raft.OnLeadershipChanged(() => system.Root.Send(self, LeadershipTick.Instance));
                _timer = context.Scheduler(_manager.Time).SendRepeatedly(LeadershipCheck, context.Self, LeadershipTick.Instance);
                OnTick(context);
                break;
            case LeadershipTick:
                OnTick(context);
                break;
            case StoreEventBatch events:
                OnEvents(context, events);
                break;
            case StoreWatchEnded:
                // The store was replaced by a snapshot: tell everyone to decide again and watch from now.
                if (_watch is not null)
                {
                    Resign(context);
                    OnTick(context);
                }

                break;
            case Terminated terminated:
                var gone = _services.FirstOrDefault(kv => kv.Value.Equals(terminated.Who)).Key;
                if (gone is not null)
                {
                    _services.Remove(gone);
                }

                break;
            case Stopping:
                _leadershipNotices?.Dispose();
                _timer?.Cancel();
                _watch?.Cancel();
                _watch?.Dispose();
                _watch = null;
                break;
        }

        return Task.CompletedTask;
    }

    private bool Leading => _manager.Raft.Leading;

    private void OnTick(IContext context)
    {
        if (_watch is null && Leading)
        {
            Lead(context);
        }
        else if (_watch is not null && !_manager.Raft.IsLeader)
        {
            Resign(context);
        }
    }

    private void Lead(IContext context)
    {
        var state = _manager.Store.Current;
        _watch = new CancellationTokenSource();
        ChannelReader<StoreEvent> events;
        try
        {
            events = _manager.Store.Watch(state.Index, _watch.Token);
        }
        catch (StoreCompactedException)
        {
            _watch.Dispose();
            _watch = null;
            return;
        }

        // Names carry the generation: the actors of an earlier term as leader may still be stopping.
        _generation++;
        _historyLimit = state.Get<ClusterObject>(ClusterObject.DefaultId)?.TaskHistoryLimit ?? ClusterObject.DefaultTaskHistoryLimit;
        _scheduler = context.SpawnNamed(Props.FromProducer(() => new SchedulerActor(_manager)), $"scheduler-{_generation}");
        _allocator = context.SpawnNamed(Props.FromProducer(() => new NetworkAllocatorActor(_manager)), $"allocator-{_generation}");
        var ids = state.List<ServiceObject>().Select(s => s.Id).Concat(state.List<TaskObject>().Select(t => t.ServiceId)).Where(id => id.Length > 0).Distinct(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            ServiceOf(context, id);
        }

        LogLeading(_logger, _services.Count, state.Index);
        _ = StoreWatchPump.PumpAsync(context.System, context.Self, events, _watch.Token);
    }

    private void Resign(IContext context)
    {
        _watch?.Cancel();
        _watch?.Dispose();
        _watch = null;
        foreach (var pid in _services.Values)
        {
            context.Stop(pid);
        }

        _services.Clear();
        if (_scheduler is not null)
        {
            context.Stop(_scheduler);
            _scheduler = null;
        }

        if (_allocator is not null)
        {
            context.Stop(_allocator);
            _allocator = null;
        }

        LogResigned(_logger);
    }

    private void OnEvents(IContext context, StoreEventBatch batch)
    {
        if (_watch is null || batch.Watch != _watch.Token)
        {
            return;
        }

        var services = new HashSet<string>(StringComparer.Ordinal);
        var allServices = false;
        var schedule = false;
        var allocate = false;
        foreach (var e in batch.Events)
        {
            allocate |= NetworkAllocatorActor.Concerns(e);
            switch (e.Kind)
            {
                case "service":
                    services.Add(e.Id);
                    break;
                case "task":
                    if (e.Object is TaskObject task)
                    {
                        // A standalone container's network attachment has no service to reconcile.
                        if (task.ServiceId.Length > 0)
                        {
                            services.Add(task.ServiceId);
                        }

                        schedule |= SchedulerActor.IsPending(task) || e.Action != StoreEventKind.Created;
                    }
                    else
                    {
                        // A deleted task: its service may be waiting for it to go, and its node is freer.
                        allServices = true;
                        schedule = true;
                    }

                    break;
                case "node":
                    allServices = true;
                    schedule = true;
                    break;
                case "cluster" when e.Object is ClusterObject cluster && cluster.TaskHistoryLimit != _historyLimit:
                    // `swarm update --task-history-limit`: every service prunes its history to the new limit now.
                    _historyLimit = cluster.TaskHistoryLimit;
                    allServices = true;
                    break;
            }
        }

        if (allServices)
        {
            foreach (var id in _manager.Store.Current.List<ServiceObject>().Select(s => s.Id))
            {
                services.Add(id);
            }

            services.UnionWith(_services.Keys);
        }

        foreach (var id in services)
        {
            context.Send(ServiceOf(context, id), Reconsider.Instance);
        }

        if (schedule && _scheduler is not null)
        {
            context.Send(_scheduler, Reconsider.Instance);
        }

        if (allocate && _allocator is not null)
        {
            context.Send(_allocator, Reconsider.Instance);
        }
    }

    private PID ServiceOf(IContext context, string serviceId)
    {
        if (!_services.TryGetValue(serviceId, out var pid))
        {
            pid = context.SpawnNamed(Props.FromProducer(() => new ServiceActor(_manager, serviceId)), $"service-{serviceId}-{_generation}");
            _services[serviceId] = pid;
        }

        return pid;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Orchestrating as the leader: {Services} services, from store index {Index}")]
    private static partial void LogLeading(ILogger logger, int services, ulong index);

    [LoggerMessage(Level = LogLevel.Information, Message = "No longer the leader: orchestration stopped on this manager")]
    private static partial void LogResigned(ILogger logger);

    private sealed record LeadershipTick
    {
        public static readonly LeadershipTick Instance = new();
    }
}
