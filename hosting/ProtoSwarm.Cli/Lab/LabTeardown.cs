using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ProtoSwarm.Cli.Lab;

internal sealed record TeardownReport(int Processes, int Namespaces, int Mounts, bool StateRemoved, int Cgroups = 0)
{
    public bool FoundAnything => Processes + Namespaces + Mounts + Cgroups > 0 || StateRemoved;
}

/// <summary>
/// Removes everything a lab made, whole or half-made, by sweeping what carries its name rather than
/// trusting lab.json alone: the `lab forward` processes its forwards/ records name, every namespace
/// `psl-&lt;lab&gt;-*`, every process inside them (the nodes'
/// protoswarmd and their containers' monitors: a container's PID 1 dies with its monitor), the pids
/// the record names (only while they are still that node's protoswarmd), the cgroups of the nodes'
/// containers, mounts under the lab's state dir, then the state dir itself. Running it again finds
/// nothing and succeeds.
/// </summary>
internal static class LabTeardown
{
    public static async Task<TeardownReport> RunAsync(string root, string lab, CancellationToken ct)
    {
        var labDir = Path.Combine(root, lab);
        var state = LabState.TryLoad(root, lab);

        // Forwarders listen in the machine's namespace, so no namespace sweep finds them: their records do.
        var forwards = await LabForward.StopAllAsync(root, lab, ct).ConfigureAwait(false);
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

        var cgroups = await RemoveContainerCgroupsAsync(labDir, ct).ConfigureAwait(false);
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

        return new TeardownReport(pids.Count + forwards, namespaces.Count, mounts.Count, stateRemoved, cgroups);
    }

    /// <summary>
    /// The cgroups (protoswarm/&lt;container id&gt;, in every hierarchy) of the containers the lab's
    /// nodes kept under STATE/containers. Their processes are dying with their monitors, so an rmdir
    /// refused as busy is tried again for a few seconds.
    /// </summary>
    private static async Task<int> RemoveContainerCgroupsAsync(string labDir, CancellationToken ct)
    {
        if (!Directory.Exists(labDir))
        {
            return 0;
        }

        var ids = Directory.EnumerateDirectories(labDir)
            .Select(node => Path.Combine(node, "containers"))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .Select(Path.GetFileName)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        if (ids.Count == 0 || !Directory.Exists("/sys/fs/cgroup"))
        {
            return 0;
        }

        var dirs = ContainerCgroupParents("/sys/fs/cgroup", depth: 0)
            .SelectMany(parent => ids.Select(id => Path.Combine(parent, id)))
            .Where(Directory.Exists)
            .ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var removed = 0;
        foreach (var dir in dirs)
        {
            while (true)
            {
                try
                {
                    Directory.Delete(dir);
                    removed++;
                    break;
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    // A process that changed its user lost the parent-death signal its monitor gave
                    // it (the kernel clears it on setuid), so it outlives the monitor: kill it here.
                    KillMembers(dir);
                    await Task.Delay(50, ct).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw new LabException($"Could not remove the cgroup {dir}: {e.Message}; kill the processes in {dir}/cgroup.procs, then run `protoswarm lab down` again.");
                }
            }
        }

        return removed;
    }

    private static void KillMembers(string cgroupDir)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Combine(cgroupDir, "cgroup.procs"));
        }
        catch (IOException)
        {
            return;
        }

        foreach (var line in lines)
        {
            if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }
    }

    /// <summary>Directories named protoswarm in the cgroup hierarchies, a few levels down (where the node hosts' own cgroups are).</summary>
    private static IEnumerable<string> ContainerCgroupParents(string dir, int depth)
    {
        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateDirectories(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var child in children)
        {
            if (Path.GetFileName(child) == "protoswarm")
            {
                yield return child;
            }
            else if (depth < 4)
            {
                foreach (var found in ContainerCgroupParents(child, depth + 1))
                {
                    yield return found;
                }
            }
        }
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
