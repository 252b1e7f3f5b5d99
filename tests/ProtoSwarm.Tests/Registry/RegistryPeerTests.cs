using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ProtoSwarm.Registry.Server;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Registry.Client;
using static ProtoSwarm.Tests.Registry.TestRegistry;

namespace ProtoSwarm.Tests.Registry;

/// <summary>Managers sharing their metadata, with the blob bytes on one disk until they are copied.</summary>
public sealed class RegistryPeerTests
{
    [Fact]
    public async Task A_Push_Whose_Blobs_Reach_No_Majority_Of_Managers_Is_Refused_And_Not_Visible()
    {
        // Three managers; the two others cannot fetch anything (no peers of their own), so the bytes stay on the first.
        await using var swarm = await ManagerSet.StartAsync(3, canFetch: i => i == 0, pushQuorumWait: TimeSpan.FromSeconds(2));
        var first = swarm[0];
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        var layer = RandomBytes(50_000, 30);
        await first.UploadAsync("test/app", config);
        await first.UploadAsync("test/app", layer);

        using var put = await first.PutManifestAsync("test/app", "1.0", ImageManifest(config, layer));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, put.StatusCode);
        var (code, error) = await ErrorAsync(put);
        Assert.Equal("UNAVAILABLE", code);
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("only 1 of 3 managers", message, StringComparison.Ordinal);
        Assert.Contains("push again", message, StringComparison.Ordinal);
        Assert.Equal(1, error.GetProperty("detail").GetProperty("holding").GetInt32());
        Assert.Equal(2, error.GetProperty("detail").GetProperty("majority").GetInt32());

        // Nothing was made visible: no tag, no manifest, on any manager.
        foreach (var manager in swarm.Managers)
        {
            using var manifest = await manager.Pull.GetAsync("/v2/test/app/manifests/1.0");
            Assert.Equal(HttpStatusCode.NotFound, manifest.StatusCode);
        }

