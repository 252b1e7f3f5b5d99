using System.Collections.Immutable;
using System.Globalization;
using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`service ps --stats`, `node ps --stats`: the managers ask the nodes of the running tasks for their usage; nothing is stored.</summary>
public sealed partial class ManagerApiActor
{
    /// <summary>A node that has not answered by then is named in the answer's warnings, not waited for.</summary>
    private static readonly TimeSpan NodeUsageTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Asks the nodes of the running tasks named, all at once, and answers from a continuation once
    /// all have answered or timed out (as <see cref="OnGetServiceLogs"/>). A task that is unknown or
    /// not running is left out: it has no container to measure.
    /// </summary>
    private CommandRejected? OnGetTaskUsage(IContext context, GetTaskUsage m)
    {
        var running = m.TaskIds.Distinct(StringComparer.Ordinal)
            .Select(id => State.Get<TaskObject>(id))
            .OfType<TaskObject>()
            .Where(t => t.Status.State == TaskState.Running && t.NodeId.Length > 0);
        var asks = new List<Task<(ImmutableArray<TaskUsage> Usage, string? Warning)>>();
        foreach (var group in running.GroupBy(t => t.NodeId, StringComparer.Ordinal))
        {
            var (name, agent, missing) = NodeToAsk(group.Key);
            var ids = group.Select(t => t.Id).ToImmutableArray();

            asks.Add(missing is null
                ? AskUsageAsync(context, agent!, ids, group.Key, name)
                : Task.FromResult<(ImmutableArray<TaskUsage>, string?)>(([], UsageWarning(group.Key, name, ids.Length, missing))));
        }

        var sender = context.Sender;
        context.ReenterAfter(Task.WhenAll(asks), done =>
        {
            if (sender is not null)
            {
                context.Send(sender, new TaskUsageList(
                    [.. done.Result.SelectMany(a => a.Usage).OrderBy(u => u.TaskId, StringComparer.Ordinal)],
                    [.. done.Result.Select(a => a.Warning).OfType<string>().Order(StringComparer.Ordinal)]));
            }

            return Task.CompletedTask;
        });
        return null;
    }

    private static async Task<(ImmutableArray<TaskUsage> Usage, string? Warning)> AskUsageAsync(
        IContext context, PID agent, ImmutableArray<string> taskIds, string nodeId, string name)
    {
        try
        {
            var answer = await context.RequestAsync<NodeTaskUsage>(agent, new ReadTaskUsage(taskIds), NodeUsageTimeout);
            var asked = taskIds.ToHashSet(StringComparer.Ordinal);
            return ([.. (answer.Tasks.IsDefault ? [] : answer.Tasks).Where(u => asked.Contains(u.TaskId))],
                answer.Error is { Length: > 0 } error ? UsageWarning(nodeId, name, taskIds.Length, $"answered without usage ({error})") : null);
        }
        catch (TimeoutException)
        {
            return ([], UsageWarning(nodeId, name, taskIds.Length, $"did not answer within {NodeUsageTimeout.TotalSeconds:0} s"));
        }
        catch (Exception e) when (e is DeadLetterException or OperationCanceledException or InvalidOperationException)
        {
            return ([], UsageWarning(nodeId, name, taskIds.Length, Unreachable(e)));
        }
    }

    private static string UsageWarning(string nodeId, string name, int tasks, string why) => string.Create(CultureInfo.InvariantCulture,
        $"Node {name} ({nodeId}) {why}: the usage of its {tasks} running task(s) is not shown.");
}
