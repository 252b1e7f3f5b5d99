using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Contracts;

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

    [Fact]
    public async Task Info_Carries_The_Node_Hosts_Engine_Labels_As_Docker_Info_Labels()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"protoswarm-info-labels-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var options = new NodeOptions
            {
                StateDir = dir,
                ListenAddr = new IPEndPoint(IPAddress.Loopback, TestPorts.FreeLoopback()),
                AdvertiseAddr = IPAddress.Loopback,
                Hostname = "labelled",
                EngineLabels = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal).Add("zone", "b").Add("disk", "ssd"),
            };
            await using var runtime = new SwarmRuntime(options, NullLoggerFactory.Instance, TimeProvider.System);
            await runtime.StartAsync();

            var info = Assert.IsType<NodeInfoSnapshot>(await runtime.HandleAsync(new GetInfo(SwarmIds.NewRequestId()), TestTimeout.Token));

            Assert.Equal<string>(["disk=ssd", "zone=b"], info.Labels);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
