namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>Makes, limits and removes one container's cgroup(s) under the node host's own cgroup.</summary>
internal interface ICgroupDriver
{
    string Name { get; }

    /// <summary>Creates protoswarm/&lt;id&gt;, writes the limits and confines it to <see cref="DeviceRules.Default"/>
    /// (v1's devices cgroup, v2's eBPF device program) before any process is in it; returns where init
    /// must put itself.</summary>
    CgroupPlacement Create(string containerId, ContainerResources resources);

    /// <summary>The cgroup filesystems init mounts at the container's /sys/fs/cgroup (<see cref="CgroupView"/>).</summary>
    ContainerInit.InitCgroupMount[] View(CgroupPlacement placement);

    /// <summary>Whether the kernel's OOM killer killed a process of this cgroup.</summary>
    bool WasOomKilled(CgroupPlacement placement);

    /// <summary>SIGKILLs every process left in the container's cgroup(s) until none is (a few seconds at
    /// most): a container whose monitor is gone, whose PID 1 may have outlived it.</summary>
    CgroupKill KillAll(CgroupPlacement placement);

    /// <summary>
    /// The container's CPU time, memory and process count with their limits, read from its cgroup(s);
    /// null when its cgroup is gone (removed, or never made). Reads only: safe beside anything else.
    /// </summary>
    ContainerUsage? ReadUsage(CgroupPlacement placement);

    /// <summary>Reclaims what is still charged to the memory cgroup (when it is at most
    /// <see cref="CgroupRemoval.ReclaimLimitBytes"/>; never fails for it), then removes the directories.</summary>
    void Remove(CgroupPlacement placement);
}

/// <summary>The container's cgroup directories (one per v1 hierarchy, one in v2).</summary>
internal sealed record CgroupPlacement(IReadOnlyList<string> Directories)
{
    public IEnumerable<string> ProcsFiles => Directories.Select(d => d + "/cgroup.procs");
}

internal sealed class CgroupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Picks the driver by probing: a cgroup2 mount with a memory controller means v2, otherwise v1.</summary>
internal static class CgroupDrivers
{
    public static ICgroupDriver Probe(ISyscalls sys)
    {
        var mounts = MountInfo.Parse(sys.ReadFile("/proc/self/mountinfo"));
        var self = sys.ReadFile("/proc/self/cgroup");
        var unified = mounts.FirstOrDefault(m => m.FsType == "cgroup2");
        if (unified is not null
            && sys.FileExists(unified.MountPoint + "/cgroup.controllers")
            && sys.ReadFile(unified.MountPoint + "/cgroup.controllers").Split(' ', '\n').Contains("memory"))
        {
            return new CgroupV2Driver(sys, unified, self);
        }
        if (mounts.Any(m => m.FsType == "cgroup" && m.SuperOptions.Contains("memory")))
        {
            return new CgroupV1Driver(sys, mounts, self);
        }
        throw new CgroupException("no cgroup memory controller on this node (neither cgroup v1 nor a cgroup2 hierarchy with controllers)");
    }
}

/// <summary>One line of /proc/self/mountinfo; the optional fields ("shared:7", "master:7") say its propagation.</summary>
internal sealed record MountInfo(string Root, string MountPoint, string FsType, IReadOnlyList<string> SuperOptions, IReadOnlyList<string>? OptionalFields = null)
{
    public bool Shared => OptionalFields?.Any(f => f.StartsWith("shared:", StringComparison.Ordinal)) == true;

    public bool Slave => OptionalFields?.Any(f => f.StartsWith("master:", StringComparison.Ordinal)) == true;

    /// <summary>The mount that holds <paramref name="path"/>: the deepest mount point at or above it, the last listed of those stacked on one point (the one seen).</summary>
    public static MountInfo? Containing(string text, string path)
    {
        var full = "/" + path.Trim('/');
        return Parse(text)
            .Where(m => m.MountPoint == "/" || full == m.MountPoint || full.StartsWith(m.MountPoint + "/", StringComparison.Ordinal))
            .Select((m, i) => (Mount: m, Order: i))
            .OrderByDescending(m => m.Mount.MountPoint.Length).ThenByDescending(m => m.Order)
            .Select(m => m.Mount)
            .FirstOrDefault();
    }

    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    public static List<MountInfo> Parse(string text)
    {
        var result = new List<MountInfo>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (dash < 6 || fields.Length < dash + 4)
            {
                continue;
            }
            result.Add(new MountInfo(Unescape(fields[3]), Unescape(fields[4]), fields[dash + 1], fields[dash + 3].Split(','), fields[6..dash]));
        }
        return result;
    }

    private static string Unescape(string s) => s.Replace("\\040", " ", StringComparison.Ordinal);
}
