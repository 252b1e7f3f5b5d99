using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// A forward that runs, kept as STATE/&lt;lab&gt;/forwards/&lt;pid&gt;.json while it listens: what `lab ls`
/// shows and `lab down` stops. The process's start time (field 22 of /proc/PID/stat) is kept with its
/// pid, so a pid recycled since is never taken for the forwarder.
/// </summary>
internal sealed record LabForwardRecord(int Pid, ulong StartTime, string Listen, IReadOnlyList<string> Ports, IReadOnlyList<string> Nodes)
{
    public static string Dir(string root, string lab) => Path.Combine(root, lab, "forwards");

    public static string FileOf(string root, string lab, int pid) =>
        Path.Combine(Dir(root, lab), string.Create(CultureInfo.InvariantCulture, $"{pid}.json"));

    /// <summary>docker's way of writing a published port: 127.0.0.1:8080-&gt;80/tcp.</summary>
    public string PortsText => string.Join(", ", Ports.Select(PortForward.Parse).Select(f => $"{Listen}:{f.ListenPort}->{f.NodePort}/tcp"));

    public bool IsRunning => ProcessStartTime(Pid) is { } started && started == StartTime;

    public static LabForwardRecord ForThisProcess(IPAddress listen, IReadOnlyList<PortForward> forwards, IReadOnlyList<ForwardTarget> targets) =>
        new(Environment.ProcessId, ProcessStartTime(Environment.ProcessId) ?? 0, listen.ToString(),
            forwards.Select(f => f.ToString()).ToList(), targets.Select(t => t.Node).ToList());

