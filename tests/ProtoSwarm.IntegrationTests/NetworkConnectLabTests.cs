using System.Text.Json;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// `network connect` and `network disconnect` on a 2-node lab (m1, w1; real containers): a container run on m1 with no network
/// joins an attachable overlay whose service task runs on w1, each reaches the other by name, and leaving undoes it all.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class NetworkConnectLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

    /// <summary>An HTTP GET of / on port 80 of <paramref name="host"/>, its last line printed.</summary>
    private static string Get(string host) => $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80 | tail -n 1";

    [Fact]
    public async Task A_Running_Container_Connects_To_An_Overlay_Reaches_And_Is_Reached_By_Name_And_Disconnect_Undoes_It()
    {
        var lab = await ContainerLab.UpWithoutImagesAsync(workers: 1);
        await using (lab)
        {
            await ConnectAndDisconnectAsync(lab);
            await HostsOfEachNetworkAsync(lab);
            await HostAndNoneAsync(lab);
        }

        // `lab down` leaves nothing: the node namespaces (with every device in them), the containers' namespaces, their mounts.
        var namespaces = await LabFixture.RunAsync("ip", ["netns", "list"]);
        Assert.DoesNotContain($"psl-{lab.LabName}-", namespaces.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(lab.StateRoot, await File.ReadAllTextAsync("/proc/self/mountinfo"), StringComparison.Ordinal);
        Assert.False(Directory.Exists(lab.StateRoot), $"{lab.StateRoot} is left");
    }

    private async Task ConnectAndDisconnectAsync(LabFixture lab)
    {
        var image = await ContainerLab.BuildBusyboxAsync(lab);
        foreach (var node in new[] { "m1", "w1" })
        {
            Assert.Equal(0, (await lab.ExecAsync(node, "protoswarm", "image", "import", image, "busybox:latest")).ExitCode);
        }

        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.231.0.0/24", "debugnet")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "closednet")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "create", "-d", "--name", "web", "--network", "debugnet", "--constraint", "node.hostname==w1", "busybox:latest",
            "sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www")).ExitCode);
        var polled = await PollAsync(lab, TimeSpan.FromSeconds(40), "web", tasks => tasks.Any(t => t.Task.Status.State == ProtoSwarm.Contracts.TaskState.Running));
        Assert.True(polled.Met, polled.Last);
        var web = Assert.Single(await RunningAsync(lab, "web"));
        Assert.Equal("w1", web.Node);

        // On m1, a container on the node's bridge only; it serves its own page, for the task to reach it.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "run", "-d", "--name", "probe", "busybox", "sh", "-c",
            "mkdir -p /www && echo hello-from-probe > /www/index.html && exec httpd -f -p 80 -h /www")).ExitCode);
        Assert.Equal("eth0 lo", await InterfacesAsync(lab));

        var connect = await lab.ExecAsync("m1", "protoswarm", "network", "connect", "--alias", "dbg", "debugnet", "probe");
        Assert.True((connect.ExitCode, connect.StdOut) == (0, ""), connect.ToString());
        Assert.Equal("eth0 eth1 lo", await InterfacesAsync(lab));
        var again = await lab.ExecAsync("m1", "protoswarm", "network", "connect", "debugnet", "probe");
        Assert.Contains("endpoint with name probe already exists in network debugnet", again.StdErr, StringComparison.Ordinal);
        var address = await AddressAsync(lab, alias: "dbg");
        Assert.StartsWith("10.231.0.", address, StringComparison.Ordinal);

        // As docker's daemon: its /etc/hosts maps its hostname to the new address too, and inspect shows both networks.
        var hostname = (await lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f", "{{.Config.Hostname}}", "probe")).StdOut.Trim();
        var hosts = await lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "cat", "/etc/hosts");
        Assert.Contains($"\n{address}\t{hostname}\n", hosts.StdOut, StringComparison.Ordinal);
        Assert.StartsWith("127.0.0.1\tlocalhost\n", hosts.StdOut, StringComparison.Ordinal);
        Assert.Equal("bridge debugnet", (await lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f",
            "{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{end}}", "probe")).StdOut.Trim());

        // It reaches the task on w1 by the service's name (its VIP) and by tasks.web; the task reaches it by its name and alias.
        Assert.Equal("hello-from-web", await FromProbeAsync(lab, Get("web"), "hello-from-web"));
        var tasks = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "nslookup", "tasks.web"),
            r => r.StdOut.Contains(AddressOf(web.Task), StringComparison.Ordinal), Converge, TimeSpan.FromMilliseconds(300));
        Assert.True(tasks.ExitCode == 0, tasks.ToString());
        foreach (var name in new[] { "probe", "dbg" })
        {
            var reached = await RepeatUntilAsync(() => FromTaskAsync(lab, web, Get(name)),
                r => r.StdOut.Trim() == "hello-from-probe", Converge, TimeSpan.FromMilliseconds(300));
            Assert.True(reached.StdOut.Trim() == "hello-from-probe", $"{name}: {reached}");
        }

        // Refusals in docker's words; a task's container is its service's to connect.
        var refusals = new (string[] Arguments, string Expected)[]
        {
            (["closednet", "probe"], "network closednet not manually attachable"),
            (["nonet", "probe"], "network nonet not found"),
            (["debugnet", "nosuch"], "No such container: nosuch"),
            (["host", "probe"], "container cannot be disconnected from host network or connected to host network"),
        };
        foreach (var (arguments, expected) in refusals)
        {
            var refused = await lab.ExecAsync("m1", ["protoswarm", "network", "connect", .. arguments]);
            Assert.True(refused.ExitCode != 0 && refused.StdErr.Contains(expected, StringComparison.Ordinal), refused.ToString());
        }

        var taskRefused = await lab.ExecAsync("w1", "protoswarm", "network", "connect", "debugnet", web.Task.Id);
        Assert.Contains("protoswarm service update --network-add", taskRefused.StdErr, StringComparison.Ordinal);

        // Disconnect: the interface goes, neither reaches the other, and a second disconnect is refused.
        var disconnect = await lab.ExecAsync("m1", "protoswarm", "network", "disconnect", "debugnet", "probe");
        Assert.True(disconnect.ExitCode == 0, disconnect.ToString());
        Assert.Equal("eth0 lo", await InterfacesAsync(lab));
        var hostsAfter = (await lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "cat", "/etc/hosts")).StdOut;
        Assert.DoesNotContain(address, hostsAfter, StringComparison.Ordinal);
        Assert.Equal(hosts.StdOut.Replace($"{address}\t{hostname}\n", "", StringComparison.Ordinal), hostsAfter);
        Assert.NotEqual("hello-from-web", (await lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "sh", "-c",
            Get("web"))).StdOut.Trim());
        var unreached = await RepeatUntilAsync(() => FromTaskAsync(lab, web, "nslookup probe"), r => r.ExitCode != 0, Converge, TimeSpan.FromMilliseconds(300));
        Assert.True(unreached.ExitCode != 0, unreached.ToString());
        var notConnected = await lab.ExecAsync("m1", "protoswarm", "network", "disconnect", "debugnet", "probe");
        Assert.Contains("container probe is not connected to network debugnet", notConnected.StdErr, StringComparison.Ordinal);
        Assert.Equal("bridge", (await lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f", "{{range $name, $n := .NetworkSettings.Networks}}{{$name}}{{end}}", "probe")).StdOut.Trim());

        var outside = await lab.ExecAsync("m1", "protoswarm", "network", "connect", "--ip", "10.99.0.5", "debugnet", "probe");
        Assert.Contains("no configured subnet or ip-range contain the IP address 10.99.0.5", outside.StdErr, StringComparison.Ordinal);

        // Its address was given back: connecting again with --ip of that address gets it.
        var reconnect = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "network", "connect", "--ip", address, "debugnet", "probe"),
            r => r.ExitCode == 0, Converge, TimeSpan.FromMilliseconds(500));
        Assert.True(reconnect.ExitCode == 0, reconnect.ToString());
        Assert.Equal(address, await AddressAsync(lab));
        Assert.Equal("hello-from-web", await FromProbeAsync(lab, Get("web"), "hello-from-web"));

        var inspected = await lab.ExecAsync("m1", "protoswarm", "network", "inspect", "-f", "{{json .Containers}}", "debugnet");
        Assert.Contains("\"Name\":\"probe\"", inspected.StdOut, StringComparison.Ordinal);

        // Stopped, it leaves and joins in its record only (no address held meanwhile), and joins at its start, as docker's.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "stop", "-t", "0", "probe")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "disconnect", "debugnet", "probe")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "connect", "--alias", "late", "debugnet", "probe")).ExitCode);
        Assert.Contains("endpoint with name probe already exists in network debugnet",
            (await lab.ExecAsync("m1", "protoswarm", "network", "connect", "debugnet", "probe")).StdErr, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "start", "probe")).ExitCode);
        Assert.Equal("eth0 eth1 lo", await InterfacesAsync(lab));
        Assert.StartsWith("10.231.0.", await AddressAsync(lab, alias: "late"), StringComparison.Ordinal);
        Assert.Equal("hello-from-web", await FromProbeAsync(lab, Get("web"), "hello-from-web"));
        var late = await RepeatUntilAsync(() => FromTaskAsync(lab, web, Get("late")), r => r.StdOut.Trim() == "hello-from-probe", Converge, TimeSpan.FromMilliseconds(300));
        Assert.True(late.StdOut.Trim() == "hello-from-probe", late.ToString());

        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "rm", "-f", "probe")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "web")).ExitCode);
        var removed = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "network", "rm", "debugnet"), r => r.ExitCode == 0, Converge, TimeSpan.FromMilliseconds(500));
        Assert.True(removed.ExitCode == 0, removed.ToString());
    }

    /// <summary>
    /// A container run on one overlay and connected to a second maps its hostname to its address on each in its /etc/hosts, one
    /// line a network, and still does once stopped and started again (new addresses, both lines), as docker's daemon writes them.
    /// </summary>
    private static async Task HostsOfEachNetworkAsync(LabFixture lab)
    {
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.233.0.0/24", "firstnet")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.234.0.0/24", "secondnet")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "run", "-d", "--name", "multi", "--network", "firstnet", "busybox", "sleep", "3600")).ExitCode);
        var connect = await lab.ExecAsync("m1", "protoswarm", "network", "connect", "secondnet", "multi");
        Assert.True(connect.ExitCode == 0, connect.ToString());
        var hostname = (await lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f", "{{.Config.Hostname}}", "multi")).StdOut.Trim();

        var connected = await HostsLinesAsync(lab, "multi", hostname);
        Assert.Equal(await AddressesAsync(lab, "multi", "firstnet", "secondnet"), connected);

        foreach (var again in new[] { new[] { "stop", "-t", "0", "multi" }, ["start", "multi"] })
        {
            var result = await lab.ExecAsync("m1", ["protoswarm", .. again]);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        var restarted = await HostsLinesAsync(lab, "multi", hostname);
        var addresses = await AddressesAsync(lab, "multi", "firstnet", "secondnet");
        Assert.Equal(addresses, restarted);
        Assert.StartsWith("10.233.0.", addresses[0], StringComparison.Ordinal);
        Assert.StartsWith("10.234.0.", addresses[1], StringComparison.Ordinal);

        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "rm", "-f", "multi")).ExitCode);
        foreach (var network in new[] { "firstnet", "secondnet" })
        {
            var removed = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "network", "rm", network), r => r.ExitCode == 0, Converge, TimeSpan.FromMilliseconds(500));
            Assert.True(removed.ExitCode == 0, removed.ToString());
        }
    }

    /// <summary>The addresses a container's /etc/hosts maps <paramref name="hostname"/> to, in the file's order, but loopback's.</summary>
    private static async Task<string[]> HostsLinesAsync(LabFixture lab, string container, string hostname)
    {
        var hosts = await lab.ExecAsync("m1", "protoswarm", "exec", container, "--", "cat", "/etc/hosts");
        Assert.True(hosts.ExitCode == 0, hosts.ToString());
        return [.. hosts.StdOut.Split('\n').Select(l => l.Split('\t')).Where(p => p.Length == 2 && p[1] == hostname && !p[0].StartsWith("127.", StringComparison.Ordinal)).Select(p => p[0])];
    }

    /// <summary>A container's address on each of <paramref name="networks"/>, as `container inspect` shows them (by name once the
    /// node's views of new networks came).</summary>
    private static async Task<string[]> AddressesAsync(LabFixture lab, string container, params string[] networks)
    {
        var inspect = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f", "{{json .NetworkSettings.Networks}}", container),
            r => r.ExitCode == 0 && networks.All(n => r.StdOut.Contains($"\"{n}\"", StringComparison.Ordinal)), Converge, TimeSpan.FromMilliseconds(300));
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        using var shown = JsonDocument.Parse(inspect.StdOut);
        return [.. networks.Select(n => shown.RootElement.GetProperty(n).GetProperty("IPAddress").GetString()!)];
    }

    /// <summary>
    /// docker's host and none networks: a service on host runs its task in w1's own network namespace (the lab node's, not the
    /// machine's), so it sees w1's eth0 address and hostname, and ps/inspect/network inspect say host; the managers refuse host
    /// beside a network or with a routing-mesh port; a container run on none on m1 has loopback alone.
    /// </summary>
    private static async Task HostAndNoneAsync(LabFixture lab)
    {
        var eth0 = await LabFixture.RunAsync("ip", ["-n", $"psl-{lab.LabName}-w1", "-4", "-o", "addr", "show", "eth0"]);
        Assert.True(eth0.ExitCode == 0, eth0.ToString());
        var w1Address = eth0.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0];

        Assert.Equal(0, (await ServiceAsync(lab, "create", "-d", "--name", "hostsvc", "--network", "host", "--constraint", "node.hostname==w1",
            "busybox:latest", "sleep", "3600")).ExitCode);
        var polled = await PollAsync(lab, TimeSpan.FromSeconds(40), "hostsvc", tasks => tasks.Any(t => t.Task.Status.State == ProtoSwarm.Contracts.TaskState.Running));
        Assert.True(polled.Met, polled.Last);
        var task = Assert.Single(await RunningAsync(lab, "hostsvc"));
        var seen = await FromTaskAsync(lab, task, "ip -4 -o addr show; hostname");
        Assert.True(seen.ExitCode == 0, seen.ToString());
        Assert.Contains($"inet {w1Address}/", seen.StdOut, StringComparison.Ordinal);
        Assert.EndsWith("\nw1", seen.StdOut.Trim(), StringComparison.Ordinal);
        var mode = await lab.ExecAsync("w1", "protoswarm", "container", "inspect", "-f",
            "{{.HostConfig.NetworkMode}} {{range $name, $n := .NetworkSettings.Networks}}{{$name}}{{end}}", task.Task.Id);
        Assert.Equal("host host", mode.StdOut.Trim());
        Assert.Contains(task.Task.Id, (await lab.ExecAsync("w1", "protoswarm", "network", "inspect", "-f", "{{json .Containers}}", "host")).StdOut, StringComparison.Ordinal);

        var beside = await ServiceAsync(lab, "create", "-d", "--name", "beside", "--network", "host", "--network", "closednet", "busybox:latest", "sleep", "1");
        Assert.True(beside.ExitCode != 0 && beside.StdErr.Contains("cannot be connected to any other network", StringComparison.Ordinal), beside.ToString());
        var mesh = await ServiceAsync(lab, "create", "-d", "--name", "mesh", "--network", "host", "-p", "8080:80", "busybox:latest", "sleep", "1");
        Assert.True(mesh.ExitCode != 0 && mesh.StdErr.Contains("a task on the host network can join no other network", StringComparison.Ordinal), mesh.ToString());

        var none = await lab.ExecAsync("m1", "protoswarm", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        Assert.True((none.ExitCode, none.StdOut.Trim()) == (0, "lo"), none.ToString());
        Assert.Equal(0, (await ServiceAsync(lab, "rm", "hostsvc")).ExitCode);
    }

    /// <summary>The probe's interfaces, as its own namespace lists them (/proc/net/dev is the reader's namespace's).</summary>
    private static async Task<string> InterfacesAsync(LabFixture lab)
    {
        var listed = await lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        return listed.StdOut.Trim();
    }

    /// <summary>The probe's address on debugnet, as `container inspect` shows it.</summary>
    private static async Task<string> AddressAsync(LabFixture lab, string? alias = null)
    {
        var inspect = await lab.ExecAsync("m1", "protoswarm", "container", "inspect", "-f", "{{json .NetworkSettings.Networks}}", "probe");
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        using var networks = JsonDocument.Parse(inspect.StdOut);
        var debugnet = networks.RootElement.GetProperty("debugnet");
        if (alias is not null)
        {
            Assert.Contains(alias, debugnet.GetProperty("Aliases").EnumerateArray().Select(a => a.GetString()));
        }

        return debugnet.GetProperty("IPAddress").GetString()!;
    }

    private async Task<string> FromProbeAsync(LabFixture lab, string script, string expected)
    {
        var result = await RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "exec", "probe", "--", "sh", "-c", script),
            r => r.StdOut.Trim() == expected, Converge, TimeSpan.FromMilliseconds(300));
        output.WriteLine(result.ToString());
        return result.StdOut.Trim();
    }

    private static Task<RunResult> FromTaskAsync(LabFixture lab, LabTask task, string script) =>
        lab.ExecAsync(task.Node, "protoswarm", "exec", task.Task.Id, "--", "sh", "-c", script);

    private static string AddressOf(ProtoSwarm.Contracts.TaskObject task) => task.Networks.Single().Address.Split('/')[0];
}
