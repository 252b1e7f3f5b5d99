using System.Collections.Immutable;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class SystemPruneTests
{
    private const string DanglingId = "sha256:dd00000000000000000000000000000000000000000000000000000000000000";
    private const string TaggedId = "sha256:ee00000000000000000000000000000000000000000000000000000000000000";

    private static readonly NetworkObject Ingress = NetworkCommandTests.Network("ingressid0000000000000000a", "ingress", "10.0.0.0/24", 4096, ingress: true);
    private static readonly NetworkObject Unused = NetworkCommandTests.Network("unusedid00000000000000000b", "unused", "10.0.1.0/24", 4097);

    private static ImageObject Image(string id, params string[] tags) => new(
        id, "sha256:" + new string('m', 64), [.. tags], Joined, 1_000, "amd64", "linux", [], ["sh"], [], "/", "", [],
        ImmutableSortedDictionary<string, string>.Empty, "", null, ["sha256:" + new string('1', 64)]);

    private static VolumeObject Volume(string name, bool anonymous) =>
        new(name, "local", "/v/" + name, Joined, ImmutableSortedDictionary<string, string>.Empty, "local", [], anonymous);

    /// <summary>A node with no stopped container, one unused network (and ingress), an anonymous and a named unused volume, a dangling and a tagged image.</summary>
    private static FakeNode Node(bool manager = true) => new(request => request switch
    {
        ListContainers => new ContainerList([], DateTimeOffset.UtcNow),
        ListNetworks when !manager => new CommandRejected(RejectCode.NotManager, "This node is not a swarm manager."),
        ListNetworks => new NetworkList([Ingress, Unused]),
        RemoveNetwork r => new NetworkRemoved(r.NetworkRef),
        ListVolumes => new VolumeList([Volume("0123abcd", anonymous: true), Volume("data", anonymous: false)]),
        RemoveVolume r => new VolumeRemoved(r.Name, 4_000),
        ListImages => new ImageList([Image(DanglingId), Image(TaggedId, "app:1")]),
        PruneImages m => new ImagesPruned([], [.. m.ImageIds], 20_000),
        _ => throw new InvalidOperationException(request.GetType().Name),
    });

    [Fact]
    public async Task System_Prune_Prunes_Containers_Networks_Volumes_And_Images_In_Dockers_Order_With_One_Total()
    {
        var node = Node();

        var (code, output, error) = await RunAsync(node, "system", "prune", "-f", "--volumes");

        Assert.True(code == 0, error);
        Assert.Equal(
            "Deleted Networks:\nunused\n\nDeleted Volumes:\n0123abcd\n\nDeleted Images:\n" + $"deleted: {DanglingId}\n\nTotal reclaimed space: 24kB\n",
            output);
        Assert.Equal([Unused.Id], node.Requests.OfType<RemoveNetwork>().Select(r => r.NetworkRef));
        Assert.False(Assert.Single(node.Requests.OfType<PruneImages>()).All);
    }

    [Fact]
    public async Task System_Prune_On_A_Worker_Skips_The_Swarms_Networks_And_Prunes_The_Rest_With_All_Images()
    {
        var node = Node(manager: false);

        var (code, output, error) = await RunAsync(node, "system", "prune", "-af");

        Assert.True(code == 0, error);
        Assert.Equal<string>([DanglingId, TaggedId], Assert.Single(node.Requests.OfType<PruneImages>()).ImageIds);
        Assert.DoesNotContain(node.Requests, r => r is ListVolumes or RemoveNetwork);
        Assert.Equal($"Deleted Images:\ndeleted: {DanglingId}\ndeleted: {TaggedId}\n\nTotal reclaimed space: 20kB\n", output);
    }

    [Theory]
    [InlineData(false, false, new string[0],
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ")]
    [InlineData(true, true, new[] { "label=tier=web" },
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n"
        + "  - all images without at least one container associated to them\n\n  Items to be pruned will be filtered with:\n  - label=tier=web\n\nAre you sure you want to continue? [y/N] ")]
    public async Task System_Prune_Asks_Once_In_Dockers_Words_And_A_No_Prunes_Nothing(bool all, bool volumes, string[] filters, string prompt)
    {
        var node = Node();
        string[] args = ["system", "prune", .. all ? ["-a"] : Array.Empty<string>(), .. volumes ? ["--volumes"] : Array.Empty<string>(), .. filters.SelectMany(f => new[] { "--filter", f })];

        var (code, output, _) = await RunWithInputAsync(node, "n\n"u8.ToArray(), CancellationToken.None, args);

        Assert.Equal(0, code);
        Assert.Equal(prompt, output);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task System_Prune_Refuses_Until_With_Volumes_Before_Asking_The_Node()
    {
        var node = Node();

        var (code, _, error) = await RunAsync(node, "system", "prune", "-f", "--volumes", "--filter", "until=24h");

        Assert.NotEqual(0, code);
        Assert.Contains("until= cannot be used with --volumes", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }
}

public sealed class SystemDfTests
{
    private static FakeNode Node() => new(request => request switch
    {
        GetDiskUsage => new DiskUsage([
            new DiskUsageRow("Images", 5, 2, 16_430_000, 11_630_000),
            new DiskUsageRow("Containers", 2, 0, 212, 212),
            new DiskUsageRow("Local Volumes", 2, 1, 36, 0),
            new DiskUsageRow("Build Cache", 0, 0, 0, 0),
        ]),
        _ => throw new InvalidOperationException(request.GetType().Name),
    });

    [Fact]
    public async Task System_Df_Prints_Dockers_Table_With_The_Reclaimable_Share()
    {
        var (code, output, error) = await RunAsync(Node(), "system", "df");

        Assert.True(code == 0, error);
        Assert.Equal(
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n" +
            "Images          5         2         16.4MB    11.6MB (70%)\n" +
            "Containers      2         0         212B      212B (100%)\n" +
            "Local Volumes   2         1         36B       0B (0%)\n" +
            "Build Cache     0         0         0B        0B\n",
            output);
    }

    [Fact]
    public async Task System_Df_Json_And_Templates_Use_Dockers_Fields()
    {
        var (code, json, _) = await RunAsync(Node(), "system", "df", "--format", "json");
        var (code2, template, _) = await RunAsync(Node(), "system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}");

        Assert.Equal((0, 0), (code, code2));
        Assert.StartsWith("{\"Active\":\"2\",\"Reclaimable\":\"11.6MB (70%)\",\"Size\":\"16.4MB\",\"TotalCount\":\"5\",\"Type\":\"Images\"}\n", json, StringComparison.Ordinal);
        Assert.Equal("Images=5/2\nContainers=2/0\nLocal Volumes=2/1\nBuild Cache=0/0\n", template);
    }
}
