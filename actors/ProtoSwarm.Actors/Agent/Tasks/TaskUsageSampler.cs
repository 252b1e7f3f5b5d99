using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// docker stats' figures for this node's tasks. CPU % needs two readings of a CPU-time counter, so
/// the sampler keeps the last reading of each task it was asked about: a task read between 100 ms
/// and 10 s ago is answered from that reading and one now; the others (first asked, or not for a
/// while) are read again 250 ms later, all of them in that one wait, never one wait per task. An
/// operator who runs `service ps --stats` twice gets the CPU % of the time between the two.
/// Readings older than 10 s are forgotten. Safe to call from several threads at once.
/// </summary>
public sealed class TaskUsageSampler(ITaskExecutor executor, TimeProvider time)
{
    public static readonly TimeSpan SecondReadingAfter = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan ShortestWindow = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan LongestWindow = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Reading> _last = new(StringComparer.Ordinal);

    private sealed record Reading(TaskUsageSample Sample, long At);

    /// <summary>The usage of those of the tasks that have a running container.</summary>
    public async Task<ImmutableArray<TaskUsage>> ReadAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct)
    {
        var first = await ReadNowAsync(taskIds, ct);
        var answers = new List<TaskUsage>();
        var again = new List<string>();
        lock (_lock)
        {
            foreach (var (id, now) in first)
            {
                if (_last.TryGetValue(id, out var before) && time.GetElapsedTime(before.At, now.At) is var window
                    && window >= ShortestWindow && window <= LongestWindow)
                {
                    answers.Add(Usage(id, before, now));
                }
                else
                {
                    again.Add(id);
                }

                Keep(id, now);
            }

            foreach (var stale in _last.Where(kv => time.GetElapsedTime(kv.Value.At) > LongestWindow).Select(kv => kv.Key).ToList())
            {
                _last.Remove(stale);
            }
        }

        if (again.Count > 0)
        {
            await Task.Delay(SecondReadingAfter, time, ct);
            var second = await ReadNowAsync(again, ct);
            lock (_lock)
            {
                foreach (var (id, now) in second)
                {
                    answers.Add(Usage(id, first[id], now));
                    Keep(id, now);
                }
            }
        }

        return [.. answers.OrderBy(u => u.TaskId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// docker's CPU %: CPU time used over wall time, 100 per busy core. A counter that went back (it
    /// cannot, for one container) or a window of nothing reads 0.
    /// </summary>
    public static double CpuPercent(long fromNanoseconds, long toNanoseconds, TimeSpan window) =>
        window <= TimeSpan.Zero || toNanoseconds <= fromNanoseconds
            ? 0
            : (toNanoseconds - fromNanoseconds) / (window.Ticks * 100.0) * 100.0;

    private async Task<Dictionary<string, Reading>> ReadNowAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct)
    {
        var samples = await executor.SampleUsageAsync(taskIds, ct);
        var at = time.GetTimestamp();
        return samples.ToDictionary(kv => kv.Key, kv => new Reading(kv.Value, at), StringComparer.Ordinal);
    }

    // A reading replaces the kept one only once that one is old enough to measure against, so
    // questions a few milliseconds apart do not shrink every window below the shortest.
    private void Keep(string id, Reading now)
    {
        if (!_last.TryGetValue(id, out var before) || time.GetElapsedTime(before.At, now.At) >= ShortestWindow)
        {
            _last[id] = now;
        }
    }

    private TaskUsage Usage(string id, Reading from, Reading to) => new(
        id,
        CpuPercent(from.Sample.CpuNanoseconds, to.Sample.CpuNanoseconds, time.GetElapsedTime(from.At, to.At)),
        to.Sample.MemoryBytes,
        to.Sample.MemoryLimitBytes,
        to.Sample.Pids,
        to.Sample.PidsLimit);
}
