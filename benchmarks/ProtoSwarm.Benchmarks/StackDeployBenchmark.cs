using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// The voting app (samples/voting-app) as a stack on a 3-node lab (1 manager, 2 workers, real
/// containers): from `stack deploy -d` to all seven tasks running, and to the first vote counted (a
/// POST through m1's published 8080, then 8081's /api/results polled until it counts it, with curl in
/// w1's namespace), then from `stack rm` to no service, network and container left. The five images are
/// built (build-images.sh) and pushed to the swarm's registry once, before any clock runs; the first
/// round is on cold nodes (the workers pull what their tasks need), the next ones are warm redeploys.
/// The baseline, measured in the same lab: the same shape (5 services, 2 + 1 + 1 + 2 + 1 replicas, the
/// same 2 overlay networks and published ports, db on the manager) of plain busybox `sleep` services,
/// so the ratio is what the real images cost (pulls, PostgreSQL's start, the health check). Needs
/// root and out/bin (scripts/setup.sh).
/// </summary>
public static class StackDeployBenchmark
{
    private const int Tasks = 7;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] ServiceNames = ["vote", "result", "redis", "worker", "db"];

    private const string Baseline = """
        version: "3.8"
        services:
          vote:
            image: busybox:latest
            command: ["sleep", "100000"]
            ports: ["8080:80"]
            networks: [frontend, backend]
            deploy:
              replicas: 2
          result:
            image: busybox:latest
            command: ["sleep", "100000"]
            ports: ["8081:80"]
            networks: [frontend, backend]
          redis:
            image: busybox:latest
            command: ["sleep", "100000"]
            networks: [backend]
          worker:
            image: busybox:latest
            command: ["sleep", "100000"]
            networks: [backend]
            deploy:
              replicas: 2
          db:
            image: busybox:latest
            command: ["sleep", "100000"]
            networks: [backend]
            deploy:
              placement:
                constraints: [node.role == manager]
        networks:
          frontend:
          backend:
        """;

    /// <summary>One deploy and removal: <see cref="VoteSeconds"/> is null for the baseline (it serves nothing).</summary>
    public sealed record Row(string Stack, int Round, double RunningSeconds, double? VoteSeconds, double RemoveSeconds);

    public static async Task<List<Row>> RunAsync(int rounds)
    {
        var root = SwarmScaleBenchmark.RepositoryRoot();
        var images = Path.Combine(root, "out", "images", "voting");
        Console.Error.WriteLine("[stack-deploy] building the voting app's images (kept when up to date)");
        OrchestrationBenchmark.Run("bash", Path.Combine(root, "samples", "voting-app", "build-images.sh"), images);
        var work = Directory.CreateTempSubdirectory("psbench-stack-").FullName;
        var busybox = Path.Combine(work, "busybox.tar");
        OrchestrationBenchmark.Run("bash", Path.Combine(root, "scripts", "images", "busybox-rootfs.sh"), busybox);
        var baseline = Path.Combine(work, "baseline.yml");
        await File.WriteAllTextAsync(baseline, Baseline);
        var voting = Path.Combine(root, "samples", "voting-app", "voting-app.yml");

        var cli = OrchestrationBenchmark.LocateCli();
        var name = string.Create(CultureInfo.InvariantCulture, $"sd{Environment.ProcessId % 10_000}");
        Console.Error.WriteLine($"[stack-deploy] lab {name}: 1 manager, 2 workers");
        OrchestrationBenchmark.Run(cli, "lab", "up", "--name", name, "--managers", "1", "--workers", "2");
        ExitCleanup.Register(name, () => OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name));
        var rows = new List<Row>();
        try
        {
            var manager = new ControlClient(Path.Combine("/var/lib/protoswarm-lab", name, "m1", ControlClient.SocketFileName));
            await SwarmScaleBenchmark.WaitAsync(async () =>
                (await manager.RequestAsync<NodeList>(new ListNodes(Id()), Timeout)).Nodes.Count(n => n.Status.State == NodeState.Ready) == 3);
            SwarmScaleBenchmark.OnManager(cli, name, "image", "import", busybox, "busybox:latest");
            SwarmScaleBenchmark.OnManager(cli, name, "image", "push", "busybox:latest");
            foreach (var image in ServiceNames)
            {
                SwarmScaleBenchmark.OnManager(cli, name, "image", "load", "-i", Path.Combine(images, image + ".tar"));
                SwarmScaleBenchmark.OnManager(cli, name, "image", "push", $"voting/{image}:1");
            }

            var lab = new Lab(cli, name, manager);
            for (var round = 1; round <= rounds; round++)
            {
                rows.Add(await DeployAsync(lab, "base", baseline, round, vote: false));
                rows.Add(await DeployAsync(lab, "vote", voting, round, vote: true));
            }
        }
        finally
        {
            ExitCleanup.Forget(name);
            OrchestrationBenchmark.Run(cli, "lab", "down", "--name", name);
            Directory.Delete(work, recursive: true);
        }

        return rows;
    }

    public static void Print(IReadOnlyList<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine("## Stack deploy: the voting app (5 services, 7 tasks, real images) vs the same shape of busybox `sleep` services, 3-node lab");
        Console.WriteLine();
        Console.WriteLine("| round | stack | seconds to 7/7 running | vs baseline | seconds to first vote counted | seconds to remove | vs baseline |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            var baseline = rows.First(b => b.Round == r.Round && b.VoteSeconds is null);
            var isBaseline = r == baseline;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Round}{(r.Round == 1 ? " (cold)" : " (warm)")} | {(isBaseline ? "busybox sleeps (baseline)" : "voting app")} | {r.RunningSeconds:0.00} | {Ratio(r.RunningSeconds, baseline.RunningSeconds, isBaseline)} | {(r.VoteSeconds is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-")} | {r.RemoveSeconds:0.00} | {Ratio(r.RemoveSeconds, baseline.RemoveSeconds, isBaseline)} |"));
        }
    }

    private static string Ratio(double seconds, double baseline, bool isBaseline) =>
        isBaseline ? "1.00" : string.Create(CultureInfo.InvariantCulture, $"{seconds / baseline:0.0}x");

    private sealed record Lab(string Cli, string LabName, ControlClient Manager)
    {
        public IReadOnlyList<string> Namespaces { get; } = [$"psl-{LabName}-m1", $"psl-{LabName}-w1", $"psl-{LabName}-w2"];

        public string ManagerAddress => LabNodes(this).First(r => r.GetProperty("Name").GetString() == "m1").GetProperty("Address").GetString()!;

        public HashSet<int> Daemons => [.. LabNodes(this).Select(r => r.GetProperty("Pid").GetInt32())];
    }

    /// <summary>`lab ls --format json`: one object per node (Name, Role, Address, Pid, StateDir).</summary>
    private static List<JsonElement> LabNodes(Lab lab) =>
        [.. OrchestrationBenchmark.Run(lab.Cli, "lab", "ls", "--name", lab.LabName, "--format", "json")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    private static async Task<Row> DeployAsync(Lab lab, string stack, string file, int round, bool vote)
    {
        Console.Error.WriteLine($"[stack-deploy] round {round}: {stack}");
        var services = ServiceNames.Select(s => $"{stack}_{s}").ToList();
        var daemons = lab.Daemons;
        var address = lab.ManagerAddress;

        var clock = Stopwatch.StartNew();
        SwarmScaleBenchmark.OnManager(lab.Cli, lab.LabName, "stack", "deploy", "-d", "-c", file, stack);
        var voted = vote ? VoteCountedAsync(lab, address, round, clock) : Task.FromResult<double?>(null);
        await SwarmScaleBenchmark.WaitAsync(async () => (await lab.Manager.RequestAsync<TaskList>(new ListTasks(Id(), [.. services]), Timeout)).Tasks
            .Count(t => t.DesiredState == TaskState.Running && t.Status.State == TaskState.Running) == Tasks);
        var running = clock.Elapsed.TotalSeconds;
        var counted = await voted;

        clock.Restart();
        SwarmScaleBenchmark.OnManager(lab.Cli, lab.LabName, "stack", "rm", stack);
        await SwarmScaleBenchmark.WaitAsync(async () =>
            SwarmScaleBenchmark.Monitors(lab.Namespaces, daemons) == 0
            && !(await lab.Manager.RequestAsync<ServiceList>(new ListServices(Id()), Timeout)).Services.Any(s => services.Contains(s.Service.Spec.Name))
            && !(await lab.Manager.RequestAsync<NetworkList>(new ListNetworks(Id()), Timeout)).Networks.Any(n => n.Spec.Name.StartsWith(stack + "_", StringComparison.Ordinal)));
        return new Row(stack, round, running, counted, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Seconds on <paramref name="clock"/> until a new voter's vote, POSTed (again until one is taken) through
    /// m1's 8080 from w1's namespace, shows in 8081's /api/results. The database volume stays between rounds,
    /// so after round r the total is r.
    /// </summary>
    private static async Task<double?> VoteCountedAsync(Lab lab, string address, int round, Stopwatch clock)
    {
        var inW1 = new[] { "netns", "exec", $"psl-{lab.LabName}-w1", "curl", "-s", "-f", "-m", "2" };
        var posted = false;
        await SwarmScaleBenchmark.WaitAsync(async () =>
        {
            if (!posted)
            {
                posted = (await TryRunAsync("ip", [.. inW1, "-d", "vote=a", "-d", $"voter_id=bench-{round}", $"http://{address}:8080/api/vote"])).Ok;
                return false;
            }

            var results = await TryRunAsync("ip", [.. inW1, $"http://{address}:8081/api/results"]);
            return results.Ok && JsonDocument.Parse(results.Output).RootElement.GetProperty("total").GetInt32() >= round;
        }, 200);
        return clock.Elapsed.TotalSeconds;
    }

    private static async Task<(bool Ok, string Output)> TryRunAsync(string file, string[] arguments)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode == 0, await stdout);
    }

    private static string Id() => Guid.NewGuid().ToString("N");
}
