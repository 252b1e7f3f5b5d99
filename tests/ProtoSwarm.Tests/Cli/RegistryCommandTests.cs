using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

/// <summary>`registry token|ls`, and `--resolve-image` with the pinned images it leads to in `service ls|inspect`.</summary>
public sealed class RegistryCommandTests
{
    private const string WebId = "svc000000000000000000web1";
    private const string Token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly string Digest = "sha256:" + new string('d', 64);

    private static readonly FakeNode NoAnswers = new(request => throw new InvalidOperationException($"{request.GetType().Name} was sent"));

    private static FakeNode Swarm(ServiceObject? web = null) => new(request => request switch
    {
        CreateService => new ServiceCreated(WebId, [$"image nginx:latest could not be accessed on the swarm's registry to record its digest; push it with `protoswarm image push nginx:latest`"]),
        UpdateService u => new ServiceUpdated(WebId, u.Version + 1),
        InspectService => new ServiceDetails(web ?? Service(), new ServiceReplicas(3, 3)),
        ListServices => new ServiceList([new ServiceSummary(web ?? Service(), new ServiceReplicas(3, 3))]),
        GetRegistryToken t => new RegistryToken(t.Role, t.Rotate ? Token.Replace('0', 'f') : Token),
        ListRepositories => new RepositoryList(
        [
            Summary("me/app", 3, 1_234_567, "1.10", "1.9", "latest"),
            Summary("library/busybox", 1, 2_150_000, "latest"),
        ]),
        _ => new CommandRejected(RejectCode.Internal, "unexpected"),
    });

    private static RepositorySummary Summary(string name, int manifests, long size, params string[] tags) =>
        new(name, tags.ToImmutableSortedDictionary(t => t, _ => Digest, StringComparer.Ordinal), manifests, size);

