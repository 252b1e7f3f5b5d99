using System.Diagnostics;
using System.Text.Json;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.IntegrationTests;

/// <summary>A real swarm of protoswarmd processes in a lab, driven through the protoswarm CLI.</summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class LabSwarmTests
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task A_Killed_Worker_Is_Down_Within_3s_And_Ready_Again_After_Restart()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2);

        var ready = await PollNodesAsync(lab, TimeSpan.FromSeconds(10),
            nodes => nodes.Count == 3 && nodes.All(n => Status(n) == "ready"));
        Assert.True(ready.Met, $"Expected m1, w1, w2 Ready within 10 s; last `node ls`: {ready.Last}");
        Assert.Equal(["m1", "w1", "w2"], ready.Nodes.Select(Hostname).Order());

        // Timed from the signal itself, not from a CLI process that sends it.
        var clock = Stopwatch.StartNew();
        // Read through m1's control socket (a request of a few ms), not a CLI process per poll, whose
        // start-up (up to ~1 s on a loaded machine) would be counted as detection time.
        var manager = new ControlClient(Socket(await lab.NodeAsync("m1")));
        var (killedAt, _) = await lab.SigkillAsync("w1", clock);
        var seenDown = false;
        while (!seenDown && clock.Elapsed - killedAt < TimeSpan.FromSeconds(10))
        {
            var list = await manager.RequestAsync<NodeList>(new ListNodes(NewId()), TimeSpan.FromSeconds(5));
            seenDown = list.Nodes.Any(n => n.Description.Hostname == "w1" && n.Status.State == NodeState.Down);
            if (!seenDown)
            {
                await Task.Delay(20);
            }
        }

        var elapsed = clock.Elapsed - killedAt;
        var down = await PollNodesAsync(lab, TimeSpan.FromSeconds(10),
            nodes => nodes.Any(n => Hostname(n) == "w1" && Status(n) == "down"));
        var stop = await lab.LabAsync("stop", "w1", "--kill");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.True(seenDown, "w1 was not reported Down within 10 s of SIGKILL");
        Assert.True(down.Met, $"`node ls` does not show w1 Down; last `node ls`: {down.Last}");
        Assert.True(elapsed <= TimeSpan.FromSeconds(3), $"w1 was reported Down {elapsed.TotalMilliseconds:0} ms after SIGKILL; the product promises 3 s");
        Assert.Equal("ready", Status(down.Nodes.Single(n => Hostname(n) == "w2")));

        await lab.StartNodeAsync("w1");
        var back = await PollNodesAsync(lab, TimeSpan.FromSeconds(15),
            nodes => nodes.Count == 3 && nodes.All(n => Status(n) == "ready"));
        Assert.True(back.Met, $"w1 was not Ready again within 15 s of `lab start`; last `node ls`: {back.Last}");
    }

    [Fact]
    public async Task A_Worker_Cut_Off_Is_Down_And_Ready_Again_When_Its_Link_Comes_Back()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2);
        var ready = await PollNodesAsync(lab, TimeSpan.FromSeconds(10), nodes => nodes.Count == 3 && nodes.All(n => Status(n) == "ready"));
        Assert.True(ready.Met, $"Expected 3 Ready nodes; last `node ls`: {ready.Last}");

        await lab.SetLinkAsync("w2", up: false);
        var down = await PollNodesAsync(lab, TimeSpan.FromSeconds(5), nodes => nodes.Any(n => Hostname(n) == "w2" && Status(n) == "down"));
        Assert.True(down.Met, $"w2 was not Down within 5 s of losing its link; last `node ls`: {down.Last}");

        await lab.SetLinkAsync("w2", up: true);

        // The managers removed w2's old cluster member; w2 starts a new one and is Ready again.
        var back = await PollNodesAsync(lab, TimeSpan.FromSeconds(20), nodes => nodes.Count == 3 && nodes.All(n => Status(n) == "ready"));
        Assert.True(back.Met, $"w2 was not Ready again within 20 s of its link coming back; last `node ls`: {back.Last}");
    }

    [Fact]
    public async Task A_Node_Leaves_And_Joins_Again_With_The_Cli_As_A_User_Would()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var m1 = await lab.NodeAsync("m1");
        var managerAddr = $"{m1.GetProperty("Address").GetString()}:2377";

        var leave = await lab.ExecAsync("w1", "protoswarm", "swarm", "leave");
        Assert.True(leave.ExitCode == 0, leave.ToString());
        Assert.Contains("Node left the swarm.", leave.StdOut, StringComparison.Ordinal);

        var token = await lab.ExecAsync("m1", "protoswarm", "swarm", "join-token", "-q", "worker");
        Assert.True(token.ExitCode == 0, token.ToString());
        var join = await lab.ExecAsync("w1", "protoswarm", "swarm", "join", "--token", token.StdOut.Trim(), managerAddr);
        Assert.True(join.ExitCode == 0, join.ToString());
        Assert.Contains("This node joined a swarm as a worker.", join.StdOut, StringComparison.Ordinal);

        var wrong = await lab.ExecAsync("w1", "protoswarm", "swarm", "join", "--token", token.StdOut.Trim(), managerAddr);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("already part of a swarm", wrong.StdErr, StringComparison.Ordinal);

        var back = await PollNodesAsync(lab, TimeSpan.FromSeconds(10), nodes => nodes.Count(n => Hostname(n) == "w1" && Status(n) == "ready") == 1);
        Assert.True(back.Met, $"The rejoined w1 is not Ready; last `node ls`: {back.Last}");
    }

    [Fact]
    public async Task Joining_With_A_Wrong_Token_Is_Refused_With_A_Reason()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var timeout = TimeSpan.FromSeconds(30);
        var m1 = await lab.NodeAsync("m1");
        var w1 = await lab.NodeAsync("w1");
        var manager = new ControlClient(Socket(m1));
        var worker = new ControlClient(Socket(w1));

        var token = await manager.RequestAsync<JoinTokenInfo>(new GetJoinToken(NewId(), NodeRole.Worker), timeout);
        await worker.RequestAsync<LeaveSwarmAck>(new LeaveSwarm(NewId(), Force: false), timeout);

        // A well-formed token whose secret is wrong: the last character changed.
        var wrong = token.Token[..^1] + (token.Token[^1] == 'a' ? 'b' : 'a');
        var join = new JoinSwarm(NewId(), wrong, $"{m1.GetProperty("Address").GetString()}:2377", w1.GetProperty("Address").GetString());
        var refused = await Assert.ThrowsAsync<SwarmCommandException>(() => worker.RequestAsync<JoinSwarmAck>(join, timeout));

        Assert.Equal(RejectCode.InvalidToken, refused.Code);
        Assert.False(string.IsNullOrWhiteSpace(refused.Message));

        // A token whose CA digest was tampered with: the manager's root does not match, so the join stops before the token is sent.
        var parts = token.Token.Split('-');
        parts[2] = parts[2][..^1] + (parts[2][^1] == 'a' ? 'b' : 'a');
        var tampered = join with { RequestId = NewId(), Token = string.Join('-', parts) };
        var mitm = await Assert.ThrowsAsync<SwarmCommandException>(() => worker.RequestAsync<JoinSwarmAck>(tampered, timeout));
        Assert.Equal(RejectCode.InvalidToken, mitm.Code);
        Assert.Contains("man-in-the-middle", mitm.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(w1.GetProperty("StateDir").GetString()!, "certificates")), "a refused join left certificates behind");
    }

    [Fact]
    public async Task Down_Leaves_No_Namespace_Process_Mount_Or_State_Dir()
    {
        var lab = await LabFixture.UpAsync(managers: 1, workers: 2);
        var pids = new HashSet<int>();
        try
        {
            pids.UnionWith((await lab.NodesAsync()).Select(n => n.GetProperty("Pid").GetInt32()).Where(pid => pid > 0));
            Assert.Equal(3, pids.Count);
            foreach (var netns in await LabNamespacesAsync(lab.LabName))
            {
                var inside = await LabFixture.RunAsync("ip", ["netns", "pids", netns]);
                pids.UnionWith(inside.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
            }
        }
        finally
        {
            await lab.DisposeAsync();
        }

        Assert.Empty(await LabNamespacesAsync(lab.LabName));
        Assert.DoesNotContain(pids, LabFixture.IsAlive);
        var mounts = await File.ReadAllTextAsync("/proc/self/mountinfo");
        Assert.DoesNotContain($"/run/netns/psl-{lab.LabName}-", mounts, StringComparison.Ordinal);
        Assert.DoesNotContain(lab.StateRoot, mounts, StringComparison.Ordinal);
        Assert.False(Directory.Exists(lab.StateRoot));

        var again = await lab.LabAsync("down");
        Assert.True(again.ExitCode == 0 && again.StdOut.Length == 0 && again.StdErr.Length == 0, $"a second lab down was not quiet: {again}");
    }

    private sealed record Poll(bool Met, IReadOnlyList<JsonElement> Nodes, string Last);

    /// <summary>Runs `node ls --format json` on m1 every 200 ms until the condition holds or time is up.</summary>
    private static async Task<Poll> PollNodesAsync(LabFixture lab, TimeSpan limit, Func<IReadOnlyList<JsonElement>, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        var last = "(none)";
        while (true)
        {
            var round = clock.Elapsed;
            var ls = await lab.ExecAsync("m1", "protoswarm", "node", "ls", "--format", "json");
            last = ls.ToString();
            if (ls.ExitCode == 0)
            {
                var nodes = LabFixture.JsonLines(ls.StdOut);
                if (condition(nodes))
                {
                    return new Poll(true, nodes, last);
                }
            }

            if (clock.Elapsed > limit)
            {
                return new Poll(false, [], last);
            }

            var wait = PollInterval - (clock.Elapsed - round);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }
    }

    private static async Task<IReadOnlyList<string>> LabNamespacesAsync(string lab)
    {
        var list = await LabFixture.RunAsync("ip", ["netns", "list"]);
        return list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[0])
            .Where(ns => ns.StartsWith($"psl-{lab}-", StringComparison.Ordinal))
            .ToList();
    }

    private static string Hostname(JsonElement node) => node.GetProperty("Hostname").GetString() ?? "";

    /// <summary>docker prints Status as "Ready"/"Down"; compared without case.</summary>
    private static string Status(JsonElement node) => (node.GetProperty("Status").GetString() ?? "").ToLowerInvariant();

    private static string Socket(JsonElement node) =>
        Path.Combine(node.GetProperty("StateDir").GetString()!, ControlClient.SocketFileName);

    private static string NewId() => Guid.NewGuid().ToString("N");
}
