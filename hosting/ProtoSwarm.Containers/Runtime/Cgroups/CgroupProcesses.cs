using System.Globalization;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// The processes left in a container's cgroup(s) and their end, for a container whose monitor is gone.
/// Every process of a container is in its pid namespace, so once its PID 1 is killed the kernel kills
/// the rest and lets nothing fork into that namespace any more: a few rounds of read-and-kill empty the
/// cgroup without a freezer.
/// </summary>
internal static class CgroupProcesses
{
    private const int Rounds = 500; // 10 ms apart

    /// <summary>The pids listed in the cgroup.procs files, as this process's pid namespace numbers them; none for a removed cgroup.</summary>
    public static IReadOnlyList<int> Read(ISyscalls sys, CgroupPlacement placement)
    {
        var pids = new SortedSet<int>();
        foreach (var procs in placement.ProcsFiles)
        {
            string text;
            try
            {
                if (!sys.FileExists(procs))
                {
                    continue;
                }
                text = sys.ReadFile(procs);
            }
            catch (IOException)
            {
                continue; // removed meanwhile
            }
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    pids.Add(pid);
                }
            }
        }
        return [.. pids];
    }

    /// <summary>SIGKILLs what the cgroup(s) hold until they are empty, for five seconds at most.</summary>
    public static CgroupKill KillAll(ISyscalls sys, CgroupPlacement placement)
    {
        var files = placement.ProcsFiles.ToList();
        var signalled = new HashSet<int>();
        for (var round = 0; ; round++)
        {
            var pids = Read(sys, placement);
            if (pids.Count == 0 || round == Rounds)
            {
                return new CgroupKill(signalled.Count, pids);
            }
            foreach (var pid in pids)
            {
                if (sys.KillCgroupMember(pid, files))
                {
                    signalled.Add(pid);
                }
            }
            Thread.Sleep(10);
        }
    }
}

/// <summary>How many processes were killed, and the pids still in the cgroup when the kill gave up.</summary>
internal sealed record CgroupKill(int Killed, IReadOnlyList<int> Left);
