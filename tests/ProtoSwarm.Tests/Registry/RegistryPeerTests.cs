using System.Net;
using ProtoSwarm.Registry.Server;
using static ProtoSwarm.Tests.Registry.TestRegistry;

namespace ProtoSwarm.Tests.Registry;

/// <summary>Two managers sharing their metadata, with the blob bytes on one disk only.</summary>
public sealed class RegistryPeerTests
{
    [Fact]
    public async Task Blob_Missing_Locally_Is_Fetched_From_A_Peer_Verified_Stored_And_Served()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var manifest = await first.PushImageAsync("test/app", "1.0", "from the first manager");
        var layer = RandomBytes(300_000, 20);
        var digest = await first.UploadAsync("test/app", layer);
        var peers = new DiskPeers(first.BlobsDir);
        await using var second = await TestRegistry.StartAsync(metadata, peers);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.BlobsDir));

        using var tags = await second.Pull.GetAsync("/v2/test/app/manifests/1.0");
        Assert.Equal(manifest, await tags.Content.ReadAsByteArrayAsync());
        var served = await second.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digest}");

        Assert.Equal(layer, served);
        Assert.Equal(layer, await File.ReadAllBytesAsync(Path.Combine(second.BlobsDir, digest[7..])));
        Assert.Equal(1, peers.Calls);
        _ = await second.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digest}");
        Assert.Equal(1, peers.Calls); // now local
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.UploadsDir));
    }

    [Fact]
    public async Task Concurrent_Pulls_Of_A_Missing_Blob_Fetch_It_Once()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var layer = RandomBytes(100_000, 21);
        var digest = await first.UploadAsync("test/app", layer);
        var peers = new DiskPeers(first.BlobsDir) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var second = await TestRegistry.StartAsync(metadata, peers);

        var pulls = Enumerable.Range(0, 5).Select(_ => second.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digest}")).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (peers.Calls == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await Task.Delay(200); // let the other pulls arrive and join the fetch
        peers.Gate.SetResult();
        var results = await Task.WhenAll(pulls);

        Assert.All(results, r => Assert.Equal(layer, r));
        Assert.Equal(1, peers.Calls);
    }

    [Fact]
    public async Task Peer_Sending_Wrong_Bytes_Is_Refused_And_Nothing_Is_Stored()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var digest = await first.UploadAsync("test/app", RandomBytes(50_000, 22));
        var peers = new DiskPeers(first.BlobsDir) { Tamper = bytes => [.. bytes, 0] };
        await using var second = await TestRegistry.StartAsync(metadata, peers);

        using var response = await second.Pull.GetAsync($"/v2/test/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var (code, error) = await ErrorAsync(response);
        Assert.Equal("BLOB_UNKNOWN", code);
        Assert.Contains("did not match its digest", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.BlobsDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.UploadsDir));
    }

    [Fact]
    public async Task Blob_No_Peer_Has_Is_Blob_Unknown()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var digest = await first.UploadAsync("test/app", RandomBytes(100, 23));
        await using var second = await TestRegistry.StartAsync(metadata, new DiskPeers(Path.Combine(first.Root, "elsewhere")));

        using var response = await second.Pull.GetAsync($"/v2/test/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("BLOB_UNKNOWN", (await ErrorAsync(response)).Code);
    }

    [Fact]
    public async Task Peers_Are_Never_Asked_For_A_Blob_Not_Linked_To_The_Repository()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var digest = await first.UploadAsync("secret/app", RandomBytes(100, 24));
        var peers = new DiskPeers(first.BlobsDir);
        await using var second = await TestRegistry.StartAsync(metadata, peers);

        using var response = await second.Pull.GetAsync($"/v2/test/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, peers.Calls);
    }

    /// <summary>Another manager's blobs, read straight from its disk (optionally held back, or corrupted on the way).</summary>
    private sealed class DiskPeers(string blobsDir) : IBlobPeers
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public TaskCompletionSource? Gate { get; init; }

        public Func<byte[], byte[]>? Tamper { get; init; }

        public async Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            if (Gate is not null)
            {
                await Gate.Task.WaitAsync(ct);
            }

            var path = Path.Combine(blobsDir, digest["sha256:".Length..]);
            if (!File.Exists(path))
            {
                return false;
            }

            var bytes = await File.ReadAllBytesAsync(path, ct);
            await destination.WriteAsync(Tamper is null ? bytes : Tamper(bytes), ct);
            return true;
        }
    }
}
