using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent;

/// <summary>What the agent needs to know of its node and what it tells the node host.</summary>
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
    Action<HeartbeatRejected> OnRejected);

/// <summary>
/// A node's own side (named <c>agent</c>, on every node): it beats to the managers' dispatcher,
/// preferring the leader and moving on to the next manager when one does not answer, and hands
/// each answer (members, managers, wanted role) to the node host.
/// </summary>
public sealed partial class AgentActor : IActor
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMilliseconds(1500);

    private readonly AgentSettings _settings;
    private readonly ILogger _logger;
    private ImmutableArray<ManagerAddress> _managers;
    private int _target;
    private int _failures;
    private int _periodMs = 500;
    private CancellationTokenSource? _next;
    private string? _redirect;

    public AgentActor(AgentSettings settings, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _managers = settings.Managers;
        _logger = loggerFactory.CreateLogger<AgentActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => Beat(context),
        BeatTick => Beat(context),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

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
        var heartbeat = new NodeHeartbeat(_settings.NodeId, _settings.ClusterId, _settings.Addr, _settings.Member, _settings.Description, _settings.Role());
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
                    LogRejected(_logger, target.Addr, rejected.Reason);
                    _settings.OnRejected(rejected);
                    if (rejected.Removed)
                    {
                        return Task.CompletedTask;
                    }

                    OnNoAnswer(target, rejected.Reason);
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
    private static partial void LogRejected(ILogger logger, string addr, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Manager {Addr} did not answer a heartbeat ({Reason}); {Failures} in a row, trying the next manager")]
    private static partial void LogNoAnswer(ILogger logger, string addr, string reason, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Heartbeats reach manager {Addr} again after {Failures} failures")]
    private static partial void LogReconnected(ILogger logger, string addr, int failures);

    private sealed record BeatTick
    {
        public static readonly BeatTick Instance = new();
    }
}
