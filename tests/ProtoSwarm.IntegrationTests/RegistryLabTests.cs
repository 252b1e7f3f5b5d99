using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// The swarm's own registry on a lab swarm (1 manager, 2 workers, real containers), tried as a new user
/// would: an image only the manager has is pushed once, and a 3-replica service of it runs on all three
/// nodes (the workers pull it by digest before their tasks start); skopeo copies an image out of the
/// registry and back in under a new name through the manager's plain listener, with identical digests,
/// and a service of that name, which only the registry has, runs on every node. A worker's certificate
/// may pull but not push.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class RegistryLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_Image_Pushed_Once_Runs_On_Every_Node_And_Skopeo_Copies_Images_In_And_Out()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2, executor: "linux");
        Assert.True(await PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(20)), "The lab's 3 nodes were not Ready within 20 s");
        var image = Path.Combine(lab.StateRoot, "busybox.tar");
        var build = await LabFixture.RunAsync("bash", [Path.Combine(LabFixture.Repository, "scripts", "images", "busybox-rootfs.sh"), image]);
        Assert.True(build.ExitCode == 0, build.ToString());
        var import = await lab.ExecAsync("m1", "protoswarm", "image", "import", image, "busybox:latest");
        Assert.True(import.ExitCode == 0, import.ToString());

        // Only m1 has the image; the workers' stores are empty.
        Assert.DoesNotContain("busybox", (await lab.ExecAsync("w1", "protoswarm", "image", "ls")).StdOut, StringComparison.Ordinal);

        var push = await lab.ExecAsync("m1", "protoswarm", "image", "push", "busybox:latest");
        Assert.True(push.ExitCode == 0, push.ToString());
        output.WriteLine(push.StdOut);
        var digest = DigestIn(push.StdOut);

        // A worker may pull, never push.
        var refused = await lab.ExecAsync("w1", "protoswarm", "image", "push", "busybox:latest");
        Assert.NotEqual(0, refused.ExitCode);

        // The service's image is pinned to the pushed digest; every node runs a replica, two of them pulled it.
        var create = await ServiceAsync(lab, "create", "--detach", "--name", "web", "--replicas", "3", "--replicas-max-per-node", "1", "busybox:latest", "httpd", "-f", "-p", "80");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Equal($"busybox:latest@{digest}", (await InspectAsync(lab, "web")).Spec.TaskTemplate.Container.Image);
        var running = await PollAsync(lab, Converge, "web", tasks => tasks.Count(t => t.Task.Status.State == TaskState.Running) == 3);
        Assert.True(running.Met, running.Last);
        Assert.Equal(["m1", "w1", "w2"], running.Tasks.Where(t => t.Task.Status.State == TaskState.Running).Select(t => t.Node).Order());
        foreach (var node in new[] { "w1", "w2" })
        {
            // A pull by digest adds no name, as docker's: the tag may have moved on since the digest was pinned.
            var inspect = await lab.ExecAsync(node, "protoswarm", "image", "inspect", $"busybox:latest@{digest}");
            Assert.True(inspect.ExitCode == 0, inspect.ToString());
            Assert.Contains(digest, inspect.StdOut, StringComparison.Ordinal);
        }

        // skopeo, through m1's plain listener with the registry's tokens: out to an OCI layout, and in again under a new name.
        var pullToken = (await lab.ExecAsync("m1", "protoswarm", "registry", "token", "pull", "-q")).StdOut.Trim();
        var pushToken = (await lab.ExecAsync("m1", "protoswarm", "registry", "token", "push", "-q")).StdOut.Trim();
        Assert.NotEmpty(pullToken);
        Assert.NotEmpty(pushToken);
        var m1 = (await lab.NodeAsync("m1")).GetProperty("Address").GetString();
        var layout = Path.Combine(lab.StateRoot, "skopeo-layout");
        // The image's layer is an uncompressed tar (`image import`): skopeo would gzip it on the way out and push
        // new digests back; told to keep layers and digests as they are, the round trip is exact.
        var copyOut = await lab.ExecAsync("m1", "skopeo", "--insecure-policy", "copy", "--dest-oci-accept-uncompressed-layers", "--src-tls-verify=false", "--src-creds", $"pull:{pullToken}",
            $"docker://{m1}:5000/library/busybox:latest", $"oci:{layout}:copied");
        Assert.True(copyOut.ExitCode == 0, copyOut.ToString());
        var copyIn = await lab.ExecAsync("m1", "skopeo", "--insecure-policy", "copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", $"push:{pushToken}",
            $"oci:{layout}:copied", $"docker://{m1}:5000/tools/busybox:copied");
        Assert.True(copyIn.ExitCode == 0, copyIn.ToString());
        var copiedDigest = await lab.ExecAsync("m1", "skopeo", "inspect", "--format", "{{.Digest}}", "--tls-verify=false", "--creds", $"pull:{pullToken}",
            $"docker://{m1}:5000/tools/busybox:copied");
        Assert.True(copiedDigest.ExitCode == 0, copiedDigest.ToString());
        Assert.Equal(digest, copiedDigest.StdOut.Trim());

        // A pull token cannot push.
        var denied = await lab.ExecAsync("m1", "skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", $"pull:{pullToken}",
            $"oci:{layout}:copied", $"docker://{m1}:5000/tools/busybox:denied");
        Assert.NotEqual(0, denied.ExitCode);

        // tools/busybox:copied exists only in the registry: every node pulls it.
        var copied = await ServiceAsync(lab, "create", "--detach", "--name", "copied", "--mode", "global", "tools/busybox:copied", "sleep", "100000");
        Assert.True(copied.ExitCode == 0, copied.ToString());
        var global = await PollAsync(lab, Converge, "copied", tasks => tasks.Count(t => t.Task.Status.State == TaskState.Running) == 3);
        Assert.True(global.Met, global.Last);

        var ls = await lab.ExecAsync("m1", "protoswarm", "registry", "ls");
        Assert.Contains("library/busybox", ls.StdOut, StringComparison.Ordinal);
        Assert.Contains("tools/busybox", ls.StdOut, StringComparison.Ordinal);
    }

    private static string DigestIn(string text) =>
        text.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("sha256:", StringComparison.Ordinal) && w.Length == 71);
}
