using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Registry.Server;
using static ProtoSwarm.Tests.Registry.TestRegistry;

namespace ProtoSwarm.Tests.Registry;

public sealed class BlobStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("protoswarm-blobstore-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

    private string UploadsDir => Path.Combine(_root, "uploads");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Uploads_Older_Than_The_Maximum_Age_Are_Removed_Periodically()
    {
        using var store = new BlobStore(_root, _time, TimeSpan.FromHours(24));
        var old = store.StartUpload("test/app");
        await store.AppendAsync("test/app", old.Id, new MemoryStream([1, 2, 3]), 3, null, default);
        _time.Advance(TimeSpan.FromHours(20));
        var young = store.StartUpload("test/app");

        _time.Advance(TimeSpan.FromHours(5)); // the sweep's timer fires on the way

        Assert.Null(store.FindUpload("test/app", old.Id));
        Assert.NotNull(store.FindUpload("test/app", young.Id));
        Assert.Single(Directory.EnumerateDirectories(UploadsDir));
    }

    [Fact]
    public async Task An_Upload_Still_Receiving_Bytes_Outlives_The_Maximum_Age_Counted_From_Its_Start()
    {
        using var store = new BlobStore(_root, _time, TimeSpan.FromHours(24));
        var slow = store.StartUpload("test/app");
        for (var hour = 0; hour < 30; hour += 6)
        {
            await store.AppendAsync("test/app", slow.Id, new MemoryStream([1]), 1, null, default);
            _time.Advance(TimeSpan.FromHours(6)); // the sweep's timer fires on the way
        }

        Assert.Equal(5, store.FindUpload("test/app", slow.Id)!.Size);

        _time.Advance(TimeSpan.FromHours(25));

        Assert.Null(store.FindUpload("test/app", slow.Id));
        Assert.Empty(Directory.EnumerateDirectories(UploadsDir));
    }

    [Fact]
    public async Task Start_Removes_Leftovers_Of_A_Crash_And_Keeps_Young_Uploads()
    {
        string young;
        using (var before = new BlobStore(_root, _time))
        {
            young = before.StartUpload("test/app").Id;
            await before.AppendAsync("test/app", young, new MemoryStream([1]), null, null, default);
        }

        Directory.CreateDirectory(Path.Combine(UploadsDir, Guid.NewGuid().ToString("D"))); // no state: died while starting
        Directory.CreateDirectory(Path.Combine(UploadsDir, "peer-0123"));                   // a peer fetch cut short
        await File.WriteAllTextAsync(Path.Combine(_root, "blobs", "sha256", "partial.tmp"), "x");

        using var store = new BlobStore(_root, _time);

        Assert.Equal([young], Directory.EnumerateDirectories(UploadsDir).Select(Path.GetFileName));
        Assert.Equal(1, store.FindUpload("test/app", young)!.Size);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "blobs", "sha256")));
    }

    [Fact]
    public async Task Completing_Twice_The_Same_Bytes_Keeps_One_Blob()
    {
        using var store = new BlobStore(_root, _time);
        var bytes = RandomBytes(1000, 30);
        foreach (var _ in new[] { 1, 2 })
        {
            var upload = store.StartUpload("test/app");
            await store.AppendAsync("test/app", upload.Id, new MemoryStream(bytes), bytes.Length, 0, default);
            Assert.Equal(1000, await store.CompleteUploadAsync("test/app", upload.Id, Digest(bytes), default));
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.BlobPath(Digest(bytes))));
        Assert.Empty(Directory.EnumerateFileSystemEntries(UploadsDir));
    }

    [Fact]
    public async Task Body_Shorter_Than_Its_Length_Is_Cut_Off_Again()
    {
        using var store = new BlobStore(_root, _time);
        var upload = store.StartUpload("test/app");
        await store.AppendAsync("test/app", upload.Id, new MemoryStream(new byte[10]), 10, 0, default);

        var error = await Assert.ThrowsAsync<RegistryException>(() => store.AppendAsync("test/app", upload.Id, new MemoryStream(new byte[5]), 8, 10, default));

        Assert.Equal("SIZE_INVALID", error.Code);
        Assert.Equal(10, store.FindUpload("test/app", upload.Id)!.Size);
    }
}
