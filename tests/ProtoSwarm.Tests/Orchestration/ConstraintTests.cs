using ProtoSwarm.Actors.Orchestration.Scheduling;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Orchestration;

public class ConstraintTests
{
    [Theory]
    [InlineData("node.role==manager", "node.role", ConstraintOperator.Equal, "manager")]
    [InlineData("node.role != manager", "node.role", ConstraintOperator.NotEqual, "manager")]
    [InlineData("  node.labels.zone ==  eu-west-1a ", "node.labels.zone", ConstraintOperator.Equal, "eu-west-1a")]
    [InlineData("node.labels.Disk==ssd", "node.labels.Disk", ConstraintOperator.Equal, "ssd")]
    [InlineData("node.hostname==web (1)", "node.hostname", ConstraintOperator.Equal, "web (1)")]
    [InlineData("node.labels.path==/srv/data*", "node.labels.path", ConstraintOperator.Equal, "/srv/data*")]
    [InlineData("_x==1", "_x", ConstraintOperator.Equal, "1")]
    public void Parses_As_Docker_Does(string text, string key, ConstraintOperator op, string value)
    {
        Assert.True(Constraint.TryParse(text, out var constraint, out var error), error);

        Assert.Equal(new Constraint(key, op, value), constraint);
    }

    [Theory]
    [InlineData("node.role=manager", "constraint expected one operator from ==, !=")]
    [InlineData("node.role", "constraint expected one operator from ==, !=")]
    [InlineData("node.role>=manager", "constraint expected one operator from ==, !=")]
    [InlineData("==manager", "key '' is invalid")]
    [InlineData("1node==a", "key '1node' is invalid")]
    [InlineData("x==a", "key 'x' is invalid")]
    [InlineData("node role==a", "key 'node role' is invalid")]
    [InlineData("node.role==", "value '' is invalid")]
    [InlineData("node.role==a!=b", "value 'a!=b' is invalid")]
    [InlineData("node.role!==a", "key 'node.role!' is invalid")]
    [InlineData("node.labels.a==b<c", "value 'b<c' is invalid")]
    [InlineData("node.labels.a==b~", "value 'b~' is invalid")]
    public void Refuses_What_Docker_Refuses_With_Dockers_Message(string text, string message)
    {
        Assert.False(Constraint.TryParse(text, out var constraint, out var error));

        Assert.Null(constraint);
        Assert.Equal(message, error);
    }

    [Fact]
    public void Parse_All_Names_The_Bad_Constraint()
    {
        var e = Assert.Throws<FormatException>(() => Constraint.ParseAll(["node.role==manager", "zone=a"]));

        Assert.Contains("'zone=a'", e.Message, StringComparison.Ordinal);
    }

    private static readonly NodeObject Node = TestServices.Node("abc123", labels: [("zone", "Eu-1"), ("Disk", "ssd")]);

    [Theory]
    [InlineData("node.id==abc123", true)]
    [InlineData("node.id==ABC123", true)]
    [InlineData("node.id!=abc123", false)]
    [InlineData("node.id==abc", false)]
    [InlineData("node.hostname==host-abc123", true)]
    [InlineData("NODE.HOSTNAME==host-abc123", true)]
    [InlineData("node.role==worker", true)]
    [InlineData("node.role==manager", false)]
    [InlineData("node.role!=manager", true)]
    [InlineData("node.platform.os==linux", true)]
    [InlineData("node.platform.arch==x86_64", true)]
    [InlineData("node.platform.arch!=x86_64", false)]
    [InlineData("node.labels.zone==eu-1", true)]
    [InlineData("node.labels.ZONE==eu-1", false)]
    [InlineData("node.labels.Disk==ssd", true)]
    [InlineData("node.labels.disk==ssd", false)]
    [InlineData("node.labels.missing!=x", true)]
    [InlineData("node.labels.missing==x", false)]
    [InlineData("engine.labels.x!=y", true)]
    [InlineData("engine.labels.x==y", false)]
    [InlineData("node.ip==10.0.0.1", true)]
    [InlineData("node.ip!=10.0.0.1", false)]
    [InlineData("node.ip==10.0.0.2", false)]
    [InlineData("node.ip==10.0.0.0/24", true)]
    [InlineData("node.ip!=10.0.0.0/24", false)]
    [InlineData("node.ip==10.0.1.0/24", false)]
    [InlineData("node.ip!=10.0.1.0/24", true)]
    [InlineData("node.ip==2001:db8::2", false)]
    [InlineData("node.ip!=not-an-address", false)]
    [InlineData("node.ip==10.0.0", false)]
    [InlineData("node.ip!=10.0.0", false)]
    [InlineData("node.ip==10.0/8", false)]
    [InlineData("unknown.key!=x", false)]
    public void Matches_A_Node_As_Swarmkit_Does(string text, bool matches)
    {
        Assert.True(Constraint.TryParse(text, out var constraint, out _));

        Assert.Equal(matches, constraint!.Matches(Node));
    }

    private static readonly NodeObject Labelled = TestServices.Node("e1", labels: [("zone", "a")]).WithEngineLabels(("disk", "ssd"), ("Zone", "b"));

    [Theory]
    [InlineData("engine.labels.disk==ssd", true)]
    [InlineData("engine.labels.disk==SSD", true)]
    [InlineData("ENGINE.LABELS.disk==ssd", true)]
    [InlineData("engine.labels.disk!=ssd", false)]
    [InlineData("engine.labels.disk==hdd", false)]
    [InlineData("engine.labels.disk!=hdd", true)]
    [InlineData("engine.labels.DISK==ssd", false)]
    [InlineData("engine.labels.Zone==b", true)]
    [InlineData("engine.labels.zone==a", false)]
    [InlineData("node.labels.zone==a", true)]
    [InlineData("node.labels.disk==ssd", false)]
    [InlineData("engine.labels.missing==x", false)]
    [InlineData("engine.labels.missing!=x", true)]
    public void Engine_Labels_Match_The_Nodes_Description_Apart_From_Its_Node_Labels(string text, bool matches)
    {
        Assert.True(Constraint.TryParse(text, out var constraint, out _));

        Assert.Equal(matches, constraint!.Matches(Labelled));
    }

    [Fact]
    public void A_Manager_Matches_Node_Role_Manager()
    {
        var manager = TestServices.Node("m1", role: NodeRole.Manager);

        Assert.True(Constraint.ParseAll(["node.role==manager"])[0].Matches(manager));
    }
}
