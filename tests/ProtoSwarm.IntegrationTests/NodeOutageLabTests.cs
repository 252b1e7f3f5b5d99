using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A worker's node host stopped for a few seconds (SIGSTOP, then SIGCONT: a long GC pause, a starved or
/// suspended machine) and what the swarm does about it, on a lab of 1 manager and 2 workers.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class NodeOutageLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task A_Worker_Paused_Within_Its_Grace_Loses_No_Task_And_One_Paused_Past_It_Loses_Them_Once()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2);
        Assert.True(await PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(20)), "The lab's 3 nodes were not Ready within 20 s");

        // A heartbeat every 2 s: Down after 8 s of silence, twice the pause.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--dispatcher-heartbeat", "2s")).ExitCode);
        var create = await ServiceAsync(lab, "create", "--detach", "--name", "web", "--replicas", "4", "busybox:latest");
        Assert.True(create.ExitCode == 0, create.ToString());
        var running = await PollAsync(lab, TimeSpan.FromSeconds(20), "web", tasks => Live(tasks).Count(t => t.Task.Status.State == TaskState.Running) == 4);
        Assert.True(running.Met, $"web did not run 4 tasks within 20 s; last tasks: {running.Last}");
        Assert.Contains(running.Tasks, t => t.Node == "w1");
        // Every node has had a beat answered with the 2 s period by now (it beat at most 500 ms after the update).
        var before = Live(running.Tasks).Select(t => t.Task.Id).Order().ToList();

        var states = await PauseW1Async(lab, TimeSpan.FromSeconds(6));

        Assert.True(states.SequenceEqual([NodeState.Ready]), $"w1 paused {Pause.TotalSeconds} s with an 8 s grace went through {string.Join(" -> ", states)}");
        var after = await TasksAsync(lab, "web");
        Assert.True(after.Count == 4 && Live(after).Select(t => t.Task.Id).Order().SequenceEqual(before),
            $"w1 paused within its grace had tasks replaced; tasks before: {string.Join(", ", before)}; after: {Describe(after)}");

        // Back to 500 ms: Down after 2 s, so the same pause replaces w1's tasks, once, and w1 is simply Ready again.
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--dispatcher-heartbeat", "500ms")).ExitCode);
        // w1 is judged by the period its last answered beat was told: under the old 2 s period that beat
        // comes up to 2 s after the update, so two old periods pass before the pause.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var onW1 = after.Where(t => t.Node == "w1").Select(t => t.Task.Slot).ToHashSet();

        states = await PauseW1Async(lab, TimeSpan.FromSeconds(12));

        Assert.True(states.SequenceEqual([NodeState.Ready, NodeState.Down, NodeState.Ready]),
            $"w1 paused {Pause.TotalSeconds} s with a 2 s grace went through {string.Join(" -> ", states)}, not Ready -> Down -> Ready once");
        var replaced = await PollAsync(lab, TimeSpan.FromSeconds(10), "web", tasks => Live(tasks).Count(t => t.Task.Status.State == TaskState.Running) == 4);
        Assert.True(replaced.Met, $"web was not back to 4 running tasks; last tasks: {replaced.Last}");
        foreach (var slot in replaced.Tasks.GroupBy(t => t.Task.Slot))
        {
            // A slot that was on w1 has its old task and one replacement; the others only their task.
            Assert.True(slot.Count() == (onW1.Contains(slot.Key) ? 2 : 1), $"slot {slot.Key} has {slot.Count()} tasks; tasks: {Describe(replaced.Tasks)}");
        }
    }

    private static IEnumerable<LabTask> Live(IEnumerable<LabTask> tasks) => tasks.Where(t => t.Task.DesiredState == TaskState.Running);

    /// <summary>
    /// Stops w1's node host for <see cref="Pause"/>, lets it run again, and returns the states m1 gave w1 from the pause
    /// until <paramref name="watchAfter"/> after it ended, read every 50 ms, each change once.
    /// </summary>
    private async Task<IReadOnlyList<NodeState>> PauseW1Async(LabFixture lab, TimeSpan watchAfter)
    {
        var pid = (await lab.NodeAsync("w1")).GetProperty("Pid").GetInt32().ToString(CultureInfo.InvariantCulture);
        var manager = await ManagerAsync(lab);
        var states = new List<NodeState>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var list = await manager.RequestAsync<NodeList>(new ListNodes(NewId()), TimeSpan.FromSeconds(5));
                    var state = list.Nodes.Single(n => n.Description.Hostname == "w1").Status.State;
                    if (states.Count == 0 || states[^1] != state)
                    {
                        states.Add(state);
                        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F2} s  w1 {state}");
                    }
                }
                catch (Exception e) when (e is ProtoSwarm.Client.SwarmCommandException or IOException or TimeoutException)
                {
                }

                await Task.Delay(PollInterval);
            }
        });

        var paused = await LabFixture.RunAsync("kill", ["-STOP", pid]);
        try
        {
            Assert.True(paused.ExitCode == 0, paused.ToString());
            await Task.Delay(Pause);
        }
        finally
        {
            var resumed = await LabFixture.RunAsync("kill", ["-CONT", pid]);
            Assert.True(resumed.ExitCode == 0, resumed.ToString());
        }

        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F2} s  w1 resumed");
        await Task.Delay(watchAfter);
        await stop.CancelAsync();
        await watch;
        return states;
    }
}
