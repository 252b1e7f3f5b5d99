using System.Globalization;
using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Overlay networks on a lab swarm (1 manager, 2 workers, real containers), tried as a new user
/// would: busybox services on an overlay made with `network create`, reached by name from a task on
/// another node, and a published port tried from the other nodes. The web service answers with a
/// CGI script that prints the client's address as the task saw it and the task's hostname. Requests
/// by name go through busybox nc (Debian's static busybox wget crashes resolving a name here);
/// requests from a node's own namespace use this machine's curl.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class NetworkLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(40);

    /// <summary>httpd serving /cgi-bin/who: "REMOTE_ADDR HOSTNAME".</summary>
    private static readonly string[] WhoServer =
    [
        "busybox:latest", "sh", "-c",
        "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR $(hostname)\\n' > /www/cgi-bin/who"
        + " && chmod +x /www/cgi-bin/who && exec httpd -f -p 80 -h /www",
    ];

    [Fact]
    public async Task Tasks_Reach_A_Service_By_Name_Across_Nodes_Its_Vip_Spreads_And_A_Removed_Replica_Gets_No_More_Traffic()
    {
        var lab = await ContainerLab.UpAsync();
        await using (lab)
        {
            await ServiceByNameAsync(lab);
        }

        // `lab down` leaves nothing: the node namespaces (and every bridge, VXLAN and veth in them), the tasks' namespaces, their mounts.
        var namespaces = await LabFixture.RunAsync("ip", ["netns", "list"]);
        Assert.DoesNotContain($"psl-{lab.LabName}-", namespaces.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(lab.StateRoot, await File.ReadAllTextAsync("/proc/self/mountinfo"), StringComparison.Ordinal);
        Assert.False(Directory.Exists(lab.StateRoot), $"{lab.StateRoot} is left");
    }

    private async Task ServiceByNameAsync(LabFixture lab)
    {
        // As docker's 5 s heartbeat, so w1's node host restart below is over before w1 is declared down.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--dispatcher-heartbeat", "5s")).ExitCode);
        var create = await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "appnet");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "web", "--replicas", "3", "--replicas-max-per-node", "1", "--network", "appnet", .. WhoServer])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "client", "--network", "appnet", "--constraint", "node.hostname==m1",
            "busybox:latest", "sleep", "100000")).ExitCode);
        Assert.Equal(3, (await RunningAsync(lab, "web")).Count);
        var client = Assert.Single(await RunningAsync(lab, "client"));
        var clientIp = AddressOf(client.Task);

        // By name through the VIP: every request from m1's client reaches one of the three replicas, on all three nodes.
        var answers = await RequestsAsync(lab, client, "web", 30);
        var web = await RunningAsync(lab, "web");
        Assert.Equal(web.Select(t => t.Task.Id[..12]).Order(), answers.Select(a => a.Host).Distinct().Order());
        Assert.All(answers, a => Assert.Equal(clientIp, a.Client));

        // DNS: the service name is the VIP, tasks.web every task's address.
        var service = await InspectAsync(lab, "web");
        var vip = Assert.Single(service.Endpoint.VirtualIps).Address.Split('/')[0];
        var lookup = await ExecInAsync(lab, client, "nslookup", "web");
        Assert.Contains(vip, lookup.StdOut, StringComparison.Ordinal);
        var tasks = await ExecInAsync(lab, client, "nslookup", "tasks.web");
        Assert.All(web, t => Assert.Contains(AddressOf(t.Task), tasks.StdOut, StringComparison.Ordinal));

        // Out of the swarm, as through docker_gwbridge: the client reaches a web server that is no task (on w2's
        // own namespace), which sees the client's node (masquerade); a task on an internal network has no way out.
        var m1 = await AddressOfNodeAsync(lab, "m1");
        var w2 = await AddressOfNodeAsync(lab, "w2");
        var www = Path.Combine(lab.StateRoot, "egress");
        Directory.CreateDirectory(Path.Combine(www, "cgi-bin"));
        await File.WriteAllTextAsync(Path.Combine(www, "cgi-bin", "who"), "#!/bin/sh\necho Content-Type: text/plain\necho\necho $REMOTE_ADDR outside\n");
        File.SetUnixFileMode(Path.Combine(www, "cgi-bin", "who"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var httpd = await lab.ExecAsync("w2", "busybox", "httpd", "-p", $"{w2}:7780", "-h", www);
        Assert.True(httpd.ExitCode == 0, httpd.ToString());
        var egress = await ExecInAsync(lab, client, "sh", "-c", $"printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {w2} 7780 | tail -n 1");
        Assert.True(egress.ExitCode == 0, egress.ToString());
        Assert.Equal((m1, "outside"), Parse(egress.StdOut));

        // A task on no network is on its node's bridge, as docker's is on docker0: the same way out (masqueraded), through eth0 alone.
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "out", "--constraint", "node.hostname==m1", "busybox:latest", "sleep", "100000")).ExitCode);
        var bridged = Assert.Single(await RunningAsync(lab, "out"));
        var fromBridge = await ExecInAsync(lab, bridged, "sh", "-c", $"printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {w2} 7780 | tail -n 1");
        Assert.Equal((m1, "outside"), Parse(fromBridge.StdOut));
        var bridgeLinks = await ExecInAsync(lab, bridged, "ip", "-o", "link");
        Assert.True(bridgeLinks.StdOut.Contains("eth0", StringComparison.Ordinal) && !bridgeLinks.StdOut.Contains("eth1", StringComparison.Ordinal), bridgeLinks.ToString());
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "out")).ExitCode);

        // Isolation: a task on another network is out of the client's reach, though both have a way to their
        // node; a task on an internal network only has no default route at all.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "elsewhere")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "--internal", "sealed")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "other", "--network", "elsewhere", "--constraint", "node.hostname==m1", .. WhoServer])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "inside", "--network", "sealed", "--constraint", "node.hostname==m1",
            "busybox:latest", "sleep", "100000")).ExitCode);
        var other = Assert.Single(await RunningAsync(lab, "other"));
        var across = await ExecInAsync(lab, client, "sh", "-c", $"printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {AddressOf(other.Task)} 80 | tail -n 1 | grep . || echo unreachable");
        Assert.Equal("unreachable", across.StdOut.Trim());
        var routes = await ExecInAsync(lab, Assert.Single(await RunningAsync(lab, "inside")), "ip", "route");
        Assert.True(routes.ExitCode == 0 && !routes.StdOut.Contains("default", StringComparison.Ordinal), routes.ToString());
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "other", "inside")).ExitCode);

        // w1's node host restarts: its containers keep their namespaces, and the DNS server of its task comes back with it.
        var gatewayOnW1 = await ExecInAsync(lab, web.Single(t => t.Node == "w1"), "ip", "-4", "addr", "show", "eth1");
        Assert.True(gatewayOnW1.ExitCode == 0 && gatewayOnW1.StdOut.Contains("/32", StringComparison.Ordinal), gatewayOnW1.ToString());
        Assert.Equal(0, (await lab.LabAsync("stop", "w1", "--kill")).ExitCode);
        await lab.StartNodeAsync("w1");
        Assert.True(await PollNodesReadyAsync(lab, 3, Converge), "w1 did not come back Ready");
        var onW1 = web.Single(t => t.Node == "w1");
        var fromW1 = await PollRequestsAsync(lab, onW1, "web", 9, answers => answers.Select(a => a.Host).Distinct().Count() == 3);
        Assert.Equal(web.Select(t => t.Task.Id[..12]).Order(), fromW1.Select(a => a.Host).Distinct().Order());

        // ... and its way out, with the address it had on the gateway bridge.
        Assert.Equal(gatewayOnW1.StdOut, (await ExecInAsync(lab, onW1, "ip", "-4", "addr", "show", "eth1")).StdOut);
        var w1 = await AddressOfNodeAsync(lab, "w1");
        var outOfW1 = await ExecInAsync(lab, onW1, "sh", "-c", $"printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {w2} 7780 | tail -n 1");
        Assert.Equal((w1, "outside"), Parse(outOfW1.StdOut));
        await lab.ExecAsync("w2", "pkill", "-f", $"httpd -p {w2}:7780");
        Assert.Equal(web.Select(t => t.Task.Id).Order(), (await RunningAsync(lab, "web")).Select(t => t.Task.Id).Order());

        // Scaled down to two: the removed replica gets no more traffic.
        Assert.Equal(0, (await ServiceAsync(lab, "scale", "web=2")).ExitCode);
        var left = await PollAsync(lab, Converge, "web", list => list.Count(t => t.Task.Status.State == TaskState.Running) == 2);
        Assert.True(left.Met, left.Last);
        var kept = left.Tasks.Where(t => t.Task.Status.State == TaskState.Running).Select(t => t.Task.Id[..12]).Order().ToList();
        answers = await RequestsAsync(lab, client, "web", 20);
        Assert.Equal(kept, answers.Select(a => a.Host).Distinct().Order());

        var rm = await lab.ExecAsync("m1", "protoswarm", "network", "rm", "appnet");
        Assert.NotEqual(0, rm.ExitCode);
        Assert.Contains("in use", rm.StdErr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_Published_Port_Answers_On_A_Node_With_No_Task_Spreads_Over_Replicas_And_The_Task_Sees_The_Client()
    {
        await using var lab = await ContainerLab.UpAsync();
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "pub", "--replicas", "2", "--replicas-max-per-node", "1",
            "--constraint", "node.role==worker", "--publish", "published=8080,target=80", .. WhoServer])).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "local", "--constraint", "node.hostname==w2",
            "--publish", "published=9090,target=80,mode=host", .. WhoServer])).ExitCode);
        var replicas = await RunningAsync(lab, "pub");
        Assert.Equal(["w1", "w2"], replicas.Select(t => t.Node).Order());
        Assert.Single(await RunningAsync(lab, "local"));

        var m1 = await AddressOfNodeAsync(lab, "m1");
        var w1 = await AddressOfNodeAsync(lab, "w1");
        var w2 = await AddressOfNodeAsync(lab, "w2");

        // m1 runs no task of pub, yet its port 8080 answers, from both replicas, and they see w1's own address.
        var answers = new List<(string Client, string Host)>();
        for (var i = 0; i < 20; i++)
        {
            var get = await lab.ExecAsync("w1", "curl", "-s", "-m", "5", $"http://{m1}:8080/cgi-bin/who");
            Assert.True(get.ExitCode == 0, get.ToString());
            answers.Add(Parse(get.StdOut));
        }

        output.WriteLine(string.Join("\n", answers));
        Assert.Equal(replicas.Select(t => t.Task.Id[..12]).Order(), answers.Select(a => a.Host).Distinct().Order());
        Assert.All(answers, a => Assert.Equal(w1, a.Client));

        // Host mode: only the node that runs the task answers.
        var host = await lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w2}:9090/cgi-bin/who");
        Assert.True(host.ExitCode == 0, host.ToString());
        Assert.Equal(m1, Parse(host.StdOut).Client);
        var elsewhere = await lab.ExecAsync("m1", "curl", "-s", "-m", "3", $"http://{w1}:9090/cgi-bin/who");
        Assert.NotEqual(0, elsewhere.ExitCode);

        // On a node itself, 127.0.0.1 reaches both, as on docker's nodes: the mesh from m1 (which runs no task of pub) and
        // the host port on w2. The loopback source is masqueraded: the tasks see the node's address on their network.
        var meshFromLoopback = await lab.ExecAsync("m1", "curl", "-s", "-m", "5", "http://127.0.0.1:8080/cgi-bin/who");
        Assert.True(meshFromLoopback.ExitCode == 0, meshFromLoopback.ToString());
        Assert.Contains(Parse(meshFromLoopback.StdOut).Host, replicas.Select(t => t.Task.Id[..12]));
        Assert.NotEqual("127.0.0.1", Parse(meshFromLoopback.StdOut).Client);
        var hostFromLoopback = await lab.ExecAsync("w2", "curl", "-s", "-m", "5", "http://127.0.0.1:9090/cgi-bin/who");
        Assert.True(hostFromLoopback.ExitCode == 0, hostFromLoopback.ToString());
        Assert.NotEqual("127.0.0.1", Parse(hostFromLoopback.StdOut).Client);

        // A service that publishes only host-mode ports joins no ingress, as in docker: no ingress address for its task,
        // no VIP there; the task is on its node's bridge alone, where the node maps the port (as on docker_gwbridge).
        var localTask = Assert.Single(await RunningAsync(lab, "local"));
        Assert.Empty(localTask.Task.Networks);
        Assert.Empty((await InspectAsync(lab, "local")).Endpoint.VirtualIps);
        var interfaces = await ExecInAsync(lab, localTask, "ip", "-o", "-4", "addr", "show");
        output.WriteLine(interfaces.ToString());
        Assert.True(interfaces.ExitCode == 0, interfaces.ToString());
        Assert.Equal(["eth0", "lo"], interfaces.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]).Order());
        Assert.DoesNotContain(" 10.0.0.", interfaces.StdOut, StringComparison.Ordinal);

        // One ingress and one host-mode port on one service: the mesh answers on every node, the host port on the task's
        // node only, and the task sees the client's address through both.
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "mixed", "--constraint", "node.hostname==w1",
            "--publish", "published=8181,target=80", "--publish", "published=9191,target=80,mode=host", .. WhoServer])).ExitCode);
        var mixed = Assert.Single(await RunningAsync(lab, "mixed"));
        Assert.Equal(["ingress"], await NetworkNamesAsync(lab, mixed.Task));
        var mesh = await RepeatUntilAsync(() => lab.ExecAsync("w2", "curl", "-s", "-m", "5", $"http://{m1}:8181/cgi-bin/who"), r => r.ExitCode == 0, Converge, TimeSpan.FromMilliseconds(250));
        Assert.True(mesh.ExitCode == 0, mesh.ToString());
        Assert.Equal((w2, mixed.Task.Id[..12]), Parse(mesh.StdOut));
        var direct = await lab.ExecAsync("m1", "curl", "-s", "-m", "5", $"http://{w1}:9191/cgi-bin/who");
        Assert.True(direct.ExitCode == 0, direct.ToString());
        Assert.Equal((m1, mixed.Task.Id[..12]), Parse(direct.StdOut));
        Assert.NotEqual(0, (await lab.ExecAsync("m1", "curl", "-s", "-m", "3", $"http://{w2}:9191/cgi-bin/who")).ExitCode);

        // A port already published is refused, naming the service that holds it.
        var taken = await ServiceAsync(lab, ["create", "--name", "again", "--publish", "8080:80", .. WhoServer]);
        Assert.NotEqual(0, taken.ExitCode);
        Assert.Contains("pub", taken.StdErr, StringComparison.Ordinal);

        // UDP through the mesh, entering on m1, which runs no task: iperf3's UDP test (its control connection is TCP
        // on the same port) gets its datagrams to the server on w2 and the server's answers back, and the server's
        // UDP socket is connected to w1's own address. It answers from a connected UDP socket, whose source its
        // routing picks: only the task's return routing for UDP makes that work (ReturnRoutingRuleset).
        var iperf3 = Path.Combine(lab.StateRoot, "iperf3.tar");
        var build = await LabFixture.RunAsync("bash", [Path.Combine(LabFixture.Repository, "scripts", "images", "iperf3-rootfs.sh"), iperf3]);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal(0, (await lab.ExecAsync("w2", "protoswarm", "image", "import", iperf3, "iperf3:latest")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "udp", "--constraint", "node.hostname==w2",
            "--publish", "published=5201,target=5201,protocol=tcp", "--publish", "published=5201,target=5201,protocol=udp",
            "iperf3:latest", "iperf3", "-s"])).ExitCode);
        await RunningAsync(lab, "udp");
        // 1,200-byte datagrams: iperf3 sizes them by the control connection's MSS, which the overlay's MTU does not allow.
        var udp = await lab.ExecAsync("w1", "timeout", "20", "iperf3", "-u", "-c", m1, "-t", "1", "-b", "1M", "-l", "1200");
        output.WriteLine(udp.ToString());
        Assert.True(udp.ExitCode == 0, udp.ToString());
        var received = udp.StdOut.Split('\n').Single(l => l.Contains("receiver", StringComparison.Ordinal));
        Assert.DoesNotContain(" 0/0 ", received, StringComparison.Ordinal);
        Assert.DoesNotContain("0.00 Bytes", received, StringComparison.Ordinal);
        // The server's line reaches `service logs` through its container's log pipe and w2's agent: a moment after the client ends.
        var logs = await RepeatUntilAsync(() => ServiceAsync(lab, ["logs", "udp"]), r => r.StdOut.Contains($" connected to {w1} port ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.Contains($" connected to {w1} port ", logs.StdOut, StringComparison.Ordinal);

        // UDP on a host-mode port, on an overlay of its own: the node maps it to the task's gateway bridge address, whose
        // default route takes the server's answers (from a socket connected to the client) back through that node
        // unmasqueraded: the server is connected to w1's own address. No ingress for it (host mode only).
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "udpnet")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, ["create", "--name", "udphost", "--constraint", "node.hostname==w2", "--network", "udpnet",
            "--publish", "published=5202,target=5201,protocol=tcp,mode=host", "--publish", "published=5202,target=5201,protocol=udp,mode=host",
            "iperf3:latest", "iperf3", "-s"])).ExitCode);
        var udpHost = Assert.Single(await RunningAsync(lab, "udphost"));
        Assert.Equal(["udpnet"], await NetworkNamesAsync(lab, udpHost.Task));
        var udpDirect = await lab.ExecAsync("w1", "timeout", "20", "iperf3", "-u", "-c", w2, "-p", "5202", "-t", "1", "-b", "1M", "-l", "1200");
        output.WriteLine(udpDirect.ToString());
        Assert.True(udpDirect.ExitCode == 0, udpDirect.ToString());
        var got = udpDirect.StdOut.Split('\n').Single(l => l.Contains("receiver", StringComparison.Ordinal));
        Assert.DoesNotContain(" 0/0 ", got, StringComparison.Ordinal);
        Assert.DoesNotContain("0.00 Bytes", got, StringComparison.Ordinal);
        var hostLogs = await RepeatUntilAsync(() => ServiceAsync(lab, ["logs", "udphost"]), r => r.StdOut.Contains($" connected to {w1} port ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250));
        Assert.Contains($" connected to {w1} port ", hostLogs.StdOut, StringComparison.Ordinal);
    }

    /// <summary>The names of the networks a task has addresses on, as the managers allocated them.</summary>
    private static async Task<List<string>> NetworkNamesAsync(LabFixture lab, TaskObject task)
    {
        var names = new List<string>();
        foreach (var attachment in task.Networks)
        {
            var name = await lab.ExecAsync("m1", "protoswarm", "network", "inspect", attachment.NetworkId, "--format", "{{.Name}}");
            Assert.True(name.ExitCode == 0, name.ToString());
            names.Add(name.StdOut.Trim());
        }

        return names;
    }

    /// <summary>"REMOTE_ADDR HOSTNAME"; httpd listens on IPv6 too, so an IPv4 client shows as [::ffff:a.b.c.d].</summary>
    private static (string Client, string Host) Parse(string answer)
    {
        var parts = answer.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(parts.Length == 2, $"Unexpected answer '{answer}'");
        return (parts[0].Replace("[::ffff:", "", StringComparison.Ordinal).TrimEnd(']'), parts[1]);
    }

    /// <summary><paramref name="count"/> HTTP requests for /cgi-bin/who to <paramref name="host"/> port 80, made inside a task, one connection each.</summary>
    private async Task<List<(string Client, string Host)>> RequestsAsync(LabFixture lab, LabTask from, string host, int count)
    {
        var script = RequestScript(host, count);
        var run = await ExecInAsync(lab, from, "sh", "-c", script);
        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0 && !run.StdOut.Contains("failed", StringComparison.Ordinal), run.ToString());
        return [.. run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)];
    }

    /// <summary>Requests as <see cref="RequestsAsync"/> until every one is answered and <paramref name="done"/> holds (a restarted node host takes a moment to serve DNS again).</summary>
    private static async Task<List<(string Client, string Host)>> PollRequestsAsync(
        LabFixture lab, LabTask from, string host, int count, Func<List<(string Client, string Host)>, bool> done)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (true)
        {
            var script = RequestScript(host, count);
            var run = await ExecInAsync(lab, from, "sh", "-c", script);
            if (run.ExitCode == 0 && !run.StdOut.Contains("failed", StringComparison.Ordinal))
            {
                var answers = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToList();
                if (done(answers))
                {
                    return answers;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No full set of answers within {Converge.TotalSeconds} s: {run}");
            await Task.Delay(500);
        }
    }

    /// <summary>A shell loop of <paramref name="count"/> requests for /cgi-bin/who, one connection each; "failed" for one not answered.</summary>
    private static string RequestScript(string host, int count) => string.Create(CultureInfo.InvariantCulture,
        $"for i in $(seq {count}); do printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {host} 80 | tail -n 1 | grep . || echo failed; done");

    private static Task<RunResult> ExecInAsync(LabFixture lab, LabTask task, params string[] command) =>
        lab.ExecAsync(task.Node, ["protoswarm", "exec", task.Task.Id, "--", .. command]);

    private static string AddressOf(TaskObject task) => Assert.Single(task.Networks).Address.Split('/')[0];

    private static async Task<string> AddressOfNodeAsync(LabFixture lab, string node) =>
        (await lab.NodeAsync(node)).GetProperty("Address").GetString()!;
}