        Assert.Empty((await first.Metadata.GetAsync("test/app", TestTimeout.Token))!.Manifests);
        Assert.Contains(first.Log.Lines, l => l.Contains("short of the majority", StringComparison.Ordinal));
    }

    /// <summary>
    /// A refused push leaves the blobs it linked linked (as docker-distribution leaves the blobs of a failed manifest
    /// put in the repository until its garbage collection): they make no later push or pull wrong. Pushed again once the
    /// managers reach each other, the same image is stored whole (its blobs copied then); if the only manager that held
    /// the bytes is lost meanwhile, the blob is unknown to a HEAD elsewhere, so the client uploads it again; `registry
    /// gc` unlinks them if nothing ever names them (A_Garbage_Collection_Sweeps_The_Other_Managers_Disks_At_Once).
    /// </summary>
    [Fact]
    public async Task The_Blobs_A_Refused_Push_Linked_Make_No_Later_Push_Or_Pull_Wrong()
    {
        var reachable = new bool[] { true, false, false };
        await using var swarm = await ManagerSet.StartAsync(3, canFetch: _ => true, pushQuorumWait: TimeSpan.FromSeconds(2), reachable: i => Volatile.Read(ref reachable[i]));
        var (first, second) = (swarm[0], swarm[1]);
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        var layer = RandomBytes(50_000, 32);
        var manifest = ImageManifest(config, layer);
        var digests = new[] { await first.UploadAsync("test/app", config), await first.UploadAsync("test/app", layer) };
        using (var refused = await first.PutManifestAsync("test/app", "1.0", manifest))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        var linked = (await first.Metadata.GetAsync("test/app", TestTimeout.Token))!;
        Assert.All(digests, d => Assert.True(linked.Blobs.ContainsKey(d), $"{d} is no longer linked"));
        Assert.Empty(linked.Manifests);

        // The only manager with the bytes is lost: elsewhere the linked blob is unknown, so a client uploads it again.
        Volatile.Write(ref reachable[1], true);
        Volatile.Write(ref reachable[2], true);
        var kept = Path.Combine(Path.GetTempPath(), Path.GetRandomFileName());
        Directory.Move(first.BlobsDir, kept);
        Directory.CreateDirectory(first.BlobsDir);
        foreach (var digest in digests)
        {
            using var head = await second.Push.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/test/app/blobs/{digest}"));
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        await second.UploadAsync("test/app", config);
        await second.UploadAsync("test/app", layer);
        using (var stored = await second.PutManifestAsync("test/app", "1.0", manifest))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        // Every manager serves the image whole: the manifest and every blob it names, with the bytes pushed.
        foreach (var manager in swarm.Managers)
        {
            Assert.Equal(manifest, await manager.Pull.GetByteArrayAsync("/v2/test/app/manifests/1.0"));
            Assert.Equal(config, await manager.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digests[0]}"));
            Assert.Equal(layer, await manager.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{digests[1]}"));
        }

        Directory.Delete(kept, recursive: true);
    }

    [Fact]
    public async Task A_Push_Is_Acknowledged_Once_A_Majority_Of_Managers_Hold_Its_Blobs()
    {
        // No replicators: only the push's own ask can have put the bytes on another manager.
        await using var swarm = await ManagerSet.StartAsync(3, canFetch: _ => true);
        var first = swarm[0];

        var manifest = await first.PushImageAsync("test/app", "1.0", "on a majority");

        var blobs = Directory.EnumerateFiles(first.BlobsDir).Select(Path.GetFileName).ToList();
        Assert.Equal(2, blobs.Count);
        foreach (var blob in blobs)
        {
            var holders = swarm.Managers.Count(m => File.Exists(Path.Combine(m.BlobsDir, blob!)));
            Assert.True(holders >= 2, $"blob {blob} is on {holders} of 3 managers when the push is acknowledged");
        }

        // One ask per peer, all blobs in it: no request per blob, no polling.
        var asks = swarm.Requests(0).Where(e => e.Path.EndsWith("/_protoswarm/copy", StringComparison.Ordinal)).ToList();
        Assert.InRange(asks.Count, 1, 2);
        Assert.All(asks, a => Assert.Equal(HttpStatusCode.OK, a.Status));

        // The manager that received the push is lost at once: the image is whole on one that held the blobs.
        foreach (var file in Directory.EnumerateFiles(first.BlobsDir))
        {
            File.Delete(file);
        }

        var survivor = swarm.Managers.Skip(1).First(m => blobs.All(b => File.Exists(Path.Combine(m.BlobsDir, b!))));
        using var pulled = await survivor.Pull.GetAsync("/v2/test/app/manifests/1.0");
        Assert.Equal(manifest, await pulled.Content.ReadAsByteArrayAsync());
        foreach (var blob in blobs)
        {
            using var response = await survivor.Pull.GetAsync($"/v2/test/app/blobs/sha256:{blob}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Blobs_The_Peers_Already_Hold_Cost_No_Copy_When_Pushed_Again()
    {
        await using var swarm = await ManagerSet.StartAsync(3, canFetch: _ => true);
        var first = swarm[0];
        await first.PushImageAsync("test/app", "1.0", "shared");
        var blobs = Directory.EnumerateFiles(first.BlobsDir).Select(f => "sha256:" + Path.GetFileName(f)).ToList();
        foreach (var manager in swarm.Managers)
        {
            foreach (var blob in blobs)
            {
                _ = await manager.Pull.GetByteArrayAsync($"/v2/test/app/blobs/{blob}"); // every manager holds them now
            }
        }

        var fetches = swarm.Managers.Sum(m => m.Log.Lines.Count(l => l.Contains("fetched from a peer", StringComparison.Ordinal)));
        var asked = swarm.Requests(0).Count;

        await first.PushImageAsync("test/app", "1.1", "shared");

        Assert.Equal(fetches, swarm.Managers.Sum(m => m.Log.Lines.Count(l => l.Contains("fetched from a peer", StringComparison.Ordinal))));
        Assert.DoesNotContain(swarm.Requests(0).Skip(asked), e => e.Path.Contains("/blobs/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Manager_Alone_Acknowledges_A_Push_Without_Waiting()
    {
        await using var swarm = await ManagerSet.StartAsync(1, canFetch: _ => true, pushQuorumWait: TimeSpan.FromMilliseconds(1));

        await swarm[0].PushImageAsync("test/app", "1.0", "alone");

        Assert.Empty(swarm.Requests(0));
    }

    [Fact]
    public async Task A_Garbage_Collection_Sweeps_The_Other_Managers_Disks_At_Once()
    {
        await using var swarm = await ManagerSet.StartAsync(3, canFetch: _ => true);
        var first = swarm[0];
        await first.PushImageAsync("test/app", "1.0", "kept");
        var orphan = await first.UploadAsync("test/app", RandomBytes(5_000, 31)); // linked, named by no manifest
        foreach (var other in swarm.Managers.Skip(1))
        {
            // As their replicators would have copied it.
            File.Copy(Path.Combine(first.BlobsDir, orphan[7..]), Path.Combine(other.BlobsDir, orphan[7..]));
        }

        var (removed, disk, swept) = await first.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: false, grace: TimeSpan.Zero, TestTimeout.Token);

        Assert.Equal(orphan, Assert.Single(Assert.Single(removed).Blobs.Keys));
        Assert.Equal(1, disk.BlobFiles);
        Assert.Equal(2, swept);
        Assert.All(swarm.Managers, m => Assert.False(File.Exists(Path.Combine(m.BlobsDir, orphan[7..]))));
        Assert.All(swarm.Managers.Skip(1), m => Assert.Equal(2, Directory.EnumerateFiles(m.BlobsDir).Count()));
    }

    [Theory]
    [InlineData("_protoswarm/sweep", "{\"graceSeconds\":0,\"unlinked\":[]}")]
    [InlineData("_protoswarm/copy", "{\"repository\":\"test/app\",\"digests\":[]}")]
    public async Task The_Peer_Routes_Refuse_A_Push_Token(string route, string body)
    {
        await using var registry = await TestRegistry.StartAsync();
        var upload = await registry.Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);

        using var response = await registry.Push.PostAsync($"/v2/{route}", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("DENIED", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(Directory.EnumerateFileSystemEntries(registry.UploadsDir)); // another client's upload is untouched
    }

    [Fact]
    public async Task A_Blob_No_Manager_Has_Is_Warned_Of_Once_Not_At_Every_Retry()
    {
        var metadata = new InMemoryRegistryMetadata();
        await using var first = await TestRegistry.StartAsync(metadata);
        var layer = RandomBytes(10_000, 32);
        var digest = await first.UploadAsync("test/app", layer);
        var reachable = Directory.CreateTempSubdirectory("protoswarm-peer-").FullName;
        try
        {
            var peers = new DiskPeers(reachable);
            await using var second = await TestRegistry.StartAsync(metadata, peers, replicationPeriod: TimeSpan.FromMilliseconds(50));
            await WaitUntilAsync(() => peers.Calls >= 3);

            var warning = Assert.Single(second.Log.Warnings, l => l.Contains(digest, StringComparison.Ordinal));
            Assert.Contains("no manager could give it", warning, StringComparison.Ordinal);

            File.Copy(Path.Combine(first.BlobsDir, digest[7..]), Path.Combine(reachable, digest[7..]));
            await WaitUntilAsync(() => second.Log.Lines.Any(l => l.Contains(digest, StringComparison.Ordinal) && l.Contains("copied from a peer after", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(reachable, recursive: true);
        }
    }

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

            var (removed, _, _) = await first.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: false, grace: TimeSpan.Zero, CancellationToken.None);
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

    /// <summary>
    /// Managers sharing one metadata, each reaching the others' registries over HTTP as user `manager` through the real
    /// <see cref="HttpBlobPeers"/> (its requests recorded), or, where <c>canFetch</c> says no, with no peers at all: it
    /// answers what it holds and can fetch nothing. No replicators run.
    /// </summary>
    private sealed class ManagerSet : IAsyncDisposable
    {
        private readonly List<TestRegistry> _managers = [];
        private readonly List<(RecordingHandler Handler, HttpClient Client)> _clients = [];

        public IReadOnlyList<TestRegistry> Managers => _managers;

        public TestRegistry this[int index] => _managers[index];

        /// <summary>What manager <paramref name="index"/> asked of its peers.</summary>
        public IReadOnlyList<Exchange> Requests(int index) => [.. _clients[index].Handler.Exchanges];

        /// <param name="reachable">When given, manager i reaches its peers only while it says so (read at each ask): cut off, it fetches and copies nothing.</param>
        public static async Task<ManagerSet> StartAsync(int count, Func<int, bool> canFetch, TimeSpan? pushQuorumWait = null, Func<int, bool>? reachable = null)
        {
            var set = new ManagerSet();
            var metadata = new InMemoryRegistryMetadata();
            for (var i = 0; i < count; i++)
            {
                var handler = new RecordingHandler();
                var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"manager:{TestRegistry.ManagerToken}")));
                set._clients.Add((handler, client));
                var self = i;
                IBlobPeers? peers = canFetch(i)
                    ? new HttpBlobPeers(() => [.. set._managers.Where((_, j) => j != self).Select(m => m.Host.BaseAddress)], client)
                    : null;
                if (peers is not null && reachable is not null)
                {
                    peers = new CutOffPeers(peers, () => reachable(self));
                }

                set._managers.Add(await TestRegistry.StartAsync(metadata, peers, pushQuorumWait: pushQuorumWait));
            }

            return set;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var manager in _managers)
            {
                await manager.DisposeAsync();
            }

            foreach (var (handler, client) in _clients)
            {
                client.Dispose();
                handler.Dispose();
            }
        }
    }

    /// <summary>Peers reached only while <paramref name="reachable"/> says so; cut off, nothing is fetched, copied or swept.</summary>
    private sealed class CutOffPeers(IBlobPeers inner, Func<bool> reachable) : IBlobPeers
    {
        public int Count => inner.Count;

        public Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct) =>
            reachable() ? inner.FetchAsync(repository, digest, destination, ct) : Task.FromResult(false);

        public Task<int> CopyAsync(string repository, IReadOnlyList<string> digests, int needed, CancellationToken ct) =>
            reachable() ? inner.CopyAsync(repository, digests, needed, ct) : Task.FromResult(0);

        public Task<int> SweepAsync(TimeSpan grace, IReadOnlyList<string> unlinked, CancellationToken ct) =>
            reachable() ? inner.SweepAsync(grace, unlinked, ct) : Task.FromResult(0);
    }

    /// <summary>Other managers' blobs, read straight from their disks in turn (optionally held back, or corrupted on the way).</summary>
    private sealed class DiskPeers(params string[] blobsDirs) : IBlobPeers
    {
        public int Count => blobsDirs.Length;

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

        /// <summary>Disks cannot be asked to fetch: the ones that hold every digest already.</summary>
        public Task<int> CopyAsync(string repository, IReadOnlyList<string> digests, int needed, CancellationToken ct) =>
            Task.FromResult(blobsDirs.Count(d => digests.All(digest => File.Exists(Path.Combine(d, digest["sha256:".Length..])))));

        public Task<int> SweepAsync(TimeSpan grace, IReadOnlyList<string> unlinked, CancellationToken ct) => Task.FromResult(0);
    }
}
