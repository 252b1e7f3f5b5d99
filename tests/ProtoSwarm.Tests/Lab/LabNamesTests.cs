using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public class LabNamesTests
{
    [Theory]
    [InlineData("lab")]
    [InlineData("a")]
    [InlineData("ci-1234-x")]
    [InlineData("0abc")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void Accepts_Names_Usable_In_Namespace_Names(string name) => Assert.Null(LabNames.ValidateLabName(name));

    [Theory]
    [InlineData("")]
    [InlineData("Lab")]
    [InlineData("a_b")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("-a")]
    [InlineData("a.b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void Refuses_Names_With_Characters_Or_Length_Not_Allowed(string name)
    {
        var problem = LabNames.ValidateLabName(name);
        Assert.NotNull(problem);
        Assert.EndsWith(".", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a", "psl-a-br", true)]
    [InlineData("a", "psl-a-m1", true)]
    [InlineData("a", "psl-a-w150", true)]
    [InlineData("a", "psl-a-b-m1", false)]
    [InlineData("a", "psl-a-b-br", false)]
    [InlineData("a-b", "psl-a-b-m1", true)]
    [InlineData("a", "psl-ab-m1", false)]
    [InlineData("a", "psl-a-x1", false)]
    [InlineData("a", "psl-a-m0", false)]
    [InlineData("a", "psl-a-m1x", false)]
    [InlineData("a", "other", false)]
    public void A_Lab_Claims_Only_Its_Own_Namespaces(string lab, string netns, bool belongs) =>
        Assert.Equal(belongs, LabNames.BelongsTo(lab, netns));

    [Fact]
    public void Interface_Names_Fit_The_Kernel_Limit_For_The_Largest_Lab()
    {
        var plan = LabPlan.Create(new string('x', LabNames.MaxLabNameLength), LabPlan.MaxManagers, LabPlan.MaxWorkers);
        Assert.All(plan.Nodes, node => Assert.True(LabNames.BridgeVeth(node.Name).Length <= LabNames.MaxInterfaceNameLength));
        Assert.True(LabNames.BridgeInterface.Length <= LabNames.MaxInterfaceNameLength);
        Assert.True(LabNames.NodeInterface.Length <= LabNames.MaxInterfaceNameLength);
    }
}
