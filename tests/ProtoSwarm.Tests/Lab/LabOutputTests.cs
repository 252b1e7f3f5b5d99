using System.Text.Json;
using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public class LabOutputTests
{
    private static readonly LabNodeRow[] Rows =
    [
        new("m1", "manager", "10.250.0.11", 4242, "/var/lib/protoswarm-lab/lab/m1"),
        new("w10", "worker", "10.250.0.110", 0, "/var/lib/protoswarm-lab/lab/w10"),
    ];

    [Fact]
    public void The_Table_Is_Aligned_And_Shows_A_Dash_For_A_Stopped_Node()
    {
        var lines = LabTable.Format(Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("NAME   ROLE      ADDRESS        PID    STATE DIR", lines[0]);
        Assert.Equal("m1     manager   10.250.0.11    4242   /var/lib/protoswarm-lab/lab/m1", lines[1]);
        Assert.Equal("w10    worker    10.250.0.110   -      /var/lib/protoswarm-lab/lab/w10", lines[2]);
    }

    [Fact]
    public void Json_Is_One_Object_A_Line_With_Exactly_The_Documented_Fields()
    {
        var lines = LabTable.FormatJson(Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(["Name", "Role", "Address", "Pid", "StateDir"], first.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(4242, first.RootElement.GetProperty("Pid").GetInt32());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(0, second.RootElement.GetProperty("Pid").GetInt32());
    }

    [Fact]
    public void A_Node_Not_Running_Shows_Pid_Zero()
    {
        var node = new LabNodeState("w1", LabRole.Worker, "10.250.0.101", "psl-lab-w1", "/s/w1", 999);
        Assert.Equal(0, LabTable.Row(node, running: false).Pid);
        Assert.Equal(999, LabTable.Row(node, running: true).Pid);
    }
}
