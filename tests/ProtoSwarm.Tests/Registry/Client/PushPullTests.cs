using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Client;
using ProtoSwarm.Tests.Contracts;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>
/// The node's registry client against a real registry (docker-registry 2.8): images pushed from one
/// image store and pulled into another. Unpacking layers needs root.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class PushPullTests : IClassFixture<RegistryFixture>, IDisposable
{
    private static readonly RetryPolicy FastRetry = new(3, TimeSpan.FromMilliseconds(10));

    private readonly RegistryFixture _registry;
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-regclient-").FullName;
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<IDisposable> _owned = [];
    private readonly Dictionary<string, ImageStore> _sources = new(StringComparer.Ordinal);

    public PushPullTests(RegistryFixture registry) => _registry = registry;

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("docker-save")]
    [InlineData("oci-layout")]
    public async Task An_Image_Pushed_From_One_Store_Pulls_Into_An_Empty_One_As_The_Same_Image(string format)
    {
        var source = Store("source");
        var loaded = Assert.Single(await source.LoadAsync(new MemoryStream(format == "docker-save" ? DockerSave(["app:v1"]) : OciLayout("docker.io/library/app:v1"))));
        var repo = Repo("app");
        var pushRecorder = new RecordingHandler();
        // Small limits, so the busybox layer goes up in PATCH chunks and the rest in one PUT.
        var pushed = await new ImagePusher(source, Client(pushRecorder, monolithicLimit: 64 << 10, chunkSize: 300 << 10)).PushAsync("app:v1", repo, "v1");

        await using var blobs = await source.ExportAsync("app:v1");
        Assert.Equal(loaded.ManifestDigest, pushed.Digest);
        Assert.Equal<string>([$"{repo}@{pushed.Digest}"], (await source.InspectAsync("app:v1")).RepoDigests);
        Assert.Equal((repo, "v1", 3, 0), (pushed.Repository, pushed.Tag, pushed.BlobsUploaded, pushed.BlobsPresent));
        Assert.Equal(blobs.Layers.Sum(l => l.Size) + blobs.Config.Size, pushed.BytesUploaded);
        Assert.Contains(pushRecorder.Exchanges, e => e.Method == HttpMethod.Patch);
        Assert.Equal(MediaTypes.OciManifest, blobs.MediaType);

        var target = Store("target");
        var pulled = await new ImagePuller(target, Client()).PullAsync(ImageReference.Parse($"{repo}:v1"));

        var image = pulled.Image;
        Assert.Equal(pushed.Digest, pulled.Digest);
        Assert.Equal(pushed.Digest, image.ManifestDigest);
        Assert.Equal(loaded.Id, image.Id);
        Assert.Equal<string>([$"{repo}:v1"], image.RepoTags);
        Assert.Equal<string>([$"{repo}@{pushed.Digest}"], image.RepoDigests);
        Assert.True(pulled.Updated);
        Assert.Equal(loaded.Layers.Select(l => (l.Digest, l.DiffId)), image.Layers.Select(l => (l.Digest, l.DiffId)));
        Assert.Equal(2, pulled.LayersDownloaded);
        Assert.Equal(pushed.BytesUploaded, pulled.BytesDownloaded);
        Assert.Equal(blobs.Manifest, await File.ReadAllBytesAsync(target.BlobPath(image.ManifestDigest)));
        var root = target.RootLayers(image);
        Assert.True(File.Exists(Path.Combine(root[0], "bin", "busybox")));
        Assert.True(File.Exists(Path.Combine(root[1], "data", "new")));
        Assert.Equal("nobody", image.Config.User);
        Assert.Empty(Directory.GetFiles(Path.Combine(target.Root, "downloads")));
    }

    [Fact]
    public async Task A_Pinned_Pull_Fetches_By_Digest_Adds_No_Name_And_Is_Answered_From_The_Store_Next_Time()
    {
        var (repo, pushed) = await PushAsync("pinned", DockerSave(["app:v1"]));
        var target = Store("target");
        var recorder = new RecordingHandler();
        var puller = new ImagePuller(target, Client(recorder));
        var pinned = ImageReference.Parse($"{repo}:v1@{pushed.Digest}", allowDigest: true);

        var pulled = await puller.PullAsync(pinned);

        Assert.Equal(pushed.Digest, pulled.Image.ManifestDigest);
        Assert.Empty(pulled.Image.RepoTags);
        Assert.Equal<string>([$"{repo}@{pushed.Digest}"], pulled.Image.RepoDigests);
        Assert.True(pulled.Updated);
        var manifestGet = Assert.Single(recorder.Exchanges, e => e.IsManifestGet);
        Assert.EndsWith("/manifests/" + pushed.Digest, manifestGet.Path);
        Assert.Equal(pulled.Image.Id, (await target.InspectAsync($"{repo}:another-tag@{pushed.Digest}")).Id);
        var missing = await Assert.ThrowsAsync<ImageStoreException>(() => target.InspectAsync($"{repo}:v1@sha256:{new string('0', 64)}"));
        Assert.Equal(RejectCode.NotFound, missing.Code);

        recorder.Clear();
        var again = await puller.PullAsync(pinned);
        Assert.Equal(pulled.Image.Id, again.Image.Id);
        Assert.Empty(recorder.Exchanges);
        Assert.Equal((0, 0L, false), (again.LayersDownloaded, again.BytesDownloaded, again.Updated));
    }

    [Fact]
    public async Task A_Pull_Is_Newer_When_Its_Tag_Now_Points_To_The_Image_Even_With_Every_Blob_Here_As_Docker_Says()
    {
        var (repo, pushed) = await PushAsync("tagonly", DockerSave(["app:v1"]));
        var target = Store("target");
        var puller = new ImagePuller(target, Client());
        await puller.PullAsync(ImageReference.Parse($"{repo}:v1@{pushed.Digest}", allowDigest: true));

        var tagged = await puller.PullAsync(ImageReference.Parse($"{repo}:v1"));
        var again = await puller.PullAsync(ImageReference.Parse($"{repo}:v1"));

        Assert.Equal((0, true), (tagged.LayersDownloaded, tagged.Updated));
        Assert.Equal((0, false), (again.LayersDownloaded, again.Updated));
        Assert.Equal<string>([$"{repo}:v1"], again.Image.RepoTags);
        Assert.Equal<string>([$"{repo}@{pushed.Digest}"], again.Image.RepoDigests);
    }

    [Fact]
    public async Task A_Second_Push_Finds_Every_Blob_Present_And_Uploads_Nothing()
    {
        var source = Store("source");
        await source.LoadAsync(new MemoryStream(DockerSave(["app:v1"])));
        var repo = Repo("again");
        var recorder = new RecordingHandler();
        var pusher = new ImagePusher(source, Client(recorder));
        var first = await pusher.PushAsync("app:v1", repo, "v1");
        recorder.Clear();

        var second = await pusher.PushAsync("app:v1", repo, "v1");

        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal((0, 3, 0L), (second.BlobsUploaded, second.BlobsPresent, second.BytesUploaded));
        Assert.DoesNotContain(recorder.Exchanges, e => e.Method == HttpMethod.Post || e.Method == HttpMethod.Patch);
        Assert.Equal(new ImagePushed(repo, "v1", first.Digest, 0, 3, 0), second.ToWire());
    }

    [Fact]
    public async Task A_Partial_Download_Resumes_And_Fetches_Only_The_Rest()
    {
        var (repo, pushed) = await PushAsync("resume", DockerSave(["app:v1"]));
        await using var export = await _sources["resume"].ExportAsync("app:v1");
        var layer = export.Layers[0];
        var bytes = await File.ReadAllBytesAsync(layer.Path);
        var half = bytes.Length / 2;
        var target = Store("target");
        await File.WriteAllBytesAsync(target.DownloadPath(layer.Digest), bytes[..half]);
        var recorder = new RecordingHandler();

        var pulled = await new ImagePuller(target, Client(recorder)).PullAsync(ImageReference.Parse($"{repo}:v1"));

        var get = Assert.Single(recorder.Exchanges, e => e.IsBlobGet(layer.Digest));
        Assert.Equal($"bytes={half}-", get.Range);
        Assert.Equal(HttpStatusCode.PartialContent, get.Status);
        Assert.Equal(bytes.Length - half, get.Bytes);
        Assert.All(recorder.Exchanges.Where(e => !e.IsBlobGet(layer.Digest)), e => Assert.Null(e.Range));
        Assert.Equal(pushed.Digest, pulled.Image.ManifestDigest);
        var config = export.Config.Size;
        var top = export.Layers[1].Size;
        Assert.Equal(config + top + bytes.Length - half, pulled.BytesDownloaded);
        Assert.False(File.Exists(target.DownloadPath(layer.Digest)));
    }

    [Fact]
    public async Task A_Connection_Broken_Mid_Blob_Is_Retried_From_Where_It_Stopped()
    {
        var (repo, _) = await PushAsync("broken", DockerSave(["app:v1"]));
        await using var export = await _sources["broken"].ExportAsync("app:v1");
        var layer = export.Layers[0];
        var recorder = new RecordingHandler();
        var broken = 0;
        recorder.Body = (request, body) =>
            request.RequestUri!.AbsolutePath.EndsWith(layer.Digest, StringComparison.Ordinal) && Interlocked.Increment(ref broken) == 1
                ? new BrokenContent(body, 100_000)
                : null;
        var target = Store("target");

        var pulled = await new ImagePuller(target, Client(recorder), FastRetry).PullAsync(ImageReference.Parse($"{repo}:v1"));

        var gets = recorder.Exchanges.Where(e => e.IsBlobGet(layer.Digest)).ToList();
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        Assert.Equal("bytes=100000-", gets[1].Range);
        Assert.Equal(layer.Size - 100_000, gets[1].Bytes);
        Assert.True(File.Exists(Path.Combine(target.RootLayers(pulled.Image)[0], "bin", "busybox")));
    }

    [Fact]
    public async Task Concurrent_Pulls_Download_Each_Blob_Once_Per_Node()
    {
        var (repoA, pushedA) = await PushAsync("a", DockerSave(["app:v1"]));
        var (repoB, pushedB) = await PushAsync("b", DockerSave(["app:v1"], [BaseLayer()]));
        var target = Store("target");
        var recorder = new RecordingHandler { BlobDelay = TimeSpan.FromMilliseconds(200) };
        var puller = new ImagePuller(target, Client(recorder));

        var pulls = Enumerable.Range(0, 5).SelectMany(_ => new[]
        {
            puller.PullAsync(ImageReference.Parse($"{repoA}:v1")),
            puller.PullAsync(ImageReference.Parse($"{repoB}:v1")),
        }).ToList();
        var results = await Task.WhenAll(pulls);

        Assert.All(results.Where((_, i) => i % 2 == 0), r => Assert.Equal(pushedA.Digest, r.Image.ManifestDigest));
        Assert.All(results.Where((_, i) => i % 2 == 1), r => Assert.Equal(pushedB.Digest, r.Image.ManifestDigest));
        var blobGets = recorder.Exchanges.Where(e => e.Method == HttpMethod.Get && e.Path.Contains("/blobs/", StringComparison.Ordinal))
            .GroupBy(e => e.Path[(e.Path.LastIndexOf('/') + 1)..])
            .ToDictionary(g => g.Key, g => g.Count());
        // Two configs, the shared base layer and A's top layer: each fetched once.
        Assert.Equal(4, blobGets.Count);
        Assert.All(blobGets, g => Assert.Equal(1, g.Value));
        Assert.Equal(2, recorder.Exchanges.Count(e => e.IsManifestGet));
        Assert.Equal(2, (await target.ListAsync()).Count);
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(target.Root, "layers")).Length);
    }

    [Fact]
    public async Task A_Blob_Served_With_Wrong_Bytes_Fails_The_Pull_Naming_Its_Digest_And_Leaves_The_Store_Unchanged()
    {
        var (repo, _) = await PushAsync("corrupt", DockerSave(["app:v1"]));
        await using var export = await _sources["corrupt"].ExportAsync("app:v1");
        var top = export.Layers[1];
        var recorder = new RecordingHandler
        {
            Body = (request, body) => RecordingHandler.CorruptBlob(request, body, top.Digest),
        };
        var target = Store("target");

        var error = await Assert.ThrowsAsync<RegistryClientException>(() =>
            new ImagePuller(target, Client(recorder), FastRetry).PullAsync(ImageReference.Parse($"{repo}:v1")));

        Assert.Equal(RegistryClientException.Codes.DigestMismatch, error.Code);
        Assert.Contains(top.Digest, error.Message);
        Assert.Contains(repo, error.Message);
        Assert.Single(recorder.Exchanges, e => e.IsBlobGet(top.Digest));
        Assert.Empty(await target.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(target.Root, "blobs", "sha256")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(target.Root, "layers")));
        Assert.False(File.Exists(target.DownloadPath(top.Digest)));
    }

    [Fact]
    public async Task A_Failed_Pull_Returns_Only_Once_Its_Other_Downloads_Have_Stopped()
    {
        var (repo, _) = await PushAsync("stops", DockerSave(["app:v1"]));
        await using var export = await _sources["stops"].ExportAsync("app:v1");
        var (bottom, top) = (export.Layers[0].Digest, export.Layers[1].Digest);
        var bottomAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bottomStopped = false;
        var recorder = new RecordingHandler
        {
            // The bottom layer's GET hangs, and takes a while to stop once cancelled; the top layer's is
            // answered (with corrupt bytes, failing the pull) only once the bottom one hangs.
            Before = async (request, ct) =>
            {
                var path = request.RequestUri!.AbsolutePath;
                if (path.EndsWith("/blobs/" + bottom, StringComparison.Ordinal))
                {
                    bottomAsked.TrySetResult();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        await Task.Delay(300, CancellationToken.None);
                        Volatile.Write(ref bottomStopped, true);
                        throw;
                    }
                }
                else if (path.EndsWith("/blobs/" + top, StringComparison.Ordinal))
                {
                    await bottomAsked.Task.WaitAsync(ct);
                }
            },
            Body = (request, body) => RecordingHandler.CorruptBlob(request, body, top),
        };
        var target = Store("target");

        var error = await Assert.ThrowsAsync<RegistryClientException>(() =>
            new ImagePuller(target, Client(recorder), FastRetry).PullAsync(ImageReference.Parse($"{repo}:v1")).WaitAsync(TestTimeout.Span));

        Assert.Equal(RegistryClientException.Codes.DigestMismatch, error.Code);
        Assert.True(Volatile.Read(ref bottomStopped), "the pull failed while the download of its other layer still ran");
        Assert.Empty(await target.ListAsync());
    }

    [Fact]
    public async Task A_Manifest_Of_An_Unknown_Media_Type_Is_Refused_By_Name()
    {
        var (repo, _) = await PushAsync("unknown", DockerSave(["app:v1"]));
        var recorder = new RecordingHandler
        {
            Edit = (request, response) =>
            {
                if (request.RequestUri!.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal))
                {
                    response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.example.thing.v1+json");
                }
            },
        };
        var target = Store("target");

        var error = await Assert.ThrowsAsync<RegistryClientException>(() =>
            new ImagePuller(target, Client(recorder)).PullAsync(ImageReference.Parse($"{repo}:v1")));

        Assert.Equal(RegistryClientException.Codes.Unsupported, error.Code);
        Assert.Contains("'application/vnd.example.thing.v1+json'", error.Message);
        Assert.Contains("neither an image manifest nor an index", error.Message);
        Assert.DoesNotContain(recorder.Exchanges, e => e.Path.Contains("/blobs/", StringComparison.Ordinal));
        Assert.Empty(await target.ListAsync());
    }

    [Fact]
    public async Task A_Tag_The_Registry_Does_Not_Have_Is_Not_Found_With_Repository_And_Tag()
    {
        var (repo, _) = await PushAsync("missing", DockerSave(["app:v1"]));
        var target = Store("target");

        var error = await Assert.ThrowsAsync<RegistryClientException>(() =>
            new ImagePuller(target, Client(), FastRetry).PullAsync(ImageReference.Parse($"{repo}:nope")));

        Assert.Equal(HttpStatusCode.NotFound, error.Status);
        Assert.Equal("MANIFEST_UNKNOWN", error.Code);
        Assert.Equal(RejectCode.NotFound, error.Reject);
        Assert.False(error.IsTransient);
        Assert.Contains($"{repo}:nope", error.Message);
        Assert.Contains(_registry.BaseUri.Authority, error.Message);
        Assert.Contains("push the image first", error.Message);
    }

    [Fact]
    public async Task An_Index_Is_Resolved_To_Its_Linux_Amd64_Image()
    {
        var (repo, full) = await PushAsync("index", DockerSave(["app:v1"]));
        var client = Client();
        var baseOnly = Store("base");
        await baseOnly.LoadAsync(new MemoryStream(DockerSave(["app:base"], [BaseLayer()])));
        var other = await new ImagePusher(baseOnly, client).PushAsync("app:base", repo, "base");
        var sizes = new Dictionary<string, long>
        {
            [other.Digest] = (await client.GetManifestAsync(repo, other.Digest)).Content.Length,
            [full.Digest] = (await client.GetManifestAsync(repo, full.Digest)).Content.Length,
        };
        JsonObject Entry(string digest, string arch) => new()
        {
            ["mediaType"] = MediaTypes.OciManifest,
            ["digest"] = digest,
            ["size"] = sizes[digest],
            ["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = arch },
        };
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(Entry(other.Digest, "arm64"), Entry(full.Digest, "amd64")),
        }.ToJsonString());
        var indexDigest = await client.PutManifestAsync(repo, "multi", MediaTypes.OciIndex, index);
        var target = Store("target");

        var pulled = await new ImagePuller(target, client).PullAsync(ImageReference.Parse($"{repo}:multi"));

        Assert.Equal(indexDigest, pulled.Digest);
        Assert.Equal(full.Digest, pulled.Image.ManifestDigest);
        Assert.Equal<string>([$"{repo}:multi"], pulled.Image.RepoTags);
    }

    [Fact]
    public async Task The_Client_Pings_Checks_Blobs_And_Mounts_Across_Repositories()
    {
        var (repo, _) = await PushAsync("mount", DockerSave(["app:v1"]));
        await using var export = await _sources["mount"].ExportAsync("app:v1");
        var layer = export.Layers[0];
        var client = Client();
        var elsewhere = Repo("elsewhere");

        await client.PingAsync();
        Assert.True(await client.BlobExistsAsync(repo, layer.Digest));
        Assert.False(await client.BlobExistsAsync(elsewhere, layer.Digest));
        Assert.True(await client.MountBlobAsync(elsewhere, layer.Digest, repo));
        Assert.True(await client.BlobExistsAsync(elsewhere, layer.Digest));
        Assert.Null(await client.HeadManifestAsync(repo, "nope"));
        var head = await client.HeadManifestAsync(repo, "v1");
        Assert.Equal(MediaTypes.OciManifest, head!.MediaType);
    }

    /// <summary>Loads an archive into a source store of its own and pushes it as REPO:v1.</summary>
    private async Task<(string Repo, PushResult Pushed)> PushAsync(string name, byte[] archive)
    {
        var source = Store("source-" + name);
        _sources[name] = source;
        var image = Assert.Single(await source.LoadAsync(new MemoryStream(archive)));
        var repo = Repo(name);
        return (repo, await new ImagePusher(source, Client()).PushAsync(image.Id, repo, "v1"));
    }

    private string Repo(string name) => $"{_prefix}/{name}";

    private ImageStore Store(string name)
    {
        var store = new ImageStore(Path.Combine(_dir, name));
        _owned.Add(store);
        return store;
    }

    private RegistryClient Client(RecordingHandler? handler = null, long monolithicLimit = RegistryClient.DefaultMonolithicLimit, int chunkSize = (int)RegistryClient.DefaultMonolithicLimit)
    {
        var http = new HttpClient(handler ?? new RecordingHandler()) { Timeout = TimeSpan.FromSeconds(60) };
        _owned.Add(http);
        return new RegistryClient(http, _registry.BaseUri) { MonolithicLimit = monolithicLimit, ChunkSize = chunkSize };
    }
}
