using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>What one node was asked for and what came back: its answer, or why there is none.</summary>
public sealed record NodeLogAnswer(string NodeId, string NodeName, ImmutableArray<TaskObject> Tasks, TaskLogs? Logs, string? Missing);

/// <summary>
/// `service logs` apart from the actor that asks the nodes: which tasks a reference names, and how the
/// nodes' answers become one answer (merged by time, cursors carried forward, the missing nodes named).
/// </summary>
public static class ServiceLogGathering
{
    /// <summary>
    /// A service (id, name or id prefix) and all its tasks, history included; failing that, one task by
    /// id or unique id prefix, as docker looks for a service first and then a task.
    /// </summary>
    public static (string? ServiceId, ImmutableArray<TaskObject> Tasks, CommandRejected? Rejected) ResolveTarget(
        IEnumerable<ServiceObject> services, IEnumerable<TaskObject> tasks, string target)
    {
        var (service, rejected) = ServiceCommands.Resolve(services, target);
        if (service is not null)
        {
            return (service.Id, [.. tasks.Where(t => t.ServiceId == service.Id)], null);
        }

        if (rejected!.Code != RejectCode.NotFound)
        {
            return (null, [], rejected);
        }

        var all = tasks.ToList();
        if (all.FirstOrDefault(t => t.Id == target) is { } exact)
        {
            return (exact.ServiceId, [exact], null);
        }

        var byPrefix = all.Where(t => t.Id.StartsWith(target, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => (byPrefix[0].ServiceId, [byPrefix[0]], null),
            0 => (null, [], new CommandRejected(RejectCode.NotFound,
                $"No such task or service: {target}. See `protoswarm service ls` for the services and `protoswarm service ps SERVICE` for their tasks.")),
            _ => (null, [], new CommandRejected(RejectCode.Conflict,
                $"Task reference {target} is ambiguous: {byPrefix.Count} task ids start with it; give more of the id.")),
        };
    }

    /// <summary>
    /// One answer from the nodes' answers: the lines of the tasks asked of each node (anything else a
    /// node sends is ignored), since <paramref name="since"/> and the last <paramref name="tail"/> per
    /// task, ordered by time; each task's cursor moves to the last line it returned (lines dropped by
    /// since/tail included, so a follow does not see them later) and stays where it was when its node
    /// did not answer.
    /// </summary>
    public static ServiceLogs Merge(
        string serviceId,
        IEnumerable<NodeLogAnswer> answers,
        IReadOnlyDictionary<string, long> after,
        int? tail,
        DateTimeOffset? since)
    {
        var entries = new List<ServiceLogEntry>();
        var cursors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (var answer in answers.OrderBy(a => a.NodeName, StringComparer.Ordinal))
        {
            foreach (var task in answer.Tasks)
            {
                cursors[task.Id] = after.GetValueOrDefault(task.Id);
            }

            if (answer.Logs is null)
            {
                warnings.Add(string.Create(CultureInfo.InvariantCulture,
                    $"Node {answer.NodeName} ({answer.NodeId}) {answer.Missing ?? "did not answer"}: the logs of its {answer.Tasks.Length} task(s) of this service are not shown."));
                continue;
            }

            var asked = answer.Tasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
            foreach (var log in answer.Logs.Tasks.IsDefault ? [] : answer.Logs.Tasks)
            {
                if (!asked.TryGetValue(log.TaskId, out var task) || log.Entries.IsDefaultOrEmpty)
                {
                    continue;
                }

                cursors[task.Id] = Math.Max(cursors[task.Id], log.Entries.Max(e => e.Sequence));
                IEnumerable<TaskLogEntry> kept = log.Entries.Where(e => e.Sequence > after.GetValueOrDefault(task.Id));
                if (since is { } from)
                {
                    kept = kept.Where(e => e.Timestamp >= from);
                }

                if (tail is { } last)
                {
                    kept = kept.TakeLast(last);
                }

                entries.AddRange(kept.Select(e => new ServiceLogEntry(task.Id, task.Slot, answer.NodeId, e.Timestamp, e.Stream, e.Line, e.Sequence)));
            }
        }

        return new ServiceLogs(
            serviceId,
            [.. entries.OrderBy(e => e.Timestamp).ThenBy(e => e.TaskId, StringComparer.Ordinal).ThenBy(e => e.Sequence)],
            cursors.ToImmutableSortedDictionary(StringComparer.Ordinal),
            [.. warnings]);
    }
}
