using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// `system df`: docker's four rows, summed from the node's own stores. Images: the unpacked layers, each counted once however
/// many images share it; in use, an image a container of the node has (running or not); reclaimable, the layers no such image
/// has (what `image prune -a` would give back; docker's own sum counts a layer an image in use shares with an unused one as
/// reclaimable, this one does not). Containers: their writable layers; reclaimable, those of the ones not running. Local
/// volumes: their files; reclaimable, those of the volumes no container holds. Build cache: none, nothing builds here.
/// </summary>
internal static class LocalDiskUsage
{
    public static async Task<DiskUsage> ComputeAsync(
        ImageStore images, VolumeStore volumes, IReadOnlyList<ContainerFacts> containers, Func<string, long> writableLayerSize, CancellationToken ct)
    {
        var stored = await images.ListAsync(ct);
        var used = containers.Select(c => c.ImageId).ToHashSet(StringComparer.Ordinal);
        var layers = stored.SelectMany(i => i.Layers).DistinctBy(l => l.DiffId).ToList();
        var inUse = stored.Where(i => used.Contains(i.Id)).SelectMany(i => i.Layers).Select(l => l.DiffId).ToHashSet(StringComparer.Ordinal);
        var layersSize = layers.Sum(l => l.Size);
        var imageRow = new DiskUsageRow("Images", stored.Count, stored.Count(i => used.Contains(i.Id)), layersSize,
            layers.Where(l => !inUse.Contains(l.DiffId)).Sum(l => l.Size));

        var sized = containers.Select(c => (Running: c.Started && !c.Exited, Size: writableLayerSize(c.Task.Id))).ToList();
        var containerRow = new DiskUsageRow("Containers", sized.Count, sized.Count(c => c.Running), sized.Sum(c => c.Size),
            sized.Where(c => !c.Running).Sum(c => c.Size));

        var volumeSizes = volumes.List().Select(v => (InUse: v.UsedBy.Count > 0, Size: volumes.SizeOf(v.Name))).ToList();
        var volumeRow = new DiskUsageRow("Local Volumes", volumeSizes.Count, volumeSizes.Count(v => v.InUse), volumeSizes.Sum(v => v.Size),
            volumeSizes.Where(v => !v.InUse).Sum(v => v.Size));

        return new DiskUsage([imageRow, containerRow, volumeRow, new DiskUsageRow("Build Cache", 0, 0, 0, 0)]);
    }
}
