using System.Globalization;
using System.Text;

namespace ProtoSwarm.Cli.Lab;

internal sealed record TeardownReport(int Processes, int Namespaces, int Mounts, bool StateRemoved)
{
    public bool FoundAnything => Processes + Namespaces + Mounts > 0 || StateRemoved;
}

/// <summary>
/// Removes everything a lab made, whole or half-made, by sweeping what carries its name rather than
/// trusting lab.json alone: every namespace `psl-&lt;lab&gt;-*`, every process inside them, the pids
/// the record names (only while they are still that node's protoswarmd), mounts under the lab's
/// state dir, then the state dir itself. Running it again finds nothing and succeeds.
/// </summary>
internal static class LabTeardown
{
    public static async Task<TeardownReport> RunAsync(string root, string lab, CancellationToken ct)
    {
        var labDir = Path.Combine(root, lab);
        var state = LabState.TryLoad(root, lab);
        var namespaces = await LabNetwork.ListAsync(lab, ct).ConfigureAwait(false);

        var pids = new HashSet<int>();
        foreach (var netns in namespaces)
        {
            pids.UnionWith(await LabNetwork.PidsAsync(netns, ct).ConfigureAwait(false));
        }

        pids.UnionWith(state?.Nodes.Where(n => LabProcesses.IsDaemonOf(n.Pid, n.StateDir)).Select(n => n.Pid) ?? []);
        pids.Remove(Environment.ProcessId);
        foreach (var pid in pids)
        {
            await LabProcesses.SignalAsync(pid, "KILL", ct).ConfigureAwait(false);
        }

        foreach (var pid in pids)
        {
            if (!await LabProcesses.WaitForExitAsync(pid, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false))
            {
                throw new LabException($"Process {pid} of lab '{lab}' did not exit after SIGKILL; run `protoswarm lab down --name {lab}` again.");
            }
        }

        // Node namespaces first: deleting one takes its veth pair with it, leaving the bridge empty.
        foreach (var netns in namespaces.OrderBy(ns => ns == LabNames.BridgeNetns(lab)))
        {
            await LabNetwork.DeleteAsync(netns, ct).ConfigureAwait(false);
        }

        var mounts = MountsUnder(labDir, File.ReadAllText("/proc/self/mountinfo"));
        foreach (var mount in mounts)
        {
            var result = await ProcessRunner.RunAsync("umount", ["-l", mount], ct).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw new LabException($"Could not unmount {mount}: {result.StdErr.Trim()}; unmount it by hand, then run `protoswarm lab down --name {lab}` again.");
            }
        }

        var stateRemoved = Directory.Exists(labDir);
        if (stateRemoved)
        {
            Directory.Delete(labDir, recursive: true);
        }

        return new TeardownReport(pids.Count, namespaces.Count, mounts.Count, stateRemoved);
    }

    /// <summary>Mount points at or below <paramref name="dir"/>, deepest first, from a mountinfo text.</summary>
    public static IReadOnlyList<string> MountsUnder(string dir, string mountinfo)
    {
        var under = dir.TrimEnd('/') + "/";
        return mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select(fields => Unescape(fields[4]))
            .Where(point => point == under.TrimEnd('/') || point.StartsWith(under, StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(point => point.Length)
            .ToList();
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as \ooo octal escapes.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && int.TryParse(field.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
