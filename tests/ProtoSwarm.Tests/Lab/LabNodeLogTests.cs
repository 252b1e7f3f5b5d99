using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public sealed class LabNodeLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lab-log-").FullName;
    private readonly string _lab = $"t{Environment.ProcessId}-{Random.Shared.Next(10_000)}";

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        File.Delete(LabNodeLog.KeptPath(_lab, "w1"));
    }

    [Fact]
    public void The_Log_Is_Copied_Out_Of_The_State_Dir_And_Its_Last_15_Lines_Quoted()
    {
        var node = LabPlan.Create(_lab, 1, 1, _root).Nodes.Single(n => n.Name == "w1");
        Directory.CreateDirectory(node.StateDir);
        File.WriteAllLines(node.LogFile, Enumerable.Range(1, 20).Select(i => $"line {i}"));

        var message = LabNodeLog.Keep(_lab, node);
        Directory.Delete(node.StateDir, recursive: true);

        var kept = LabNodeLog.KeptPath(_lab, "w1");
        Assert.Equal(
            $"w1's protoswarmd.log is kept at {kept}, ending:\n    " + string.Join("\n    ", Enumerable.Range(6, 15).Select(i => $"line {i}")),
            message);
        Assert.Equal(20, File.ReadAllLines(kept).Length);
    }

    [Fact]
    public void An_Empty_Log_Says_So_And_A_Missing_One_Gives_Nothing()
    {
        var node = LabPlan.Create(_lab, 1, 1, _root).Nodes.Single(n => n.Name == "w1");
        Assert.Null(LabNodeLog.Keep(_lab, node));

        Directory.CreateDirectory(node.StateDir);
        File.WriteAllText(node.LogFile, "");
        Assert.Equal($"w1's protoswarmd.log is kept at {LabNodeLog.KeptPath(_lab, "w1")} (empty).", LabNodeLog.Keep(_lab, node));
    }
}
