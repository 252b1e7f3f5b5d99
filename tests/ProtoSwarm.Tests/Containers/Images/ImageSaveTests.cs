using System.Formats.Tar;
using System.Text.Json.Nodes;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Containers.Images;

/// <summary>`image save`: docker 25's archive (an OCI layout with manifest.json beside it) from the node's store, loaded back.</summary>
[Trait("Category", "Privileged")]
public sealed class ImageSaveTests : IDisposable
{
    /// <summary>How long an operation may take beside a blocked save: it needs the store's gate, not the save.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-save-").FullName;
    private readonly ImageStore _store;

    public ImageSaveTests() => _store = new ImageStore(Path.Combine(_dir, "images"));

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<byte[]> Save(params string[] references)
    {
        using var output = new MemoryStream();
        await _store.SaveAsync(references, output);
        return output.ToArray();
    }

    private string LayersDir => Path.Combine(_store.Root, "layers");

    private string BlobsDir => Path.Combine(_store.Root, "blobs", "sha256");

    /// <summary>The store's blob files of <paramref name="image"/>: its manifest, config and layers.</summary>
    private List<string> BlobFiles(StoredImage image) =>
        [.. image.Layers.Select(l => l.Digest).Prepend(image.Id).Prepend(image.ManifestDigest).Distinct(StringComparer.Ordinal).Select(_store.BlobPath)];

    /// <summary>Starts a save of <paramref name="references"/> to an output that takes nothing until opened, and waits until the save is blocked writing.</summary>
    private async Task<(Task Save, GatedStream Output)> BlockedSave(params string[] references)
    {
        var output = new GatedStream();
        var save = _store.SaveAsync(references, output);
        if (await Task.WhenAny(output.Writing.Task, save).WaitAsync(TestTimeout.Span) == save)
        {
            await save; // failed before writing: show why
        }

        return (save, output);
    }

    private static Dictionary<string, byte[]> Files(byte[] archive)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new TarReader(new MemoryStream(archive));
        while (reader.GetNextEntry() is { } entry)
        {
            using var content = new MemoryStream();
            entry.DataStream?.CopyTo(content);
            Assert.False(files.ContainsKey(entry.Name), $"{entry.Name} is in the archive twice");
            files[entry.Name] = content.ToArray();
        }

