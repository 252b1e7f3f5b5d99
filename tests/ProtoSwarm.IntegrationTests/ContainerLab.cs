namespace ProtoSwarm.IntegrationTests;

/// <summary>A lab swarm that runs real containers: 1 manager, 2 workers, `--executor linux`, busybox:latest imported on every node.</summary>
internal static class ContainerLab
{
    internal static async Task<LabFixture> UpAsync()
    {
        var lab = await UpWithoutImagesAsync(workers: 2);
        return await lab.PreparedAsync(async lab =>
        {
            var image = await BuildBusyboxAsync(lab);
            foreach (var node in new[] { "m1", "w1", "w2" })
            {
                var import = await lab.ExecAsync(node, "protoswarm", "image", "import", image, "busybox:latest");
                Assert.True(import.ExitCode == 0, import.ToString());
            }
        });
    }

    /// <summary>1 manager and <paramref name="workers"/> workers running real containers, all Ready; no image on any node yet.</summary>
    internal static async Task<LabFixture> UpWithoutImagesAsync(int workers)
    {
        var lab = await LabFixture.UpAsync(managers: 1, workers: workers, executor: "linux");
        return await lab.PreparedAsync(async lab =>
            Assert.True(await LabQueries.PollNodesReadyAsync(lab, 1 + workers, TimeSpan.FromSeconds(20)), $"The lab's {1 + workers} nodes were not Ready within 20 s"));
    }

    /// <summary>Builds the busybox root (scripts/images/busybox-rootfs.sh) into the lab's state dir; returns the tar's path.</summary>
    internal static async Task<string> BuildBusyboxAsync(LabFixture lab, string fileName = "busybox.tar")
    {
        var image = Path.Combine(lab.StateRoot, fileName);
        var build = await LabFixture.RunAsync("bash", [Path.Combine(LabFixture.Repository, "scripts", "images", "busybox-rootfs.sh"), image]);
        Assert.True(build.ExitCode == 0, build.ToString());
        return image;
    }
}
