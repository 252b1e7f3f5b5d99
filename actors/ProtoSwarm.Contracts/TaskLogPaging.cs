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

    /// <summary>
    /// The most of one line's text an answer carries: a line longer than that (a multi-MB JSON or base64 dump on one
    /// line) is cut there and says so (<see cref="Capped"/>), so no answer outgrows a page and a huge line cannot
    /// pass the CLI's 4 MiB receive limit and fail the whole command. The whole line stays in the node's log file.
    /// </summary>
    public const int MaxLineBytes = DefaultPageBytes - EntryOverheadBytes;

    /// <summary>What ends a line cut at <see cref="MaxLineBytes"/>; the numbers are the line's bytes and those shown.</summary>
    public static string CutMarker(long totalBytes, long shownBytes) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $" [protoswarm: line cut, {totalBytes} bytes long, the first {shownBytes} shown]");

    // Room kept for the marker: its words and two numbers of up to 19 digits.
    private const int CutMarkerRoom = 128;

    /// <summary>
    /// The entry as an answer carries it: whole when its text fits in <see cref="MaxLineBytes"/>, else its first bytes
    /// (cut at a UTF-8 character's boundary) followed by <see cref="CutMarker"/>, within <see cref="MaxLineBytes"/> in all.
    /// </summary>
    public static TaskLogEntry Capped(TaskLogEntry entry)
    {
        // A UTF-8 character is at most 4 bytes (a UTF-16 char at most 3), so a short line needs no count.
        if (entry.Line.Length <= MaxLineBytes / 3)
        {
            return entry;
        }
        var bytes = Encoding.UTF8.GetBytes(entry.Line);
        if (bytes.Length <= MaxLineBytes)
        {
            return entry;
        }
        var cut = MaxLineBytes - CutMarkerRoom;
        while (cut > 0 && (bytes[cut] & 0xC0) == 0x80)
        {
            cut--; // a continuation byte: the character began before it
        }
        return entry with { Line = Encoding.UTF8.GetString(bytes, 0, cut) + CutMarker(bytes.Length, cut) };
    }

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
    /// (always one, so a page moves on even past a line larger than a page; a line longer than
    /// <see cref="MaxLineBytes"/> comes cut there, marked, see <see cref="Capped"/>). Start is the cursor the window
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
        var page = new List<TaskLogEntry>();
        var used = 0L;
        while (page.Count < window.Count)
        {
            var entry = Capped(window[page.Count]);
            var weight = BytesOf(entry.Line);
            if (page.Count > 0 && used + weight > budget)
            {
                break;
            }
            used += weight;
            page.Add(entry);
        }

        return new TaskLog(taskId, [.. page], More: page.Count < window.Count, Start: start);
    }
}
