using System.Globalization;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// cgroup v1: one directory per hierarchy (memory, cpu[,cpuacct], pids, cpuset), each at
/// &lt;mount&gt;/&lt;node host's own cgroup there&gt;/protoswarm/&lt;id&gt;. Swap is not given to containers: where the
/// kernel accounts it, memory+swap is limited like memory (docker's --memory-swap equal to --memory).
/// </summary>
internal sealed class CgroupV1Driver(ISyscalls sys, IReadOnlyList<MountInfo> mounts, string selfCgroup) : ICgroupDriver
{
    // blkio only counts (stats' BLOCK I/O): no limit of it is set.
    private static readonly string[] Controllers = ["memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "blkio"];

    private const long CfsPeriod = 100_000;

    public string Name => "cgroupfs v1";

    public CgroupPlacement Create(string containerId, ContainerResources resources)
    {
        var dirs = new Dictionary<string, string>();
        foreach (var controller in Controllers)
        {
            var dir = DirectoryFor(controller);
            if (dir is not null)
            {
                dirs[controller] = dir + "/protoswarm/" + containerId;
            }
        }
        if (!dirs.TryGetValue("memory", out var memory))
        {
            throw new CgroupException("cgroup v1: no memory hierarchy mounted");
        }

        var placement = new CgroupPlacement(dirs.Values.Distinct().ToList());
        try
        {
            foreach (var dir in placement.Directories)
            {
                sys.CreateDirectory(dir);
            }
            if (dirs.TryGetValue("devices", out var devices))
            {
                Write(devices, "devices.deny", "a");
                foreach (var rule in DeviceRules.Default)
                {
                    Write(devices, "devices.allow", rule.ToString());
                }
            }
            else
            {
                throw new CgroupException("cgroup v1: no devices hierarchy mounted; without it a container could open the host's devices");
            }

            if (dirs.TryGetValue("cpuset", out var cpuset))
            {
                // A new v1 cpuset starts empty and takes no task until it has cpus and mems.
                InheritCpuset(Path.GetDirectoryName(cpuset)!, "cpuset.cpus");
                InheritCpuset(Path.GetDirectoryName(cpuset)!, "cpuset.mems");
                Write(cpuset, "cpuset.cpus", resources.CpusetCpus ?? sys.ReadFile(Path.GetDirectoryName(cpuset) + "/cpuset.cpus").Trim());
                Write(cpuset, "cpuset.mems", resources.CpusetMems ?? sys.ReadFile(Path.GetDirectoryName(cpuset) + "/cpuset.mems").Trim());
            }
            if (resources.MemoryLimitBytes is { } limit)
            {
                Write(memory, "memory.limit_in_bytes", limit);
                if (sys.FileExists(memory + "/memory.memsw.limit_in_bytes"))
                {
                    Write(memory, "memory.memsw.limit_in_bytes", limit);
                }
            }
            if (resources.MemoryReservationBytes is { } reservation)
            {
                Write(memory, "memory.soft_limit_in_bytes", reservation);
            }
            if (dirs.TryGetValue("cpu", out var cpu))
            {
                if (resources.NanoCpus is { } nanoCpus)
                {
                    Write(cpu, "cpu.cfs_period_us", CfsPeriod);
                    Write(cpu, "cpu.cfs_quota_us", Math.Max(1000, nanoCpus * CfsPeriod / 1_000_000_000));
                }
                if (resources.CpuReservationNanoCpus is { } reserved)
                {
                    Write(cpu, "cpu.shares", Math.Max(2, reserved * 1024 / 1_000_000_000));
                }
            }
            if (resources.PidsLimit is { } pids && dirs.TryGetValue("pids", out var pidsDir))
            {
                Write(pidsDir, "pids.max", pids > 0 ? pids.ToString(CultureInfo.InvariantCulture) : "max");
            }
            return placement;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Remove(placement);
            throw new CgroupException($"cgroup v1: {e.Message}", e);
        }
    }

    public ContainerInit.InitCgroupMount[] View(CgroupPlacement placement) => CgroupView.Plan(mounts, selfCgroup, placement.Directories);

    public bool WasOomKilled(CgroupPlacement placement)
    {
        var memory = CgroupUsageFiles.DirectoryWith(sys, placement, "memory.oom_control");
        // "oom_kill N" (kernel 4.13+): the kills in this cgroup; failcnt alone only says the limit was hit.
        return memory is not null && CgroupUsageFiles.StatValue(sys.ReadFile(memory + "/memory.oom_control"), "oom_kill") > 0;
    }

    public CgroupKill KillAll(CgroupPlacement placement) => CgroupProcesses.KillAll(sys, placement);

    public ContainerUsage? ReadUsage(CgroupPlacement placement)
    {
        // Each controller may be its own hierarchy (cpu and cpuacct mounted apart, or together): found by its files.
        var memory = CgroupUsageFiles.DirectoryWith(sys, placement, "memory.usage_in_bytes");
        if (memory is null)
        {
            return null;
        }

        var usage = CgroupUsageFiles.ReadNumber(sys, memory + "/memory.usage_in_bytes");
        var stat = sys.FileExists(memory + "/memory.stat") ? sys.ReadFile(memory + "/memory.stat") : "";
        var cpu = CgroupUsageFiles.DirectoryWith(sys, placement, "cpuacct.usage");
        var pids = CgroupUsageFiles.DirectoryWith(sys, placement, "pids.current");
        var blkio = CgroupUsageFiles.DirectoryWith(sys, placement, "blkio.throttle.io_service_bytes");
        var (read, write) = blkio is null ? (0, 0) : CgroupUsageFiles.BlockBytes(sys.ReadFile(blkio + "/blkio.throttle.io_service_bytes"));
        return new ContainerUsage(
            cpu is null ? 0 : CgroupUsageFiles.ReadNumber(sys, cpu + "/cpuacct.usage"),
            CgroupUsageFiles.WithoutInactiveFile(usage, CgroupUsageFiles.StatValue(stat, "total_inactive_file")),
            CgroupUsageFiles.ReadLimit(sys, memory + "/memory.limit_in_bytes"),
            pids is null ? 0 : CgroupUsageFiles.ReadNumber(sys, pids + "/pids.current"),
            pids is null || !sys.FileExists(pids + "/pids.max") ? null : CgroupUsageFiles.ReadLimit(sys, pids + "/pids.max"))
        {
            BlockReadBytes = read,
            BlockWriteBytes = write,
        };
    }

    public void Remove(CgroupPlacement placement)
    {
        // force_empty reclaims what is charged to the memory cgroup ("before calling rmdir", the kernel's
        // cgroup v1 documentation); it returns once usage is 0 or reclaim made no progress 16 times.
        if (CgroupUsageFiles.DirectoryWith(sys, placement, "memory.force_empty") is { } memory)
        {
            CgroupRemoval.ReleaseMemory(sys, memory + "/memory.usage_in_bytes", memory + "/memory.force_empty", _ => "0");
        }
        foreach (var dir in placement.Directories)
        {
            CgroupRemoval.RemoveDirectory(sys, dir);
        }
    }

    private string? DirectoryFor(string controller)
    {
        var mount = mounts.FirstOrDefault(m => m.FsType == "cgroup" && m.SuperOptions.Contains(controller));
        if (mount is null)
        {
            return null;
        }
        // "4:memory:/process_api/x" or "1:cpu,cpuacct:/": the node host's own place in that hierarchy.
        var own = selfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3))
            .FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains(controller))?[2] ?? "/";
        if (mount.Root != "/" && own.StartsWith(mount.Root, StringComparison.Ordinal))
        {
            own = own[mount.Root.Length..];
        }
        return (mount.MountPoint + own).TrimEnd('/');
    }

    private void InheritCpuset(string dir, string file)
    {
        if (sys.ReadFile(dir + "/" + file).Trim().Length == 0)
        {
            var parent = Path.GetDirectoryName(dir)!;
            Write(dir, file, sys.ReadFile(parent + "/" + file).Trim());
        }
    }

    private void Write(string dir, string file, long value) => Write(dir, file, value.ToString(CultureInfo.InvariantCulture));

    private void Write(string dir, string file, string value)
    {
        try
        {
            sys.WriteFile(dir + "/" + file, value);
        }
        catch (IOException e)
        {
            throw new IOException($"{file} = {value}: {e.Message}", e);
        }
    }
}

