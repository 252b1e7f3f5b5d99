using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Client;
using ProtoSwarm.Tests.Containers.Images;
using ProtoSwarm.Tests.Contracts;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>
/// A pull that finds a blob in the store holds it (<see cref="ImageStore.LeaseAsync"/>) until it has stored
/// its image: an `image rm` of the image that brought the blob, or the end of a save that alone kept it,
/// cannot delete it under the pull. Each test stops the pull at one point: it has found the shared base
/// layer in the store ("Already exists") and waits for the download of its top layer, which the test holds.
/// Unpacking layers needs root.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class PullLeaseTests : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly RegistryFixture _registry;
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-pull-lease-").FullName;
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<IDisposable> _owned = [];

    public PullLeaseTests(RegistryFixture registry) => _registry = registry;

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_Pull_Reusing_A_Blob_Only_A_Save_Kept_Succeeds_When_The_Save_Ends_Before_The_Pull_Stores_Its_Image()
    {
        var setup = await SetUpAsync("save");
        var output = new GatedStream();
        var save = setup.Target.SaveAsync(["base:1"], output);
        await Task.WhenAny(output.Writing.Task, save).WaitAsync(TestTimeout.Span);
        Assert.False(save.IsCompleted, "the save should be blocked writing, its blobs pinned");
        Assert.Contains(setup.Base.Id, (await setup.Target.RemoveAsync("base:1", force: false)).Deleted);
        Assert.True(File.Exists(setup.BaseBlob), "the save pins the base layer's blob");

        var pull = await setup.StartPullAsync();
        output.Open(); // the save ends: its pins go while the pull has decided to reuse the base layer
        await save.WaitAsync(TestTimeout.Span);
        setup.LetTopGo();
        var pulled = await pull.WaitAsync(TestTimeout.Span);

        await AssertWholeAsync(setup, pulled);
        // The archive the save wrote is whole too.
        using var other = Store("other");
        Assert.Equal(setup.Base.Id, Assert.Single(await other.LoadAsync(new MemoryStream(output.ToArray()))).Id);
    }

    [Fact]
    public async Task A_Pull_Reusing_A_Blob_Succeeds_When_The_Image_That_Brought_It_Is_Removed_Before_The_Pull_Stores_Its_Image()
    {
        var setup = await SetUpAsync("rm");

        var pull = await setup.StartPullAsync();
        var removed = await setup.Target.RemoveAsync("base:1", force: false);
        Assert.Contains(setup.Base.Id, removed.Deleted);
        Assert.True(File.Exists(setup.BaseBlob), "the pull holds the base layer's blob it did not download");
        setup.LetTopGo();
        var pulled = await pull.WaitAsync(TestTimeout.Span);

        await AssertWholeAsync(setup, pulled);
    }

    [Fact]
    public async Task A_Failed_Pull_Lets_Go_Of_The_Blob_It_Held_Which_Goes_If_Its_Image_Was_Removed_Meanwhile()
    {
        var setup = await SetUpAsync("fail", corruptTop: true);

        var pull = await setup.StartPullAsync();
        await setup.Target.RemoveAsync("base:1", force: false);
        Assert.True(File.Exists(setup.BaseBlob), "the pull holds the base layer's blob while it runs");
        setup.LetTopGo();
        var error = await Assert.ThrowsAsync<RegistryClientException>(() => pull.WaitAsync(TestTimeout.Span));

        Assert.Equal(RegistryClientException.Codes.DigestMismatch, error.Code);
        Assert.False(File.Exists(setup.BaseBlob), "the failed pull's lease went, and no image refers to the blob");
        Assert.Empty(await setup.Target.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(setup.Target.Root, "blobs", "sha256")));
    }

    [Fact]
    public async Task A_Failed_Pull_Leaves_No_Pin_So_A_Later_Removal_Deletes_The_Blob_It_Reused()
    {
        var setup = await SetUpAsync("later", corruptTop: true);

        var pull = await setup.StartPullAsync();
        setup.LetTopGo();
        await Assert.ThrowsAsync<RegistryClientException>(() => pull.WaitAsync(TestTimeout.Span));
        Assert.True(File.Exists(setup.BaseBlob));
        await setup.Target.RemoveAsync("base:1", force: false);

        Assert.False(File.Exists(setup.BaseBlob), "a pin of the failed pull outlived it");
        Assert.Empty(Directory.GetFiles(Path.Combine(setup.Target.Root, "blobs", "sha256")));
    }

    /// <summary>
    /// The pulled image is stored whole: listed, its layers unpacked, its blobs in the store, and it saves and
    /// loads elsewhere as itself; and the pull holds nothing any more, so its removal deletes its blobs.
    /// </summary>
    private async Task AssertWholeAsync(Setup setup, PullResult pulled)
    {
        var target = setup.Target;
        Assert.Equal(setup.Pushed.Digest, pulled.Image.ManifestDigest);
        Assert.Equal(1, pulled.LayersDownloaded); // the top layer; the base layer was the store's
        Assert.Equal(pulled.Image.Id, (await target.InspectAsync($"{setup.Repo}:v1")).Id);
        Assert.Equal(setup.BaseDigest, pulled.Image.Layers[0].Digest);
        Assert.True(File.Exists(setup.BaseBlob), "the pulled image's base layer blob is gone");
        Assert.All(pulled.Image.Layers.Select(l => l.Digest).Append(pulled.Image.Id).Append(pulled.Image.ManifestDigest),
            d => Assert.True(File.Exists(target.BlobPath(d)), d));
        var root = target.RootLayers(pulled.Image);
        Assert.True(File.Exists(Path.Combine(root[0], "bin", "busybox")));
        Assert.True(File.Exists(Path.Combine(root[1], "data", "new")));
        using var saved = new MemoryStream();
        await target.SaveAsync([$"{setup.Repo}:v1"], saved);
        using var other = Store("reloaded");
        Assert.Equal(pulled.Image.Id, Assert.Single(await other.LoadAsync(new MemoryStream(saved.ToArray()))).Id);

        // The pull let go of what it held: removing its image deletes every blob.
        Assert.Contains(pulled.Image.Id, (await target.RemoveAsync($"{setup.Repo}:v1", force: false)).Deleted);
        Assert.Empty(Directory.GetFiles(Path.Combine(target.Root, "blobs", "sha256")));
    }

    /// <summary>
    /// REPO:v1 (base and top layer) in the registry; a target store that has the base layer through base:1;
    /// a puller whose GET of the top layer waits until the test lets it go (answered with corrupt bytes when
    /// <paramref name="corruptTop"/>).
    /// </summary>
    private async Task<Setup> SetUpAsync(string name, bool corruptTop = false)
    {
        var source = Store("source-" + name);
        var image = Assert.Single(await source.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));
        var repo = $"{_prefix}/{name}";
        var pushed = await new ImagePusher(source, Client(new RecordingHandler())).PushAsync(image.Id, repo, "v1");
        var target = Store("target-" + name);
        var baseImage = Assert.Single(await target.LoadAsync(new MemoryStream(DockerSave(["base:1"], [BaseLayer()]))));
        Assert.Equal(image.Layers[0].Digest, baseImage.Layers[0].Digest);

        var top = image.Layers[1].Digest;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recorder = new RecordingHandler
        {
            Before = async (request, ct) =>
            {
                if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.EndsWith("/blobs/" + top, StringComparison.Ordinal))
                {
                    reached.TrySetResult();
                    await release.Task.WaitAsync(ct);
                }
            },
            Body = (request, body) => corruptTop ? RecordingHandler.CorruptBlob(request, body, top) : null,
        };
        var puller = new ImagePuller(target, Client(recorder), new RetryPolicy(1, TimeSpan.FromMilliseconds(10)));
        return new Setup(target, baseImage, repo, pushed, puller, reached, release);
    }

    private ImageStore Store(string name)
    {
        var store = new ImageStore(Path.Combine(_dir, name));
        _owned.Add(store);
        return store;
    }

    private RegistryClient Client(RecordingHandler handler)
    {
        var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        _owned.Add(http);
        return new RegistryClient(http, _registry.BaseUri);
    }

    private sealed record Setup(ImageStore Target, StoredImage Base, string Repo, PushResult Pushed, ImagePuller Puller, TaskCompletionSource TopReached, TaskCompletionSource TopRelease)
    {
        public string BaseDigest => Base.Layers[0].Digest;

        public string BaseBlob => Target.BlobPath(BaseDigest);

        /// <summary>
        /// Starts the pull of REPO:v1 and returns once it has found the base layer in the store ("Already
        /// exists") and its GET of the top layer is held: it has decided to reuse the base layer's blob.
        /// </summary>
        public async Task<Task<PullResult>> StartPullAsync()
        {
            var reused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var progress = new InlineObserver(p =>
            {
                if (p.Status == "Already exists" && BaseDigest[7..19] == p.Id)
                {
                    reused.TrySetResult();
                }
            });
            var pull = Puller.PullAsync(ImageReference.Parse($"{Repo}:v1"), progress);
            var stopped = Task.WhenAll(reused.Task, TopReached.Task);
            if (await Task.WhenAny(stopped, pull).WaitAsync(TestTimeout.Span) == pull)
            {
                await pull; // ended before it reached the point: show why
                Assert.Fail("the pull ended before it reused the base layer and asked for the top one");
            }

            return pull;
        }

        public void LetTopGo() => TopRelease.TrySetResult();
    }

    /// <summary>Hears progress on the reporting thread, as the pull reports it.</summary>
    private sealed class InlineObserver(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
