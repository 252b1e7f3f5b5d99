using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ProtoSwarm.IntegrationTests;

/// <summary>What a child process printed and how it ended.</summary>
public sealed record RunResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StdOut}\nstderr:\n{StdErr}";
}

/// <summary>
/// A lab driven through the real binaries as separate processes: `protoswarm lab up` on start,
/// `protoswarm lab down` on dispose whatever happened in between. Binaries are the ones built next
/// to this repository (same configuration as the tests), or $PROTOSWARM_CLI and $PROTOSWARMD.
/// </summary>
public sealed class LabFixture : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private LabFixture(string name, string cli, string daemon)
    {
        LabName = name;
        Cli = cli;
        Daemon = daemon;
    }

    public string LabName { get; }

    public string Cli { get; }

    public string Daemon { get; }

    public string StateRoot => Path.Combine("/var/lib/protoswarm-lab", LabName);

    /// <summary>The checkout these tests run from (the directory holding ProtoSwarm.sln).</summary>
    public static string Repository { get; } = FindRepository();

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ProtoSwarm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ProtoSwarm.sln above {AppContext.BaseDirectory}");
    }

    /// <param name="executor">linux (real containers) or fake (the test executor: tests that script a task's life through FAKE_* variables).</param>
    /// <param name="engineLabels">`lab up --engine-label NODE:KEY=VALUE`s: a node's daemon started with `--label KEY=VALUE`.</param>
    public static async Task<LabFixture> UpAsync(int managers, int workers, ulong snapshotInterval = 0, string executor = "fake", IEnumerable<string>? engineLabels = null)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"it{Environment.ProcessId % 100_000}-{Random.Shared.Next(100_000)}");
        var lab = new LabFixture(name, Locate("PROTOSWARM_CLI", "ProtoSwarm.Cli", "protoswarm"), Locate("PROTOSWARMD", "ProtoSwarm.Node", "protoswarmd"));
        // Without its container init beside it a node host fails every task, and the test would only time out waiting.
        if (executor == "linux" && !File.Exists(Path.Combine(Path.GetDirectoryName(lab.Daemon)!, "protoswarm-init")))
        {
            throw new InvalidOperationException(
                $"{lab.Daemon} has no protoswarm-init beside it, so its tasks could not start: run scripts/setup.sh and set " +
                "PROTOSWARMD and PROTOSWARM_CLI to out/bin/protoswarmd and out/bin/protoswarm, as scripts/test.sh does.");
        }

        string[] arguments =
        [
            "--managers", managers.ToString(CultureInfo.InvariantCulture),
            "--workers", workers.ToString(CultureInfo.InvariantCulture),
            "--daemon", lab.Daemon,
            "--executor", executor,
            .. snapshotInterval > 0 ? ["--snapshot-interval", snapshotInterval.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>(),
            .. (engineLabels ?? []).SelectMany(label => new[] { "--engine-label", label }),
        ];
        RunResult up;
        try
        {
            up = await lab.LabAsync("up", arguments);
        }
        catch (TimeoutException)
        {
            await lab.DownQuietlyAsync();
            throw;
        }

        if (up.ExitCode != 0)
        {
            await lab.DownQuietlyAsync();
            throw new InvalidOperationException($"lab up failed: {up}");
        }

        return lab;
    }

    /// <summary>
    /// The set-up steps of a lab that no test holds yet (`await using` starts only once it is
    /// returned): a step that fails takes the lab down before the failure goes on, so that no node
    /// host outlives its test and slows the tests after it on a small machine.
    /// </summary>
    public async Task<LabFixture> PreparedAsync(Func<LabFixture, Task> prepare)
    {
        try
        {
            await prepare(this);
            return this;
        }
        catch
        {
            await DownQuietlyAsync();
            throw;
        }
    }

    /// <summary>`lab down` after a failure: its own failure must not hide the one that led here.</summary>
    private async Task DownQuietlyAsync()
    {
        try
        {
            KeepLogs();
            await LabAsync("down");
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            // The test fails with its own error; a node host left behind is `lab down`'s to report next time.
        }
    }

    /// <summary>`protoswarm lab VERB ... --name NAME`.</summary>
    public Task<RunResult> LabAsync(string verb, params string[] arguments) =>
        RunAsync(Cli, ["lab", verb, "--name", LabName, .. arguments]);

    /// <summary>
    /// `protoswarm lab start NODE`, asserted to succeed with everything it printed (its error quotes
    /// the node's log, which the lab's `down` removes next) in the failure message.
    /// </summary>
    public async Task<RunResult> StartNodeAsync(string node)
    {
        var start = await LabAsync("start", node);
        Assert.True(start.ExitCode == 0, $"lab start {node} failed: {start}");
        return start;
    }

    /// <summary>
    /// SIGKILL to the node's daemon at a known instant, which `lab stop --kill` (a CLI process, up to
    /// ~1 s on a loaded machine) cannot give; run `lab stop --kill` after measuring, so the lab
    /// records the node stopped. Returns when the signal went (times run from it) and when the
    /// process was gone.
    /// </summary>
    public async Task<(TimeSpan Killed, TimeSpan Dead)> SigkillAsync(string node, Stopwatch clock)
    {
        var pid = (await NodeAsync(node)).GetProperty("Pid").GetInt32();
        if (pid <= 0 || !IsAlive(pid))
        {
            throw new InvalidOperationException($"{node} is not running (pid {pid})");
        }

        using var process = Process.GetProcessById(pid);
        var killed = clock.Elapsed;
        process.Kill();
        while (IsAlive(pid) && clock.Elapsed - killed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(5);
        }

        var dead = clock.Elapsed;
        return IsAlive(pid) ? throw new InvalidOperationException($"{node} (pid {pid}) still runs 5 s after SIGKILL") : (killed, dead);
    }

    /// <summary>Takes a node's underlay link down (cut off from every other node) or up again; throws if `ip` fails.</summary>
    public async Task SetLinkAsync(string node, bool up)
    {
        var run = await RunAsync("ip", ["-n", $"psl-{LabName}-{node}", "link", "set", "eth0", up ? "up" : "down"]);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"Setting {node}'s link {(up ? "up" : "down")} failed: {run}");
        }
    }

    /// <summary>`protoswarm lab exec NODE --name NAME -- COMMAND...`.</summary>
    public Task<RunResult> ExecAsync(string node, params string[] command) =>
        RunAsync(Cli, ["lab", "exec", node, "--name", LabName, "--", .. command]);

    /// <summary>The lab's nodes as `lab ls --format json` prints them.</summary>
    public async Task<IReadOnlyList<JsonElement>> NodesAsync()
    {
        var ls = await LabAsync("ls", "--format", "json");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        return JsonLines(ls.StdOut);
    }

    public async Task<JsonElement> NodeAsync(string name) =>
        (await NodesAsync()).Single(n => n.GetProperty("Name").GetString() == name);

    public async ValueTask DisposeAsync()
    {
        KeepLogs();
        var down = await LabAsync("down");
        Assert.True(down.ExitCode == 0, $"lab down failed: {down}");
    }

    /// <summary>
    /// With $PROTOSWARM_LAB_LOGS set to a directory, each node's protoswarmd.log is copied to
    /// DIR/LABNAME/NODE.log before `lab down` removes the state: what a flaky lab run leaves to read.
    /// </summary>
    private void KeepLogs()
    {
        if (Environment.GetEnvironmentVariable("PROTOSWARM_LAB_LOGS") is not { Length: > 0 } keep || !Directory.Exists(StateRoot))
        {
            return;
        }

        var target = Directory.CreateDirectory(Path.Combine(keep, LabName));
        foreach (var node in Directory.EnumerateDirectories(StateRoot))
        {
            var log = Path.Combine(node, "protoswarmd.log");
            if (File.Exists(log))
            {
                File.Copy(log, Path.Combine(target.FullName, Path.GetFileName(node) + ".log"), overwrite: true);
            }
        }
    }

    public static IReadOnlyList<JsonElement> JsonLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();

    public static async Task<RunResult> RunAsync(string file, IEnumerable<string> arguments)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}");
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {CommandTimeout.TotalSeconds} s");
        }

        return new RunResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>True while the pid runs (a zombie has already given up everything it held).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>$VARIABLE, else the binary in its project's bin/&lt;Configuration&gt;/&lt;tfm&gt;, as this test assembly is built.</summary>
    private static string Locate(string variable, string project, string binary)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } configured)
        {
            return configured;
        }

        // AppContext.BaseDirectory is <repo>/tests/ProtoSwarm.IntegrationTests/bin/<Configuration>/<tfm>/
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var tfm = output.Name;
        var configuration = output.Parent!.Name;
        var repo = output;
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "ProtoSwarm.sln")))
        {
            repo = repo.Parent;
        }

        var candidate = repo is null ? null : Path.Combine(repo.FullName, "hosting", project, "bin", configuration, tfm, binary);
        return candidate is not null && File.Exists(candidate)
            ? candidate
            : throw new InvalidOperationException(
                $"Cannot find {binary} (looked for {candidate ?? "a ProtoSwarm.sln above " + output.FullName}); build the solution or set {variable}.");
    }
}
