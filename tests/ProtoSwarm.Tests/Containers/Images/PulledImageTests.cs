using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Containers.Images;

/// <summary>The store's side of a registry: what a push exports, and a pulled image committed from a manifest, a config and downloaded layers.</summary>
[Trait("Category", "Privileged")]
public sealed class PulledImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-pulled-").FullName;
    private readonly ImageStore _store;

    public PulledImageTests() => _store = new ImageStore(Path.Combine(_dir, "images"));

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_Pulled_Image_Keeps_Its_Manifest_Bytes_And_Takes_Its_Layers_From_The_Downloads()
    {
        var (manifest, config, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        var downloaded = await Download(layers);

        var image = await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, config, downloaded, [ImageReference.Parse("app:v1")]);

        Assert.Equal(Digest(manifest), image.ManifestDigest);
        Assert.Equal(Digest(config), image.Id);
        Assert.Equal(manifest, await File.ReadAllBytesAsync(_store.BlobPath(image.ManifestDigest)));
        Assert.Equal<string>(["app:v1"], image.RepoTags);
        Assert.True(File.Exists(Path.Combine(_store.RootLayers(image)[0], "bin", "busybox")));
        Assert.All(layers, l => Assert.True(_store.HasBlob(Digest(l))));
        Assert.All(downloaded.Values, path => Assert.False(File.Exists(path)));
        Assert.Equal(image.Id, (await _store.InspectAsync($"other/name:x@{image.ManifestDigest}")).Id);
    }

    [Fact]
    public async Task A_Pulled_Image_Lists_The_Registry_Digest_As_A_RepoDigest_That_Finds_It_And_Goes_With_Its_Last_Tag()
    {
        var (manifest, config, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        // An index's digest, as a tag that names an index answers: docker records that one.
        var registryDigest = "sha256:" + new string('e', 64);

        var image = await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, config, await Download(layers), [ImageReference.Parse("app:v1")], [ImageReference.Parse($"app:v1@{registryDigest}", allowDigest: true)]);

        Assert.Equal<string>([$"app@{registryDigest}"], image.RepoDigests);
        Assert.Equal<string>([$"app@{registryDigest}"], Assert.Single(await _store.ListAsync()).RepoDigests);
        Assert.Equal(image.Id, (await _store.InspectAsync($"app@{registryDigest}")).Id);
        Assert.Equal(image.Id, await _store.ImageIdOfAsync(ImageReference.Parse($"app:any@{registryDigest}", allowDigest: true)));
        Assert.Null(await _store.ImageIdOfAsync(ImageReference.Parse($"other@{registryDigest}", allowDigest: true)));
        using (var reopened = new ImageStore(_store.Root))
        {
            Assert.Equal<string>([$"app@{registryDigest}"], (await reopened.InspectAsync("app:v1")).RepoDigests);
        }

        var removed = await _store.RemoveAsync("app:v1", force: false);

        Assert.Equal<string>(["app:v1", $"app@{registryDigest}"], removed.Untagged);
        Assert.Contains(image.Id, removed.Deleted);
        Assert.Empty(await _store.ListAsync());
    }

    [Fact]
    public async Task An_Image_Pulled_By_Digest_Alone_Keeps_Its_Repository_Through_Its_Digest_Reference()
    {
        var (manifest, config, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        var pinned = ImageReference.Parse($"app:v1@{Digest(manifest)}", allowDigest: true);

        var image = await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, config, await Download(layers), [], [pinned]);

        Assert.Empty(image.RepoTags);
        Assert.Equal<string>([$"app@{Digest(manifest)}"], image.RepoDigests);
        var listed = Assert.Single(await _store.ListAsync());
        Assert.Equal<string>([$"app@{Digest(manifest)}"], listed.RepoDigests);
    }

    [Fact]
    public async Task An_Index_Written_Before_Digest_References_Were_Kept_Still_Opens()
    {
        await _store.LoadAsync(new MemoryStream(DockerSave(["app:v1"])));
        var path = Path.Combine(_store.Root, "index.json");
        var index = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject();
        Assert.True(index.Remove("Digests"));
        await File.WriteAllTextAsync(path, index.ToJsonString());

        using var reopened = new ImageStore(_store.Root);

        var image = Assert.Single(await reopened.ListAsync());
        Assert.Equal<string>(["app:v1"], image.RepoTags);
        Assert.Empty(image.RepoDigests);
    }

    [Fact]
    public async Task A_Config_That_Is_Not_The_One_The_Manifest_Names_Is_Refused_And_Nothing_Is_Stored()
    {
        var (manifest, _, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        var other = Encoding.UTF8.GetBytes(Config(BaseLayer()).ToJsonString());

        var error = await Assert.ThrowsAsync<ImageStoreException>(async () =>
            await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, other, await Download(layers), [ImageReference.Parse("app:v1")]));

        Assert.Contains(Digest(other), error.Message);
        Assert.Empty(await _store.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(_store.Root, "blobs", "sha256")));
    }

    [Fact]
    public async Task Layers_Whose_Content_Is_Not_What_The_Config_Declares_Are_Refused_And_Nothing_Is_Stored()
    {
        // The config lists the diff ids the other way round: each layer unpacks to the wrong one.
        var config = Config(BaseLayer(), TopLayer());
        config["rootfs"]!["diff_ids"] = new JsonArray(Digest(TopLayer()), Digest(BaseLayer()));
        var (manifest, configBytes, layers) = Pulled(config);

        var error = await Assert.ThrowsAsync<ImageStoreException>(async () =>
            await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, configBytes, await Download(layers), []));

        Assert.Contains("digest mismatch", error.Message);
        Assert.Empty(await _store.ListAsync());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_store.Root, "layers")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_store.Root, "blobs", "sha256")));
    }

    [Fact]
    public async Task An_Export_Gives_The_Stored_Manifest_And_The_Blob_Files_It_Names()
    {
        var loaded = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));

        await using var export = await _store.ExportAsync("app:v1");

        Assert.Equal(loaded.ManifestDigest, Digest(export.Manifest));
        Assert.Equal(MediaTypes.OciManifest, export.MediaType);
        Assert.Equal(loaded.Id, export.Config.Digest);
        Assert.Equal(loaded.Layers.Select(l => l.Digest), export.Layers.Select(l => l.Digest));
        Assert.All(export.Layers.Append(export.Config), b => Assert.Equal(b.Size, new FileInfo(b.Path).Length));
        Assert.Equal(BaseLayer(), await File.ReadAllBytesAsync(export.Layers[0].Path));
    }

    [Fact]
    public async Task The_Files_Of_An_Export_Outlive_A_Removal_Of_The_Image_Until_The_Last_Export_Is_Disposed()
    {
        var loaded = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));
        var first = await _store.ExportAsync("app:v1");
        var second = await _store.ExportAsync("app:v1");
        List<ImageBlob> files = [.. first.Layers.Prepend(first.Config)];

        var removal = await _store.RemoveAsync("app:v1", force: false);

        Assert.Contains(loaded.Id, removal.Deleted);
        Assert.Empty(await _store.ListAsync());
        Assert.Equal(BaseLayer(), await File.ReadAllBytesAsync(first.Layers[0].Path));
        await first.DisposeAsync();
        Assert.All(files, b => Assert.True(File.Exists(b.Path), $"{b.Digest} went while an export still holds it"));
        Assert.True(_store.HasBlob(loaded.ManifestDigest));
        second.Dispose();
        Assert.All(files, b => Assert.False(File.Exists(b.Path), $"{b.Digest} stayed after the last export was disposed"));
        Assert.False(_store.HasBlob(loaded.ManifestDigest));
        await first.DisposeAsync(); // again: nothing more
        Assert.Empty(Directory.GetFiles(Path.Combine(_store.Root, "blobs", "sha256")));
    }

    [Fact]
    public async Task A_Lease_Holds_The_Blobs_In_The_Store_Through_A_Removal_And_The_Image_Stored_With_Them_Keeps_Them()
    {
        var base1 = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["base:1"], [BaseLayer()]))));
        var (manifest, config, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        var baseDigest = Digest(layers[0]);
        var topDigest = Digest(layers[1]);
        Assert.Equal(base1.Layers[0].Digest, baseDigest);

        var lease = await _store.LeaseAsync([Digest(config), baseDigest, topDigest]);
        Assert.True(lease.Holds(baseDigest));
        Assert.False(lease.Holds(topDigest)); // not in the store: downloaded
        Assert.False(lease.Holds(Digest(config)));
        Assert.False(lease.Holds(base1.Id)); // in the store, but not this lease's
        Assert.Contains(base1.Id, (await _store.RemoveAsync("base:1", force: false)).Deleted);
        Assert.True(lease.Holds(baseDigest), "a removal deleted a blob a lease holds");

        var image = await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, config, await Download([layers[1]]), [ImageReference.Parse("app:v1")]);
        await lease.DisposeAsync();

        Assert.False(lease.Holds(baseDigest)); // disposed
        Assert.True(_store.HasBlob(baseDigest), "the pulled image refers to the blob: its lease's end must not delete it");
        Assert.True(File.Exists(Path.Combine(_store.RootLayers(image)[0], "bin", "busybox")));
        Assert.Equal(image.Id, (await _store.InspectAsync("app:v1")).Id);
    }

    [Fact]
    public async Task A_Blob_Only_A_Lease_Held_Goes_When_The_Lease_Is_Disposed_And_One_That_Came_In_Meanwhile_Is_Held_Too()
    {
        var base1 = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["base:1"], [BaseLayer()]))));
        var (manifest, config, layers) = Pulled(Config(BaseLayer(), TopLayer()));
        var topDigest = Digest(layers[1]);
        var lease = await _store.LeaseAsync([base1.Layers[0].Digest, topDigest]);

        // Another pull stores the top layer after the lease was taken, and its image is removed: the lease holds it.
        var other = await _store.AddPulledAsync(manifest, MediaTypes.OciManifest, config, await Download(layers), [ImageReference.Parse("other:1")]);
        await _store.RemoveAsync("other:1", force: false);
        await _store.RemoveAsync("base:1", force: false);
        Assert.Empty(await _store.ListAsync());
        Assert.True(lease.Holds(topDigest), "a blob stored while the lease lasts is held");
        Assert.True(lease.Holds(base1.Layers[0].Digest));

        lease.Dispose();
        lease.Dispose(); // again: nothing more

        Assert.False(_store.HasBlob(topDigest));
        Assert.False(_store.HasBlob(other.Layers[0].Digest));
        Assert.Empty(Directory.GetFiles(Path.Combine(_store.Root, "blobs", "sha256")));
    }

    /// <summary>An OCI manifest as a registry would serve it, written with its own spacing (kept byte for byte).</summary>
    private static (byte[] Manifest, byte[] Config, byte[][] Layers) Pulled(JsonObject config)
    {
        var configBytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        byte[][] layers = [BaseLayer(), Gzip(TopLayer())];
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["config"] = new JsonObject { ["mediaType"] = MediaTypes.OciConfig, ["digest"] = Digest(configBytes), ["size"] = configBytes.Length },
            ["layers"] = new JsonArray(
                new JsonObject { ["mediaType"] = MediaTypes.OciLayer, ["digest"] = Digest(layers[0]), ["size"] = layers[0].Length },
                new JsonObject { ["mediaType"] = MediaTypes.OciLayerGzip, ["digest"] = Digest(layers[1]), ["size"] = layers[1].Length }),
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return (manifest, configBytes, layers);
    }

    private async Task<Dictionary<string, string>> Download(byte[][] layers)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            var path = _store.DownloadPath(Digest(layer));
            await File.WriteAllBytesAsync(path, layer);
            files[Digest(layer)] = path;
        }

        return files;
    }
}
