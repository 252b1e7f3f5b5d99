using System.Globalization;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// cgroup v2: one directory, &lt;mount&gt;/&lt;node host's cgroup&gt;/protoswarm/&lt;id&gt;, with memory, cpu and pids
/// enabled down to it. v2 allows no processes in a cgroup that hands controllers to children, so the
/// node host's own cgroup must be delegated to it (systemd Delegate=yes with the host in a leaf).
/// v2 has no devices controller: an eBPF program (<see cref="DeviceFilterProgram"/>) attached to the
/// directory before init joins it allows the same devices v1's devices.allow does.
/// </summary>
internal sealed class CgroupV2Driver(ISyscalls sys, MountInfo mount, string selfCgroup) : ICgroupDriver
{
    private const long CfsPeriod = 100_000;
    // io only counts (stats' BLOCK I/O): no limit of it is set.
    private static readonly string[] Controllers = ["memory", "cpu", "pids", "cpuset", "io"];
    private static readonly byte[] DeviceFilter = DeviceFilterProgram.Build(DeviceRules.Default);

    public string Name => "cgroupfs v2";

    public CgroupPlacement Create(string containerId, ContainerResources resources)
    {
        var own = selfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[0] == "0")?[2] ?? "/";
        var parent = (mount.MountPoint + own).TrimEnd('/') + "/protoswarm";
        var dir = parent + "/" + containerId;
        var placement = new CgroupPlacement([dir]);
        try
        {
            sys.CreateDirectory(parent);
            var available = sys.ReadFile(parent + "/cgroup.controllers").Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var wanted = Controllers.Where(available.Contains);
            sys.WriteFile(parent + "/cgroup.subtree_control", string.Join(' ', wanted.Select(c => "+" + c)));
            sys.CreateDirectory(dir);
            AttachDeviceFilter(dir);
            if (resources.MemoryLimitBytes is { } limit)
            {
                sys.WriteFile(dir + "/memory.max", Str(limit));
                if (sys.FileExists(dir + "/memory.swap.max"))
                {
                    sys.WriteFile(dir + "/memory.swap.max", "0");
                }
            }
            if (resources.MemoryReservationBytes is { } reservation)
            {
                sys.WriteFile(dir + "/memory.low", Str(reservation));
            }
            if (resources.NanoCpus is { } nanoCpus)
            {
                sys.WriteFile(dir + "/cpu.max", $"{Str(Math.Max(1000, nanoCpus * CfsPeriod / 1_000_000_000))} {Str(CfsPeriod)}");
            }
            if (resources.CpuReservationNanoCpus is { } reserved)
            {
                // runc's conversion of shares (2..262144) to weight (1..10000).
                var shares = Math.Max(2, reserved * 1024 / 1_000_000_000);
                sys.WriteFile(dir + "/cpu.weight", Str(1 + ((shares - 2) * 9999 / 262142)));
            }
            if (resources.PidsLimit is { } pids)
            {
                sys.WriteFile(dir + "/pids.max", pids > 0 ? Str(pids) : "max");
            }
            if (resources.CpusetCpus is { } cpus)
            {
                sys.WriteFile(dir + "/cpuset.cpus", cpus);
            }
            if (resources.CpusetMems is { } mems)
            {
                sys.WriteFile(dir + "/cpuset.mems", mems);
            }
            return placement;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Remove(placement);
            throw new CgroupException($"cgroup v2: {e.Message}", e);
        }
    }

    private void AttachDeviceFilter(string dir)
    {
        try
        {
            sys.AttachDeviceFilter(dir, DeviceFilter);
        }
        catch (SyscallException e)
        {
            // Without the filter a container could open the host's disks: no container then.
            throw new IOException($"device filter (an eBPF program, which needs a kernel with CONFIG_CGROUP_BPF): {e.Message}", e);
        }
    }

    public ContainerInit.InitCgroupMount[] View(CgroupPlacement placement) => CgroupView.Plan([mount], selfCgroup, placement.Directories);

    public bool WasOomKilled(CgroupPlacement placement)
    {
        var events = placement.Directories[0] + "/memory.events";
        if (!sys.FileExists(events))
        {
            return false;
        }
        return CgroupUsageFiles.StatValue(sys.ReadFile(events), "oom_kill") > 0;
    }

    public CgroupKill KillAll(CgroupPlacement placement)
    {
        // cgroup.kill (Linux 5.14) kills the whole cgroup at once, forks racing with it included; the
        // read-and-kill rounds after it only wait for the cgroup to be empty, or do the work on older kernels.
        if (placement.Directories.Count == 0)
        {
            return new CgroupKill(0, []);
        }
        var kill = placement.Directories[0] + "/cgroup.kill";
        var members = CgroupProcesses.Read(sys, placement);
        var written = false;
        if (members.Count > 0 && sys.FileExists(kill))
        {
            try
            {
                sys.WriteFile(kill, "1");
                written = true;
            }
            catch (IOException)
            {
                // Removed meanwhile, or refused: the rounds kill one by one.
            }
        }
        var result = CgroupProcesses.KillAll(sys, placement);
        return written ? result with { Killed = Math.Max(members.Count, result.Killed) } : result;
    }

    public ContainerUsage? ReadUsage(CgroupPlacement placement)
    {
        if (placement.Directories.Count == 0 || !sys.FileExists(placement.Directories[0] + "/memory.current"))
        {
            return null;
        }

        var dir = placement.Directories[0];
        var stat = sys.FileExists(dir + "/memory.stat") ? sys.ReadFile(dir + "/memory.stat") : "";
        var cpu = sys.FileExists(dir + "/cpu.stat") ? CgroupUsageFiles.StatValue(sys.ReadFile(dir + "/cpu.stat"), "usage_usec") ?? 0 : 0;
        var hasPids = sys.FileExists(dir + "/pids.current");
        var (read, write) = sys.FileExists(dir + "/io.stat") ? CgroupUsageFiles.BlockBytes(sys.ReadFile(dir + "/io.stat")) : (0, 0);
        return new ContainerUsage(
            cpu * 1000,
            CgroupUsageFiles.WithoutInactiveFile(CgroupUsageFiles.ReadNumber(sys, dir + "/memory.current"), CgroupUsageFiles.StatValue(stat, "inactive_file")),
            sys.FileExists(dir + "/memory.max") ? CgroupUsageFiles.ReadLimit(sys, dir + "/memory.max") : null,
            hasPids ? CgroupUsageFiles.ReadNumber(sys, dir + "/pids.current") : 0,
            hasPids && sys.FileExists(dir + "/pids.max") ? CgroupUsageFiles.ReadLimit(sys, dir + "/pids.max") : null)
        {
            BlockReadBytes = read,
            BlockWriteBytes = write,
        };
    }

    public void Remove(CgroupPlacement placement)
    {
        // memory.reclaim (Linux 5.19) asks for the cgroup's usage back; EAGAIN when less came back.
        var dir = placement.Directories[0];
        CgroupRemoval.ReleaseMemory(sys, dir + "/memory.current", dir + "/memory.reclaim", Str);
        CgroupRemoval.RemoveDirectory(sys, dir);
    }

    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);
}
