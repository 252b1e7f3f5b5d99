using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Agent;

/// <summary>Tasks as a node receives them, in the shapes the agent's tests need.</summary>
internal static class TestTasks
{
    public static readonly HealthCheck Check = new(["CMD", "true"], TimeSpan.FromSeconds(1));

    /// <summary>A task assigned to node n1, wanted running unless told, its container's env as given ("FAKE_RUN_MS=100").</summary>
    public static TaskObject Task(string id = "t1", TaskState state = TaskState.Assigned, TaskState desired = TaskState.Running,
        HealthCheck? health = null, TimeSpan? stopGrace = null, params string[] env) =>
        new(id, ObjectMeta.New(TestNodes.T0), "svc", 1, "n1",
            new TaskSpec(new ContainerSpec("busybox:1", Env: [.. env], HealthCheck: health, StopGracePeriod: stopGrace)),
            1, desired, new TaskObservedStatus(state, TestNodes.T0));

    public static TaskAssignments Assign(params TaskObject[] tasks) => new("n1", "e1", 1, false, [.. tasks], []);

    public static TaskAssignments Full(params TaskObject[] tasks) => new("n1", "e1", 1, true, [.. tasks], []);

    public static TaskAssignments Remove(params string[] taskIds) => new("n1", "e1", 1, false, [], [.. taskIds]);
}
