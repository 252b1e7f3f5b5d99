using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public sealed class LabStateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lab-state-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_Record_Round_Trips_Through_Lab_Json()
    {
        var state = LabState.From(LabPlan.Create("t", 1, 2, _root), "/bin/protoswarmd").WithPid("w1", 77);
        state.Save(_root);

        var loaded = LabState.Load(_root, "t");

        Assert.Equal("/bin/protoswarmd", loaded.Daemon);
        Assert.Equal("psl-t-br", loaded.BridgeNetns);
        Assert.Equal(state.Nodes, loaded.Nodes);
        Assert.Equal(77, loaded.Node("w1").Pid);
        Assert.True(File.Exists(Path.Combine(_root, "t", "lab.json")));
    }

    [Fact]
    public void A_Lab_That_Is_Not_Up_Says_How_To_Make_One()
    {
        Assert.Null(LabState.TryLoad(_root, "nope"));
        var thrown = Assert.Throws<LabException>(() => LabState.Load(_root, "nope"));
        Assert.Contains("lab up --name nope", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_Unknown_Node_Names_The_Nodes_There_Are()
    {
        var state = LabState.From(LabPlan.Create("t", 1, 1, _root), "/d");
        var thrown = Assert.Throws<LabException>(() => state.Node("w7"));
        Assert.Equal("Lab 't' has no node 'w7'; its nodes are m1, w1.", thrown.Message);
    }
}
