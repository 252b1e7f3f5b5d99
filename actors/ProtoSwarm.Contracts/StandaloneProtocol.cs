using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// Standalone containers (`protoswarm run`, `container start|stop|restart|kill|rm|prune|logs|wait`): containers a node host runs
// from its own images outside any service, as docker's engine runs `docker run`'s. Answered by the node the
// CLI talks to, in a swarm or not, worker or manager; never forwarded. A CONTAINER is an id, a unique id
// prefix or a name (a leading '/' allowed), among the node's containers, task containers included.

/// <summary>
/// `run` / `container create`: a container from the node's image <paramref name="Image"/>. <paramref name="Command"/> is docker's
/// COMMAND [ARG...] (empty: the image's cmd); <paramref name="Entrypoint"/> null keeps the image's, empty clears it.
/// <paramref name="Name"/> empty gets a generated one. <paramref name="Network"/> empty puts it on the node's bridge; else an
/// attachable overlay (name or id) the managers give it an address on. <paramref name="Start"/> false only creates it
/// (`container create`); <paramref name="Attach"/> answers <see cref="ContainerCreated"/> and then streams its output in exec
/// frames, the last one its exit code (ProtoSwarm.Client.Control.ExecFrames). <paramref name="Interactive"/> (docker's -i) keeps
/// the main process's stdin open; attached, the client's Stdin frames are written to it and its CloseStdin frame closes it.
/// </summary>
[MessagePackObject]
public sealed record RunContainer(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Image,
    [property: Key(2)] ImmutableArray<string> Command,
    [property: Key(3)] ImmutableArray<string>? Entrypoint,
    [property: Key(4)] ImmutableArray<string> Env,
    [property: Key(5)] string WorkingDir,
    [property: Key(6)] string User,
    [property: Key(7)] string Name,
    [property: Key(8)] bool AutoRemove,
    [property: Key(9)] bool Tty,
    [property: Key(10)] string Network,
    [property: Key(11)] bool Start = true,
    [property: Key(12)] bool Attach = false,
    [property: Key(13)] bool Interactive = false,
    [property: Key(14)] string Restart = "",
    ImmutableArray<string> Volumes = default,
    ImmutableArray<MountSpec> Mounts = default,
    ImmutableArray<string> Publish = default,
    ImmutableSortedDictionary<string, string>? Labels = null,
    [property: Key(19)] string Hostname = "",
    [property: Key(20)] long NanoCpus = 0,
    [property: Key(21)] long MemoryBytes = 0,
    [property: Key(22)] long MemoryReservationBytes = 0,
    [property: Key(23)] bool PublishAll = false,
    ImmutableArray<string> CapAdd = default,
    ImmutableArray<string> CapDrop = default,
    [property: Key(26)] bool ReadOnly = false,
    [property: Key(27)] bool? Init = null,
    [property: Key(28)] string StopSignal = "",
    [property: Key(29)] int? StopTimeout = null,
    [property: Key(30)] HealthCheck? HealthCheck = null,
    ImmutableArray<string> Hosts = default,
    DnsConfig? Dns = null,
    ImmutableSortedDictionary<string, string>? Sysctls = null,
    ImmutableArray<Ulimit> Ulimits = default,
    [property: Key(35)] long PidsLimit = 0,
    ImmutableArray<string> GroupAdd = default,
    ImmutableArray<string> Tmpfs = default,
    [property: Key(38)] LogDriver? LogDriver = null,
    ImmutableArray<string> Expose = default,
    [property: Key(40)] long ShmSize = 0)
{
    // Keys 24 to 40 are docker run's confinement, health, resolver and log flags, each what the service flag of the same
    // meaning puts in a task's spec: --cap-add/--cap-drop (ContainerSpec.CapabilityAdd/Drop, "CAP_NET_ADMIN" or "ALL"),
    // --read-only, --init (null: the node's default, none), --stop-signal, --stop-timeout (seconds; null: docker's 10 s,
    // the spec's StopGracePeriod), --health-* and --no-healthcheck (HealthCheck; null keeps the image's), --add-host (Hosts,
    // swarmkit's "IP name" lines), --dns/--dns-search/--dns-option, --sysctl, --ulimit, --pids-limit (0: none), --group-add,
    // --log-driver/--log-opt (null: the node's default). Tmpfs is docker's --tmpfs PATH[:OPTIONS] as given; Expose docker's
    // --expose PORT[/PROTO] (what -P publishes beside the image's); ShmSize docker's --shm-size in bytes (0: docker's 64 MiB).

    [Key(24)]
    public ImmutableArray<string> CapAdd { get; init; } = CapAdd.IsDefault ? [] : CapAdd;

    [Key(25)]
    public ImmutableArray<string> CapDrop { get; init; } = CapDrop.IsDefault ? [] : CapDrop;

    [Key(31)]
    public ImmutableArray<string> Hosts { get; init; } = Hosts.IsDefault ? [] : Hosts;

    [Key(32)]
    public DnsConfig Dns { get; init; } = Dns ?? DnsConfig.None;

    [Key(33)]
    public ImmutableSortedDictionary<string, string> Sysctls { get; init; } = Sysctls ?? NamespacedSysctls.None;

    [Key(34)]
    public ImmutableArray<Ulimit> Ulimits { get; init; } = Ulimits.IsDefault ? [] : Ulimits;

    [Key(36)]
    public ImmutableArray<string> GroupAdd { get; init; } = GroupAdd.IsDefault ? [] : GroupAdd;

    [Key(37)]
    public ImmutableArray<string> Tmpfs { get; init; } = Tmpfs.IsDefault ? [] : Tmpfs;

    [Key(39)]
    public ImmutableArray<string> Expose { get; init; } = Expose.IsDefault ? [] : Expose;

    // Restart is docker's --restart: "no" (or empty), "on-failure[:N]", "always", "unless-stopped"; the node host starts the
    // container again when it ends, as the policy says, with docker's back-off (ProtoSwarm.Client.Control.ContainerRestartPolicy).

    /// <summary>docker's -v/--volume, as given: [SOURCE:]TARGET[:OPTIONS] (ProtoSwarm.Client.Control.VolumeFlag reads them).</summary>
    [Key(15)]
    public ImmutableArray<string> Volumes { get; init; } = Volumes.IsDefault ? [] : Volumes;

    /// <summary>docker's --mount, read by the CLI as `service create --mount` is: binds, volumes (an empty source: anonymous) and tmpfs.</summary>
    [Key(16)]
    public ImmutableArray<MountSpec> Mounts { get; init; } = Mounts.IsDefault ? [] : Mounts;

    /// <summary>docker's -p/--publish, as given: [IP:][HOST:]CONTAINER[/tcp|udp] (ProtoSwarm.Client.Control.PublishFlag reads them);
    /// each a host-mode published port of the container, forwarded by its node while it runs.</summary>
    [Key(17)]
    public ImmutableArray<string> Publish { get; init; } = Publish.IsDefault ? [] : Publish;

    // Hostname, NanoCpus, MemoryBytes and MemoryReservationBytes are docker's --hostname, --cpus, --memory and
    // --memory-reservation (0: none), the task's ContainerSpec.Hostname and Resources as a service's --hostname,
    // --limit-cpu, --limit-memory and --reserve-memory give them. PublishAll is docker's -P: each port the image EXPOSEs
    // published on a free port of the node, beside the -p ones.

    /// <summary>docker's --label and --label-file, read by the CLI (the file's first, a --label after it wins).</summary>
    [Key(18)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;
}

/// <summary>The container was made (and started unless it was only created); its output follows when attached. <paramref name="Tty"/>:
/// it runs on a terminal (docker's -t), so an attached client with -i puts its own in raw mode and sends its sizes.</summary>
[MessagePackObject]
public sealed record ContainerCreated(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] bool Tty = false);

