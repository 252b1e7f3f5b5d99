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
        await using var lab = await ContainerLab.UpWithoutImagesAsync(workers: 2);
        var image = await ContainerLab.BuildBusyboxAsync(lab);
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

    [Fact]
    public async Task Gc_After_A_Tag_Is_Pushed_Again_Frees_The_Old_Layer_On_The_Manager_And_The_Current_Image_Still_Pulls()
    {
        await using var lab = await ContainerLab.UpWithoutImagesAsync(workers: 1);
        var v1 = await ContainerLab.BuildBusyboxAsync(lab, "v1.tar");

        // Version 2 is version 1 with one more file: another layer, another config, another manifest.
        var v2 = Path.Combine(lab.StateRoot, "v2.tar");
        var extra = Path.Combine(lab.StateRoot, "v2-files");
        Directory.CreateDirectory(extra);
        await File.WriteAllTextAsync(Path.Combine(extra, "VERSION"), "2\n");
        File.Copy(v1, v2);
        var append = await LabFixture.RunAsync("tar", ["-rf", v2, "-C", extra, "VERSION"]);
        Assert.True(append.ExitCode == 0, append.ToString());

        var blobs = Path.Combine(lab.StateRoot, "m1", "registry", "blobs", "sha256");
        var digests = new List<string>();
        foreach (var version in new[] { v1, v2 })
        {
            var import = await lab.ExecAsync("m1", "protoswarm", "image", "import", version, "vote:latest");
            Assert.True(import.ExitCode == 0, import.ToString());
            var push = await lab.ExecAsync("m1", "protoswarm", "image", "push", "vote:latest");
            Assert.True(push.ExitCode == 0, push.ToString());
            digests.Add(DigestIn(push.StdOut));
        }

        Assert.NotEqual(digests[0], digests[1]);
        var before = Directory.GetFiles(blobs).ToHashSet(StringComparer.Ordinal);

        // On a worker the command says where it runs.
        var onWorker = await lab.ExecAsync("w1", "protoswarm", "registry", "gc");
        Assert.NotEqual(0, onWorker.ExitCode);
        Assert.Contains("runs on a manager", onWorker.StdErr + onWorker.StdOut, StringComparison.Ordinal);
        var badGrace = await lab.ExecAsync("m1", "protoswarm", "registry", "gc", "--grace", "soon");
        Assert.NotEqual(0, badGrace.ExitCode);
        Assert.Contains("--grace 'soon' is not a duration", badGrace.StdErr + badGrace.StdOut, StringComparison.Ordinal);

        // Docker keeps untagged manifests unless told; with the default grace the just-pushed old layer stays too.
        var kept = await lab.ExecAsync("m1", "protoswarm", "registry", "gc", "--delete-untagged");
        Assert.True(kept.ExitCode == 0, kept.ToString());
        output.WriteLine(kept.StdOut);
        Assert.Equal(before, Directory.GetFiles(blobs).ToHashSet(StringComparer.Ordinal));

        var dry = await lab.ExecAsync("m1", "protoswarm", "registry", "gc", "--dry-run", "--delete-untagged", "--grace", "0s");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        output.WriteLine(dry.StdOut);
        Assert.Contains($"library/vote: would delete manifest {digests[0]}", dry.StdOut, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFiles(blobs).ToHashSet(StringComparer.Ordinal));

        var gc = await lab.ExecAsync("m1", "protoswarm", "registry", "gc", "--delete-untagged", "--grace", "0s");
        Assert.True(gc.ExitCode == 0, gc.ToString());
        output.WriteLine(gc.StdOut);
        Assert.Contains($"library/vote: delete manifest {digests[0]}", gc.StdOut, StringComparison.Ordinal);
        Assert.Contains(": removed 2 blob files", gc.StdOut, StringComparison.Ordinal); // the old layer and the old config
        var after = Directory.GetFiles(blobs).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(before.Count - 2, after.Count);
        Assert.Contains("library/vote: unlink blob", gc.StdOut, StringComparison.Ordinal);
        foreach (var removed in before.Except(after))
        {
            Assert.Contains("sha256:" + Path.GetFileName(removed), gc.StdOut, StringComparison.Ordinal);
        }

        // The current image pulls on the worker, by tag and by digest; the old one is gone from the registry.
        var pull = await lab.ExecAsync("w1", "protoswarm", "image", "pull", "vote:latest");
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Contains(digests[1], pull.StdOut, StringComparison.Ordinal);
        var old = await lab.ExecAsync("w1", "protoswarm", "image", "pull", $"vote@{digests[0]}");
        Assert.NotEqual(0, old.ExitCode);
    }

    [Fact]
    public async Task An_Image_Pushed_To_A_Manager_Still_Pulls_After_That_Manager_Is_Killed()
    {
        await using var lab = await LabFixture.UpAsync(managers: 3, workers: 1, executor: "linux");
        Assert.True(await PollNodesReadyAsync(lab, 4, TimeSpan.FromSeconds(30)), "The lab's 4 nodes were not Ready within 30 s");
        var image = await ContainerLab.BuildBusyboxAsync(lab);
        var import = await lab.ExecAsync("m1", "protoswarm", "image", "import", image, "busybox:latest");
        Assert.True(import.ExitCode == 0, import.ToString());
        var push = await lab.ExecAsync("m1", "protoswarm", "image", "push", "busybox:latest");
        Assert.True(push.ExitCode == 0, push.ToString());
        var digest = DigestIn(push.StdOut);

        // The push was acknowledged only once a majority of the managers held its blobs: the manager that received it
        // (the leader, m1) is killed the moment the push returns, with no wait for the background copy, and the swarm
        // keeps its quorum, and its registry the image.
        string Blobs(string node) => Path.Combine(lab.StateRoot, node, "registry", "blobs", "sha256");
        Assert.Equal(0, (await lab.LabAsync("stop", "m1", "--kill")).ExitCode);
        var pushed = Directory.GetFiles(Blobs("m1")).Select(Path.GetFileName).ToList();
        Assert.NotEmpty(pushed);
        Assert.True(
            new[] { "m2", "m3" }.Any(n => pushed.All(f => File.Exists(Path.Combine(Blobs(n), f!)))),
            "neither m2 nor m3 held every blob of the push when it was acknowledged");

        RunResult pull;
        var deadline = DateTime.UtcNow + Converge;
        do
        {
            pull = await lab.ExecAsync("w1", "protoswarm", "image", "pull", "busybox:latest");
            if (pull.ExitCode != 0)
            {
                output.WriteLine(pull.ToString());
                await Task.Delay(1000);
            }
        }
        while (pull.ExitCode != 0 && DateTime.UtcNow < deadline);

        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Contains(digest, pull.StdOut, StringComparison.Ordinal);
    }

    private static string DigestIn(string text) =>
        text.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("sha256:", StringComparison.Ordinal) && w.Length == 71);
}
