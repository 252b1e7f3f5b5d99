using System.Net;
using ProtoSwarm.Hosting.Options;

namespace ProtoSwarm.Tests.Hosting;

public class NodeOptionsParserTests
{
    [Fact]
    public void No_Flags_Give_The_Defaults()
    {
        var result = NodeOptionsParser.Parse([]);

        Assert.Empty(result.Errors);
        Assert.False(result.Help);
        Assert.Equal("information", result.LogLevel);
        var options = result.Options;
        Assert.Equal("/var/lib/protoswarm", options.StateDir);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 2377), options.ListenAddr);
        Assert.Null(options.AdvertiseAddr);
        Assert.Equal("/var/lib/protoswarm/control.sock", options.ControlSocket);
        Assert.Equal("/var/lib/protoswarm/raft.db", options.RaftPath);
        Assert.Equal("/var/lib/protoswarm/node.db", options.NodeStatePath);
        Assert.Equal(Environment.MachineName, options.Hostname);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_Flag_Is_Read_Separate_Or_With_An_Equals_Sign(bool equalsForm)
    {
        string[] pairs =
        [
            "--state", "/srv/swarm",
            "--listen-addr", "127.0.0.1:4000",
            "--advertise-addr", "10.0.0.5",
            "--control-socket", "/run/ps.sock",
            "--hostname", "node-1.example",
            "--log-level", "debug",
        ];
        var args = equalsForm
            ? pairs.Chunk(2).Select(p => $"{p[0]}={p[1]}").ToArray()
            : pairs;

        var result = NodeOptionsParser.Parse(args);

        Assert.Empty(result.Errors);
        Assert.Equal("debug", result.LogLevel);
        var options = result.Options;
        Assert.Equal("/srv/swarm", options.StateDir);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4000), options.ListenAddr);
        Assert.Equal(IPAddress.Parse("10.0.0.5"), options.AdvertiseAddr);
        Assert.Equal("/run/ps.sock", options.ControlSocket);
        Assert.Equal("/srv/swarm/raft.db", options.RaftPath);
        Assert.Equal("node-1.example", options.Hostname);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_Is_Asked_For(string flag)
    {
        var result = NodeOptionsParser.Parse([flag]);

        Assert.True(result.Help);
        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("1.2.3.4", "1.2.3.4:2377")]
    [InlineData("1.2.3.4:5", "1.2.3.4:5")]
    [InlineData("0.0.0.0:65535", "0.0.0.0:65535")]
    [InlineData("[::1]:4000", "[::1]:4000")]
    [InlineData("::1", "[::1]:2377")]
    [InlineData("fd00::5", "[fd00::5]:2377")]
    public void Listen_Address_Takes_The_Default_Port_When_None_Is_Given(string value, string expected)
    {
        var result = NodeOptionsParser.Parse(["--listen-addr", value]);

        Assert.Empty(result.Errors);
        Assert.Equal(IPEndPoint.Parse(expected), result.Options.ListenAddr);
    }

    [Theory]
    [InlineData("a bad listen address", new[] { "--listen-addr", "nowhere" }, "--listen-addr nowhere")]
    [InlineData("listen port 0", new[] { "--listen-addr", "0.0.0.0:0" }, "--listen-addr 0.0.0.0:0")]
    [InlineData("listen port 70000", new[] { "--listen-addr", "0.0.0.0:70000" }, "--listen-addr 0.0.0.0:70000")]
    [InlineData("a negative listen port", new[] { "--listen-addr=0.0.0.0:-1" }, "--listen-addr 0.0.0.0:-1")]
    [InlineData("advertise 0.0.0.0", new[] { "--advertise-addr", "0.0.0.0" }, "--advertise-addr 0.0.0.0")]
    [InlineData("advertise ::", new[] { "--advertise-addr", "::" }, "--advertise-addr ::")]
    [InlineData("advertise [::]:2377", new[] { "--advertise-addr", "[::]:2377" }, "--advertise-addr [::]:2377")]
    [InlineData("a bad advertise address", new[] { "--advertise-addr", "host.example" }, "--advertise-addr host.example")]
    [InlineData("a short-form IPv4 advertise address", new[] { "--advertise-addr", "10.0.0" }, "--advertise-addr 10.0.0")]
    [InlineData("a one-number listen address", new[] { "--listen-addr", "10:2377" }, "--listen-addr 10:2377")]
    [InlineData("an unknown flag", new[] { "--bogus" }, "--bogus")]
    [InlineData("an unknown flag with a value", new[] { "--bogus=1" }, "--bogus=1")]
    [InlineData("a value with no flag", new[] { "stray" }, "stray")]
    [InlineData("a missing value at the end", new[] { "--state" }, "--state needs a value")]
    [InlineData("a missing value before a flag", new[] { "--hostname", "--log-level", "debug" }, "--hostname needs a value")]
    [InlineData("a bad hostname", new[] { "--hostname", "bad host!" }, "--hostname bad host!")]
    [InlineData("an empty hostname", new[] { "--hostname=" }, "--hostname")]
    [InlineData("a bad log level", new[] { "--log-level", "loud" }, "--log-level loud")]
    public void A_Bad_Command_Line_Is_Refused_Naming_The_Flag(string rule, string[] args, string named)
    {
        var result = NodeOptionsParser.Parse(args);

        var error = Assert.Single(result.Errors);
        Assert.True(error.Contains(named, StringComparison.Ordinal), $"{rule}: \"{error}\" does not name {named}");
    }

    [Fact]
    public void Engine_Labels_Are_Read_From_Every_Label_Flag_As_Dockerd_Reads_Them()
    {
        var result = NodeOptionsParser.Parse(["--label", "disk=ssd", "--label=zone=eu-1", "--label", "rack=", "--label", "opts=a=b", "--label", "disk=ssd"]);

        Assert.Empty(result.Errors);
        Assert.Equal("disk=ssd opts=a=b rack= zone=eu-1", string.Join(" ", result.Options.EngineLabels.Select(l => $"{l.Key}={l.Value}")));
        Assert.Empty(NodeOptionsParser.Parse([]).Options.EngineLabels);
    }

    [Theory]
    [InlineData("no value", new[] { "--label", "disk" }, "--label disk: an engine label is KEY=VALUE")]
    [InlineData("no key", new[] { "--label", "=ssd" }, "--label =ssd: the label has no key")]
    [InlineData("a key with white space around it", new[] { "--label", " disk=ssd" }, "--label  disk=ssd: the key ' disk' starts or ends with white space")]
    [InlineData("a key given two values", new[] { "--label", "disk=ssd", "--label", "disk=hdd" }, "--label disk=hdd: the key 'disk' is already given the value 'ssd'")]
    [InlineData("a missing value", new[] { "--label" }, "--label needs a value")]
    public void A_Bad_Engine_Label_Is_Refused_Saying_What_Is_Wrong(string rule, string[] args, string expected)
    {
        var result = NodeOptionsParser.Parse(args);

        var error = Assert.Single(result.Errors);
        Assert.True(error.StartsWith(expected, StringComparison.Ordinal), $"{rule}: \"{error}\"");
    }

    [Theory]
    [InlineData("10.0.0.5", "10.0.0.5")]
    [InlineData("10.0.0.5:2377", "10.0.0.5")]
    [InlineData("::1", "::1")]
    [InlineData("fd00::5", "fd00::5")]
    [InlineData("[fd00::5]:2377", "fd00::5")]
    public void Advertise_Address_Is_Kept_As_Given(string value, string expected)
    {
        var result = NodeOptionsParser.Parse(["--advertise-addr", value]);

        Assert.Empty(result.Errors);
        Assert.Equal(IPAddress.Parse(expected), result.Options.AdvertiseAddr);
    }

    [Fact]
    public void A_Hostname_Longer_Than_253_Characters_Is_Refused()
    {
        var result = NodeOptionsParser.Parse(["--hostname", new string('a', 254)]);

        Assert.Contains("--hostname", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_Problem_Is_Reported_At_Once()
    {
        var result = NodeOptionsParser.Parse(["--listen-addr", "x", "--advertise-addr", "0.0.0.0", "--bogus", "--log-level"]);

        Assert.Equal(4, result.Errors.Count);
    }

    [Fact]
    public void Check_Environment_Accepts_A_Writable_State_Directory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ps-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Assert.Empty(NodeOptionsParser.CheckEnvironment(new NodeOptions { StateDir = dir }));
            Assert.True(Directory.Exists(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Check_Environment_Refuses_A_Control_Socket_Path_Too_Long_For_Unix()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ps-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = new NodeOptions { StateDir = dir, ControlSocketOverride = Path.Combine(dir, new string('s', 120)) };

            var error = Assert.Single(NodeOptionsParser.CheckEnvironment(options));
            Assert.Contains("--control-socket", error, StringComparison.Ordinal);
            Assert.Contains("108 bytes", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Max_Concurrent_Starts_Comes_From_The_Flag_Else_The_Environment_Else_No_Limit()
    {
        static string? None(string _) => null;
        static string? Four(string name) => name == NodeOptionsParser.MaxConcurrentStartsVariable ? "4" : null;

        Assert.Equal(NodeOptions.DefaultMaxConcurrentStarts, NodeOptionsParser.Parse([], None).Options.MaxConcurrentStarts);
        Assert.Equal(4, NodeOptionsParser.Parse([], Four).Options.MaxConcurrentStarts);
        Assert.Equal(8, NodeOptionsParser.Parse(["--max-concurrent-starts", "8"], Four).Options.MaxConcurrentStarts);
        Assert.Equal(0, NodeOptionsParser.Parse(["--max-concurrent-starts=0"], Four).Options.MaxConcurrentStarts);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("four")]
    [InlineData("10001")]
    public void Max_Concurrent_Starts_That_Is_Not_A_Count_Is_Refused_From_Flag_And_Environment(string value)
    {
        var fromFlag = Assert.Single(NodeOptionsParser.Parse([$"--max-concurrent-starts={value}"], _ => null).Errors);
        var fromEnvironment = Assert.Single(NodeOptionsParser.Parse([], name => name == NodeOptionsParser.MaxConcurrentStartsVariable ? value : null).Errors);

        Assert.StartsWith("--max-concurrent-starts", fromFlag, StringComparison.Ordinal);
        Assert.StartsWith("$PROTOSWARM_MAX_CONCURRENT_STARTS", fromEnvironment, StringComparison.Ordinal);
    }

    [Fact]
    public void Container_Monitor_Is_Shared_By_Default_And_Set_By_Flag_Or_Environment_The_Flag_Winning()
    {
        static string? PerContainer(string name) => name == NodeOptionsParser.ContainerMonitorVariable ? "per-container" : null;

        Assert.True(NodeOptionsParser.Parse([], _ => null).Options.SharedContainerMonitor);
        Assert.False(NodeOptionsParser.Parse([], PerContainer).Options.SharedContainerMonitor);
        Assert.True(NodeOptionsParser.Parse(["--container-monitor", "shared"], PerContainer).Options.SharedContainerMonitor);
        Assert.False(NodeOptionsParser.Parse(["--container-monitor=per-container"], _ => null).Options.SharedContainerMonitor);
    }

    [Fact]
    public void A_Container_Monitor_Mode_That_Does_Not_Exist_Is_Refused_Naming_The_Two()
    {
        var fromFlag = Assert.Single(NodeOptionsParser.Parse(["--container-monitor", "one"], _ => null).Errors);
        var fromEnvironment = Assert.Single(NodeOptionsParser.Parse([], name => name == NodeOptionsParser.ContainerMonitorVariable ? "each" : null).Errors);

        Assert.Equal("--container-monitor one: use shared (one monitor process for all containers) or per-container (one each).", fromFlag);
        Assert.Equal("$PROTOSWARM_CONTAINER_MONITOR=each: use shared (one monitor process for all containers) or per-container (one each), or unset it.", fromEnvironment);
    }
}
