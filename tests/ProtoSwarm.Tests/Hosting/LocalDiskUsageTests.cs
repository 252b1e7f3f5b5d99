using System.Collections.Immutable;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`system df`'s rows, summed by the node from its real image and volume stores and its containers.</summary>
[Trait("Category", "Privileged")]
public sealed class LocalDiskUsageTests : IDisposable
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-df-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ContainerFacts Container(string id, string imageId, bool running) => new(
        new TaskObject(id, ObjectMeta.New(T0), "svc", 1, "node1", new TaskSpec(new ContainerSpec("img")), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Running, T0)),
        imageId, [], [], T0, T0, running ? null : T0.AddMinutes(1), running ? 42 : 0, running ? null : 0, null, []);

    [Fact]
    public async Task Rows_Count_Shared_Layers_Once_And_Reclaim_Only_What_Nothing_In_Use_Holds()
    {
        using var images = new ImageStore(Path.Combine(_dir, "images"));
        var volumes = new VolumeStore(Path.Combine(_dir, "volumes"));
        var both = Assert.Single(await images.LoadAsync(new MemoryStream(DockerSave(["busybox:latest"]))));
        var baseOnly = Assert.Single(await images.LoadAsync(new MemoryStream(DockerSave(["base:1"], [BaseLayer()]))));
        var baseSize = both.Layers[0].Size;
        var topSize = both.Layers[1].Size;
        volumes.Create("kept");
        volumes.Create("held");
        File.WriteAllBytes(Path.Combine(volumes.MountpointOf("kept"), "f"), new byte[3000]);
        File.WriteAllBytes(Path.Combine(volumes.MountpointOf("held"), "g"), new byte[500]);
        volumes.ResolveMounts("c-running", [new MountSpec(MountType.Volume, "held", "/h")], []);
        var sizes = new Dictionary<string, long> { ["c-running"] = 100, ["c-exited"] = 7000 };

        var usage = await LocalDiskUsage.ComputeAsync(images, volumes,
            [Container("c-running", baseOnly.Id, running: true), Container("c-exited", baseOnly.Id, running: false)], id => sizes[id], default);

        Assert.Equal<DiskUsageRow>(
            [
                new DiskUsageRow("Images", 2, 1, baseSize + topSize, topSize), // base:1 in use holds the shared base layer
                new DiskUsageRow("Containers", 2, 1, 7100, 7000),
                new DiskUsageRow("Local Volumes", 2, 1, 3500, 3000),
                new DiskUsageRow("Build Cache", 0, 0, 0, 0),
            ],
            usage.Rows);
    }
}