        return files;
    }

    [Fact]
    public async Task A_Saved_Image_Has_Dockers_Layout_And_Loads_Back_With_Its_Id_Name_And_Manifest()
    {
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(OciLayout("docker.io/library/busybox:1.36"))));

        var files = Files(await Save("busybox:1.36"));

        Assert.Equal("""{"imageLayoutVersion":"1.0.0"}""", System.Text.Encoding.UTF8.GetString(files["oci-layout"]));
        Assert.Contains("\"application/vnd.oci.image.index.v1+json\"", System.Text.Encoding.UTF8.GetString(files["index.json"]), StringComparison.Ordinal);
        // Every blob is named by its digest.
        foreach (var (name, bytes) in files.Where(f => f.Key.StartsWith("blobs/sha256/", StringComparison.Ordinal) && f.Value.Length > 0))
        {
            Assert.Equal("sha256:" + name["blobs/sha256/".Length..], Digest(bytes));
        }

        var manifest = Assert.Single(JsonNode.Parse(files["manifest.json"])!.AsArray())!;
        Assert.Equal("blobs/sha256/" + image.Id[7..], (string?)manifest["Config"]);
        Assert.Equal<string>(["busybox:1.36"], manifest["RepoTags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal<string>([.. image.Layers.Select(l => "blobs/sha256/" + l.Digest[7..])], manifest["Layers"]!.AsArray().Select(l => (string)l!));
        var listed = Assert.Single(JsonNode.Parse(files["index.json"])!["manifests"]!.AsArray())!;
        Assert.Equal(image.ManifestDigest, (string?)listed["digest"]);
        Assert.Equal("docker.io/library/busybox:1.36", (string?)listed["annotations"]!["io.containerd.image.name"]);
        Assert.Equal("1.36", (string?)listed["annotations"]!["org.opencontainers.image.ref.name"]);

        // Into another node's store: the same image, and through the OCI layout alone the same manifest too.
        using var other = new ImageStore(Path.Combine(_dir, "other"));
        var loaded = Assert.Single(await other.LoadAsync(new MemoryStream(await Save("busybox:1.36"))));
        Assert.Equal(image.Id, loaded.Id);
        Assert.Equal<string>(["busybox:1.36"], loaded.RepoTags);
        Assert.Equal<string>([.. image.Layers.Select(l => l.DiffId)], loaded.Layers.Select(l => l.DiffId));
        using var third = new ImageStore(Path.Combine(_dir, "third"));
        var ociOnly = Tar(w =>
        {
            foreach (var (name, bytes) in files.Where(f => f.Key != "manifest.json"))
            {
                if (name.EndsWith('/'))
                {
                    AddDir(w, name);
                }
                else
                {
                    AddFile(w, name, bytes);
                }
            }
        });
        var throughIndex = Assert.Single(await third.LoadAsync(new MemoryStream(ociOnly)));
        Assert.Equal((image.Id, image.ManifestDigest), (throughIndex.Id, throughIndex.ManifestDigest));
        Assert.Equal<string>(["busybox:1.36"], throughIndex.RepoTags);
    }

    [Fact]
    public async Task A_Repository_Saves_Every_Tag_An_Id_Or_Digest_None_And_Each_Blob_Is_Written_Once()
    {
        var busybox = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["busybox:latest", "busybox:1.36", "tools/bb:v1"]))));
        var small = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["small:1"], [BaseLayer()]))));

        var repository = Files(await Save("busybox"));
        var byId = Files(await Save(busybox.Id[7..19]));
        var byDigest = Files(await Save($"busybox@{busybox.ManifestDigest}"));
        var both = Files(await Save("small:1", "tools/bb:v1", "busybox:latest"));

        Assert.Equal<string>(["busybox:1.36", "busybox:latest"], Assert.Single(JsonNode.Parse(repository["manifest.json"])!.AsArray())!["RepoTags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(2, JsonNode.Parse(repository["index.json"])!["manifests"]!.AsArray().Count);
        Assert.Empty(Assert.Single(JsonNode.Parse(byId["manifest.json"])!.AsArray())!["RepoTags"]!.AsArray());
        Assert.Null(Assert.Single(JsonNode.Parse(byId["index.json"])!["manifests"]!.AsArray())!["annotations"]);
        Assert.Empty(Assert.Single(JsonNode.Parse(byDigest["manifest.json"])!.AsArray())!["RepoTags"]!.AsArray());

        // Two images share the base layer: it is in the archive once (Files refuses a name seen twice).
        var images = JsonNode.Parse(both["manifest.json"])!.AsArray();
        Assert.Equal([small.Id, busybox.Id], images.Select(i => "sha256:" + ((string)i!["Config"]!)["blobs/sha256/".Length..]));
        Assert.Equal<string>(["tools/bb:v1", "busybox:latest"], images[1]!["RepoTags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(busybox.Layers[0].Digest, small.Layers[0].Digest);

        using var other = new ImageStore(Path.Combine(_dir, "other"));
        var loaded = await other.LoadAsync(new MemoryStream(await Save("small:1", "tools/bb:v1", "busybox:latest")));
        Assert.Equal([small.Id, busybox.Id], loaded.Select(i => i.Id));
    }

    [Fact]
    public async Task An_Unknown_Image_Or_Tag_Fails_The_Save_Before_Anything_Is_Written()
    {
        await _store.LoadAsync(new MemoryStream(DockerSave(["busybox:latest"])));
        using var output = new MemoryStream();

        var missingTag = await Assert.ThrowsAsync<ImageStoreException>(() => _store.SaveAsync(["busybox:latest", "busybox:nope"], output));
        var missing = await Assert.ThrowsAsync<ImageStoreException>(() => _store.SaveAsync(["nothing"], output));

        Assert.Equal(RejectCode.NotFound, missingTag.Code);
        Assert.Contains("No such image: busybox:nope", missingTag.Message, StringComparison.Ordinal);
        Assert.Equal(RejectCode.NotFound, missing.Code);
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public async Task Other_Operations_Go_On_While_A_Save_Waits_On_A_Slow_Output()
    {
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["busybox:latest"]))));
        var (save, output) = await BlockedSave("busybox:latest");
        try
        {
            Assert.Equal(image.Id, Assert.Single(await _store.ListAsync().WaitAsync(Bound)).Id);
            Assert.Equal(image.Id, (await _store.InspectAsync("busybox").WaitAsync(Bound)).Id);
            var small = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["small:1"], [BaseLayer()]))).WaitAsync(TestTimeout.Span));
            Assert.Equal(2, (await _store.ListAsync().WaitAsync(Bound)).Count);
            Assert.Equal(small.Id, (await _store.InspectAsync("small:1").WaitAsync(Bound)).Id);
            Assert.False(save.IsCompleted);
        }
        finally
        {
            output.Open();
        }

        await save.WaitAsync(TestTimeout.Span);
        using var other = new ImageStore(Path.Combine(_dir, "other"));
        Assert.Equal(image.Id, Assert.Single(await other.LoadAsync(new MemoryStream(output.ToArray()))).Id);
    }

    [Fact]
    public async Task An_Image_Removed_During_Its_Save_Leaves_The_List_At_Once_Is_Saved_Whole_And_Its_Blobs_Go_When_The_Save_Ends()
    {
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["busybox:latest"]))));
        var blobs = BlobFiles(image);
        var (save, output) = await BlockedSave("busybox:latest");
        try
        {
            var removal = await _store.RemoveAsync("busybox:latest", force: false).WaitAsync(Bound);

            Assert.Equal<string>(["busybox:latest"], removal.Untagged);
            Assert.Contains(image.Id, removal.Deleted);
            Assert.Empty(await _store.ListAsync().WaitAsync(Bound));
            Assert.Empty(Directory.GetDirectories(LayersDir)); // a save reads blobs, never the unpacked layers
            Assert.All(blobs, b => Assert.True(File.Exists(b), $"{b} went while the save still reads it"));
        }
        finally
        {
            output.Open();
        }

        await save.WaitAsync(TestTimeout.Span);
        Assert.Empty(Directory.GetFiles(BlobsDir));
        using var other = new ImageStore(Path.Combine(_dir, "other"));
        var loaded = Assert.Single(await other.LoadAsync(new MemoryStream(output.ToArray())));
        Assert.Equal(image.Id, loaded.Id);
        Assert.Equal(image.ManifestDigest, loaded.ManifestDigest);
        Assert.Equal<string>(["busybox:latest"], loaded.RepoTags);
    }

    [Fact]
    public async Task An_Image_Removed_And_Loaded_Again_During_Its_Save_Keeps_Its_Blobs_When_The_Save_Ends()
    {
        var archive = DockerSave(["busybox:latest"]);
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(archive)));
        var blobs = BlobFiles(image);
        var (save, output) = await BlockedSave("busybox:latest");
        try
        {
            await _store.RemoveAsync("busybox:latest", force: false).WaitAsync(Bound);
            var again = Assert.Single(await _store.LoadAsync(new MemoryStream(archive)).WaitAsync(TestTimeout.Span));
            Assert.Equal(image.ManifestDigest, again.ManifestDigest);
        }
        finally
        {
            output.Open();
        }

        await save.WaitAsync(TestTimeout.Span);
        Assert.All(blobs, b => Assert.True(File.Exists(b), $"{b} went with the save though the image is back"));
        Assert.Equal(blobs.Count, Directory.GetFiles(BlobsDir).Length);
        using var other = new ImageStore(Path.Combine(_dir, "other"));
        Assert.Equal(image.Id, Assert.Single(await other.LoadAsync(new MemoryStream(output.ToArray()))).Id);
        Assert.Equal(image.Id, Assert.Single(await other.LoadAsync(new MemoryStream(await Save("busybox:latest")))).Id);
    }
}
