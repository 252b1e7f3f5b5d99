using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProtoSwarm.Contracts;
using Xunit.Abstractions;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// samples/voting-app end to end on a lab swarm (1 manager, 2 workers, real containers), as a user
/// runs it: the images built by the sample's build-images.sh, loaded and pushed once on m1, the stack
/// deployed from the sample's own file; 50 votes with distinct voters cast through port 8080 of every
/// node in turn, a worker task SIGKILLed halfway (frozen by SIGSTOP for a few votes before, so that it
/// likely dies holding a vote it took from redis); every vote is counted exactly once by the result
/// service (port 8081), the killed worker is replaced, and `stack rm` leaves nothing of the stack.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class VotingAppLabTests(ITestOutputHelper output)
{
    private const int Votes = 50;
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);
    private static readonly (string Service, int Replicas)[] Services =
        [("vote_vote", 2), ("vote_result", 1), ("vote_redis", 1), ("vote_worker", 2), ("vote_db", 1)];

    [Fact]
    public async Task The_Voting_App_Counts_Every_Vote_Cast_Through_Every_Node_Once_Though_A_Worker_Is_Killed()
    {
        var images = await BuildImagesAsync();
        var clock = Stopwatch.StartNew();
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2, executor: "linux");
        Assert.True(await PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(20)), "The lab's 3 nodes were not Ready within 20 s");
        await DeployAsync(lab, images, clock);

        var nodes = new[] { "m1", "w1", "w2" };
        var addresses = new List<string>();
        foreach (var node in nodes)
        {
            addresses.Add((await lab.NodeAsync(node)).GetProperty("Address").GetString()!);
        }

        // Voter i votes a, unless i is a multiple of 3; each vote enters through the next node's port 8080 in turn,
        // sent from another node's namespace.
        var expected = new Dictionary<string, int>(StringComparer.Ordinal) { ["a"] = 0, ["b"] = 0 };
        var servedBy = new HashSet<string>(StringComparer.Ordinal);
        (LabTask Task, int Pid)? victim = null;
        for (var i = 0; i < Votes; i++)
        {
            if (i == Votes / 2)
            {
                // Frozen while blocked in BLMOVE, the worker may still be handed the next vote by redis, which then
                // sits in its processing list when it dies: the case the other worker's recovery is for.
                victim = await FindAWorkerAsync(lab);
                var stop = await LabFixture.RunAsync("kill", ["-STOP", victim.Value.Pid.ToString(CultureInfo.InvariantCulture)]);
                Assert.True(stop.ExitCode == 0, stop.ToString());
                Phase(clock, $"SIGSTOPped worker task {victim.Value.Task.Task.Id} on {victim.Value.Task.Node} (pid {victim.Value.Pid})");
            }

            if (i == (Votes / 2) + 5)
            {
                using var process = Process.GetProcessById(victim!.Value.Pid);
                process.Kill();
                Phase(clock, $"SIGKILLed worker task {victim.Value.Task.Task.Id}");
            }

            var vote = i % 3 == 0 ? "b" : "a";
            var voter = string.Create(CultureInfo.InvariantCulture, $"voter-{i:D2}");
            var target = addresses[i % 3];
            var cast = await lab.ExecAsync(nodes[(i + 1) % 3], "curl", "-sS", "-f", "-m", "10", "-H", "Accept: application/json",
                "-d", $"vote={vote}", "-d", $"voter_id={voter}", $"http://{target}:8080/api/vote");
            Assert.True(cast.ExitCode == 0, $"vote {i} through {target}: {cast}");
            using var receipt = JsonDocument.Parse(cast.StdOut);
            Assert.Equal(voter, receipt.RootElement.GetProperty("voter_id").GetString());
            Assert.Equal(vote, receipt.RootElement.GetProperty("vote").GetString());
            servedBy.Add(receipt.RootElement.GetProperty("hostname").GetString()!);
            expected[vote]++;
        }

        Phase(clock, $"{Votes} votes cast ({expected["a"]} a, {expected["b"]} b), served by vote tasks {string.Join(", ", servedBy)}");

        // Every vote is counted, exactly once, whichever node's 8081 answers.
        JsonElement results = default;
        var counted = Stopwatch.StartNew();
        var last = "(none)";
        for (var attempt = 0; counted.Elapsed < TimeSpan.FromSeconds(60); attempt++)
        {
            var get = await lab.ExecAsync("w1", "curl", "-sS", "-f", "-m", "5", $"http://{addresses[attempt % 3]}:8081/api/results");
            last = get.ToString();
            if (get.ExitCode == 0)
            {
                using var document = JsonDocument.Parse(get.StdOut);
                results = document.RootElement.Clone();
                if (results.GetProperty("total").GetInt64() >= Votes)
                {
                    break;
                }
            }

            await Task.Delay(250);
        }

        Assert.True(results.ValueKind == JsonValueKind.Object && results.GetProperty("total").GetInt64() == Votes, $"Not all {Votes} votes counted within 60 s: {last}");
        var options = results.GetProperty("options").EnumerateArray().ToDictionary(o => o.GetProperty("id").GetString()!, o => o.GetProperty("votes").GetInt64(), StringComparer.Ordinal);
        Assert.Equal(expected["a"], options["a"]);
        Assert.Equal(expected["b"], options["b"]);
        Phase(clock, $"results counted: {results.GetRawText()}");

        var logs = await lab.ExecAsync("m1", "protoswarm", "service", "logs", "vote_worker");
        foreach (var line in logs.StdOut.Split('\n').Where(l => l.Contains("is gone", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }

        // The killed worker's task failed and another runs in its place.
        var killed = victim!.Value.Task;
        var replaced = await PollAsync(lab, Converge, "vote_worker", tasks =>
            Running(tasks, "vote_worker").Count() == 2
            && tasks.Any(t => t.Task.Id == killed.Task.Id && t.Task.Status.State == TaskState.Failed));
        Assert.True(replaced.Met, replaced.Last);
        Assert.DoesNotContain(killed.Task.Id, Running(replaced.Tasks, "vote_worker").Select(t => t.Task.Id));
        Phase(clock, "the killed worker was replaced");

        var secrets = await lab.ExecAsync("m1", "protoswarm", "secret", "ls", "--format", "{{.Name}}");
        Assert.True(secrets.ExitCode == 0, secrets.ToString());
        Assert.Equal("vote_db_password", secrets.StdOut.Trim());
        var rm = await lab.ExecAsync("m1", "protoswarm", "stack", "rm", "vote");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.Empty((await lab.ExecAsync("m1", "protoswarm", "service", "ls", "-q")).StdOut.Trim());
        var gone = await PollAsync(lab, Converge, null, tasks => !tasks.Any(t => t.Service.StartsWith("vote_", StringComparison.Ordinal)));
        Assert.True(gone.Met, gone.Last);
        var networks = await lab.ExecAsync("m1", "protoswarm", "network", "ls");
        Assert.True(networks.ExitCode == 0, networks.ToString());
        Assert.DoesNotContain("vote_frontend", networks.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("vote_backend", networks.StdOut, StringComparison.Ordinal);
        var secretsLeft = await lab.ExecAsync("m1", "protoswarm", "secret", "ls", "-q");
        Assert.True(secretsLeft.ExitCode == 0 && secretsLeft.StdOut.Trim().Length == 0, secretsLeft.ToString());
        Phase(clock, "stack removed");
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), $"The lab part took {clock.Elapsed}");
    }

    /// <summary>
    /// db restarted (a new task of it, on the same node and volume, by `service update --force`): the result service's
    /// pooled connection to the old one is broken, and the first page request after db is back (its task running,
    /// which its health check holds until PostgreSQL answers) still answers the counts, as the real voting app's
    /// result, which keeps polling its database, does: it asks again on a new connection rather than answering 503.
    /// </summary>
    [Fact]
    public async Task The_Result_Page_Answers_The_First_Request_After_The_Database_Restarted()
    {
        var images = await BuildImagesAsync();
        var clock = Stopwatch.StartNew();
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1, executor: "linux");
        Assert.True(await PollNodesReadyAsync(lab, 2, TimeSpan.FromSeconds(20)), "The lab's 2 nodes were not Ready within 20 s");
        await DeployAsync(lab, images, clock);
        var address = (await lab.NodeAsync("m1")).GetProperty("Address").GetString()!;

        var cast = await lab.ExecAsync("w1", "curl", "-sS", "-f", "-m", "10", "-H", "Accept: application/json", "-d", "vote=a", "-d", "voter_id=alice", $"http://{address}:8080/api/vote");
        Assert.True(cast.ExitCode == 0, cast.ToString());

        // Counted: the result task has read the table, so its pool holds a connection to this db task.
        var counted = Stopwatch.StartNew();
        var last = "(none)";
        while (!last.Contains("\"total\":1", StringComparison.Ordinal) && counted.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(250);
            last = (await lab.ExecAsync("w1", "curl", "-sS", "-f", "-m", "5", $"http://{address}:8081/api/results")).ToString();
        }

        Assert.True(last.Contains("\"total\":1", StringComparison.Ordinal), $"The vote was not counted within 60 s: {last}");
        var before = Running(await TasksAsync(lab, "vote_db"), "vote_db").Single().Task.Id;
        Phase(clock, $"vote counted; restarting db (task {before})");

        var restart = await lab.ExecAsync("m1", "protoswarm", "service", "update", "--force", "--detach", "vote_db");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        var back = await PollAsync(lab, Converge, "vote_db", tasks => Running(tasks, "vote_db").Any(t => t.Task.Id != before));
        Assert.True(back.Met, back.Last);
        Phase(clock, "db is back (its new task runs)");

        // One request, the first since db came back.
        var first = await lab.ExecAsync("w1", "curl", "-sS", "-m", "10", "-w", "\nHTTP %{http_code}", $"http://{address}:8081/api/results");
        Phase(clock, $"first results request: {first.StdOut.Replace('\n', ' ')}");
        var logs = await lab.ExecAsync("m1", "protoswarm", "service", "logs", "vote_result");
        foreach (var line in logs.StdOut.Split('\n').Where(l => l.Contains("Results not read", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }

        Assert.True(first.ExitCode == 0 && first.StdOut.TrimEnd().EndsWith("HTTP 200", StringComparison.Ordinal), first.ToString());
        Assert.Contains("\"total\":1", first.StdOut, StringComparison.Ordinal);
        var rm = await lab.ExecAsync("m1", "protoswarm", "stack", "rm", "vote");
        Assert.True(rm.ExitCode == 0, rm.ToString());
    }

    /// <summary>The sample as its README deploys it: each image loaded and pushed on m1, the stack deployed from its file, every service converged.</summary>
    private async Task DeployAsync(LabFixture lab, string images, Stopwatch clock)
    {
        foreach (var image in new[] { "vote", "worker", "result", "redis", "db" })
        {
            var load = await lab.ExecAsync("m1", "protoswarm", "image", "load", "-i", Path.Combine(images, $"{image}.tar"));
            Assert.True(load.ExitCode == 0, load.ToString());
            var push = await lab.ExecAsync("m1", "protoswarm", "image", "push", $"voting/{image}:1");
            Assert.True(push.ExitCode == 0, push.ToString());
        }

        Phase(clock, "images loaded and pushed on m1");

        var deploy = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "-c", Path.Combine(LabFixture.Repository, "samples", "voting-app", "voting-app.yml"), "vote");
        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        var converged = await PollAsync(lab, Converge, null, tasks => Services.All(s => Running(tasks, s.Service).Count() == s.Replicas));
        Assert.True(converged.Met, converged.Last);
        Phase(clock, "stack converged");
    }

    private static IEnumerable<LabTask> Running(IEnumerable<LabTask> tasks, string service) =>
        tasks.Where(t => t.Service == service && t.Task.DesiredState == TaskState.Running && t.Task.Status.State == TaskState.Running);

    /// <summary>
    /// One running worker task and its process seen from the host: the container's PID 1, found in the process
    /// table by the task's cgroup (named by the task id), so another lab's workers are never touched.
    /// </summary>
    private static async Task<(LabTask Task, int Pid)> FindAWorkerAsync(LabFixture lab)
    {
        var task = Running(await TasksAsync(lab, "vote_worker"), "vote_worker").First();
        var pids = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && IsWorkerOf(pid, task.Task.Id))
            .ToList();
        Assert.True(pids.Count == 1, $"Expected one worker process of task {task.Task.Id}, found {pids.Count}");
        return (task, pids[0]);
    }

    private static bool IsWorkerOf(int pid, string taskId)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.StartsWith("/app/voting\0worker", StringComparison.Ordinal)
                && File.ReadAllText($"/proc/{pid}/cgroup").Contains($"/{taskId}", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The sample's images, built by its own script into out/images/voting (once: the script keeps an image
    /// newer than its sources, so a later run takes seconds).
    /// </summary>
    private async Task<string> BuildImagesAsync()
    {
        var images = Path.Combine(LabFixture.Repository, "out", "images", "voting");
        var clock = Stopwatch.StartNew();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(LabFixture.Repository, "samples", "voting-app", "build-images.sh"));
        psi.ArgumentList.Add(images);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(BuildTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"build-images.sh did not finish within {BuildTimeout}");
        }

        var run = new RunResult(process.ExitCode, await stdout, await stderr);
        Assert.True(run.ExitCode == 0, run.ToString());
        output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  build-images.sh: {run.StdOut.Trim().Replace('\n', ';')}");
        return images;
    }

    private void Phase(Stopwatch clock, string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
}
