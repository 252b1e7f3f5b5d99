using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Scheduling;

public readonly record struct Assignment(string TaskId, string NodeId);

/// <summary>Why one node took no (more) tasks of a batch: the first filter that refused it.</summary>
public sealed record NodeRefusal(string NodeId, string Filter, string Reason);

/// <summary>
/// The outcome of placing one group of identical tasks. When some could not be placed,
/// Explanation is docker's "no suitable node (...)" with a count per filter, most refusals first,
/// and Refusals says per node why.
/// </summary>
public sealed record PlacementResult(
    ImmutableArray<Assignment> Assignments,
    ImmutableArray<string> Unplaced,
    string? Explanation,
    ImmutableArray<NodeRefusal> Refusals);

/// <summary>
/// The scheduler's pure core. A group of identical tasks (one service, one spec) is placed in one
/// pass: nodes are filtered once, then each task goes to the best node by a heap keyed on
/// (recent failures of this service when at least <see cref="RecentFailures.Threshold"/>, tasks of
/// this service, tasks in all, node id), and only the node that took it is checked again.
/// Placement preferences split the nodes into a tree by label value, level by level, and each
/// task goes down the branch with the fewest tasks of the service, so each level stays even
/// (docker's spread). No I/O, no clock: the <see cref="NodeInfo"/> views are the only state, and
/// they keep the counts for the next batch; recent failures come in as counts worked out by the
/// caller at its time.
/// </summary>
public static class Scheduler
{
    /// <summary>
    /// Places the tasks of one group. <paramref name="recentFailures"/> counts, per node, the
    /// group's service's recent failures there (<see cref="RecentFailures.CountsFor"/>): a node at
    /// or over the threshold ranks after the others below its branch of the preference tree.
    /// </summary>
    public static PlacementResult PlaceBatch(TaskDemand demand, IReadOnlyList<string> taskIds, IReadOnlyList<NodeInfo> nodes,
        IReadOnlyDictionary<string, int>? recentFailures = null)
    {
        var refusals = new Dictionary<NodeInfo, (int Filter, string Reason)>();
        var root = BuildTree(demand, nodes);
        var assignments = ImmutableArray.CreateBuilder<Assignment>(taskIds.Count);
        var penalties = new Penalties(recentFailures);
        foreach (var taskId in taskIds)
        {
            var node = root.Take(demand, penalties, refusals);
            if (node is null)
            {
                break;
            }

            assignments.Add(new Assignment(taskId, node.Id));
        }

        if (assignments.Count == taskIds.Count)
        {
            return new PlacementResult(assignments.MoveToImmutable(), [], null, []);
        }

        var unplaced = taskIds.Skip(assignments.Count).ToImmutableArray();
        var ordered = refusals.OrderBy(r => r.Key.Id, StringComparer.Ordinal).ToList();
        return new PlacementResult(
            assignments.ToImmutable(),
            unplaced,
            Explain(ordered.Select(r => r.Value.Filter), nodes.Count),
            [.. ordered.Select(r => new NodeRefusal(r.Key.Id, SchedulingFilters.All[r.Value.Filter].Name, r.Value.Reason))]);
    }

    /// <summary>
    /// Places pending tasks: groups them by service and spec version (identical tasks), places
    /// each group in one batch over views of <paramref name="nodes"/> built from
    /// <paramref name="tasks"/>, groups in service id order. A task that already names its node (a
    /// global service's) is only checked against that node, as in swarmkit. Nodes where a group's
    /// service and spec version failed recently (<paramref name="failures"/>, counted at
    /// <paramref name="now"/>) rank last for it. Returns the assignments and, per task left
    /// pending, the explanation to store in its status.
    /// </summary>
    public static (ImmutableArray<Assignment> Assignments, ImmutableDictionary<string, string> Pending) Schedule(
        IEnumerable<TaskObject> pending, IEnumerable<NodeObject> nodes, IEnumerable<TaskObject> tasks,
        RecentFailures? failures = null, DateTimeOffset now = default)
    {
        var views = NodeInfo.CreateAll(nodes, tasks);
        var assignments = ImmutableArray.CreateBuilder<Assignment>();
        var left = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var byId = views.ToDictionary(v => v.Id, StringComparer.Ordinal);
        var unassigned = new List<TaskObject>();
        foreach (var task in pending)
        {
            if (task.NodeId.Length == 0)
            {
                unassigned.Add(task);
                continue;
            }

            var demand = TaskDemand.From(task);
            if (!byId.TryGetValue(task.NodeId, out var view))
            {
                left[task.Id] = $"no suitable node (node {task.NodeId} is not in the swarm)";
            }
            else if (SchedulingFilters.FirstRefusal(demand, view, out _) is var filter and >= 0)
            {
                left[task.Id] = Explain([filter], 1);
            }
            else
            {
                view.Add(demand);
                assignments.Add(new Assignment(task.Id, view.Id));
            }
        }

        var groups = unassigned
            .GroupBy(t => (t.ServiceId, t.SpecVersion))
            .OrderBy(g => g.Key.ServiceId, StringComparer.Ordinal)
            .ThenBy(g => g.Key.SpecVersion);
        foreach (var group in groups)
        {
            var ids = group.OrderBy(t => t.Slot).ThenBy(t => t.Id, StringComparer.Ordinal).Select(t => t.Id).ToList();
            var recent = failures?.CountsFor(group.Key.ServiceId, group.Key.SpecVersion, now);
            var result = PlaceBatch(TaskDemand.From(group.First()), ids, views, recent);
            assignments.AddRange(result.Assignments);
            foreach (var id in result.Unplaced)
            {
                left[id] = result.Explanation!;
            }
        }

        return (assignments.ToImmutable(), left.ToImmutable());
    }

