using System.Text.RegularExpressions;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime.Cgroups;
using MountPropagation = ProtoSwarm.Contracts.MountPropagation;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>Checks a specification (runc's way: a list of small checks before any syscall), then turns
/// it into what protoswarm-init applies.</summary>
internal static partial class InitConfigBuilder
{
    private const long MinimumMemory = 6 * 1024 * 1024; // docker's lower bound

    // Docker's masked and read-only paths.
    public static readonly string[] MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ];

    public static readonly string[] ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private static readonly Dictionary<string, int> RlimitNumbers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cpu"] = 0, ["fsize"] = 1, ["data"] = 2, ["stack"] = 3, ["core"] = 4, ["rss"] = 5, ["nproc"] = 6,
        ["nofile"] = 7, ["memlock"] = 8, ["as"] = 9, ["locks"] = 10, ["sigpending"] = 11, ["msgqueue"] = 12,
        ["nice"] = 13, ["rtprio"] = 14, ["rttime"] = 15,
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex IdPattern();

    public static IReadOnlyList<string> Validate(ContainerSpecification spec, ISyscalls sys)
    {
        var problems = new List<string>();
        if (!IdPattern().IsMatch(spec.Id))
        {
            problems.Add($"container id \"{spec.Id}\": use letters, digits, '_', '.', '-' (at most 128)");
        }
        if (spec.Command.Count == 0 || spec.Command[0].Length == 0)
        {
            problems.Add("no command: the image has no entrypoint or cmd and the task gives none");
        }
        if (spec.Layers.Count == 0)
        {
            problems.Add("no image layers");
        }
        foreach (var layer in spec.Layers.Where(l => !sys.DirectoryExists(l)))
        {
            problems.Add($"image layer {layer} does not exist");
        }
        // The managers' rule (sethostname's 64 bytes, no white space): a stack service's "{{.Service.Name}}-{{.Task.Slot}}" has a '_'.
        if (spec.Hostname is { Length: > 0 } hostname && ProtoSwarm.Contracts.ServiceSpecValidator.HostnameProblem(hostname) is { } hostnameProblem)
        {
            problems.Add($"hostname: {hostnameProblem}");
        }
        if (!spec.WorkingDir.StartsWith('/'))
        {
            problems.Add($"working directory \"{spec.WorkingDir}\" must be absolute");
        }
        foreach (var cap in spec.CapAdd.Concat(spec.CapDrop).Where(c => !Capabilities.IsAll(c) && Capabilities.Number(c) is null))
        {
            problems.Add($"unknown capability \"{cap}\"");
        }
        var r = spec.Resources;
        if (r.MemoryLimitBytes is { } memory && memory < MinimumMemory)
        {
            problems.Add($"memory limit {memory} bytes: the minimum is 6 MiB");
        }
        if (r.MemoryReservationBytes is { } reservation && r.MemoryLimitBytes is { } max && reservation > max)
        {
            problems.Add("memory reservation above the memory limit");
        }
        if (r.NanoCpus is { } cpus && (cpus < 10_000_000 || cpus > Environment.ProcessorCount * 1_000_000_000L))
        {
            problems.Add($"cpu limit {cpus / 1e9:0.##}: the range of CPUs on this node is 0.01 to {Environment.ProcessorCount}");
        }
        if (r.PidsLimit is { } pids && pids is > 0 and < 2)
        {
            problems.Add("pids limit below 2: not even the container's init could fork");
        }
        if (spec.Log is { } log && (log.MaxBytes < 4096 || log.MaxFiles < 1))
        {
            problems.Add($"log max-size {log.MaxBytes} and max-file {log.MaxFiles}: at least 4096 bytes and 1 file");
        }
        foreach (var limit in spec.Rlimits)
        {
            if (!RlimitNumbers.ContainsKey(limit.Name))
            {
                problems.Add($"unknown ulimit \"{limit.Name}\"");
            }
            else if (limit.Soft > limit.Hard)
            {
                problems.Add($"ulimit {limit.Name}: soft limit {limit.Soft} above hard limit {limit.Hard}");
            }
        }
        foreach (var (key, value) in spec.Sysctls)
        {
            // Every container has a network namespace of its own (a new one or the task's), so net.* is namespaced here too.
            if (ProtoSwarm.Contracts.NamespacedSysctls.Problem(key) is { } problem)
            {
                problems.Add($"sysctl {key}: {problem}");
            }
            else if (value.Length == 0 || value.Contains('\n', StringComparison.Ordinal))
            {
                problems.Add($"sysctl {key}: the value must be one line of text");
            }
        }
        CheckMounts(spec.Mounts, sys, problems);
        return problems;
    }

    private static void CheckMounts(IReadOnlyList<ContainerMount> mounts, ISyscalls sys, List<string> problems)
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mount in mounts)
        {
            var kind = mount.Kind.ToString().ToLowerInvariant();
            if (!mount.Target.StartsWith('/') || mount.Target.Trim('/').Length == 0 || mount.Target.Split('/').Contains(".."))
            {
                problems.Add($"invalid mount config for type \"{kind}\": target \"{mount.Target}\" must be an absolute path other than / without '..'");
            }
            else if (!targets.Add(mount.Target.TrimEnd('/')))
            {
                problems.Add($"duplicate mount point: {mount.Target}");
            }

            switch (mount.Kind)
            {
                case ContainerMountKind.Bind when !mount.Source.StartsWith('/'):
                    problems.Add($"invalid mount config for type \"bind\": invalid mount path: '{mount.Source}' mount path must be absolute");
                    break;
                case ContainerMountKind.Bind when !sys.DirectoryExists(mount.Source) && !sys.FileExists(mount.Source):
                    problems.Add($"invalid mount config for type \"bind\": bind source path does not exist: {mount.Source}");
                    break;
                case ContainerMountKind.Bind when PropagationProblem(mount, sys) is { } problem:
                    problems.Add(problem);
                    break;
                case ContainerMountKind.Bind when mount.ReadOnly && mount.ReadOnlyForceRecursive && !mount.ReadOnlyNonRecursive && !sys.SupportsRecursiveReadOnly():
                    // Docker's daemon: "recursive read-only mounts require kernel >= 5.12", and no fall back for this one.
                    problems.Add($"mount {mount.Target}: bind-recursive=readonly needs a recursively read-only mount, and this node's kernel has no mount_setattr(2) (Linux 5.12 or later); "
                        + "use bind-recursive=enabled to have only its top mount read-only here, or constrain the service to nodes with a newer kernel");
                    break;
                case ContainerMountKind.Tmpfs when mount.TmpfsSizeBytes < 0 || mount.TmpfsMode is < 0 or > 0xFFF:
                    problems.Add($"invalid mount config for type \"tmpfs\": size {mount.TmpfsSizeBytes} or mode {Convert.ToString(mount.TmpfsMode, 8)} out of range");
                    break;
                case ContainerMountKind.Bind or ContainerMountKind.Tmpfs:
                    break;
                default:
                    problems.Add($"mount {mount.Target}: unknown kind {(int)mount.Kind}");
                    break;
            }
        }
    }

    /// <summary>
    /// Docker's rule for a shared or slave bind: the node's mount holding the source must itself be shared (for a
    /// slave, shared or a slave), or nothing would ever propagate and the option would be silently void.
    /// </summary>
    private static string? PropagationProblem(ContainerMount mount, ISyscalls sys)
    {
        var (needsShared, needsSlave) = mount.Propagation switch
        {
            MountPropagation.Shared or MountPropagation.RShared => (true, false),
            MountPropagation.Slave or MountPropagation.RSlave => (false, true),
            _ => (false, false),
        };
        if (!needsShared && !needsSlave)
        {
            return null;
        }

        if (MountInfo.Containing(sys.ReadFile("/proc/self/mountinfo"), mount.Source) is not { } holder)
        {
            return $"bind {mount.Source}: the mount holding it is not in /proc/self/mountinfo";
        }

        var word = ProtoSwarm.Contracts.MountPropagations.Name(mount.Propagation);
        return needsShared && !holder.Shared
            ? $"path {mount.Source} is mounted on {holder.MountPoint} but it is not a shared mount: bind-propagation={word} needs it shared on the node (mount --make-rshared {holder.MountPoint})"
            : needsSlave && !holder.Shared && !holder.Slave
                ? $"path {mount.Source} is mounted on {holder.MountPoint} but it is not a shared or slave mount: bind-propagation={word} needs it shared on the node (mount --make-rshared {holder.MountPoint})"
                : null;
    }

    /// <summary>rslave when a bind wants the node's mounts to keep arriving (a slave or shared one), otherwise rprivate.</summary>
    internal static string RootPropagation(IReadOnlyList<ContainerMount> mounts) =>
        mounts.Any(m => m.Kind == ContainerMountKind.Bind && m.Propagation is not (MountPropagation.RPrivate or MountPropagation.Private)) ? "rslave" : "rprivate";

    /// <summary>tmpfs mount data: the size in bytes and the mode in octal, as tmpfs reads them; empty for the kernel's defaults.</summary>
    internal static string? TmpfsData(ContainerMount mount)
    {
        var options = new List<string>();
        if (mount.TmpfsSizeBytes > 0)
        {
            options.Add($"size={mount.TmpfsSizeBytes}");
        }

        if (mount.TmpfsMode != 0)
        {
            options.Add("mode=" + Convert.ToString(mount.TmpfsMode, 8));
        }

        return string.Join(',', options);
    }

    /// <summary>The cgroup view (<see cref="CgroupView"/>), unless a mount of the task's own is at, above or inside
    /// /sys/fs/cgroup: as in docker, the user's mount then takes that place, and the view would land on or in it.</summary>
    internal static IReadOnlyList<InitCgroupMount> CgroupMounts(IReadOnlyList<ContainerMount> mounts, IReadOnlyList<InitCgroupMount> view) =>
        mounts.Any(m => CgroupView.Overlaps(m.Target)) ? [] : view;

    /// <summary>The container's environment: with a terminal, TERM=xterm first unless the spec sets TERM, as dockerd adds it
    /// before the image's and the task's variables (an exec -t gets the same, <see cref="LinuxContainer.StartExecAsync(ExecSpecification, CancellationToken)"/>).</summary>
    internal static IReadOnlyList<string> TerminalEnv(ContainerSpecification spec) =>
        spec.Tty && !spec.Env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal)) ? ["TERM=xterm", .. spec.Env] : spec.Env;

    public static InitConfig Build(ContainerSpecification spec, ContainerPaths paths, CgroupPlacement cgroups, string hostResolvConf,
        SelinuxContext? labels = null, IReadOnlyList<InitCgroupMount>? cgroupView = null, bool recursiveReadOnly = true)
    {
        var capabilities = Capabilities.Compute(spec.CapAdd, spec.CapDrop);
        var hostname = spec.Hostname ?? spec.Id[..Math.Min(12, spec.Id.Length)];
        var extra = string.Concat(spec.ExtraHosts.Select(h => h.Split(':', 2)).Select(p => $"{(p.Length > 1 ? p[1] : "")}\t{p[0]}\n"));
        var hosts = spec.Hosts is { } given
            ? (given.Length == 0 || given.EndsWith('\n') ? given : given + "\n") + extra
            : ContainerSpecification.LocalhostLines + extra + $"127.0.1.1\t{hostname}\n";
        return new InitConfig
        {
            Id = spec.Id,
            Args = [.. spec.Command],
            Env = [.. TerminalEnv(spec)],
            WorkingDir = spec.WorkingDir,
            RootfsMount = paths.Rootfs,
            LowerDirs = [.. spec.Layers],
            UpperDir = paths.Upper,
            WorkDir = paths.Work,
            ReadOnlyRoot = spec.ReadOnlyRootfs,
            NetworkNamespace = spec.NetworkNamespace,
            Hostname = hostname,
            Hosts = hosts,
            ResolvConf = spec.ResolvConf ?? hostResolvConf,
            // Parents before what is mounted inside them, as docker sorts them.
            Mounts = [.. spec.Mounts.OrderBy(m => m.Target.TrimEnd('/').Count(c => c == '/')).Select(m => new InitMount
            {
                Type = m.Kind == ContainerMountKind.Bind ? "bind" : "tmpfs",
                Source = m.Source,
                Target = m.Target,
                ReadOnly = m.ReadOnly,
                Propagation = ProtoSwarm.Contracts.MountPropagations.Name(m.Propagation),
                NonRecursive = m.NonRecursive,
                // Docker 25: read-only with every mount under it where the kernel can (recursiveReadOnly), at its top only elsewhere.
                RecursiveReadOnly = m.WantsRecursiveReadOnly && recursiveReadOnly,
                Data = m.Kind == ContainerMountKind.Tmpfs ? TmpfsData(m) : null,
            })],
            RootPropagation = RootPropagation(spec.Mounts),
            CgroupProcs = [.. cgroups.ProcsFiles],
            CgroupMounts = [.. CgroupMounts(spec.Mounts, cgroupView ?? [])],
            User = spec.User,
            AdditionalGids = [.. spec.AdditionalGroups],
            Capabilities = capabilities,
            NoNewPrivileges = true,
            Seccomp = SeccompProfile.Build(capabilities),
            ProcessLabel = labels?.ProcessLabel,
            MountLabel = labels?.MountLabel,
            Rlimits = [.. spec.Rlimits.Select(l => new InitRlimit { Resource = RlimitNumbers[l.Name], Soft = l.Soft, Hard = l.Hard })],
            Sysctls = [.. spec.Sysctls.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new InitSysctl { Key = s.Key, Value = s.Value })],
            Init = spec.Init,
            Tty = spec.Tty,
            StdinPath = spec.OpenStdin && !spec.Tty ? paths.Stdin : null,
            MaskedPaths = MaskedPaths,
            ReadonlyPaths = ReadonlyPaths,
            StateDir = paths.Root,
            LogPath = spec.Log is null ? null : paths.Log,
            LogMaxBytes = spec.Log?.MaxBytes ?? 0,
            LogMaxFiles = spec.Log?.MaxFiles ?? 0,
        };
    }
}

/// <summary>A container's directories under the state root.</summary>
internal sealed record ContainerPaths(string Root)
{
    public string Config => Root + "/config.json";
    public string Rootfs => Root + "/rootfs";
    public string Upper => Root + "/upper";
    public string Work => Root + "/work";
    public string Log => Root + "/" + ContainerLog.FileName;
    public string MonitorSocket => Root + "/" + InitProtocol.MonitorSocket;
    /// <summary>A TTY container's terminal, attached through its monitor (<see cref="TerminalAttachment"/>).</summary>
    public string AttachSocket => Root + "/" + InitProtocol.AttachSocket;
    public string Exit => Root + "/" + InitProtocol.ExitFile;
    /// <summary>The FIFO that is the main process's stdin with docker's -i.</summary>
    public string Stdin => Root + "/stdin";
    /// <summary>When the container was made (round-trip "O" text), read back by a node host that attaches to it.</summary>
    public string Created => Root + "/created";
    /// <summary>The cgroup directories, one a line: the node host's own cgroup may differ after a restart.</summary>
    public string Cgroups => Root + "/cgroups";
}
