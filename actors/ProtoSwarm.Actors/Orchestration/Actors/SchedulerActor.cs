using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>
/// The scheduler on the leader (a child of the <see cref="OrchestratorActor"/>): when tasks wait
/// or the nodes change, it places every pending task with <see cref="Scheduling.Scheduler.Schedule"/> and
/// writes the assignments (observed Assigned, the node named) and, for a task that fits nowhere,
/// the explanation `service ps` shows. One pass at a time; changes meanwhile fold into one more.
/// </summary>
public sealed partial class SchedulerActor : IActor
{
    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly OneAtATime<bool> _runs;

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

    /// <summary>The writes of one pass: assignments, and explanations that changed.</summary>
    public static List<StoreChange> Decide(StoreState state, DateTimeOffset now)
    {
        var tasks = state.List<TaskObject>().ToList();
        var pending = tasks.Where(IsPending).ToList();
        var changes = new List<StoreChange>();
        if (pending.Count == 0)
        {
            return changes;
        }

        var (assignments, left) = Scheduling.Scheduler.Schedule(pending, state.List<NodeObject>(), tasks);
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

    private void Run(IContext context) => _runs.Run(context, PassAsync, (stored, again) =>
    {
        if (again || !stored)
        {
            context.Send(context.Self, Reconsider.Instance);
        }
    });

    private async Task<bool> PassAsync()
    {
        var changes = Decide(_manager.Store.Current, _manager.Time.GetUtcNow());
        return await Proposals.ProposeInPartsAsync(_manager.Proposer, changes).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A scheduling pass failed; trying again in 1 s")]
    private static partial void LogFailed(ILogger logger, Exception? e);
}