    /// <summary>"no suitable node (insufficient resources on 2 nodes; 1 node not available for new tasks)".</summary>
    public static string Explain(IEnumerable<int> refusingFilters, int nodeCount)
    {
        if (nodeCount == 0)
        {
            return "no suitable node (the swarm has no nodes)";
        }

        var parts = refusingFilters
            .GroupBy(f => f)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key)
            .Select(g => SchedulingFilters.All[g.Key].Summarize(g.Count()));
        return $"no suitable node ({string.Join("; ", parts)})";
    }

    private static Branch BuildTree(TaskDemand demand, IReadOnlyList<NodeInfo> nodes)
    {
        var root = new Branch("");
        foreach (var node in nodes)
        {
            var branch = root;
            foreach (var preference in demand.Preferences)
            {
                branch.Tasks += node.TasksOf(demand.ServiceId);
                branch = branch.Child(SpreadValue(preference, node.Node));
            }

            branch.Tasks += node.TasksOf(demand.ServiceId);
            branch.Nodes.Add(node);
        }

        return root;
    }

    /// <summary>The node's rank for one more task of the demand's service.</summary>
    private static Rank RankOf(TaskDemand demand, NodeInfo node, int failurePenalty) =>
        new(failurePenalty, node.TasksOf(demand.ServiceId), node.TaskCount, node.Id);

    /// <summary>
    /// The node's value for a spread preference over node.labels.X or engine.labels.X; a node without the label is
    /// grouped with the others without it, as in docker.
    /// </summary>
    internal static string SpreadValue(PlacementPreference preference, NodeObject node) =>
        Constraint.LabelValue(preference.SpreadDescriptor, node) ?? "";

    /// <summary>The rank penalty of each node for the group's service (<see cref="RecentFailures.Penalty"/>).</summary>
    private readonly struct Penalties(IReadOnlyDictionary<string, int>? recentFailures)
    {
        public int Of(NodeInfo node) =>
            recentFailures is not null && recentFailures.TryGetValue(node.Id, out var count) ? RecentFailures.Penalty(count) : 0;
    }

    /// <summary>
    /// How a node ranks for a task, the lesser first: a node the service recently kept failing on
    /// last (the more failures, the later); then the fewer tasks of the service; then fewer tasks in
    /// all; then the node id.
    /// </summary>
    private readonly record struct Rank(int FailurePenalty, int ServiceTasks, int Tasks, string NodeId) : IComparable<Rank>
    {
        public int CompareTo(Rank other)
        {
            var byFailures = FailurePenalty.CompareTo(other.FailurePenalty);
            if (byFailures != 0)
            {
                return byFailures;
            }

            var byService = ServiceTasks.CompareTo(other.ServiceTasks);
            if (byService != 0)
            {
                return byService;
            }

            var byTasks = Tasks.CompareTo(other.Tasks);
            return byTasks != 0 ? byTasks : string.CompareOrdinal(NodeId, other.NodeId);
        }
    }

    /// <summary>
    /// One level of the preference tree: children by label value, or, at the bottom, nodes. The
    /// heaps are built on first use and kept for the whole batch.
    /// </summary>
    private sealed class Branch(string value)
    {
        private readonly SortedDictionary<string, Branch> _children = new(StringComparer.Ordinal);
        private PriorityQueue<Branch, (int Tasks, string Value)>? _branches;
        private PriorityQueue<NodeInfo, Rank>? _nodes;

        public string Value { get; } = value;

        public int Tasks { get; set; }

        public List<NodeInfo> Nodes { get; } = [];

        public Branch Child(string childValue)
        {
            if (!_children.TryGetValue(childValue, out var child))
            {
                child = new Branch(childValue);
                _children.Add(childValue, child);
            }

            return child;
        }

        /// <summary>Places one task below this branch; null when no node below can take it (then never again in this batch).</summary>
        public NodeInfo? Take(TaskDemand demand, Penalties penalties, Dictionary<NodeInfo, (int, string)> refusals)
        {
            var node = _children.Count > 0 ? TakeFromBranches(demand, penalties, refusals) : TakeFromNodes(demand, penalties, refusals);
            if (node is not null)
            {
                Tasks++;
            }

            return node;
        }

        private NodeInfo? TakeFromBranches(TaskDemand demand, Penalties penalties, Dictionary<NodeInfo, (int, string)> refusals)
        {
            _branches ??= new PriorityQueue<Branch, (int, string)>(
                _children.Values.Select(c => (c, (c.Tasks, c.Value))),
                Comparer<(int Tasks, string Value)>.Create((a, b) => a.Tasks != b.Tasks ? a.Tasks.CompareTo(b.Tasks) : string.CompareOrdinal(a.Value, b.Value)));
            while (_branches.TryDequeue(out var branch, out _))
            {
                var node = branch.Take(demand, penalties, refusals);
                if (node is not null)
                {
                    _branches.Enqueue(branch, (branch.Tasks, branch.Value));
                    return node;
                }
            }

            return null;
        }

        private NodeInfo? TakeFromNodes(TaskDemand demand, Penalties penalties, Dictionary<NodeInfo, (int, string)> refusals)
        {
            if (_nodes is null)
            {
                _nodes = new PriorityQueue<NodeInfo, Rank>(Nodes.Count);
                foreach (var candidate in Nodes)
                {
                    Offer(demand, candidate, penalties, refusals);
                }
            }

            if (!_nodes.TryDequeue(out var node, out _))
            {
                return null;
            }

            node.Add(demand);
            Offer(demand, node, penalties, refusals);
            return node;
        }

        private void Offer(TaskDemand demand, NodeInfo node, Penalties penalties, Dictionary<NodeInfo, (int, string)> refusals)
        {
            var filter = SchedulingFilters.FirstRefusal(demand, node, out var reason);
            if (filter < 0)
            {
                _nodes!.Enqueue(node, Scheduler.RankOf(demand, node, penalties.Of(node)));
            }
            else
            {
                refusals[node] = (filter, reason!);
            }
        }
    }
}