    [Fact]
    public async Task Service_Create_Asks_To_Pin_Always_By_Default_And_Prints_The_Warning_On_Stderr()
    {
        var node = Swarm();

        var (code, output, error) = await RunAsync(node, "service", "create", "-d", "--name", "web", "nginx");

        Assert.Equal(0, code);
        Assert.Equal(ResolveImageModes.Always, Assert.IsType<CreateService>(Assert.Single(node.Requests)).ResolveImage);
        Assert.Equal(WebId + "\n", output);
        Assert.Contains("image nginx:latest could not be accessed on the swarm's registry", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_Create_Passes_The_Mode_Given_And_Keeps_The_Image_And_Its_Command_Apart()
    {
        var node = Swarm();

        await RunAsync(node, "service", "create", "-d", "--resolve-image", "never", "busybox", "sleep", "1d");

        var sent = Assert.IsType<CreateService>(Assert.Single(node.Requests));
        Assert.Equal(ResolveImageModes.Never, sent.ResolveImage);
        Assert.Equal("busybox", sent.Spec.TaskTemplate.Container.Image);
        Assert.Equal(["sleep", "1d"], sent.Spec.TaskTemplate.Container.Args.ToArray());
    }

    [Theory]
    [InlineData(new string[0], ResolveImageModes.Changed)]
    [InlineData(new[] { "--resolve-image", "always" }, ResolveImageModes.Always)]
    [InlineData(new[] { "--resolve-image=never" }, ResolveImageModes.Never)]
    public async Task Service_Update_Asks_To_Pin_Only_A_Changed_Image_By_Default(string[] flags, string expected)
    {
        var node = Swarm();

        var (code, _, _) = await RunAsync(node, ["service", "update", "-d", "--replicas", "4", .. flags, "web"]);

        Assert.Equal(0, code);
        Assert.Equal(expected, Assert.IsType<UpdateService>(node.Requests[1]).ResolveImage);
    }

    [Theory]
    [InlineData("--no-resolve-image")]
    [InlineData("--no-resolve-image", "--resolve-image", "never")]
    public async Task Dockers_No_Resolve_Image_Is_Resolve_Image_Never_On_Create_And_Update(params string[] flags)
    {
        var created = Swarm();
        var updated = Swarm();

        var create = await RunAsync(created, ["service", "create", "-d", .. flags, "busybox", "sleep", "1d"]);
        var update = await RunAsync(updated, ["service", "update", "-d", .. flags, "--image", "busybox:1.37", "web"]);

        Assert.Equal((0, 0), (create.Code, update.Code));
        Assert.Equal(ResolveImageModes.Never, Assert.IsType<CreateService>(Assert.Single(created.Requests)).ResolveImage);
        Assert.Equal(ResolveImageModes.Never, Assert.IsType<UpdateService>(updated.Requests[1]).ResolveImage);
    }

    [Theory]
    [InlineData("create")]
    [InlineData("update")]
    public async Task No_Resolve_Image_Beside_Another_Mode_Is_Refused_Before_Asking(string command)
    {
        var (code, _, error) = await RunAsync(NoAnswers, "service", command, "--no-resolve-image", "--resolve-image", "always", command == "create" ? "nginx" : "web");

        Assert.Equal(1, code);
        Assert.Contains("--no-resolve-image is --resolve-image never and cannot be combined with --resolve-image always", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_Registry_Auth_Is_Accepted_For_Dockers_Scripts_And_Changes_Nothing()
    {
        var plain = Swarm();
        var withAuth = Swarm();

        await RunAsync(plain, "service", "update", "-d", "--image", "busybox:1.37", "web");
        var (code, output, error) = await RunAsync(withAuth, "service", "update", "--with-registry-auth", "-d", "--image", "busybox:1.37", "web");
        var create = await RunAsync(Swarm(), "service", "create", "-d", "--with-registry-auth", "--name", "web", "nginx");

        Assert.Equal((0, "web\n", string.Empty), (code, output, error));
        Assert.Equal(0, create.Code);
        Assert.Equal(Assert.IsType<UpdateService>(plain.Requests[1]).Spec, Assert.IsType<UpdateService>(withAuth.Requests[1]).Spec);
    }

    [Theory]
    [InlineData("create", "sometimes")]
    [InlineData("update", "Always")]
    public async Task A_Mode_Other_Than_Always_Changed_Or_Never_Is_Refused_Before_Asking(string command, string mode)
    {
        var (code, _, error) = await RunAsync(NoAnswers, "service", command, "--resolve-image", mode, command == "create" ? "nginx" : "web");

        Assert.NotEqual(0, code);
        Assert.Contains($"--resolve-image '{mode}' is not a mode; use always", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_Ls_Shows_A_Pinned_Image_Without_Its_Digest_And_Inspect_Pretty_With_It()
    {
        var node = Swarm(Service(spec: Spec(image: $"busybox:latest@{Digest}")));

        var listed = await RunAsync(node, "service", "ls");
        var pretty = await RunAsync(node, "service", "inspect", "--pretty", "web");

        Assert.Contains(" busybox:latest ", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("sha256", listed.Out, StringComparison.Ordinal);
        Assert.Contains($" Image:             busybox:latest@{Digest}\n", pretty.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Token_Prints_How_To_Use_It_With_An_Outside_Tool()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "registry", "token", "push");

        Assert.Equal(0, code);
        Assert.Equal(new GetRegistryToken(((GetRegistryToken)node.Requests[0]).RequestId, "push", false), node.Requests[0]);
        Assert.Contains($"skopeo copy --dest-creds push:{Token} docker-archive:app.tar docker://MANAGER:PORT/me/app:1.0\n", output, StringComparison.Ordinal);
        Assert.Contains("protoswarmd --registry-listen ADDR:PORT", output, StringComparison.Ordinal);
        Assert.DoesNotContain("rotated", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Token_Pull_Shows_A_Pull_With_The_Source_Credentials()
    {
        var (_, output, _) = await RunAsync(Swarm(), "registry", "token", "pull");

        Assert.Contains($"skopeo copy --src-creds pull:{Token} docker://MANAGER:PORT/", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Token_Q_Prints_Only_The_Token_And_Rotate_Asks_For_A_New_One()
    {
        var node = Swarm();

        var quiet = await RunAsync(node, "registry", "token", "-q", "pull");
        var rotated = await RunAsync(node, "registry", "token", "--rotate", "push");

        Assert.Equal(Token + "\n", quiet.Out);
        Assert.True(((GetRegistryToken)node.Requests[1]).Rotate);
        Assert.StartsWith("Successfully rotated the registry's push token.\n\n", rotated.Out, StringComparison.Ordinal);
        Assert.Contains("push:" + Token.Replace('0', 'f'), rotated.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Token_Refuses_A_Role_Other_Than_Pull_Or_Push_Before_Asking()
    {
        var (code, _, error) = await RunAsync(NoAnswers, "registry", "token", "admin");

        Assert.NotEqual(0, code);
        Assert.Contains("'admin' is not a registry role; use pull or push.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_Ls_Prints_Repositories_Sorted_With_Their_Tags_And_Size_Names_With_Q_And_Json_Lines()
    {
        var node = Swarm();

        var table = await RunAsync(node, "registry", "ls");
        var quiet = await RunAsync(node, "registry", "ls", "-q");
        var json = await RunAsync(node, "registry", "ls", "--format", "json");

        Assert.Equal(
            "REPOSITORY        TAGS                SIZE\n" +
            "library/busybox   latest              2.15MB\n" +
            "me/app            1.9, 1.10, latest   1.23MB\n", table.Out);
        Assert.Equal("library/busybox\nme/app\n", quiet.Out);
        var first = JsonNode.Parse(json.Out.Split('\n')[1])!;
        Assert.Equal(("me/app", "1.9, 1.10, latest", "3", "1.23MB"),
            (first["Repository"]!.GetValue<string>(), first["Tags"]!.GetValue<string>(), first["Manifests"]!.GetValue<string>(), first["Size"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData(2, 2, "The other 2 managers swept their disks too.\n", "hourly")]
    [InlineData(2, 1, "1 of the other 2 managers swept their disks too.\nThe other 1 manager did not answer and remove the blob files no repository links at their hourly sweep", null)]
    [InlineData(2, 0, "The other 2 managers remove the blob files no repository links at their hourly sweep", "swept their disks")]
    public void Registry_Gc_Says_Which_Other_Managers_Swept_Their_Disks_At_Once(int others, int swept, string expected, string? absent)
    {
        var text = RegistryView.GarbageReport(new RegistryGarbageCollected(false, [], "m1", 2, 2048, 0, others, swept));

        Assert.Contains(expected, text, StringComparison.Ordinal);
        if (absent is not null)
        {
            Assert.DoesNotContain(absent, text, StringComparison.Ordinal);
        }
    }
}
