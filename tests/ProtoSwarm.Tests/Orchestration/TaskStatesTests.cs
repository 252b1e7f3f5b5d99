using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Orchestration;

public class TaskStatesTests
{
    public static TheoryData<TaskState> AllStates() => [.. Enum.GetValues<TaskState>()];

    [Fact]
    public void States_Are_Swarms_In_Swarms_Order()
    {
        string[] swarm = ["new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running",
            "complete", "shutdown", "failed", "rejected", "remove", "orphaned"];

        var ours = Enum.GetValues<TaskState>().Order().Select(TaskStates.Name);

        Assert.Equal(swarm, ours);
    }

    [Theory]
    [InlineData(TaskState.New, TaskState.Pending, true)]
    [InlineData(TaskState.Pending, TaskState.Assigned, true)]
    [InlineData(TaskState.Assigned, TaskState.Running, true)]
    [InlineData(TaskState.Preparing, TaskState.Failed, true)]
    [InlineData(TaskState.Running, TaskState.Complete, true)]
    [InlineData(TaskState.Running, TaskState.Orphaned, true)]
    [InlineData(TaskState.New, TaskState.Rejected, true)]
    [InlineData(TaskState.Running, TaskState.Starting, false)]
    [InlineData(TaskState.Assigned, TaskState.Pending, false)]
    [InlineData(TaskState.Running, TaskState.Running, false)]
    [InlineData(TaskState.Complete, TaskState.Failed, false)]
    [InlineData(TaskState.Failed, TaskState.Orphaned, false)]
    [InlineData(TaskState.Shutdown, TaskState.Running, false)]
    [InlineData(TaskState.Orphaned, TaskState.Orphaned, false)]
    public void Observed_State_Moves_Forward_Only_And_Never_Out_Of_A_Terminal_State(TaskState from, TaskState to, bool allowed)
    {
        var reason = TaskStates.CheckTransition(from, to);

        Assert.Equal(allowed, reason is null);
        Assert.Equal(allowed, TaskStates.CanMove(from, to));
    }

    [Fact]
    public void A_Refused_Transition_Names_Both_States()
    {
        var reason = TaskStates.CheckTransition(TaskState.Running, TaskState.Pending);

        Assert.Equal("a task moves forward only: running cannot go back to pending.", reason);
    }

    [Fact]
    public void A_Number_That_Is_No_State_Is_Refused()
    {
        Assert.NotNull(TaskStates.CheckTransition(TaskState.New, (TaskState)65));
    }

    [Theory]
    [MemberData(nameof(AllStates))]
    public void Terminal_States_Are_Complete_And_After(TaskState state)
    {
        Assert.Equal(state >= TaskState.Complete, TaskStates.IsTerminal(state));
        if (TaskStates.IsTerminal(state))
        {
            Assert.All(Enum.GetValues<TaskState>(), to => Assert.False(TaskStates.CanMove(state, to)));
        }
    }

    [Theory]
    [InlineData(TaskState.Running, TaskState.Shutdown, true)]
    [InlineData(TaskState.Ready, TaskState.Running, true)]
    [InlineData(TaskState.Running, TaskState.Remove, true)]
    [InlineData(TaskState.Running, TaskState.Complete, true)]
    [InlineData(TaskState.Shutdown, TaskState.Running, false)]
    [InlineData(TaskState.Running, TaskState.Failed, false)]
    [InlineData(TaskState.Running, TaskState.Pending, false)]
    public void Desired_State_Is_One_A_Manager_Asks_For_And_Moves_Forward(TaskState from, TaskState to, bool allowed)
    {
        Assert.Equal(allowed, TaskStates.CheckDesiredTransition(from, to) is null);
    }

    [Theory]
    [InlineData("n1", TaskState.Running, TaskState.Running, true)]
    [InlineData("n1", TaskState.Assigned, TaskState.Running, true)]
    [InlineData("n1", TaskState.Running, TaskState.Complete, true)]
    [InlineData("n1", TaskState.Running, TaskState.Shutdown, false)]
    [InlineData("n1", TaskState.Failed, TaskState.Running, false)]
    [InlineData("", TaskState.Pending, TaskState.Running, false)]
    [InlineData("n1", TaskState.Pending, TaskState.Running, false)]
    public void A_Task_Occupies_Its_Node_While_It_Is_Wanted_And_Not_Ended(string nodeId, TaskState observed, TaskState desired, bool occupies)
    {
        var task = TestServices.Task("t1", "svc", nodeId, observed, desired);

        Assert.Equal(occupies, TaskStates.Occupies(task));
    }

    [Fact]
    public void When_A_Task_Reached_Running_Is_Kept_Whoever_Said_It()
    {
        DateTimeOffset At(int s) => TestNodes.T0.AddSeconds(s);
        var starting = new TaskObservedStatus(TaskState.Starting, At(1), StartedAt: At(1));
        var running = new TaskObservedStatus(TaskState.Running, At(5), StartedAt: At(1));
        var failed = new TaskObservedStatus(TaskState.Failed, At(9), StartedAt: At(1));

        // The node's own stamp is stored as it is.
        Assert.Equal(At(4), TaskStates.KeepRunningAt(starting, running with { RunningAt = At(4) }).RunningAt);
        // A node that does not stamp it (an older version): Running is stamped when stored, and kept once the task ends.
        Assert.Equal(At(5), TaskStates.KeepRunningAt(starting, running).RunningAt);
        Assert.Equal(At(5), TaskStates.KeepRunningAt(running with { RunningAt = At(5) }, failed).RunningAt);
        // A Running status stored before RunningAt was kept: it ran since that status's time.
        Assert.Equal(At(5), TaskStates.KeepRunningAt(running, failed).RunningAt);
        // Failed straight from Starting: it never ran.
        Assert.Null(TaskStates.KeepRunningAt(starting, failed).RunningAt);
    }
}
