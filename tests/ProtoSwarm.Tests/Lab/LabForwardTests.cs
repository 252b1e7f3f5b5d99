using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public sealed class LabForwardTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lab-forward-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("8080", 8080, 8080)]
    [InlineData("8080:80", 8080, 80)]
    [InlineData("1:65535", 1, 65535)]
    public void A_Port_Or_A_Port_Pair_Parses(string text, int listen, int node) =>
        Assert.Equal(new PortForward(listen, node), PortForward.Parse(text));

    [Theory]
    [InlineData("", "not a port to forward")]
    [InlineData("8080:", "not a port to forward")]
    [InlineData("1:2:3", "not a port to forward")]
    [InlineData("0", "PORT '0' is not a TCP port")]
    [InlineData("65536", "PORT '65536' is not a TCP port")]
    [InlineData("http", "PORT 'http' is not a TCP port")]
    [InlineData("8080:-1", "NODEPORT '-1' is not a TCP port")]
    [InlineData("+80", "PORT '+80' is not a TCP port")]
    public void A_Bad_Port_Says_What_To_Write(string text, string expected)
    {
        var thrown = Assert.Throws<LabException>(() => PortForward.Parse(text));
        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ports_Print_As_They_Were_Written() =>
        Assert.Equal(["8080", "8081:80"], PortForward.ParseAll(["8080", "8081:80"]).Select(f => f.ToString()));

    [Fact]
    public void No_Port_Or_A_Local_Port_Twice_Is_Refused()
    {
        Assert.Contains("at least one port", Assert.Throws<LabException>(() => PortForward.ParseAll([])).Message, StringComparison.Ordinal);
        var twice = Assert.Throws<LabException>(() => PortForward.ParseAll(["8080", "8080:80"]));
        Assert.Equal("Local port 8080 is given twice (8080, 8080:80); each local port forwards to one node port.", twice.Message);
    }

    [Fact]
    public void Targets_Are_Every_Node_Or_The_Chosen_Ones_In_Lab_Order_Once()
    {
        var state = LabState.From(LabPlan.Create("t", 1, 2, _root), "/d");

        var all = LabForward.Targets(state, []);
        Assert.Equal(["m1", "w1", "w2"], all.Select(t => t.Node));
        Assert.Equal("/run/netns/psl-t-w1", all[1].NetnsPath);
        Assert.Equal("10.250.0.101", all[1].Address.ToString());

        Assert.Equal(["m1", "w2"], LabForward.Targets(state, ["w2", "m1", "w2"]).Select(t => t.Node));
        Assert.Contains("has no node 'w9'", Assert.Throws<LabException>(() => LabForward.Targets(state, ["w9"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Background_Child_Is_This_Cli_Again_Without_Detach()
    {
        Assert.Equal(["/opt/protoswarm"], LabForward.SelfCommand("/opt/protoswarm", "/opt/protoswarm.dll"));
        Assert.Equal(["/usr/bin/dotnet", "/src/protoswarm.dll"], LabForward.SelfCommand("/usr/bin/dotnet", "/src/protoswarm.dll"));
        Assert.Throws<LabException>(() => LabForward.SelfCommand(null, null));

        Assert.Equal(
            ["/opt/protoswarm", "lab", "forward", "--name", "demo", "--node", "w1", "--node", "w2", "8080", "9000:80"],
            LabForward.ChildArguments(["/opt/protoswarm"], "demo", ["w1", "w2"], [new PortForward(8080, 8080), new PortForward(9000, 80)]));
    }

    [Fact]
    public void Start_Time_Is_Field_22_Even_When_The_Command_Has_Spaces_And_Parentheses()
    {
        const string stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        Assert.Equal(987654UL, LabForwardRecord.ParseStartTime(stat));
        Assert.Null(LabForwardRecord.ParseStartTime("4242 (x) S 1"));
        Assert.NotNull(LabForwardRecord.ProcessStartTime(Environment.ProcessId));
    }

    [Fact]
    public void A_Record_Round_Trips_And_Is_Running_Only_For_Its_Own_Process()
    {
        var mine = LabForwardRecord.ForThisProcess(System.Net.IPAddress.Loopback, [new PortForward(8080, 80)], [new ForwardTarget("m1", "/run/netns/x", System.Net.IPAddress.Parse("10.250.0.11"))]);
        mine.Save(_root, "t");
        (mine with { Pid = 1, StartTime = 1 }).Save(_root, "t");
        File.WriteAllText(LabForwardRecord.FileOf(_root, "t", 99), "{ half");

        var loaded = LabForwardRecord.LoadAll(_root, "t");

        Assert.Equal(2, loaded.Count);
        var again = loaded.Single(r => r.Pid == Environment.ProcessId);
        Assert.True(again.IsRunning);
        Assert.Equal(["8080:80"], again.Ports);
        Assert.Equal("127.0.0.1:8080->80/tcp", again.PortsText);
        Assert.False(loaded.Single(r => r.Pid == 1).IsRunning);
        Assert.Equal(
            "FORWARD PID   NODES   PORTS\n1             m1      127.0.0.1:8080->80/tcp\n",
            LabTable.FormatForwards([mine with { Pid = 1 }]));
    }
}
