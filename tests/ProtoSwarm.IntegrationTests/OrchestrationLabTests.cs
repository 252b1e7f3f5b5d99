using System.Diagnostics;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Services on a real lab swarm (1 manager and 3 workers, each a protoswarmd in its own namespace)
/// whose nodes run tasks with the test executor: the operator's commands go through the
/// `protoswarm service` CLI on m1, and the tests read the tasks back from m1's control socket.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class OrchestrationLabTests(ITestOutputHelper output)
{

    [Fact]
    public async Task Three_Replicas_Land_One_Per_Worker_And_A_Killed_Workers_Task_Runs_Elsewhere_Within_3s()
    {
        await using var lab = await UpAsync();
        var create = await ServiceAsync(lab, "create", "--name", "web", "--replicas", "3", "--constraint", "node.role==worker", "nginx:1");
        Assert.True(create.ExitCode == 0, create.ToString());

        // The CLI waits until the service converged, so the tasks are running when it returns.
        var tasks = await RunningAsync(lab, "web");
        Assert.Equal(3, tasks.Count);
        Assert.Equal(["w1", "w2", "w3"], tasks.Select(t => t.Node).Order());
        Assert.Equal([1L, 2L, 3L], tasks.Select(t => t.Task.Slot).Order());

        var victim = tasks.Single(t => t.Node == "w2");
        var clock = Stopwatch.StartNew();
        var (killedAt, _) = await lab.SigkillAsync("w2", clock);
        var killedAtWall = DateTimeOffset.UtcNow - (clock.Elapsed - killedAt);
        var moved = await PollAsync(lab, TimeSpan.FromSeconds(15), "web", list =>
            list.Count(t => t.Task.DesiredState == TaskState.Running && t.Task.Status.State == TaskState.Running && t.Node != "w2") == 3);
        var seen = clock.Elapsed - killedAt;
        await lab.LabAsync("stop", "w2", "--kill");

        Assert.True(moved.Met, $"The killed worker's task did not run elsewhere within 15 s; last tasks: {moved.Last}");
        var replacement = moved.Tasks.Single(t => t.Task.Slot == victim.Task.Slot && t.Task.DesiredState == TaskState.Running);
        // When it ran is the replacement's own Running status, stamped by the node that runs it (same
        // machine clock): the test's polling (a `lab ls` and a request per look) adds nothing to it.
        var elapsed = replacement.Task.Status.Timestamp - killedAtWall;
        output.WriteLine($"The killed worker's task ran elsewhere {elapsed.TotalMilliseconds:0} ms after SIGKILL (the test saw it after {seen.TotalMilliseconds:0} ms)");
        Assert.True(elapsed <= TimeSpan.FromSeconds(3), $"The killed worker's task ran elsewhere {elapsed.TotalMilliseconds:0} ms after SIGKILL; the product promises 3 s");
        Assert.NotEqual(victim.Task.Id, replacement.Task.Id);
        Assert.Contains(replacement.Node, new[] { "w1", "w3" });

        // The old task is kept as the slot's history, no longer wanted; its node, dead, never reported it stopped.
        var old = moved.Tasks.Single(t => t.Task.Id == victim.Task.Id);
        Assert.Equal(TaskState.Shutdown, old.Task.DesiredState);
        Assert.Equal(TaskState.Running, replacement.Task.Status.State);

        var ls = await ServiceAsync(lab, "ls");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        Assert.Contains("3/3", ls.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_Moves_Tasks_Away_A_Global_Service_Follows_Nodes_And_A_Job_Runs_Once()
    {
        await using var lab = await UpAsync();
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "web", "--replicas", "4", "nginx:1")).ExitCode);
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "agent", "--mode", "global", "busybox:1")).ExitCode);
        var global = await RunningAsync(lab, "agent");
        Assert.Equal(["m1", "w1", "w2", "w3"], global.Select(t => t.Node).Order());

        var drain = await lab.ExecAsync("m1", "protoswarm", "node", "update", "--availability", "drain", "w1");
        Assert.True(drain.ExitCode == 0, drain.ToString());
        var drained = await PollAsync(lab, TimeSpan.FromSeconds(10), null, list =>
            !list.Any(t => t.Node == "w1" && t.Task.DesiredState <= TaskState.Running) &&
            list.Count(t => t.Service == "web" && t.Task.Status.State == TaskState.Running && t.Task.DesiredState == TaskState.Running) == 4 &&
            list.Count(t => t.Service == "agent" && t.Task.Status.State == TaskState.Running && t.Task.DesiredState == TaskState.Running) == 3);
        Assert.True(drained.Met, $"Draining w1 did not move its tasks away within 10 s; last tasks: {drained.Last}");
        Assert.DoesNotContain(drained.Tasks, t => t.Node == "w1" && t.Task.Status.State == TaskState.Running);

        var active = await lab.ExecAsync("m1", "protoswarm", "node", "update", "--availability", "active", "w1");
        Assert.True(active.ExitCode == 0, active.ToString());
        var back = await PollAsync(lab, TimeSpan.FromSeconds(10), "agent", list =>
            list.Count(t => t.Task.Status.State == TaskState.Running && t.Task.DesiredState == TaskState.Running) == 4);
        Assert.True(back.Met, $"The global service did not come back to w1 within 10 s; last tasks: {back.Last}");

        // A node that leaves the swarm for good takes its global task with it.
        var leave = await lab.ExecAsync("w3", "protoswarm", "swarm", "leave");
        Assert.True(leave.ExitCode == 0, leave.ToString());
        var gone = await PollNodesDownAsync(lab, "w3", TimeSpan.FromSeconds(10));
        Assert.True(gone, "w3 was not Down within 10 s of leaving");
        var rm = await lab.ExecAsync("m1", "protoswarm", "node", "rm", "w3");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        var followed = await PollAsync(lab, TimeSpan.FromSeconds(10), "agent", list =>
            list.Count(t => t.Task.DesiredState == TaskState.Running) == 3 && list.All(t => t.Node != "w3" || t.Task.DesiredState > TaskState.Running));
        Assert.True(followed.Met, $"The global service did not follow w3 leaving within 10 s; last tasks: {followed.Last}");

        // A job: three completions, two at a time, each task running 300 ms; then nothing more.
        var job = await ServiceAsync(lab, "create", "--name", "once", "--mode", "replicated-job", "--replicas", "3", "--max-concurrent", "2",
            "--env", "FAKE_RUN_MS=300", "busybox:1");
        Assert.True(job.ExitCode == 0, job.ToString());
        var done = await PollAsync(lab, TimeSpan.FromSeconds(15), "once", list => list.Count(t => t.Task.Status.State == TaskState.Complete) == 3);
        Assert.True(done.Met, $"The job did not complete 3 times within 15 s; last tasks: {done.Last}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = await TasksAsync(lab, "once");
        Assert.Equal(3, after.Count);
        Assert.All(after, t => Assert.Equal(TaskState.Complete, t.Task.Status.State));
    }

    [Fact]
    public async Task A_Failing_Update_Pauses_And_With_Failure_Action_Rollback_Rolls_Back_On_Its_Own()
    {
        await using var lab = await UpAsync();
        Assert.Equal(0, (await ServiceAsync(lab, "create", "--name", "api", "--replicas", "3", "--update-monitor", "2s", "nginx:1")).ExitCode);
        var before = await RunningAsync(lab, "api");
        Assert.Equal(3, before.Count);

        // Every new task exits with status 1 right after it starts: the first one fails, the update pauses. The next
        // batch starts once the last one runs (as in swarm), so with no delay a task that fails just after it started
        // can be seen only after the next batch began; the update delay is what holds the next batch back, and the
        // first batch's failure is seen within it.
        var paused = await ServiceAsync(lab, "update", "--update-delay", "2s", "--env-add", "FAKE_EXIT_CODE=1", "api");
        Assert.NotEqual(0, paused.ExitCode);
        Assert.Contains("paused", paused.StdOut + paused.StdErr, StringComparison.OrdinalIgnoreCase);
        var inspect = await InspectAsync(lab, "api");
        Assert.Equal(UpdateState.Paused, inspect.UpdateStatus?.State);
        var afterPause = await TasksAsync(lab, "api");
        Assert.True(afterPause.Count(t => t.Task.Status.State == TaskState.Running && t.Task.DesiredState == TaskState.Running) >= 2,
            $"A paused update stops after its first batch, so the other replicas keep running: {Describe(afterPause)}");

        // Back to a good spec, then a failing one that rolls back by itself.
        Assert.Equal(0, (await ServiceAsync(lab, "update", "--update-delay", "0s", "--env-rm", "FAKE_EXIT_CODE", "api")).ExitCode);
        var rolled = await ServiceAsync(lab, "update", "--env-add", "FAKE_EXIT_CODE=2", "--update-failure-action", "rollback", "api");
        Assert.NotEqual(0, rolled.ExitCode);
        Assert.Contains("roll", rolled.StdOut + rolled.StdErr, StringComparison.OrdinalIgnoreCase);
        var settled = await PollAsync(lab, TimeSpan.FromSeconds(30), "api", list =>
            list.Count(t => t.Task.Status.State == TaskState.Running && t.Task.DesiredState == TaskState.Running &&
                            !t.Task.Spec.Container.Env.Contains("FAKE_EXIT_CODE=2")) == 3);
        Assert.True(settled.Met, $"The service did not roll back to 3 healthy replicas within 30 s; last tasks: {settled.Last}");
        // The managers mark the rollback completed once its tasks have run for the rollback's monitor (5 s by default).
        var service = await InspectAsync(lab, "api");
        for (var i = 0; i < 150 && service.UpdateStatus?.State != UpdateState.RollbackCompleted; i++)
        {
            await Task.Delay(PollInterval);
            service = await InspectAsync(lab, "api");
        }

        Assert.Equal(UpdateState.RollbackCompleted, service.UpdateStatus?.State);
        Assert.DoesNotContain("FAKE_EXIT_CODE=2", service.Spec.TaskTemplate.Container.Env);
    }

    [Fact]
    public async Task Service_Logs_Shows_Each_Tasks_Lines_With_Its_Context_From_The_Workers()
    {
        await using var lab = await UpAsync();
        var create = await ServiceAsync(lab, "create", "--name", "chatty", "--replicas", "2", "--constraint", "node.role==worker",
            "--env", "FAKE_OUTPUT=hello from the lab|second line", "--env", "FAKE_STDERR=something went wrong", "busybox:1");
        Assert.True(create.ExitCode == 0, create.ToString());
        var tasks = await RunningAsync(lab, "chatty");
        Assert.Equal(2, tasks.Count);

        var logs = await ServiceAsync(lab, "logs", "chatty");

        Assert.True(logs.ExitCode == 0, logs.ToString());
        foreach (var task in tasks)
        {
            var context = $"chatty.{task.Task.Slot}.{task.Task.Id[..12]}@{task.Node}    | ";
            Assert.Contains(context + "hello from the lab\n", logs.StdOut, StringComparison.Ordinal);
            Assert.Contains(context + "second line\n", logs.StdOut, StringComparison.Ordinal);
            Assert.Contains(context + "something went wrong\n", logs.StdErr, StringComparison.Ordinal);
        }

        var tail = await ServiceAsync(lab, "logs", "--raw", "--tail", "1", tasks[0].Task.Id[..10]);
        Assert.True(tail.ExitCode == 0, tail.ToString());
        Assert.Equal(("", "something went wrong\n"), (tail.StdOut, tail.StdErr));
    }

    [Fact]
    public async Task Replicas_Constrained_To_An_Engine_Label_Run_On_The_Node_Started_With_It_And_Follow_It_To_Another_After_Restarts()
    {
        var lab = await LabFixture.UpAsync(managers: 1, workers: 2, engineLabels: ["w1:disk=ssd"]);
        await using var _ = await lab.PreparedAsync(async lab =>
            Assert.True(await PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(20)), "The lab's 3 nodes were not Ready within 20 s"));

        var create = await ServiceAsync(lab, "create", "--name", "db", "--replicas", "3", "--constraint", "engine.labels.disk==ssd", "busybox:1");
        Assert.True(create.ExitCode == 0, create.ToString());
        var tasks = await RunningAsync(lab, "db");
        Assert.Equal(["w1", "w1", "w1"], tasks.Select(t => t.Node));

        var filtered = await lab.ExecAsync("m1", "protoswarm", "node", "ls", "--filter", "label=disk=ssd", "--format", "{{.Hostname}}");
        Assert.True(filtered.ExitCode == 0, filtered.ToString());
        Assert.Equal("w1\n", filtered.StdOut);
        var engine = await lab.ExecAsync("m1", "protoswarm", "node", "inspect", "w1", "--format", "{{json .Description.Engine.Labels}}");
        Assert.Equal("{\"disk\":\"ssd\"}\n", engine.StdOut);

        // The operator moves the disk: w1's daemon restarted with --label disk=hdd, w2's with disk=ssd.
        Assert.Equal(0, (await lab.LabAsync("stop", "w1")).ExitCode);
        var w1 = await lab.LabAsync("start", "w1", "--engine-label", "disk=hdd");
        Assert.True(w1.ExitCode == 0, w1.ToString());
        Assert.Equal(0, (await lab.LabAsync("stop", "w2")).ExitCode);
        var w2 = await lab.LabAsync("start", "w2", "--engine-label", "disk=ssd");
        Assert.True(w2.ExitCode == 0, w2.ToString());

        var moved = await PollAsync(lab, TimeSpan.FromSeconds(30), "db", list =>
            list.Count(t => t.Node == "w2" && t.Task.DesiredState == TaskState.Running && t.Task.Status.State == TaskState.Running) == 3
            && !list.Any(t => t.Node == "w1" && t.Task.DesiredState == TaskState.Running));
        Assert.True(moved.Met, $"The replicas did not move to w2, now the node with disk=ssd, within 30 s; last tasks: {moved.Last}");
        var relabelled = await lab.ExecAsync("m1", "protoswarm", "node", "inspect", "w1", "--format", "{{json .Description.Engine.Labels}}");
        Assert.Equal("{\"disk\":\"hdd\"}\n", relabelled.StdOut);
    }

    private static async Task<LabFixture> UpAsync()
    {
        var lab = await LabFixture.UpAsync(managers: 1, workers: 3);
        return await lab.PreparedAsync(async lab =>
            Assert.True(await PollNodesReadyAsync(lab, 4, TimeSpan.FromSeconds(20)), "The lab's 4 nodes were not Ready within 20 s"));
    }
}