/// <summary>`container start [-a] CONTAINER...`: starts each created or ended standalone container (its network with it); an ended
/// one runs again with its writable layer. <paramref name="Attach"/> (one container) answers <see cref="ContainerCreated"/>, then
/// streams what this run prints in exec frames, the last its exit code, as an attached `run`. <paramref name="Interactive"/> (docker's
/// start -i) attaches the client's input too: to a TTY container's terminal, which is refused (nothing started) unless
/// <paramref name="InputIsTerminal"/>, docker's "the input device is not a TTY"; else to an -i container's stdin.</summary>
[MessagePackObject]
public sealed record StartContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Containers,
    [property: Key(2)] bool Attach = false,
    [property: Key(3)] bool Interactive = false,
    [property: Key(4)] bool InputIsTerminal = false);

/// <summary>`container stop [-s SIGNAL] [-t N] CONTAINER...`: <paramref name="Signal"/> (docker 23's -s: a name with or without
/// SIG, or a number; empty: the container's stop signal), then SIGKILL after <paramref name="TimeoutSeconds"/> (null: the
/// container's stop grace period, 10 s). A task's container may be stopped: the swarm replaces it, as docker's.</summary>
[MessagePackObject]
public sealed record StopContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Containers,
    [property: Key(2)] int? TimeoutSeconds,
    [property: Key(3)] string Signal = "");

/// <summary>`container kill [-s SIGNAL] CONTAINER...`: sends <paramref name="Signal"/> (a name such as KILL, SIGHUP or RTMIN+3, or a
/// number; docker's default KILL) to each running container's main process, through the path `stop` signals it by. A task's container
/// may be killed: the swarm replaces it when it ends. KILL, or the container's stop signal, ends its restarting as `stop` does (docker's).</summary>
[MessagePackObject]
public sealed record KillContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Containers,
    [property: Key(2)] string Signal = "KILL");

/// <summary>`container restart [-s SIGNAL] [-t N] CONTAINER...`: `stop` (its signal: <paramref name="Signal"/>, empty the container's;
/// its grace period: <paramref name="TimeoutSeconds"/>, null the container's), then `start`, of each standalone container; a
/// created or ended one just starts. An --rm container is kept through it, as docker's.</summary>
[MessagePackObject]
public sealed record RestartContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Containers,
    [property: Key(2)] int? TimeoutSeconds,
    [property: Key(3)] string Signal = "");

