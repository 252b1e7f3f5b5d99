using System.Diagnostics;
using ProtoSwarm.Client.Control;

namespace ProtoSwarm.Cli.Lab;

/// <summary>`lab exec`, `lab stop` and `lab start`: one node of a lab that is up.</summary>
internal static class LabNodeControl
{
    public static async Task<int> ExecAsync(LabState state, string nodeName, IReadOnlyList<string> command)
    {
        if (command.Count == 0)
        {
            throw new LabException("lab exec needs a command after the node: `protoswarm lab exec m1 -- protoswarm node ls`.");
        }

        var node = RequireNamespace(state, nodeName);
        var psi = new ProcessStartInfo("nsenter") { UseShellExecute = false };
        psi.ArgumentList.Add($"--net={LabNames.NetnsPath(node.Netns)}");
        psi.ArgumentList.Add("--");
        foreach (var argument in command)
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment[ControlClient.SocketEnvironmentVariable] = node.ToPlan().ControlSocket;

        // This CLI's own directory first, so `protoswarm` inside a lab is the same build as the lab's.
        psi.Environment["PATH"] = ExecPath(AppContext.BaseDirectory, Environment.GetEnvironmentVariable("PATH"));
        using var process = ProcessRunner.Start(psi);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }

    public static string ExecPath(string baseDirectory, string? path) =>
        string.IsNullOrEmpty(path) ? baseDirectory.TrimEnd('/') : $"{baseDirectory.TrimEnd('/')}:{path}";

    public static async Task StopAsync(string root, LabState state, string nodeName, bool kill, TextWriter output, CancellationToken ct)
    {
        var node = state.Node(nodeName);
        if (!LabProcesses.IsDaemonOf(node.Pid, node.StateDir))
        {
            await output.WriteLineAsync($"{node.Name} is not running.").ConfigureAwait(false);
            return;
        }

        await LabProcesses.StopAsync(node.Pid, kill, ct).ConfigureAwait(false);
        state.WithPid(node.Name, 0).Save(root);
        await output.WriteLineAsync($"Stopped {node.Name} (pid {node.Pid}, SIG{(kill ? "KILL" : "TERM")}).").ConfigureAwait(false);
    }

    /// <param name="engineLabels">The daemon's `--label`s from now on, in place of those it had; null: the same.</param>
    public static async Task StartAsync(string root, LabState state, string nodeName, TextWriter output, CancellationToken ct, IReadOnlyList<string>? engineLabels = null)
    {
        var node = RequireNamespace(state, nodeName);
        if (LabProcesses.IsDaemonOf(node.Pid, node.StateDir))
        {
            if (engineLabels is not null)
            {
                throw new LabException($"{node.Name} is running (pid {node.Pid}); its engine labels change when it starts: `protoswarm lab stop --name {state.Name} {node.Name}` first.");
            }

            await output.WriteLineAsync($"{node.Name} is already running (pid {node.Pid}).").ConfigureAwait(false);
            return;
        }

        if (engineLabels is not null)
        {
            state = state.WithEngineLabels(node.Name, engineLabels);
            node = state.Node(node.Name);
        }

        var plan = node.ToPlan();
        var pid = LabProcesses.StartDaemon(state.Daemon, plan, state.Executor);
        state.WithPid(node.Name, pid).Save(root);
        try
        {
            await LabProcesses.WaitForControlSocketAsync(plan, pid, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is LabException or OperationCanceledException)
        {
            if (LabProcesses.IsDaemonOf(pid, node.StateDir))
            {
                await LabProcesses.StopAsync(pid, kill: true, CancellationToken.None).ConfigureAwait(false);
            }

            state.WithPid(node.Name, 0).Save(root);
            if (e is not LabException)
            {
                throw;
            }

            // The state dir may go right after (a test fixture's `lab down`), so the cause is copied out and quoted.
            var kept = LabNodeLog.Keep(state.Name, plan);
            throw new LabException(
                $"{e.Message.TrimEnd('.')}; " + (kept ?? $"see {plan.LogFile}."), e);
        }

        await output.WriteLineAsync($"Started {node.Name} (pid {pid}).").ConfigureAwait(false);
    }

    private static LabNodeState RequireNamespace(LabState state, string nodeName)
    {
        var node = state.Node(nodeName);
        return File.Exists(LabNames.NetnsPath(node.Netns))
            ? node
            : throw new LabException(
                $"The namespace {node.Netns} of node {node.Name} is gone, so lab '{state.Name}' is half-removed; run `protoswarm lab down --name {state.Name}`, then `lab up` again.");
    }
}
