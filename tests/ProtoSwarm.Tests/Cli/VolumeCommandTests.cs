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

    private static readonly VolumeList Mixed = new(
    [
        Volume("app-data", ("tier", "back")),
        Volume("app-logs") with { UsedBy = ["task1"] },
        Volume("cache", ("tier", "front")),
        Volume("0123abcd") with { Anonymous = true },
        Volume("4567ef01") with { Anonymous = true, UsedBy = ["task2"] },
    ]);

    [Theory]
    [InlineData("dangling=true", "0123abcd\napp-data\ncache\n")]
    [InlineData("dangling=false", "4567ef01\napp-logs\n")]
    [InlineData("name=app", "app-data\napp-logs\n")]
    [InlineData("name=^c", "cache\n")]
    [InlineData("label=tier", "app-data\ncache\n")]
    [InlineData("label=tier=front", "cache\n")]
    [InlineData("driver=local", "0123abcd\n4567ef01\napp-data\napp-logs\ncache\n")]
    public async Task Volume_Ls_Filters_As_Docker(string filter, string expected)
    {
        var node = new FakeNode(_ => Mixed);

        var (code, output, _) = await RunAsync(node, "volume", "ls", "-q", "--filter", filter);

        Assert.Equal(0, code);
        Assert.Equal(expected, output);
    }

    [Theory]
    [InlineData("dangling=maybe", "dangling must be true or false")]
    [InlineData("size=1", "'size' is not a filter here; use one of dangling, driver, label, name")]
    public async Task Volume_Ls_Refuses_A_Filter_It_Cannot_Apply(string filter, string expected)
    {
        var node = new FakeNode(_ => Mixed);

        var (code, _, error) = await RunAsync(node, "volume", "ls", "--filter", filter);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Volume_Prune_Removes_Unused_Anonymous_Volumes_Or_With_All_Every_Unused_One_And_Adds_Up_The_Space()
    {
        var node = new FakeNode(request => request switch
        {
            ListVolumes => Mixed,
            RemoveVolume { Name: "cache" } => new CommandRejected(RejectCode.Conflict, "remove cache: volume is in use by task t9"),
            RemoveVolume r => new VolumeRemoved(r.Name, 1500),
            _ => throw new InvalidOperationException(),
        });

        var anonymous = await RunAsync(node, "volume", "prune", "-f");
        var removedFirst = node.Requests.OfType<RemoveVolume>().Select(r => r.Name).ToList();
        var all = await RunAsync(node, "volume", "prune", "--all", "--force");
        var labelled = await RunAsync(node, "volume", "prune", "-a", "-f", "--filter", "label=tier=back");

        Assert.Equal("Deleted Volumes:\n0123abcd\n\nTotal reclaimed space: 1.5kB\n", anonymous.Out);
        Assert.Equal(["0123abcd"], removedFirst);
        // cache was taken by a container after the listing: skipped, not an error.
        Assert.Equal((0, "Deleted Volumes:\n0123abcd\napp-data\n\nTotal reclaimed space: 3kB\n"), (all.Code, all.Out));
        Assert.Equal("Deleted Volumes:\napp-data\n\nTotal reclaimed space: 1.5kB\n", labelled.Out);
        Assert.DoesNotContain(node.Requests.OfType<RemoveVolume>(), r => r.Name is "app-logs" or "4567ef01");
    }

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("n\n", false)]
    [InlineData("", false)]
    public async Task Volume_Prune_Asks_First_As_Docker_And_Only_Yes_Goes_On(string answer, bool pruned)
    {
        var node = new FakeNode(request => request switch
        {
            ListVolumes => Mixed,
            RemoveVolume r => new VolumeRemoved(r.Name, 0),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, _) = await RunWithInputAsync(node, System.Text.Encoding.UTF8.GetBytes(answer), CancellationToken.None, "volume", "prune", "-a");

        Assert.Equal(0, code);
        Assert.StartsWith("WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ", output, StringComparison.Ordinal);
        Assert.Equal(pruned, output.Contains("Total reclaimed space: 0B", StringComparison.Ordinal));
        Assert.Equal(pruned, node.Requests.OfType<RemoveVolume>().Any());
    }

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

    [Fact]
    public async Task Volume_Create_Sends_The_Local_Drivers_Options()
    {
        var node = new FakeNode(_ => new VolumeCreated(Volume("scratch")));

        var (code, _, _) = await RunAsync(node, "volume", "create", "-o", "type=tmpfs", "--opt", "device=tmpfs", "-o", "o=size=100m,uid=1000", "scratch");

        Assert.Equal(0, code);
        var request = Assert.IsType<CreateVolume>(Assert.Single(node.Requests));
        Assert.Equal(["device=tmpfs", "o=size=100m,uid=1000", "type=tmpfs"], request.Options.Select(o => $"{o.Key}={o.Value}"));
    }

    [Theory]
    [InlineData("x", "at least two characters")]
    [InlineData("--driver=nfs", "only the local driver")]
    [InlineData("--opt=type", "is not KEY=VALUE")]
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
