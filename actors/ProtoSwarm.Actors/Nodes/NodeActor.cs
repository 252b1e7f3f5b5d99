using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// One node as the managers see it (one actor per node, living with the leader's dispatcher): it
/// takes the node's heartbeats, and writes Ready when they arrive and Down when they stop. It
/// writes only changes, so a steady heartbeat costs no disk write. It is also the node's end of the
/// dispatch: it streams the tasks assigned to the node to the node's agent (the whole set first,
/// then what changed, see <see cref="TaskAssignments"/>) and stores the statuses the agent reports.
/// With the tasks go the overlay networks the node needs (<see cref="NetworkViews"/>): all of them in
/// a full message, else those whose view changed since the last message and those no longer needed;
/// a view that changed alone (a task on another node became ready) is a message too. With them go
/// the secrets and configs the node's tasks reference (<see cref="NodePayloads"/>), each once, and
/// the ids of those no task of the node uses any more: a node never holds a secret it does not run.
/// </summary>
public sealed partial class NodeActor : IActor
{
    /// <summary>
    /// How often the node's tasks are compared with what was sent, when the store changed. The
    /// dispatcher's <see cref="StoreChanged"/> makes the comparison at once (and again whenever its
    /// watch of the store starts over), and a beat that shows a lost message asks for it at once; this
    /// check is only what is left should a notice be missed. It was 50 ms until 2026-12-07: 20 wake-ups a
    /// second per node on an idle leader, for a comparison that found nothing new.
    /// </summary>
    private static readonly TimeSpan AssignInterval = TimeSpan.FromSeconds(1);

    /// <summary>A heartbeat that still shows an older sequence this long after a send means a message was lost.</summary>
    private static readonly TimeSpan ResyncAfter = TimeSpan.FromSeconds(2);

    private const int StatusRetries = 5;

    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly string _nodeId;
    private readonly string _epoch = SwarmIds.NewRequestId();

    // What the agent was last told of each task: only its desired state can change (a task's spec
    // never does), so a change of status alone, which the node itself reported, is not sent back.
    private readonly Dictionary<string, TaskState> _sent = new(StringComparer.Ordinal);

    // The network views the agent was last sent, as their MessagePack bytes: compared by content.
    private readonly Dictionary<string, byte[]> _sentViews = new(StringComparer.Ordinal);

    // The secrets and configs the agent holds, by id (their data never changes, so the id is enough).
    private readonly HashSet<string> _sentSecrets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sentConfigs = new(StringComparer.Ordinal);

    private DateTimeOffset _lastHeartbeat;

    // When the previous liveness check ran, and how much of the silence since the last beat this actor watched
    // (NodeLiveness.Watched): a check that comes late after the manager's own stall does not count the stall.
    private DateTimeOffset _lastCheck;
    private TimeSpan _silence;

    // The role this actor last saw the node in, and when it saw it change (a promote or demote:
    // the node restarts its member, NodeLiveness.RoleChangeGrace).
    private NodeRole? _role;
    private DateTimeOffset? _roleChangedAt;

    // The heartbeat period the node was told in the answer to its last beat (null: none seen by this
    // actor): it beats next after that period, whatever the swarm's is now (NodeLiveness.JudgedPeriod).
    private TimeSpan? _toldPeriod;

    // The next liveness check (NodeLiveness.NextCheck), and when it is due.
    private CancellationTokenSource? _check;
    private DateTimeOffset _nextCheckAt;
    private CancellationTokenSource? _assignTimer;
    private long _sequence;
    private bool _assignQueued;
    private bool _fullNeeded = true;
    private ulong _assignedAtIndex;
    private DateTimeOffset _lastSendAt;

    public NodeActor(ManagerContext manager, string nodeId)
    {
        _manager = manager;
        _nodeId = nodeId;
        _logger = manager.LoggerFactory.CreateLogger<NodeActor>();
    }

    public Task ReceiveAsync(IContext context) => context.Message switch
    {
        Started => OnStarted(context),
        Beat beat => OnHeartbeat(context, beat.Heartbeat, beat.ToldPeriod),
        LivenessTick => OnTick(context),
        AssignTick => OnAssign(context),
        StoreChanged => OnStoreChanged(context),
        TaskStatusReport report => OnStatusReport(context, report),
        Stopping => OnStopping(),
        _ => Task.CompletedTask,
    };

