using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Scheduling;

/// <summary>
/// The scheduler's memory of where a service's tasks recently failed, as swarmkit's scheduler
/// keeps it per node: a task that ends Failed or Rejected on a node counts against that node for
/// its service and spec version. A node with <see cref="Threshold"/> or more failures within
/// <see cref="Window"/> is ranked after every node with fewer (<see cref="Penalty"/>), so
/// replacements go where the service can run (an image present on one node only, say) instead of
/// failing on the same nodes forever; it is still used when nothing else fits. Keyed by spec
/// version as swarmkit does, so an update (a fixed image, say) starts from a clean slate.
/// Failures are counted on the manager's clock when the scheduler first sees them; the first
/// observation (a new leader's scheduler) takes the failures already in the store at the time the
/// node reported them, never later than now, so a new leader neither forgets recent ones nor
/// punishes old ones. Bounded: entries older than the window, and those of nodes and services no
/// longer in the store, are dropped at every observation.
/// </summary>
public sealed class RecentFailures
{
    /// <summary>How far back failures count (swarmkit's monitorFailures).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    /// <summary>Failures within <see cref="Window"/> from which a node ranks last for the service (swarmkit's maxFailures).</summary>
    public const int Threshold = 5;

    private readonly Dictionary<(string ServiceId, ulong SpecVersion), Dictionary<string, List<DateTimeOffset>>> _byService = [];

    /// <summary>The failed tasks seen at the last observation; null before the first.</summary>
    private HashSet<string>? _failedTasks;

    /// <summary>Failure times kept, over every node and service (what bounds memory).</summary>
    public int Count => _byService.Values.Sum(nodes => nodes.Values.Sum(times => times.Count));

    /// <summary>
    /// The rank penalty of a node with <paramref name="failures"/> recent failures: 0 below the
    /// threshold (such nodes are ranked as usual), else the count, so of two nodes at or over it the
    /// one with more failures goes last, as swarmkit's nodeLess.
    /// </summary>
    public static int Penalty(int failures) => failures >= Threshold ? failures : 0;

    /// <summary>A failure on which the scheduler may act: ended Failed or Rejected on a node it chose (not a global task's own node).</summary>
    public static bool IsPlacedFailure(TaskObject task) =>
        task.Status.State is TaskState.Failed or TaskState.Rejected && task.NodeId.Length > 0 && task.Slot != 0;

    /// <summary>Records one failure of the service's spec version on the node at <paramref name="at"/>.</summary>
    public void Record(string nodeId, string serviceId, ulong specVersion, DateTimeOffset at)
    {
        if (!_byService.TryGetValue((serviceId, specVersion), out var nodes))
        {
            nodes = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
            _byService.Add((serviceId, specVersion), nodes);
        }

        if (!nodes.TryGetValue(nodeId, out var times))
        {
            times = [];
            nodes.Add(nodeId, times);
        }

        // Kept in time order; failures mostly arrive in order, so this finds its place at the end.
        var index = times.Count;
        while (index > 0 && times[index - 1] > at)
        {
            index--;
        }

        times.Insert(index, at);
    }

    /// <summary>Failures of the service's spec version within the window before <paramref name="now"/>, per node that has any.</summary>
    public ImmutableDictionary<string, int> CountsFor(string serviceId, ulong specVersion, DateTimeOffset now)
    {
        if (!_byService.TryGetValue((serviceId, specVersion), out var nodes))
        {
            return ImmutableDictionary<string, int>.Empty;
        }

        var counts = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        foreach (var (nodeId, times) in nodes)
        {
            var recent = times.Count(t => Recent(t, now));
            if (recent > 0)
            {
                counts[nodeId] = recent;
            }
        }

        return counts.ToImmutable();
    }

    /// <summary>Failures of the service's spec version on the node within the window before <paramref name="now"/>.</summary>
    public int CountOn(string nodeId, string serviceId, ulong specVersion, DateTimeOffset now) =>
        _byService.TryGetValue((serviceId, specVersion), out var nodes) && nodes.TryGetValue(nodeId, out var times)
            ? times.Count(t => Recent(t, now))
            : 0;

    /// <summary>
    /// Takes in the failures of <paramref name="tasks"/> (the store's) not seen at the last
    /// observation, then prunes: see the class summary for the clock each one is counted at.
    /// Returns the nodes that reached the threshold for a service with these failures, for the log
    /// line that says why its tasks go elsewhere now.
    /// </summary>
    public List<(string NodeId, string ServiceId)> Observe(IEnumerable<TaskObject> tasks, IReadOnlySet<string> nodeIds, IReadOnlySet<string> serviceIds, DateTimeOffset now)
    {
        var reached = new List<(string, string)>();
        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in tasks.Where(IsPlacedFailure))
        {
            failed.Add(task.Id);
            if (_failedTasks is null)
            {
                var at = task.Status.Timestamp < now ? task.Status.Timestamp : now;
                if (!Recent(at, now))
                {
                    continue;
                }

                Record(task.NodeId, task.ServiceId, task.SpecVersion, at);
            }
            else if (!_failedTasks.Contains(task.Id))
            {
                Record(task.NodeId, task.ServiceId, task.SpecVersion, now);
            }
            else
            {
                continue;
            }

            if (CountOn(task.NodeId, task.ServiceId, task.SpecVersion, now) == Threshold)
            {
                reached.Add((task.NodeId, task.ServiceId));
            }
        }

        _failedTasks = failed;
        Prune(nodeIds, serviceIds, now);
        return reached;
    }

    /// <summary>Drops failures older than the window and those of nodes or services no longer in the store.</summary>
    public void Prune(IReadOnlySet<string> nodeIds, IReadOnlySet<string> serviceIds, DateTimeOffset now)
    {
        foreach (var (key, nodes) in _byService.ToList())
        {
            if (!serviceIds.Contains(key.ServiceId))
            {
                _byService.Remove(key);
                continue;
            }

            foreach (var (nodeId, times) in nodes.ToList())
            {
                times.RemoveAll(t => !Recent(t, now));
                if (times.Count == 0 || !nodeIds.Contains(nodeId))
                {
                    nodes.Remove(nodeId);
                }
            }

            if (nodes.Count == 0)
            {
                _byService.Remove(key);
            }
        }
    }

    /// <summary>Within the window: exactly <see cref="Window"/> old still counts, as in swarmkit's count.</summary>
    private static bool Recent(DateTimeOffset at, DateTimeOffset now) => now - at <= Window;
}
