using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ArgumentValidationTests
{
    private static readonly FakeNode NoAnswers = new(request => throw new InvalidOperationException($"{request.GetType().Name} was sent"));

    [Theory]
    [InlineData("--availability 'sideways'", "node", "update", "--availability", "sideways", "n1")]
    [InlineData("--label-add 'a b=v' has a space in its key", "node", "update", "--label-add", "a b=v", "n1")]
    [InlineData("--label-add '=v' has no key", "node", "update", "--label-add", "=v", "n1")]
    [InlineData("--label-rm 'k=v'", "node", "update", "--label-rm", "k=v", "n1")]
    [InlineData("nothing to change; give --role, --availability", "node", "update", "n1")]
    [InlineData("--role 'boss' is not a role; use worker or manager.", "node", "update", "--role", "boss", "n1")]
    [InlineData("--role 'Manager' is not a role", "node", "update", "--role", "Manager", "n1")]
    [InlineData("--ip-range: '10.9.0.128' is not in CIDR notation", "network", "create", "--subnet", "10.9.0.0/24", "--ip-range", "10.9.0.128", "n")]
    [InlineData("--ip-range: 'fd00::' in 'fd00::/64' is not an IPv4 address", "network", "create", "--ip-range", "fd00::/64", "n")]
    [InlineData("--aux-address 'router' must be NAME=IP", "network", "create", "--subnet", "10.9.0.0/24", "--aux-address", "router", "n")]
    [InlineData("--aux-address 'r=10.9.0': '10.9.0' is not an IPv4 address; write NAME=IP, such as r=10.0.9.5.", "network", "create", "--aux-address", "r=10.9.0", "n")]
    [InlineData("--filter 'type=system': invalid filter: 'type'='system'", "network", "ls", "--filter", "type=system")]
    [InlineData("--filter 'dangling=yes': invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")", "network", "ls", "--filter", "dangling=yes")]
    [InlineData("got more than one value for filter key \"dangling\"", "network", "ls", "--filter", "dangling=true", "--filter", "dangling=1")]
    [InlineData("'10.0.0.1:99999' is not a manager address", "swarm", "join", "--token", "SWMTKN-1-a-b", "10.0.0.1:99999")]
    [InlineData("'a b' is not a manager address", "swarm", "join", "--token", "SWMTKN-1-a-b", "a b")]
    [InlineData("--token 'abc' is not a join token", "swarm", "join", "--token", "abc", "10.0.0.1:2377")]
    [InlineData("--advertise-addr '10.0.0.1:x'", "swarm", "init", "--advertise-addr", "10.0.0.1:x")]
    [InlineData("'boss' is not a role", "swarm", "join-token", "boss")]
    [InlineData("'colour' is not a node filter", "node", "ls", "--filter", "colour=red")]
    [InlineData("role must be manager or worker", "node", "ls", "--filter", "role=boss")]
    [InlineData("there is no field .Foo", "node", "ls", "--format", "{{.Foo}}")]
    [InlineData("--format cannot be combined with --pretty", "node", "inspect", "--pretty", "--format", "{{.ID}}", "n1")]
    [InlineData("--host 'http://10.0.0.1:2375'", "-H", "http://10.0.0.1:2375", "node", "ls")]
    [InlineData("--host 'tcp://10.0.0.1:99999'", "-H", "tcp://10.0.0.1:99999", "node", "ls")]
    public async Task Invalid_Values_Are_Refused_Before_Anything_Is_Sent(string expected, params string[] args)
    {
        var (code, output, error) = await RunAsync(NoAnswers, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("--help'.", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.Empty(NoAnswers.Requests);
    }

    [Theory]
    [InlineData("unknown flag: --ipv6\nSee 'protoswarm network create --help'.", "network", "create", "--ipv6")]
    [InlineData("unknown flag: --ipv6\nSee 'protoswarm network create --help'.", "network", "create", "--ipv6", "v6b")]
    [InlineData("unknown flag: --scope\n", "network", "create", "--scope", "local", "loc")]
    [InlineData("unknown flag: --bogus\n", "network", "rm", "--bogus")]
    [InlineData("unknown flag: --bogus\n", "network", "inspect", "net1", "--bogus")]
    [InlineData("unknown flag: -z\n", "node", "inspect", "-z", "n1")]
    [InlineData("unknown flag: --bogus\nSee 'protoswarm node ls --help'.", "node", "ls", "--bogus")]
    [InlineData("unknown flag: --bogus\nSee 'protoswarm service ls --help'.", "service", "ls", "--bogus=1")]
    [InlineData("\"protoswarm info\" accepts no arguments.\nSee 'protoswarm info --help'.", "info", "extra")]
    [InlineData("invalid argument \"maybe\" for \"--autolock\" flag: give true or false, e.g. --autolock=true\nSee 'protoswarm swarm update --help'.", "swarm", "update", "--autolock=maybe")]
    [InlineData("invalid argument \"yes\" for \"--autolock\" flag", "swarm", "init", "--autolock=yes")]
    [InlineData("invalid argument \"x\" for \"--quiet\" flag", "service", "ls", "-q=x")]
    public async Task An_Unknown_Flag_Is_Named_As_One_Not_Taken_For_A_Name(string expected, params string[] args)
    {
        var (code, output, error) = await RunAsync(NoAnswers, args);

        Assert.Equal(1, code);
        Assert.StartsWith(expected, error.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.Empty(NoAnswers.Requests);
    }

    [Theory]
    [InlineData("\"protoswarm secret create\" requires exactly 2 arguments.\nSee 'protoswarm secret create --help'.\n", "secret", "create")]
    [InlineData("\"protoswarm config create\" requires exactly 2 arguments.\nSee 'protoswarm config create --help'.\n", "config", "create", "only-a-name")]
    [InlineData("\"protoswarm node update\" requires exactly 1 argument.\nSee 'protoswarm node update --help'.\n", "node", "update", "m1", "m2", "--availability", "drain")]
    [InlineData("\"protoswarm node update\" requires exactly 1 argument.\nSee 'protoswarm node update --help'.\n", "node", "update", "--availability", "drain")]
    public async Task A_Wrong_Number_Of_Arguments_Is_One_Sentence_As_Docker_Says_It(string expected, params string[] args)
    {
        var (code, output, error) = await RunAsync(NoAnswers, args);

        Assert.Equal(1, code);
        Assert.Equal(expected, error.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Empty(output);
        Assert.Empty(NoAnswers.Requests);
    }

    [Theory]
    [InlineData("unknown command \"update\" for \"protoswarm volume\"\nSee 'protoswarm volume --help'.\n", "volume", "update", "data")]
    [InlineData("unknown command \"restart\" for \"protoswarm service\"\nSee 'protoswarm service --help'.\n", "service", "restart", "web")]
    [InlineData("unknown command \"rotate\" for \"protoswarm registry\"\nSee 'protoswarm registry --help'.\n", "-H", "unix:///tmp/x.sock", "registry", "rotate")]
    [InlineData("unknown command \"pause\" for \"protoswarm container\"\nSee 'protoswarm container --help'.\n", "container", "pause", "probe")]
    [InlineData("unknown command \"pause\" for \"protoswarm\"\nSee 'protoswarm --help'.\n", "pause", "probe")]
    [InlineData("unknown flag: --bogus\nSee 'protoswarm image --help'.\n", "image", "--bogus")]
    [InlineData("unknown command \"dial-stdio\" for \"protoswarm system\"\nSee 'protoswarm system --help'.\n", "system", "dial-stdio")]
    [InlineData("unknown command \"bogus\" for \"protoswarm\"\nSee 'protoswarm --help'.\n", "bogus", "info")]
    [InlineData("unknown command \"bogus\" for \"protoswarm\"\nSee 'protoswarm --help'.\n", "-H", "unix:///tmp/x.sock", "bogus", "info")]
    [InlineData("unknown command \"bogus\" for \"protoswarm node\"\nSee 'protoswarm node --help'.\n", "node", "bogus", "ls")]
    public async Task A_Subcommand_A_Group_Does_Not_Have_Is_Named_In_One_Sentence_Without_The_Help(string expected, params string[] args)
    {
        var (code, output, error) = await RunAsync(NoAnswers, args);

        Assert.Equal(1, code);
        Assert.Equal(expected, error.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Empty(output);
        Assert.Empty(NoAnswers.Requests);
    }

    [Fact]
    public void A_Dash_Value_After_Double_Dash_A_Lone_Dash_And_A_Negative_Number_Are_Arguments()
    {
        var root = new CliApp(_ => NoAnswers).CreateRoot();
        root.Subcommands.Add(ProtoSwarm.Cli.Lab.LabCommands.Create());

        Assert.Null(CliApp.UnknownFlag(root.Parse(["lab", "exec", "w1", "--name", "x", "--", "ip", "-o", "link"])));
        Assert.Null(CliApp.UnknownFlag(root.Parse(["secret", "create", "s1", "-"])));
        Assert.Null(CliApp.UnknownFlag(root.Parse(ServiceCommands.SeparateContainerCommand(["service", "create", "busybox", "sh", "-c", "true"]))));
        Assert.Equal("--ipv6", CliApp.UnknownFlag(root.Parse(["network", "create", "--ipv6"])));
    }

    [Theory]
    [InlineData("10.0.0.1:2377", "10.0.0.1:2377")]
    [InlineData("10.0.0.1", "10.0.0.1:2377")]
    [InlineData("manager1:4000", "manager1:4000")]
    [InlineData("[fd00::1]:2377", "[fd00::1]:2377")]
    [InlineData("fd00::1", "[fd00::1]:2377")]
    public void Manager_Addresses_Get_Docker_Default_Port(string given, string expected)
    {
        Assert.Equal(expected, ArgumentRules.RemoteAddr(given).Value);
    }

    [Theory]
    [InlineData("DRAIN", NodeAvailability.Drain)]
    [InlineData("pause", NodeAvailability.Pause)]
    [InlineData("active", NodeAvailability.Active)]
    public void Availability_Is_Read_Regardless_Of_Case(string given, NodeAvailability expected)
    {
        Assert.Equal(expected, ArgumentRules.Availability(given).Value);
    }

    [Fact]
    public void Label_Add_Allows_An_Empty_Value_After_The_Equals_Sign()
    {
        Assert.Equal(new KeyValuePair<string, string>("ssd", string.Empty), ArgumentRules.LabelAdd("ssd=").Value);
        Assert.Equal(new KeyValuePair<string, string>("zone", "a=b"), ArgumentRules.LabelAdd("zone=a=b").Value);
    }

    [Fact]
    public void Label_Add_Takes_A_Key_Alone_As_An_Empty_Value_As_Docker_Does()
    {
        // docker node update --label-add ssd node1 stores ssd="" (its opts.ConvertKVStringsToMap).
        Assert.Equal(new KeyValuePair<string, string>("ssd", string.Empty), ArgumentRules.LabelAdd("ssd").Value);
    }

    [Theory]
    [InlineData("unix:///run/protoswarm/control.sock", "/run/protoswarm/control.sock")]
    [InlineData("/tmp/node1/control.sock", "/tmp/node1/control.sock")]
    [InlineData("tcp://10.0.0.1", "tcp://10.0.0.1:2377")]
    [InlineData("tcp://10.0.0.1:4000", "tcp://10.0.0.1:4000")]
    public void Host_Flag_Names_The_Control_Socket_Or_A_Manager(string given, string expected)
    {
        Assert.Equal(expected, CliContext.Target(given));
    }
}
