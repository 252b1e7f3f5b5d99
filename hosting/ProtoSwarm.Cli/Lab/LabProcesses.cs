using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Lab;

/// <summary>Starting, finding and stopping the protoswarmd of each lab node.</summary>
internal static class LabProcesses
{
    public static readonly TimeSpan SocketTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts protoswarmd inside the node's namespace, detached: its own session (so the terminal's
    /// Ctrl-C and hang-up do not reach it) and its output appended to the node's log. setsid and
    /// nsenter both exec in place, so the pid we get is protoswarmd's own.
    /// </summary>
    public static int StartDaemon(string daemon, LabNodePlan node, string executor)
    {
        Directory.CreateDirectory(node.StateDir);
        File.AppendAllText(node.LogFile,
            string.Create(CultureInfo.InvariantCulture, $"---- protoswarm lab: starting {node.Name} at {DateTimeOffset.UtcNow:O}\n"));

        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$@\" >>\"$0\" 2>&1 </dev/null");
        psi.ArgumentList.Add(node.LogFile);
        psi.ArgumentList.Add("nsenter");
        psi.ArgumentList.Add($"--net={LabNames.NetnsPath(node.Netns)}");
        psi.ArgumentList.Add("--");
        foreach (var argument in LabPlan.DaemonArguments(daemon, node, executor))
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = ProcessRunner.Start(psi);
        return process.Id;
    }

    /// <summary>Alive and not a zombie: a reaped-late zombie has already released its socket.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// True when <paramref name="pid"/> is alive and is this node's protoswarmd (its command line
    /// names the node's state dir), so that a pid recycled since lab.json was written is never killed.
    /// </summary>
    public static bool IsDaemonOf(int pid, string stateDir)
    {
        if (!IsAlive(pid))
        {
            return false;
        }

        try
        {
            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return arguments.Zip(arguments.Skip(1)).Any(pair => pair is ("--state", var dir) && dir == stateDir);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static async Task SignalAsync(int pid, string signal, CancellationToken ct)
    {
        // kill(1) rather than a P/Invoke: the lab is no hot path and .NET only offers SIGKILL.
        await ProcessRunner.RunAsync("kill", ["-s", signal, pid.ToString(CultureInfo.InvariantCulture)], ct).ConfigureAwait(false);
    }

    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (deadline.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>SIGTERM (or SIGKILL), then wait; a daemon that ignores SIGTERM for too long is killed.</summary>
    public static async Task StopAsync(int pid, bool kill, CancellationToken ct)
    {
        await SignalAsync(pid, kill ? "KILL" : "TERM", ct).ConfigureAwait(false);
        if (await WaitForExitAsync(pid, kill ? TimeSpan.FromSeconds(5) : StopTimeout, ct).ConfigureAwait(false))
        {
            return;
        }

        if (!kill)
        {
            await SignalAsync(pid, "KILL", ct).ConfigureAwait(false);
            if (await WaitForExitAsync(pid, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new LabException($"Process {pid} did not exit after SIGKILL; check `ps -o stat,cmd -p {pid}`.");
    }

    /// <summary>Waits until the node's control socket answers GetVersion; the caller points at the log on failure.</summary>
    public static async Task WaitForControlSocketAsync(LabNodePlan node, int pid, CancellationToken ct)
    {
        var client = new ControlClient(node.ControlSocket);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (!IsAlive(pid))
            {
                throw new LabException(
                    $"protoswarmd on {node.Name} (pid {pid}) exited before its control socket answered.");
            }

            try
            {
                await client.RequestAsync<VersionInfo>(new GetVersion(Guid.NewGuid().ToString("N")), TimeSpan.FromSeconds(2), ct)
                    .ConfigureAwait(false);
                return;
            }
            catch (SwarmCommandException) when (deadline.Elapsed < SocketTimeout)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
            catch (SwarmCommandException e)
            {
                throw new LabException(
                    $"protoswarmd on {node.Name} (pid {pid}) did not answer on {node.ControlSocket} within {SocketTimeout.TotalSeconds:0} s: {e.Message}", e);
            }
        }
    }
}
