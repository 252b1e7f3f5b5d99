using System.Text.Json.Serialization;

namespace ProtoSwarm.ContainerInit;

// What protoswarm-init needs to build one container; written by the node host (ProtoSwarm.Containers,
// which compiles this same file) and read by both init stages. Every decision (which capabilities, the
// seccomp program, which cgroups) is taken by the host; init only applies it, in a fixed order.
internal sealed class InitConfig
{
    public string Id { get; set; } = "";
    public string[] Args { get; set; } = [];
    public string[] Env { get; set; } = [];
    public string WorkingDir { get; set; } = "/";

    /// <summary>The empty directory the root filesystem is mounted on (inside the container's mount namespace).</summary>
    public string RootfsMount { get; set; } = "";
    /// <summary>Image layers, lowest first (overlayfs wants the reverse; init turns it around).</summary>
    public string[] LowerDirs { get; set; } = [];
    public string? UpperDir { get; set; }
    public string? WorkDir { get; set; }
    public bool ReadOnlyRoot { get; set; }
    /// <summary>A network namespace to join (bind-mounted file); null makes a new one with only `lo`.</summary>
    public string? NetworkNamespace { get; set; }

    public string Hostname { get; set; } = "";
    public string? Hosts { get; set; }
    public string? ResolvConf { get; set; }

    /// <summary>Bind and tmpfs mounts, parents first, made on the root after /etc and before the pivot.</summary>
    public InitMount[] Mounts { get; set; } = [];

    /// <summary>
    /// What the copy of the node's mounts in the container's namespace becomes first: "rprivate" (cut off) or
    /// "rslave" (the node's new mounts still arrive, none leave), which a bind with slave or shared propagation
    /// needs, as runc's root propagation. The root filesystem itself is always made private.
    /// </summary>
    public string RootPropagation { get; set; } = "rprivate";

    /// <summary>cgroup.procs files the container joins before its namespaces are made.</summary>
    public string[] CgroupProcs { get; set; } = [];

    /// <summary>
    /// The cgroup filesystems mounted read-only at /sys/fs/cgroup, inside the cgroup namespace so each shows the
    /// container's own cgroup as its root (docker's view): runtimes (JVM, .NET, Go) size heaps and thread pools
    /// from these files, and from the host's figures without them. Empty: /sys/fs/cgroup is left as sysfs has it.
    /// </summary>
    public InitCgroupMount[] CgroupMounts { get; set; } = [];

    /// <summary>"uid[:gid]", "name[:group]" resolved in the container's /etc/passwd and /etc/group; empty is root.</summary>
    public string User { get; set; } = "";
    public uint[] AdditionalGids { get; set; } = [];

    /// <summary>Capability mask: the bounding set, and effective/permitted when the process is root (docker's rule).</summary>
    public ulong Capabilities { get; set; }
    public bool NoNewPrivileges { get; set; } = true;
    /// <summary>A classic BPF program (8 bytes an instruction) for SECCOMP_MODE_FILTER; empty is unconfined.</summary>
    public byte[] Seccomp { get; set; } = [];

    /// <summary>The SELinux label the entrypoint and every exec'd process run as; null where the host does not enforce SELinux.</summary>
    public string? ProcessLabel { get; set; }
    /// <summary>The SELinux label of the container's own mounts (the overlay root, /dev, /dev/shm, tmpfs volumes); null with no ProcessLabel.</summary>
    public string? MountLabel { get; set; }

    public InitRlimit[] Rlimits { get; set; } = [];
    /// <summary>Kernel parameters written under /proc/sys once the namespaces exist (namespaced ones only: the host checked).</summary>
    public InitSysctl[] Sysctls { get; set; } = [];
    /// <summary>Docker's --init: this process stays PID 1, forwards signals to the entrypoint and reaps zombies.</summary>
    public bool Init { get; set; }
    /// <summary>Docker's --tty: stage 2 opens a terminal in the container's devpts, makes it the main process's stdin,
    /// stdout, stderr and controlling terminal, and hands its master to the monitor (<see cref="InitProtocol.TerminalFd"/>),
    /// which logs what the terminal gives as stdout.</summary>
    public bool Tty { get; set; }
    /// <summary>Docker's --interactive (OpenStdin): a FIFO the node host made and holds open for writing (so it reads
    /// end of file only once the host closes it); the monitor opens it as stage 2's, and so the main process's, stdin.
    /// Null: /dev/null. Not with <see cref="Tty"/>.</summary>
    public string? StdinPath { get; set; }
    public string[] MaskedPaths { get; set; } = [];
    public string[] ReadonlyPaths { get; set; } = [];

