using System.Text;

namespace ProtoSwarm.Contracts;

/// <summary>
/// `service logs` in pages: a node answers one bounded page of a task's lines and the managers one
/// bounded page of the merged lines, so no message grows with a log. A large one (`seq 1 300000`:
/// 5.5 MB of text, 16 MB in the node's log files) sent whole held up the gRPC stream the node shares
/// with its heartbeats, and the managers judged the node Down.
/// </summary>
public static class TaskLogPaging
{
    /// <summary>
    /// The most one answer carries, well below gRPC's 4 MiB default limit on what a channel receives (the CLI's
    /// connection has it) and small enough to go between two heartbeats of a slow link.
    /// </summary>
    public const int DefaultPageBytes = 1024 * 1024;

    /// <summary>The least a task's page gets when a page is shared by many tasks, so each still moves on.</summary>
    public const int MinTaskPageBytes = 8 * 1024;

    /// <summary>What a line costs in an answer besides its text: task and node ids, time, sequence, slot, framing.</summary>
    public const int EntryOverheadBytes = 96;

    /// <summary>A line's weight in a page: its UTF-8 text and <see cref="EntryOverheadBytes"/>.</summary>
    public static int BytesOf(string line) => Encoding.UTF8.GetByteCount(line) + EntryOverheadBytes;

    /// <summary>
    /// How many lines a page's read needs at most: one more than can fit in <paramref name="maxBytes"/> (each line
    /// weighs at least <see cref="EntryOverheadBytes"/>), so <see cref="Page"/> still sees whether lines remain.
    /// </summary>
    public static int ReadLimit(int maxBytes) => ((maxBytes <= 0 ? DefaultPageBytes : maxBytes) / EntryOverheadBytes) + 1;

    /// <summary>Each task's share of one page when <paramref name="tasks"/> tasks are read at once (never below <see cref="MinTaskPageBytes"/>).</summary>
    public static int PerTask(int pageBytes, int tasks) =>
        Math.Max(MinTaskPageBytes, (pageBytes <= 0 ? DefaultPageBytes : pageBytes) / Math.Max(1, tasks));

    /// <summary>
    /// One page of a task's lines: of <paramref name="entries"/> (those after <paramref name="after"/>,
    /// oldest first, as the controller read them) the ones stamped <paramref name="since"/> or later, the last
    /// <paramref name="tail"/> of those, then as many from the oldest as fit in <paramref name="maxBytes"/>
    /// (always one, so a page moves on even past a line larger than a page). Start is the cursor the window
    /// began after, so a page asked later without the tail resumes at the same line.
    /// </summary>
    public static TaskLog Page(string taskId, IReadOnlyList<TaskLogEntry> entries, long after, int? tail, DateTimeOffset? since, int maxBytes)
    {
        IEnumerable<TaskLogEntry> kept = entries.Where(e => e.Sequence > after);
        if (since is { } from)
        {
            kept = kept.Where(e => e.Timestamp >= from);
        }

        var window = kept.ToList();
        if (tail is { } last && last < window.Count)
        {
            window = window[Math.Max(0, window.Count - last)..];
        }

        var start = window.Count > 0
            ? window[0].Sequence - 1
            : Math.Max(after, entries.Count > 0 ? entries[^1].Sequence : after);
        var budget = maxBytes <= 0 ? DefaultPageBytes : maxBytes;
        var taken = 0;
        var used = 0L;
        while (taken < window.Count && (taken == 0 || used + BytesOf(window[taken].Line) <= budget))
        {
            used += BytesOf(window[taken].Line);
            taken++;
        }

        return new TaskLog(taskId, [.. window.Take(taken)], More: taken < window.Count, Start: start);
    }
}
