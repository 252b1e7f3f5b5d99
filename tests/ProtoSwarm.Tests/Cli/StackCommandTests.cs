using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using MessagePack;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Cli.Compose;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class StackCommandTests : IDisposable
{
    private const string Vote = """
        services:
          vote:
            image: example/vote:1.2
            networks: [frontend]
            deploy:
              replicas: 2
          redis:
            image: redis:7
            networks: [backend]
        networks:
          frontend: {}
          backend: {}
        """;

    private readonly string _temp = Directory.CreateTempSubdirectory("stack-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string File(string yaml, string name = "stack.yml")
    {
        var path = Path.Combine(_temp, name);
        System.IO.File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Deploy_Of_An_Invalid_File_Prints_Each_Error_With_Its_Place_And_Sends_Nothing()
    {
        var swarm = new FakeSwarm();
        var path = File("""
            services:
              vote:
                image: example/vote:1.2
                deploy:
                  replicas: many
                  mode: sideways
            """);

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "-c", path, "vote");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Empty(swarm.Node.Requests);
        var lines = error.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length >= 2, error);
        Assert.All(lines, line => Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(path)}:\d+:\d+: services\.vote\.", line));
        Assert.Contains(lines, l => l.Contains(":5:", StringComparison.Ordinal) && l.Contains("deploy.replicas", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Spec_The_Managers_Would_Refuse_Is_Refused_By_Config_And_Deploy_Before_Anything_Is_Created()
    {
        var swarm = new FakeSwarm();
        var path = File("""
            services:
              web:
                image: nginx:1.27
                networks: [front]
                healthcheck:
                  test: ["CMD"]
                deploy:
                  placement:
                    preferences:
                      - spread: node.hostname
            networks:
              front: {}
            secrets:
              token:
                file: ./token.txt
            """);
        File("s3cret", "token.txt");

        var config = await RunAsync(swarm.Node, "stack", "config", "-c", path);
        var deploy = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        var expected =
            $"{path}:6:13: services.web.healthcheck.test: Spec.TaskTemplate.ContainerSpec.Healthcheck.Test: CMD names no command; give the command with --health-cmd\n" +
            $"{path}:10:13: services.web.deploy.placement.preferences[0]: Spec.TaskTemplate.Placement.Preferences[0].Spread.SpreadDescriptor: cannot spread over 'node.hostname'; spread over a node or engine label: --placement-pref spread=node.labels.<name> or spread=engine.labels.<name>\n";
        Assert.Equal((1, "", expected), config);
        Assert.Equal((1, "", expected), deploy);
        Assert.Empty(swarm.Node.Requests);
    }

    [Theory]
    [InlineData("Vote")]
    [InlineData("my.stack")]
    public async Task A_Stack_Name_Docker_Would_Mangle_Is_Refused_With_A_Hint(string name)
    {
        var swarm = new FakeSwarm();

        var (code, _, error) = await RunAsync(swarm.Node, "stack", "deploy", "-c", File(Vote), name);

        Assert.Equal(1, code);
        Assert.Contains($"invalid stack name '{name}'", error, StringComparison.Ordinal);
        Assert.Contains("lowercase letters, digits", error, StringComparison.Ordinal);
        Assert.Empty(swarm.Node.Requests);
    }

    [Fact]
    public async Task A_Stack_Name_That_Starts_With_A_Dash_Is_An_Unknown_Flag_As_In_Docker()
    {
        var swarm = new FakeSwarm();

        var (code, _, error) = await RunAsync(swarm.Node, "stack", "deploy", "-c", File(Vote), "-vote");

        Assert.Equal(1, code);
        Assert.StartsWith("unknown flag: -vote", error, StringComparison.Ordinal);
        Assert.Empty(swarm.Node.Requests);
    }

    [Fact]
    public async Task Deploy_Creates_The_Networks_Then_The_Services_Named_And_Labelled_For_The_Stack()
    {
        var swarm = new FakeSwarm();

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "--detach", "-c", File(Vote), "vote");

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(
            "Creating network vote_backend\n" +
            "Creating network vote_frontend\n" +
            "Creating service vote_redis\n" +
            "Creating service vote_vote\n" +
            "Stack vote: 2 services created, 0 services updated, 0 services unchanged, 2 networks created. Not waiting for the services; see `protoswarm stack ps vote`.\n",
            output);
        var sent = swarm.Node.Requests.Where(r => r is CreateNetwork or CreateService).ToList();
        Assert.Equal(["vote_backend", "vote_frontend", "vote_redis", "vote_vote"],
            sent.Select(r => r switch { CreateNetwork n => n.Spec.Name, CreateService s => s.Spec.Name, _ => "" }));
        Assert.All(sent.OfType<CreateNetwork>(), n => Assert.Equal("vote", n.Spec.Labels[StackModel.NamespaceLabel]));
        var vote = sent.OfType<CreateService>().Single(s => s.Spec.Name == "vote_vote");
        Assert.Equal("vote", vote.Spec.Labels[StackModel.NamespaceLabel]);
        Assert.Equal("example/vote:1.2", vote.Spec.TaskTemplate.Container.Image);
        Assert.Equal(ResolveImageModes.Always, vote.ResolveImage);
        Assert.Equal(2, vote.Spec.Mode.Replicas);
        Assert.Equal(["vote_frontend"], vote.Spec.TaskTemplate.Networks.Select(n => n.Target));
    }

    [Fact]
    public async Task Deploy_Does_Not_Wait_By_Default_As_Dockers_Does()
    {
        var swarm = new FakeSwarm();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-c", File(Vote), "vote");

        Assert.Equal(0, code);
        Assert.DoesNotContain("Waiting for service", output, StringComparison.Ordinal);
        Assert.EndsWith("Not waiting for the services; see `protoswarm stack ps vote`.\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_With_Detach_False_Waits_For_Every_Service_With_The_Progress_Of_Service_Create()
    {
        var swarm = new FakeSwarm();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "--detach=false", "-c", File(Vote), "vote");

        Assert.Equal(0, code);
        Assert.Contains(
            "Waiting for service vote_redis to converge\n" +
            "overall progress: 1 out of 1 tasks\n" +
            "1/1: running   [==================================================>]\n" +
            "verify: Service converged\n" +
            "Waiting for service vote_vote to converge\n" +
            "overall progress: 2 out of 2 tasks\n",
            output, StringComparison.Ordinal);
        Assert.EndsWith("Stack vote: 2 services created, 0 services updated, 0 services unchanged, 2 networks created.\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Redeploy_Of_The_Same_File_Sends_No_Update_And_Creates_Nothing()
    {
        var swarm = new FakeSwarm();
        var path = File(Vote);
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is UpdateService or CreateService or CreateNetwork or RemoveService);
        Assert.StartsWith("Stack vote: 0 services created, 0 services updated, 2 services unchanged, 0 networks created.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Changed_Image_Sends_One_Update_With_The_Stored_Version()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Node.Requests.Clear();
        var before = swarm.Services.Single(s => s.Spec.Name == "vote_vote");

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote.Replace("example/vote:1.2", "example/vote:1.3", StringComparison.Ordinal)), "vote");

        Assert.Equal(0, code);
        var update = Assert.Single(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal((before.Id, before.Meta.Version), (update.ServiceRef, update.Version));
        Assert.Equal("example/vote:1.3", update.Spec!.TaskTemplate.Container.Image);
        Assert.Equal(ResolveImageModes.Always, update.ResolveImage);
        Assert.Contains($"Updating service vote_vote (id: {before.Id})\n", output, StringComparison.Ordinal);
        Assert.Contains("0 services created, 1 service updated, 1 service unchanged", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_Image_Changed_Keeps_The_Pinned_Image_When_Only_Replicas_Change()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Node.Requests.Clear();
        var pinned = swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image;

        await RunAsync(swarm.Node, "stack", "deploy", "-d", "--resolve-image", "changed", "-c", File(Vote.Replace("replicas: 2", "replicas: 3", StringComparison.Ordinal)), "vote");

        var update = Assert.Single(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal((pinned, 3L, ResolveImageModes.Changed), (update.Spec!.TaskTemplate.Container.Image, update.Spec.Mode.Replicas, update.ResolveImage));
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    /// <summary>A swarm whose registry holds the Vote file's two tags, each at digest sha256:bbb….</summary>
    private static FakeSwarm SwarmWithRegistry()
    {
        var swarm = new FakeSwarm();
        swarm.Registry["example/vote"] = new(StringComparer.Ordinal) { ["1.2"] = Digest('b') };
        swarm.Registry["library/redis"] = new(StringComparer.Ordinal) { ["7"] = Digest('b') };
        return swarm;
    }

    [Fact]
    public async Task A_Redeploy_Updates_A_Service_Whose_Tag_Moved_In_The_Swarm_Registry_And_The_Next_Redeploy_Leaves_It_Alone()
    {
        var swarm = SwarmWithRegistry();
        var path = File(Vote);
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        var before = swarm.Services.Single(s => s.Spec.Name == "vote_vote");
        Assert.Equal("example/vote:1.2@" + Digest('b'), before.Spec.TaskTemplate.Container.Image);
        swarm.Registry["example/vote"]["1.2"] = Digest('c');
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal(0, code);
        var update = Assert.Single(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal((before.Id, before.Meta.Version), (update.ServiceRef, update.Version));
        Assert.Equal(("example/vote:1.2", ResolveImageModes.Always), (update.Spec!.TaskTemplate.Container.Image, update.ResolveImage));
        Assert.Equal("example/vote:1.2@" + Digest('c'), swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image);
        Assert.Contains($"Updating service vote_vote (id: {before.Id})\n", output, StringComparison.Ordinal);
        Assert.StartsWith("Stack vote: 0 services created, 1 service updated, 1 service unchanged, 0 networks created.", output.Split('\n')[^2], StringComparison.Ordinal);

        swarm.Node.Requests.Clear();
        (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is UpdateService or CreateService);
        Assert.StartsWith("Stack vote: 0 services created, 0 services updated, 2 services unchanged, 0 networks created.", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("changed")]
    [InlineData("never")]
    public async Task Resolve_Image_Changed_Or_Never_Keeps_The_Old_Pin_Of_An_Unchanged_File_Image_When_Its_Tag_Moved(string mode)
    {
        var swarm = SwarmWithRegistry();
        var path = File(Vote);
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        swarm.Registry["example/vote"]["1.2"] = Digest('c');
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "--resolve-image", mode, "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is UpdateService or CreateService or ListRepositories);
        Assert.Equal("example/vote:1.2@" + Digest('b'), swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image);
        Assert.StartsWith("Stack vote: 0 services created, 0 services updated, 2 services unchanged", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Tag_The_Swarm_Registry_No_Longer_Holds_Keeps_The_Pin_And_Leaves_The_Service_Alone()
    {
        var swarm = SwarmWithRegistry();
        var path = File(Vote);
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        swarm.Registry.Remove("example/vote");
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.Contains(swarm.Node.Requests, r => r is ListRepositories);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is UpdateService);
        Assert.Equal("example/vote:1.2@" + Digest('b'), swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image);
        Assert.StartsWith("Stack vote: 0 services created, 0 services updated, 2 services unchanged", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("always")]
    [InlineData("changed")]
    public async Task A_Digest_Written_In_The_File_Is_Deployed_As_Written_And_A_Redeploy_Leaves_It_Alone(string mode)
    {
        var swarm = SwarmWithRegistry();
        var path = File(Vote.Replace("image: example/vote:1.2", "image: example/vote:1.2@" + Digest('d'), StringComparison.Ordinal));
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        var create = swarm.Node.Requests.OfType<CreateService>().Single(c => c.Spec.Name == "vote_vote");
        swarm.Registry["example/vote"]["1.2"] = Digest('c');
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "--resolve-image", mode, "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.Equal("example/vote:1.2@" + Digest('d'), create.Spec.TaskTemplate.Container.Image);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is UpdateService);
        Assert.Equal("example/vote:1.2@" + Digest('d'), swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image);
        Assert.StartsWith("Stack vote: 0 services created, 0 services updated, 2 services unchanged", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_Image_Changed_Resolves_A_File_Image_Whose_Written_Digest_Was_Taken_Out()
    {
        var swarm = SwarmWithRegistry();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote.Replace("image: example/vote:1.2", "image: example/vote:1.2@" + Digest('d'), StringComparison.Ordinal)), "vote");
        swarm.Node.Requests.Clear();

        var (code, _, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "--resolve-image", "changed", "-c", File(Vote), "vote");

        // The file's image changed, so docker's CLI asks the registry: the managers are told always, not
        // changed (whose same-NAME:TAG rule would keep the digest the file no longer names).
        Assert.Equal(0, code);
        var update = Assert.Single(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal(("example/vote:1.2", ResolveImageModes.Always), (update.Spec!.TaskTemplate.Container.Image, update.ResolveImage));
        Assert.Equal("example/vote:1.2@" + Digest('b'), swarm.Services.Single(s => s.Spec.Name == "vote_vote").Spec.TaskTemplate.Container.Image);
    }

    [Fact]
    public async Task Prune_Removes_The_Stacks_Services_No_Longer_In_The_File_And_Nothing_Else()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File("services:\n  web:\n    image: nginx:1.27\n"), "other");
        swarm.Node.Requests.Clear();
        var withoutRedis = File("""
            services:
              vote:
                image: example/vote:1.2
                networks: [frontend]
                deploy:
                  replicas: 2
            networks:
              frontend: {}
            """);

        var redis = swarm.IdOf("vote_redis");
        var kept = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", withoutRedis, "vote");
        Assert.Empty(swarm.Node.Requests.OfType<RemoveService>());
        var (code, output, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "--prune", "-c", withoutRedis, "vote");

        Assert.Equal((0, 0), (kept.Code, code));
        var removed = Assert.Single(swarm.Node.Requests.OfType<RemoveService>());
        Assert.Equal(redis, removed.ServiceRef);
        Assert.StartsWith("Removing service vote_redis\n", output, StringComparison.Ordinal);
        Assert.Equal(["other_web", "vote_vote"], swarm.Services.Select(s => s.Spec.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_Missing_External_Network_Is_Refused_Before_Anything_Is_Created()
    {
        var swarm = new FakeSwarm();
        var path = File("""
            services:
              vote:
                image: example/vote:1.2
                networks: [frontend, shared]
            networks:
              frontend: {}
              shared:
                external: true
                name: corp-net
            """);

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "-c", path, "vote");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("Error: network \"corp-net\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed\n", error);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is CreateNetwork or CreateService or UpdateService or RemoveService);
    }

    [Fact]
    public async Task An_External_Network_That_Exists_Is_Used_And_Not_Created()
    {
        var swarm = new FakeSwarm();
        swarm.Networks.Add(new NetworkObject("corpnetid0000000000000000", new ObjectMeta(1, Joined, Joined), new NetworkSpec("corp-net"), "10.0.9.0/24", "10.0.9.1", 4200));
        var path = File("""
            services:
              vote:
                image: example/vote:1.2
                networks: [shared]
            networks:
              shared:
                external: true
                name: corp-net
            """);

        var (code, _, _) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        var again = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal((0, 0), (code, again.Code));
        Assert.Empty(swarm.Node.Requests.OfType<CreateNetwork>());
        Assert.Empty(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal(["corp-net"], Assert.Single(swarm.Node.Requests.OfType<CreateService>()).Spec.TaskTemplate.Networks.Select(n => n.Target));
    }

    private const string WithSecrets = """
        version: "3.8"
        services:
          db:
            image: postgres:16
            secrets:
              - db_password
              - source: tls
                target: server.pem
                mode: 0400
            configs:
              - source: conf
                target: /etc/postgres/extra.conf
        secrets:
          db_password:
            file: ./password.txt
          tls:
            external: true
            name: corp-tls
        configs:
          conf:
            file: ./extra.conf
        """;

    [Fact]
    public async Task Deploy_Creates_The_Stacks_Secrets_And_Configs_Before_Its_Services_And_A_Redeploy_Keeps_Them()
    {
        var swarm = new FakeSwarm();
        swarm.AddSecret("corp-tls", "certificate");
        File("hunter2", "password.txt");
        File("max_connections = 50\n", "extra.conf");
        var path = File(WithSecrets);

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        var again = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal((0, 0), (code, again.Code));
        Assert.Equal("", error);
        Assert.Equal(
            "Creating network vote_default\n" +
            "Creating secret vote_db_password\n" +
            "Creating config vote_conf\n" +
            "Creating service vote_db\n", output.Split("Stack vote:")[0]);
        var order = swarm.Node.Requests.Where(r => r is CreateSecret or CreateConfig or CreateService).Select(r => r.GetType().Name).ToList();
        Assert.Equal(["CreateSecret", "CreateConfig", "CreateService", "CreateSecret", "CreateConfig"], order);
        var secret = swarm.Secrets.Single(s => s.Spec.Name == "vote_db_password");
        Assert.Equal(("hunter2", "vote"), (System.Text.Encoding.UTF8.GetString(secret.Spec.Data), secret.Spec.Labels[StackModel.NamespaceLabel]));
        Assert.Equal(["corp-tls", "vote_db_password"], swarm.Secrets.Select(s => s.Spec.Name).Order(StringComparer.Ordinal));
        var container = Assert.Single(swarm.Services).Spec.TaskTemplate.Container;
        Assert.Equal([("corp-tls", "server.pem", 0x100), ("vote_db_password", "db_password", 0x124)], container.Secrets.Select(r => (r.SecretName, r.File.Name, r.File.Mode)));
        Assert.Equal(swarm.Secrets.Single(s => s.Spec.Name == "corp-tls").Id, container.Secrets[0].SecretId);
        Assert.Equal(("vote_conf", "/etc/postgres/extra.conf"), (Assert.Single(container.Configs).ConfigName, container.Configs[0].File.Name));
        Assert.Empty(swarm.Node.Requests.OfType<UpdateService>());
        Assert.Equal("Stack vote: 0 services created, 0 services updated, 1 service unchanged, 0 networks created. Not waiting for the services; see `protoswarm stack ps vote`.\n", again.Out);
    }

    [Fact]
    public async Task A_File_Without_Services_Deploys_Its_Secrets_And_Configs_And_No_Network_As_Docker_Does()
    {
        var swarm = new FakeSwarm();
        File("hunter2", "password.txt");
        var path = File("""
            version: "3.8"
            networks:
              front: {}
            secrets:
              db_password:
                file: ./password.txt
            """);

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "-c", path, "vote");

        Assert.Equal(0, code);
        Assert.Equal("Creating secret vote_db_password\nStack vote: 0 services created, 0 services updated, 0 services unchanged, 0 networks created, 1 secret created.\n", output);
        Assert.Contains("the file defines no services, so nothing runs in stack vote", error, StringComparison.Ordinal);
        Assert.Equal(["vote_db_password"], swarm.Secrets.Select(s => s.Spec.Name));
        Assert.Empty(swarm.Node.Requests.OfType<CreateNetwork>());
        Assert.Empty(swarm.Node.Requests.OfType<CreateService>());
    }

    [Fact]
    public async Task Deploy_Of_A_Changed_Secret_File_Is_Refused_As_Docker_Refuses_It_And_The_Service_Is_Left_Alone()
    {
        var swarm = new FakeSwarm();
        swarm.AddSecret("corp-tls", "certificate");
        File("hunter2", "password.txt");
        File("max_connections = 50\n", "extra.conf");
        var path = File(WithSecrets);
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");
        File("correct horse", "password.txt");

        var (code, _, error) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", path, "vote");

        Assert.Equal(1, code);
        Assert.StartsWith("Error: failed to update secret vote_db_password: secret vote_db_password exists with other data: only updates to Labels are allowed", error, StringComparison.Ordinal);
        Assert.Equal("hunter2", System.Text.Encoding.UTF8.GetString(swarm.Secrets.Single(s => s.Spec.Name == "vote_db_password").Spec.Data));
        Assert.Empty(swarm.Node.Requests.OfType<UpdateService>());
    }

    [Fact]
    public async Task Deploy_Needs_The_External_Secrets_And_Creates_Nothing_Without_Them()
    {
        var swarm = new FakeSwarm();
        File("hunter2", "password.txt");
        File("max_connections = 50\n", "extra.conf");

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(WithSecrets), "vote");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("Error: secret \"corp-tls\" is declared as external, but could not be found. Create it first (`protoswarm secret create corp-tls FILE`)", error, StringComparison.Ordinal);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is CreateSecret or CreateConfig or CreateNetwork or CreateService);
    }

    [Fact]
    public async Task Stack_Rm_Removes_The_Stacks_Secrets_And_Configs_After_Its_Services_And_Keeps_External_Ones()
    {
        var swarm = new FakeSwarm();
        swarm.AddSecret("corp-tls", "certificate");
        File("hunter2", "password.txt");
        File("max_connections = 50\n", "extra.conf");
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(WithSecrets), "vote");
        swarm.Node.Requests.Clear();

        var (code, output, _) = await RunAsync(swarm.Node, "stack", "rm", "vote");

        Assert.Equal(0, code);
        Assert.Equal(
            "Removing service vote_db\n" +
            "Removing secret vote_db_password\n" +
            "Removing config vote_conf\n" +
            "Removing network vote_default\n", output);
        Assert.Equal(["corp-tls"], swarm.Secrets.Select(s => s.Spec.Name));
        Assert.Empty(swarm.Configs);
    }

    [Fact]
    public async Task Stack_Ls_Counts_Services_Per_Namespace_Label_Sorted_By_Name()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File("services:\n  web:\n    image: nginx:1.27\n"), "app10");
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File("services:\n  web:\n    image: nginx:1.27\n"), "app9");
        swarm.Services.Add(Service("svc00000000000000000loose", Spec("loose")));

        var table = await RunAsync(swarm.Node, "stack", "ls");
        var json = await RunAsync(swarm.Node, "stack", "ls", "--format", "json");
        var names = await RunAsync(swarm.Node, "stack", "ls", "--format", "{{.Name}}");

        Assert.Equal(
            "NAME      SERVICES\n" +
            "app9      1\n" +
            "app10     1\n" +
            "vote      2\n", table.Out);
        var last = JsonNode.Parse(json.Out.TrimEnd('\n').Split('\n')[^1])!;
        Assert.Equal(("vote", "2"), (last["Name"]!.GetValue<string>(), last["Services"]!.GetValue<string>()));
        Assert.Equal("app9\napp10\nvote\n", names.Out);
    }

    [Fact]
    public async Task Stack_Services_Is_Service_Ls_Of_The_Stack()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Services.Add(Service("svc00000000000000000loose", Spec("loose")));

        var table = await RunAsync(swarm.Node, "stack", "services", "vote");
        var quiet = await RunAsync(swarm.Node, "stack", "services", "-q", "vote");
        var format = await RunAsync(swarm.Node, "stack", "services", "--format", "{{.Name}} {{.Replicas}}", "vote");
        var none = await RunAsync(swarm.Node, "stack", "services", "ghost");

        var redis = swarm.IdOf("vote_redis")[..12];
        var vote = swarm.IdOf("vote_vote")[..12];
        Assert.Equal(
            "ID             NAME         MODE         REPLICAS   IMAGE              PORTS\n" +
            $"{redis}   vote_redis   replicated   1/1        redis:7            \n" +
            $"{vote}   vote_vote    replicated   2/2        example/vote:1.2   \n", table.Out);
        Assert.Equal($"{redis}\n{vote}\n", quiet.Out);
        Assert.Equal("vote_redis 1/1\nvote_vote 2/2\n", format.Out);
        Assert.Equal((0, "", "Nothing found in stack: ghost\n"), none);
    }

    [Fact]
    public async Task Stack_Ps_Lists_The_Tasks_Of_All_Its_Services_And_Fails_On_An_Unknown_Stack()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Node.Requests.Clear();

        var table = await RunAsync(swarm.Node, "stack", "ps", "vote");
        var names = await RunAsync(swarm.Node, "stack", "ps", "--format", "{{.Name}}", "vote");
        var quiet = await RunAsync(swarm.Node, "stack", "ps", "-q", "vote");
        var none = await RunAsync(swarm.Node, "stack", "ps", "ghost");

        Assert.Equal((0, ""), (table.Code, table.Err));
        Assert.StartsWith("ID ", table.Out, StringComparison.Ordinal);
        Assert.Contains("DESIRED STATE", table.Out, StringComparison.Ordinal);
        Assert.Equal("vote_redis.1\nvote_vote.1\nvote_vote.2\n", names.Out);
        Assert.Equal(3, quiet.Out.TrimEnd('\n').Split('\n').Length);
        var asked = swarm.Node.Requests.OfType<ListTasks>().First();
        Assert.Equal([swarm.IdOf("vote_redis"), swarm.IdOf("vote_vote")], asked.ServiceRefs.Order(StringComparer.Ordinal));
        Assert.Equal(1, none.Code);
        Assert.Equal("Error: nothing found in stack: ghost\n", none.Err);
    }

    [Fact]
    public async Task Stack_Ps_Whose_Filters_Leave_No_Task_Fails_As_Docker_Does_Rather_Than_Print_A_Bare_Header()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");

        var none = await RunAsync(swarm.Node, "stack", "ps", "--filter", "name=vote_nothing", "vote");
        var quiet = await RunAsync(swarm.Node, "stack", "ps", "-q", "--filter", "desired-state=shutdown", "vote");
        var some = await RunAsync(swarm.Node, "stack", "ps", "--filter", "name=vote_redis", "--format", "{{.Name}}", "vote");

        Assert.Equal((1, "", "Error: nothing found in stack: vote\n"), none);
        Assert.Equal((1, "", "Error: nothing found in stack: vote\n"), quiet);
        Assert.Equal((0, "vote_redis.1\n", ""), some);
    }

    [Fact]
    public async Task Deploy_Reads_The_File_From_Stdin_When_Given_As_Dash()
    {
        var swarm = new FakeSwarm();

        var (code, _, error) = await RunWithInputAsync(swarm.Node, System.Text.Encoding.UTF8.GetBytes(Vote), CancellationToken.None, "stack", "deploy", "-d", "-c", "-", "vote");

        Assert.Equal((0, ""), (code, error));
        Assert.NotEmpty(swarm.IdOf("vote_redis"));
        Assert.NotEmpty(swarm.IdOf("vote_vote"));
    }

    [Fact]
    public async Task Stack_Rm_Removes_Services_Then_Networks_And_Says_When_Nothing_Was_Found()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Services.Add(Service("svc00000000000000000loose", Spec("loose")));
        swarm.Node.Requests.Clear();

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "vote", "ghost");

        Assert.Equal(0, code);
        Assert.Equal(
            "Removing service vote_redis\n" +
            "Removing service vote_vote\n" +
            "Removing network vote_backend\n" +
            "Removing network vote_frontend\n", output);
        Assert.Equal("Nothing found in stack: ghost\n", error);
        var removals = swarm.Node.Requests.Where(r => r is RemoveService or RemoveNetwork).ToList();
        Assert.Equal([typeof(RemoveService), typeof(RemoveService), typeof(RemoveNetwork), typeof(RemoveNetwork)], removals.Select(r => r.GetType()));
        Assert.Equal(["loose"], swarm.Services.Select(s => s.Spec.Name));
        Assert.Equal([NetworkObject.IngressName], swarm.Networks.Select(n => n.Spec.Name));
    }

    [Fact]
    public async Task Stack_Rm_Names_A_Service_Outside_The_Stack_That_Holds_Its_Network_At_Once_And_Removes_The_Rest()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        var backend = swarm.Networks.Single(n => n.Spec.Name == "vote_backend");
        swarm.Services.Add(Service("svc00000000000000intruder", Spec("intruder") with
        {
            TaskTemplate = Spec("intruder").TaskTemplate with { Networks = [new NetworkAttachment(backend.Id)] },
        }));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "vote");

        // Without a holder outside the stack it would retry for NetworkReleaseTimeout (30 s): nothing it waits for would release it.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stack rm took {clock.Elapsed}");
        Assert.Equal(1, code);
        Assert.Equal(
            "Removing service vote_redis\n" +
            "Removing service vote_vote\n" +
            "Removing network vote_backend\n" +
            "Removing network vote_frontend\n", output);
        Assert.Equal(
            $"Failed to remove network {backend.Id}: network vote_backend is in use by service intruder, which was not removed; " +
            "remove it or detach it (`protoswarm service update --network-rm vote_backend SERVICE`), then run `protoswarm stack rm vote` again\n" +
            "Error: failed to remove some resources from stack: vote\n", error);
        Assert.Equal(["ingress", "vote_backend"], swarm.Networks.Select(n => n.Spec.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["intruder"], swarm.Services.Select(s => s.Spec.Name));
    }

    [Fact]
    public async Task Stack_Rm_Retries_A_Network_While_Only_The_Removed_Services_Tasks_Hold_It()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Node.Requests.Clear();
        swarm.NetworkHeldFor = 3;

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "vote");

        Assert.Equal((0, ""), (code, error));
        Assert.EndsWith("Removing network vote_backend\nRemoving network vote_frontend\n", output, StringComparison.Ordinal);
        Assert.Equal(5, swarm.Node.Requests.OfType<RemoveNetwork>().Count());
        Assert.Equal([NetworkObject.IngressName], swarm.Networks.Select(n => n.Spec.Name));
    }

    [Fact]
    public async Task Stack_Rm_Returns_At_Once_By_Default_As_Dockers_Detach_Does()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Node.Requests.Clear();
        swarm.TasksStopAfter = -1;

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "vote");

        Assert.Equal((0, ""), (code, error));
        Assert.EndsWith("Removing network vote_frontend\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain(swarm.Node.Requests, r => r is ListTasks);
    }

    [Fact]
    public async Task Stack_Rm_Without_Detach_Waits_Until_The_Removed_Services_Tasks_Have_Stopped_And_Prints_Nothing_More()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File(Vote), "vote");
        swarm.Services.Add(Service("svc00000000000000000loose", Spec("loose")));
        swarm.Node.Requests.Clear();
        swarm.TasksStopAfter = 3;

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "--detach=false", "vote");

        Assert.Equal((0, ""), (code, error));
        Assert.Equal(
            "Removing service vote_redis\n" +
            "Removing service vote_vote\n" +
            "Removing network vote_backend\n" +
            "Removing network vote_frontend\n", output);
        // Three listings still show them running; the fourth shows them shut down. Each asks for the removed services'
        // tasks alone, by their ids (not the whole swarm's, and not the service kept).
        var listings = swarm.Node.Requests.OfType<ListTasks>().ToList();
        Assert.Equal(4, listings.Count);
        Assert.All(listings, l => Assert.Equal((0, 2), (l.ServiceRefs.Length, l.ServiceIds.Length)));
        Assert.All(listings, l => Assert.DoesNotContain("svc00000000000000000loose", l.ServiceIds));
        // As docker's: the wait comes after every removal of the stack.
        Assert.True(swarm.Node.Requests.FindIndex(r => r is ListTasks) > swarm.Node.Requests.FindLastIndex(r => r is RemoveService or RemoveNetwork));
    }

    [Fact]
    public async Task Stack_Rm_Without_Detach_Gives_Up_Naming_The_Tasks_That_Did_Not_Stop()
    {
        var swarm = new FakeSwarm();
        await RunAsync(swarm.Node, "stack", "deploy", "-d", "-c", File("services:\n  web:\n    image: nginx:1.27\n    stop_grace_period: 0s\n    deploy: {replicas: 2}\n"), "app");
        swarm.TasksStopAfter = -1;

        var (code, output, error) = await RunAsync(swarm.Node, "stack", "rm", "--detach=false", "app");

        Assert.Equal(1, code);
        Assert.Equal("Removing service app_web\nRemoving network app_default\n", output);
        Assert.Equal(
            "Failed to wait on tasks of stack: app: 2 task(s) of the removed services had not stopped after 200ms: " +
            "app_web.1 (running on worker1), app_web.2 (running on worker1); a node that is down or cannot reach the managers reports nothing; " +
            "see `protoswarm node ps NODE` and `protoswarm node ls`\n", error);
    }

    /// <summary>
    /// A swarm that keeps services, networks, secrets and configs as the managers do: specs stored after a
    /// MessagePack round trip, network, secret and config names turned into ids, images pinned to a digest;
    /// each service's tasks all running.
    /// </summary>
    private sealed class FakeSwarm
    {
        private int _next;

        public FakeSwarm() => Node = new FakeNode(Answer);

        public FakeNode Node { get; }

        public List<ServiceObject> Services { get; } = [];

        public List<NetworkObject> Networks { get; } =
            [new NetworkObject("ingressid0000000000000000", new ObjectMeta(1, Joined, Joined), new NetworkSpec(NetworkObject.IngressName, Ingress: true), "10.0.0.0/24", "10.0.0.1", 4096)];

        /// <summary>
        /// How many listings of every task show a removed service's tasks still running, desired Remove, as the
        /// managers keep them while their node stops them; after that they are listed shut down. -1: they never stop.
        /// </summary>
        public int TasksStopAfter { get; set; }

        private readonly List<TaskObject> _stopping = [];

        /// <summary>How many more network removals are refused as while the removed services' tasks still stop.</summary>
        public int NetworkHeldFor { get; set; }

        public string IdOf(string serviceName) => Services.Single(s => s.Spec.Name == serviceName).Id;

        private object Answer(object request) => request switch
        {
            ListNetworks => new NetworkList([.. Networks]),
            CreateNetwork c => AddNetwork(c.Spec),
            RemoveNetwork r => RemoveNetwork(r),
            ListServices => new ServiceList([.. Services.Select(s => new ServiceSummary(s, new ServiceReplicas(s.Spec.Mode.Replicas, s.Spec.Mode.Replicas)))]),
            CreateService c => AddService(c.Spec, c.ResolveImage),
            UpdateService u => UpdateService(u),
            RemoveService r => RemoveService(r),
            InspectService i => Services.SingleOrDefault(s => s.Id == i.ServiceRef) is { } found
                ? new ServiceDetails(found, new ServiceReplicas(found.Spec.Mode.Replicas, found.Spec.Mode.Replicas))
                : new CommandRejected(RejectCode.NotFound, $"service {i.ServiceRef} not found"),
            ListTasks l => Tasks(l),
            ListNodes => new NodeList([]),
            ListSecrets => new SecretList([.. Secrets.Select(SecretCommands.Summary)]),
            ListRepositories => new RepositoryList([.. Registry.Select(r => new RepositorySummary(r.Key, r.Value.ToImmutableSortedDictionary(StringComparer.Ordinal), r.Value.Count, 1000))]),
            ListConfigs => new ConfigList([.. Configs.Select(c => SecretCommands.Summary(c, withData: false))]),
            CreateSecret c => AddSecret(c),
            CreateConfig c => AddConfig(c),
            RemoveSecret r => SecretCommands.RemovalProblem(Secrets.Single(x => x.Id == r.SecretRef), Services) ?? (object)new SecretRemoved(Secrets.RemoveAll(x => x.Id == r.SecretRef) == 1 ? r.SecretRef : ""),
            RemoveConfig r => SecretCommands.RemovalProblem(Configs.Single(x => x.Id == r.ConfigRef), Services) ?? (object)new ConfigRemoved(Configs.RemoveAll(x => x.Id == r.ConfigRef) == 1 ? r.ConfigRef : ""),
            _ => new CommandRejected(RejectCode.Internal, $"unexpected {request.GetType().Name}"),
        };

        public List<SecretObject> Secrets { get; } = [];

        /// <summary>The swarm registry's tags: repository path (library/redis) -> tag -> manifest digest. Empty: every image pins to sha256:aaa….</summary>
        public Dictionary<string, Dictionary<string, string>> Registry { get; } = new(StringComparer.Ordinal);

        public List<ConfigObject> Configs { get; } = [];

        public void AddSecret(string name, string data) =>
            Secrets.Add(new SecretObject(NewId("sec"), new ObjectMeta(1, Joined, Joined), new SecretSpec(name, null, System.Text.Encoding.UTF8.GetBytes(data))));

        /// <summary>The managers' own decisions: a new one created, the same data kept, other data refused.</summary>
        private object AddSecret(CreateSecret c)
        {
            if (c.ReuseIfSame && Secrets.FirstOrDefault(x => x.Spec.Name == c.Spec.Name) is { } existing)
            {
                return SecretCommands.ChangedData("secret", existing.Spec.Name, existing.Spec.Data, c.Spec.Data) ?? (object)new SecretCreated(existing.Id);
            }

            var (created, rejected) = SecretCommands.Create(c.Spec, Secrets, NewId("sec"), Joined);
            Secrets.Add(created ?? throw new InvalidOperationException(rejected!.Reason));
            return new SecretCreated(created.Id);
        }

        private object AddConfig(CreateConfig c)
        {
            if (c.ReuseIfSame && Configs.FirstOrDefault(x => x.Spec.Name == c.Spec.Name) is { } existing)
            {
                return SecretCommands.ChangedData("config", existing.Spec.Name, existing.Spec.Data, c.Spec.Data) ?? (object)new ConfigCreated(existing.Id);
            }

            var (created, rejected) = SecretCommands.Create(c.Spec, Configs, NewId("cfg"), Joined);
            Configs.Add(created ?? throw new InvalidOperationException(rejected!.Reason));
            return new ConfigCreated(created.Id);
        }

        /// <summary>The managers' decision (a service still attached refuses it), after <see cref="NetworkHeldFor"/> refusals as for stopping tasks.</summary>
        private object RemoveNetwork(RemoveNetwork r)
        {
            var network = Networks.Single(n => n.Id == r.NetworkRef);
            if (NetworkCommands.RemovalProblem(network, Services, []) is { } problem)
            {
                return problem;
            }

            if (NetworkHeldFor > 0)
            {
                NetworkHeldFor--;
                return new CommandRejected(RejectCode.Conflict, $"Network {network.Spec.Name} still has 1 task(s) with an address on it (task1); wait until they have stopped (`protoswarm service ps`), then try again.");
            }

            Networks.Remove(network);
            return new NetworkRemoved(network.Id);
        }

        private NetworkCreated AddNetwork(NetworkSpec spec)
        {
            var id = NewId("net");
            Networks.Add(new NetworkObject(id, new ObjectMeta(1, Joined, Joined), spec, "10.0.5.0/24", "10.0.5.1", 4300));
            return new NetworkCreated(id);
        }

        private ServiceCreated AddService(ServiceSpec spec, string resolveImage)
        {
            var id = NewId("svc");
            Services.Add(new ServiceObject(id, new ObjectMeta(5, Joined, Joined), Stored(spec, resolveImage, previousImage: null), SpecVersion: 1));
            return new ServiceCreated(id, []);
        }

        private object UpdateService(UpdateService u)
        {
            var index = Services.FindIndex(s => s.Id == u.ServiceRef);
            var current = Services[index];
            if (current.Meta.Version != u.Version)
            {
                return new CommandRejected(RejectCode.Conflict, "update out of sequence");
            }

            Services[index] = current with
            {
                Meta = current.Meta with { Version = current.Meta.Version + 1 },
                Spec = Stored(u.Spec!, u.ResolveImage, current.Spec.TaskTemplate.Container.Image),
                PreviousSpec = current.Spec,
                SpecVersion = current.SpecVersion + 1,
            };
            return new ServiceUpdated(current.Id, current.Meta.Version + 1);
        }

        private ServiceRemoved RemoveService(RemoveService r)
        {
            var service = Services.Single(s => s.Id == r.ServiceRef);
            if (TasksStopAfter != 0)
            {
                _stopping.AddRange(TasksOf(service).Select(t => t with { DesiredState = TaskState.Remove }));
            }

            Services.Remove(service);
            return new ServiceRemoved(service.Id);
        }

        /// <summary>
        /// As the managers answer: no service named lists every task, a removed service's stopping ones too; services
        /// given by whole id (ServiceIds) are taken unresolved, so a removed one's stopping tasks are listed.
        /// </summary>
        private TaskList Tasks(ListTasks l)
        {
            var all = l.ServiceRefs.IsEmpty && l.ServiceIds.IsEmpty;
            var services = all ? Services : Services.Where(s => l.ServiceRefs.Contains(s.Id) || l.ServiceIds.Contains(s.Id)).ToList();
            var tasks = services.SelectMany(TasksOf).ToList();
            var stopping = _stopping.Where(t => all || l.ServiceIds.Contains(t.ServiceId)).ToList();
            if (stopping.Count > 0)
            {
                tasks.AddRange(TasksStopAfter == 0 ? stopping.Select(t => t with { Status = t.Status with { State = TaskState.Shutdown } }) : stopping);
                TasksStopAfter = TasksStopAfter > 0 ? TasksStopAfter - 1 : TasksStopAfter;
            }

            return new TaskList(
                [.. tasks],
                services.ToImmutableSortedDictionary(s => s.Id, s => s.Spec.Name, StringComparer.Ordinal),
                ImmutableSortedDictionary<string, string>.Empty.Add("node00000000000000000000a", "worker1"));
        }

        private static IEnumerable<TaskObject> TasksOf(ServiceObject s) => Enumerable.Range(1, (int)s.Spec.Mode.Replicas).Select(slot =>
            Task($"task{s.Id}{slot}", slot, serviceId: s.Id) with { Spec = s.Spec.TaskTemplate, SpecVersion = s.SpecVersion });

        /// <summary>
        /// As the managers keep a spec: read back from its bytes, networks by id, the image pinned as
        /// <see cref="ImagePinning.Pin"/> does (never, or a digest written: as given; changed and the same NAME:TAG: the previous pin;
        /// otherwise the tag's digest in <see cref="Registry"/>, or sha256:aaa… when it holds no tags at all).
        /// </summary>
        private ServiceSpec Stored(ServiceSpec spec, string? resolveImage, string? previousImage)
        {
            var copy = SecretCommands.ResolveReferences(MessagePackSerializer.Deserialize<ServiceSpec>(SpecEquality.Bytes(spec), ContractRegistry.Options), Secrets, Configs).Spec;
            var container = copy.TaskTemplate.Container;
            var image = Pin(container.Image, resolveImage, previousImage);
            return copy with
            {
                TaskTemplate = copy.TaskTemplate with
                {
                    Container = container with { Image = image },
                    Networks = [.. copy.TaskTemplate.Networks.Select(n => n with { Target = Networks.FirstOrDefault(x => x.Spec.Name == n.Target)?.Id ?? n.Target })],
                },
            };
        }

        private string Pin(string image, string? resolveImage, string? previousImage)
        {
            // A digest as written is kept in every mode, as the managers (and docker's daemon) keep it.
            if (resolveImage == ResolveImageModes.Never || image.Contains('@', StringComparison.Ordinal))
            {
                return image;
            }

            if (resolveImage == ResolveImageModes.Changed && previousImage is not null && previousImage.Split('@')[0] == image)
            {
                return previousImage;
            }

            if (Registry.Count == 0)
            {
                return image + "@sha256:" + new string('a', 64);
            }

            Assert.True(ImageReference.TryParse(image, out var reference, out var error), error);
            return Registry.TryGetValue(reference.Path, out var tags) && tags.TryGetValue(reference.Tag, out var digest)
                ? reference.WithDigest(digest).Pinned
                : image;
        }

        private string NewId(string kind) =>
            string.Create(CultureInfo.InvariantCulture, $"{kind}{++_next:D22}");
    }
}
