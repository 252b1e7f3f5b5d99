using ProtoSwarm.Contracts;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A stack on a lab swarm (1 manager, 2 workers, real containers), tried as a new user would: an
/// image pushed once to the swarm's registry, a compose file with two services on an overlay, `stack
/// deploy` until converged, a request from one service to the other by its short name, a redeploy of
/// the same file that changes nothing, a redeploy after a rebuilt image was pushed under the same tag that
/// rolls the services onto its digest, and `stack rm` that leaves no service and no network.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class StackLabTests
{
    private const string Compose = """
        version: "3.8"
        services:
          web:
            image: busybox:latest
            command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
            networks: [front]
            deploy:
              replicas: 2
              placement:
                max_replicas_per_node: 1
          client:
            image: busybox:latest
            command: ["sleep", "100000"]
            networks: [front]
        networks:
          front: {}
        """;

    [Fact]
    public async Task A_Stack_Deploys_Its_Services_Reach_Each_Other_By_Short_Name_A_Redeploy_Changes_Nothing_Until_The_Tag_Moves_And_Rm_Leaves_Nothing()
    {
        await using var lab = await ContainerLab.UpWithoutImagesAsync(workers: 2);
        var image = await ContainerLab.BuildBusyboxAsync(lab);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "image", "import", image, "busybox:latest")).ExitCode);
        var push = await lab.ExecAsync("m1", "protoswarm", "image", "push", "busybox:latest");
        Assert.True(push.ExitCode == 0, push.ToString());
        var file = Path.Combine(lab.StateRoot, "demo.yml");
        await File.WriteAllTextAsync(file, Compose);

        var deploy = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "-c", file, "demo");
        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        Assert.Contains("Creating network demo_front", deploy.StdOut, StringComparison.Ordinal);
        var web = await PollAsync(lab, TimeSpan.FromSeconds(60), "demo_web", tasks => tasks.Count(t => t.Task.Status.State == TaskState.Running) == 2);
        Assert.True(web.Met, web.Last);
        var client = await PollAsync(lab, TimeSpan.FromSeconds(60), "demo_client", tasks => tasks.Any(t => t.Task.Status.State == TaskState.Running));
        Assert.True(client.Met, client.Last);
        var services = await lab.ExecAsync("m1", "protoswarm", "stack", "services", "demo");
        Assert.Contains("demo_web", services.StdOut, StringComparison.Ordinal);
        Assert.Contains("2/2", services.StdOut, StringComparison.Ordinal);

        // The client reaches web by its short name (the stack's alias on its network), through the VIP, on both replicas.
        var task = client.Tasks.First(t => t.Task.Status.State == TaskState.Running);
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 20 && hosts.Count < 2; i++)
        {
            var get = await lab.ExecAsync(task.Node, "protoswarm", "exec", task.Task.Id, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 80 | tail -1");
            Assert.True(get.ExitCode == 0, get.ToString());
            if (get.StdOut.Trim() is { Length: > 0 } host)
            {
                hosts.Add(host); // an empty answer (nc timed out) names no replica
            }
        }

        Assert.Equal(2, hosts.Count);

        // The same file again: nothing to update.
        var again = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "-c", file, "demo");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotContain("Updating service", again.StdOut, StringComparison.Ordinal);

        // A rebuilt busybox:latest pushed under the same tag: the redeploy re-resolves it (--resolve-image
        // always, the default) and rolls both services onto the new digest; the next redeploy changes nothing.
        var pinned = (await InspectAsync(lab, "demo_client")).Spec.TaskTemplate.Container.Image;
        Assert.StartsWith("busybox:latest@sha256:", pinned, StringComparison.Ordinal);
        var rebuilt = Path.Combine(lab.StateRoot, "busybox-v2.tar");
        File.Copy(image, rebuilt);
        var marker = Directory.CreateTempSubdirectory("stack-v2-").FullName;
        await File.WriteAllTextAsync(Path.Combine(marker, "v2"), "v2\n");
        var append = await LabFixture.RunAsync("tar", ["-C", marker, "--owner=0", "--group=0", "-rf", rebuilt, "./v2"]);
        Assert.True(append.ExitCode == 0, append.ToString());
        Directory.Delete(marker, recursive: true);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "image", "import", rebuilt, "busybox:latest")).ExitCode);
        var repush = await lab.ExecAsync("m1", "protoswarm", "image", "push", "busybox:latest");
        Assert.True(repush.ExitCode == 0, repush.ToString());
        var digest = repush.StdOut.Split("digest: ")[^1].Trim();
        Assert.StartsWith("sha256:", digest, StringComparison.Ordinal);
        Assert.False(pinned.EndsWith(digest, StringComparison.Ordinal), $"the rebuilt image kept the digest of {pinned}");

        var moved = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "-c", file, "demo");
        Assert.True(moved.ExitCode == 0, moved.ToString());
        Assert.Contains("Updating service demo_client", moved.StdOut, StringComparison.Ordinal);
        Assert.Contains("Updating service demo_web", moved.StdOut, StringComparison.Ordinal);
        Assert.Contains("2 services updated, 0 services unchanged", moved.StdOut, StringComparison.Ordinal);
        Assert.Equal("busybox:latest@" + digest, (await InspectAsync(lab, "demo_client")).Spec.TaskTemplate.Container.Image);
        var rolled = await PollAsync(lab, TimeSpan.FromSeconds(60), "demo_client", tasks =>
            tasks.Any(t => t.Task.Status.State == TaskState.Running && t.Task.Spec.Container.Image == "busybox:latest@" + digest));
        Assert.True(rolled.Met, rolled.Last);
        var newTask = rolled.Tasks.First(t => t.Task.Status.State == TaskState.Running && t.Task.Spec.Container.Image == "busybox:latest@" + digest);
        var v2 = await lab.ExecAsync(newTask.Node, "protoswarm", "exec", newTask.Task.Id, "cat", "/v2");
        Assert.True(v2.ExitCode == 0 && v2.StdOut.Trim() == "v2", v2.ToString());

        var settled = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "-c", file, "demo");
        Assert.True(settled.ExitCode == 0, settled.ToString());
        Assert.DoesNotContain("Updating service", settled.StdOut, StringComparison.Ordinal);
        Assert.Contains("0 services updated, 2 services unchanged", settled.StdOut, StringComparison.Ordinal);

        var rm = await lab.ExecAsync("m1", "protoswarm", "stack", "rm", "demo");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.Empty((await lab.ExecAsync("m1", "protoswarm", "service", "ls", "-q")).StdOut.Trim());
        Assert.DoesNotContain("demo_front", (await lab.ExecAsync("m1", "protoswarm", "network", "ls")).StdOut, StringComparison.Ordinal);
    }
}
