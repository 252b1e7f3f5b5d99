using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Standalone containers (`protoswarm run`) on a lab swarm (1 manager, 2 workers, real containers): run attached (with
/// piped stdin too) and detached, the container commands beside a task's container, and the operator's debugging move, a throwaway
/// container on an attachable overlay that reaches a service on another node by name, and a running one there that gets its
/// embedded DNS and rules back after its node host restarts.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class StandaloneContainerLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Run_Attaches_Lists_Beside_Tasks_And_Joins_An_Attachable_Overlay_To_Reach_A_Service_On_Another_Node()
    {
        await using var lab = await ContainerLab.UpAsync();

        // Attached: the output, then the container's exit code as the CLI's; --rm leaves nothing.
        var run = await lab.ExecAsync("w1", "protoswarm", "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        output.WriteLine(run.ToString());
        Assert.Equal((3, "out\n"), (run.ExitCode, run.StdOut));
        Assert.Contains("err", run.StdErr, StringComparison.Ordinal);

        // -i: the CLI's stdin is the container's, its end closes it (cat ends); without -i it reads /dev/null.
        var piped = await lab.ExecAsync("w1", "sh", "-c", "echo hi | protoswarm run -i --rm busybox cat; echo exit=$?; echo no | protoswarm run --rm busybox cat; echo exit=$?");
        output.WriteLine(piped.ToString());
        Assert.Equal("hi\nexit=0\nexit=0\n", piped.StdOut);

        // Detached beside a task's container; names are unique on the node; stop, wait, logs and rm.
        var network = await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "--attachable", "debugnet");
        Assert.True(network.ExitCode == 0, network.ToString());
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "closednet")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "create", "-d", "--name", "web", "--network", "debugnet", "--constraint", "node.hostname==w1", "busybox:latest",
            "sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www")).ExitCode);
        Assert.Single(await PollRunningAsync(lab, "web"));
        var id = (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "probe", "busybox", "sh", "-c", "echo ready; exec sleep 1000")).StdOut.Trim();
        Assert.Equal(25, id.Length);
        var ps = await lab.ExecAsync("w1", "protoswarm", "ps", "--format", "{{.Names}}");
        Assert.Contains("probe", ps.StdOut, StringComparison.Ordinal);
        Assert.Contains("web.1.", ps.StdOut, StringComparison.Ordinal);
        // On the node's bridge, as docker's default bridge: inspect shows the address and gateway the container really has,
        // and the node's `network inspect bridge` lists it with the subnet the node gave its bridge.
        var bridged = await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f",
            "{{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}} {{.NetworkSettings.Networks.bridge.NetworkID}}", "probe");
        Assert.True(bridged.ExitCode == 0, bridged.ToString());
        var (bridgeIp, bridgeGateway, bridgeId) = bridged.StdOut.Trim().Split(' ') is [var a, var g, var n] ? (a, g, n) : throw new Xunit.Sdk.XunitException(bridged.ToString());
        var inside = await lab.ExecAsync("w1", "protoswarm", "exec", "probe", "--", "sh", "-c", "ip -4 -o addr show eth0; ip route show default");
        output.WriteLine(inside.ToString());
        Assert.Contains($"inet {bridgeIp}/32", inside.StdOut, StringComparison.Ordinal);
        Assert.Contains($"default via {bridgeGateway}", inside.StdOut, StringComparison.Ordinal);
        // ... with the bridge's prefix, as docker shows it, though the interface has a /32 (containers on it do not reach each other).
        var bridgeNetwork = await lab.ExecAsync("w1", "protoswarm", "network", "inspect", "-f",
            "{{.Id}} {{.Scope}} {{range .IPAM.Config}}{{.Gateway}} {{.Subnet}}{{end}} {{range $id, $c := .Containers}}{{$id}}={{$c.Name}}@{{$c.IPv4Address}}{{end}}", "bridge");
        var subnet = bridgeNetwork.StdOut.Trim().Split(' ') is [_, _, _, var s, _] ? s : throw new Xunit.Sdk.XunitException(bridgeNetwork.ToString());
        var prefix = subnet.Split('/')[1];
        Assert.Equal($"{bridgeId} local {bridgeGateway} {subnet} {id}=probe@{bridgeIp}/{prefix}", bridgeNetwork.StdOut.Trim());
        Assert.NotEqual("32", prefix);
        var prefixLen = await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPPrefixLen}}", "probe");
        Assert.Equal(prefix, prefixLen.StdOut.Trim());
        var listed = await lab.ExecAsync("m1", "protoswarm", "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}", "-f", "type=builtin");
        Assert.Equal("bridge bridge local\nhost host local\nnone null local\n", listed.StdOut);
        var predefined = await lab.ExecAsync("m1", "protoswarm", "network", "rm", "bridge");
        Assert.Equal((1, "Error response from daemon: bridge is a pre-defined network and cannot be removed\n"), (predefined.ExitCode, predefined.StdErr));

        // A worker lists its own networks and the swarm's it has, as docker's: debugnet (web's task is on it here), not
        // closednet (no task of w1 is on it); it inspects debugnet with its own task as Containers, and refuses closednet.
        var onWorker = await lab.ExecAsync("w1", "protoswarm", "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}");
        Assert.Equal("bridge bridge local\ndebugnet overlay swarm\nhost host local\nnone null local\n", onWorker.StdOut);
        var webTask = Assert.Single(await PollRunningAsync(lab, "web")).Task.Id;
        var debugnet = await lab.ExecAsync("w1", "protoswarm", "network", "inspect", "-f", "{{.Attachable}} {{range $id, $c := .Containers}}{{$id}} {{end}}", "debugnet");
        Assert.Equal($"true {webTask}", debugnet.StdOut.Trim());
        var notHere = await lab.ExecAsync("w1", "protoswarm", "network", "inspect", "closednet");
        Assert.Equal(1, notHere.ExitCode);
        Assert.Contains("No such network: closednet. This node is a worker", notHere.StdErr, StringComparison.Ordinal);
        var workerRm = await lab.ExecAsync("w1", "protoswarm", "network", "rm", "none");
        Assert.Equal((1, "Error response from daemon: none is a pre-defined network and cannot be removed\n"), (workerRm.ExitCode, workerRm.StdErr));

        var again = await lab.ExecAsync("w1", "protoswarm", "run", "--name", "probe", "busybox", "true");
        Assert.Contains("Conflict. The container name \"/probe\" is already in use", again.StdErr, StringComparison.Ordinal);
        var busy = await lab.ExecAsync("w1", "protoswarm", "rm", "probe");
        Assert.Contains("container is running", busy.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "stop", "-t", "1", "probe")).ExitCode);
        Assert.Equal("137", (await lab.ExecAsync("w1", "protoswarm", "wait", "probe")).StdOut.Trim());
        Assert.Equal("ready", (await lab.ExecAsync("w1", "protoswarm", "logs", "probe")).StdOut.Trim());
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "probe")).ExitCode);
        Assert.DoesNotContain("probe", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a")).StdOut, StringComparison.Ordinal);

        // From w2, on the attachable overlay: the service by name (its VIP), tasks.web, and its answer.
        var probe = await lab.ExecAsync("w2", "protoswarm", "run", "--rm", "--network", "debugnet", "busybox", "sh", "-c",
            "nslookup web && nslookup tasks.web && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web 80 | tail -n 1");
        output.WriteLine(probe.ToString());
        Assert.True(probe.ExitCode == 0, probe.ToString());
        var vip = Assert.Single((await InspectAsync(lab, "web")).Endpoint.VirtualIps).Address.Split('/')[0];
        Assert.Contains(vip, probe.StdOut, StringComparison.Ordinal);
        Assert.EndsWith("hello-from-web\n", probe.StdOut, StringComparison.Ordinal);
        var closed = await lab.ExecAsync("w2", "protoswarm", "run", "--rm", "--network", "closednet", "busybox", "true");
        Assert.Contains("network closednet not manually attachable", closed.StdErr, StringComparison.Ordinal);

        // An attached container holds the network; removing it gives the attachment back.
        Assert.Equal(0, (await lab.ExecAsync("w2", "protoswarm", "run", "-d", "--name", "held", "--network", "debugnet", "busybox", "sleep", "1000")).ExitCode);

        // Its node host stopped (SIGTERM, then SIGKILL) and started again, it runs on, not restarted, and gets its embedded DNS
        // server back (the service, another container on the overlay by name) and its rules (the service's VIP), once the node
        // has rejoined and has the network's view again, in the background: waited for.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "peer", "--network", "debugnet", "busybox", "sleep", "1000")).ExitCode);
        var peerIp = (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{.NetworkSettings.Networks.debugnet.IPAddress}}", "peer")).StdOut.Trim();
        var startedAt = (await lab.ExecAsync("w2", "protoswarm", "container", "inspect", "-f", "{{.State.StartedAt}}", "held")).StdOut;
        var lookups = $"nslookup web 127.0.0.11 && nslookup peer 127.0.0.11 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {vip} 80 | tail -n 1";
        foreach (var stop in new[] { new[] { "stop", "w2" }, ["stop", "w2", "--kill"] })
        {
            Assert.Equal(0, (await lab.LabAsync(stop[0], stop[1..])).ExitCode);
            await lab.StartNodeAsync("w2");
            var restored = await RepeatUntilAsync(() => lab.ExecAsync("w2", "protoswarm", "exec", "held", "sh", "-c", lookups),
                r => r.ExitCode == 0 && r.StdOut.EndsWith("hello-from-web\n", StringComparison.Ordinal), TimeSpan.FromSeconds(40), TimeSpan.FromMilliseconds(500));
            output.WriteLine(restored.ToString());
            Assert.True(restored.ExitCode == 0 && restored.StdOut.EndsWith("hello-from-web\n", StringComparison.Ordinal), $"after lab {string.Join(' ', stop)}: {restored}");
            Assert.Contains(vip, restored.StdOut, StringComparison.Ordinal);
            Assert.Contains(peerIp, restored.StdOut, StringComparison.Ordinal);
            Assert.Equal(startedAt, (await lab.ExecAsync("w2", "protoswarm", "container", "inspect", "-f", "{{.State.StartedAt}}", "held")).StdOut);
        }

        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "peer")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "web")).ExitCode);
        var refused = await lab.ExecAsync("m1", "protoswarm", "network", "rm", "debugnet");
        Assert.Contains("has active endpoints", refused.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w2", "protoswarm", "rm", "-f", "held")).ExitCode);
        var removed = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "network", "rm", "debugnet"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500));
        Assert.True(removed.ExitCode == 0, removed.ToString());
    }

    [Fact]
    public async Task A_Failed_Run_Leaves_Its_Container_Created_In_Dockers_Words_And_A_Created_One_Outlives_A_Node_Host_Restart()
    {
        await using var lab = await ContainerLab.UpAsync();
        const string NotFound = "failed to create task for container: exec: \"nosuch\": executable file not found in $PATH";

        // run: docker's words and exit code; the container stays, created; start says so once and names it on its last line.
        var run = await lab.ExecAsync("w1", "protoswarm", "run", "--name", "broken", "busybox", "nosuch");
        Assert.True((run.ExitCode, run.StdErr) == (127, $"protoswarm: Error response from daemon: {NotFound}\n"), run.ToString());
        Assert.Equal("Created\n", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=broken", "--format", "{{.Status}}")).StdOut);
        var start = await lab.ExecAsync("w1", "protoswarm", "start", "broken");
        Assert.True((start.ExitCode, start.StdErr) == (1, $"Error response from daemon: {NotFound}\nError: failed to start containers: broken\n"), start.ToString());

        // A created container, with an anonymous volume, is there after its node host restarts, and starts.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "create", "--name", "made", "-v", "/anon", "busybox", "sh", "-c", "ls -d /anon && echo made")).ExitCode);
        var volume = (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "made")).StdOut;
        Assert.Equal(0, (await lab.LabAsync("stop", "w1", "--kill")).ExitCode);
        await lab.StartNodeAsync("w1");
        Assert.True(await PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(30)), "w1 did not come back Ready");
        var found = await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=made", "--format", "{{.Status}}");
        Assert.True(found.StdOut == "Created\n", found.ToString());
        Assert.Equal(volume, (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "made")).StdOut);
        var attached = await lab.ExecAsync("w1", "protoswarm", "start", "-a", "made");
        Assert.True((attached.ExitCode, attached.StdOut) == (0, "/anon\nmade\n"), attached.ToString());
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-v", "broken", "made")).ExitCode);
    }

    [Fact]
    public async Task Start_Again_Restart_Policy_Volumes_And_Published_Ports_Work_As_Dockers()
    {
        await using var lab = await ContainerLab.UpAsync();

        // on-failure:2: two restarts, counted, then it stays exited.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")).ExitCode);
        var counted = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", "flaky"),
            r => r.StdOut.Trim() == "2 exited on-failure", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(300));
        Assert.True(counted.StdOut.Trim() == "2 exited on-failure", counted.ToString());
        var refused = await lab.ExecAsync("w1", "protoswarm", "run", "--rm", "--restart", "always", "busybox", "true");
        Assert.Contains("Conflicting options: --restart and --rm", refused.StdErr, StringComparison.Ordinal);

        // start of an ended container: the same one again, with the file it wrote.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "keeper", "busybox", "sh", "-c",
            "test -f /kept && echo found; touch /kept; exec sleep 1000")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "stop", "-t", "0", "keeper")).ExitCode);
        var before = await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=keeper", "--format", "{{.Status}}");
        Assert.StartsWith("Exited (137)", before.StdOut, StringComparison.Ordinal);
        Assert.Equal("keeper\n", (await lab.ExecAsync("w1", "protoswarm", "start", "keeper")).StdOut);
        var after = await lab.ExecAsync("w1", "protoswarm", "ps", "--filter", "name=keeper", "--format", "{{.Status}}");
        Assert.StartsWith("Up", after.StdOut, StringComparison.Ordinal);
        var found = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "logs", "keeper"), r => r.StdOut.Contains("found", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        Assert.Equal("found\n", found.StdOut);
        // start -a: this run's output and exit code.
        var once = await lab.ExecAsync("w1", "protoswarm", "run", "--name", "once", "busybox", "sh", "-c", "echo hi; exit 5");
        Assert.Equal((5, "hi\n"), (once.ExitCode, once.StdOut));
        var attached = await lab.ExecAsync("w1", "protoswarm", "start", "-a", "once");
        Assert.True((attached.ExitCode, attached.StdOut) == (5, "hi\n"), attached.ToString());
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "keeper", "flaky", "once")).ExitCode);

        // A named volume: held while a container has it, its data there for the next container.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "holder", "-v", "labdata:/data", "busybox", "sh", "-c",
            "echo persisted > /data/f; exec sleep 1000")).ExitCode);
        Assert.Contains("in use", (await lab.ExecAsync("w1", "protoswarm", "volume", "rm", "labdata")).StdErr, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "holder")).ExitCode);
        var read = await lab.ExecAsync("w1", "protoswarm", "run", "--rm", "-v", "labdata:/data:ro", "busybox", "cat", "/data/f");
        Assert.Equal("persisted\n", read.StdOut);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "volume", "rm", "labdata")).ExitCode);

        // Anonymous volumes, as docker's: rm leaves one dangling for volume prune; rm -v takes it with the container.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "--name", "scratch", "-v", "/scratch", "busybox", "touch", "/scratch/f")).ExitCode);
        var left = (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "scratch")).StdOut.Trim();
        Assert.Equal(64, left.Length);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "scratch")).ExitCode);
        Assert.Equal(left + "\n", (await lab.ExecAsync("w1", "protoswarm", "volume", "ls", "-q", "--filter", "dangling=true")).StdOut);
        var prunedVolumes = await lab.ExecAsync("w1", "protoswarm", "volume", "prune", "-f");
        Assert.True(prunedVolumes.StdOut.StartsWith($"Deleted Volumes:\n{left}\n", StringComparison.Ordinal), prunedVolumes.ToString());
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "--name", "scratch", "-v", "/scratch", "busybox", "true")).ExitCode);
        var taken = (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "scratch")).StdOut.Trim();
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-v", "scratch")).ExitCode);
        Assert.DoesNotContain(taken, (await lab.ExecAsync("w1", "protoswarm", "volume", "ls", "-q")).StdOut, StringComparison.Ordinal);

        // A published port answers on the node's address while the container runs; a second one on it is refused.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "site", "-p", "8089:80", "busybox", "sh", "-c",
            "mkdir -p /www && echo hello-published > /www/index.html && exec httpd -f -p 80 -h /www")).ExitCode);
        Assert.Equal("0.0.0.0:8089->80/tcp\n", (await lab.ExecAsync("w1", "protoswarm", "ps", "--filter", "name=site", "--format", "{{.Ports}}")).StdOut);
        var w1 = (await lab.NodeAsync("w1")).GetProperty("Address").GetString()!;
        var answer = await RepeatUntilAsync(() => lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:8089/"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.True(answer.StdOut == "hello-published\n", answer.ToString());
        var allocated = await lab.ExecAsync("w1", "protoswarm", "run", "-d", "-p", "8089:80", "busybox", "true");
        Assert.Contains("Bind for 0.0.0.0:8089 failed: port is already allocated", allocated.StdErr, StringComparison.Ordinal);

        // port: what the node bound, as docker prints it; restart: the same container up again, answering on it again.
        Assert.Equal("80/tcp -> 0.0.0.0:8089\n", (await lab.ExecAsync("w1", "protoswarm", "port", "site")).StdOut);
        Assert.Equal("0.0.0.0:8089\n", (await lab.ExecAsync("w1", "protoswarm", "container", "port", "site", "80/tcp")).StdOut);
        var restarted = await lab.ExecAsync("w1", "protoswarm", "restart", "-t", "1", "site");
        Assert.True(restarted.StdOut == "site\n", restarted.ToString());
        var again = await RepeatUntilAsync(() => lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:8089/"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.True(again.StdOut == "hello-published\n", again.ToString());

        // A node host killed and started again finds it running, and its published port answers again (it lost it, and its
        // bridge address, when the node's networks were made only after the containers had been found again).
        // They come back once the node has rejoined its swarm and made its networks, in the background: waited for.
        Assert.Equal(0, (await lab.LabAsync("stop", "w1", "--kill")).ExitCode);
        await lab.StartNodeAsync("w1");
        var ports = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "ps", "--filter", "name=site", "--format", "{{.Ports}}"),
            r => r.StdOut == "0.0.0.0:8089->80/tcp\n", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(250));
        Assert.True(ports.StdOut == "0.0.0.0:8089->80/tcp\n", ports.ToString());
        var afterRestart = await RepeatUntilAsync(() => lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:8089/"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(250));
        Assert.True(afterRestart.StdOut == "hello-published\n", afterRestart.ToString());
        Assert.StartsWith("bridge=172.", (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{end}}", "site")).StdOut, StringComparison.Ordinal);

        // kill: SIGKILL ends it (137) and its port with it; a second kill finds it not running, in docker's words.
        Assert.Equal("site\n", (await lab.ExecAsync("w1", "protoswarm", "kill", "site")).StdOut);
        var killed = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=site", "--format", "{{.Status}}"),
            r => r.StdOut.StartsWith("Exited (137)", StringComparison.Ordinal), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
        Assert.StartsWith("Exited (137)", killed.StdOut, StringComparison.Ordinal);
        Assert.Contains("is not running", (await lab.ExecAsync("w1", "protoswarm", "kill", "site")).StdErr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await lab.ExecAsync("m1", "curl", "-s", "-m", "2", $"http://{w1}:8089/")).ExitCode);

        // Host ports are bound at start and freed at the end, as docker's: two created containers may name one, the second start is refused.
        string[] web = ["busybox", "sh", "-c", "mkdir -p /www && echo hello-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"];
        Assert.Equal(0, (await lab.ExecAsync("w1", ["protoswarm", "create", "--name", "first", "--hostname", "first", "-p", "8090:80", .. web])).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("w1", ["protoswarm", "create", "--name", "second", "--hostname", "second", "-p", "8090:80", .. web])).ExitCode);
        Assert.Equal("\n", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=first", "--format", "{{.Ports}}")).StdOut);
        Assert.Equal("first\n", (await lab.ExecAsync("w1", "protoswarm", "start", "first")).StdOut);
        var second = await lab.ExecAsync("w1", "protoswarm", "start", "second");
        Assert.True(second.ExitCode == 1 && second.StdErr.Contains("Bind for 0.0.0.0:8090 failed: port is already allocated", StringComparison.Ordinal), second.ToString());
        Assert.Equal("Created\n", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--filter", "name=second", "--format", "{{.Status}}")).StdOut);

        // The managers' scheduler sees the port the standalone container holds: a service publishing it in host mode waits for it.
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "-d", "--name", "hostport", "--publish", "mode=host,published=8090,target=80",
            "--constraint", "node.hostname==w1", .. web])).ExitCode);
        var waiting = await PollAsync(lab, TimeSpan.FromSeconds(20), "hostport",
            tasks => tasks.Any(t => t.Task.Status.State == ProtoSwarm.Contracts.TaskState.Pending && t.Task.Status.Err.Contains("host-mode port already in use on 1 node", StringComparison.Ordinal)));
        Assert.True(waiting.Met, waiting.Last);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "stop", "-t", "1", "first")).ExitCode);
        Assert.Equal("w1", Assert.Single(await PollRunningAsync(lab, "hostport")).Node);
        var byTask = await RepeatUntilAsync(() => lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:8090/"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.True(byTask.StdOut.StartsWith("hello-", StringComparison.Ordinal) && !byTask.StdOut.Contains("first", StringComparison.Ordinal), byTask.ToString());
        Assert.Contains("port is already allocated", (await lab.ExecAsync("w1", "protoswarm", "start", "first")).StdErr, StringComparison.Ordinal);
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "hostport")).ExitCode);
        var freed = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "start", "second"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500));
        Assert.True(freed.StdOut == "second\n", freed.ToString());
        var bySecond = await RepeatUntilAsync(() => lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:8090/"), r => r.ExitCode == 0,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.True(bySecond.StdOut == "hello-second\n", bySecond.ToString());
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "first", "second")).ExitCode);

        // prune: the ended container goes, with docker's report.
        var pruned = await lab.ExecAsync("w1", "protoswarm", "container", "prune", "-f");
        Assert.True(pruned.StdOut.StartsWith("Deleted Containers:\n", StringComparison.Ordinal) && pruned.StdOut.Contains("Total reclaimed space: ", StringComparison.Ordinal),
            pruned.ToString());
        Assert.Equal("", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a", "-q", "--filter", "name=site")).StdOut);
    }

    [Fact]
    public async Task Run_It_Gives_A_Shell_On_A_Terminal_Start_Ai_Attaches_Again_Ctrl_P_Ctrl_Q_Detaches_And_Limits_Apply()
    {
        await using var lab = await ContainerLab.UpAsync();

        // The CLI on a terminal of its own (script's pty), keys typed into it: the container's shell is on a terminal too,
        // answers, and its exit code is the CLI's; --rm leaves nothing.
        var shell = await lab.ExecAsync("w1", "sh", "-c",
            "(sleep 4; printf 'tty; echo $((6*7))\\r'; sleep 2; printf 'exit 7\\r'; sleep 3) | script -qfec 'protoswarm run -it --rm --name tty1 busybox sh' /dev/null; echo exit=$?");
        output.WriteLine(shell.ToString());
        Assert.Contains("/dev/pts/0", shell.StdOut, StringComparison.Ordinal);
        Assert.Contains("42", shell.StdOut, StringComparison.Ordinal);
        Assert.EndsWith("exit=7\n", shell.StdOut, StringComparison.Ordinal);
        var gone = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "ps", "-a", "--format", "{{.Names}}"),
            r => !r.StdOut.Contains("tty1", StringComparison.Ordinal), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300));
        Assert.DoesNotContain("tty1", gone.StdOut, StringComparison.Ordinal);

        // Without a terminal on stdin: docker's words, exit 1, nothing made.
        var piped = await lab.ExecAsync("w1", "sh", "-c", "echo ls | protoswarm run -it --name notty busybox sh");
        Assert.Equal((1, "the input device is not a TTY\n"), (piped.ExitCode, piped.StdErr));
        Assert.DoesNotContain("notty", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a")).StdOut, StringComparison.Ordinal);

        // ^P ^Q detaches with exit 0, and the container goes on; start -ai of a created one attaches its terminal; logs keep it.
        var detached = await lab.ExecAsync("w1", "sh", "-c",
            "(sleep 4; printf '\\020\\021'; sleep 3) | script -qfec 'protoswarm run -it --name held busybox sh' /dev/null; echo exit=$?");
        Assert.True(detached.StdOut.EndsWith("exit=0\n", StringComparison.Ordinal), detached.ToString());
        Assert.StartsWith("Up", (await lab.ExecAsync("w1", "protoswarm", "ps", "--filter", "name=held", "--format", "{{.Status}}")).StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "held")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "create", "-it", "--name", "later", "busybox", "sh")).ExitCode);
        var again = await lab.ExecAsync("w1", "sh", "-c",
            "(sleep 4; printf 'echo again-$((1+2))\\r'; sleep 2; printf 'exit 3\\r'; sleep 3) | script -qfec 'protoswarm start -ai later' /dev/null; echo exit=$?");
        output.WriteLine(again.ToString());
        Assert.Contains("again-3", again.StdOut, StringComparison.Ordinal);
        Assert.EndsWith("exit=3\n", again.StdOut, StringComparison.Ordinal);
        Assert.Contains("again-3", (await lab.ExecAsync("w1", "protoswarm", "logs", "later")).StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "later")).ExitCode);

        // --cpus and --memory are the container's cgroup limits (cgroup v1 or v2, as the container sees its own), shown by
        // inspect where docker shows them, beside its labels and hostname; a bad one is refused and nothing is made.
        var limited = await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "limited", "--cpus", "0.5", "-m", "64m", "--memory-reservation", "32m",
            "-l", "team=a", "--hostname", "box1", "busybox", "sh", "-c",
            "for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max; do [ -f $f ] && echo limit $(cat $f); done; hostname; exec sleep 1000");
        Assert.True(limited.ExitCode == 0, limited.ToString());
        var limits = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "logs", "limited"), r => r.StdOut.Contains("box1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300));
        output.WriteLine(limits.ToString());
        Assert.Contains("limit 67108864", limits.StdOut, StringComparison.Ordinal);
        Assert.Contains("limit 50000", limits.StdOut, StringComparison.Ordinal);
        var inspected = await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f",
            "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} {{.Config.Labels}} {{.Config.Hostname}}", "limited");
        Assert.Equal("500000000 67108864 33554432 map[team:a] box1\n", inspected.StdOut);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "limited")).ExitCode);
        var hog = await lab.ExecAsync("w1", "protoswarm", "run", "--rm", "-m", "8m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}");
        Assert.True(hog.ExitCode == 137, hog.ToString());
        var bad = await lab.ExecAsync("w1", "protoswarm", "run", "--name", "badcpu", "--cpus", "abc", "busybox", "true");
        Assert.Equal(125, bad.ExitCode); // docker's run: a flag it refuses is 125
        Assert.Contains("--cpus 'abc' is not a number of CPUs", bad.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("badcpu", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a")).StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Confinement_And_Health_Flags_Reach_The_Container_Show_In_Ps_And_Inspect_And_Outlive_Stop_Start_And_A_Node_Host_Restart()
    {
        await using var lab = await ContainerLab.UpAsync();
        var converge = TimeSpan.FromSeconds(30);
        var poll = TimeSpan.FromMilliseconds(300);
        const string Fields = "{{.HostConfig.CapAdd}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Init}} {{.HostConfig.ExtraHosts}} {{.HostConfig.PidsLimit}} "
            + "{{.HostConfig.Tmpfs}} {{.Config.StopTimeout}} {{.Config.ExposedPorts}} {{.State.Health.Status}}";
        const string Expected = "[CAP_NET_ADMIN] true true [db:10.1.2.3] 50 map[/scratch:size=1m] 2 map[8080/tcp:{}] healthy\n";

        // Each flag as docker's run takes it; what the container sees of them, in its log.
        var run = await lab.ExecAsync("w1", "protoswarm", "run", "-d", "--name", "confined", "--cap-add", "NET_ADMIN", "--read-only", "--tmpfs", "/scratch:size=1m",
            "--init", "--add-host", "db:10.1.2.3", "--ulimit", "nofile=256:512", "--pids-limit", "50", "--stop-timeout", "2", "--expose", "8080",
            "--health-cmd", "test -f /scratch/ok", "--health-interval", "300ms", "busybox", "sh", "-c",
            "ip addr add 10.9.9.9/32 dev lo && echo netadmin; touch /x 2>/dev/null || echo read-only; grep -w db /etc/hosts; echo nofile $(ulimit -n); touch /scratch/ok; exec sleep 1000");
        Assert.True(run.ExitCode == 0, run.ToString());
        var healthy = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "ps", "--filter", "name=confined", "--format", "{{.Status}}"),
            r => r.StdOut.Contains("(healthy)", StringComparison.Ordinal), converge, poll);
        Assert.True(healthy.StdOut.Contains("(healthy)", StringComparison.Ordinal), healthy.ToString());
        var logs = (await lab.ExecAsync("w1", "protoswarm", "logs", "confined")).StdOut;
        Assert.Contains("netadmin\nread-only\n10.1.2.3", logs, StringComparison.Ordinal);
        Assert.Contains("nofile 256\n", logs, StringComparison.Ordinal);
        Assert.Equal(Expected, (await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", Fields, "confined")).StdOut);

        // stop and start: the same settings, and its health checked again.
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "stop", "confined")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "start", "confined")).ExitCode);
        var started = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", Fields, "confined"),
            r => r.StdOut == Expected, converge, poll);
        Assert.Equal(Expected, started.StdOut);

        // A node host that restarts finds it again, with its settings, and goes on checking its health.
        Assert.Equal(0, (await lab.LabAsync("stop", "w1", "--kill")).ExitCode);
        await lab.StartNodeAsync("w1");
        var restored = await RepeatUntilAsync(() => lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f", Fields, "confined"),
            r => r.StdOut == Expected, converge, poll);
        Assert.True(restored.StdOut == Expected, restored.ToString());

        // A bad value: one sentence naming the flag, and nothing made.
        var bad = await lab.ExecAsync("w1", "protoswarm", "run", "--name", "badcap", "--cap-add", "net admin", "busybox", "true");
        Assert.Equal(125, bad.ExitCode); // docker's run: a flag it refuses is 125
        Assert.Contains("--cap-add 'net admin' is not a capability", bad.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("badcap", (await lab.ExecAsync("w1", "protoswarm", "ps", "-a")).StdOut, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("w1", "protoswarm", "rm", "-f", "confined")).ExitCode);
    }

    private static async Task<IReadOnlyList<LabTask>> PollRunningAsync(LabFixture lab, string service)
    {
        var polled = await PollAsync(lab, TimeSpan.FromSeconds(40), service, tasks => tasks.Any(t => t.Task.Status.State == ProtoSwarm.Contracts.TaskState.Running));
        Assert.True(polled.Met, polled.Last);
        return await RunningAsync(lab, service);
    }
}
