using System.Collections.Immutable;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;
using S = ProtoSwarm.Contracts.TaskState;

namespace ProtoSwarm.Tests.Agent;

public class TaskStepTests
{
    private static readonly DateTimeOffset Now = TestNodes.T0.AddMinutes(1);
    private static readonly DateTimeOffset StartedAt = TestNodes.T0.AddSeconds(30);

    private static readonly ControllerReport Nothing = ControllerReport.Nothing;
    private static readonly ControllerReport Prepared = new(Prepared: true);
    private static readonly ControllerReport Running = new(Prepared: true, StartedAt: StartedAt);
    private static readonly ControllerReport Healthy = Running with { Health = ContainerHealth.Healthy };
    private static readonly ControllerReport Unhealthy = Running with { Health = ContainerHealth.Unhealthy };
    private static readonly ControllerReport Exit0 = Running with { Exit = new ContainerExit(0) };
    private static readonly ControllerReport Exit3 = Running with { Exit = new ContainerExit(3) };
    private static readonly ControllerReport Stopped = Running with { Stopped = true, Exit = new ContainerExit(143) };

    private static ControllerReport Failed(ControllerReport report, Op operation) => report with { Failure = new ControllerFailure(operation, "boom") };

    /// <summary>The report once the task's networks were released: only then is an end reported.</summary>
    private static ControllerReport Released(ControllerReport report) => report with { Released = true };

