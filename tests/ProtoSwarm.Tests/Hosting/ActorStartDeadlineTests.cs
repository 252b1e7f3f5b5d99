using Proto;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// Proto.Actor warns when an actor's Started takes longer than its start deadline, 100 ms by default: on a lab
/// (2026-12-05) each node start logged one such warning per actor (agent, dispatcher, scheduler, allocator, raft).
/// </summary>
public class ActorStartDeadlineTests
{
    private static IActor Nothing() => new NothingActor();

    [Fact]
    public void Proto_Actors_Default_Deadline_Is_Raised_To_A_Second()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), Props.FromProducer(Nothing).StartDeadline);

        Assert.Equal(TimeSpan.FromSeconds(1), ActorStartDeadline.Raise(Props.FromProducer(Nothing)).StartDeadline);
    }

    [Fact]
    public void A_Deadline_Switched_Off_Or_Longer_Stays_As_It_Is()
    {
        Assert.Equal(TimeSpan.Zero, ActorStartDeadline.Raise(Props.FromProducer(Nothing).WithStartDeadline(TimeSpan.Zero)).StartDeadline);
        Assert.Equal(TimeSpan.FromSeconds(5), ActorStartDeadline.Raise(Props.FromProducer(Nothing).WithStartDeadline(TimeSpan.FromSeconds(5))).StartDeadline);
    }

    [Fact]
    public void A_Nodes_Actor_System_Raises_The_Deadline_Of_Every_Actor_It_Spawns()
    {
        Assert.Equal(ActorStartDeadline.Minimum, SwarmMember.NodeActorSystemConfig().ConfigureProps(Props.FromProducer(Nothing)).StartDeadline);
    }

    private sealed class NothingActor : IActor
    {
        public Task ReceiveAsync(IContext context) => Task.CompletedTask;
    }
}
