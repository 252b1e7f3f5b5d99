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

    [Fact]
    public async Task Blob_Pushed_To_One_Manager_Is_Copied_To_The_Others_Without_Being_Asked_For()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var period = TimeSpan.FromMilliseconds(100);
        await using var second = await TestRegistry.StartAsync(metadata, new DiskPeers(first.BlobsDir), replicationPeriod: period);
        await using var third = await TestRegistry.StartAsync(metadata, new DiskPeers(second.BlobsDir, first.BlobsDir), replicationPeriod: period);

        await first.PushImageAsync("test/app", "1.0", "replicated");
        var layer = RandomBytes(400_000, 25);
        var digest = await first.UploadAsync("test/app", layer);

        var wanted = Directory.EnumerateFiles(first.BlobsDir).Select(Path.GetFileName).ToList();
        Assert.Equal(3, wanted.Count);
        await WaitUntilAsync(() => wanted.All(f => File.Exists(Path.Combine(second.BlobsDir, f!)) && File.Exists(Path.Combine(third.BlobsDir, f!))));
        Assert.Equal(layer, await File.ReadAllBytesAsync(Path.Combine(second.BlobsDir, digest[7..])));
        Assert.Equal(layer, await File.ReadAllBytesAsync(Path.Combine(third.BlobsDir, digest[7..])));

        // No pull asked them: the copies came from the replicators, and nothing is left pending or half-written.
        await WaitUntilAsync(() => second.Server.Replicator!.Pending == 0 && third.Server.Replicator!.Pending == 0);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.UploadsDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(third.UploadsDir));

        // The disk of the manager that received the push is lost: the image is whole on the others.
        foreach (var file in Directory.EnumerateFiles(first.BlobsDir))
        {
            File.Delete(file);
        }

        using var manifest = await second.Pull.GetAsync("/v2/test/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal(layer, await second.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digest}"));
        Assert.Equal(layer, await third.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digest}"));
    }

    [Fact]
    public async Task A_Blob_No_Peer_Could_Give_Is_Copied_Once_A_Peer_Can()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var layer = RandomBytes(10_000, 26);
        var digest = await first.UploadAsync("test/app", layer);
        var reachable = Directory.CreateTempSubdirectory("protoswarm-peer-").FullName;
        try
        {
            var peers = new DiskPeers(reachable);
            await using var second = await TestRegistry.StartAsync(metadata, peers, replicationPeriod: TimeSpan.FromMilliseconds(50));
            await WaitUntilAsync(() => peers.Calls >= 1);
            await Task.Delay(300);
            Assert.True(peers.Calls <= 3, $"a peer that cannot give the blob is asked again after a growing delay, not every period ({peers.Calls} calls)");

            // The manager that has it is reachable again.
            File.Copy(Path.Combine(first.BlobsDir, digest[7..]), Path.Combine(reachable, digest[7..]));
            await WaitUntilAsync(() => File.Exists(Path.Combine(second.BlobsDir, digest[7..])));
            Assert.Equal(layer, await File.ReadAllBytesAsync(Path.Combine(second.BlobsDir, digest[7..])));
        }
        finally
        {
            Directory.Delete(reachable, recursive: true);
        }
    }

    [Fact]
    public async Task A_Blob_Garbage_Collected_Is_Not_Copied_Back()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        await first.PushImageAsync("test/app", "1.0", "kept");
        var orphan = await first.UploadAsync("test/app", RandomBytes(5_000, 27)); // linked, named by no manifest

        // Another manager whose disk still holds every blob (its sweep has not run yet) could give the orphan.
        var elsewhere = Directory.CreateTempSubdirectory("protoswarm-peer-").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(first.BlobsDir))
            {
                File.Copy(file, Path.Combine(elsewhere, Path.GetFileName(file)));
            }

            var (removed, _) = await first.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: false, grace: TimeSpan.Zero, CancellationToken.None);
            Assert.Equal(orphan, Assert.Single(Assert.Single(removed).Blobs.Keys));

            var peers = new DiskPeers(elsewhere);
            await using var second = await TestRegistry.StartAsync(metadata, peers, replicationPeriod: TimeSpan.FromMilliseconds(50));
            var kept = Directory.EnumerateFiles(first.BlobsDir).Select(Path.GetFileName).ToList();
            Assert.Equal(2, kept.Count);
            await WaitUntilAsync(() => kept.All(f => File.Exists(Path.Combine(second.BlobsDir, f!))));
            await Task.Delay(300); // several more periods

            Assert.False(File.Exists(Path.Combine(second.BlobsDir, orphan[7..])));
            Assert.DoesNotContain(orphan, peers.Asked);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 15 s");
            await Task.Delay(20);
        }
    }

    /// <summary>Other managers' blobs, read straight from their disks in turn (optionally held back, or corrupted on the way).</summary>
    private sealed class DiskPeers(params string[] blobsDirs) : IBlobPeers
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _asked = new();
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>The digests asked for, in order.</summary>
        public IReadOnlyList<string> Asked => [.. _asked];

        public TaskCompletionSource? Gate { get; init; }

        public Func<byte[], byte[]>? Tamper { get; init; }

        public async Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            _asked.Enqueue(digest);
            if (Gate is not null)
            {
                await Gate.Task.WaitAsync(ct);
            }

            var path = blobsDirs.Select(d => Path.Combine(d, digest["sha256:".Length..])).FirstOrDefault(File.Exists);
            if (path is null)
            {
                return false;
            }

            var bytes = await File.ReadAllBytesAsync(path, ct);
            await destination.WriteAsync(Tamper is null ? bytes : Tamper(bytes), ct);
            return true;
        }
    }
}
