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

    [Fact]
    public void The_Replacement_Waits_For_The_Restart_Delay_And_Asks_To_Be_Woken()
    {
        var spec = With(RestartCondition.Any, delay: 5);
        var failed = Task("x1", 1, "a", TaskState.Failed, TaskState.Running, spec, created: 0, statusAt: 10);

        var early = Run(Service(spec), [failed], NodeList("a"), At(12));
        var due = Run(Service(spec), [early.Updated("x1")], NodeList("a"), At(15));

        Assert.Equal("x1:shutdown", early.DesiredChanges());
        Assert.Empty(early.Created());
        Assert.Equal(At(15), early.WakeAt);
        Assert.Equal("1:running", due.Creations());
        Assert.Null(due.WakeAt);
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
    public void A_Restart_Uses_The_Current_Spec()
    {
        var old = With(RestartCondition.Any) with { TaskTemplate = new TaskSpec(new ContainerSpec("app:1"), Restart: NoDelay) };
        var now = With(RestartCondition.Any) with { TaskTemplate = new TaskSpec(new ContainerSpec("app:2"), Restart: NoDelay) };
        var paused = new UpdateStatus(UpdateState.Paused, At(0), null, "update paused");
        var tasks = new[] { Task("x1", 1, "a", TaskState.Failed, TaskState.Running, old, statusAt: 5) };

        var outcome = Run(Service(now, status: paused, previous: old), tasks, NodeList("a"), At(10));

        Assert.Equal("app:2", outcome.Created().Single().Spec.Container.Image);
    }
}
