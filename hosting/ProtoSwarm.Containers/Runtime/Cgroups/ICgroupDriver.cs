namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>Makes, limits and removes one container's cgroup(s) under the node host's own cgroup.</summary>
internal interface ICgroupDriver
{
    string Name { get; }

    /// <summary>Creates protoswarm/&lt;id&gt;, writes the limits and confines it to <see cref="DeviceRules.Default"/>
    /// (v1's devices cgroup, v2's eBPF device program) before any process is in it; returns where init
    /// must put itself.</summary>
    CgroupPlacement Create(string containerId, ContainerResources resources);

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
    /// <summary>The driver for this process, probed once (see <see cref="CgroupDriverCache"/>).</summary>
    public static ICgroupDriver ForProcess(ISyscalls sys) => CgroupDriverCache.Process.For(sys);

    /// <summary>Makes the next <see cref="ForProcess"/> probe again if it would have returned <paramref name="driver"/>.</summary>
    public static void Forget(ICgroupDriver driver) => CgroupDriverCache.Process.Forget(driver);

    public static ICgroupDriver Probe(ISyscalls sys) => Probe(sys, sys.ReadFile("/proc/self/cgroup"));

    internal static ICgroupDriver Probe(ISyscalls sys, string self)
    {
        var mounts = MountInfo.Parse(sys.ReadFile("/proc/self/mountinfo"));
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

/// <summary>
/// A probed driver kept for the starts that follow: the mounts and the node host's own cgroups do
/// not change per container, so a start reads /proc/self/cgroup only (a few lines, against the
/// whole mountinfo parsed) to see whether the process was moved, and probes again when it was, for
/// another <see cref="ISyscalls"/>, or after <see cref="Forget"/> (a start that failed on its
/// cgroups may have met a hierarchy mounted anew).
/// </summary>
internal sealed class CgroupDriverCache
{
    public static readonly CgroupDriverCache Process = new();

    private volatile Probed? _probed;

    public ICgroupDriver For(ISyscalls sys)
    {
        var self = sys.ReadFile("/proc/self/cgroup");
        if (_probed is { } probed && ReferenceEquals(probed.Sys, sys) && probed.SelfCgroup == self)
        {
            return probed.Driver;
        }

        var driver = CgroupDrivers.Probe(sys, self);
        _probed = new Probed(sys, self, driver);
        return driver;
    }

    public void Forget(ICgroupDriver driver)
    {
        if (_probed is { } probed && ReferenceEquals(probed.Driver, driver))
        {
            _probed = null;
        }
    }

    private sealed record Probed(ISyscalls Sys, string SelfCgroup, ICgroupDriver Driver);
}

internal sealed record MountInfo(string Root, string MountPoint, string FsType, IReadOnlyList<string> SuperOptions)
{
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
            result.Add(new MountInfo(Unescape(fields[3]), Unescape(fields[4]), fields[dash + 1], fields[dash + 3].Split(',')));
        }
        return result;
    }

    private static string Unescape(string s) => s.Replace("\\040", " ", StringComparison.Ordinal);
}
