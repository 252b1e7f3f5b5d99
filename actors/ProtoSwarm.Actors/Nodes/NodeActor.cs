using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// One node as the managers see it (one actor per node, living with the leader's dispatcher): it
/// takes the node's heartbeats, and writes Ready when they arrive and Down when they stop. It
/// writes only changes, so a steady heartbeat costs no disk write.
/// </summary>
public sealed partial class NodeActor : IActor
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(250);

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly string _nodeId;
    private DateTimeOffset _lastHeartbeat;
    private CancellationTokenSource? _timer;

    public NodeActor(ManagerContext manager, string nodeId)
    {
        _manager = manager;
        _nodeId = nodeId;
        _logger = manager.LoggerFactory.CreateLogger<NodeActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        NodeHeartbeat heartbeat => OnHeartbeat(heartbeat),
        LivenessTick => OnTick(),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    private Task OnStarted(IContext context)
    {
        // A fresh activation gives the node a full grace period before judging it.
        _lastHeartbeat = _manager.Time.GetUtcNow();
        _timer = context.Scheduler(_manager.Time).SendRepeatedly(CheckInterval, context.Self, LivenessTick.Instance);
        return Task.CompletedTask;
    }

    private Task OnStopping()
    {
        _timer?.Cancel();
        return Task.CompletedTask;
    }

    private async Task OnHeartbeat(NodeHeartbeat heartbeat)
    {
        var now = _manager.Time.GetUtcNow();
        _lastHeartbeat = now;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var node = _manager.Store.Current.Get<NodeObject>(_nodeId);
            if (node is null)
            {
                break;
            }

            var status = NodeLiveness.Decide(node.Status, now, now, heartbeatJustArrived: true, heartbeat.Addr);
            if (status is null && SameMember(node.Member, heartbeat.Member) && node.Description == heartbeat.Description)
            {
                break;
            }

            var newStatus = status ?? node.Status;
            var updated = node with
            {
                Status = newStatus,
                Member = heartbeat.Member,
                Description = heartbeat.Description,
                ManagerStatus = NodeLiveness.ManagerStatusFor(node, newStatus.State),
            };
            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Update(updated)]);
                if (status is not null && node.Status.State != NodeState.Ready)
                {
                    LogNodeReady(_logger, _nodeId, node.Description.Hostname, node.Status.State);
                }

                break;
            }
            catch (StoreConflictException)
            {
                // Someone else wrote the node since we read it: read again and redo the decision.
            }
        }

    }

    private async Task OnTick()
    {
        var now = _manager.Time.GetUtcNow();
        var node = _manager.Store.Current.Get<NodeObject>(_nodeId);
        if (node is null)
        {
            return;
        }

        var status = NodeLiveness.Decide(node.Status, _lastHeartbeat, now, heartbeatJustArrived: false, node.Status.Addr);
        if (status is null)
        {
            return;
        }

        try
        {
            await _manager.Proposer.ProposeAsync(
                [StoreChange.Update(node with { Status = status, ManagerStatus = NodeLiveness.ManagerStatusFor(node, status.State) })]);
            LogNodeDown(_logger, _nodeId, node.Description.Hostname, (now - _lastHeartbeat).TotalMilliseconds);
        }
        catch (StoreConflictException)
        {
            // The next tick decides again on fresh data.
        }
    }

    private static bool SameMember(MemberInfo? a, MemberInfo? b) =>
        a is not null && b is not null && a.MemberId == b.MemberId && a.Host == b.Host && a.Port == b.Port &&
        a.Kinds.AsSpan().SequenceEqual(b.Kinds.AsSpan());

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}) {From}->Ready")]
    private static partial void LogNodeReady(ILogger logger, string nodeId, string hostname, NodeState from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} ({Hostname}) Ready->Down: no heartbeat for {SilenceMs:0} ms")]
    private static partial void LogNodeDown(ILogger logger, string nodeId, string hostname, double silenceMs);

    private sealed record LivenessTick
    {
        public static readonly LivenessTick Instance = new();
    }
}
