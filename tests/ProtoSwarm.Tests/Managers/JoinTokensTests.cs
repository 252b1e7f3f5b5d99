using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

public class JoinTokensTests
{
    private static readonly ClusterObject Cluster = TestNodes.SwarmCluster();

    public static TheoryData<string, string?, NodeRole?> Tokens()
    {
        var worker = Cluster.WorkerJoinToken;
        var manager = Cluster.ManagerJoinToken;
        var other = TestNodes.SwarmCluster("cluster-b");
        return new()
        {
            { "the worker token", worker, NodeRole.Worker },
            { "the manager token", manager, NodeRole.Manager },
            { "a wrong token", "SWMTKN-1-guess", null },
            { "an empty token", "", null },
            { "a null token", null, null },
            { "the worker token with a suffix", worker + "x", null },
            { "the worker token cut short", worker[..^1], null },
            { "another swarm's worker token", other.WorkerJoinToken, null },
            { "another swarm's manager token", other.ManagerJoinToken, null },
        };
    }

    [Theory]
    [MemberData(nameof(Tokens))]
    public void Role_For_A_Token(string rule, string? token, NodeRole? expected)
    {
        var role = JoinTokens.RoleFor(token!, Cluster);

        Assert.True(expected == role, $"{rule}: expected {expected?.ToString() ?? "nothing"}, got {role?.ToString() ?? "nothing"}");
    }

    [Fact]
    public void A_New_Swarms_Tokens_Have_The_Swarmkit_Shape_And_Pin_Its_Root()
    {
        var root = Pem.ReadCertificate(Cluster.RootCaPem);

        foreach (var text in new[] { Cluster.WorkerJoinToken, Cluster.ManagerJoinToken })
        {
            Assert.StartsWith("SWMTKN-1-", text, StringComparison.Ordinal);
            var token = JoinToken.Parse(text);
            Assert.True(token.Matches(root), $"{text} does not pin the swarm's root");
        }

        Assert.NotEqual(Cluster.WorkerJoinToken, Cluster.ManagerJoinToken);
    }

    [Fact]
    public void New_Tokens_Are_Random_And_Distinct()
    {
        var digest = CaDigest.OfCertificate(Pem.ReadCertificate(Cluster.RootCaPem));
        var tokens = Enumerable.Range(0, 100).Select(_ => JoinTokens.New(digest)).ToList();

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
    }
}
