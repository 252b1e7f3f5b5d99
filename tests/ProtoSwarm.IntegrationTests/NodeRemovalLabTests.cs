using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A worker leaving the swarm, by `node rm --force` on a manager or by `swarm leave` on itself, on a lab swarm that
/// runs real containers (1 manager, 2 workers, `--executor linux`): as with docker, the node ends up outside the
/// swarm and none of its task containers runs on.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class NodeRemovalLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Told = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_Worker_Removed_By_Force_Is_Told_And_Leaves_And_A_Worker_That_Leaves_Removes_Its_Containers()
    {
        await using var lab = await ContainerLab.UpAsync();
        var create = await ServiceAsync(lab, "create", "--name", "held", "--replicas", "2", "--replicas-max-per-node", "1",
            "--constraint", "node.role==worker", "busybox:latest", "sleep", "1000");
        Assert.True(create.ExitCode == 0, create.ToString());
        var tasks = await RunningAsync(lab, "held");
        Assert.Equal(["w1", "w2"], tasks.Select(t => t.Node).Order());
        var (taskW1, taskW2) = (tasks.Single(t => t.Node == "w1"), tasks.Single(t => t.Node == "w2"));
        var (onW1, onW2) = (ContainerLabTests.ContainerPid(lab, taskW1), ContainerLabTests.ContainerPid(lab, taskW2));

        // Removed while it runs: the managers refuse it from then on, and it must learn that from their refusal.
        var rm = await lab.ExecAsync("m1", "protoswarm", "node", "rm", "--force", "w1");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        var left = await PollInfoAsync(lab, "w1", "Swarm: inactive", Told);
        var log = await File.ReadAllTextAsync(Path.Combine(lab.StateRoot, "w1", "protoswarmd.log"));
        Assert.True(left, $"w1 still thinks it is in the swarm {Told.TotalSeconds} s after `node rm --force`; its log ends:\n{Tail(log)}");
        Assert.Contains("was removed from the swarm by a manager; leaving", log, StringComparison.Ordinal);
        Assert.False(LabFixture.IsAlive(onW1), $"w1's task container (pid {onW1}) still runs after w1 was removed");
        Assert.False(Directory.Exists(Path.Combine(lab.StateRoot, "w1", "containers", taskW1.Task.Id)), "w1's task container was not removed");
        output.WriteLine(log.Split('\n').First(l => l.Contains("was removed from the swarm", StringComparison.Ordinal)));

        // The managers no longer want the removed node's task (its replacement waits for a worker: none is free).
        var dropped = await PollAsync(lab, TimeSpan.FromSeconds(20), "held", list =>
            list.All(t => t.Task.Id != taskW1.Task.Id || t.Task.DesiredState > TaskState.Running));
        Assert.True(dropped.Met, $"The managers still want the removed worker's task: {dropped.Last}");

        // Leaving on its own: the command returns once the node's containers are gone.
        var leave = await lab.ExecAsync("w2", "protoswarm", "swarm", "leave");
        Assert.True(leave.ExitCode == 0, leave.ToString());
        Assert.False(LabFixture.IsAlive(onW2), $"w2's task container (pid {onW2}) still runs after `swarm leave`");
        Assert.False(Directory.Exists(Path.Combine(lab.StateRoot, "w2", "containers", taskW2.Task.Id)), "w2's task container was not removed");
    }

    private static async Task<bool> PollInfoAsync(LabFixture lab, string node, string expected, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < until)
        {
            var info = await lab.ExecAsync(node, "protoswarm", "info");
            if (info.StdOut.Contains(expected, StringComparison.Ordinal))
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(30));
}
