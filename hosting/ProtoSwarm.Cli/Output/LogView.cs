using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>`service logs`'s switches that change how a line is shown.</summary>
internal sealed record LogOptions(bool Timestamps = false, bool NoTaskIds = false, bool NoTrunc = false, bool Raw = false, bool NoResolve = false);

/// <summary>
/// How `service logs` shows a line, as docker does: the timestamp first with -t, then unless --raw
/// the task's context <c>web.1.&lt;task id&gt;@&lt;node&gt;</c>, padded to the widest slot number,
/// and <c>"    | "</c>, then the line. A global task is named <c>web.&lt;node id&gt;</c>, as in
/// `service ps`. Names come from a <see cref="TaskList"/> of the service.
/// </summary>
internal sealed class LogView(LogOptions options)
{
    private TaskList? _names;
    private Dictionary<string, TaskObject> _tasks = new(StringComparer.Ordinal);
    private int _slotWidth = 1;

    public LogOptions Options => options;

    /// <summary>True when every task of the answer has a name already (else ask for the service's tasks again).</summary>
    public bool Knows(ServiceLogs logs) => logs.Entries.All(e => _tasks.ContainsKey(e.TaskId));

    public void Learn(TaskList names)
    {
        _names = names;
        _tasks = names.Tasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
        _slotWidth = Math.Max(1, names.Tasks.Where(t => t.Slot > 0).Select(t => Digits(t.Slot)).DefaultIfEmpty(1).Max());
    }

    /// <summary>The line as printed, without its newline.</summary>
    public string Format(string serviceId, ServiceLogEntry entry)
    {
        var stamp = options.Timestamps ? Timestamp(entry.Timestamp) + " " : string.Empty;
        return options.Raw ? stamp + entry.Line : $"{stamp}{Context(serviceId, entry)}    | {entry.Line}";
    }

    /// <summary>Docker's fixed-width RFC 3339 with nanoseconds, in UTC.</summary>
    public static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", CultureInfo.InvariantCulture);

    private string Context(string serviceId, ServiceLogEntry entry)
    {
        var service = options.NoResolve ? serviceId : _names?.ServiceNames.GetValueOrDefault(serviceId) ?? serviceId;
        var node = options.NoResolve ? entry.NodeId : _names?.NodeNames.GetValueOrDefault(entry.NodeId) ?? entry.NodeId;
        var name = entry.Slot > 0 ? string.Create(CultureInfo.InvariantCulture, $"{service}.{entry.Slot}") : $"{service}.{entry.NodeId}";
        if (!options.NoTaskIds)
        {
            name += "." + (options.NoTrunc || entry.TaskId.Length <= ServiceView.ShortIdLength ? entry.TaskId : entry.TaskId[..ServiceView.ShortIdLength]);
        }

        var padding = entry.Slot > 0 ? Math.Max(0, _slotWidth - Digits(entry.Slot)) : 0;
        return $"{name}@{node}{new string(' ', padding)}";
    }

    private static int Digits(long slot) => slot.ToString(CultureInfo.InvariantCulture).Length;
}
