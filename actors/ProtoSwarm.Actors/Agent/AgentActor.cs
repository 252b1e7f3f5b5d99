using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent;

/// <summary>What the agent needs to know of its node and what it tells the node host. TlsInfo: the node's TLS info
/// as it is at each beat (its certificate and its trust change with a renewal or a CA rotation); it goes in the
/// description every heartbeat carries, and so do HostPorts, the host ports its standalone containers hold now.</summary>
public sealed record AgentSettings(
    string NodeId,
    string ClusterId,
    string Addr,
    MemberInfo Member,
    NodeDescription Description,
    Func<NodeRole> Role,
    ImmutableArray<ManagerAddress> Managers,
    TimeProvider Time,
    Action<HeartbeatAck> OnAck,
    Action<HeartbeatRejected> OnRejected,
    Func<Props>? TaskSupervisor = null,
    Func<Props>? Networks = null,
    Func<NodeTlsInfo>? TlsInfo = null,
    Func<ImmutableArray<PortConfig>>? HostPorts = null);

/// <summary>
/// A node's own side (named <c>agent</c>, on every node): it beats to the managers' dispatcher,
/// preferring the leader and moving on to the next manager when one does not answer, and hands
/// each answer (members, managers, wanted role) to the node host. It takes the tasks the leader
/// assigns (<see cref="TaskAssignments"/>, in sequence; a gap makes its heartbeats ask for the whole
/// set again) and hands them to its task supervisor (child <c>tasks</c>), and it reports what the
/// tasks do to the leader's dispatcher: one report in flight at a time, everything that changed
/// meanwhile in the next, each status kept until a leader has stored it. It answers a manager's
/// <see cref="ReadTaskLogs"/> and <see cref="ReadTaskUsage"/> through the supervisor (a node
/// without an executor has no lines and no usage).
/// </summary>
public sealed partial class AgentActor : IActor
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReportRetry = TimeSpan.FromMilliseconds(250);

    /// <summary>Above the supervisor's 4 s per task and below the managers' 5 s, so a slow task costs its own lines, not the node's whole answer.</summary>
    private static readonly TimeSpan LogReadTimeout = TimeSpan.FromMilliseconds(4500);

    /// <summary>Below the managers' 3 s; a reading takes about 250 ms (two readings of the counters).</summary>
    private static readonly TimeSpan UsageReadTimeout = TimeSpan.FromMilliseconds(2500);

    private readonly AgentSettings _settings;
    private readonly ILogger _logger;
    private ImmutableArray<ManagerAddress> _managers;
    private int _target;
    private int _failures;
    private int _periodMs = 500;
    private CancellationTokenSource? _next;
    private string? _redirect;
    private string? _leaderAddr;
    private PID? _tasks;
    private PID? _networks;
    private string _assignmentsEpoch = string.Empty;
    private long _assignmentsSequence;
    private readonly Dictionary<string, TaskObservedStatus> _unreported = new(StringComparer.Ordinal);
    private bool _reporting;
    private bool _retryScheduled;

    public AgentActor(AgentSettings settings, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _managers = settings.Managers;
        _logger = loggerFactory.CreateLogger<AgentActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        BeatTick => Beat(context),
        TaskAssignments assignments => OnAssignments(context, assignments),
        TaskStatusChanged changed => OnTaskStatus(context, changed),
        ReportTick => OnReportTick(context),
        ReadTaskLogs read => OnReadLogs(context, read),
        ReadTaskUsage read => OnReadUsage(context, read),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    private Task OnStarted(IContext context)
    {
        if (_settings.TaskSupervisor is { } supervisor)
        {
            _tasks = context.SpawnNamed(supervisor(), "tasks");
        }

        if (_settings.Networks is { } networks)
        {
            _networks = context.SpawnNamed(networks(), "networks");
        }

        return Beat(context);
    }

    /// <summary>
    /// Applies the leader's assignments in sequence: a whole set starts a new sequence; a change is
    /// taken only right after the one before it. A gap is dropped, and the next heartbeat, which
    /// shows no epoch, makes the leader send the whole set.
    /// </summary>
    private Task OnAssignments(IContext context, TaskAssignments assignments)
    {
        if (assignments.NodeId != _settings.NodeId)
        {
            return Task.CompletedTask;
        }

        if (!assignments.Full && (assignments.Epoch != _assignmentsEpoch || assignments.Sequence != _assignmentsSequence + 1))
        {
            LogAssignmentGap(_logger, assignments.Sequence, _assignmentsSequence);
            _assignmentsEpoch = string.Empty;
            return Task.CompletedTask;
        }

        _assignmentsEpoch = assignments.Epoch;
        _assignmentsSequence = assignments.Sequence;
        if (_networks is not null && (assignments.Full || assignments.Networks.Length > 0 || assignments.NetworksRemoved.Length > 0))
        {
            // First the networks, so a task's network is on its way when the task is prepared.
            context.Send(_networks, NetworkChanges.Of(assignments));
        }

        if (_tasks is not null)
        {
            context.Send(_tasks, assignments);
            return Task.CompletedTask;
        }

        // No executor on this node: every task that reaches it is refused, with the reason.
        var now = _settings.Time.GetUtcNow();
        foreach (var task in assignments.Tasks.Where(t => t.Status.State < TaskState.Accepted && t.DesiredState <= TaskState.Complete))
        {
            _unreported[task.Id] = new TaskObservedStatus(TaskState.Rejected, now, "rejected",
                "this node runs no tasks: its node host was started without a task executor (protoswarmd --executor)");
        }

        SendReport(context);
        return Task.CompletedTask;
    }

    private Task OnTaskStatus(IContext context, TaskStatusChanged changed)
    {
        _unreported[changed.TaskId] = changed.Status;
        SendReport(context);
        return Task.CompletedTask;
    }

    private Task OnReadLogs(IContext context, ReadTaskLogs read)
    {
        var sender = context.Sender;
        var none = new TaskLogs(_settings.NodeId, [.. read.Tasks.Select(t => new TaskLog(t.TaskId, [], Start: t.After))]);
        if (sender is null)
        {
            return Task.CompletedTask;
        }

        if (_tasks is null)
        {
            context.Respond(none);
            return Task.CompletedTask;
        }

        var reading = context.RequestAsync<TaskLogs>(_tasks, read, LogReadTimeout);
        context.ReenterAfter(reading, done =>
        {
            var why = $"this node's task supervisor did not answer within {LogReadTimeout.TotalMilliseconds:0} ms";
            context.Send(sender, done.IsCompletedSuccessfully
                ? done.Result with { NodeId = _settings.NodeId }
                : none with { Tasks = [.. none.Tasks.Select(t => t with { Error = why })] });
            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    private Task OnReadUsage(IContext context, ReadTaskUsage read)
    {
        var sender = context.Sender;
        var none = new NodeTaskUsage(_settings.NodeId, []);
        if (sender is null)
        {
            return Task.CompletedTask;
        }

        if (_tasks is null)
        {
            context.Respond(none);
            return Task.CompletedTask;
        }

        var reading = context.RequestAsync<NodeTaskUsage>(_tasks, read, UsageReadTimeout);
        context.ReenterAfter(reading, done =>
        {
            context.Send(sender, done.IsCompletedSuccessfully
                ? done.Result with { NodeId = _settings.NodeId }
                : none with { Error = string.Create(CultureInfo.InvariantCulture, $"its tasks did not answer within {UsageReadTimeout.TotalSeconds:0.#} s") });
            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    private Task OnReportTick(IContext context)
    {
        _retryScheduled = false;
        SendReport(context);
        return Task.CompletedTask;
    }

    private void SendReport(IContext context)
    {
        if (_reporting || _unreported.Count == 0)
        {
            return;
        }

        if (_leaderAddr is not { } leader)
        {
            RetryReport(context);
            return;
        }

        _reporting = true;
        var sent = _unreported.ToList();
        var report = new TaskStatusReport(_settings.NodeId, [.. sent.Select(kv => new TaskStatusUpdate(kv.Key, kv.Value))]);
        var request = context.RequestAsync<object>(new PID(leader, Kinds.Dispatcher), report, ReportTimeout);
        context.ReenterAfter(request, task =>
        {
            _reporting = false;
            if (task.IsCompletedSuccessfully && task.Result is TaskStatusReportAck)
            {
                foreach (var (id, status) in sent)
                {
                    // Keep a status that changed while the report was on its way.
                    if (_unreported.TryGetValue(id, out var now) && ReferenceEquals(now, status))
                    {
                        _unreported.Remove(id);
                    }
                }

                SendReport(context);
            }
            else
            {
                if (task.IsCompletedSuccessfully && task.Result is HeartbeatRejected { LeaderAddr.Length: > 0 } rejected)
                {
                    _leaderAddr = rejected.LeaderAddr;
                }

                RetryReport(context);
            }

            return Task.CompletedTask;
        });
    }

    private void RetryReport(IContext context)
    {
        if (!_retryScheduled)
        {
            _retryScheduled = true;
            context.Scheduler(_settings.Time).SendOnce(ReportRetry, context.Self, ReportTick.Instance);
        }
    }

    private Task OnStopping()
    {
        _next?.Cancel();
        return Task.CompletedTask;
    }

    private Task Beat(IContext context)
    {
        if (_managers.IsDefaultOrEmpty)
        {
            LogNoManagers(_logger, _settings.NodeId);
            ScheduleNext(context, TimeSpan.FromSeconds(1));
            return Task.CompletedTask;
        }

        var target = PickTarget();
        var description = _settings.TlsInfo is { } tls ? _settings.Description with { TlsInfo = tls() } : _settings.Description;
        if (_settings.HostPorts is { } hostPorts)
        {
            description = description with { HostPorts = hostPorts() };
        }

        var heartbeat = new NodeHeartbeat(_settings.NodeId, _settings.ClusterId, _settings.Addr, _settings.Member, description, _settings.Role(),
            _assignmentsEpoch, _assignmentsSequence);
        var request = context.RequestAsync<object>(new PID(target.Addr, Kinds.Dispatcher), heartbeat, RequestTimeout);
        context.ReenterAfter(request, task =>
        {
            switch (task.IsCompletedSuccessfully ? task.Result : null)
            {
                case HeartbeatAck ack:
                    OnAck(target, ack);
                    break;
                case HeartbeatRejected { Removed: false, LeaderAddr.Length: > 0 } redirected when redirected.LeaderAddr != target.Addr:
                    // A follower: beat to the leader it names, at once.
                    _redirect = redirected.LeaderAddr;
                    ScheduleNext(context, TimeSpan.FromMilliseconds(20));
                    return Task.CompletedTask;
                case HeartbeatRejected rejected:
                    _settings.OnRejected(rejected);
                    if (rejected.Removed)
                    {
                        LogRemoved(_logger, target.Addr, rejected.Reason);
                        return Task.CompletedTask;
                    }

                    // One line for a refusal, like any failed beat: the first in a row and every 20th.
                    OnNoAnswer(target, $"refused: {rejected.Reason}");
                    break;
                default:
                    OnNoAnswer(target, task.Exception?.GetBaseException().Message ?? "no answer");
                    break;
            }

            ScheduleNext(context, TimeSpan.FromMilliseconds(_failures > 0 ? Math.Min(_periodMs, 250) : _periodMs));
            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    private ManagerAddress PickTarget()
    {
        if (_redirect is { } redirect)
        {
            _redirect = null;
            return _managers.FirstOrDefault(m => m.Addr == redirect) ?? new ManagerAddress(string.Empty, redirect, true);
        }

        if (_failures == 0)
        {
            var leader = _managers.IndexOf(_managers.FirstOrDefault(m => m.Leader)!);
            if (leader >= 0)
            {
                _target = leader;
            }
        }

        return _managers[_target % _managers.Length];
    }

    private void OnAck(ManagerAddress target, HeartbeatAck ack)
    {
        if (_failures > 0)
        {
            LogReconnected(_logger, target.Addr, _failures);
        }

        _failures = 0;
        _leaderAddr = target.Addr;
        _periodMs = Math.Clamp(ack.PeriodMilliseconds, 100, 10_000);
        if (!ack.Managers.IsDefaultOrEmpty)
        {
            _managers = ack.Managers;
        }

        _settings.OnAck(ack);
    }

    private void OnNoAnswer(ManagerAddress target, string reason)
    {
        _failures++;
        _target++;
        if (_failures == 1 || _failures % 20 == 0)
        {
            LogNoAnswer(_logger, target.Addr, reason, _failures);
        }
    }

    private void ScheduleNext(IContext context, TimeSpan delay) =>
        _next = context.Scheduler(_settings.Time).SendOnce(delay, context.Self, BeatTick.Instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} knows no manager to send heartbeats to")]
    private static partial void LogNoManagers(ILogger logger, string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Manager {Addr} refused this node's heartbeat: {Reason}")]
    private static partial void LogRemoved(ILogger logger, string addr, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat to manager {Addr} failed ({Reason}); {Failures} in a row, trying the next manager")]
    private static partial void LogNoAnswer(ILogger logger, string addr, string reason, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Heartbeats reach manager {Addr} again after {Failures} failures")]
    private static partial void LogReconnected(ILogger logger, string addr, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task assignments {Sequence} arrived after {Applied}: one was lost; asking the leader for the whole set")]
    private static partial void LogAssignmentGap(ILogger logger, long sequence, long applied);

    private sealed record BeatTick
    {
        public static readonly BeatTick Instance = new();
    }

    private sealed record ReportTick
    {
        public static readonly ReportTick Instance = new();
    }
}
