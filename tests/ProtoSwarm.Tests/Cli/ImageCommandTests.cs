using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class ImageCommandTests : IDisposable
{
    private const string BusyboxId = "sha256:4a35e0e5c9a1e0bd56e5b2b6f3f1c6f5b3a1f3d3a2c7b6e5d4c3b2a1f0e9d8c7";
    private const string OtherId = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly string _archive = Path.GetTempFileName();

    public void Dispose() => File.Delete(_archive);

    private static ImageObject Image(string id, DateTimeOffset created, long size, params string[] tags) => new(
        id, "sha256:" + new string('m', 64), [.. tags], created, size, "amd64", "linux",
        ["/bin/sh", "-c"], ["echo hello"], ["PATH=/bin"], "/data", "nobody", ["80/tcp"],
        ImmutableSortedDictionary<string, string>.Empty.Add("role", "test"), "SIGQUIT",
        new ImageHealthcheckSpec(["CMD", "true"], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), TimeSpan.Zero, 3),
        ["sha256:" + new string('1', 64)]);

    [Fact]
    public async Task Image_Load_Sends_The_Full_Path_And_Prints_Each_Loaded_Name()
    {
        var node = new FakeNode(_ => new ImageLoaded([Image(BusyboxId, Joined, 4_264_000, "busybox:latest", "busybox:1.36"), Image(OtherId, Joined, 1, [])]));
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _archive);

        var (code, output, _) = await RunAsync(node, "image", "load", "-i", relative);

        Assert.Equal(0, code);
        Assert.Equal(_archive, Assert.IsType<LoadImage>(Assert.Single(node.Requests)).Path);
        Assert.Equal($"Loaded image: busybox:latest\nLoaded image: busybox:1.36\nLoaded image ID: {OtherId}\n", output);
    }

    [Fact]
    public async Task Image_Push_Sends_The_Name_And_Prints_The_Digest()
    {
        var digest = "sha256:" + new string('d', 64);
        var node = new FakeNode(_ => new ImagePushed("library/busybox", "latest", digest, 2, 1, 2_100_000));

        var (code, output, _) = await RunAsync(node, "image", "push", "busybox");

        Assert.Equal(0, code);
        Assert.Equal("busybox", Assert.IsType<PushImage>(Assert.Single(node.Requests)).ImageRef);
        Assert.Equal($"The push refers to repository library/busybox in the swarm's registry\n2 blob(s) pushed (2.1MB), 1 already there\nlatest: digest: {digest}\n", output);
    }

    [Fact]
    public async Task Image_Push_Says_How_Many_Blobs_Were_Mounted_From_Other_Repositories()
    {
        var digest = "sha256:" + new string('d', 64);
        var node = new FakeNode(_ => new ImagePushed("team/app", "v1", digest, 0, 0, 0, BlobsMounted: 3));

        var (code, output, _) = await RunAsync(node, "image", "push", "team/app:v1");

        Assert.Equal(0, code);
        Assert.Equal($"The push refers to repository team/app in the swarm's registry\n0 blob(s) pushed (0B), 3 mounted from other repositories, 0 already there\nv1: digest: {digest}\n", output);
    }

    [Fact]
    public async Task Image_Push_Refuses_A_Digest_And_A_Bad_Name_Before_Asking_The_Node()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (pinned, _, pinnedError) = await RunAsync(node, "image", "push", "busybox@sha256:" + new string('a', 64));
        var (bad, _, badError) = await RunAsync(node, "image", "push", "Busybox");

        Assert.NotEqual(0, pinned);
        Assert.Contains("cannot be stored as a tag", pinnedError, StringComparison.Ordinal);
        Assert.NotEqual(0, bad);
        Assert.Contains("invalid reference format", badError, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Image_Pull_By_Digest_Says_Whether_Anything_Was_Downloaded()
    {
        var digest = "sha256:" + new string('d', 64);
        var replies = new Queue<object>([new ImagePulled(Image(BusyboxId, Joined, 1, []), digest, 2, 3_000_000, Updated: true), new ImagePulled(Image(BusyboxId, Joined, 1, []), digest, 0, 0)]);
        var node = new FakeNode(_ => replies.Dequeue());

        var (first, downloaded, _) = await RunAsync(node, "image", "pull", "busybox@" + digest);
        var (second, upToDate, _) = await RunAsync(node, "image", "pull", "busybox@" + digest);

        Assert.Equal(0, first + second);
        Assert.Equal($"Digest: {digest}\nStatus: Downloaded newer image for busybox@{digest} (2 blob(s), 3MB)\n", downloaded);
        Assert.Contains("Status: Image is up to date", upToDate, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_Pull_Of_A_New_Tag_For_Content_Already_Here_Says_Downloaded_Newer_Image_As_Docker_Does()
    {
        var digest = "sha256:" + new string('d', 64);
        var replies = new Queue<object>([new ImagePulled(Image(BusyboxId, Joined, 1, "busybox:two"), digest, 0, 0, Updated: true), new ImagePulled(Image(BusyboxId, Joined, 1, "busybox:two"), digest, 0, 0, Updated: false)]);
        var node = new FakeNode(_ => replies.Dequeue());

        var (first, tagged, _) = await RunAsync(node, "image", "pull", "busybox:two");
        var (second, again, _) = await RunAsync(node, "image", "pull", "busybox:two");

        Assert.Equal(0, first + second);
        Assert.Equal($"Digest: {digest}\nStatus: Downloaded newer image for busybox:two\n", tagged);
        Assert.Equal($"Digest: {digest}\nStatus: Image is up to date for busybox:two\n", again);
    }

    [Fact]
    public async Task Image_Load_Refuses_A_Missing_File_Before_Asking_The_Node()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "image", "load", "-i", "/no/such/archive.tar");

        Assert.NotEqual(0, code);
        Assert.Contains("open /no/such/archive.tar: no such file", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Image_Load_Shows_The_Nodes_Reason_For_A_Corrupt_Archive()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.InvalidArgument, $"{_archive}: layer 2 ...: digest mismatch"));

        var (code, _, error) = await RunAsync(node, "image", "load", "-i", _archive);

        Assert.Equal(1, code);
        Assert.Equal($"Error: {_archive}: layer 2 ...: digest mismatch\n", error);
    }

    [Fact]
    public async Task Image_Import_Prints_The_New_Image_Id()
    {
        var node = new FakeNode(_ => new ImageImported(Image(BusyboxId, Joined, 1, "rootfs:v1")));

        var (code, output, _) = await RunAsync(node, "image", "import", _archive, "rootfs:v1");

        Assert.Equal(0, code);
        var request = Assert.IsType<ImportImage>(Assert.Single(node.Requests));
        Assert.Equal(("rootfs:v1", _archive), (request.NameTag, request.Path));
        Assert.Equal(BusyboxId + "\n", output);
    }

    [Fact]
    public void Image_Ls_Prints_Docker_Columns_One_Row_Per_Name_Newest_First()
    {
        var now = Joined.AddDays(3);
        var rows = ImageView.Rows([Image(OtherId, Joined.AddDays(-30), 999, []), Image(BusyboxId, Joined, 4_264_000, "busybox:latest", "registry:5000/bb:1.36")], now);

        Assert.Equal(
            "REPOSITORY         TAG       IMAGE ID       CREATED       SIZE\n" +
            "busybox            latest    4a35e0e5c9a1   3 days ago    4.26MB\n" +
            "registry:5000/bb   1.36      4a35e0e5c9a1   3 days ago    4.26MB\n" +
            "<none>             <none>    0123456789ab   4 weeks ago   999B\n",
            ImageView.Table(rows));
    }

    [Fact]
    public void Image_Ls_Lists_An_Image_With_Only_Digest_References_Under_Its_Repository_And_Digests_On_Demand()
    {
        var now = Joined.AddDays(3);
        var digest = "sha256:" + new string('d', 64);
        var other = "sha256:" + new string('e', 64);
        // Pulled for a task by digest (no tag), and pulled by tag (its registry digest kept beside the tag).
        var byDigest = Image(OtherId, Joined.AddDays(-30), 999, []) with { RepoDigests = [$"app@{other}"] };
        var byTag = Image(BusyboxId, Joined, 4_264_000, "busybox:latest") with { RepoDigests = [$"busybox@{digest}"] };

        var plain = ImageView.Table(ImageView.Rows([byDigest, byTag], now));
        var withDigests = ImageView.Table(ImageView.Rows([byDigest, byTag], now, digests: true), digests: true);

        Assert.Equal(
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n" +
            "busybox      latest    4a35e0e5c9a1   3 days ago    4.26MB\n" +
            "app          <none>    0123456789ab   4 weeks ago   999B\n",
            plain);
        Assert.Equal(
            "REPOSITORY   TAG       DIGEST" + new string(' ', 68) + "IMAGE ID       CREATED       SIZE\n" +
            $"busybox      latest    {digest}   4a35e0e5c9a1   3 days ago    4.26MB\n" +
            $"app          <none>    {other}   0123456789ab   4 weeks ago   999B\n",
            withDigests);
    }

    [Fact]
    public async Task Image_Ls_Digests_Flag_And_A_Digest_Template_Show_Digests()
    {
        var digest = "sha256:" + new string('d', 64);
        var node = new FakeNode(_ => new ImageList([Image(BusyboxId, Joined, 1, "busybox:latest") with { RepoDigests = [$"busybox@{digest}"] }]));

        var flag = await RunAsync(node, "image", "ls", "--digests");
        var template = await RunAsync(node, "image", "ls", "--format", "{{.Repository}} {{.Digest}}");
        var without = await RunAsync(node, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}");

        Assert.Contains($"busybox      latest    {digest}", flag.Out, StringComparison.Ordinal);
        Assert.Equal($"busybox {digest}\n", template.Out);
        Assert.Equal("busybox:latest\n", without.Out);
    }

    [Fact]
    public async Task Image_Ls_Quiet_Prints_Each_Image_Once_And_Json_Uses_Docker_Fields()
    {
        var node = new FakeNode(_ => new ImageList([Image(BusyboxId, Joined, 1, "busybox:latest", "busybox:two")]));

        var quiet = await RunAsync(node, "image", "ls", "-q");
        var json = await RunAsync(node, "image", "ls", "--format", "json");
        var template = await RunAsync(node, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}");

        Assert.Equal("4a35e0e5c9a1\n", quiet.Out);
        var first = JsonNode.Parse(json.Out.Split('\n')[0])!;
        Assert.Equal(("busybox", "latest", "4a35e0e5c9a1"), (first["Repository"]!.GetValue<string>(), first["Tag"]!.GetValue<string>(), first["ID"]!.GetValue<string>()));
        Assert.Equal("busybox:latest\nbusybox:two\n", template.Out);
    }

    [Fact]
    public async Task Image_Inspect_Prints_Dockers_Shape_And_Takes_A_Template()
    {
        var node = new FakeNode(_ => new ImageDetails(Image(BusyboxId, Joined, 1, "busybox:latest")));

        var (code, output, _) = await RunAsync(node, "image", "inspect", "busybox");
        var template = await RunAsync(node, "image", "inspect", "-f", "{{.Config.User}} {{.Os}}", "busybox");

        Assert.Equal(0, code);
        var image = JsonNode.Parse(output)!.AsArray().Single()!;
        Assert.Equal(BusyboxId, image["Id"]!.GetValue<string>());
        Assert.Equal("echo hello", image["Config"]!["Cmd"]![0]!.GetValue<string>());
        Assert.Equal(5_000_000_000L, image["Config"]!["Healthcheck"]!["Interval"]!.GetValue<long>());
        Assert.Equal("layers", image["RootFS"]!["Type"]!.GetValue<string>());
        Assert.Equal("nobody linux\n", template.Out);
    }

    [Fact]
    public async Task Image_Inspect_Shows_The_Registry_Digests_Of_A_Pulled_Image()
    {
        var digest = "sha256:" + new string('d', 64);
        var node = new FakeNode(_ => new ImageDetails(Image(BusyboxId, Joined, 1, "busybox:latest") with { RepoDigests = [$"busybox@{digest}"] }));

        var (code, output, _) = await RunAsync(node, "image", "inspect", "busybox");
        var template = await RunAsync(node, "image", "inspect", "-f", "{{.RepoDigests}}", "busybox");

        Assert.Equal(0, code);
        Assert.Equal($"busybox@{digest}", JsonNode.Parse(output)!.AsArray().Single()!["RepoDigests"]![0]!.GetValue<string>());
        Assert.Equal($"[busybox@{digest}]\n", template.Out);
    }

    [Fact]
    public async Task Image_Inspect_Template_Prints_An_Empty_Config_As_Go_Does()
    {
        var bare = Image(BusyboxId, Joined, 1, "busybox:latest") with
        {
            Env = [],
            Cmd = [],
            ExposedPorts = [],
            Labels = ImmutableSortedDictionary<string, string>.Empty,
            Healthcheck = null,
        };
        var node = new FakeNode(_ => new ImageDetails(bare));

        var template = await RunAsync(node, "image", "inspect", "--format", "{{.Config.Env}} {{.Config.Cmd}} {{.Config.ExposedPorts}} {{.Config.Labels}} {{.Config.Healthcheck}} {{.RepoTags}}", "busybox");
        var (_, output, _) = await RunAsync(node, "image", "inspect", "busybox");

        Assert.Equal("[] [] map[] map[] <nil> [busybox:latest]\n", template.Out);
        var config = JsonNode.Parse(output)!.AsArray().Single()!["Config"]!.AsObject();
        Assert.All(["Env", "Cmd", "ExposedPorts", "Labels", "Healthcheck"], key => Assert.Null(config[key]));
    }

    [Fact]
    public async Task Image_Inspect_Shows_The_Volumes_An_Image_Declares_As_Dockers_Map_And_Go_Prints_None_As_An_Empty_Map()
    {
        var declaring = Image(BusyboxId, Joined, 1, "busybox:latest") with { Volumes = ["/data", "/var/log"] };
        var node = new FakeNode(request => new ImageDetails(request is InspectImage { ImageRef: "plain" } ? declaring with { Volumes = [] } : declaring));

        var (_, output, _) = await RunAsync(node, "image", "inspect", "busybox");
        var template = await RunAsync(node, "image", "inspect", "--format", "{{.Config.Volumes}}", "busybox");
        var none = await RunAsync(node, "image", "inspect", "--format", "{{.Config.Volumes}}", "plain");

        var volumes = JsonNode.Parse(output)!.AsArray().Single()!["Config"]!["Volumes"]!.AsObject();
        Assert.Equal(["/data", "/var/log"], volumes.Select(v => v.Key));
        Assert.All(volumes, v => Assert.Empty(v.Value!.AsObject()));
        Assert.Equal("map[/data:{} /var/log:{}]\n", template.Out);
        Assert.Equal("map[]\n", none.Out);
    }

    [Fact]
    public async Task Image_Tag_Sends_Source_And_Target_And_Prints_Nothing_As_Docker_Does()
    {
        var node = new FakeNode(request => request switch
        {
            TagImage { Source: "busybox" } => new ImageTagged(Image(BusyboxId, Joined, 1, "busybox:latest", "me/bb:v2")),
            TagImage m => new CommandRejected(RejectCode.NotFound, $"No such image: {m.Source}"),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, _) = await RunAsync(node, "image", "tag", "busybox", "me/bb:v2");
        var (missing, _, missingError) = await RunAsync(node, "image", "tag", "nginx", "me/web");

        Assert.Equal(0, code);
        Assert.Equal("", output);
        var sent = Assert.IsType<TagImage>(node.Requests[0]);
        Assert.Equal(("busybox", "me/bb:v2"), (sent.Source, sent.Target));
        Assert.NotEqual(0, missing);
        Assert.Equal("Error: No such image: nginx\n", missingError);
    }

    [Fact]
    public async Task Image_Tag_Refuses_A_Bad_Or_Digest_Target_Before_Asking_The_Node()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (bad, _, badError) = await RunAsync(node, "image", "tag", "busybox", "Busybox");
        var (pinned, _, pinnedError) = await RunAsync(node, "image", "tag", "busybox", "bb@sha256:" + new string('a', 64));

        Assert.NotEqual(0, bad);
        Assert.Contains("Error parsing reference: 'Busybox': invalid reference format", badError, StringComparison.Ordinal);
        Assert.NotEqual(0, pinned);
        Assert.Contains("refusing to create a tag with a digest reference", pinnedError, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Image_Rm_Prints_Untagged_And_Deleted_And_Goes_On_After_A_Failure()
    {
        var node = new FakeNode(request => request switch
        {
            RemoveImage { ImageRef: "busybox", Force: true } => new ImageRemoved(["busybox:latest"], [BusyboxId, "sha256:" + new string('1', 64)]),
            RemoveImage m => new CommandRejected(RejectCode.NotFound, $"No such image: {m.ImageRef}"),
            _ => throw new InvalidOperationException(),
        });

        var (code, output, error) = await RunAsync(node, "image", "rm", "-f", "nginx", "busybox");

        Assert.Equal(1, code);
        Assert.Equal("Error: No such image: nginx\n", error);
        Assert.Equal($"Untagged: busybox:latest\nDeleted: {BusyboxId}\nDeleted: sha256:{new string('1', 64)}\n", output);
    }

    private const string DanglingId = "sha256:" + "dd00000000000000000000000000000000000000000000000000000000000000";

    /// <summary>A node with busybox (tagged, label role=test), a dangling image made a day later and another tagged one.</summary>
    private static FakeNode PruningNode() => new(request => request switch
    {
        ListImages => new ImageList([
            Image(BusyboxId, Joined, 4_264_000, "busybox:latest"),
            Image(DanglingId, Joined.AddDays(1), 2_000),
            Image(OtherId, Joined.AddDays(2), 1_000, "other:1") with { Labels = ImmutableSortedDictionary<string, string>.Empty.Add("keep", "yes") },
        ]),
        PruneImages m => new ImagesPruned(
            m.All ? ["busybox:latest"] : [],
            [.. m.ImageIds, "sha256:" + new string('1', 64)],
            1_536_000),
        _ => throw new InvalidOperationException(request.GetType().Name),
    });

    [Fact]
    public async Task Image_Prune_Asks_For_The_Dangling_Images_And_Prints_Dockers_Report()
    {
        var node = PruningNode();

        var (code, output, error) = await RunAsync(node, "image", "prune", "-f");

        Assert.True(code == 0, error);
        var sent = Assert.Single(node.Requests.OfType<PruneImages>());
        Assert.False(sent.All);
        Assert.Equal<string>([DanglingId], sent.ImageIds);
        Assert.Equal($"Deleted Images:\ndeleted: {DanglingId}\ndeleted: sha256:{new string('1', 64)}\n\nTotal reclaimed space: 1.54MB\n", output);
    }

    [Fact]
    public async Task Image_Prune_All_Takes_Tagged_Images_Too_Within_The_Until_And_Label_Filters()
    {
        var node = PruningNode();

        var (code, output, error) = await RunAsync(node, "image", "prune", "-a", "-f", "--filter", $"until={Joined.AddHours(36):yyyy-MM-ddTHH:mm:ssZ}", "--filter", "label!=keep=yes");

        Assert.True(code == 0, error);
        var sent = Assert.Single(node.Requests.OfType<PruneImages>());
        Assert.True(sent.All);
        Assert.Equal<string>([BusyboxId, DanglingId], sent.ImageIds);
        Assert.StartsWith("Deleted Images:\nuntagged: busybox:latest\ndeleted: ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "y\n", true)]
    [InlineData(true, "yes\n", true)]
    [InlineData(false, "n\n", false)]
    [InlineData(true, "", false)]
    public async Task Image_Prune_Asks_First_In_Dockers_Words_And_Only_Yes_Goes_On(bool all, string answer, bool pruned)
    {
        var node = PruningNode();
        string[] args = all ? ["image", "prune", "-a"] : ["image", "prune"];

        var (code, output, _) = await RunWithInputAsync(node, System.Text.Encoding.UTF8.GetBytes(answer), CancellationToken.None, args);

        Assert.Equal(0, code);
        Assert.StartsWith(
            all ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "
                : "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ",
            output, StringComparison.Ordinal);
        Assert.Equal(pruned, node.Requests.OfType<PruneImages>().Any());
    }

    [Fact]
    public async Task Image_Prune_With_Nothing_Dangling_Reports_No_Space_Without_Asking_The_Node_To_Remove()
    {
        var node = new FakeNode(request => request switch
        {
            ListImages => new ImageList([Image(BusyboxId, Joined, 4_264_000, "busybox:latest")]),
            _ => throw new InvalidOperationException(request.GetType().Name),
        });

        var (code, output, error) = await RunAsync(node, "image", "prune", "--force");

        Assert.True(code == 0, error);
        Assert.Equal("Total reclaimed space: 0B\n", output);
    }

    [Fact]
    public async Task Image_Prune_Refuses_A_Bad_Filter_Before_Asking_The_Node()
    {
        var node = PruningNode();

        var (code, _, error) = await RunAsync(node, "image", "prune", "-f", "--filter", "dangling=maybe");
        var (code2, _, error2) = await RunAsync(node, "image", "prune", "-f", "--filter", "reference=busybox");
        var (code3, _, error3) = await RunAsync(node, "image", "prune", "-f", "--filter", "until=notatime");

        Assert.NotEqual(0, code);
        Assert.Contains("dangling=maybe", error, StringComparison.Ordinal);
        Assert.NotEqual(0, code2);
        Assert.Contains("'reference' is not a filter here", error2, StringComparison.Ordinal);
        Assert.NotEqual(0, code3);
        Assert.StartsWith("--filter 'until=notatime': until takes a time (2013-01-02T13:23:37Z, or Unix seconds) or a duration back from now (24h, 30m).\n", error3, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData("dangling=false")]
    [InlineData("dangling=False")]
    [InlineData("dangling=0")]
    public async Task Image_Prune_Filter_Dangling_False_Prunes_As_All_Does(string dangling)
    {
        var node = PruningNode();

        var (code, _, error) = await RunAsync(node, "image", "prune", "-f", "--filter", dangling);

        Assert.True(code == 0, error);
        var sent = Assert.Single(node.Requests.OfType<PruneImages>());
        Assert.True(sent.All);
        Assert.Equal<string>([BusyboxId, DanglingId, OtherId], sent.ImageIds);
    }

    [Theory]
    [InlineData(999, "999B")]
    [InlineData(4_264_000, "4.26MB")]
    [InlineData(1_500, "1.5kB")]
    [InlineData(123_456_789, "123MB")]
    public void Sizes_Are_Printed_As_Docker_Image_Ls_Does(long bytes, string expected) => Assert.Equal(expected, ImageView.HumanSize(bytes));
}