    private Task OnStarted(IContext context)
    {
        // A fresh activation gives the node a full grace period before judging it.
        _lastHeartbeat = _manager.Time.GetUtcNow();
        _lastCheck = _lastHeartbeat;
        _silence = TimeSpan.Zero;
        ScheduleCheck(context, _lastCheck, NodeLiveness.NextCheck(_silence, null, CurrentPeriod()));
        _assignTimer = context.Scheduler(_manager.Time).SendRepeatedly(AssignInterval, context.Self, AssignTick.Instance);
        return OnAssign(context);
    }

    /// <summary>
    /// Something this node is sent may have changed: compare once the notices already queued are
    /// taken, so a burst of commits costs one comparison, not one each.
    /// </summary>
    private Task OnStoreChanged(IContext context)
    {
        QueueAssign(context);
        return Task.CompletedTask;
    }

    private void QueueAssign(IContext context)
    {
        if (!_assignQueued)
        {
            _assignQueued = true;
            context.Send(context.Self, AssignTick.Instance);
        }
    }

    private Task OnStopping()
    {
        _check?.Cancel();
        _assignTimer?.Cancel();
        return Task.CompletedTask;
    }

    private async Task OnHeartbeat(IContext context, NodeHeartbeat heartbeat, TimeSpan toldPeriod)
    {
        var now = _manager.Time.GetUtcNow();
        _lastHeartbeat = now;
        // The silence is counted from this beat on, not from the check before it.
        _silence = TimeSpan.Zero;
        _lastCheck = now;
        _toldPeriod = toldPeriod;
        var longest = NodeLiveness.NextCheck(_silence, null, NodeLiveness.JudgedPeriod(toldPeriod, CurrentPeriod()));
        if (_nextCheckAt - now > longest)
        {
            // The node was told a shorter period than the one the pending check was timed by: check by the new one.
            ScheduleCheck(context, now, longest);
        }

        if ((heartbeat.AssignmentsEpoch != _epoch || heartbeat.AssignmentsSequence < _sequence) && now - _lastSendAt > ResyncAfter)
        {
            // The agent has not applied what this manager sent (a restarted node, a lost message): send the whole set, now.
            _fullNeeded = true;
            QueueAssign(context);
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var node = _manager.Store.Current.Get<NodeObject>(_nodeId);
            if (node is null)
            {
                break;
            }

            var status = NodeLiveness.Decide(node.Status, now, TimeSpan.Zero, heartbeatJustArrived: true, heartbeat.Addr);
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

    private TimeSpan CurrentPeriod() =>
        _manager.Store.Current.Get<ClusterObject>(ClusterObject.DefaultId)?.HeartbeatPeriod ?? ClusterObject.DefaultHeartbeatPeriod;

    private void ScheduleCheck(IContext context, DateTimeOffset now, TimeSpan delay)
    {
        // A check already sent when it is cancelled here is taken too: it counts the silence up to it and plans the next.
        _check?.Cancel();
        _nextCheckAt = now + delay;
        _check = context.Scheduler(_manager.Time).SendOnce(delay, context.Self, LivenessTick.Instance);
    }

    private async Task OnTick(IContext context)
    {
        var now = _manager.Time.GetUtcNow();
        var period = NodeLiveness.JudgedPeriod(_toldPeriod, CurrentPeriod());
        _silence += NodeLiveness.Watched(now - _lastCheck, period);
        _lastCheck = now;
        var node = _manager.Store.Current.Get<NodeObject>(_nodeId);
        if (node is null)
        {
            ScheduleCheck(context, now, NodeLiveness.NextCheck(_silence, null, period));
            return;
        }

        if (_role is { } seen && seen != node.Role)
        {
            _roleChangedAt = now;
        }

        _role = node.Role;
        var roleChangedAgo = NodeLiveness.RoleChangedAgo(now, _roleChangedAt, node.RoleChangedAt, period);
        var limit = node.Status.State == NodeState.Down ? (TimeSpan?)null : NodeLiveness.Limit(node.Status, period, roleChangedAgo);
        ScheduleCheck(context, now, NodeLiveness.NextCheck(_silence, limit, period));
        var status = NodeLiveness.Decide(node.Status, _lastHeartbeat, _silence, heartbeatJustArrived: false, node.Status.Addr, period, roleChangedAgo);
        if (status is null)
        {
            return;
        }

        try
        {
            await _manager.Proposer.ProposeAsync(
                [StoreChange.Update(node with { Status = status, ManagerStatus = NodeLiveness.ManagerStatusFor(node, status.State) })]);
            LogNodeDown(_logger, _nodeId, node.Description.Hostname, node.Status.State, (now - _lastHeartbeat).TotalMilliseconds, _silence.TotalMilliseconds);
        }
        catch (StoreConflictException)
        {
            // The next tick decides again on fresh data.
        }
    }

    /// <summary>The tasks a node is told about: those assigned to it, until they are deleted from the store.</summary>
    public static bool IsAssignedTo(TaskObject task, string nodeId) => task.NodeId == nodeId && task.Status.State >= TaskState.Assigned;

    private Task OnAssign(IContext context)
    {
        _assignQueued = false;
        var state = _manager.Store.Current;
        if (!_fullNeeded && state.Index == _assignedAtIndex)
        {
            return Task.CompletedTask;
        }

        var node = state.Get<NodeObject>(_nodeId);
        if (node?.Member is null || node.Status.State != NodeState.Ready)
        {
            // Nothing reaches a node that is not up; it gets the whole set when it is back.
            _fullNeeded = true;
            return Task.CompletedTask;
        }

        _assignedAtIndex = state.Index;
        var tasks = state.List<TaskObject>().Where(t => IsAssignedTo(t, _nodeId) && !ProtoSwarm.Actors.Networks.NetworkAttachments.IsAttachment(t)).ToList();
        var full = _fullNeeded;
        var changed = full ? tasks : tasks.Where(t => !_sent.TryGetValue(t.Id, out var desired) || desired != t.DesiredState).ToList();
        var current = tasks.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var removed = full ? [] : _sent.Keys.Where(id => !current.Contains(id)).ToList();
        var views = NetworkViews.Of(state);
        var needed = views.NetworksOf(_nodeId);
        var changedViews = needed.Where(id => full || !_sentViews.TryGetValue(id, out var sent) || !SameBytes(sent, views.Bytes(id))).ToList();
        var removedViews = full ? [] : _sentViews.Keys.Where(id => !needed.Contains(id)).ToList();
        var payloads = NodePayloads.Of(state, tasks);
        var payloadDelta = NodePayloads.Delta(payloads, _sentSecrets, _sentConfigs, full);
        if (!full && changed.Count == 0 && removed.Count == 0 && changedViews.Count == 0 && removedViews.Count == 0 && payloadDelta.IsEmpty)
        {
            return Task.CompletedTask;
        }

        _sent.Clear();
        foreach (var task in tasks)
        {
            _sent[task.Id] = task.DesiredState;
        }

        _sentViews.Clear();
        foreach (var id in needed)
        {
            _sentViews[id] = views.Bytes(id);
        }

        _sentSecrets.Clear();
        _sentSecrets.UnionWith(payloads.Secrets.Keys);
        _sentConfigs.Clear();
        _sentConfigs.UnionWith(payloads.Configs.Keys);

        _fullNeeded = false;
        _sequence++;
        _lastSendAt = _manager.Time.GetUtcNow();
        if (_manager.AgentPid(node) is { } agent)
        {
            context.Send(agent, new TaskAssignments(_nodeId, _epoch, _sequence, full, [.. changed.Select(t => AsRun(t, node, state))], [.. removed], [.. changedViews.Select(views.View)], [.. removedViews],
                payloadDelta.Secrets, payloadDelta.SecretsRemoved, payloadDelta.Configs, payloadDelta.ConfigsRemoved));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A task as its node runs it, with its service's name (for its container's name and labels): docker's templates in its container spec (hostname, environment, mounts)
    /// expanded for this node and the task's service, and, when one of its secrets or configs is templated
    /// (--template-driver golang), the context its node expands them with. The store keeps the templates, as docker's does.
    /// </summary>
    internal static TaskObject AsRun(TaskObject task, NodeObject node, StoreState state)
    {
        var container = task.Spec.Container;
        var templatedFiles = container.Secrets.Any(r => state.Get<SecretObject>(r.SecretId)?.Spec.Templating is not null)
            || container.Configs.Any(r => state.Get<ConfigObject>(r.ConfigId)?.Spec.Templating is not null);
        var service = state.Get<ServiceObject>(task.ServiceId);
        task = task with { ServiceName = service?.Spec.Name ?? string.Empty };
        if (!templatedFiles && !ServiceTemplates.HasTemplates(container))
        {
            return task;
        }

        var context = new TemplateContext(task.ServiceId, service?.Spec.Name ?? task.ServiceId, service?.Spec.Labels ?? ImmutableSortedDictionary<string, string>.Empty,
            node.Id, node.Description.Hostname, node.Description.Os, node.Description.Architecture, task.Id, task.Slot);
        if (templatedFiles)
        {
            task = task with { Template = context };
        }

        try
        {
            return task with { Spec = task.Spec with { Container = ServiceTemplates.ExpandContainer(container, context) } };
        }
        catch (FormatException)
        {
            // Refused at create and update since templates were checked; a task stored before runs as written.
            return task;
        }
    }

    private static bool SameBytes(byte[] a, byte[] b) => ReferenceEquals(a, b) || a.AsSpan().SequenceEqual(b);

    /// <summary>
    /// Stores what the node says its tasks did. Only moves forward are written (a report repeated
    /// after a lost answer changes nothing), and only for tasks assigned to this node; the stop of a
    /// task whose node no longer meets its constraints is stored as its rejection
    /// (<see cref="Orchestration.ConstraintRejection"/>), and when a task reached Running is kept
    /// (<see cref="Orchestration.TaskStates.KeepRunningAt"/>). Answered once
    /// stored, so the agent keeps a report until then and sends it again to whoever leads.
    /// </summary>
    private async Task OnStatusReport(IContext context, TaskStatusReport report)
    {
        var stored = 0;
        for (var attempt = 0; attempt <= StatusRetries; attempt++)
        {
            var state = _manager.Store.Current;
            var changes = new List<StoreChange>();
            foreach (var update in report.Updates)
            {
                if (state.Get<TaskObject>(update.TaskId) is { } task && task.NodeId == _nodeId &&
                    Orchestration.TaskStates.CanMove(task.Status.State, update.Status.State))
                {
                    var reported = Orchestration.TaskStates.KeepRunningAt(task.Status, update.Status);
                    changes.Add(StoreChange.Update(task with { Status = Orchestration.ConstraintRejection.Stored(task, reported) }));
                }
            }

            try
            {
                if (changes.Count > 0)
                {
                    await _manager.Proposer.ProposeAsync(changes);
                }

                stored = changes.Count;
                break;
            }
            catch (StoreConflictException) when (attempt < StatusRetries)
            {
                // A task changed since it was read (its desired state, say): read again and keep only real moves.
            }
            catch (StoreConflictException)
            {
                context.Respond(new CommandRejected(RejectCode.Conflict, "The tasks kept changing while their statuses were stored; send them again."));
                return;
            }
        }

        context.Respond(new TaskStatusReportAck(stored));
    }

    private static bool SameMember(MemberInfo? a, MemberInfo? b) =>
        a is not null && b is not null && a.MemberId == b.MemberId && a.Host == b.Host && a.Port == b.Port &&
        a.Kinds.AsSpan().SequenceEqual(b.Kinds.AsSpan());

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}) {From}->Ready")]
    private static partial void LogNodeReady(ILogger logger, string nodeId, string hostname, NodeState from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} ({Hostname}) {From}->Down: no heartbeat for {SilenceMs:0} ms ({WatchedMs:0} ms of it watched)")]
    private static partial void LogNodeDown(ILogger logger, string nodeId, string hostname, NodeState from, double silenceMs, double watchedMs);

    private sealed record LivenessTick
    {
        public static readonly LivenessTick Instance = new();
    }

    private sealed record AssignTick
    {
        public static readonly AssignTick Instance = new();
    }

    /// <summary>A beat of the node, with the heartbeat period the dispatcher's answer to it told the node.</summary>
    internal sealed record Beat(NodeHeartbeat Heartbeat, TimeSpan ToldPeriod);

    /// <summary>The dispatcher's notice that a commit may have changed what this node is sent.</summary>
    internal sealed record StoreChanged
    {
        public static readonly StoreChanged Instance = new();
    }
}
