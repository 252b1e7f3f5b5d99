using System.Collections.Immutable;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `service ls --filter` (id, name, label, mode) and `service ps --filter` (id, name, node,
/// desired-state), applied to the listing as docker applies them: id and name match a prefix,
/// the others exactly; values of one key are alternatives, keys combine.
/// </summary>
internal sealed class ServiceFilter
{
    public static readonly ImmutableArray<string> ServiceKeys = ["id", "name", "label", "mode"];

    public static readonly ImmutableArray<string> TaskKeys = ["id", "name", "node", "desired-state"];

    private readonly ILookup<string, string> _terms;

    private ServiceFilter(ILookup<string, string> terms) => _terms = terms;

    public static ServiceFilter Parse(IEnumerable<string> filters) =>
        new(filters.Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim(), p => p[1], StringComparer.Ordinal));

    public static string? CheckService(string filter) => Check(filter, ServiceKeys, (key, value) => key switch
    {
        "mode" when value is not ("replicated" or "global" or "replicated-job" or "global-job") => "mode must be replicated, global, replicated-job or global-job",
        _ => null,
    });

    public static string? CheckTask(string filter) => Check(filter, TaskKeys, (key, value) => key switch
    {
        "desired-state" when value.Length > 0 && DesiredState(value) is null =>
            $"'{value}' is not a task state; use one of {string.Join(", ", StateNames)} (running, shutdown and accepted are docker's usual ones)",
        _ => null,
    });

    public bool Matches(ServiceObject service) => _terms.All(term => term.Any(value => term.Key switch
    {
        "id" => service.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => service.Spec.Name.StartsWith(value, StringComparison.Ordinal),
        "label" => MatchesLabel(service.Spec.Labels, value),
        "mode" => ServiceFlags.Mode(value).Value == service.Spec.Mode.Kind,
        _ => false,
    }));

    public bool Matches(TaskObject task, TaskList list) => _terms.All(term => term.Any(value => term.Key switch
    {
        "id" => task.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => ServiceView.TaskName(list.ServiceNames.GetValueOrDefault(task.ServiceId, task.ServiceId), task, noTrunc: false).StartsWith(value, StringComparison.Ordinal),
        "node" => task.NodeId.Length > 0 && (task.NodeId.StartsWith(value, StringComparison.Ordinal) || list.NodeNames.GetValueOrDefault(task.NodeId) == value),
        // swarmkit compares the desired state exactly: "running" leaves out a replacement held at
        // Ready (a restart delay, a stop-first update), "shutdown" a task scaled down (Remove) or a
        // job's (Complete). "allocated" is a state of swarmkit's that no task of ours ever wants.
        "desired-state" => value.Length == 0 || DesiredState(value) == task.DesiredState,
        _ => false,
    }));

    /// <summary>The task states by docker's names, in their order (swarmkit's Allocated included, which matches nothing here).</summary>
    private static readonly ImmutableArray<string> StateNames =
        [.. Enum.GetNames<TaskState>().Select(n => n.ToLowerInvariant()).Take(1), "allocated", .. Enum.GetNames<TaskState>().Select(n => n.ToLowerInvariant()).Skip(1)];

    /// <summary>A desired-state filter's value as a state, any case as docker's (null: no such state; "allocated" gives a state no task has).</summary>
    private static TaskState? DesiredState(string value) =>
        value.Equals("allocated", StringComparison.OrdinalIgnoreCase) ? (TaskState)(-1)
        : Enum.TryParse<TaskState>(value, ignoreCase: true, out var state) && !int.TryParse(value, out _) ? state : null;

    /// <summary>A --filter's shape, shared by every listing: key=value with a known key, then the value's own check (if any).</summary>
    internal static string? Check(string filter, ImmutableArray<string> keys, Func<string, string, string?>? value = null)
    {
        var equals = filter.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return $"--filter '{filter}' must be key=value, with key one of {string.Join(", ", keys)}.";
        }

        var key = filter[..equals].Trim();
        if (!keys.Contains(key))
        {
            return $"--filter '{filter}': '{key}' is not a filter here; use one of {string.Join(", ", keys)}.";
        }

        return value?.Invoke(key, filter[(equals + 1)..]) is { } problem ? $"--filter '{filter}': {problem}." : null;
    }

    internal static bool MatchesLabel(ImmutableSortedDictionary<string, string> labels, string term)
    {
        var equals = term.IndexOf('=', StringComparison.Ordinal);
        return equals < 0
            ? labels.ContainsKey(term)
            : labels.TryGetValue(term[..equals], out var value) && value == term[(equals + 1)..];
    }
}
