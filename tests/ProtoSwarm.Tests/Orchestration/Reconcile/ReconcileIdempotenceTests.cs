using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>
/// The caller re-runs the step after its own write lands, so the step must be idempotent: its
/// changes applied, the step at the same time finds nothing to do. Checked over random services,
/// tasks in every combination of states, and nodes in every condition.
/// </summary>
public class ReconcileIdempotenceTests
{
    private static readonly TaskState[] Observed =
    [
        TaskState.New, TaskState.Pending, TaskState.Assigned, TaskState.Preparing, TaskState.Ready, TaskState.Running,
        TaskState.Running, TaskState.Running, TaskState.Complete, TaskState.Shutdown, TaskState.Failed, TaskState.Rejected, TaskState.Orphaned,
    ];

    private static readonly TaskState[] Desired =
        [TaskState.Ready, TaskState.Running, TaskState.Running, TaskState.Running, TaskState.Complete, TaskState.Shutdown, TaskState.Remove];

    [Fact]
    public void Applying_The_Outcome_And_Reconciling_Again_At_The_Same_Time_Changes_Nothing()
    {
        var changed = 0;
        for (var seed = 0; seed < 4000; seed++)
        {
            var random = new Random(seed);
            var store = RandomStore(random, out var now);

            var first = store.Step(now);
            var again = store.Reconcile(now);

            Assert.True(again.Changes.IsEmpty,
                $"seed {seed}: a second step changed {string.Join(", ", again.Changes.Select(c => $"{c.GetType().Name} {c.Id}"))}; " +
                $"first step: {string.Join(" | ", first.Events)}; second: {string.Join(" | ", again.Events)}");
            Assert.True(first.WakeAt is null || first.WakeAt > now, $"seed {seed}: wake-up {first.WakeAt} is not after now {now}");
            Assert.DoesNotContain(first.Events, e => e.Contains("did not settle", StringComparison.Ordinal));
            changed += first.Changes.IsEmpty ? 0 : 1;
        }

        // The inputs are random enough that most of them call for work, so the property is not vacuous.
        Assert.InRange(changed, 3000, 4000);
    }

    [Fact]
    public void A_Store_Left_Alone_Settles_And_Its_Wake_Ups_Lead_Nowhere_New()
    {
        // Following WakeAt with nothing else changing must converge too: each wake-up does what it
        // waited for and the step then settles again.
        for (var seed = 0; seed < 1000; seed++)
        {
            var random = new Random(seed);
            var store = RandomStore(random, out var now);
            for (var round = 0; round < 20; round++)
            {
                var outcome = store.Step(now);
                Assert.True(store.Reconcile(now).Changes.IsEmpty, $"seed {seed} round {round}");
                if (outcome.WakeAt is not { } next)
                {
                    break;
                }

                now = next;
            }
        }
    }

    private static FakeStore RandomStore(Random random, out DateTimeOffset now)
    {
        var nodes = Enumerable.Range(1, random.Next(0, 5))
            .Select(i => Node(
                $"n{i}",
                Pick(random, [NodeState.Ready, NodeState.Ready, NodeState.Down, NodeState.Unknown]),
                Pick(random, [NodeAvailability.Active, NodeAvailability.Active, NodeAvailability.Pause, NodeAvailability.Drain]),
                ("zone", Pick(random, ["a", "b"]))))
            .ToList();
        var mode = random.Next(4) switch
        {
            0 => ServiceMode.ReplicatedMode(random.Next(0, 5)),
            1 => ServiceMode.GlobalMode,
            2 => ServiceMode.ReplicatedJobMode(random.Next(1, 4), random.Next(1, 6)),
            _ => ServiceMode.GlobalJobMode,
        };
        var specs = Enumerable.Range(0, 2).Select(i => Spec(
            mode,
            image: $"app:{i}",
            restart: new RestartPolicy(
                Pick(random, [RestartCondition.Any, RestartCondition.OnFailure, RestartCondition.None]),
                TimeSpan.FromSeconds(Pick(random, [0, 5])),
                random.Next(0, 4),
                TimeSpan.FromSeconds(Pick(random, [0, 30]))),
            update: RandomUpdate(random),
            rollback: RandomUpdate(random),
            constraints: random.Next(3) == 0 ? ["node.labels.zone==a"] : null)).ToList();
        var current = random.Next(2);
        var service = random.Next(8) == 0
            ? null
            : Service(
                specs[current],
                status: random.Next(6) switch
                {
                    0 => new UpdateStatus(UpdateState.Updating, At(random.Next(0, 60)), null, ""),
                    1 => new UpdateStatus(UpdateState.RollbackStarted, At(random.Next(0, 60)), null, ""),
                    2 => new UpdateStatus(UpdateState.Paused, At(random.Next(0, 60)), null, ""),
                    3 => new UpdateStatus(UpdateState.Completed, At(0), At(1), ""),
                    _ => null,
                },
                previous: random.Next(3) == 0 ? null : specs[1 - current],
                jobIteration: (ulong)random.Next(0, 2));
        var nodeIds = nodes.Select(n => n.Id).Concat(["gone", ""]).ToArray();
        var tasks = Enumerable.Range(1, random.Next(0, 11)).Select(i =>
        {
            var created = random.Next(0, 60);
            var observed = Pick(random, Observed);
            var node = observed < TaskState.Assigned && random.Next(2) == 0 ? "" : Pick(random, nodeIds);
            return Task(
                $"x{i:D2}",
                mode.IsGlobal ? 0 : random.Next(0, 6),
                node,
                observed,
                Pick(random, Desired),
                specs[random.Next(2)],
                created,
                statusAt: created + random.Next(0, 30),
                startedAt: observed >= TaskState.Running && random.Next(2) == 0 ? created + 1 : null,
                exit: Pick<int?>(random, [null, 0, 1]),
                iteration: (ulong)random.Next(0, 2));
        });
        now = At(random.Next(0, 120));
        return new FakeStore(service, tasks, nodes) { HistoryLimit = random.Next(-1, 4) };
    }

    private static UpdateConfig RandomUpdate(Random random) => new(
        random.Next(0, 3),
        TimeSpan.FromSeconds(Pick(random, [0, 5])),
        Pick(random, [FailureAction.Pause, FailureAction.Continue, FailureAction.Rollback]),
        TimeSpan.FromSeconds(Pick(random, [0, 5])),
        Pick(random, [0, 0.5]),
        Pick(random, [UpdateOrder.StopFirst, UpdateOrder.StartFirst]));

    private static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];
}
