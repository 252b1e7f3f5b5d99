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
    /// One page from the nodes' pages: the lines of the tasks asked of each node (anything else a node sends
    /// is ignored; since and tail were applied by the nodes), ordered by time (ties by task id, then sequence).
    /// While a task has more lines than its node sent, the page ends at that task's last line sent (the
    /// earliest such across tasks), so the next page cannot hold a line older than one shown; and it ends
    /// where <paramref name="pageBytes"/> is full. Each task's cursor moves to its last line shown, or to
    /// where its node's window began (the lines before a tail or since are skipped for good), and stays where
    /// it was when its node did not answer; More says a next page has lines. A node that could not be asked,
    /// or could not read a task's log, is a warning naming the node (and the task).
    /// </summary>
    public static ServiceLogs Merge(
        string serviceId,
        IEnumerable<NodeLogAnswer> answers,
        IReadOnlyDictionary<string, long> after,
        int pageBytes = TaskLogPaging.DefaultPageBytes)
    {
        var lines = new List<ServiceLogEntry>();
        var cursors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var more = false;
        DateTimeOffset? cut = null;
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
                if (!asked.TryGetValue(log.TaskId, out var task))
                {
                    continue;
                }

                if (log.Error is not null)
                {
                    warnings.Add($"Node {answer.NodeName} ({answer.NodeId}) could not read the log of task {task.Id}: {log.Error}.");
                }

                cursors[task.Id] = Math.Max(cursors[task.Id], log.Start);
                var entries = log.Entries.IsDefault ? [] : log.Entries.Where(e => e.Sequence > after.GetValueOrDefault(task.Id)).ToList();
                if (log.More && entries.Count > 0)
                {
                    more = true;
                    cut = cut is { } c && c <= entries[^1].Timestamp ? c : entries[^1].Timestamp;
                }

                lines.AddRange(entries.Select(e => new ServiceLogEntry(task.Id, task.Slot, answer.NodeId, e.Timestamp, e.Stream, e.Line, e.Sequence)));
            }
        }

        var ordered = lines
            .Where(e => cut is not { } last || e.Timestamp <= last)
            .OrderBy(e => e.Timestamp).ThenBy(e => e.TaskId, StringComparer.Ordinal).ThenBy(e => e.Sequence)
            .ToList();
        more |= ordered.Count < lines.Count;
        var page = new List<ServiceLogEntry>();
        var used = 0L;
        foreach (var entry in ordered)
        {
            var bytes = TaskLogPaging.BytesOf(entry.Line);
            if (page.Count > 0 && used + bytes > pageBytes)
            {
                more = true;
                break;
            }

            page.Add(entry);
            used += bytes;
            cursors[entry.TaskId] = Math.Max(cursors[entry.TaskId], entry.Sequence);
        }

        return new ServiceLogs(serviceId, [.. page], cursors.ToImmutableSortedDictionary(StringComparer.Ordinal), [.. warnings], more);
    }
}