/// <summary>
/// The naive scheduler the batch one is measured and checked against: every task on its own, every
/// node filtered again for it, the best node by the same ranking. Without placement preferences it
/// places exactly as <see cref="Scheduler.PlaceBatch"/> does.
/// </summary>
public static class OneTaskAtATime
{
    public static ImmutableArray<Assignment> Place(TaskDemand demand, IReadOnlyList<string> taskIds, IReadOnlyList<NodeInfo> nodes,
        IReadOnlyDictionary<string, int>? recentFailures = null)
    {
        int PenaltyOf(NodeInfo node) => RecentFailures.Penalty(recentFailures?.GetValueOrDefault(node.Id) ?? 0);

        var assignments = ImmutableArray.CreateBuilder<Assignment>(taskIds.Count);
        foreach (var taskId in taskIds)
        {
            NodeInfo? best = null;
            foreach (var node in nodes)
            {
                if (SchedulingFilters.FirstRefusal(demand, node, out _) >= 0)
                {
                    continue;
                }

                if (best is null || Better(demand, node, PenaltyOf(node), best, PenaltyOf(best)))
                {
                    best = node;
                }
            }

            if (best is null)
            {
                break;
            }

            best.Add(demand);
            assignments.Add(new Assignment(taskId, best.Id));
        }

        return assignments.ToImmutable();
    }

    private static bool Better(TaskDemand demand, NodeInfo a, int penaltyA, NodeInfo b, int penaltyB)
    {
        if (penaltyA != penaltyB)
        {
            return penaltyA < penaltyB;
        }

        var byService = a.TasksOf(demand.ServiceId).CompareTo(b.TasksOf(demand.ServiceId));
        if (byService != 0)
        {
            return byService < 0;
        }

        var byTasks = a.TaskCount.CompareTo(b.TaskCount);
        return byTasks != 0 ? byTasks < 0 : string.CompareOrdinal(a.Id, b.Id) < 0;
    }
}
