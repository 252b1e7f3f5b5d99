using ProtoSwarm.Actors.Raft;

namespace ProtoSwarm.Tests.Raft;

/// <summary>How a manager spawns its Raft peer.</summary>
public class RaftActorPropsTests
{
    /// <summary>
    /// Its <c>Started</c> rebuilds the member from disk, which took 0.1 to 1 s on a loaded lab's managers: with
    /// Proto.Actor's 100 ms default, each such start logged a warning that the system "might suffer from
    /// incorrect design". The actor's own "started" line says how long it took instead.
    /// </summary>
    [Fact]
    public void Proto_Actors_Start_Deadline_Warning_Is_Off_For_The_Raft_Actor()
    {
        // Props only keep the settings for the actor they make, which this test never starts.
        var props = RaftActor.Props(null!);

        Assert.Equal(TimeSpan.Zero, props.StartDeadline);
    }
}
