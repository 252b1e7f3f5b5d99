using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>
/// The scheduler on the leader (a child of the <see cref="OrchestratorActor"/>): when tasks wait
/// or the nodes change, it places every pending task with <see cref="Scheduling.Scheduler.Schedule"/> and
/// writes the assignments (observed Assigned, the node named) and, for a task that fits nowhere,
/// the explanation `service ps` shows. One pass at a time; changes meanwhile fold into one more.
/// Every pass first takes in the tasks that failed or were rejected on their node since the last
/// (<see cref="RecentFailures"/>: the orchestrator sends a pass for every task change), so a node
/// a service keeps failing on ranks last for its replacements. That memory is the scheduler's
/// own, as swarmkit's; a new leader's rebuilds it from the failed tasks the store still holds.
/// </summary>
public sealed partial class SchedulerActor : IActor
{
    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly OneAtATime<bool> _runs;
    private readonly RecentFailures _failures = new();

    public SchedulerActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<SchedulerActor>();
        _runs = new(manager.Time, e => LogFailed(_logger, e));
    }

    public Task ReceiveAsync(IContext context)
    {
        if (context.Message is Started or Reconsider)
        {
            Run(context);
        }

        return Task.CompletedTask;
    }

    /// <summary>The tasks waiting for a node: pending, and still wanted.</summary>
    public static bool IsPending(TaskObject task) => task.Status.State == TaskState.Pending && task.DesiredState <= TaskState.Complete;

    /// <summary>
    /// The writes of one pass: assignments, and explanations that changed. Nodes in
    /// <paramref name="failures"/> rank last for a service that recently kept failing there.
    /// </summary>
    public static List<StoreChange> Decide(StoreState state, DateTimeOffset now, RecentFailures? failures = null)
    {
        var tasks = state.List<TaskObject>().ToList();
        var pending = tasks.Where(IsPending).ToList();
        var changes = new List<StoreChange>();
        if (pending.Count == 0)
        {
            return changes;
        }

        var (assignments, left) = Scheduling.Scheduler.Schedule(pending, state.List<NodeObject>(), tasks, failures, now);
        var byId = pending.ToDictionary(t => t.Id, StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            var task = byId[assignment.TaskId];
            changes.Add(StoreChange.Update(task with
            {
                NodeId = assignment.NodeId,
                Status = new TaskObservedStatus(TaskState.Assigned, now, "scheduler assigned task to node"),
            }));
        }

        foreach (var (id, explanation) in left)
        {
            var task = byId[id];
            if (task.Status.Err != explanation)
            {
                changes.Add(StoreChange.Update(task with { Status = task.Status with { Err = explanation } }));
            }
        }

        return changes;
    }

    /// <summary>Takes the store's failed tasks into <paramref name="failures"/> and forgets what no longer counts.</summary>
    public static List<(string NodeId, string ServiceId)> Observe(RecentFailures failures, StoreState state, DateTimeOffset now) => failures.Observe(
        state.List<TaskObject>(),
        state.List<NodeObject>().Select(n => n.Id).ToHashSet(StringComparer.Ordinal),
        state.List<ServiceObject>().Select(s => s.Id).ToHashSet(StringComparer.Ordinal),
        now);

    private void Run(IContext context) => _runs.Run(context, PassAsync, (stored, again) =>
    {
        if (again || !stored)
        {
            context.Send(context.Self, Reconsider.Instance);
        }
    });

    private async Task<bool> PassAsync()
    {
        var state = _manager.Store.Current;
        var now = _manager.Time.GetUtcNow();
        foreach (var (nodeId, serviceId) in Observe(_failures, state, now))
        {
            LogUnderweighting(_logger, nodeId, serviceId, RecentFailures.Threshold, RecentFailures.Window.TotalMinutes);
        }

        var changes = Decide(state, now, _failures);
        return await Proposals.ProposeInPartsAsync(_manager.Proposer, changes).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} ranks last for service {ServiceId}: its tasks failed or were rejected there {Failures} times within {Minutes} minutes")]
    private static partial void LogUnderweighting(ILogger logger, string nodeId, string serviceId, int failures, double minutes);

    [LoggerMessage(Level = LogLevel.Error, Message = "A scheduling pass failed; trying again in 1 s")]
    private static partial void LogFailed(ILogger logger, Exception? e);
}
