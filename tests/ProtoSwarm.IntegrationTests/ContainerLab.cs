namespace ProtoSwarm.IntegrationTests;

/// <summary>A lab swarm that runs real containers: 1 manager, 2 workers, `--executor linux`, busybox:latest imported on every node.</summary>
internal static class ContainerLab
{
    internal static async Task<LabFixture> UpAsync()
    {
        var lab = await LabFixture.UpAsync(managers: 1, workers: 2, executor: "linux");
        Assert.True(await LabQueries.PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(20)), "The lab's 3 nodes were not Ready within 20 s");
        var image = Path.Combine(lab.StateRoot, "busybox.tar");
        var build = await LabFixture.RunAsync("bash", [Path.Combine(LabFixture.Repository, "scripts", "images", "busybox-rootfs.sh"), image]);
        Assert.True(build.ExitCode == 0, build.ToString());
        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            var import = await lab.ExecAsync(node, "protoswarm", "image", "import", image, "busybox:latest");
            Assert.True(import.ExitCode == 0, import.ToString());
        }

        return lab;
    }
}
