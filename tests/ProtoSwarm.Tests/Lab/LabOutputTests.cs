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
        Assert.Equal(["Name", "Role", "Address", "Pid", "StateDir", "Forwards"], first.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0, first.RootElement.GetProperty("Forwards").GetArrayLength());
        Assert.Equal(4242, first.RootElement.GetProperty("Pid").GetInt32());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(0, second.RootElement.GetProperty("Pid").GetInt32());
    }

    [Fact]
    public void Json_Lists_The_Running_Forwards_Under_Each_Node_They_Reach_A_Port_Each()
    {
        LabForwardRecord[] forwards =
        [
            new(5001, 123, "127.0.0.1", ["8080", "8081:80"], ["m1", "w10"]),
            new(5002, 456, "127.0.0.1", ["9000:5000"], ["w10"]),
        ];

        var lines = LabTable.FormatJson(LabTable.WithForwards(Rows, forwards)).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        using var m1 = JsonDocument.Parse(lines[0]);
        using var w10 = JsonDocument.Parse(lines[1]);
        Assert.Equal(
            """[{"Pid":5001,"ListenAddress":"127.0.0.1","ListenPort":8080,"NodePort":8080},{"Pid":5001,"ListenAddress":"127.0.0.1","ListenPort":8081,"NodePort":80}]""",
            m1.RootElement.GetProperty("Forwards").GetRawText());
        Assert.Equal(("m1", "w10"), (m1.RootElement.GetProperty("Name").GetString(), w10.RootElement.GetProperty("Name").GetString()));
        Assert.Equal(
            [(5001, 8080, 8080), (5001, 8081, 80), (5002, 9000, 5000)],
            w10.RootElement.GetProperty("Forwards").EnumerateArray()
                .Select(f => (f.GetProperty("Pid").GetInt32(), f.GetProperty("ListenPort").GetInt32(), f.GetProperty("NodePort").GetInt32())));
    }

    [Fact]
    public void The_Table_Is_Unchanged_By_Forwards_Which_It_Lists_Below_The_Nodes()
    {
        LabForwardRecord[] forwards = [new(5001, 123, "127.0.0.1", ["8081:80"], ["m1"])];

        Assert.Equal(LabTable.Format(Rows), LabTable.Format(LabTable.WithForwards(Rows, forwards)));
        Assert.Equal("FORWARD PID   NODES   PORTS\n5001          m1      127.0.0.1:8081->80/tcp\n", LabTable.FormatForwards(forwards));
    }

    [Fact]
    public void A_Node_Not_Running_Shows_Pid_Zero()
    {
        var node = new LabNodeState("w1", LabRole.Worker, "10.250.0.101", "psl-lab-w1", "/s/w1", 999);
        Assert.Equal(0, LabTable.Row(node, running: false).Pid);
        Assert.Equal(999, LabTable.Row(node, running: true).Pid);
    }
}
