using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class ContainerCommandTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static ContainerObject Container(string id, string name, string state = "running", int exitCode = 0, string health = "",
        TimeSpan? createdAgo = null, params (string Key, string Value)[] labels) => new(
        id, name, "web:1.2@sha256:0123456789abcdef", "sha256:feedbeefcafe0000", "/bin/httpd", ["-f", "-p", "8080", "-h", "/www/html"],
        Now - (createdAgo ?? TimeSpan.FromMinutes(5)), state, state == "running" ? 4242 : 0, exitCode,
        state == "created" ? null : Now - (createdAgo ?? TimeSpan.FromMinutes(5)) + TimeSpan.FromSeconds(30),
        state == "exited" ? Now - TimeSpan.FromMinutes(2) : null,
        health,
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value))
            .Append(KeyValuePair.Create("com.docker.swarm.service.name", name.Split('.')[0]))),
        state == "running" ? [new PortConfig(80, 8080, PortProtocol.Tcp, PublishMode.Host)] : [],
        id[..12], ["PATH=/bin", "MODE=prod"], "www", "/www",
        [new MountSpec(MountType.Volume, "webdata", "/data")],
        [new ContainerNetwork("front", "n1front", "10.0.1.5/24", ["web"])],
        Entrypoint: ["/bin/httpd"], Cmd: ["-f", "-p", "8080", "-h", "/www/html"]);

    private static readonly ContainerObject Web1 = Container("aaaa1111bbbb2222cccc3333d", "web.1.aaaa1111bbbb2222cccc3333d", health: "healthy", labels: ("tier", "front"));
    private static readonly ContainerObject Web2 = Container("bbbb1111bbbb2222cccc3333d", "web.2.bbbb1111bbbb2222cccc3333d", health: "starting", createdAgo: TimeSpan.FromMinutes(3));
    private static readonly ContainerObject Old = Container("cccc1111bbbb2222cccc3333d", "web.2.cccc1111bbbb2222cccc3333d", "exited", 137, createdAgo: TimeSpan.FromHours(3));
    private static readonly ContainerObject Agent = Container("dddd1111bbbb2222cccc3333d", "agent.node1.dddd1111bbbb2222cccc3333d", createdAgo: TimeSpan.FromMinutes(10), labels: ("tier", "ops"));

    private static FakeNode Node(params ContainerObject[] containers) =>
        new(request => request is ListContainers l
            ? new ContainerList([.. containers.Where(c => l.All || c.State == "running")], DateTimeOffset.UtcNow)
            : throw new InvalidOperationException($"unexpected {request}"));

    [Fact]
    public async Task Ps_Prints_Dockers_Columns_Newest_First_With_Truncated_Ids_Commands_And_Status_Words()
    {
        var node = Node(Web1, Web2, Old, Agent);

        var (code, output, _) = await RunAsync(node, "ps");

        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.Matches(@"^bbbb1111bbbb +web:1\.2 +""/bin/httpd -f -p 80…"" +3 minutes ago +Up 2 minutes \(health: starting\) +0\.0\.0\.0:8080->80/tcp +web\.2\.bbbb1111bbbb2222cccc3333d$", lines[1]);
        Assert.Matches(@"^aaaa1111bbbb .* 5 minutes ago +Up 4 minutes \(healthy\) .* web\.1\.aaaa1111bbbb2222cccc3333d$", lines[2]);
        Assert.StartsWith("dddd1111bbbb ", lines[3], StringComparison.Ordinal);
        Assert.False(Assert.IsType<ListContainers>(Assert.Single(node.Requests)).All);
    }

    [Fact]
    public async Task Ps_All_Shows_Exited_Containers_And_No_Trunc_Shows_Everything()
    {
        var node = Node(Web1, Old);

        var (_, output, _) = await RunAsync(node, "container", "ls", "-a", "--no-trunc");

        Assert.True(Assert.IsType<ListContainers>(Assert.Single(node.Requests)).All);
        var exited = output.Split('\n').Single(l => l.StartsWith("cccc", StringComparison.Ordinal));
        Assert.Matches(@"^cccc1111bbbb2222cccc3333d +web:1\.2@sha256:0123456789abcdef +""/bin/httpd -f -p 8080 -h /www/html"" +3 hours ago +Exited \(137\) 2 minutes ago +web\.2\.cccc1111bbbb2222cccc3333d$", exited);
    }

    [Theory]
    [InlineData("ps", "-q")]
    [InlineData("container", "list", "-q")]
    [InlineData("container", "ps", "-q")]
    public async Task Ps_Quiet_Prints_Short_Ids_Under_Every_Name(params string[] args)
    {
        var (code, output, _) = await RunAsync(Node(Web1, Agent), args);

        Assert.Equal((0, "aaaa1111bbbb\ndddd1111bbbb\n"), (code, output));
    }

    [Theory]
    [InlineData("name=web", "bbbb1111bbbb\naaaa1111bbbb\n")]
    [InlineData("name=^agent\\.", "dddd1111bbbb\n")]
    [InlineData("id=aaaa", "aaaa1111bbbb\n")]
    [InlineData("label=tier", "aaaa1111bbbb\ndddd1111bbbb\n")]
    [InlineData("label=tier=front", "aaaa1111bbbb\n")]
    [InlineData("label=com.docker.swarm.service.name=agent", "dddd1111bbbb\n")]
    [InlineData("status=exited", "cccc1111bbbb\n")]
    [InlineData("exited=137", "cccc1111bbbb\n")]
    [InlineData("exited=0", "")]
    [InlineData("health=healthy", "aaaa1111bbbb\n")]
    [InlineData("health=none", "dddd1111bbbb\n")]
    [InlineData("ancestor=web:1.2", "bbbb1111bbbb\naaaa1111bbbb\ndddd1111bbbb\n")]
    [InlineData("ancestor=nginx", "")]
    public async Task Ps_Filters_As_Docker(string filter, string expected)
    {
        var (code, output, _) = await RunAsync(Node(Web1, Web2, Old, Agent), "ps", "-q", "--filter", filter);

        Assert.Equal((0, expected), (code, output));
    }

    [Theory]
    [InlineData("status=sleeping", "status must be one of created, restarting, running, removing, paused, exited, dead")]
    [InlineData("exited=x", "exited must be an exit code")]
    [InlineData("volume=x", "'volume' is not a filter here")]
    public async Task Ps_Refuses_A_Filter_It_Cannot_Apply_Before_Asking(string filter, string expected)
    {
        var node = Node(Web1);

        var (code, _, error) = await RunAsync(node, "ps", "--filter", filter);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Ps_Last_And_Latest_Take_The_Newest_Of_Every_State()
    {
        var node = Node(Web1, Old, Agent);

        var last = await RunAsync(node, "ps", "-q", "-n", "2");
        var latest = await RunAsync(node, "ps", "-q", "-l");

        Assert.Equal("aaaa1111bbbb\ndddd1111bbbb\n", last.Out);
        Assert.Equal("aaaa1111bbbb\n", latest.Out);
        Assert.All(node.Requests.Cast<ListContainers>(), r => Assert.True(r.All));
    }

    [Fact]
    public async Task Ps_Json_And_Templates_Use_Dockers_Fields()
    {
        var json = await RunAsync(Node(Web1), "ps", "--format", "json");
        var template = await RunAsync(Node(Web1), "ps", "--format", "{{.Names}} {{.State}} {{.Networks}} {{.Mounts}}");
        var table = await RunAsync(Node(Web1), "ps", "--format", "table {{.ID}}\t{{.Status}}");

        var line = JsonNode.Parse(json.Out)!.AsObject();
        Assert.Equal(
            ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"],
            line.Select(p => p.Key));
        Assert.Equal("aaaa1111bbbb", (string?)line["ID"]);
        Assert.Equal("\"/bin/httpd -f -p 80…\"", (string?)line["Command"]);
        Assert.Equal("com.docker.swarm.service.name=web,tier=front", (string?)line["Labels"]);
        Assert.EndsWith(" +0000 UTC", (string?)line["CreatedAt"], StringComparison.Ordinal);
        Assert.Equal("web.1.aaaa1111bbbb2222cccc3333d running front webdata\n", template.Out);
        Assert.Matches("^CONTAINER ID +STATUS\naaaa1111bbbb +Up 4 minutes \\(healthy\\)\n$", table.Out);
    }

    [Theory]
    [InlineData("created", 0, "", "Created")]
    [InlineData("running", 0, "", "Up 4 minutes")]
    [InlineData("running", 0, "unhealthy", "Up 4 minutes (unhealthy)")]
    [InlineData("exited", 0, "", "Exited (0) 2 minutes ago")]
    [InlineData("exited", 143, "healthy", "Exited (143) 2 minutes ago")]
    public void Status_Is_Dockers_Wording(string state, int exitCode, string health, string expected)
    {
        var container = Container("eeee1111bbbb2222cccc3333d", "x.1.eeee", state, exitCode, health);

        Assert.Equal(expected, ContainerView.StatusText(container, Now));
    }

    [Fact]
    public async Task A_Restarting_Container_Shows_Dockers_Status_And_Inspect_Its_Restart_Count_And_Policy()
    {
        var restarting = Container("ffff1111bbbb2222cccc3333d", "flaky", "exited", 1) with
        {
            State = "restarting", FinishedAt = Now - TimeSpan.FromSeconds(3), RestartCount = 2, RestartPolicy = "on-failure", MaximumRetryCount = 5,
        };

        var (code, output, _) = await RunAsync(Node(restarting), "container", "inspect", "flaky");

        Assert.Equal("Restarting (1) 3 seconds ago", ContainerView.StatusText(restarting, Now));
        Assert.Equal(0, code);
        var inspected = Assert.Single(JsonNode.Parse(output)!.AsArray())!.AsObject();
        Assert.Equal(2, (int)inspected["RestartCount"]!);
        Assert.True((bool)inspected["State"]!["Restarting"]!);
        Assert.Equal(("on-failure", 5), ((string?)inspected["HostConfig"]!["RestartPolicy"]!["Name"], (int)inspected["HostConfig"]!["RestartPolicy"]!["MaximumRetryCount"]!));
        Assert.Equal("no", (string?)ContainerView.Inspect(Web1)["HostConfig"]!["RestartPolicy"]!["Name"]);
    }

    [Theory]
    [InlineData("sh", "\"sh\"")]
    [InlineData("exactly twenty chars", "\"exactly twenty chars\"")]
    [InlineData("twenty-one characters", "\"twenty-one characte…\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    public void Command_Is_Quoted_And_Cut_At_Twenty_Characters(string command, string expected)
    {
        var container = Container("eeee1111bbbb2222cccc3333d", "x.1.eeee") with { Path = command, Args = [] };

        Assert.Equal(expected, ContainerView.CommandText(container, noTrunc: false));
    }

    [Fact]
    public async Task Container_Inspect_Shows_The_Health_Checks_Failing_Streak_And_Last_Probes_As_Docker_Does()
    {
        var at = new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
        var failing = Web1 with
        {
            Health = "starting",
            HealthFailingStreak = 2,
            HealthLog = [new(at, at.AddMilliseconds(40), 0, "ok\n"), new(at.AddSeconds(30), at.AddSeconds(30.5), 1, "refused\n"), new(at.AddSeconds(60), at.AddSeconds(65), -1, "Health check exceeded timeout (5s)")],
        };

        var (code, output, _) = await RunAsync(Node(failing), "container", "inspect", "web.1.aaaa1111bbbb2222cccc3333d");
        var (_, templated, _) = await RunAsync(Node(failing), "container", "inspect", "-f", "{{.State.Health.FailingStreak}} {{len .State.Health.Log}} {{(index .State.Health.Log 1).ExitCode}}", "aaaa");

        Assert.Equal(0, code);
        var health = Assert.Single(JsonNode.Parse(output)!.AsArray())!["State"]!["Health"]!;
        Assert.Equal(("starting", 2), ((string?)health["Status"], (int)health["FailingStreak"]!));
        Assert.Equal(["Start", "End", "ExitCode", "Output"], health["Log"]![0]!.AsObject().Select(p => p.Key));
        Assert.Equal(
            [("2026-12-07T10:00:00Z", "2026-12-07T10:00:00.04Z", 0, "ok\n"), ("2026-12-07T10:00:30Z", "2026-12-07T10:00:30.5Z", 1, "refused\n"), ("2026-12-07T10:01:00Z", "2026-12-07T10:01:05Z", -1, "Health check exceeded timeout (5s)")],
            health["Log"]!.AsArray().Select(p => ((string?)p!["Start"], (string?)p["End"], (int)p["ExitCode"]!, (string?)p["Output"])));
        Assert.Equal("2 3 1\n", templated);
    }

    [Fact]
    public async Task Container_Inspect_Of_A_Container_Whose_Start_Failed_Shows_Its_Exit_Code_And_Error_As_Docker_Does()
    {
        const string NotFound = "failed to create task for container: exec: \"/nonexistent\": stat /nonexistent: no such file or directory";
        var failed = Container("ffff1111bbbb2222cccc3333d", "failed", "created") with { ExitCode = 127, Error = NotFound };

        var (code, output, _) = await RunAsync(Node(failed), "container", "inspect", "failed");
        var (_, templated, _) = await RunAsync(Node(failed), "container", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", "failed");
        var (_, healthy, _) = await RunAsync(Node(Web1), "container", "inspect", "-f", "[{{.State.Error}}]", "aaaa");

        Assert.Equal(0, code);
        var state = Assert.Single(JsonNode.Parse(output)!.AsArray())!["State"]!;
        Assert.Equal(("created", 127, NotFound), ((string?)state["Status"], (int)state["ExitCode"]!, (string?)state["Error"]));
        Assert.Equal($"created 127 {NotFound}\n", templated);
        Assert.Equal("[]\n", healthy);
    }

    [Fact]
    public async Task Container_Inspect_Shows_A_Volumes_Name_And_Its_Directory_On_The_Node_And_A_Binds_Host_Path_As_Docker_Does()
    {
        const string DataDir = "/var/lib/protoswarm/volumes/webdata/_data";
        var mounted = Container("9999aaaabbbb2222cccc3333d", "mounted") with
        {
            Mounts = [new MountSpec(MountType.Volume, "webdata", "/data"), new MountSpec(MountType.Bind, "/srv/www", "/www", ReadOnly: true)],
            VolumePaths = ImmutableSortedDictionary<string, string>.Empty.Add("webdata", DataDir),
        };

        var (code, output, _) = await RunAsync(Node(mounted), "container", "inspect", "mounted");
        var (_, templated, _) = await RunAsync(Node(mounted), "container", "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}};{{end}}", "mounted");
        var (_, older, _) = await RunAsync(Node(mounted with { VolumePaths = ImmutableSortedDictionary<string, string>.Empty }), "container", "inspect", "-f", "{{(index .Mounts 0).Source}}", "mounted");

        Assert.Equal(0, code);
        var mounts = Assert.Single(JsonNode.Parse(output)!.AsArray())!["Mounts"]!.AsArray();
        Assert.Equal(
            """{"Type":"volume","Name":"webdata","Source":"/var/lib/protoswarm/volumes/webdata/_data","Destination":"/data","Driver":"local","Mode":"","RW":true,"Propagation":""}""",
            mounts[0]!.ToJsonString());
        Assert.Equal("""{"Type":"bind","Source":"/srv/www","Destination":"/www","Mode":"","RW":false,"Propagation":"rprivate"}""", mounts[1]!.ToJsonString());
        Assert.Equal($"volume {DataDir} /data true;bind /srv/www /www false;\n", templated);
        // A node before VolumePaths: the volume's name, as before.
        Assert.Equal("webdata\n", older);
    }

    [Fact]
    public async Task Container_Inspect_Of_A_Tasks_Container_Shows_Its_Anonymous_Volume_By_Name_And_Mode_As_Dockers_Daemon_Sets_It()
    {
        const string Anonymous = "3c1b8a0f9e2d4c6b8a0f9e2d4c6b8a0f9e2d4c6b8a0f9e2d4c6b8a0f9e2d4c6b";
        var task = Container("7777aaaabbbb2222cccc3333d", "web.1.7777aaaabbbb2222cccc3333d", labels: ("com.docker.swarm.task.id", "7777aaaabbbb2222cccc3333d")) with
        {
            Mounts =
            [
                new MountSpec(MountType.Volume, Anonymous, "/cache"), new MountSpec(MountType.Volume, "webdata", "/data", ReadOnly: true),
                new MountSpec(MountType.Volume, "remote", "/remote", VolumeDriver: "nfs"), new MountSpec(MountType.Bind, "/srv/www", "/www"),
                new MountSpec(MountType.Tmpfs, "", "/tmp"),
            ],
            VolumePaths = ImmutableSortedDictionary<string, string>.Empty.Add(Anonymous, $"/v/{Anonymous}/_data").Add("webdata", "/v/webdata/_data"),
        };
        var standalone = task with { Labels = ImmutableSortedDictionary<string, string>.Empty, Name = "loose" };

        var (code, output, _) = await RunAsync(Node(task), "container", "inspect", "-f",
            "{{(index .Mounts 0).Name}}: {{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} mode={{.Mode}} {{.RW}};{{end}}", task.Name);
        var (_, loose, _) = await RunAsync(Node(standalone), "container", "inspect", "-f", "{{range .Mounts}}mode={{.Mode}};{{end}}", "loose");

        // docker's daemon: "z" for each local-driver volume made from a mount spec (a task's all are), anonymous or named,
        // read-only or not (RW says that); "" for a bind, a tmpfs and another driver's volume.
        Assert.Equal(0, code);
        Assert.Equal(
            $"{Anonymous}: volume /v/{Anonymous}/_data /cache mode=z true;volume /v/webdata/_data /data mode=z false;"
            + "volume remote /remote mode= true;bind /srv/www /www mode= true;tmpfs  /tmp mode= true;\n",
            output);
        Assert.Equal("mode=;mode=;mode=;mode=;mode=;\n", loose);
    }

    [Fact]
    public async Task Container_Inspect_Shows_Dockers_Fields_And_A_Template_Reads_Them()
    {
        var node = Node(Web1, Old);

        var (code, output, _) = await RunAsync(node, "container", "inspect", "web.1.aaaa1111bbbb2222cccc3333d");
        var (_, templated, _) = await RunAsync(node, "container", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Config.Hostname}}", "cccc", "/web.1.aaaa1111bbbb2222cccc3333d");

        Assert.Equal(0, code);
        var inspected = Assert.Single(JsonNode.Parse(output)!.AsArray())!.AsObject();
        Assert.Equal(ContainerView.InspectFields, inspected.Select(p => p.Key));
        Assert.Equal("/web.1.aaaa1111bbbb2222cccc3333d", (string?)inspected["Name"]);
        Assert.Equal("/bin/httpd", (string?)inspected["Path"]);
        Assert.Equal(["-f", "-p", "8080", "-h", "/www/html"], inspected["Args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal((true, 4242, "healthy"), ((bool)inspected["State"]!["Running"]!, (int)inspected["State"]!["Pid"]!, (string?)inspected["State"]!["Health"]!["Status"]));
        Assert.Equal("sha256:feedbeefcafe0000", (string?)inspected["Image"]);
        Assert.Equal(("www", "/www", "front"), ((string?)inspected["Config"]!["User"], (string?)inspected["Config"]!["WorkingDir"], (string?)inspected["Config"]!["Labels"]!["tier"]));
        Assert.Equal("10.0.1.5", (string?)inspected["NetworkSettings"]!["Networks"]!["front"]!["IPAddress"]);
        Assert.Equal(("volume", "webdata", "/data"), ((string?)inspected["Mounts"]![0]!["Type"], (string?)inspected["Mounts"]![0]!["Name"], (string?)inspected["Mounts"]![0]!["Destination"]));
        Assert.Equal("exited 137 cccc1111bbbb\nrunning 0 aaaa1111bbbb\n", templated);
    }

    [Fact]
    public async Task Container_Inspect_Shows_The_Default_Bridge_Endpoint_As_Docker_Does()
    {
        var bridged = Web1 with
        {
            // The node gives the bridge's prefix (its LocalNetworks.BridgeAddress), as docker's IPPrefixLen.
            Networks = [new ContainerNetwork("bridge", new string('b', 64), "172.18.0.2/16", [], "172.18.0.1", "02:42:ac:12:00:02", new string('e', 64))],
        };

        var (code, output, _) = await RunAsync(Node(bridged), "container", "inspect", "-f",
            "{{with .NetworkSettings.Networks.bridge}}{{.IPAddress}}/{{.IPPrefixLen}} {{.Gateway}} {{.MacAddress}} {{.NetworkID}} {{.EndpointID}}{{end}}", "web.1.aaaa1111bbbb2222cccc3333d");

        Assert.Equal(0, code);
        Assert.Equal($"172.18.0.2/16 172.18.0.1 02:42:ac:12:00:02 {new string('b', 64)} {new string('e', 64)}\n", output);
    }

    [Fact]
    public async Task Container_Inspect_Has_The_Entrypoint_And_The_Command_Apart_In_Config_And_The_Process_In_Path_And_Args()
    {
        var fromImage = Container("eeee1111bbbb2222cccc3333d", "db.1.eeee1111bbbb2222cccc3333d") with
        {
            Path = "docker-entrypoint.sh", Args = ["postgres", "-c", "fsync=off"], Entrypoint = ["docker-entrypoint.sh"], Cmd = ["postgres", "-c", "fsync=off"],
        };
        var commandOnly = Container("ffff1111bbbb2222cccc3333d", "job.1.ffff1111bbbb2222cccc3333d") with
        {
            Path = "sh", Args = ["-c", "date"], Entrypoint = [], Cmd = ["sh", "-c", "date"],
        };
        var node = Node(fromImage, commandOnly);

        var (code, output, _) = await RunAsync(node, "container", "inspect", "eeee", "ffff");
        var (_, templated, _) = await RunAsync(node, "container", "inspect", "-f", "{{.Path}} {{.Args}} {{.Config.Entrypoint}} {{.Config.Cmd}}", "eeee", "ffff");

        Assert.Equal(0, code);
        var inspected = JsonNode.Parse(output)!.AsArray();
        Assert.Equal("docker-entrypoint.sh", (string?)inspected[0]!["Path"]);
        Assert.Equal(["postgres", "-c", "fsync=off"], inspected[0]!["Args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(["docker-entrypoint.sh"], inspected[0]!["Config"]!["Entrypoint"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(["postgres", "-c", "fsync=off"], inspected[0]!["Config"]!["Cmd"]!.AsArray().Select(a => (string?)a));
        Assert.Null(inspected[1]!["Config"]!["Entrypoint"]);
        Assert.Contains("\"Entrypoint\": null", output, StringComparison.Ordinal);
        Assert.Equal(["sh", "-c", "date"], inspected[1]!["Config"]!["Cmd"]!.AsArray().Select(a => (string?)a));
        Assert.Equal("docker-entrypoint.sh [postgres -c fsync=off] [docker-entrypoint.sh] [postgres -c fsync=off]\nsh [-c date] [] [sh -c date]\n", templated);
    }

    [Fact]
    public async Task Container_Inspect_Of_A_Missing_Container_Says_Dockers_Words_And_Fails()
    {
        var (code, output, error) = await RunAsync(Node(Web1), "container", "inspect", "nope", "aaaa");

        Assert.Equal(1, code);
        Assert.Contains("Error: No such container: nope", error, StringComparison.Ordinal);
        Assert.Equal("aaaa1111bbbb2222cccc3333d", (string?)JsonNode.Parse(output)![0]!["Id"]);
    }

    [Fact]
    public async Task Stats_Prints_Net_And_Block_Io_In_Dockers_Units_In_The_Table_A_Template_And_Json()
    {
        var usage = new ContainerUsageReading(1, 50L << 20, 200L << 20, 3, NetRxBytes: 1234, NetTxBytes: 648, BlockReadBytes: 0, BlockWriteBytes: 4_194_304);
        var node = new FakeNode(_ => new ContainerList([Web1 with { Usage = usage }], DateTimeOffset.UnixEpoch));

        var (code, output, _) = await RunAsync(node, "stats", "--no-stream");
        var (_, templated, _) = await RunAsync(node, "stats", "--no-stream", "--format", "{{.NetIO}}|{{.BlockIO}}");
        var (_, json, _) = await RunAsync(node, "stats", "--no-stream", "--format", "json");

        Assert.Equal(0, code);
        Assert.Matches(@"^aaaa1111bbbb +web\.1\.aaaa1111bbbb2222cccc3333d +0\.00% +50MiB / 200MiB +25\.00% +1\.23kB / 648B +0B / 4\.19MB +3$", output.Split('\n')[1]);
        Assert.Equal("1.23kB / 648B|0B / 4.19MB\n", templated);
        var row = JsonNode.Parse(json)!;
        Assert.Equal(("1.23kB / 648B", "0B / 4.19MB"), ((string?)row["NetIO"], (string?)row["BlockIO"]));
    }

    [Fact]
    public async Task Stats_No_Stream_Prints_One_Table_With_Cpu_From_Two_Readings()
    {
        var readings = 0;
        var node = new FakeNode(request =>
        {
            var reading = readings++;
            var usage = new ContainerUsageReading(1_000_000_000L + (reading * 500_000_000L), 50L << 20, 200L << 20, 3);
            return new ContainerList([Web1 with { Usage = usage }, Old], DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(reading));
        });

        var (code, output, _) = await RunAsync(node, "stats", "--no-stream");
        var json = await RunAsync(node, "container", "stats", "--no-stream", "--format", "json", "web.1.aaaa1111bbbb2222cccc3333d");

        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$", lines[0]);
        Assert.Matches(@"^aaaa1111bbbb +web\.1\.aaaa1111bbbb2222cccc3333d +50\.00% +50MiB / 200MiB +25\.00% +-- +-- +3$", lines[1]);
        Assert.Matches(@"^cccc1111bbbb .* -- +-- / -- ", lines[2]);
        var line = JsonNode.Parse(json.Out)!.AsObject();
        Assert.Equal(("web.1.aaaa1111bbbb2222cccc3333d", "50.00%", "3"), ((string?)line["Container"], (string?)line["CPUPerc"], (string?)line["PIDs"]));
    }

    [Fact]
    public async Task Stats_Streams_A_Table_Each_Interval_Until_Stopped()
    {
        // Stopped (as Ctrl-C would) when the node answers the third refresh, however slowly the machine runs: the first
        // reading is the baseline, each later one a table. The deadline only keeps a broken loop from hanging the suite.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var asked = 0;
        var node = new FakeNode(_ =>
        {
            if (Interlocked.Increment(ref asked) == 4)
            {
                stop.Cancel();
            }

            return new ContainerList([Web1 with { Usage = new ContainerUsageReading(1, 1 << 20, 2 << 20, 1) }], DateTimeOffset.UtcNow);
        });

        var (code, output, _) = await RunUntilAsync(node, stop.Token, "stats");

        Assert.Equal(130, code);
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("CONTAINER ID", StringComparison.Ordinal)));
        Assert.Equal(4, node.Requests.Count);
    }

    [Fact]
    public async Task Stats_Of_A_Missing_Container_Fails_As_Docker()
    {
        var (code, _, error) = await RunAsync(Node(Web1), "stats", "--no-stream", "nope");

        Assert.Equal(1, code);
        Assert.Contains("Error: No such container: nope", error, StringComparison.Ordinal);
    }

    private static readonly ContainerObject Site = Container("eeee1111bbbb2222cccc3333d", "site") with
    {
        Ports = [new PortConfig(443, 8443, PortProtocol.Tcp, PublishMode.Host), new PortConfig(80, 8080, PortProtocol.Tcp, PublishMode.Host),
            new PortConfig(53, 5353, PortProtocol.Udp, PublishMode.Host), new PortConfig(9000, 0, PortProtocol.Tcp, PublishMode.Host)],
    };

    [Fact]
    public async Task Port_Lists_What_The_Node_Bound_In_Dockers_Order_And_Form()
    {
        var (code, output, error) = await RunAsync(Node(Site), "port", "site");

        Assert.True(code == 0, error);
        Assert.Equal("53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n443/tcp -> 0.0.0.0:8443\n", output);
    }

    [Theory]
    [InlineData("80", "0.0.0.0:8080\n")]
    [InlineData("80/tcp", "0.0.0.0:8080\n")]
    [InlineData("53/udp", "0.0.0.0:5353\n")]
    public async Task Port_Of_One_Private_Port_Prints_The_Nodes_Address_For_It(string port, string expected)
    {
        var (code, output, error) = await RunAsync(Node(Site), "container", "port", "eeee1111", port);

        Assert.True(code == 0, error);
        Assert.Equal(expected, output);
    }

    [Theory]
    [InlineData(new[] { "port", "site", "53" }, "Error: No public port '53' published for site")]
    [InlineData(new[] { "port", "site", "9000" }, "Error: No public port '9000' published for site")]
    [InlineData(new[] { "port", "nosuch" }, "Error: No such container: nosuch")]
    public async Task Port_Says_Dockers_Words_For_A_Port_Not_Published_Or_A_Missing_Container(string[] args, string expected)
    {
        var (code, output, error) = await RunAsync(Node(Site), args);

        Assert.Equal((1, ""), (code, output));
        Assert.Equal(expected, error.Trim());
    }

    [Theory]
    [InlineData("abc", "invalid port (abc)")]
    [InlineData("70000", "invalid port (70000)")]
    [InlineData("80/icmp", "invalid protocol (icmp) in '80/icmp'")]
    public async Task Port_Refuses_A_Port_That_Is_Not_One_Before_Asking_The_Node(string port, string expected)
    {
        var node = Node(Site);

        var (code, _, error) = await RunAsync(node, "port", "site", port);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    private static readonly ContainerObject Ended = Container("1111aaaabbbb2222cccc3333d", "ended", "exited", 3, createdAgo: TimeSpan.FromHours(3), labels: ("tier", "back"));
    private static readonly ContainerObject Made = Container("2222aaaabbbb2222cccc3333d", "made", "created", createdAgo: TimeSpan.FromMinutes(1));
    private static readonly ContainerObject Up = Container("3333aaaabbbb2222cccc3333d", "up", createdAgo: TimeSpan.FromHours(4));
    private static readonly ContainerObject EndedTask = Container("4444aaaabbbb2222cccc3333d", "web.1.4444aaaabbbb2222cccc3333d", "exited", 0,
        createdAgo: TimeSpan.FromHours(5), labels: ("com.docker.swarm.task", ""));

    private static FakeNode PruningNode(long reclaimed) =>
        new(request => request switch
        {
            ListContainers => new ContainerList([Ended, Made, Up, EndedTask], DateTimeOffset.UtcNow),
            PruneContainers p => new ContainersPruned(p.Ids, reclaimed),
            _ => throw new InvalidOperationException($"unexpected {request}"),
        });

    [Theory]
    [InlineData(new string[0], new[] { "2222aaaabbbb2222cccc3333d", "1111aaaabbbb2222cccc3333d" })]
    [InlineData(new[] { "--filter", "until=1h" }, new[] { "1111aaaabbbb2222cccc3333d" })]
    [InlineData(new[] { "--filter", "label=tier=back" }, new[] { "1111aaaabbbb2222cccc3333d" })]
    [InlineData(new[] { "--filter", "label!=tier" }, new[] { "2222aaaabbbb2222cccc3333d" })]
    public async Task Container_Prune_Asks_The_Node_To_Remove_Every_Stopped_Standalone_Container_The_Filters_Keep(string[] filters, string[] expected)
    {
        var node = PruningNode(2048);

        var (code, output, error) = await RunAsync(node, ["container", "prune", "-f", .. filters]);

        Assert.True(code == 0, error);
        Assert.Equal<string>(expected, Assert.Single(node.Requests.OfType<PruneContainers>()).Ids);
        Assert.Equal("Deleted Containers:\n" + string.Concat(expected.Select(e => e + "\n")) + "\nTotal reclaimed space: 2.05kB\n", output);
    }

    [Theory]
    [InlineData("y\n", true)]
    [InlineData("n\n", false)]
    [InlineData("", false)]
    public async Task Container_Prune_Asks_First_As_Docker_And_Only_Yes_Goes_On(string answer, bool pruned)
    {
        var node = PruningNode(0);

        var (code, output, _) = await RunWithInputAsync(node, System.Text.Encoding.UTF8.GetBytes(answer), CancellationToken.None, "container", "prune");

        Assert.Equal(0, code);
        Assert.StartsWith("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ", output, StringComparison.Ordinal);
        Assert.Equal(pruned, output.EndsWith("Total reclaimed space: 0B\n", StringComparison.Ordinal));
        Assert.Equal(pruned, node.Requests.OfType<PruneContainers>().Any());
    }

    [Fact]
    public async Task Container_Prune_With_Nothing_Stopped_Reports_No_Space_Without_Asking_The_Node_To_Remove()
    {
        var node = Node(Web1, Up);

        var (code, output, _) = await RunAsync(node, "container", "prune", "--force");

        Assert.Equal((0, "Total reclaimed space: 0B\n"), (code, output));
        Assert.IsType<ListContainers>(Assert.Single(node.Requests));
    }

    [Theory]
    [InlineData("status=exited", "status")]
    [InlineData("until=yesterday", "until takes a time")]
    public async Task Container_Prune_Refuses_A_Filter_It_Cannot_Use_Before_Asking(string filter, string expected)
    {
        var node = PruningNode(0);

        var (code, _, error) = await RunAsync(node, "container", "prune", "-f", "--filter", filter);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public void An_Ambiguous_Prefix_Is_Refused()
    {
        var e = Assert.Throws<ProtoSwarm.Client.SwarmCommandException>(() => ContainerCommands.Find([Web1, Container("aaaa2222bbbb2222cccc3333d", "y.1.a")], "aaaa"));

        Assert.Contains("multiple containers found with provided prefix: aaaa", e.Message, StringComparison.Ordinal);
    }
}
