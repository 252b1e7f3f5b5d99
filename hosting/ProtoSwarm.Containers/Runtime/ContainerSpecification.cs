using MountPropagation = ProtoSwarm.Contracts.MountPropagation;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>Everything needed to run one container on this node, already resolved from the task and
/// the image (entrypoint + command joined, image env merged, layers located).</summary>
public sealed record ContainerSpecification
{
    /// <summary>Letters, digits, '_', '.', '-'; names the cgroup (protoswarm/&lt;id&gt;) and the state directory.</summary>
    public required string Id { get; init; }

    /// <summary>The process to run: argv[0] is looked up in the container's PATH when it has no '/'.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>When the container was made (docker's Created), kept in its state directory; null: when it is started.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>The image's layer directories, lowest first (the image store's order).</summary>
    public required IReadOnlyList<string> Layers { get; init; }

    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "/";

    /// <summary>Docker's --user: "uid[:gid]" or "name[:group]" from the image's /etc/passwd; empty is root.</summary>
    public string User { get; init; } = "";
    public IReadOnlyList<uint> AdditionalGroups { get; init; } = [];

    /// <summary>Defaults to the first 12 characters of the id, as docker does.</summary>
    public string? Hostname { get; init; }

    /// <summary>Docker's --add-host "name:ip" entries, added to /etc/hosts.</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];

    /// <summary>docker's /etc/hosts lines every container with a network namespace of its own starts with (one on none has these alone).</summary>
    public const string LocalhostLines = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        + "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

    /// <summary>The container's /etc/hosts before the <see cref="ExtraHosts"/> lines (the node's own for a container on the host
    /// network, as docker copies the host's); null: the localhost lines and the hostname at 127.0.1.1.</summary>
    public string? Hosts { get; init; }

    /// <summary>The container's /etc/resolv.conf; null copies the host's.</summary>
    public string? ResolvConf { get; init; }

    public bool ReadOnlyRootfs { get; init; }

    /// <summary>A network namespace the container joins: one prepared for it (its overlay interfaces already in it), or the
    /// node's own (docker's host network); null gives it a new one with only a loopback.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Bind and tmpfs mounts, made on the root filesystem before it is pivoted to; a volume is a
    /// bind of its directory (VolumeStore.ResolveMounts turns a task's mounts into these).</summary>
    public IReadOnlyList<ContainerMount> Mounts { get; init; } = [];

    /// <summary>Capability names ("NET_ADMIN" or "CAP_NET_ADMIN", or "ALL") added to / dropped from docker's default 14.</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];
    public IReadOnlyList<string> CapDrop { get; init; } = [];

    public ContainerResources Resources { get; init; } = new();
    public IReadOnlyList<ContainerRlimit> Rlimits { get; init; } = [];

    /// <summary>Docker's --sysctl: namespaced kernel parameters ("net.core.somaxconn" -> "1024"), set before the entrypoint runs.</summary>
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();

    /// <summary>Docker's --init: protoswarm-init stays PID 1, forwards signals to the entrypoint and reaps zombies.</summary>
    public bool Init { get; init; }

    /// <summary>Docker's --tty: the main process gets a pseudo-terminal of the container's own devpts as its stdin,
    /// stdout, stderr and controlling terminal, and TERM=xterm unless <see cref="Env"/> sets TERM. Its log is what
    /// the terminal gives (one stream, stdout; lines end in \r as the terminal turns \n into \r\n).</summary>
    public bool Tty { get; init; }

    /// <summary>Docker's --interactive without --tty: the main process's stdin is a FIFO (&lt;state&gt;/stdin) the node host
    /// holds open for writing (<see cref="LinuxContainer.Stdin"/>), so it reads what is written there and end of file once
    /// that is closed (or the node host that started it is gone); /dev/null otherwise.</summary>
    public bool OpenStdin { get; init; }

    /// <summary>How the monitor keeps the container's stdout and stderr (&lt;state&gt;/container.log); null discards them.</summary>
    public ContainerLogOptions? Log { get; init; } = new();
}

/// <summary>Docker's json-file max-size and max-file: a log that would grow past MaxBytes is renamed
/// container.log.1 (container.log.2 ...), and only MaxFiles files are kept, the current one included.</summary>
public sealed record ContainerLogOptions
{
    public long MaxBytes { get; init; } = 10 * 1024 * 1024;
    public int MaxFiles { get; init; } = 2;
}

public enum ContainerMountKind
{
    Bind = 0,
    Tmpfs = 1,
}

