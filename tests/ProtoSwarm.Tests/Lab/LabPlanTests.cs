using System.Net;
using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public class LabPlanTests
{
    [Fact]
    public void Nodes_Are_Managers_Then_Workers_With_Fixed_Addresses_And_Names()
    {
        var plan = LabPlan.Create("t", managers: 2, workers: 2, root: "/r");

        Assert.Equal(["m1", "m2", "w1", "w2"], plan.Nodes.Select(n => n.Name));
        Assert.Equal(["10.250.0.11", "10.250.0.12", "10.250.0.101", "10.250.0.102"], plan.Nodes.Select(n => n.Address.ToString()));
        Assert.Equal([LabRole.Manager, LabRole.Manager, LabRole.Worker, LabRole.Worker], plan.Nodes.Select(n => n.Role));
        Assert.Equal(["psl-t-m1", "psl-t-m2", "psl-t-w1", "psl-t-w2"], plan.Nodes.Select(n => n.Netns));
        Assert.Equal("psl-t-br", plan.BridgeNetns);
        Assert.Equal("/r/t/w2", plan.Nodes[3].StateDir);
        Assert.Equal("/r/t/w2/control.sock", plan.Nodes[3].ControlSocket);
        Assert.Equal("/r/t/lab.json", plan.RecordFile);
        Assert.Equal("m1", plan.FirstManager.Name);
    }

    [Fact]
    public void A_Node_Keeps_Its_Address_Whatever_The_Counts()
    {
        var small = LabPlan.Create("t", 1, 1);
        var large = LabPlan.Create("t", LabPlan.MaxManagers, LabPlan.MaxWorkers);

        Assert.Equal(small.Nodes.Single(n => n.Name == "w1").Address, large.Nodes.Single(n => n.Name == "w1").Address);
        Assert.Equal(IPAddress.Parse("10.250.0.60"), large.Nodes.Single(n => n.Name == "m50").Address);
        Assert.Equal(IPAddress.Parse("10.250.0.250"), large.Nodes.Single(n => n.Name == "w150").Address);
        Assert.Equal(large.Nodes.Count, large.Nodes.Select(n => n.Address).Distinct().Count());
    }

    [Theory]
    [InlineData(0, 2, "--managers 0")]
    [InlineData(-1, 0, "--managers -1")]
    [InlineData(51, 0, "--managers 51")]
    [InlineData(1, -1, "--workers -1")]
    [InlineData(1, 151, "--workers 151")]
    public void Counts_Outside_The_Plan_Are_Refused_Naming_The_Flag(int managers, int workers, string flag)
    {
        var problem = LabPlan.ValidateCounts(managers, workers);
        Assert.NotNull(problem);
        Assert.StartsWith(flag + ":", problem, StringComparison.Ordinal);
        var thrown = Assert.Throws<LabException>(() => LabPlan.Create("t", managers, workers));
        Assert.Equal(problem, thrown.Message);
    }

    [Fact]
    public void A_Bad_Name_Is_Refused_Before_Counts()
    {
        var thrown = Assert.Throws<LabException>(() => LabPlan.Create("Bad_Name", 0, 0));
        Assert.Contains("'Bad_Name'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Daemon_Gets_Its_State_Listen_Advertise_Socket_Hostname_Registry_Listener_And_Executor()
    {
        var node = LabPlan.Create("t", 1, 1, root: "/r").Nodes[1];

        Assert.Equal(
            ["/bin/protoswarmd", "--state", "/r/t/w1", "--listen-addr", "10.250.0.101:2377", "--advertise-addr", "10.250.0.101",
             "--control-socket", "/r/t/w1/control.sock", "--hostname", "w1", "--registry-listen", "10.250.0.101:5000", "--executor", "linux"],
            LabPlan.DaemonArguments("/bin/protoswarmd", node));
        Assert.Equal(["--executor", "fake"], LabPlan.DaemonArguments("/bin/protoswarmd", node, "fake").TakeLast(2));
    }
    [Fact]
    public void Engine_Labels_Go_To_Their_Nodes_Daemon_As_Label_Flags_And_Are_Kept_For_A_Restart()
    {
        var plan = LabPlan.Create("t", 1, 2, root: "/r").WithEngineLabels(["w1:disk=ssd", "w1:zone=a", "m1:role=edge"]);

        Assert.Equal(["--executor", "linux", "--label", "disk=ssd", "--label", "zone=a"], LabPlan.DaemonArguments("/bin/protoswarmd", plan.Nodes[1]).TakeLast(6));
        Assert.Equal(["--label", "role=edge"], LabPlan.DaemonArguments("/bin/protoswarmd", plan.Nodes[0]).TakeLast(2));
        Assert.Equal(["--executor", "linux"], LabPlan.DaemonArguments("/bin/protoswarmd", plan.Nodes[2]).TakeLast(2));

        var state = LabState.From(plan, "/bin/protoswarmd");
        Assert.Equal(["disk=ssd", "zone=a"], state.Node("w1").ToPlan().EngineLabels);
        Assert.Empty(state.Node("w2").ToPlan().EngineLabels);
        Assert.Equal(["disk=hdd"], state.WithEngineLabels("w1", ["disk=hdd"]).Node("w1").ToPlan().EngineLabels);
    }

    [Theory]
    [InlineData("disk=ssd", "write NODE:KEY=VALUE")]
    [InlineData(":disk=ssd", "write NODE:KEY=VALUE")]
    [InlineData("disk=a:b", "write NODE:KEY=VALUE")]
    [InlineData("w9:disk=ssd", "the lab has no node 'w9'; its nodes are m1, w1")]
    public void An_Engine_Label_Without_A_Node_Of_The_Lab_Is_Refused(string text, string message)
    {
        var thrown = Assert.Throws<LabException>(() => LabPlan.Create("t", 1, 1, root: "/r").WithEngineLabels([text]));

        Assert.Contains(message, thrown.Message, StringComparison.Ordinal);
        Assert.StartsWith($"--engine-label {text}:", thrown.Message, StringComparison.Ordinal);
    }
}