    /// <summary>The container's state directory: the monitor listens on monitor.sock there and writes exit.</summary>
    public string StateDir { get; set; } = "";
    /// <summary>The file the monitor appends the container's stdout and stderr to; null discards them.</summary>
    public string? LogPath { get; set; }
    /// <summary>A log file that would grow past this is renamed to LogPath.1 first.</summary>
    public long LogMaxBytes { get; set; } = 10 * 1024 * 1024;
    /// <summary>Files kept in all, the current one included (LogPath, LogPath.1, ...); 1 truncates instead.</summary>
    public int LogMaxFiles { get; set; } = 2;
}

internal sealed class InitMount
{
    /// <summary>"bind" or "tmpfs".</summary>
    public string Type { get; set; } = "";
    /// <summary>The host path of a bind mount: a directory (the target is made a directory) or a file (an empty file).</summary>
    public string Source { get; set; } = "";
    /// <summary>The path in the container; resolved inside the root, symlinks included.</summary>
    public string Target { get; set; } = "";
    public bool ReadOnly { get; set; }
    /// <summary>A bind's propagation, docker's word (rprivate, private, rshared, shared, rslave, slave), set on the mount after the bind.</summary>
    public string Propagation { get; set; } = "rprivate";
    /// <summary>A bind without the mounts under its source (MS_BIND alone, not MS_BIND|MS_REC).</summary>
    public bool NonRecursive { get; set; }
    /// <summary>A read-only bind made read-only with every mount under it (mount_setattr(2), AT_RECURSIVE, MOUNT_ATTR_RDONLY), not only at its
    /// top; the node sets it only where the kernel has mount_setattr.</summary>
    public bool RecursiveReadOnly { get; set; }
    /// <summary>tmpfs mount data ("size=65536k,mode=1777"); null for a bind.</summary>
    public string? Data { get; set; }
}

internal sealed class InitCgroupMount
{
    /// <summary>The directory under /sys/fs/cgroup ("memory", "cpu,cpuacct", "unified"); empty for a cgroup2
    /// mount on /sys/fs/cgroup itself (a host with only cgroup v2), otherwise a read-only tmpfs holds them.</summary>
    public string Name { get; set; } = "";
    /// <summary>"cgroup" (v1) or "cgroup2".</summary>
    public string Type { get; set; } = "";
    /// <summary>The v1 hierarchy's mount data, exactly its controllers ("cpu,cpuacct", "name=systemd"): the kernel
    /// refuses a mount whose list differs from the hierarchy's. Empty for cgroup2.</summary>
    public string Options { get; set; } = "";
    /// <summary>Symlinks beside <see cref="Name"/> to it, one per controller of a joint hierarchy ("cpu", "cpuacct").</summary>
    public string[] Links { get; set; } = [];
}

internal sealed class InitSysctl
{
    /// <summary>Dotted ("net.core.somaxconn") or as a path under /proc/sys ("net/ipv4/conf/eth0.100/forwarding").</summary>
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
}

internal sealed class InitRlimit
{
    public int Resource { get; set; }
    public ulong Soft { get; set; }
    public ulong Hard { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InitConfig))]
internal sealed partial class InitConfigJson : JsonSerializerContext;

// The lines init writes on its status socket (fd 3) and to whoever connects to monitor.sock, and the
// one command it reads on both.
internal static class InitProtocol
{
    public const int StatusFd = 3;
    public const string SharedMonitorFlag = "--host"; // `protoswarm-init --host`: the node host's shared monitor
    public const string ExecFlag = "--exec";          // `protoswarm-init --exec CONFIG`: a command run in a container (ExecStage)
    public const string MonitorSocket = "monitor.sock"; // in StateDir; a restarted node host reattaches there
    public const string AttachSocket = "attach.sock";   // in StateDir of a TTY container: its terminal, attached (Monitor)
    public const byte AttachInput = (byte)'i';          // host -> monitor on attach.sock: 'i' and bytes typed on the terminal
    public const byte AttachResize = (byte)'w';         // host -> monitor on attach.sock: 'w', rows and columns (2 + 2 bytes, big-endian)
    public const string ExitFile = "exit";              // in StateDir: the wait status, once PID 1 ended
    public const string Started = "started";   // "started <host pid>": the entrypoint was exec'd
    public const string Error = "error";       // "error <step>: <message>": nothing runs
    public const string Exit = "exit";         // "exit <wait status>": the container's PID 1 ended
    public const string Kill = "kill";         // host -> init: "kill <signal>"
    // Stage 2's end of the socket a TTY container's terminal master goes to the monitor on (SCM_RIGHTS), beside
    // its report pipe on 4; only a TTY container's stage 2 has it.
    public const int TerminalFd = 5;
}