    /// <summary>rule, desired, observed, has a health check, report -> the call asked, the new observed state (null: unchanged).</summary>
    public static TheoryData<string, S, S, bool, ControllerReport, Op, S?> Rows => new()
    {
        // the way up
        { "assigned is accepted", S.Running, S.Assigned, false, Nothing, Op.None, S.Accepted },
        { "pending (never sent to a node) is accepted too", S.Running, S.Pending, false, Nothing, Op.None, S.Accepted },
        { "accepted moves to preparing", S.Running, S.Accepted, false, Nothing, Op.None, S.Preparing },
        { "preparing prepares", S.Running, S.Preparing, false, Nothing, Op.Prepare, null },
        { "prepared is ready", S.Running, S.Preparing, false, Prepared, Op.None, S.Ready },
        { "ready starts the container", S.Running, S.Ready, false, Prepared, Op.Start, null },
        { "ready unprepared in this process prepares again", S.Running, S.Ready, false, Nothing, Op.Prepare, null },
        { "started is starting", S.Running, S.Ready, false, Running, Op.None, S.Starting },
        { "starting is running once started", S.Running, S.Starting, false, Running, Op.None, S.Running },
        { "running stays running", S.Running, S.Running, false, Running, Op.None, null },
        { "desired complete (a job) starts as running does", S.Complete, S.Ready, false, Prepared, Op.Start, null },
        { "desired complete (a job) runs until it exits", S.Complete, S.Running, false, Running, Op.None, null },

        // desired ready: a start-first update's new task waits prepared
        { "desired ready prepares", S.Ready, S.Preparing, false, Nothing, Op.Prepare, null },
        { "desired ready stops at ready", S.Ready, S.Ready, false, Prepared, Op.None, null },
        { "desired ready re-prepares after a restart", S.Ready, S.Ready, false, Nothing, Op.Prepare, null },

        // exits
        { "exit 0 completes", S.Running, S.Running, false, Released(Exit0), Op.None, S.Complete },
        { "a non-zero exit fails", S.Running, S.Running, false, Released(Exit3), Op.None, S.Failed },
        { "an exit before running ends the task from starting", S.Running, S.Starting, true, Released(Exit3), Op.None, S.Failed },
        { "an exit before starting ends the task from ready", S.Running, S.Ready, false, Released(Exit0), Op.None, S.Complete },

        // failed calls
        { "a prepare error rejects", S.Running, S.Preparing, false, Released(Failed(Nothing, Op.Prepare)), Op.None, S.Rejected },
        { "a prepare error on re-preparing rejects", S.Running, S.Ready, false, Released(Failed(Nothing, Op.Prepare)), Op.None, S.Rejected },
        { "a start error fails", S.Running, S.Ready, false, Released(Failed(Prepared, Op.Start)), Op.None, S.Failed },
        { "a lost wait first stops what may run", S.Running, S.Running, false, Failed(Running, Op.Wait), Op.Shutdown, null },
        { "a lost wait fails once stopped and released", S.Running, S.Running, false, Released(Failed(Running with { Stopped = true }, Op.Wait)), Op.None, S.Failed },

        // health gates running
        { "health starting keeps the task starting", S.Running, S.Starting, true, Running, Op.None, null },
        { "healthy is running", S.Running, S.Starting, true, Healthy, Op.None, S.Running },
        { "unhealthy while starting stops the container", S.Running, S.Starting, true, Unhealthy, Op.Shutdown, null },
        { "unhealthy while running stops the container", S.Running, S.Running, true, Unhealthy, Op.Shutdown, null },
        { "unhealthy fails once stopped and released", S.Running, S.Running, true, Released(Unhealthy with { Stopped = true }), Op.None, S.Failed },
        { "unhealthy fails as unhealthy though the stopped container exited", S.Running, S.Running, true, Released(Unhealthy with { Stopped = true, Exit = new ContainerExit(143) }), Op.None, S.Failed },
        { "without a health check health is not read", S.Running, S.Starting, false, Unhealthy, Op.None, S.Running },

        // desired shutdown or remove
        { "desired shutdown stops a running container", S.Shutdown, S.Running, false, Running, Op.Shutdown, null },
        { "desired remove stops a running container", S.Remove, S.Running, false, Running, Op.Shutdown, null },
        { "a stopped container is shutdown", S.Shutdown, S.Running, false, Released(Stopped), Op.None, S.Shutdown },
        { "a task never prepared is shutdown at once", S.Shutdown, S.Accepted, false, Nothing, Op.None, S.Shutdown },
        { "an assigned task removed is shutdown at once", S.Remove, S.Assigned, false, Nothing, Op.None, S.Shutdown },
        { "a task that may be half prepared is stopped", S.Shutdown, S.Preparing, false, Nothing, Op.Shutdown, null },
        { "a ready task is stopped", S.Shutdown, S.Ready, false, Prepared, Op.Shutdown, null },
        { "a prepare error under desired shutdown still stops", S.Shutdown, S.Preparing, false, Failed(Nothing, Op.Prepare), Op.Shutdown, null },
        { "an exit before the stop is reported as the exit", S.Shutdown, S.Running, false, Released(Exit3), Op.None, S.Failed },
        { "a failed stop kills", S.Shutdown, S.Running, false, Failed(Running, Op.Shutdown), Op.Terminate, null },
        { "a killed container is shutdown", S.Shutdown, S.Running, false, Released(Failed(Running, Op.Shutdown) with { Stopped = true }), Op.None, S.Shutdown },
        { "a failed kill fails", S.Shutdown, S.Running, false, Released(Failed(Running, Op.Terminate)), Op.None, S.Failed },

        // ended tasks stay ended
        { "complete stays complete", S.Running, S.Complete, false, Nothing, Op.None, null },
        { "failed stays failed under desired shutdown", S.Shutdown, S.Failed, false, Running, Op.None, null },
        { "shutdown stays shutdown under desired remove", S.Remove, S.Shutdown, false, Stopped, Op.None, null },
        { "rejected stays rejected", S.Running, S.Rejected, false, Failed(Nothing, Op.Prepare), Op.None, null },
        { "an unhealthy failed task gets no second stop", S.Running, S.Failed, true, Unhealthy with { Stopped = true }, Op.None, null },

        // after a node host restart
        { "running unknown to this process is inspected", S.Running, S.Running, false, Nothing, Op.Inspect, null },
        { "starting unknown to this process is inspected", S.Running, S.Starting, false, Nothing, Op.Inspect, null },
        { "inspected before a desired shutdown", S.Shutdown, S.Running, false, Nothing, Op.Inspect, null },
        { "a container gone fails the task", S.Running, S.Running, false, Released(new ControllerReport(Exists: false)), Op.None, S.Failed },
        { "a container gone fails the task under desired shutdown", S.Shutdown, S.Running, false, Released(new ControllerReport(Exists: false)), Op.None, S.Failed },
        { "a failed inspection fails the task", S.Running, S.Running, false, Released(Failed(Nothing, Op.Inspect)), Op.None, S.Failed },
        { "a container gone after a restart releases what it left first", S.Running, S.Running, false, new ControllerReport(Exists: false), Op.Release, null },

        // what a task holds beside its container (its network namespace, its addresses) is freed before its end is reported
        { "an exit releases before it completes", S.Running, S.Running, false, Exit0, Op.Release, null },
        { "an exit releases before it fails", S.Running, S.Running, false, Exit3, Op.Release, null },
        { "a prepare error releases before it rejects", S.Running, S.Preparing, false, Failed(Nothing, Op.Prepare), Op.Release, null },
        { "a start error releases before it fails", S.Running, S.Ready, false, Failed(Prepared, Op.Start), Op.Release, null },
        { "a stopped container releases before it is shutdown", S.Shutdown, S.Running, false, Stopped, Op.Release, null },
        { "a killed container releases before it is shutdown", S.Remove, S.Running, false, Failed(Running, Op.Shutdown) with { Stopped = true }, Op.Release, null },
        { "a lost wait releases once stopped", S.Running, S.Running, false, Failed(Running with { Stopped = true }, Op.Wait), Op.Release, null },
        { "unhealthy releases once stopped", S.Running, S.Running, true, Unhealthy with { Stopped = true }, Op.Release, null },
        { "a container still there runs on", S.Running, S.Running, false, Running with { Exists = true }, Op.None, null },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Step(string rule, S desired, S observed, bool healthCheck, ControllerReport report, Op action, S? next)
    {
        var task = TestTasks.Task(state: observed, desired: desired, health: healthCheck ? TestTasks.Check : null);

        var step = TaskStep.Next(task, report, Now);

        Assert.True(action == step.Action, $"{rule}: expected call {action}, got {step.Action}");
        Assert.True(next == step.Status?.State, $"{rule}: expected {next?.ToString() ?? "no change"}, got {step.Status?.State.ToString() ?? "no change"}");
        if (step.Status is { } status)
        {
            Assert.Null(TaskStates.CheckTransition(observed, status.State));
            Assert.Equal(Now, status.Timestamp);
        }
    }

    public static TheoryData<S, S> EveryPair()
    {
        var pairs = new TheoryData<S, S>();
        foreach (var desired in new[] { S.Ready, S.Running, S.Complete, S.Shutdown, S.Remove })
        {
            foreach (var observed in Enum.GetValues<S>())
            {
                pairs.Add(desired, observed);
            }
        }

        return pairs;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void States_Only_Move_Forward_Whatever_Was_Reported(S desired, S observed)
    {
        ControllerReport[] reports = [Nothing, Prepared, Running, Healthy, Unhealthy, Exit0, Exit3, Stopped, new(Exists: false),
            Failed(Nothing, Op.Prepare), Failed(Prepared, Op.Start), Failed(Running, Op.Wait), Failed(Running, Op.Shutdown), Failed(Running, Op.Terminate)];

        foreach (var report in reports)
        {
            foreach (var health in new HealthCheck?[] { null, TestTasks.Check })
            {
                var step = TaskStep.Next(TestTasks.Task(state: observed, desired: desired, health: health), report, Now);

                if (step.Status is { } status)
                {
                    Assert.Null(TaskStates.CheckTransition(observed, status.State));
                }

                if (TaskStates.IsTerminal(observed))
                {
                    Assert.Equal(TaskStepResult.Idle, step);
                }
            }
        }
    }

    [Fact]
    public void A_Non_Zero_Exit_Fails_With_Its_Code_And_Swarms_Error()
    {
        var status = TaskStep.Next(TestTasks.Task(state: S.Running), Released(Exit3), Now).Status!;

        Assert.Equal(new TaskObservedStatus(S.Failed, Now, "failed", "task: non-zero exit (3)", 3, StartedAt), status);
    }

    [Fact]
    public void A_Zero_Exit_Completes_With_Code_Zero_And_No_Error()
    {
        var status = TaskStep.Next(TestTasks.Task(state: S.Running), Released(Exit0), Now).Status!;

        Assert.Equal(new TaskObservedStatus(S.Complete, Now, "finished", string.Empty, 0, StartedAt), status);
    }

    [Fact]
    public void An_Oom_Kill_Says_So_In_The_Error()
    {
        var report = Released(Running with { Exit = new ContainerExit(137, OomKilled: true) });

        var status = TaskStep.Next(TestTasks.Task(state: S.Running), report, Now).Status!;

        Assert.Equal("task: non-zero exit (137): the container ran out of memory (OOM-killed)", status.Err);
        Assert.Equal(137, status.ExitCode);
    }

    [Fact]
    public void Running_Carries_When_The_Container_Started_And_When_The_Task_Got_There()
    {
        var status = TaskStep.Next(TestTasks.Task(state: S.Starting), Running, Now).Status!;

        Assert.Equal(new TaskObservedStatus(S.Running, Now, "started", StartedAt: StartedAt, RunningAt: Now), status);
    }

    [Fact]
    public void When_A_Task_Reached_Running_Is_Kept_After_It_Ends_And_Never_Set_For_One_That_Never_Ran()
    {
        var ranAt = TestNodes.T0.AddSeconds(45);
        var running = TestTasks.Task(state: S.Running) with { Status = new TaskObservedStatus(S.Running, ranAt, "started", StartedAt: StartedAt, RunningAt: ranAt) };
        var healthGated = TestTasks.Task(state: S.Starting, health: TestTasks.Check);

        var failedAfterRunning = TaskStep.Next(running, Released(Exit3), Now).Status!;
        var unhealthy = TaskStep.Next(healthGated, Released(Unhealthy with { Stopped = true }), Now).Status!;

        Assert.Equal(ranAt, failedAfterRunning.RunningAt);
        // Its container started, but it never ran: a rolling update counts its failure whatever the monitor.
        Assert.Equal((S.Failed, (DateTimeOffset?)StartedAt, (DateTimeOffset?)null), (unhealthy.State, unhealthy.StartedAt, unhealthy.RunningAt));
    }

    [Fact]
    public void A_Prepare_Error_Is_The_Rejected_Tasks_Error_Word_For_Word()
    {
        var report = Nothing with { Failure = new ControllerFailure(Op.Prepare, "image busybox:1 not found on this node"), Released = true };

        var status = TaskStep.Next(TestTasks.Task(state: S.Preparing), report, Now).Status!;

        Assert.Equal(S.Rejected, status.State);
        Assert.Equal("image busybox:1 not found on this node", status.Err);
    }

    [Fact]
    public void A_Container_Gone_After_A_Restart_Says_So()
    {
        var status = TaskStep.Next(TestTasks.Task(state: S.Running), new ControllerReport(Exists: false, Released: true), Now).Status!;

        Assert.Equal(S.Failed, status.State);
        Assert.Equal("its container is gone (the node host restarted)", status.Err);
    }

    [Fact]
    public void An_Unhealthy_Container_Fails_With_Dockers_Error()
    {
        var status = TaskStep.Next(TestTasks.Task(state: S.Starting, health: TestTasks.Check), Released(Unhealthy with { Stopped = true }), Now).Status!;

        Assert.Equal("task: container unhealthy", status.Err);
    }

    [Fact]
    public void The_Host_Ports_The_Node_Holds_Are_In_Every_Status_From_Ready_Until_The_Task_Ends()
    {
        ImmutableArray<PortConfig> ports = [new PortConfig(7200, 32768, PortProtocol.Tcp, PublishMode.Host)];

        var ready = TaskStep.Next(TestTasks.Task(state: S.Preparing), Prepared with { Ports = ports }, Now).Status!;
        Assert.Equal(S.Ready, ready.State);
        Assert.Equal(ports, ready.PortStatus);

        // A later move keeps them, also when the report no longer carries them (a node host restart keeps what was reported).
        var starting = TaskStep.Next(TestTasks.Task(state: S.Ready) with { Status = ready }, Running, Now).Status!;
        Assert.Equal(S.Starting, starting.State);
        Assert.Equal(ports, starting.PortStatus);

        // Ended: the node freed them.
        var complete = TaskStep.Next(TestTasks.Task(state: S.Running) with { Status = starting with { State = S.Running } }, Released(Exit0 with { Ports = ports }), Now).Status!;
        Assert.Equal(S.Complete, complete.State);
        Assert.Empty(complete.PortStatus);
    }

    [Theory]
    [InlineData(null, 10_000)]
    [InlineData(0, 0)] // docker's --stop-grace-period 0: SIGKILL at once after the stop signal, not the default
    [InlineData(2_500, 2_500)]
    public void The_Stop_Grace_Period_Is_The_Specs_Or_Dockers_Ten_Seconds(int? specMs, int expectedMs)
    {
        var container = new ContainerSpec("busybox:1", StopGracePeriod: specMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), TaskStep.StopGracePeriodOf(container));
    }

    [Fact]
    public void The_Controllers_Word_On_A_Health_Check_Overrides_The_Spec_Both_Ways()
    {
        // The image declares a check the task does not: Starting until it passes.
        var imageChecked = Running with { HealthGated = true };
        Assert.Null(TaskStep.Next(TestTasks.Task(state: S.Starting), imageChecked, Now).Status);
        Assert.Equal(S.Running, TaskStep.Next(TestTasks.Task(state: S.Starting), imageChecked with { Health = ContainerHealth.Healthy }, Now).Status!.State);
        Assert.Equal(S.Failed, TaskStep.Next(TestTasks.Task(state: S.Starting), imageChecked with { Health = ContainerHealth.Unhealthy, Stopped = true, Released = true }, Now).Status!.State);

        // A task's empty test inherits the image's, and the image has none: nothing to wait for.
        var noCheck = Running with { HealthGated = false };
        Assert.Equal(S.Running, TaskStep.Next(TestTasks.Task(state: S.Starting, health: TestTasks.Check), noCheck, Now).Status!.State);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(new[] { "NONE" }, false)]
    [InlineData(new[] { "CMD", "true" }, true)]
    [InlineData(new string[0], true)]
    public void A_Health_Check_Gates_Unless_It_Is_None(string[]? test, bool gates)
    {
        var container = new ContainerSpec("busybox:1", HealthCheck: test is null ? null : new HealthCheck([.. test]));

        Assert.Equal(gates, TaskStep.HasHealthCheck(container));
    }
}
