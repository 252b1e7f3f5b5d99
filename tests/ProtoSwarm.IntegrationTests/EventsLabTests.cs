using System.Diagnostics;
using System.Globalization;

namespace ProtoSwarm.IntegrationTests;

/// <summary>`protoswarm events` on a real swarm: a manager tells its store's changes as docker's swarm events; a worker none.</summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class EventsLabTests
{
    [Fact]
    public async Task A_Manager_Tells_A_Service_Created_Scaled_And_Removed_In_Order_Followed_And_Replayed()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var since = Unix(DateTimeOffset.UtcNow.AddSeconds(-1));
        // Followed until a time ahead: the command ends by itself when it is reached, as docker's does.
        var follow = lab.ExecAsync("m1", "protoswarm", "events", "--since", since, "--until", Unix(DateTimeOffset.UtcNow.AddSeconds(15)),
            "--filter", "type=service", "--filter", "service=web");

        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "create", "--detach", "--name", "web", "--resolve-image", "never", "busybox:latest")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "scale", "--detach", "web=3")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "rm", "web")).ExitCode);
        var followed = await follow;
        var replayed = await lab.ExecAsync("m1", "protoswarm", "events", "--since", since, "--until", Unix(DateTimeOffset.UtcNow), "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}");
        var worker = await lab.ExecAsync("w1", "protoswarm", "system", "events", "--since", since, "--until", Unix(DateTimeOffset.UtcNow));

        Assert.True(followed.ExitCode == 0, followed.ToString());
        var lines = followed.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToList();
        var created = lines.FindIndex(l => l.StartsWith("service create ", StringComparison.Ordinal) && l.EndsWith(" (name=web)", StringComparison.Ordinal));
        var scaled = lines.FindIndex(l => l.StartsWith("service update ", StringComparison.Ordinal) && l.Contains("replicas.new=3, replicas.old=1", StringComparison.Ordinal));
        var removed = lines.FindIndex(l => l.StartsWith("service remove ", StringComparison.Ordinal) && l.EndsWith(" (name=web)", StringComparison.Ordinal));
        Assert.True(created >= 0 && scaled > created && removed > scaled, followed.ToString());
        Assert.True(replayed.ExitCode == 0, replayed.ToString());
        var services = replayed.StdOut.Split('\n').Where(l => l.StartsWith("service ", StringComparison.Ordinal)).ToList();
        Assert.True(services.Count >= 3 && services[0] == "service create web" && services[^1] == "service remove web", replayed.ToString());
        Assert.True(worker.ExitCode == 0 && worker.StdOut.Length == 0, worker.ToString());
    }

    [Fact]
    public async Task Over_Tcp_An_Operators_Client_Follows_A_Managers_Events_And_A_Workers_Certificate_Is_Refused()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var manager = $"tcp://{(await lab.NodeAsync("m1")).GetProperty("Address").GetString()}:2377";
        var operatorDir = Path.Combine(lab.StateRoot, "operator-cert");
        var issued = await lab.ExecAsync("m1", "protoswarm", "ca", "issue-client", "--out", operatorDir);
        Assert.True(issued.ExitCode == 0, issued.ToString());
        // The worker's own node certificate, laid out as a client certificate directory.
        var workerDir = Path.Combine(lab.StateRoot, "worker-cert");
        Directory.CreateDirectory(workerDir);
        var workerCertificates = Path.Combine(lab.StateRoot, "w1", "certificates");
        File.Copy(Path.Combine(workerCertificates, "swarm-root-ca.crt"), Path.Combine(workerDir, "ca.pem"));
        File.Copy(Path.Combine(workerCertificates, "swarm-node.crt"), Path.Combine(workerDir, "cert.pem"));
        File.Copy(Path.Combine(workerCertificates, "swarm-node.key"), Path.Combine(workerDir, "key.pem"));

        // From the worker's namespace, as an operator's laptop would: no --since, so what it prints was streamed live.
        var follow = lab.ExecAsync("w1", "env", $"PROTOSWARM_CERT_PATH={operatorDir}", "protoswarm", "-H", manager, "events",
            "--until", Unix(DateTimeOffset.UtcNow.AddSeconds(20)), "--filter", "type=service", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}}");
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "create", "--detach", "--name", "web", "--resolve-image", "never", "busybox:latest")).ExitCode);
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "rm", "web")).ExitCode);
        var followed = await follow;
        var refused = await lab.ExecAsync("w1", "env", $"PROTOSWARM_CERT_PATH={workerDir}", "protoswarm", "-H", manager, "events", "--until", Unix(DateTimeOffset.UtcNow));

        Assert.True(followed.ExitCode == 0, followed.ToString());
        var lines = followed.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.True(lines.IndexOf("service create web swarm") >= 0 && lines.IndexOf("service remove web swarm") > lines.IndexOf("service create web swarm"), followed.ToString());
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("Permission denied", refused.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_Tcp_A_Client_Killed_Without_Unsubscribing_Is_Dropped_By_The_Manager_Within_Tens_Of_Seconds()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var manager = $"tcp://{(await lab.NodeAsync("m1")).GetProperty("Address").GetString()}:2377";
        var operatorDir = Path.Combine(lab.StateRoot, "operator-cert");
        var issued = await lab.ExecAsync("m1", "protoswarm", "ca", "issue-client", "--out", operatorDir);
        Assert.True(issued.ExitCode == 0, issued.ToString());
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "create", "--detach", "--name", "web", "--resolve-image", "never", "busybox:latest")).ExitCode);

        // From the worker's namespace: `events` until it has printed the service's creation (so it is subscribed), then
        // SIGKILL, which leaves it no chance to unsubscribe; its connection just closes.
        var output = Path.Combine(lab.StateRoot, "events-killed.out");
        var killed = await lab.ExecAsync("w1", "sh", "-c",
            $"PROTOSWARM_CERT_PATH={operatorDir} protoswarm -H {manager} events --since 10m --filter type=service > {output} 2>&1 & pid=$!; "
            + $"i=0; until grep -q 'service create' {output} || [ $i -ge 150 ]; do sleep 0.2; i=$((i+1)); done; kill -9 $pid; wait $pid; cat {output}");
        var clock = Stopwatch.StartNew();
        Assert.Contains("service create", killed.StdOut, StringComparison.Ordinal);

        // The manager asks after 10 s of silence and gives up after 30 s: 30-40 s after the client's last word.
        var log = Path.Combine(lab.StateRoot, "m1", "protoswarmd.log");
        string? dropped = null;
        while (dropped is null && clock.Elapsed < TimeSpan.FromSeconds(75))
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            dropped = (await File.ReadAllLinesAsync(log)).FirstOrDefault(l => l.Contains("keepalives unanswered", StringComparison.Ordinal));
        }

        Assert.True(dropped is not null, $"no line saying the killed client's subscription ended within {clock.Elapsed.TotalSeconds:0} s of the kill");
        Assert.Contains("ended: no word from it for 30 s", dropped, StringComparison.Ordinal);
        Assert.Contains(" info: ", dropped, StringComparison.Ordinal);
        Assert.Contains($"for the client at {(await lab.NodeAsync("w1")).GetProperty("Address").GetString()}:", dropped, StringComparison.Ordinal);
    }

    private static string Unix(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
