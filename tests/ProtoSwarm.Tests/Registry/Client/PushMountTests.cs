using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Registry.Client;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Registry.Client;

/// <summary>
/// A push of an image whose blobs the swarm's registry holds under another repository: the pusher asks the
/// registry (ProtoSwarm's own server, as the managers run it) to mount them instead of sending them again.
/// Loading an image unpacks its layers, which needs root.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class PushMountTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-push-mount-").FullName;
    private readonly RecordingHandler _recorder = new();
    private TestRegistry _registry = null!;
    private ImageStore _store = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await TestRegistry.StartAsync();
        _store = new ImageStore(Path.Combine(_dir, "images"));
        _http = new HttpClient(_recorder) { Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"push:{TestRegistry.PushToken}")));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _store.Dispose();
        await _registry.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private ImagePusher Pusher() => new(_store, new RegistryClient(_http, _registry.Host.BaseAddress!));

    [Fact]
    public async Task A_Second_Name_Pushed_To_Another_Repository_Mounts_Every_Blob_And_Uploads_None()
    {
        Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));
        var first = await Pusher().PushAsync("app:v1", "library/app", "v1");
        await _store.TagAsync("app:v1", "team/app:v1");
        _recorder.Clear();

        var second = await Pusher().PushAsync("team/app:v1", "team/app", "v1");

        Assert.Equal((3, 0), (first.BlobsUploaded, first.BlobsMounted));
        Assert.Equal((0, 3, 0, 0L), (second.BlobsUploaded, second.BlobsMounted, second.BlobsPresent, second.BytesUploaded));
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(3, _recorder.Exchanges.Count(e => e.Method == HttpMethod.Post && e.Status == HttpStatusCode.Created));
        Assert.DoesNotContain(_recorder.Exchanges, e => e.Method == HttpMethod.Put && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal));
        Assert.DoesNotContain(_recorder.Exchanges, e => e.Method == HttpMethod.Patch);
        using var manifest = await _registry.Pull.GetAsync($"/v2/team/app/manifests/v1");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
    }

    [Fact]
    public async Task A_Blob_The_Other_Repository_No_Longer_Has_Is_Uploaded_After_The_Registry_Answers_202()
    {
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["app:v1"]))));
        await Pusher().PushAsync("app:v1", "library/app", "v1");
        var gone = image.Layers[0].Digest;
        using (var deleted = await _registry.Push.DeleteAsync($"/v2/library/app/blobs/{gone}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
        }

        await _store.TagAsync("app:v1", "team/app:v1");
        _recorder.Clear();

        var second = await Pusher().PushAsync("team/app:v1", "team/app", "v1");

        Assert.Equal((1, 2), (second.BlobsUploaded, second.BlobsMounted));
        Assert.Equal(image.Layers[0].BlobSize, second.BytesUploaded);
        Assert.Single(_recorder.Exchanges, e => e.Method == HttpMethod.Delete); // the upload the 202 opened is cancelled
    }
}
