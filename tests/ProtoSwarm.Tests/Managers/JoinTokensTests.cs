using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

public class JoinTokensTests
{
    private static readonly ClusterObject Cluster = TestNodes.Cluster(workerSecret: "w-secret", managerSecret: "m-secret");

    [Theory]
    [InlineData("the worker token", "PSTKN-1-w-secret", NodeRole.Worker)]
    [InlineData("the manager token", "PSTKN-1-m-secret", NodeRole.Manager)]
    [InlineData("a wrong token", "PSTKN-1-guess", null)]
    [InlineData("an empty token", "", null)]
    [InlineData("a null token", null, null)]
    [InlineData("the secret without the prefix", "w-secret", null)]
    [InlineData("the worker token with a suffix", "PSTKN-1-w-secretX", null)]
    [InlineData("the worker token cut short", "PSTKN-1-w-secre", null)]
    [InlineData("another swarm's token", "PSTKN-1-other-swarm-secret", null)]
    public void Role_For_A_Token(string rule, string? token, NodeRole? expected)
    {
        var role = JoinTokens.RoleFor(token!, Cluster);

        Assert.True(expected == role, $"{rule}: expected {expected?.ToString() ?? "nothing"}, got {role?.ToString() ?? "nothing"}");
    }

    [Fact]
    public void A_Token_Of_Another_Swarm_Grants_Nothing_Here()
    {
        var other = TestNodes.Cluster("cluster-b", JoinTokens.NewSecret(), JoinTokens.NewSecret());
        var here = TestNodes.Cluster("cluster-a", JoinTokens.NewSecret(), JoinTokens.NewSecret());

        Assert.Null(JoinTokens.RoleFor(JoinTokens.Format(other.WorkerJoinSecret), here));
        Assert.Null(JoinTokens.RoleFor(JoinTokens.Format(other.ManagerJoinSecret), here));
        Assert.Equal(NodeRole.Manager, JoinTokens.RoleFor(JoinTokens.Format(here.ManagerJoinSecret), here));
    }

    [Fact]
    public void New_Secrets_Are_Long_Random_And_Distinct()
    {
        var secrets = Enumerable.Range(0, 100).Select(_ => JoinTokens.NewSecret()).ToList();

        Assert.All(secrets, s => Assert.Equal(50, s.Length));
        Assert.Equal(secrets.Count, secrets.Distinct(StringComparer.Ordinal).Count());
    }
}
