using System.Diagnostics;
using System.Formats.Tar;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Images.Interop;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Containers.Images;

[Trait("Category", "Privileged")]
public sealed class ImageStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-images-").FullName;
    private readonly ImageStore _store;

    public ImageStoreTests() => _store = new ImageStore(Path.Combine(_dir, "images"));

    private string LayersDir => Path.Combine(_store.Root, "layers");

    private string BlobsDir => Path.Combine(_store.Root, "blobs", "sha256");

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<IReadOnlyList<StoredImage>> Load(byte[] archive) => _store.LoadAsync(new MemoryStream(archive));

    [Fact]
    public async Task Docker_Save_Archive_Loads_With_Its_Names_And_Config()
    {
        var images = await Load(DockerSave(["busybox:latest", "registry.local:5000/tools/bb:1.36"]));

        var image = Assert.Single(images);
        Assert.Equal<string>(["busybox:latest", "registry.local:5000/tools/bb:1.36"], image.RepoTags);
        var config = image.Config;
        Assert.Equal<string>(["/bin/sh", "-c"], config.Entrypoint);
        Assert.Equal<string>(["echo hello"], config.Cmd);
        Assert.Equal<string>(["PATH=/bin", "GREETING=hi"], config.Env);
        Assert.Equal("/data", config.WorkingDir);
        Assert.Equal("nobody", config.User);
        Assert.Equal<string>(["53/udp", "80/tcp"], config.ExposedPorts);
        Assert.Equal("SIGQUIT", config.StopSignal);
        Assert.Equal("test", config.Labels["org.example.role"]);
        Assert.Equal<string>(["CMD-SHELL", "true"], config.Healthcheck!.Test);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Healthcheck.Interval);
        Assert.Equal(3, config.Healthcheck.Retries);
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), image.Created);
        Assert.Equal<string>([Digest(BaseLayer()), Digest(TopLayer())], image.Layers.Select(l => l.DiffId));
        Assert.True(image.Size > new FileInfo(Busybox).Length);

        Assert.Equal(image.Id, (await _store.InspectAsync("busybox")).Id);
        Assert.Equal(image.Id, (await _store.InspectAsync("docker.io/library/busybox:latest")).Id);
        Assert.Equal(image.Id, (await _store.InspectAsync(image.Id[7..19])).Id);
        Assert.Equal(image.Id, (await _store.InspectAsync("registry.local:5000/tools/bb:1.36")).Id);
    }

    [Fact]
    public async Task The_Volumes_An_Image_Declares_Are_Read_From_Its_Config_And_Kept_By_The_Store()
    {
        var layers = new[] { BaseLayer(), TopLayer() };
        var config = Config(layers);
        config["config"]!["Volumes"] = new System.Text.Json.Nodes.JsonObject { ["/var/lib/app"] = new System.Text.Json.Nodes.JsonObject(), ["/data"] = new System.Text.Json.Nodes.JsonObject() };

        var loaded = Assert.Single(await Load(DockerSave(["vols:1"], layers, config)));
        var inspected = await _store.InspectAsync("vols:1");
        var plain = Assert.Single(await Load(DockerSave(["plain:1"])));

        Assert.Equal<string>(["/data", "/var/lib/app"], loaded.Config.Volumes);
        Assert.Equal<string>(["/data", "/var/lib/app"], inspected.Config.Volumes);
        Assert.Empty(plain.Config.Volumes);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task Oci_Layout_Loads_Through_An_Index_With_Gzip_Or_Plain_Layers(bool gzip, bool throughIndex)
    {
        var image = Assert.Single(await Load(OciLayout("docker.io/library/busybox:oci", gzip, throughIndex)));

        Assert.Equal<string>(["busybox:oci"], image.RepoTags);
        Assert.Equal("nobody", image.Config.User);
        Assert.Equal<string>([Digest(BaseLayer()), Digest(TopLayer())], image.Layers.Select(l => l.DiffId));
        Assert.Equal(gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", image.Layers[0].MediaType);
        var root = _store.RootLayers(image);
        Assert.True(File.Exists(Path.Combine(root[0], "bin", "busybox")));
        Assert.Equal("busybox", new FileInfo(Path.Combine(root[0], "bin", "sh")).LinkTarget);
    }

    [Fact]
    public async Task Layers_Are_Unpacked_Once_And_Shared_By_Every_Image_That_Has_Them()
    {
        var first = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var again = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var oci = Assert.Single(await Load(OciLayout("busybox:oci")));
        var baseOnly = Assert.Single(await Load(DockerSave(["busybox:base"], [BaseLayer()])));

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Id, oci.Id);
        Assert.Equal(_store.RootLayers(first), _store.RootLayers(oci));
        Assert.Equal(_store.RootLayers(first)[0], _store.RootLayers(baseOnly)[0]);
        Assert.Equal(2, Directory.GetDirectories(LayersDir).Length);
        var usage = await _store.UsageAsync();
        Assert.Equal(2, usage.Layers);
    }

    [Fact]
    public async Task A_Docker_Save_Archive_With_Two_Images_And_A_Layer_Linked_To_Its_First_Copy_Loads_Both()
    {
        byte[] base_ = BaseLayer(), top = TopLayer();
        var full = System.Text.Encoding.UTF8.GetBytes(Config(base_, top).ToJsonString());
        var small = System.Text.Encoding.UTF8.GetBytes(Config(base_).ToJsonString());
        var manifest = $"[{{\"Config\":\"{Hex(full)}.json\",\"RepoTags\":[\"bb:full\"],\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}}," +
                       $"{{\"Config\":\"{Hex(small)}.json\",\"RepoTags\":[\"bb:base\"],\"Layers\":[\"l3/layer.tar\"]}}]";
        var archive = Tar(w =>
        {
            AddFile(w, Hex(full) + ".json", full);
            AddFile(w, Hex(small) + ".json", small);
            AddFile(w, "l1/layer.tar", base_);
            AddFile(w, "l2/layer.tar", top);
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "l3/layer.tar") { LinkName = "../l1/layer.tar" });
            AddFile(w, "manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest));
        });

        var images = await Load(archive);

        Assert.Equal<string>(["bb:full", "bb:base"], images.Select(i => i.RepoTags.Single()));
        Assert.Equal(_store.RootLayers(images[0])[0], Assert.Single(_store.RootLayers(images[1])));
        Assert.Equal(2, Directory.GetDirectories(LayersDir).Length);
    }

    [Fact]
    public async Task Whiteouts_Become_Overlayfs_Devices_And_Opaque_Directories()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var top = _store.RootLayers(image)[1];

        var whiteout = Path.Combine(top, "etc", "motd");
        Assert.Equal("c 0:0", Stat("%F", whiteout) == "character special file" ? "c " + Stat("%Hr:%Lr", whiteout) : "not a device");
        Assert.False(File.Exists(Path.Combine(top, "etc", ".wh.motd")));
        Assert.Equal("y", GetXattr(Path.Combine(top, "data"), "trusted.overlay.opaque"));
        Assert.False(File.Exists(Path.Combine(top, "data", ".wh..wh..opq")));
        Assert.Equal("fifo", Stat("%F", Path.Combine(top, "tmp", "fifo")));

        var lower = _store.RootLayers(image)[0];
        Assert.Equal("1000:1001", Stat("%u:%g", Path.Combine(lower, "data", "owned")));
        Assert.Equal("1777", Stat("%a", Path.Combine(lower, "tmp")));
        Assert.Equal("2", Stat("%h", Path.Combine(lower, "bin", "busybox")));
        Assert.Equal(Time.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), Stat("%Y", Path.Combine(lower, "etc")));
    }

    [Fact]
    public async Task Overlayfs_Over_The_Layers_Hides_Deleted_Files_And_Opaque_Contents()
    {
        var image = Assert.Single(await Load(OciLayout("busybox:latest")));
        var merged = Directory.CreateDirectory(Path.Combine(_dir, "merged")).FullName;
        var lowerdir = string.Join(':', _store.RootLayers(image).Reverse());

        Run("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={lowerdir}", merged);
        try
        {
            Assert.True(File.Exists(Path.Combine(merged, "bin", "busybox")));
            Assert.True(File.Exists(Path.Combine(merged, "etc", "passwd")));
            Assert.False(File.Exists(Path.Combine(merged, "etc", "motd")));
            Assert.Equal<string>(["new"], Directory.GetFileSystemEntries(Path.Combine(merged, "data")).Select(p => Path.GetFileName(p)!));
            Assert.Equal("hello\n", Run("chroot", merged, "/bin/echo", "hello"));
        }
        finally
        {
            Run("umount", merged);
        }
    }

    [Fact]
    public async Task A_Layer_Whose_Content_Does_Not_Match_Its_Digest_Refuses_The_Whole_Load()
    {
        var good = DockerSave(["busybox:latest"]);
        var bad = DockerSave(["busybox:bad"], tamper: files =>
        {
            var name = files.Keys.Single(k => k.StartsWith(Hex(TopLayer()), StringComparison.Ordinal) && k.EndsWith("layer.tar", StringComparison.Ordinal));
            files[name] = TopLayer().Concat(new byte[1024]).ToArray();
        });

        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(bad));

        Assert.Contains("digest mismatch", e.Message, StringComparison.Ordinal);
        Assert.Equal(RejectCode.InvalidArgument, e.Code);
        AssertEmpty();
        await Load(good);
        Assert.Equal<string>(["busybox:latest"], (await _store.ListAsync()).SelectMany(i => i.RepoTags));
    }

    [Fact]
    public async Task An_Oci_Blob_That_Does_Not_Hash_To_Its_Name_Is_Refused()
    {
        var bad = OciLayout("busybox:latest", tamper: files =>
        {
            var blob = files.Keys.First(k => k.StartsWith("blobs/", StringComparison.Ordinal) && files[k].Length > 100_000);
            var changed = files[blob].ToArray();
            changed[changed.Length / 2] ^= 0xff;
            files[blob] = changed;
        });

        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(bad));

        Assert.Contains("digest mismatch", e.Message, StringComparison.Ordinal);
        AssertEmpty();
    }

    [Theory]
    [InlineData("../escaped")]
    [InlineData("etc/../../escaped")]
    public async Task A_Path_That_Leaves_The_Layer_Is_Refused(string name)
    {
        var evil = Tar(w => AddFile(w, name, "x"u8.ToArray()));

        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(DockerSave(["evil:latest"], [BaseLayer(), evil])));

        Assert.Contains("escapes the layer", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(LayersDir, "escaped")));
        Assert.False(File.Exists(Path.Combine(_store.Root, "escaped")));
        AssertEmpty();
    }

    [Fact]
    public async Task A_Whiteout_That_Names_No_File_Is_Refused_And_Deletes_Nothing()
    {
        var evil = Tar(w =>
        {
            AddDir(w, "etc/");
            AddFile(w, "etc/keep", "x"u8.ToArray());
            AddFile(w, "etc/.wh.", []);
        });

        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(DockerSave(["evil:latest"], [evil])));

        Assert.Contains("names no file", e.Message, StringComparison.Ordinal);
        AssertEmpty();
    }

    [Fact]
    public async Task A_Path_Through_A_Symlink_The_Layer_Made_Is_Refused_And_Not_Followed()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_dir, "outside")).FullName;
        var evil = Tar(w =>
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = outside });
            AddFile(w, "link/planted", "x"u8.ToArray());
        });

        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(DockerSave(["evil:latest"], [evil])));

        Assert.Contains("symlink", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
        AssertEmpty();
    }

    [Fact]
    public async Task An_Archive_Of_Neither_Format_Is_Refused_With_What_It_Holds()
    {
        var e = await Assert.ThrowsAsync<ImageStoreException>(() => Load(Tar(w => AddFile(w, "hello.txt", "hi"u8.ToArray()))));
        Assert.Contains("neither a `docker save` archive", e.Message, StringComparison.Ordinal);
        Assert.Contains("hello.txt", e.Message, StringComparison.Ordinal);

        var garbage = await Assert.ThrowsAsync<ImageStoreException>(() => Load([.. Enumerable.Repeat((byte)7, 2000)]));
        Assert.Contains("tar", garbage.Message, StringComparison.Ordinal);
        AssertEmpty();
    }

    [Fact]
    public async Task Import_Makes_A_One_Layer_Image_From_A_Root_Filesystem_Tar()
    {
        var image = await _store.ImportAsync(new MemoryStream(Gzip(BaseLayer())), "imported:v1");

        Assert.Equal<string>(["imported:v1"], image.RepoTags);
        Assert.Equal<string>([Digest(BaseLayer())], image.Layers.Select(l => l.DiffId));
        Assert.Empty(image.Config.Cmd);
        Assert.Equal("linux", image.Config.Os);
        Assert.True(File.Exists(Path.Combine(Assert.Single(_store.RootLayers(image)), "bin", "busybox")));
    }

    [Fact]
    public async Task Removal_Untags_First_Then_Deletes_The_Image_And_Frees_Layers_No_Image_Uses()
    {
        await Load(DockerSave(["busybox:latest", "busybox:two"]));
        var baseOnly = Assert.Single(await Load(DockerSave(["busybox:base"], [BaseLayer()])));

        var untag = await _store.RemoveAsync("busybox:two", force: false);
        Assert.Equal<string>(["busybox:two"], untag.Untagged);
        Assert.Empty(untag.Deleted);

        var removed = await _store.RemoveAsync("busybox", force: false);
        Assert.Equal<string>(["busybox:latest"], removed.Untagged);
        Assert.Contains(Digest(TopLayer()), removed.Deleted);
        Assert.Equal<string>([Hex(BaseLayer())], Directory.GetDirectories(LayersDir).Select(p => Path.GetFileName(p)!));

        await _store.RemoveAsync(baseOnly.Id, force: false);
        AssertEmpty();
    }

    [Fact]
    public async Task Tag_Gives_The_Image_A_Second_Name_And_Removing_One_Name_Keeps_The_Other_And_The_Layers()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));

        var tagged = await _store.TagAsync("busybox", "registry.local:5000/tools/bb:v2");
        await _store.TagAsync(image.Id[7..19], "bb"); // by id prefix, as docker takes it

        Assert.Equal(image.Id, tagged.Id);
        Assert.Equal<string>(["bb:latest", "busybox:latest", "registry.local:5000/tools/bb:v2"], Assert.Single(await _store.ListAsync()).RepoTags);
        var untag = await _store.RemoveAsync("busybox", force: false);
        Assert.Equal<string>(["busybox:latest"], untag.Untagged);
        Assert.Empty(untag.Deleted);
        Assert.Equal(2, Directory.GetDirectories(LayersDir).Length);
        Assert.Equal(image.Id, (await _store.InspectAsync("registry.local:5000/tools/bb:v2")).Id);
    }

    [Fact]
    public async Task Tag_Moves_A_Name_From_Another_Image_And_Refuses_Bad_References_In_Dockers_Words()
    {
        var busybox = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var baseOnly = Assert.Single(await Load(DockerSave(["app:v1"], [BaseLayer()])));

        await _store.TagAsync("busybox", "app:v1");
        var missing = await Assert.ThrowsAsync<ImageStoreException>(() => _store.TagAsync("nosuch", "x"));
        var badName = await Assert.ThrowsAsync<ImageStoreException>(() => _store.TagAsync("busybox", "App"));
        var digest = await Assert.ThrowsAsync<ImageStoreException>(() => _store.TagAsync("busybox", "app@sha256:" + new string('a', 64)));

        var images = await _store.ListAsync();
        Assert.Equal<string>(["app:v1", "busybox:latest"], images.Single(i => i.Id == busybox.Id).RepoTags);
        Assert.Empty(images.Single(i => i.Id == baseOnly.Id).RepoTags); // docker's <none>: the image stays
        Assert.Equal(RejectCode.NotFound, missing.Code);
        Assert.StartsWith("No such image: nosuch", missing.Message, StringComparison.Ordinal);
        Assert.Equal(RejectCode.InvalidArgument, badName.Code);
        Assert.Contains("invalid reference format", badName.Message, StringComparison.Ordinal);
        Assert.StartsWith("refusing to create a tag with a digest reference", digest.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removal_Of_An_Image_In_Use_Or_By_Id_With_Several_Names_Needs_Force()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest", "busybox:two"])));

        var several = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync(image.Id, force: false));
        Assert.Equal(RejectCode.Conflict, several.Code);
        await _store.RemoveAsync("busybox:two", force: false);
        var inUse = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync("busybox", force: false, i => i.Id == image.Id ? Stopped : null));
        Assert.Contains("must force", inUse.Message, StringComparison.Ordinal);
        Assert.Contains("(stopped container task00000001)", inUse.Message, StringComparison.Ordinal);
        Assert.Single(await _store.ListAsync());

        // A stopped container's image gives way to -f, as docker's.
        await _store.RemoveAsync("busybox", force: true, _ => Stopped);
        AssertEmpty();
    }

    private static readonly ImageUser Running = new("task000000012345678901234", Running: true);

    private static readonly ImageUser Stopped = new("task000000012345678901234", Running: false);

    [Fact]
    public async Task An_Image_A_Running_Container_Uses_Is_Only_Untagged_By_A_Forced_Removal_By_Name_And_Keeps_Its_Layers()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var layers = _store.RootLayers(image);

        var refused = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync("busybox", force: false, _ => Running));
        var forced = await _store.RemoveAsync("busybox", force: true, _ => Running);
        // A later load collects garbage: the nameless image still holds its layers.
        await Load(DockerSave(["other:1"], [BaseLayer()]));

        Assert.Contains("must force", refused.Message, StringComparison.Ordinal);
        Assert.Contains("(running container task00000001)", refused.Message, StringComparison.Ordinal);
        Assert.Equal<string>(["busybox:latest"], forced.Untagged);
        Assert.Empty(forced.Deleted);
        var kept = (await _store.ListAsync()).Single(i => i.Id == image.Id);
        Assert.Empty(kept.RepoTags);
        Assert.All(layers, d => Assert.True(Directory.Exists(d), d));
        Assert.True(File.Exists(Path.Combine(layers[0], "bin", "busybox")));
        Assert.Equal(image.Id, (await _store.InspectAsync(image.Id)).Id);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_Image_A_Running_Container_Uses_Cannot_Be_Deleted_By_Id_Even_Forced(bool force)
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));

        var refused = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync(image.Id, force, i => i.Id == image.Id ? Running : null));

        Assert.Equal(RejectCode.Conflict, refused.Code);
        Assert.Equal($"conflict: unable to delete {image.Id[7..19]} (cannot be forced) - image is being used by running container task00000001", refused.Message);
        Assert.Equal<string>(["busybox:latest"], Assert.Single(await _store.ListAsync()).RepoTags);
        Assert.All(_store.RootLayers(image), d => Assert.True(Directory.Exists(d), d));
    }

    [Fact]
    public async Task An_Image_Only_A_Stopped_Container_Uses_Is_Deleted_By_Id_When_Forced()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));

        var refused = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync(image.Id, force: false, _ => Stopped));
        var removed = await _store.RemoveAsync(image.Id, force: true, _ => Stopped);

        Assert.Contains("must force", refused.Message, StringComparison.Ordinal);
        Assert.Equal<string>(["busybox:latest"], removed.Untagged);
        Assert.Contains(image.Id, removed.Deleted);
        AssertEmpty();
    }

    [Fact]
    public async Task Removing_One_Name_Of_An_Image_Another_Manifest_Also_Names_Only_Untags_It_Even_When_A_Task_Uses_It()
    {
        var oci = Assert.Single(await Load(OciLayout("myapp:1.0")));
        var saved = Assert.Single(await Load(DockerSave(["saved/app:2.0", "saved/app:latest"])));
        Assert.Equal(oci.Id, saved.Id);
        Assert.NotEqual(oci.ManifestDigest, saved.ManifestDigest);
        ImageUser? InUse(StoredImage i) => i.Id == oci.Id ? Running : null;

        var first = await _store.RemoveAsync("saved/app:2.0", force: false, InUse);
        var forced = await _store.RemoveAsync("saved/app:latest", force: true, InUse);

        Assert.Equal<string>(["saved/app:2.0"], first.Untagged);
        Assert.Empty(first.Deleted);
        Assert.Equal<string>(["saved/app:latest"], forced.Untagged);
        Assert.Empty(forced.Deleted);
        var left = Assert.Single(await _store.ListAsync());
        Assert.Equal(oci.Id, left.Id);
        Assert.Equal<string>(["myapp:1.0"], left.RepoTags);
        Assert.False(_store.HasBlob(saved.ManifestDigest));
        await using var export = await _store.ExportAsync("myapp:1.0");
        Assert.All(export.Layers.Append(export.Config), b => Assert.True(File.Exists(b.Path), b.Digest));
        Assert.All(_store.RootLayers(left), d => Assert.True(Directory.Exists(d), d));
    }

    [Fact]
    public async Task An_Image_Is_Listed_Once_With_The_Names_Of_Every_Manifest_And_A_Tag_Moving_Off_One_Leaves_No_None_Row()
    {
        var oci = Assert.Single(await Load(OciLayout("myapp:1.0")));
        var saved = Assert.Single(await Load(DockerSave(["saved/app:2.0"])));
        var both = Assert.Single(await _store.ListAsync());

        // saved/app:2.0 moves to another image: the first keeps its name through the OCI layout's manifest.
        var other = Assert.Single(await Load(DockerSave(["saved/app:2.0"], [BaseLayer()])));
        var listed = await _store.ListAsync();

        Assert.Equal(oci.Id, saved.Id);
        Assert.Equal<string>(["myapp:1.0", "saved/app:2.0"], both.RepoTags);
        Assert.Equal(2, listed.Count);
        Assert.Equal<string>(["myapp:1.0"], listed.Single(i => i.Id == oci.Id).RepoTags);
        Assert.Equal<string>(["saved/app:2.0"], listed.Single(i => i.Id == other.Id).RepoTags);
        Assert.Equal<string>(["myapp:1.0"], (await _store.InspectAsync(oci.Id)).RepoTags);
    }

    [Fact]
    public async Task The_Last_Name_Of_An_Image_Loaded_Twice_Deletes_It_Once_And_Only_Unless_A_Task_Uses_It()
    {
        var oci = Assert.Single(await Load(OciLayout("myapp:1.0")));
        await Load(DockerSave(["saved/app:2.0"]));
        await _store.RemoveAsync("myapp:1.0", force: false, _ => Running);

        var inUse = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync("saved/app:2.0", force: false, i => i.Id == oci.Id ? Stopped : null));
        var removed = await _store.RemoveAsync("saved/app:2.0", force: false);

        Assert.Equal(RejectCode.Conflict, inUse.Code);
        Assert.Contains($"image {oci.Id[7..19]} is used by a task", inUse.Message, StringComparison.Ordinal);
        Assert.Equal<string>(["saved/app:2.0"], removed.Untagged);
        Assert.Equal(oci.Id, removed.Deleted[0]);
        Assert.Single(removed.Deleted, oci.Id);
        AssertEmpty();
    }

    [Fact]
    public async Task Removing_A_Manifest_By_Digest_Deletes_The_Image_Only_With_Its_Last_Manifest()
    {
        var oci = Assert.Single(await Load(OciLayout("myapp:1.0")));
        var saved = Assert.Single(await Load(DockerSave(["saved/app:2.0"])));

        var byDigest = await _store.RemoveAsync(saved.ManifestDigest, force: false, _ => Running);
        var byId = await _store.RemoveAsync(oci.Id[7..19], force: false);

        Assert.Equal<string>(["saved/app:2.0"], byDigest.Untagged);
        Assert.Empty(byDigest.Deleted);
        Assert.Equal<string>(["myapp:1.0"], byId.Untagged);
        Assert.Contains(oci.Id, byId.Deleted);
        AssertEmpty();
    }

    [Fact]
    public async Task Removing_An_Image_By_Id_Removes_Every_Manifest_That_Holds_It()
    {
        var oci = Assert.Single(await Load(OciLayout("myapp:1.0")));
        await Load(DockerSave(["saved/app:2.0"]));

        var several = await Assert.ThrowsAsync<ImageStoreException>(() => _store.RemoveAsync(oci.Id, force: false));
        var removed = await _store.RemoveAsync(oci.Id, force: true);

        Assert.Contains("referenced in multiple repositories", several.Message, StringComparison.Ordinal);
        Assert.Equal<string>(["myapp:1.0", "saved/app:2.0"], removed.Untagged.Order(StringComparer.Ordinal));
        Assert.Single(removed.Deleted, oci.Id);
        AssertEmpty();
    }

    [Fact]
    public async Task Prune_Deletes_The_Dangling_Image_With_The_Layers_Only_It_Had_And_Keeps_Tagged_Ones()
    {
        var old = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        // The name moves to a one-layer image: the first is left dangling, its top layer its own.
        var current = Assert.Single(await Load(DockerSave(["busybox:latest"], [BaseLayer()])));
        var topLayer = Path.Combine(LayersDir, Hex(TopLayer()));
        var topSize = old.Layers.Single(l => l.DiffId == Digest(TopLayer())).Size;
        var blobs = BlobBytes();

        var pruned = await _store.PruneAsync([old.Id, current.Id], all: false);

        Assert.Empty(pruned.Untagged);
        Assert.Equal<string>([old.Id, Digest(TopLayer())], pruned.Deleted);
        Assert.False(Directory.Exists(topLayer));
        Assert.Equal(current.Id, Assert.Single(await _store.ListAsync()).Id);
        Assert.True(File.Exists(Path.Combine(LayersDir, Hex(BaseLayer()), "bin", "busybox")));
        // What the disk got back: the unpacked top layer and the blobs that went (its layer, the old config and manifest).
        Assert.True(topSize > 0 && blobs > BlobBytes());
        Assert.Equal(topSize + blobs - BlobBytes(), pruned.Reclaimed);
    }

    [Fact]
    public async Task Prune_With_All_Deletes_Tagged_Images_With_Every_Name_Unless_A_Container_Uses_Them()
    {
        var used = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        var unused = Assert.Single(await Load(DockerSave(["base:1"], [BaseLayer()])));
        await _store.TagAsync("base:1", "registry.local:5000/base:2");
        var blobs = BlobBytes();

        var dangling = await _store.PruneAsync([used.Id, unused.Id], all: false, i => i.Id == used.Id ? Stopped : null);
        var pruned = await _store.PruneAsync([used.Id, unused.Id], all: true, i => i.Id == used.Id ? Stopped : null);

        Assert.Empty(dangling.Untagged);
        Assert.Empty(dangling.Deleted);
        Assert.Equal<string>(["base:1", "registry.local:5000/base:2"], pruned.Untagged);
        Assert.Equal<string>([unused.Id], pruned.Deleted); // its one layer is busybox's base layer too
        Assert.Equal(blobs - BlobBytes(), pruned.Reclaimed); // its config and manifest; no layer went
        Assert.Equal<string>(["busybox:latest"], Assert.Single(await _store.ListAsync()).RepoTags);
        Assert.All(_store.RootLayers(used), d => Assert.True(Directory.Exists(d), d));
    }

    [Fact]
    public async Task Prune_Leaves_An_Image_Tagged_Since_The_Listing_Or_No_Longer_Here()
    {
        var old = Assert.Single(await Load(DockerSave(["busybox:latest"])));
        await Load(DockerSave(["busybox:latest"], [BaseLayer()]));
        await _store.TagAsync(old.Id, "kept:1");

        var pruned = await _store.PruneAsync([old.Id, "sha256:" + new string('0', 64)], all: false);

        Assert.Empty(pruned.Untagged);
        Assert.Empty(pruned.Deleted);
        Assert.Equal(0, pruned.Reclaimed);
        Assert.Equal(2, (await _store.ListAsync()).Count);
    }

    [Fact]
    public async Task An_Unknown_Image_Is_Not_Found()
    {
        var e = await Assert.ThrowsAsync<ImageStoreException>(() => _store.InspectAsync("nginx"));
        Assert.Equal(RejectCode.NotFound, e.Code);
        Assert.Contains("No such image: nginx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Store_Reopens_With_Its_Images()
    {
        var image = Assert.Single(await Load(DockerSave(["busybox:latest"])));

        using var reopened = new ImageStore(_store.Root);

        Assert.Equal(image, await reopened.InspectAsync("busybox:latest"), new ImageComparer());
    }

    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("me/app", "docker.io/me/app:latest", "me/app:latest")]
    [InlineData("docker.io/library/redis:7", "docker.io/library/redis:7", "redis:7")]
    [InlineData("localhost/app", "localhost/app:latest", "localhost/app:latest")]
    [InlineData("registry:5000/a/b:c", "registry:5000/a/b:c", "registry:5000/a/b:c")]
    public void Names_Are_Normalised_As_Docker_Does(string text, string full, string familiar)
    {
        var reference = ImageReference.Parse(text);
        Assert.Equal(full, reference.FullName);
        Assert.Equal(familiar, reference.Familiar);
    }

    [Theory]
    [InlineData("Busybox")]
    [InlineData("busybox:-bad")]
    [InlineData("")]
    public void Bad_Names_Are_Refused(string text) => Assert.False(ImageReference.TryParse(text, out _, out _));

    [Fact]
    public void A_Pinned_Reference_Keeps_Its_Name_And_Digest_Apart()
    {
        var digest = "sha256:" + new string('a', 64);
        var pinned = ImageReference.Parse("busybox:1.36@" + digest, allowDigest: true);
        Assert.Equal("docker.io/library/busybox:1.36", pinned.FullName);
        Assert.Equal("busybox:1.36@" + digest, pinned.Pinned);
        Assert.Equal(digest, pinned.Digest);
        Assert.Equal("busybox:latest@" + digest, ImageReference.Parse("busybox@" + digest, allowDigest: true).Pinned);
        Assert.False(ImageReference.TryParse("busybox@" + digest, out _, out var stored));
        Assert.Contains("cannot be stored as a tag", stored);
        Assert.False(ImageReference.TryParse("busybox@sha256:XYZ", out _, out var bad, allowDigest: true));
        Assert.Contains("sha256:<64 lowercase hex digits>", bad);
    }

    private long BlobBytes() => Directory.GetFiles(BlobsDir).Sum(f => new FileInfo(f).Length);

    private void AssertEmpty()
    {
        Assert.Empty(Directory.GetFileSystemEntries(LayersDir));
        Assert.Empty(Directory.GetFileSystemEntries(BlobsDir));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_store.Root, "tmp")));
    }

    private static string Stat(string format, string path) => Run("stat", "-c", format, path).Trim();

    private static string GetXattr(string path, string name)
    {
        var value = new byte[16];
        var n = FileSyscalls.Lgetxattr(path, name, value, (nuint)value.Length);
        return n < 0 ? "(none)" : System.Text.Encoding.UTF8.GetString(value, 0, (int)n);
    }

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: exit {process.ExitCode}: {error}");
        return output;
    }

    private sealed class ImageComparer : IEqualityComparer<StoredImage>
    {
        public bool Equals(StoredImage? x, StoredImage? y) =>
            x!.Id == y!.Id && x.ManifestDigest == y.ManifestDigest && x.RepoTags.SequenceEqual(y.RepoTags) && x.Layers.SequenceEqual(y.Layers) && x.Size == y.Size;

        public int GetHashCode(StoredImage obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }
}