/// <summary>`container prune`: removes those of <paramref name="Ids"/> (the client's choice by its filters) that are still ended
/// standalone containers; a running, restarting or task's one is left alone without a word, as docker's prune skips it.</summary>
[MessagePackObject]
public sealed record PruneContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Ids);

/// <summary>What `container prune` removed: the ids, and the bytes their writable layers held (docker's SpaceReclaimed).</summary>
[MessagePackObject]
public sealed record ContainersPruned(
    [property: Key(0)] ImmutableArray<string> Deleted,
    [property: Key(1)] long SpaceReclaimed);

/// <summary>
/// `container rm [-f] [-v] CONTAINER...`: removes each standalone container; a running one only with <paramref name="Force"/> (killed
/// first); its anonymous volumes only with <paramref name="RemoveVolumes"/> (docker's -v), else they stay for `volume prune`.
/// </summary>
[MessagePackObject]
public sealed record RemoveContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ImmutableArray<string> Containers,
    [property: Key(2)] bool Force,
    [property: Key(3)] bool RemoveVolumes = false);

/// <summary>`container wait CONTAINER`: answers <see cref="ContainerExited"/> once it has ended.</summary>
[MessagePackObject]
public sealed record WaitContainer(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Container);

/// <summary>A container's end: its exit code.</summary>
[MessagePackObject]
public sealed record ContainerExited(
    [property: Key(0)] string Id,
    [property: Key(1)] int ExitCode);

/// <summary>
/// `container logs [-f] [--tail N] CONTAINER`: answers <see cref="ContainerCreated"/> naming it, then streams its log in exec
/// frames (stdout and stderr apart), and last an exit frame (0): at once without <paramref name="Follow"/>, else when it ends.
/// </summary>
[MessagePackObject]
public sealed record ReadContainerLogs(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Container,
    [property: Key(2)] bool Follow,
    [property: Key(3)] int? Tail);

/// <summary>What each of start, stop, restart, kill and rm did, per container as it was named: the name again, or the error for it.</summary>
[MessagePackObject]
public sealed record ContainersChanged(
    [property: Key(0)] ImmutableArray<ContainerChange> Results);

/// <summary>One container of <see cref="ContainersChanged"/>: Error empty when it was done.</summary>
[MessagePackObject]
public sealed record ContainerChange(
    [property: Key(0)] string Container,
    [property: Key(1)] string Error);

// A standalone container on an attachable overlay (`run --network NET`): its node asks the leader's dispatcher
// for an attachment, as swarmkit's AttachNetwork makes a network attachment task. The leader stores a task of no
// service for it (its Status.ContainerId the container's), the allocator gives it an address like any task's, and
// the network's views name it as an endpoint of its node; giving it back deletes the task.

/// <summary>
/// Node -> leader's dispatcher: an attachment for container <paramref name="ContainerId"/> on <paramref name="Network"/> (a name, id or id prefix).
/// <paramref name="ContainerName"/> is the name the network's DNS answers (empty: the id); <paramref name="Aliases"/> more names there
/// (`network connect --alias`); <paramref name="Address"/> the address asked for (`network connect --ip`), empty for the allocator's next.
/// </summary>
[MessagePackObject]
public sealed record AttachContainerNetwork(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string Network,
    [property: Key(2)] string ContainerId,
    [property: Key(3)] string ContainerName = "",
    ImmutableArray<string> Aliases = default,
    [property: Key(5)] string Address = "")
{
    [Key(4)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;
}

/// <summary>The attachment (a task id) and the container's address on the network, as a task's <see cref="AttachedNetwork"/>.</summary>
[MessagePackObject]
public sealed record ContainerNetworkAttached(
    [property: Key(0)] string AttachmentId,
    [property: Key(1)] AttachedNetwork Network);

/// <summary>Node -> leader's dispatcher: the container is removed; its attachment goes (answered <see cref="ContainerNetworkDetached"/> even when it was gone).</summary>
[MessagePackObject]
public sealed record DetachContainerNetwork(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string AttachmentId);

[MessagePackObject]
public sealed record ContainerNetworkDetached([property: Key(0)] string AttachmentId);

/// <summary>
/// `network connect [--alias A]... [--ip ADDR] NETWORK CONTAINER`: a standalone container of this node joins an attachable overlay,
/// as docker's. A running (or created) one gets the interface, DNS and rules at once; an ended one keeps the network in its record
/// and joins it at its next start. Answered <see cref="ContainerChange"/> (its Error empty) or <see cref="CommandRejected"/>.
/// </summary>
[MessagePackObject]
public sealed record ConnectContainerNetwork(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Network,
    [property: Key(2)] string Container,
    ImmutableArray<string> Aliases = default,
    [property: Key(4)] string Address = "")
{
    [Key(3)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;
}

/// <summary>`network disconnect [-f] NETWORK CONTAINER`: undoes a connect (or a run's --network); answered as <see cref="ConnectContainerNetwork"/>.</summary>
[MessagePackObject]
public sealed record DisconnectContainerNetwork(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Network,
    [property: Key(2)] string Container,
    [property: Key(3)] bool Force = false);