/// <summary>
/// One mount of a container, resolved on this node. Bind: <see cref="Source"/> is a host path (a file
/// or a directory; the target is made of the same kind), MS_BIND|MS_REC (MS_BIND alone when
/// <see cref="NonRecursive"/>), then remounted read-only when asked (with every mount under it, by mount_setattr(2)
/// with AT_RECURSIVE, as docker 25 does: see <see cref="ReadOnlyNonRecursive"/> and <see cref="ReadOnlyForceRecursive"/>),
/// then given its <see cref="Propagation"/>. Tmpfs: nosuid, nodev, noexec as docker mounts one, with a size in bytes (0: the kernel's
/// default) and a mode (0: 1777). The target is resolved inside the root, so a symlink in the image
/// never leads it out.
/// </summary>
public sealed record ContainerMount
{
    public required ContainerMountKind Kind { get; init; }
    public string Source { get; init; } = "";
    public required string Target { get; init; }
    public bool ReadOnly { get; init; }
    public long TmpfsSizeBytes { get; init; }
    public int TmpfsMode { get; init; }
    /// <summary>A bind's propagation (docker's bind-propagation); a slave or shared one makes the container's copy of the node's mounts rslave.</summary>
    public MountPropagation Propagation { get; init; }
    /// <summary>Docker's bind-recursive=disabled: the mounts under the source stay out.</summary>
    public bool NonRecursive { get; init; }
    /// <summary>Docker's bind-recursive=writable: a read-only bind is read-only at its top mount only, the mounts under it stay
    /// writable (docker 24's read-only bind). Otherwise a read-only bind is read-only all through where the kernel has
    /// mount_setattr(2) (5.12 or later), and at its top only, with a line in the node's log, where it has not.</summary>
    public bool ReadOnlyNonRecursive { get; init; }
    /// <summary>Docker's bind-recursive=readonly: a read-only bind is read-only all through, or the container does not start.</summary>
    public bool ReadOnlyForceRecursive { get; init; }

    /// <summary>A read-only bind this node makes read-only with the mounts under it, when its kernel can.</summary>
    internal bool WantsRecursiveReadOnly => Kind == ContainerMountKind.Bind && ReadOnly && !ReadOnlyNonRecursive;

    public static ContainerMount Bind(string source, string target, bool readOnly = false, MountPropagation propagation = MountPropagation.RPrivate, bool nonRecursive = false) =>
        new() { Kind = ContainerMountKind.Bind, Source = source, Target = target, ReadOnly = readOnly, Propagation = propagation, NonRecursive = nonRecursive };

    public static ContainerMount Tmpfs(string target, long sizeBytes = 0, int mode = 0, bool readOnly = false) =>
        new() { Kind = ContainerMountKind.Tmpfs, Target = target, TmpfsSizeBytes = sizeBytes, TmpfsMode = mode, ReadOnly = readOnly };
}

/// <summary>Limits and reservations (docker/swarmkit units: bytes, nano-CPUs).</summary>
public sealed record ContainerResources
{
    public long? MemoryLimitBytes { get; init; }
    public long? MemoryReservationBytes { get; init; }
    public long? NanoCpus { get; init; }
    /// <summary>Becomes CPU shares (1 CPU = 1024), as swarmkit maps a reservation.</summary>
    public long? CpuReservationNanoCpus { get; init; }
    public long? PidsLimit { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
}

/// <summary>Docker's --ulimit: name as in docker ("nofile", "nproc", "core", ...).</summary>
public sealed record ContainerRlimit(string Name, ulong Soft, ulong Hard);

/// <summary>How a container ended: ExitCode is the process's code, or 128 + Signal when a signal ended it;
/// Message is the runtime's word when it knows more than the status (empty otherwise).</summary>
public sealed record ContainerExit(int ExitCode, int? Signal, bool OomKilled, string Message = "")
{
    internal static ContainerExit FromWaitStatus(int status, bool oomKilled)
    {
        var signal = status & 0x7f;
        return signal == 0
            ? new ContainerExit((status >> 8) & 0xff, null, oomKilled)
            : new ContainerExit(128 + signal, signal, oomKilled);
    }
}

/// <summary>Where this node keeps containers and finds protoswarm-init.</summary>
public sealed record ContainerRuntimeOptions
{
    /// <summary>Defaults to protoswarm-init next to the running program (protoswarmd).</summary>
    public string InitPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "protoswarm-init");

    /// <summary>Per-container directories: config, the writable layer (upper, work), the rootfs mount point,
    /// the log, the monitor's socket and the exit status. A unix socket path has at most 107 bytes, so
    /// StateRoot/&lt;id&gt;/monitor.sock must fit in that.</summary>
    public string StateRoot { get; init; } = "/var/lib/protoswarm/containers";

    /// <summary>How long init may take to exec the entrypoint before the start is given up.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True (the default): every container of this process is supervised by one shared monitor
    /// process (`protoswarm-init --host`, <see cref="SharedMonitor"/>); false: each by a monitor process of
    /// its own. Same protocol, files and behaviour either way; the shared one saves a process start per
    /// container and its memory, at the price of one monitor's failure ending all of its containers.</summary>
    public bool SharedMonitor { get; init; } = true;

    /// <summary>Draws the SELinux categories of a container, where the host enforces SELinux; tests seed it.</summary>
    internal Random LabelRandom { get; init; } = Random.Shared;
}

/// <summary>The container did not start; the message names the step and the reason
/// ("container init: pivot_root: Operation not permitted").</summary>
public sealed class ContainerStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The specification cannot run here; each problem is a line a user can act on.</summary>
public sealed class InvalidContainerSpecificationException(IReadOnlyList<string> problems)
    : Exception("invalid container specification: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
