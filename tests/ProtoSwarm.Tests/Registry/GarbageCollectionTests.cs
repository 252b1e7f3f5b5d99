using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Server;
using ProtoSwarm.Tests.Contracts;
using static ProtoSwarm.Tests.Registry.TestRegistry;

namespace ProtoSwarm.Tests.Registry;

/// <summary>Registry garbage collection: the sweep of one disk, and the whole collection through a running registry.</summary>
public sealed class GarbageCollectionTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    private readonly string _root = Directory.CreateTempSubdirectory("protoswarm-gc-").FullName;

    // Starts at the wall clock: files written now get their time from it, and moving it ahead makes them old.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string BlobFile(string digest) => Path.Combine(_root, "blobs", "sha256", digest["sha256:".Length..]);

    private static async Task<string> StoreBlobAsync(BlobStore store, byte[] bytes)
    {
        var upload = store.StartUpload("test/app");
        await store.AppendAsync("test/app", upload.Id, new MemoryStream(bytes), bytes.Length, null, TestTimeout.Token);
        var digest = Digest(bytes);
        await store.CompleteUploadAsync("test/app", upload.Id, digest, TestTimeout.Token);
        return digest;
    }

    [Fact]
    public async Task The_Sweep_Removes_Unlinked_Old_Blobs_And_Idle_Uploads_And_Keeps_Linked_Young_And_Busy_Ones()
    {
        using var store = new BlobStore(_root, _time);
        var linkedOld = await StoreBlobAsync(store, RandomBytes(300, 1));
        var unlinkedOld = await StoreBlobAsync(store, RandomBytes(400, 2));
        var idle = store.StartUpload("test/app");
        await store.AppendAsync("test/app", idle.Id, new MemoryStream(new byte[50]), 50, null, TestTimeout.Token);
        var busy = store.StartUpload("test/app");

        // A PATCH whose body is still arriving, and a fetch from a peer still copying.
        var bodyGate = new TaskCompletionSource();
        var patch = store.AppendAsync("test/app", busy.Id, new GatedStream(bodyGate.Task, new byte[70]), 70, null, TestTimeout.Token);
        var fetched = RandomBytes(90, 3);
        var peerGate = new TaskCompletionSource();
        var fetch = store.FetchAsync("test/app", Digest(fetched), async (destination, ct) =>
        {
            await peerGate.Task.WaitAsync(ct);
            await destination.WriteAsync(fetched, ct);
            return true;
        }, TestTimeout.Token);

        _time.Advance(TimeSpan.FromHours(2));
        var unlinkedYoung = await StoreBlobAsync(store, RandomBytes(500, 4));
        var fresh = store.StartUpload("test/app");
        var linked = new HashSet<string>(StringComparer.Ordinal) { linkedOld };

        var dry = store.SweepUnlinked(linked, Grace, dryRun: true);
        Assert.True(File.Exists(BlobFile(unlinkedOld)));
        Assert.NotNull(store.FindUpload("test/app", idle.Id));

        var swept = store.SweepUnlinked(linked, Grace, dryRun: false);

        Assert.Equal(dry, swept);
        Assert.Equal(new DiskSweep(1, 400, 1, 50), swept);
        Assert.False(File.Exists(BlobFile(unlinkedOld)));
        Assert.Null(store.FindUpload("test/app", idle.Id));
        Assert.True(File.Exists(BlobFile(linkedOld)));
        Assert.True(File.Exists(BlobFile(unlinkedYoung)));
        Assert.NotNull(store.FindUpload("test/app", fresh.Id));

        bodyGate.SetResult();
        peerGate.SetResult();
        Assert.Equal(70, (await patch.WaitAsync(TestTimeout.Span)).Size);
        Assert.Equal(PeerFetchResult.Stored, await fetch.WaitAsync(TestTimeout.Span));
        Assert.True(File.Exists(BlobFile(Digest(fetched))));
    }

    [Fact]
    public async Task A_Blob_Stored_Again_Is_Young_Again_So_The_Sweep_Leaves_It_To_The_Push_That_Stored_It()
    {
        using var store = new BlobStore(_root, _time);
        var bytes = RandomBytes(200, 5);
        var digest = await StoreBlobAsync(store, bytes);
        _time.Advance(TimeSpan.FromHours(3));

        await StoreBlobAsync(store, bytes); // a new push of the same layer finds the old file and keeps it

        Assert.Equal(new DiskSweep(0, 0, 0, 0), store.SweepUnlinked(new HashSet<string>(), Grace, dryRun: false));
        Assert.True(File.Exists(BlobFile(digest)));
    }

    [Fact]
    public async Task Gc_After_A_Tag_Moves_Removes_The_Old_Image_Only_With_Delete_Untagged_And_The_New_One_Still_Pulls()
    {
        await using var registry = await StartAsync(root: _root, time: _time);
        var v1 = await registry.PushImageAsync("me/vote", "latest", "v1");
        _time.Advance(TimeSpan.FromHours(2));
        var v2 = await registry.PushImageAsync("me/vote", "latest", "v2");
        var v1Blobs = (await registry.Metadata.GetAsync("me/vote", TestTimeout.Token))!.Manifests[Digest(v1)].Blobs;
        var blobFiles = Directory.GetFiles(registry.BlobsDir).Length;

        var (kept, keptDisk, _) = await registry.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: false, Grace, TestTimeout.Token);
        Assert.Empty(kept);
        Assert.Equal(0, keptDisk.BlobFiles);

        var (dry, dryDisk, _) = await registry.Server.CollectGarbageAsync(dryRun: true, deleteUntagged: true, Grace, TestTimeout.Token);
        Assert.Equal(blobFiles, Directory.GetFiles(registry.BlobsDir).Length);
        Assert.Equal(2, (await registry.Metadata.GetAsync("me/vote", TestTimeout.Token))!.Manifests.Count);

        var (removed, disk, _) = await registry.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: true, Grace, TestTimeout.Token);

        Assert.Equal(dry, removed, (a, b) => a.Repository == b.Repository && a.Manifests.SequenceEqual(b.Manifests) && a.Blobs.SequenceEqual(b.Blobs));
        Assert.Equal(dryDisk, disk);
        var vote = Assert.Single(removed);
        Assert.Equal<string>([Digest(v1)], vote.Manifests);
        Assert.Equal(v1Blobs.Order(StringComparer.Ordinal), vote.Blobs.Keys);
        Assert.Equal(2, disk.BlobFiles);
        Assert.All(v1Blobs, b => Assert.False(File.Exists(BlobFile(b))));
        Assert.Equal(blobFiles - 2, Directory.GetFiles(registry.BlobsDir).Length);

        using var manifest = await registry.Pull.GetAsync("/v2/me/vote/manifests/latest");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal(v2, await manifest.Content.ReadAsByteArrayAsync());
        foreach (var blob in (await registry.Metadata.GetAsync("me/vote", TestTimeout.Token))!.Manifests[Digest(v2)].Blobs)
        {
            using var response = await registry.Pull.GetAsync($"/v2/me/vote/blobs/{blob}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var gone = await registry.Pull.GetAsync($"/v2/me/vote/manifests/{Digest(v1)}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task A_Push_Whose_Blobs_Are_Uploaded_But_Whose_Manifest_Is_Not_Put_Yet_Survives_A_Gc()
    {
        await using var registry = await StartAsync(root: _root, time: _time);
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        var layer = RandomBytes(1000, 6);
        await registry.UploadAsync("me/app", config);
        await registry.UploadAsync("me/app", layer);
        _time.Advance(TimeSpan.FromMinutes(30));

        var (removed, disk, _) = await registry.Server.CollectGarbageAsync(dryRun: false, deleteUntagged: true, Grace, TestTimeout.Token);

        Assert.Empty(removed);
        Assert.Equal(0, disk.BlobFiles);
        using var put = await registry.PutManifestAsync("me/app", "1.0", ImageManifest(config, layer));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task Uploading_A_Blob_Again_Refreshes_Its_Link_Time()
    {
        await using var registry = await StartAsync(root: _root, time: _time);
        var layer = RandomBytes(100, 7);
        await registry.UploadAsync("me/app", layer);
        var first = (await registry.Metadata.GetAsync("me/app", TestTimeout.Token))!.LinkedAt[Digest(layer)];
        _time.Advance(TimeSpan.FromHours(5));

        await registry.UploadAsync("me/app", layer);

        Assert.Equal(first + TimeSpan.FromHours(5), (await registry.Metadata.GetAsync("me/app", TestTimeout.Token))!.LinkedAt[Digest(layer)]);
    }

    [Fact]
    public async Task A_Mount_Makes_The_Blob_File_Young_Again_And_Links_It_Now()
    {
        await using var registry = await StartAsync(root: _root, time: _time);
        var layer = RandomBytes(100, 9);
        var digest = await registry.UploadAsync("me/base", layer);
        _time.Advance(TimeSpan.FromHours(4));

        using var mount = await registry.Push.PostAsync($"/v2/me/app/blobs/uploads/?mount={digest}&from=me/base", null);

        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        Assert.Equal(_time.GetUtcNow().UtcDateTime, File.GetLastWriteTimeUtc(BlobFile(digest)));
        Assert.Equal(_time.GetUtcNow(), (await registry.Metadata.GetAsync("me/app", TestTimeout.Token))!.LinkedAt[digest]);
    }

    [Fact]
    public async Task A_Manifest_Naming_A_Blob_Unlinked_After_The_Check_Is_Refused_And_Not_Stored()
    {
        // A manager whose replica still shows the blob linked (it trails the write that unlinked it).
        var metadata = new StaleReads(new InMemoryRegistryMetadata(_time));
        await using var registry = await StartAsync(metadata, root: _root, time: _time);
        var config = Encoding.UTF8.GetBytes("{\"os\":\"linux\"}");
        var layer = RandomBytes(100, 8);
        await registry.UploadAsync("me/app", config);
        await registry.UploadAsync("me/app", layer);
        metadata.Freeze("me/app", (await metadata.GetAsync("me/app", TestTimeout.Token))!);
        using (var delete = await registry.Push.DeleteAsync($"/v2/me/app/blobs/{Digest(layer)}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }

        using var put = await registry.PutManifestAsync("me/app", "1.0", ImageManifest(config, layer));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, error) = await ErrorAsync(put);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", code);
        Assert.Contains(Digest(layer), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty((await metadata.Inner.GetAsync("me/app", TestTimeout.Token))!.Manifests);
    }

    /// <summary>Reads that answer a frozen copy of a repository, as a replica that trails the leader does; writes go through.</summary>
    private sealed class StaleReads(IRegistryMetadata inner) : IRegistryMetadata
    {
        private readonly Dictionary<string, RepositoryObject> _frozen = new(StringComparer.Ordinal);

        public IRegistryMetadata Inner => inner;

        public void Freeze(string repository, RepositoryObject seen) => _frozen[repository] = seen;

        public ValueTask<RepositoryObject?> GetAsync(string repository, CancellationToken ct) =>
            _frozen.TryGetValue(repository, out var seen) ? ValueTask.FromResult<RepositoryObject?>(seen) : inner.GetAsync(repository, ct);

        public ValueTask<IReadOnlyList<string>> RepositoriesAsync(CancellationToken ct) => inner.RepositoriesAsync(ct);

        public ValueTask<RepositoryObject?> UpdateAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct) =>
            inner.UpdateAsync(repository, change, ct);
    }

    /// <summary>A request body whose bytes arrive only when the gate opens.</summary>
    private sealed class GatedStream(Task gate, byte[] bytes) : Stream
    {
        private int _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            var count = Math.Min(buffer.Length, bytes.Length - _position);
            bytes.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => bytes.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