internal static class CgroupRemoval
{
    /// <summary>A memory cgroup charged with more than this is removed without reclaiming it first.</summary>
    public const long ReclaimLimitBytes = 64L << 20;

    /// <summary>
    /// Gives back to the kernel the memory still charged to a container's memory cgroup whose processes
    /// are gone, just before its rmdir. Page cache outlives the cgroup it is charged to: filesystem
    /// metadata blocks (directory, inode table, bitmap blocks on the host's disk) and image files that the
    /// container read first stay cached after its files are deleted, and keep the removed cgroup "dying"
    /// (kernel memory, and a cgroup that memcg-wide walks still visit) until memory pressure reclaims them.
    /// Reclaimed here, the cgroup is freed at its rmdir. Best effort: dirty pages are not reclaimed, and a
    /// failure never fails the removal. A cgroup charged with more than <see cref="ReclaimLimitBytes"/> is
    /// left as it is: its reclaim would take the removal's time in proportion, evict cache that the next
    /// container of the same image may read again, and the cache itself then costs more than its cgroup.
    /// </summary>
    public static void ReleaseMemory(ISyscalls sys, string usageFile, string reclaimFile, Func<long, string> request)
    {
        try
        {
            if (!sys.FileExists(reclaimFile) || !sys.FileExists(usageFile))
            {
                return;
            }
            var usage = CgroupUsageFiles.ReadNumber(sys, usageFile);
            if (usage > 0 && usage <= ReclaimLimitBytes)
            {
                sys.WriteFile(reclaimFile, request(usage));
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // Removed meanwhile, or reclaim fell short (v2's EAGAIN): the rmdir goes ahead all the same.
        }
    }

    // A cgroup whose last task just exited can stay busy for a moment; rmdir is retried briefly.
    public static void RemoveDirectory(ISyscalls sys, string dir)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (!sys.DirectoryExists(dir))
            {
                return;
            }
            try
            {
                sys.RemoveDirectory(dir);
                return;
            }
            catch (SyscallException e) when (e.Errno == 16 && attempt < 50)
            {
                Thread.Sleep(10);
            }
        }
    }
}
