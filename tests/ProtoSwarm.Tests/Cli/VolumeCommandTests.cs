using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class VolumeCommandTests
{
    private static VolumeObject Volume(string name, params (string Key, string Value)[] labels) => new(
        name, "local", $"/var/lib/protoswarm/volumes/{name}/_data", Joined,
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value))), "local", []);

    [Fact]
    public async Task Volume_Create_Sends_The_Name_And_Labels_And_Prints_The_Name()
    {
        var node = new FakeNode(_ => new VolumeCreated(Volume("pgdata", ("app", "db"))));

        var (code, output, _) = await RunAsync(node, "volume", "create", "--label", "app=db", "pgdata");

        Assert.Equal(0, code);
        var request = Assert.IsType<CreateVolume>(Assert.Single(node.Requests));
        Assert.Equal(("pgdata", "local", "db"), (request.Name, request.Driver, request.Labels["app"]));
        Assert.Equal("pgdata\n", output);
    }

    [Theory]
    [InlineData("x", "at least two characters")]
    [InlineData("--driver=nfs", "only the local driver")]
    [InlineData("--opt=type=nfs", "takes no options")]
    public async Task Volume_Create_Refuses_Bad_Input_Before_Asking_The_Node(string argument, string expected)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "volume", "create", argument);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Volume_Ls_Prints_Dockers_Columns_Names_With_Q_And_Json_Lines()
    {
        var node = new FakeNode(_ => new VolumeList([Volume("web"), Volume("db", ("tier", "back"))]));

        var table = await RunAsync(node, "volume", "ls");
        var quiet = await RunAsync(node, "volume", "ls", "-q");
        var json = await RunAsync(node, "volume", "ls", "--format", "json");

        Assert.Equal("DRIVER    VOLUME NAME\nlocal     db\nlocal     web\n", table.Out);
        Assert.Equal("db\nweb\n", quiet.Out);
        var first = JsonNode.Parse(json.Out.Split('\n')[0])!;
        Assert.Equal(("db", "tier=back"), (first["Name"]!.GetValue<string>(), first["Labels"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Volume_Inspect_And_Rm_Report_Each_Volume_And_Fail_For_One_In_Use()
    {
        var node = new FakeNode(request => request switch
        {
            InspectVolume => new VolumeDetails(Volume("db")),
            RemoveVolume { Name: "db" } => new CommandRejected(RejectCode.Conflict, "remove db: volume is in use by task t1; remove or update the service that runs it first"),
            RemoveVolume r => new VolumeRemoved(r.Name),
            _ => throw new InvalidOperationException(),
        });

        var inspect = await RunAsync(node, "volume", "inspect", "-f", "{{.Mountpoint}} {{.Scope}}", "db");
        var rm = await RunAsync(node, "volume", "rm", "db", "web");

        Assert.Equal("/var/lib/protoswarm/volumes/db/_data local\n", inspect.Out);
        Assert.Equal(1, rm.Code);
        Assert.Equal("web\n", rm.Out);
        Assert.Contains("volume is in use by task t1", rm.Err, StringComparison.Ordinal);
    }
}
