using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

public class JobReconcileTests
{
    private static ServiceSpec Job(long maxConcurrent, long total) =>
        Spec(ServiceMode.ReplicatedJobMode(maxConcurrent, total), restart: new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero));

    private static TaskObject JobTask(string id, long slot, TaskState observed, ServiceSpec spec, ulong iteration = 1, int? exit = null, string node = "a") =>
        Task(id, slot, node, observed, TaskState.Complete, spec, created: 1, statusAt: 2, exit: exit, iteration: iteration);

    [Fact]
    public void A_Replicated_Job_Starts_At_Most_Max_Concurrent_Tasks_Wanted_Complete()
    {
        var spec = Job(2, 5);

        var outcome = Run(Service(spec, jobIteration: 1), [], NodeList("a"), At(1));

        Assert.Equal("1:complete 2:complete", outcome.Creations());
        Assert.All(outcome.Created(), t => Assert.Equal(1UL, t.JobIteration));
    }

    [Fact]
    public void A_Completed_Slot_Is_Done_And_Frees_Its_Place_For_The_Next()
    {
        var spec = Job(2, 5);
        var tasks = new[] { JobTask("j1", 1, TaskState.Complete, spec, exit: 0), JobTask("j2", 2, TaskState.Running, spec) };

        var outcome = Run(Service(spec, jobIteration: 1), tasks, NodeList("a"), At(5));

        // A completed job task keeps desired Complete: its work is done, it was not stopped.
        Assert.Empty(outcome.Updated());
        Assert.Equal("3:complete", outcome.Creations());
    }

    [Fact]
    public void A_Failed_Job_Task_Restarts_And_A_Complete_One_Never_Does()
    {
        var spec = Job(3, 3);
        var tasks = new[]
        {
            JobTask("j1", 1, TaskState.Complete, spec, exit: 0),
            JobTask("j2", 2, TaskState.Failed, spec, exit: 2),
            JobTask("j3", 3, TaskState.Running, spec),
        };

        var outcome = Run(Service(spec, jobIteration: 1), tasks, NodeList("a"), At(5));

        Assert.Equal("j2:shutdown", outcome.DesiredChanges());
        Assert.Equal("2:complete", outcome.Creations());
    }

    [Fact]
    public void A_Job_With_Every_Completion_Is_Done()
    {
        var spec = Job(2, 2);
        var tasks = new[] { JobTask("j1", 1, TaskState.Complete, spec), JobTask("j2", 2, TaskState.Complete, spec) };

        var outcome = Run(Service(spec, jobIteration: 1), tasks, NodeList("a"), At(5));

        Assert.Empty(outcome.Changes);
        Assert.Equal(new ServiceReplicas(0, 2, 2), Actors.Orchestration.Reconcile.ServiceReconciler.Replicas(Service(spec, jobIteration: 1), tasks, NodeList("a")));
    }

    [Fact]
    public void A_New_Run_Removes_The_Unfinished_Tasks_Of_The_Last_And_Starts_Again()
    {
        var spec = Job(1, 2);
        var tasks = new[]
        {
            JobTask("old1", 1, TaskState.Complete, spec, iteration: 1),
            JobTask("old2", 2, TaskState.Running, spec, iteration: 1),
        };

        var outcome = Run(Service(spec, jobIteration: 2), tasks, NodeList("a"), At(5));

        Assert.Equal("old2:remove", outcome.DesiredChanges());
        Assert.Equal("1:complete", outcome.Creations());
        Assert.Equal(2UL, outcome.Created().Single().JobIteration);
    }

    [Fact]
    public void A_Global_Job_Runs_Once_Per_Eligible_Node_And_On_Nodes_That_Join_Later()
    {
        var spec = Spec(ServiceMode.GlobalJobMode, restart: new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero));
        var tasks = new[] { JobTask("g1", 0, TaskState.Complete, spec, node: "a"), JobTask("g2", 0, TaskState.Running, spec, node: "b") };

        var outcome = Run(Service(spec, jobIteration: 1), tasks, [Node("a"), Node("b"), Node("c"), Node("d", availability: NodeAvailability.Drain)], At(5));

        Assert.Equal("c:complete", outcome.Creations());
        Assert.Empty(outcome.Updated());
    }

    [Fact]
    public void A_Job_Runs_Again_By_Its_Iteration_Only_Never_Because_Its_Tasks_Spec_Differs()
    {
        // A job's completed and given-up slots are judged within the run: the rule that puts back a
        // replicated slot after a spec change leaves them alone (a job runs again when its iteration moves on).
        var spec = Job(2, 2) with { TaskTemplate = Job(2, 2).TaskTemplate with { Restart = new RestartPolicy(RestartCondition.OnFailure, TimeSpan.Zero, 1, TimeSpan.Zero) } };
        var changed = spec with { TaskTemplate = spec.TaskTemplate with { Container = new ContainerSpec("app:2") } };
        var tasks = new[]
        {
            JobTask("j1", 1, TaskState.Complete, spec, exit: 0),
            Task("f1", 2, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 1, statusAt: 2, iteration: 1),
            Task("f2", 2, "a", TaskState.Failed, TaskState.Shutdown, spec, created: 3, statusAt: 4, iteration: 1),
        };

        var outcome = Run(Service(changed, specVersion: 2, jobIteration: 1), tasks, NodeList("a"), At(5));

        Assert.Empty(outcome.Changes);
    }
}
