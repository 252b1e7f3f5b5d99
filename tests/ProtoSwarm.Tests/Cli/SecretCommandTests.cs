using System.Collections.Immutable;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class SecretCommandTests : IDisposable
{
    private static readonly ImmutableSortedDictionary<string, string> Tier = ImmutableSortedDictionary<string, string>.Empty.Add("tier", "db");

    private static readonly SecretSummary Db = new("secdb0000000000000000000a", "db_password", Tier, Joined, Joined.AddMinutes(1), 7);
    private static readonly SecretSummary Api = new("secapi000000000000000000b", "api_key", ImmutableSortedDictionary<string, string>.Empty, Joined, Joined, 9);

    private readonly string _temp = Directory.CreateTempSubdirectory("secret-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Secret_Create_Reads_The_File_Sends_Name_Labels_And_Data_And_Prints_The_Id()
    {
        var file = Path.Combine(_temp, "password.txt");
        await File.WriteAllTextAsync(file, "hunter2\n");
        var node = new FakeNode(_ => new SecretCreated("newsecretid"));

        var (code, output, error) = await RunAsync(node, "secret", "create", "--label", "tier=db", "-l", "env", "db_password", file);

        Assert.Equal((0, "newsecretid\n", ""), (code, output, error));
        var spec = Assert.IsType<CreateSecret>(Assert.Single(node.Requests)).Spec;
        Assert.Equal(("db_password", "hunter2\n", "db", ""), (spec.Name, Encoding.UTF8.GetString(spec.Data), spec.Labels["tier"], spec.Labels["env"]));
    }

    [Fact]
    public async Task Config_Create_Reads_Stdin_For_A_Dash()
    {
        var node = new FakeNode(_ => new ConfigCreated("newconfigid"));

        var (code, output, _) = await RunWithInputAsync(node, Encoding.UTF8.GetBytes("worker_processes 2;\n"), CancellationToken.None, "config", "create", "nginx", "-");

        Assert.Equal((0, "newconfigid\n"), (code, output));
        Assert.Equal("worker_processes 2;\n", Encoding.UTF8.GetString(Assert.IsType<CreateConfig>(Assert.Single(node.Requests)).Spec.Data));
    }

    [Fact]
    public async Task A_Missing_Empty_Or_Too_Large_File_Is_Refused_Before_Anything_Is_Sent()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));
        var empty = Path.Combine(_temp, "empty");
        await File.WriteAllBytesAsync(empty, []);
        var large = Path.Combine(_temp, "large");
        await File.WriteAllBytesAsync(large, new byte[SecretSpec.MaxDataBytes + 1]);

        var missing = await RunAsync(node, "secret", "create", "db_password", Path.Combine(_temp, "nope.txt"));
        var nothing = await RunAsync(node, "secret", "create", "db_password", empty);
        var tooLarge = await RunAsync(node, "config", "create", "site", large);
        var noStdin = await RunWithInputAsync(node, [], CancellationToken.None, "secret", "create", "db_password", "-");

        Assert.All([missing, nothing, tooLarge, noStdin], r => Assert.Equal(1, r.Code));
        Assert.StartsWith("Error: secret file '", missing.Err, StringComparison.Ordinal);
        Assert.Contains("nope.txt' does not exist", missing.Err, StringComparison.Ordinal);
        Assert.Contains("secret data must be larger than 0 and less than 500 KiB", nothing.Err, StringComparison.Ordinal);
        Assert.Contains("config data must be larger than 0 and less than 500 KiB", tooLarge.Err, StringComparison.Ordinal);
        Assert.Contains("stdin holds 0 bytes", noStdin.Err, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("config")]
    public async Task A_Directory_Given_As_The_File_Is_Named_A_Directory_Before_Anything_Is_Sent(string kind)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, output, error) = await RunAsync(node, kind, "create", "site", _temp);

        Assert.Equal((1, "", $"Error: error reading from {_temp}: read {_temp}: is a directory; give the path of the file holding the {kind}, or - to read it from stdin.\n"), (code, output, error));
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("config")]
    [InlineData("secret")]
    public async Task Template_Driver_Golang_Is_Sent_With_The_Data_As_Written(string kind)
    {
        var file = Path.Combine(_temp, "site.conf");
        await File.WriteAllTextAsync(file, "server_name {{ .Service.Name }};\n");
        var node = new FakeNode(request => request is CreateSecret ? new SecretCreated("s1") : new ConfigCreated("c1"));

        var (code, _, error) = await RunAsync(node, kind, "create", "--template-driver", "golang", "site", file);

        Assert.Equal((0, ""), (code, error));
        var (templating, data) = Assert.Single(node.Requests) switch
        {
            CreateSecret s => (s.Spec.Templating, s.Spec.Data),
            CreateConfig c => (c.Spec.Templating, c.Spec.Data),
            var other => throw new InvalidOperationException(other.ToString()),
        };
        Assert.Equal(("golang", "server_name {{ .Service.Name }};\n"), (templating, Encoding.UTF8.GetString(data)));
    }

    [Fact]
    public async Task Without_A_Template_Driver_None_Is_Sent()
    {
        var file = Path.Combine(_temp, "site.conf");
        await File.WriteAllTextAsync(file, "x");
        var node = new FakeNode(_ => new ConfigCreated("c1"));

        await RunAsync(node, "config", "create", "site", file);
        await RunAsync(node, "config", "create", "--template-driver", "", "site2", file);

        Assert.All(node.Requests, r => Assert.Null(Assert.IsType<CreateConfig>(r).Spec.Templating));
    }

    [Theory]
    [InlineData("config", "mustache")]
    [InlineData("secret", "jinja")]
    public async Task Another_Template_Driver_Is_Refused_By_Name_Before_Anything_Is_Sent(string kind, string driver)
    {
        var file = Path.Combine(_temp, "site.conf");
        await File.WriteAllTextAsync(file, "server_name {{ .Service.Name }};\n");
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, output, error) = await RunAsync(node, kind, "create", "--template-driver", driver, "site", file);

        Assert.Equal((1, ""), (code, output));
        Assert.Contains($"--template-driver {driver}: template driver \"{driver}\" is not supported for a {kind}: the only one is \"golang\"", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Inspect_Shows_Templating_As_Docker_Does_Only_For_A_Templated_One()
    {
        var templated = new ConfigSummary("cfgtpl0000000000000000001", "site", ImmutableSortedDictionary<string, string>.Empty, Joined, Joined, 3, [1], "golang");
        var secret = new SecretSummary("sectpl0000000000000000001", "pw", ImmutableSortedDictionary<string, string>.Empty, Joined, Joined, 3, "golang");
        var node = new FakeNode(request => request switch
        {
            InspectConfig => new ConfigDetails(templated),
            _ => new SecretDetails(secret),
        });

        var config = JsonNode.Parse((await RunAsync(node, "config", "inspect", "site")).Out)!.AsArray().Single()!["Spec"]!;
        var secretSpec = JsonNode.Parse((await RunAsync(node, "secret", "inspect", "pw")).Out)!.AsArray().Single()!["Spec"]!;
        var plain = JsonNode.Parse((await RunAsync(new FakeNode(_ => new SecretDetails(Db)), "secret", "inspect", "db_password")).Out)!.AsArray().Single()!["Spec"]!;
        var format = await RunAsync(node, "config", "inspect", "--format", "{{.Spec.Templating.Name}}", "site");

        Assert.Equal("{\"Name\":\"golang\"}", config["Templating"]!.ToJsonString());
        Assert.Equal("{\"Name\":\"golang\"}", secretSpec["Templating"]!.ToJsonString());
        Assert.Null(plain.AsObject()["Templating"]);
        Assert.Equal("golang\n", format.Out);
    }

    [Fact]
    public async Task Secret_Create_Shows_The_Managers_Refusal_Without_A_Stack_Trace()
    {
        var file = Path.Combine(_temp, "password.txt");
        await File.WriteAllTextAsync(file, "x");
        var node = new FakeNode(_ => new CommandRejected(RejectCode.InvalidArgument, "The secret -db cannot be created: invalid name '-db', only 64 [a-zA-Z0-9-_.] characters allowed."));

        var (code, _, error) = await RunAsync(node, "secret", "create", "--", "-db", file);

        Assert.Equal(1, code);
        Assert.StartsWith("Error: The secret -db cannot be created: invalid name", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secret_Ls_Prints_Dockers_Columns_Ids_With_Q_Json_Lines_And_Filters()
    {
        var node = new FakeNode(_ => new SecretList([Db, Api]));

        var table = await RunAsync(node, "secret", "ls");
        var quiet = await RunAsync(node, "secret", "ls", "-q");
        var json = await RunAsync(node, "secret", "ls", "--format", "json");
        var labelled = await RunAsync(node, "secret", "ls", "--format", "{{.Name}}", "-f", "label=tier=db");

        var lines = table.Out.TrimEnd('\n').Split('\n');
        // docker's secret ls has a DRIVER column, empty for secrets kept by the swarm itself.
        Assert.Matches("^ID +NAME +DRIVER +CREATED +UPDATED$", lines[0]);
        Assert.Equal(lines[0].IndexOf("CREATED", StringComparison.Ordinal), System.Text.RegularExpressions.Regex.Match(lines[1], "api_key +([0-9])").Groups[1].Index);
        Assert.Matches("^secapi000000000000000000b +api_key +[0-9]+ months ago +[0-9]+ months ago$", lines[1]);
        Assert.StartsWith("secdb0000000000000000000a   db_password ", lines[2], StringComparison.Ordinal);
        Assert.Equal("secapi000000000000000000b\nsecdb0000000000000000000a\n", quiet.Out);
        var second = JsonNode.Parse(json.Out.Split('\n')[1])!;
        Assert.Equal(("db_password", Db.Id, "tier=db"), (second["Name"]!.GetValue<string>(), second["ID"]!.GetValue<string>(), second["Labels"]!.GetValue<string>()));
        Assert.EndsWith(" ago", second["CreatedAt"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("db_password\n", labelled.Out);
    }

    [Fact]
    public async Task Config_Ls_Has_No_Driver_Column_As_Dockers()
    {
        var node = new FakeNode(_ => new ConfigList([new ConfigSummary("cfg00000000000000000000001", "site", ImmutableSortedDictionary<string, string>.Empty, Joined, Joined, 3, [1])]));

        var (code, output, _) = await RunAsync(node, "config", "ls");

        Assert.Equal(0, code);
        Assert.Matches("^ID +NAME +CREATED +UPDATED\n", output);
    }

    [Fact]
    public async Task Secret_Inspect_Prints_Dockers_Object_Without_Data_And_Pretty_Text()
    {
        var node = new FakeNode(request => request switch
        {
            InspectSecret { SecretRef: "db_password" } => new SecretDetails(Db),
            InspectSecret i => new CommandRejected(RejectCode.NotFound, $"No such secret: {i.SecretRef}."),
            _ => throw new InvalidOperationException(),
        });

        var inspect = await RunAsync(node, "secret", "inspect", "db_password", "ghost");
        var pretty = await RunAsync(node, "secret", "inspect", "--pretty", "db_password");

        Assert.Equal(1, inspect.Code);
        Assert.Equal("Error: No such secret: ghost.\n", inspect.Err);
        var secret = JsonNode.Parse(inspect.Out)!.AsArray().Single()!;
        Assert.Equal((Db.Id, 7, "2025-03-01T12:30:45.12Z"), (secret["ID"]!.GetValue<string>(), secret["Version"]!["Index"]!.GetValue<int>(), secret["CreatedAt"]!.GetValue<string>()));
        Assert.Equal(("db_password", "db"), (secret["Spec"]!["Name"]!.GetValue<string>(), secret["Spec"]!["Labels"]!["tier"]!.GetValue<string>()));
        Assert.Null(secret["Spec"]!["Data"]);
        Assert.Equal(
            "ID:              secdb0000000000000000000a\n" +
            "Name:            db_password\n" +
            "Labels:\n" +
            " - tier=db\n" +
            "Created at:      2025-03-01 12:30:45.12 +0000 UTC\n" +
            "Updated at:      2025-03-01 12:31:45.12 +0000 UTC\n", pretty.Out);
    }

    [Fact]
    public async Task Config_Inspect_Shows_The_Data_As_Base64_And_In_Pretty_Text()
    {
        var config = new ConfigSummary("cfgnginx0000000000000000a", "nginx", ImmutableSortedDictionary<string, string>.Empty, Joined, Joined, 3, Encoding.UTF8.GetBytes("worker_processes 2;"));
        var node = new FakeNode(_ => new ConfigDetails(config));

        var inspect = await RunAsync(node, "config", "inspect", "nginx");
        var pretty = await RunAsync(node, "config", "inspect", "--pretty", "nginx");

        Assert.Equal(Convert.ToBase64String(config.Data!), JsonNode.Parse(inspect.Out)!.AsArray().Single()!["Spec"]!["Data"]!.GetValue<string>());
        Assert.EndsWith("Data:\nworker_processes 2;\n", pretty.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rm_Goes_On_After_A_Refusal_Prints_Each_Name_Removed_And_Exits_1()
    {
        var node = new FakeNode(request => request switch
        {
            RemoveSecret { SecretRef: "db_password" } => new CommandRejected(RejectCode.InvalidArgument, "secret 'db_password' is in use by the following service: web"),
            RemoveSecret r => new SecretRemoved(r.SecretRef),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, error) = await RunAsync(node, "secret", "rm", "db_password", "api_key");

        Assert.Equal(1, code);
        Assert.Equal("api_key\n", output);
        Assert.Equal("Error: secret 'db_password' is in use by the following service: web\n", error);
    }

    [Fact]
    public async Task Service_Create_Sends_Secret_And_Config_References_And_Inspect_Shows_Them()
    {
        var sent = new List<ServiceSpec>();
        var secrets = ImmutableArray.Create(new SecretReference("secdb0000000000000000000a", "db_password", new FileTarget("db_password", Mode: 0x100)));
        var configs = ImmutableArray.Create(new ConfigReference("cfgnginx0000000000000000a", "nginx", new FileTarget("/etc/nginx/nginx.conf")));
        var web = Service(spec: Spec() with { TaskTemplate = new TaskSpec(new ContainerSpec("nginx:1.27", Secrets: secrets, Configs: configs)) });
        var node = new FakeNode(request => request switch
        {
            CreateService c => Record(sent, c.Spec, new ServiceCreated(web.Id, [])),
            InspectService => new ServiceDetails(web, new ServiceReplicas(3, 3)),
            _ => throw new InvalidOperationException(),
        });

        var create = await RunAsync(node, "service", "create", "-d", "--name", "web", "--secret", "source=db_password,mode=0400", "--config", "source=nginx,target=/etc/nginx/nginx.conf", "nginx:1.27");
        var bad = await RunAsync(node, "service", "create", "-d", "--secret", "source=db_password,owner=me", "nginx:1.27");
        var inspect = await RunAsync(node, "service", "inspect", "web");
        var pretty = await RunAsync(node, "service", "inspect", "--pretty", "web");

        Assert.Equal(0, create.Code);
        var container = Assert.Single(sent).TaskTemplate.Container;
        Assert.Equal([new SecretReference("", "db_password", new FileTarget("db_password", Mode: 0x100))], container.Secrets.ToArray());
        Assert.Equal([new ConfigReference("", "nginx", new FileTarget("/etc/nginx/nginx.conf"))], container.Configs.ToArray());
        Assert.Equal(1, bad.Code);
        Assert.Contains("'owner' is not a secret option", bad.Err, StringComparison.Ordinal);
        Assert.Single(node.Requests.OfType<CreateService>());
        var shown = JsonNode.Parse(inspect.Out)!.AsArray().Single()!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!;
        var secret = shown["Secrets"]![0]!;
        Assert.Equal(("db_password", "secdb0000000000000000000a", "db_password", 256, "0"),
            (secret["SecretName"]!.GetValue<string>(), secret["SecretID"]!.GetValue<string>(), secret["File"]!["Name"]!.GetValue<string>(), secret["File"]!["Mode"]!.GetValue<int>(), secret["File"]!["UID"]!.GetValue<string>()));
        Assert.Equal(("nginx", "/etc/nginx/nginx.conf"), (shown["Configs"]![0]!["ConfigName"]!.GetValue<string>(), shown["Configs"]![0]!["File"]!["Name"]!.GetValue<string>()));
        Assert.Contains("Secrets:\n Target:\tdb_password\n  Source:\tdb_password\n", pretty.Out, StringComparison.Ordinal);
        Assert.Contains("Configs:\n Target:\t/etc/nginx/nginx.conf\n  Source:\tnginx\n", pretty.Out, StringComparison.Ordinal);
    }

    private static object Record(List<ServiceSpec> sent, ServiceSpec spec, object answer)
    {
        sent.Add(spec);
        return answer;
    }
}
