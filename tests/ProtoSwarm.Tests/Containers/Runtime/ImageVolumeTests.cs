using System.Formats.Tar;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Containers.Images;

namespace ProtoSwarm.Tests.Containers.Runtime;

// An image's VOLUME, as docker's engine honours it, with real busybox containers, as root: each container (standalone or a
// task's) gets an anonymous volume there filled with the image's files, unless a mount of its own is on the path.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class ImageVolumeTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-imgvol-", "busybox:imgvol")
{
    private const string Image = "imgvol:1";

    /// <summary>
    /// The busybox root and a layer with /seed/hello, whose config declares VOLUME /seed and /given/ (docker keeps the path as
    /// written), loaded as a `docker save` archive is.
    /// </summary>
    private async Task LoadImageAsync()
    {
        using var rootfs = new MemoryStream();
        await TarFile.CreateFromDirectoryAsync(Fixture.Layer, rootfs, includeBaseDirectory: false);
        byte[][] layers = [rootfs.ToArray(), TestImages.Tar(w =>
        {
            TestImages.AddDir(w, "seed/");
            TestImages.AddFile(w, "seed/hello", "from the image\n"u8.ToArray());
        })];
        var config = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/bin"),
                ["Volumes"] = new JsonObject { ["/seed"] = new JsonObject(), ["/given/"] = new JsonObject() },
            },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => (JsonNode)TestImages.Digest(l))]) },
        };
        await Images.LoadAsync(new MemoryStream(TestImages.DockerSave([Image], layers, config)));
    }

    private StandaloneContainers Standalone() =>
        new(Executor, Path.Combine(Dir, "standalone"), () => "node", () => null, NullLoggerFactory.Instance);

    private static RunContainer Run(string name, params string[] command) =>
        new(SwarmIds.NewRequestId(), Image, [.. command], null, [], "", "", name, false, false, "");

    private static async Task<int> WaitAsync(StandaloneContainers standalone, string id) =>
        Assert.IsType<ContainerExited>(await standalone.HandleAsync(new WaitContainer("w", id), default).WaitAsync(TimeSpan.FromSeconds(20))).ExitCode;

    private string Printed(string id) => ContainerFixture.Printed(LinuxContainer.ReadLogs(id, Fixture.Options), ContainerLogStream.Stdout);

    private async Task<ContainerObject> PsAsync(StandaloneContainers standalone, string id) =>
        Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
            standalone.NameOf, standalone.RestartOf)).Containers.Single(c => c.Id == id);

    private static async Task RemoveAsync(StandaloneContainers standalone, string id, bool volumes) =>
        Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RemoveContainers("rm", [id], true, volumes), default)).Results).Error);

    [Fact]
    public async Task A_Standalone_Container_Gets_An_Anonymous_Volume_Filled_From_The_Image_Kept_Across_Starts_And_Taken_By_Rm_V()
    {
        await LoadImageAsync();
        using var standalone = Standalone();
        var before = Executor.Volumes.List().Select(v => v.Name).ToHashSet(StringComparer.Ordinal);

        // -v on /given covers that image volume: only /seed gets an anonymous one.
        var id = Assert.IsType<ContainerCreated>(await standalone.HandleAsync(Run("imgvol", "sh", "-c", "cat /seed/hello; echo again >> /seed/hello; echo x > /given/f")
            with { Volumes = ["imgvol-given:/given"] }, default)).Id;
        Assert.Equal(0, await WaitAsync(standalone, id));
        var mounts = (await PsAsync(standalone, id)).Mounts;
        var seed = Assert.Single(mounts, m => m.Target == "/seed");
        var volume = Assert.Single(Executor.Volumes.List(), v => v.Name == seed.Source);
        Assert.Equal(0, Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", [id]), default)).Results.Count(r => r.Error.Length > 0));
        Assert.Equal(0, await WaitAsync(standalone, id));
        var printed = Printed(id);
        await RemoveAsync(standalone, id, volumes: true);
        var afterRmV = Executor.Volumes.List().Select(v => v.Name).ToList();

        // rm without -v leaves the image volume dangling, as a -v one.
        var kept = Assert.IsType<ContainerCreated>(await standalone.HandleAsync(Run("imgvol-kept", "true"), default)).Id;
        Assert.Equal(0, await WaitAsync(standalone, kept));
        var keptMounts = (await PsAsync(standalone, kept)).Mounts;
        await RemoveAsync(standalone, kept, volumes: false);
        var dangling = Executor.Volumes.List().Where(v => !before.Contains(v.Name) && v.Name != "imgvol-given").ToList();

        Assert.Equal(["/given", "/seed"], mounts.Select(m => m.Target).Order(StringComparer.Ordinal));
        Assert.Equal("imgvol-given", Assert.Single(mounts, m => m.Target == "/given").Source);
        Assert.Equal((MountType.Volume, 64), (seed.Type, seed.Source.Length));
        Assert.True(volume.Anonymous);
        Assert.Equal([id], volume.UsedBy);
        Assert.Equal("from the image\nfrom the image\nagain\n", printed);
        Assert.DoesNotContain(seed.Source, afterRmV);
        Assert.Contains("imgvol-given", afterRmV);
        Assert.Equal(["/given", "/seed"], keptMounts.Select(m => m.Target).Order(StringComparer.Ordinal));
        Assert.Equal(2, dangling.Count);
        Assert.All(dangling, v => Assert.True(v.Anonymous && v.UsedBy.Count == 0, v.Name));
        foreach (var name in dangling.Select(v => v.Name).Append("imgvol-given"))
        {
            Executor.Volumes.Remove(name);
        }
    }

    [Fact]
    public async Task A_Tasks_Container_Gets_Its_Own_Image_Volumes_Filled_From_The_Image_And_They_Go_With_It()
    {
        await LoadImageAsync();
        var task = new TaskObject("v" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec(Image, Command: ["sh", "-c", "cat /seed/hello; ls -d /given"])
            {
                Mounts = [new MountSpec(MountType.Tmpfs, "", "/given")],
            }), 1, TaskState.Running, new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow), ServiceName: "imgvol");
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        var held = Executor.Volumes.List().Where(v => v.UsedBy.Contains(task.Id)).ToList();
        await controller.StartAsync(default);
        var exit = await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20));
        var printed = Printed(task.Id);
        await controller.RemoveAsync(default);

        // Its tmpfs covers /given; /seed is a volume of its own with the image's file, removed with the task.
        var volume = Assert.Single(held);
        Assert.True(volume.Anonymous);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("from the image\n/given\n", printed);
        Assert.DoesNotContain(Executor.Volumes.List(), v => v.Name == volume.Name);
    }

    [Fact]
    public async Task A_Tasks_Anonymous_Volume_Is_Listed_By_The_Name_The_Node_Gave_It_With_Its_Directory_Also_Once_Found_Again()
    {
        await LoadImageAsync();
        var task = new TaskObject("n" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec(Image, Command: ["sleep", "1000"])
            {
                Mounts = [new MountSpec(MountType.Volume, "", "/cache"), new MountSpec(MountType.Tmpfs, "", "/given")],
            }), 1, TaskState.Running, new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow), ServiceName: "imgvol");
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        // A node host that restarts finds the container again, with the same volumes.
        var restarted = new LinuxExecutor(() => Images, () => Executor.Volumes, Fixture.Options, NullLoggerFactory.Instance);
        var again = restarted.CreateController(task);
        try
        {
            var prepared = await ListedAsync(Executor, task.Id);
            await controller.StartAsync(default);
            Assert.True((await again.InspectAsync(default)).Exists);
            var found = await ListedAsync(restarted, task.Id);

            // Its own /cache volume and the image's /seed one are the task's anonymous volumes; the spec's is shown by its name.
            var held = Executor.Volumes.List().Where(v => v.UsedBy.Contains(task.Id)).ToList();
            Assert.Equal(2, held.Count);
            Assert.All(held, v => Assert.True(v.Anonymous));
            var cache = prepared.Mounts.Single(m => m.Target == "/cache").Source;
            Assert.Contains(held, v => v.Name == cache);
            Assert.Equal(Executor.Volumes.Inspect(cache).Mountpoint, prepared.VolumePaths[cache]);
            Assert.Equal(("", "/given"), (prepared.Mounts.Single(m => m.Type == MountType.Tmpfs).Source, prepared.Mounts.Single(m => m.Type == MountType.Tmpfs).Target));
            Assert.Equal(cache, found.Mounts.Single(m => m.Target == "/cache").Source);
            Assert.Equal(Executor.Volumes.Inspect(cache).Mountpoint, found.VolumePaths[cache]);
        }
        finally
        {
            await again.TerminateAsync(default);
            await again.RemoveAsync(default);
            await controller.RemoveAsync(default);
        }
    }

    private static async Task<ContainerObject> ListedAsync(LinuxExecutor executor, string id) =>
        Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default))
            .Containers.Single(c => c.Id == id);
}
