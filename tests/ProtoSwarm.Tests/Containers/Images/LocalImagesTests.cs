using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Containers.Images;

/// <summary>The node host's answers to the `image` commands, from a real store in a temp directory.</summary>
[Trait("Category", "Privileged")]
public sealed class LocalImagesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-local-images-").FullName;
    private readonly LocalImages _images;

    public LocalImagesTests() => _images = new LocalImages(Path.Combine(_dir, "images"));

    public void Dispose()
    {
        _images.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task Load_List_Inspect_And_Remove_Through_The_Contracts()
    {
        var loaded = Assert.IsType<ImageLoaded>(await _images.HandleAsync(new LoadImage("r1", Write("bb.tar", Gzip(DockerSave(["busybox:latest"])))), default));
        var imported = Assert.IsType<ImageImported>(await _images.HandleAsync(new ImportImage("r2", Write("rootfs.tar", BaseLayer()), "rootfs:v1"), default));
        var list = Assert.IsType<ImageList>(await _images.HandleAsync(new ListImages("r3"), default));
        var details = Assert.IsType<ImageDetails>(await _images.HandleAsync(new InspectImage("r4", "busybox"), default));
        var removed = Assert.IsType<ImageRemoved>(await _images.HandleAsync(new RemoveImage("r5", "busybox", false), default));

        Assert.Equal<string>(["busybox:latest"], Assert.Single(loaded.Images).RepoTags);
        Assert.Equal<string>(["rootfs:v1"], imported.Image.RepoTags);
        Assert.Equal(2, list.Images.Length);
        Assert.Equal("SIGQUIT", details.Image.StopSignal);
        Assert.Equal<string>(["busybox:latest"], removed.Untagged);
        Assert.Contains(Digest(TopLayer()), removed.Deleted);
    }

    [Fact]
    public async Task Save_Writes_The_Archive_Whole_Or_Leaves_The_Old_File_And_Refuses_Bad_Paths_Plainly()
    {
        await _images.HandleAsync(new LoadImage("r1", Write("bb.tar", DockerSave(["busybox:latest"]))), default);
        var target = Write("out.tar", "old"u8.ToArray());

        var failed = Assert.IsType<CommandRejected>(await _images.HandleAsync(new SaveImage("r2", ["busybox", "nope:1"], target), default));
        var relative = Assert.IsType<CommandRejected>(await _images.HandleAsync(new SaveImage("r3", ["busybox"], "out.tar"), default));
        var noDirectory = Assert.IsType<CommandRejected>(await _images.HandleAsync(new SaveImage("r4", ["busybox"], Path.Combine(_dir, "missing", "out.tar")), default));
        var aDirectory = Assert.IsType<CommandRejected>(await _images.HandleAsync(new SaveImage("r5", ["busybox"], _dir), default));

        Assert.Contains("No such image: nope:1", failed.Reason, StringComparison.Ordinal);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Contains("is not an absolute path", relative.Reason, StringComparison.Ordinal);
        Assert.Contains($"directory \"{Path.Combine(_dir, "missing")}\" does not exist", noDirectory.Reason, StringComparison.Ordinal);
        Assert.Contains("is a directory", aDirectory.Reason, StringComparison.Ordinal);

        var saved = Assert.IsType<ImageSaved>(await _images.HandleAsync(new SaveImage("r6", ["busybox"], target), default));
        Assert.Equal(new FileInfo(target).Length, saved.Size);
        Assert.Equal(["bb.tar", "images", "out.tar"], Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var other = new LocalImages(Path.Combine(_dir, "other"));
        var loaded = Assert.IsType<ImageLoaded>(await other.HandleAsync(new LoadImage("r7", target), default));
        Assert.Equal<string>(["busybox:latest"], Assert.Single(loaded.Images).RepoTags);
    }

    [Fact]
    public async Task A_Corrupt_Archive_Or_A_Missing_File_Is_Refused_With_The_Path()
    {
        var path = Write("junk.tar", Tar(w => AddFile(w, "hello.txt", "hi"u8.ToArray())));

        var corrupt = Assert.IsType<CommandRejected>(await _images.HandleAsync(new LoadImage("r1", path), default));
        var missing = Assert.IsType<CommandRejected>(await _images.HandleAsync(new LoadImage("r2", "/no/such.tar"), default));
        var relative = Assert.IsType<CommandRejected>(await _images.HandleAsync(new LoadImage("r3", "such.tar"), default));
        var badName = Assert.IsType<CommandRejected>(await _images.HandleAsync(new ImportImage("r4", path, "Bad:Name"), default));

        Assert.Equal(RejectCode.InvalidArgument, corrupt.Code);
        Assert.StartsWith(path + ": the archive is neither", corrupt.Reason, StringComparison.Ordinal);
        Assert.Equal(RejectCode.NotFound, missing.Code);
        Assert.Contains("absolute path", relative.Reason, StringComparison.Ordinal);
        Assert.Contains("invalid reference format", badName.Reason, StringComparison.Ordinal);
        Assert.Empty(Assert.IsType<ImageList>(await _images.HandleAsync(new ListImages("r5"), default)).Images);
    }
}
