using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class RestartPolicyTests
{
    private static ServiceSpec With(RestartCondition condition, double delay = 0, long maxAttempts = 0, double window = 0) =>
        Spec(ServiceMode.ReplicatedMode(1), restart: new RestartPolicy(condition, TimeSpan.FromSeconds(delay), maxAttempts, TimeSpan.FromSeconds(window)));

    [Theory]
    [InlineData(RestartCondition.Any, TaskState.Failed, null, true)]
    [InlineData(RestartCondition.Any, TaskState.Complete, 0, true)]
    [InlineData(RestartCondition.Any, TaskState.Rejected, null, true)]
    [InlineData(RestartCondition.OnFailure, TaskState.Failed, null, true)]
    [InlineData(RestartCondition.OnFailure, TaskState.Rejected, null, true)]
    [InlineData(RestartCondition.OnFailure, TaskState.Complete, 0, false)]
    [InlineData(RestartCondition.OnFailure, TaskState.Complete, 3, true)]
    [InlineData(RestartCondition.None, TaskState.Failed, null, false)]
    [InlineData(RestartCondition.None, TaskState.Complete, 0, false)]
    public void The_Condition_Decides_Whether_An_Ended_Task_Is_Replaced(RestartCondition condition, TaskState ended, int? exitCode, bool replaced)
    {
        var spec = With(condition);
        var tasks = new[] { Task("x1", 1, "a", ended, TaskState.Running, spec, created: 0, statusAt: 5, exit: exitCode) };

        var outcome = Run(Service(spec), tasks, NodeList("a"), At(10));

        // Replaced or not, the ended task is shut down, so history shows desired shutdown beside what happened.
        Assert.Equal("x1:shutdown", outcome.DesiredChanges());
        Assert.Equal(replaced ? "1:running" : "", outcome.Creations());
        Assert.Null(outcome.WakeAt);
    }

    [Fact]
    public void A_Slot_That_Stays_Done_Says_So_In_The_Log_Once()
    {
        var spec = With(RestartCondition.None);
        var tasks = new[] { Task("x1", 1, "a", TaskState.Complete, TaskState.Running, spec, statusAt: 5, exit: 0) };

        var first = Run(Service(spec), tasks, NodeList("a"), At(10));
        var later = Run(Service(spec), [first.Updated("x1")], NodeList("a"), At(20));

        Assert.Contains(first.Events, e => e.Contains("restart condition is none", StringComparison.Ordinal));
        Assert.Empty(later.Changes);
        Assert.Empty(later.Events);
    }

    /// <summary>
    /// As swarmkit's restart supervisor: the replacement is made at once, desired Ready, so `service ps` shows the
    /// pending restart beside the failed task, and starts once the delay has passed. (Until 2026-12-06 it was made
    /// only when the delay had passed, and for a long delay the slot showed the failed task alone.)
    /// </summary>
    [Fact]
    public void The_Replacement_Is_Made_At_Once_In_Ready_And_Starts_When_The_Restart_Delay_Has_Passed()
    {
        var spec = With(RestartCondition.Any, delay: 5);
        var store = new FakeStore(Service(spec), [Task("x1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 0, statusAt: 10)], NodeList("a"));

        var early = store.Step(At(12));
        var waiting = store.Step(At(14));
        var due = store.Step(At(15));

        Assert.Equal("x1:shutdown", early.DesiredChanges());
        Assert.Equal("1:ready", early.Creations());
        Assert.Equal(At(15), early.WakeAt);
        Assert.Empty(waiting.Changes);
        Assert.Equal(At(15), waiting.WakeAt);
        Assert.Equal($"{early.Created()[0].Id}:running", due.DesiredChanges());
        Assert.Empty(due.Created());
        Assert.Null(due.WakeAt);
    }

    [Fact]
    public void A_Replacement_Held_For_Its_Restart_Delay_Keeps_The_Failed_Task_It_Waits_On_From_History_Pruning()
    {
        var spec = With(RestartCondition.Any, delay: 30);
        var tasks = new[]
        {
            Task("x0", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 1),
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 2, statusAt: 10),
            Task("x2", 1, "", TaskState.Pending, TaskState.Ready, spec, created: 10),
        };

        var outcome = Run(Service(spec), tasks, NodeList("a"), At(12), history: 1);

        Assert.Equal(["x0"], outcome.Deleted());
        Assert.Empty(outcome.DesiredChanges());
        Assert.Equal(At(40), outcome.WakeAt);
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(2, false)]
    public void Max_Attempts_Counts_The_Restarts_Already_Made_In_The_Slot(long maxAttempts, bool replaced)
    {
        var spec = With(RestartCondition.Any, maxAttempts: maxAttempts);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 1),
            Task("x2", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 1, statusAt: 2),
            Task("x3", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 2, statusAt: 3),
            Task("other", 2, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 1),
        };

        var outcome = Run(Service(spec with { Mode = ServiceMode.ReplicatedMode(2) }), tasks, NodeList("a"), At(10));

        // Slot 2 has used no attempt and restarts either way: attempts count per slot.
        Assert.Equal(replaced ? "1:running 2:running" : "2:running", outcome.Creations());
        if (!replaced)
        {
            Assert.Contains(outcome.Events, e => e.Contains("x3", StringComparison.Ordinal) && e.Contains("restart attempts are used up", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Attempts_Older_Than_The_Window_No_Longer_Count_And_The_Step_Wakes_When_One_Ages_Out()
    {
        var spec = With(RestartCondition.Any, maxAttempts: 2, window: 30);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 1),
            Task("x2", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 1, statusAt: 10),
            Task("x3", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 10, statusAt: 20),
        };

        var within = Run(Service(spec), tasks, NodeList("a"), At(25));
        var after = Run(Service(spec), [tasks[0], tasks[1], within.Updated("x3")], NodeList("a"), At(31));

        Assert.Empty(within.Created());
        Assert.Equal(At(31), within.WakeAt);
        Assert.Equal("1:running", after.Creations());
    }

    [Fact]
    public void An_Exhausted_Slot_Is_Due_When_Its_Oldest_Restart_Leaves_The_Window_Not_When_Its_Task_Ended()
    {
        var spec = With(RestartCondition.Any, maxAttempts: 1, window: 10);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 1),
            Task("x2", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 3, statusAt: 5),
        };

        var decision = RestartRules.Decide(tasks, isJob: false, At(6));

        // The restart was x2, made at 3: it counts until 13, though x1 ended at 1.
        Assert.Equal(SlotState.Exhausted, decision.State);
        Assert.Equal(At(13), decision.At);
        Assert.Equal(SlotState.Exhausted, RestartRules.Decide(tasks, isJob: false, At(12)).State);
        Assert.Equal(SlotState.ReplaceNow, RestartRules.Decide(tasks, isJob: false, At(13)).State);
    }

    /// <summary>
    /// The explorer's repro on a fake clock: max attempts 1, window 10 s, delay 1 s, each task failing
    /// 1.5 s after it is made. Every restart (every task made after the first) must be at least the
    /// window after the one before: counted by when a task ended, the restart made as the window
    /// freed escaped the next count, and restarts came in pairs ~2 s apart.
    /// </summary>
    [Fact]
    public void A_Window_Never_Holds_More_Restarts_Than_Max_Attempts_Over_A_Run_Of_Failures()
    {
        var spec = With(RestartCondition.Any, delay: 1, maxAttempts: 1, window: 10);
        var store = new FakeStore(Service(spec), [], NodeList("a"));
        var made = new List<double>();
        var ends = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var tick = 0; tick <= 240; tick++)
        {
            var now = tick * 0.25;
            foreach (var (id, end) in ends.Where(e => e.Value <= now).ToList())
            {
                store.Report(id, TaskState.Failed, At(end), exitCode: 4);
                ends.Remove(id);
            }

            var outcome = store.Step(At(now));
            made.AddRange(outcome.Created().Select(_ => now));
            foreach (var task in outcome.Created().Concat(outcome.Updated()).Where(t => t.DesiredState == TaskState.Running && t.Status.State < TaskState.Running))
            {
                // The node starts a task once it is desired Running (a restart is made Ready and started after the delay).
                store.Assign(task.Id, "a", At(now));
                store.Report(task.Id, TaskState.Running, At(now));
                ends[task.Id] = now + 1.5;
            }
        }

        var restarts = made.Skip(1).ToList();
        Assert.True(restarts.Count >= 4, $"restarts at {string.Join(", ", restarts)}");
        Assert.All(restarts.Zip(restarts.Skip(1)), pair => Assert.True(pair.Second - pair.First >= 10, $"restarts at {string.Join(", ", restarts)}"));
    }

    [Fact]
    public void A_Restart_Uses_The_Current_Spec()
    {
        var old = With(RestartCondition.Any) with { TaskTemplate = new TaskSpec(new ContainerSpec("app:1"), Restart: NoDelay) };
        var now = With(RestartCondition.Any) with { TaskTemplate = new TaskSpec(new ContainerSpec("app:2"), Restart: NoDelay) };
        var paused = new UpdateStatus(UpdateState.Paused, At(0), null, "update paused");
        var tasks = new[] { Task("x1", 1, "a", TaskState.Failed, TaskState.Running, old, statusAt: 5) };

        var outcome = Run(Service(now, status: paused, previous: old), tasks, NodeList("a"), At(10));

        Assert.Equal("app:2", outcome.Created().Single().Spec.Container.Image);
    }

    /// <summary>The repro's slot: on-failure with one attempt, both tasks failed (x1 then its restart x2), so the slot gave up.</summary>
    private static TaskObject[] GaveUp(ServiceSpec spec) =>
    [
        Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 2),
        Task("x2", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 3, statusAt: 5),
    ];

    private static ServiceObject UpdatedTo(ServiceSpec spec, ServiceSpec previous) =>
        Service(spec, specVersion: 2, status: new UpdateStatus(UpdateState.Updating, At(10), null, "update in progress"), previous: previous);

    public static TheoryData<string, RestartCondition, TaskState, int?> DeadSlots => new()
    {
        { "attempts used up", RestartCondition.OnFailure, TaskState.Failed, null },
        { "on-failure after a clean exit", RestartCondition.OnFailure, TaskState.Complete, 0 },
        { "condition none", RestartCondition.None, TaskState.Complete, 0 },
        { "condition none after a failure", RestartCondition.None, TaskState.Failed, null },
    };

    [Theory]
    [MemberData(nameof(DeadSlots))]
    public void A_Slot_That_Gave_Up_Stays_Dead_Without_A_Spec_Change(string why, RestartCondition condition, TaskState ended, int? exit)
    {
        var spec = With(condition, delay: 1, maxAttempts: 1);
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 2),
            Task("x2", 1, "a", ended, TaskState.Shutdown, spec, created: 3, statusAt: 5, exit: exit),
        };

        // A later look, a scale that changes nothing of the tasks (the spec's version moved on, its task template did not):
        var outcome = Run(Service(spec, specVersion: 3), tasks, NodeList("a"), At(60));

        Assert.True(outcome.Changes.IsEmpty, why);
    }

    [Theory]
    [MemberData(nameof(DeadSlots))]
    public void A_Slot_That_Gave_Up_Runs_Again_Once_The_Spec_Changed(string why, RestartCondition condition, TaskState ended, int? exit)
    {
        var spec = With(condition, delay: 1, maxAttempts: 1);
        var fixedSpec = spec with { TaskTemplate = spec.TaskTemplate with { Container = new ContainerSpec("app:fixed") } };
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 2),
            Task("x2", 1, "a", ended, TaskState.Shutdown, spec, created: 3, statusAt: 5, exit: exit),
        };

        var outcome = Run(UpdatedTo(fixedSpec, spec), tasks, NodeList("a"), At(10));

        // At once (no restart delay: it guarded the old spec), of the new spec, and the update waits for it to run.
        Assert.True(outcome.Creations() == "1:running", why);
        Assert.Equal("app:fixed", outcome.Created().Single().Spec.Container.Image);
        Assert.Null(outcome.ServiceWritten());
    }

    [Fact]
    public void Force_Runs_A_Dead_Slot_Again_Though_Nothing_Else_Changed()
    {
        var spec = With(RestartCondition.None);
        var forced = spec with { TaskTemplate = spec.TaskTemplate with { ForceUpdate = 1 } };
        var tasks = new[] { Task("x1", 1, "a", TaskState.Complete, TaskState.Shutdown, spec, created: 0, statusAt: 2, exit: 0) };

        var outcome = Run(UpdatedTo(forced, spec), tasks, NodeList("a"), At(10));

        Assert.Equal("1:running", outcome.Creations());
    }

    [Fact]
    public void A_New_Spec_Gets_Its_Full_Attempts_And_Uses_Them_Up_Again()
    {
        var spec = With(RestartCondition.OnFailure, maxAttempts: 1);
        var forced = spec with { TaskTemplate = spec.TaskTemplate with { ForceUpdate = 1 } };
        var store = new FakeStore(UpdatedTo(forced, spec), GaveUp(spec), NodeList("a"));

        // The forced run fails: it is the new spec's first failure, so it is restarted (one attempt)...
        var first = store.Step(At(10)).Created().Single();
        store.Assign(first.Id, "a", At(10));
        store.Report(first.Id, TaskState.Failed, At(11));
        var restart = store.Step(At(12)).Created().Single();
        store.Assign(restart.Id, "a", At(12));
        store.Report(restart.Id, TaskState.Failed, At(13));

        // ...and once the restart fails too, the slot gives up again: the older spec's failures did not count, nor do they now.
        var after = store.Step(At(14));
        Assert.Empty(after.Created());
        Assert.Contains(after.Events, e => e.Contains("restart attempts are used up", StringComparison.Ordinal));
        Assert.Empty(store.Step(At(100)).Created());
    }

    [Fact]
    public void A_Spec_Rolled_Back_To_Does_Not_Find_Its_Attempts_From_Before_It_Was_Left()
    {
        var v1 = With(RestartCondition.Any, maxAttempts: 1);
        var v2 = v1 with { TaskTemplate = v1.TaskTemplate with { Container = new ContainerSpec("app:2") } };
        var tasks = new[]
        {
            Task("x1", 1, "a", TaskState.Failed, TaskState.Shutdown, v1, created: 0, statusAt: 1),
            Task("x2", 1, "a", TaskState.Shutdown, TaskState.Shutdown, v1, created: 1, statusAt: 5),
            Task("y1", 1, "a", TaskState.Failed, TaskState.Shutdown, v2, created: 5, statusAt: 6),
            Task("z1", 1, "a", TaskState.Failed, TaskState.Running, v1, created: 7, statusAt: 8),
        };

        var outcome = Run(Service(v1, specVersion: 3, previous: v2), tasks, NodeList("a"), At(10));

        // x1 failed before v2 came: the run of v1 since y1 is z1 alone, so z1 still has its attempt.
        Assert.Equal("1:running", outcome.Creations());
    }

    [Fact]
    public void A_Global_Node_That_Gave_Up_Runs_Again_Once_The_Spec_Changed_And_Not_Before()
    {
        var spec = Spec(ServiceMode.GlobalMode, restart: new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero, 1, TimeSpan.Zero));
        var fixedSpec = spec with { TaskTemplate = spec.TaskTemplate with { Container = new ContainerSpec("app:fixed") } };
        var tasks = new[]
        {
            Task("g1", 0, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 0, statusAt: 2),
            Task("g2", 0, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 3, statusAt: 5),
        };

        var unchanged = Run(Service(spec, specVersion: 2), tasks, NodeList("a"), At(10));
        var changed = Run(UpdatedTo(fixedSpec, spec), tasks, NodeList("a"), At(10));

        Assert.Empty(unchanged.Changes);
        Assert.Equal("a:running", changed.Creations());
    }
}
