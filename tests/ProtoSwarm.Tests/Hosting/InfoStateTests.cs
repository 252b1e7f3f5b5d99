using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`info`'s Swarm state while the node's member is down on purpose: a demoted node showed "Swarm: error" for ~4 s.</summary>
public class InfoStateTests
{
    [Theory]
    // in a swarm, locked, member running, restarting (why) -> state
    [InlineData(false, false, false, null, "inactive")]
    [InlineData(true, true, false, null, "locked")]
    [InlineData(true, false, true, null, "active")]
    [InlineData(true, false, false, null, "error")]
    [InlineData(true, false, false, "taking its new role (worker)", "active")]
    public void The_Local_Node_State_Is_Active_While_The_Member_Restarts_To_Take_A_New_Role(bool inSwarm, bool locked, bool memberRunning, string? restarting, string expected)
    {
        Assert.Equal(expected, SwarmRuntime.LocalNodeState(inSwarm, locked, memberRunning, restarting));
    }

    [Fact]
    public void The_Note_Names_The_Role_Being_Taken()
    {
        Assert.StartsWith("taking its new role (worker)", SwarmRuntime.TakingRole(NodeRole.Worker), StringComparison.Ordinal);
    }
}