    public void Save(string root, string lab)
    {
        var file = FileOf(root, lab, Pid);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temp = file + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, LabJson.Default.LabForwardRecord));
        File.Move(temp, file, overwrite: true);
    }

    public static void Delete(string root, string lab, int pid) => File.Delete(FileOf(root, lab, pid));

    /// <summary>Every record of the lab, running or not; an unreadable one (a crash mid-write) is skipped.</summary>
    public static IReadOnlyList<LabForwardRecord> LoadAll(string root, string lab)
    {
        var dir = Dir(root, lab);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        var records = new List<LabForwardRecord>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), LabJson.Default.LabForwardRecord) is { } record)
                {
                    records.Add(record);
                }
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                // Half-written or gone meanwhile: nothing to show or stop.
            }
        }

        return records;
    }

    /// <summary>Field 22 of /proc/PID/stat (clock ticks after boot), or null when the process is gone or a zombie.</summary>
    public static ulong? ProcessStartTime(int pid)
    {
        if (!LabProcesses.IsAlive(pid))
        {
            return null;
        }

        try
        {
            return ParseStartTime(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The fields after "(comm)" start at field 3 (the state), so field 22 is the 20th of them.</summary>
    public static ulong? ParseStartTime(string stat)
    {
        var close = stat.LastIndexOf(')');
        var fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
    }
}

/// <summary>
/// `lab forward`: published ports of a lab reached from the machine's own loopback. The lab makes
/// nothing in the machine's namespace (see <see cref="LabNetwork"/>), so a browser here cannot reach a
/// node; this process listens on 127.0.0.1 only and opens each connection from inside a node's
/// namespace, taking the nodes in turn, which shows the routing mesh answering on every node.
/// </summary>
internal static class LabForward
{
    public static readonly IPAddress ListenAddress = IPAddress.Loopback;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The chosen nodes (all of the lab's when none is given), in the lab's order, each once.</summary>
    public static IReadOnlyList<ForwardTarget> Targets(LabState state, IReadOnlyList<string> nodes)
    {
        var chosen = nodes.Count == 0
            ? state.Nodes
            : nodes.Select(state.Node).Distinct().OrderBy(n => state.Nodes.ToList().IndexOf(n)).ToList();
        return chosen.Select(n => new ForwardTarget(n.Name, LabNames.NetnsPath(n.Netns), IPAddress.Parse(n.Address))).ToList();
    }

    /// <summary>Forwards in this process until <paramref name="ct"/> is cancelled (Ctrl-C, SIGTERM from `lab down`).</summary>
    public static async Task RunAsync(string root, LabState state, IReadOnlyList<PortForward> forwards, IReadOnlyList<ForwardTarget> targets, TextWriter output, CancellationToken ct)
    {
        foreach (var target in targets.Where(t => !File.Exists(t.NetnsPath)))
        {
            throw new LabException(
                $"The namespace {target.NetnsPath} of node {target.Node} is gone, so lab '{state.Name}' is half-removed; run `protoswarm lab down --name {state.Name}`, then `lab up` again.");
        }

        // Ctrl-C and `lab down`'s SIGTERM end the forward here, so its record goes and it says so.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sockets = new NetnsSocketFactory();
        await using var forwarder = TcpForwarder.Listen(ListenAddress, forwards, targets, sockets, output);
        var record = LabForwardRecord.ForThisProcess(ListenAddress, forwards, targets);
        record.Save(root, state.Name);
        try
        {
            await output.WriteLineAsync(
                $"Forwarding {record.PortsText} to {string.Join(", ", targets.Select(t => $"{t.Node} ({t.Address})"))}{(targets.Count > 1 ? ", one connection to each node in turn" : "")} (pid {record.Pid}); Ctrl-C stops it.").ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await forwarder.RunAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            LabForwardRecord.Delete(root, state.Name, record.Pid);
        }

        await output.WriteLineAsync($"Stopped forwarding {record.PortsText}.").ConfigureAwait(false);
    }

    /// <summary>
    /// Starts this same CLI again as `lab forward` without -d, in a session of its own (setsid: the
    /// terminal's Ctrl-C and hang-up do not reach it) with its output appended to a log in the lab's
    /// state dir, and returns once it listens (its record appears) or says why it could not.
    /// </summary>
    public static async Task<(int Pid, string Log)> StartDetachedAsync(
        string root, LabState state, IReadOnlyList<string> nodes, IReadOnlyList<PortForward> forwards, CancellationToken ct)
    {
        var dir = LabForwardRecord.Dir(root, state.Name);
        Directory.CreateDirectory(dir);
        var log = Path.Combine(dir, $"forward-{string.Join('-', forwards.Select(f => f.ListenPort))}.log");
        File.AppendAllText(log, string.Create(CultureInfo.InvariantCulture, $"---- protoswarm lab forward {string.Join(' ', forwards)} at {DateTimeOffset.UtcNow:O}\n"));
        var logStart = new FileInfo(log).Length;

        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$@\" >>\"$0\" 2>&1 </dev/null");
        psi.ArgumentList.Add(log);
        foreach (var argument in ChildArguments(SelfCommand(Environment.ProcessPath, Environment.GetCommandLineArgs()[0]), state.Name, nodes, forwards))
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = ProcessRunner.Start(psi);
        var pid = process.Id;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(LabForwardRecord.FileOf(root, state.Name, pid)))
            {
                return (pid, log);
            }

            if (process.HasExited || !LabProcesses.IsAlive(pid))
            {
                throw new LabException($"the forwarder exited before it listened: {LogSince(log, logStart)} (log: {log})");
            }

            if (clock.Elapsed > ReadyTimeout)
            {
                await LabProcesses.StopAsync(pid, kill: true, CancellationToken.None).ConfigureAwait(false);
                throw new LabException($"the forwarder did not listen within {ReadyTimeout.TotalSeconds:0} s and was stopped; see {log}.");
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops every running forward of the lab (SIGTERM, then SIGKILL) and removes the records; returns how many ran.</summary>
    public static async Task<int> StopAllAsync(string root, string lab, CancellationToken ct)
    {
        var stopped = 0;
        foreach (var record in LabForwardRecord.LoadAll(root, lab))
        {
            if (record.IsRunning && record.Pid != Environment.ProcessId)
            {
                await LabProcesses.SignalAsync(record.Pid, "TERM", ct).ConfigureAwait(false);
                if (!await LabProcesses.WaitForExitAsync(record.Pid, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false))
                {
                    await LabProcesses.StopAsync(record.Pid, kill: true, ct).ConfigureAwait(false);
                }

                stopped++;
            }

            LabForwardRecord.Delete(root, lab, record.Pid);
        }

        return stopped;
    }

    /// <summary>How to start this CLI again: its own executable, or `dotnet protoswarm.dll` when run that way.</summary>
    public static IReadOnlyList<string> SelfCommand(string? processPath, string? entryAssembly)
    {
        if (string.IsNullOrEmpty(processPath))
        {
            throw new LabException("Cannot tell which executable this CLI is, so it cannot start itself in the background; run `lab forward` without -d.");
        }

        return Path.GetFileName(processPath) == "dotnet" && !string.IsNullOrEmpty(entryAssembly)
            ? [processPath, entryAssembly]
            : [processPath];
    }

    public static IReadOnlyList<string> ChildArguments(IReadOnlyList<string> self, string lab, IReadOnlyList<string> nodes, IReadOnlyList<PortForward> forwards) =>
    [
        .. self,
        "lab", "forward", "--name", lab,
        .. nodes.SelectMany(n => new[] { "--node", n }),
        .. forwards.Select(f => f.ToString()),
    ];

    private static string LogSince(string log, long offset)
    {
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd().Trim();
        return text.Length == 0 ? "it printed nothing" : text.Replace("protoswarm lab forward: ", "", StringComparison.Ordinal);
    }
}
