using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// The node's own containers (`ps`, `container ls`, `container inspect`, `stats`): each is a task's
// container this node runs, named by the task's id. Answered by the local node host from its task
// executor, in a swarm or not, worker or manager; never forwarded, as docker's are each engine's own.

/// <summary>
/// `ps [-a]` / `stats`: the node's running containers, with <paramref name="All"/> those that ended and
/// are still kept (a task's history), with <paramref name="Usage"/> one reading of each running one's counters.
/// </summary>
[MessagePackObject]
public sealed record ListContainers(
    [property: Key(0)] string RequestId,
    [property: Key(1)] bool All,
    [property: Key(2)] bool Usage = false);

/// <summary>The node's containers, and when their counters were read (a CPU rate is two readings apart).</summary>
[MessagePackObject]
public sealed record ContainerList(
    [property: Key(0)] ImmutableArray<ContainerObject> Containers,
    [property: Key(1)] DateTimeOffset SampledAt);

/// <summary>
/// One task container as docker's `container inspect` describes it, as far as the node knows it: its
/// name is docker's for a swarm task (SERVICE.SLOT.TASKID, SERVICE.NODEID.TASKID for a global one),
/// its labels the service's container labels and docker's com.docker.swarm.* ones. State is docker's
/// word (created, running, restarting, exited); Health is empty without a check, else starting, healthy or unhealthy.
/// Path and Args are the process (its entrypoint and command together), Entrypoint and Cmd the two apart as the
/// container's config holds them (docker's Config.Entrypoint and Config.Cmd).
/// </summary>
[MessagePackObject]
public sealed record ContainerObject(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] string Image,
    [property: Key(3)] string ImageId,
    [property: Key(4)] string Path,
    [property: Key(5)] ImmutableArray<string> Args,
    [property: Key(6)] DateTimeOffset Created,
    [property: Key(7)] string State,
    [property: Key(8)] int Pid,
    [property: Key(9)] int ExitCode,
    [property: Key(10)] DateTimeOffset? StartedAt,
    [property: Key(11)] DateTimeOffset? FinishedAt,
    [property: Key(12)] string Health,
    [property: Key(13)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(14)] ImmutableArray<PortConfig> Ports,
    [property: Key(15)] string Hostname,
    [property: Key(16)] ImmutableArray<string> Env,
    [property: Key(17)] string User,
    [property: Key(18)] string WorkingDir,
    [property: Key(19)] ImmutableArray<MountSpec> Mounts,
    [property: Key(20)] ImmutableArray<ContainerNetwork> Networks,
    [property: Key(21)] ContainerUsageReading? Usage = null,
    ImmutableArray<string> Entrypoint = default,
    ImmutableArray<string> Cmd = default,
    [property: Key(24)] int RestartCount = 0,
    [property: Key(25)] string RestartPolicy = "",
    [property: Key(26)] int MaximumRetryCount = 0,
    [property: Key(27)] long NanoCpus = 0,
    [property: Key(28)] long MemoryBytes = 0,
    [property: Key(29)] long MemoryReservationBytes = 0,
    [property: Key(30)] string NetworkMode = "",
    [property: Key(31)] ContainerSpec? Spec = null,
    [property: Key(32)] long PidsLimit = 0,
    [property: Key(33)] LogDriver? LogConfig = null,
    ImmutableArray<string> ExposedPorts = default,
    ImmutableSortedDictionary<string, string>? Tmpfs = null,
    [property: Key(36)] long ShmSize = 0,
    [property: Key(37)] HealthCheck? Healthcheck = null,
    [property: Key(38)] int HealthFailingStreak = 0,
    ImmutableArray<ContainerHealthProbe> HealthLog = default,
    [property: Key(40)] string Error = "",
    ImmutableSortedDictionary<string, string>? VolumePaths = null)
{
    // Spec: the container spec it runs (a task's, or the one a run made up), whence inspect's HostConfig.CapAdd, CapDrop,
    // ReadonlyRootfs, Init, Dns*, ExtraHosts, Sysctls, Ulimits, GroupAdd and Config.StopSignal, StopTimeout; null from a node
    // before it. Healthcheck: the check it runs, its spec's over its image's (docker's Config.Healthcheck), null without one. PidsLimit (0: none) and LogConfig (null: the node's default) are HostConfig's of the same
    // names. ExposedPorts, Tmpfs and ShmSize: a standalone container's --expose (with its image's), --tmpfs (path to its
    // options) and --shm-size (0: docker's 64 MiB). Error: docker's State.Error, why its last start failed (a standalone
    // container's; its ExitCode then 126, 127 or 128 as docker's daemon sets it), empty once it started.

    /// <summary>The node's directory of each volume the container mounts, by the volume's name (docker's Mounts[].Source of a volume).</summary>
    [Key(41)]
    public ImmutableSortedDictionary<string, string> VolumePaths { get; init; } = VolumePaths ?? ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    [Key(34)]
    public ImmutableArray<string> ExposedPorts { get; init; } = ExposedPorts.IsDefault ? [] : ExposedPorts;

    [Key(35)]
    public ImmutableSortedDictionary<string, string> Tmpfs { get; init; } = Tmpfs ?? ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    // NetworkMode: docker's HostConfig.NetworkMode: host or none for a container on that network mode, bridge for one on the
    // node's bridge, the first network's name for a standalone container run on an overlay, default for a task's on overlays.

    // NanoCpus, MemoryBytes, MemoryReservationBytes: the limits the container runs under (docker's HostConfig.NanoCpus,
    // Memory, MemoryReservation): a task's resources, or run's --cpus, --memory and --memory-reservation; 0 for none.

    // RestartCount: how often the node host started the container again by its restart policy (docker's RestartCount).
    // RestartPolicy: docker's HostConfig.RestartPolicy.Name ("no", "on-failure", "always", "unless-stopped"); empty for a task's
    // container. MaximumRetryCount: docker's HostConfig.RestartPolicy.MaximumRetryCount (on-failure:N).

    /// <summary>The task's command, else its image's entrypoint; empty when neither has one.</summary>
    [Key(22)]
    public ImmutableArray<string> Entrypoint { get; init; } = Entrypoint.IsDefault ? [] : Entrypoint;

    /// <summary>The task's args, else (without a command of the task's) its image's cmd; empty when none.</summary>
    [Key(23)]
    public ImmutableArray<string> Cmd { get; init; } = Cmd.IsDefault ? [] : Cmd;

    /// <summary>
    /// docker's State.Health.Log: the last five probes, oldest first (HealthFailingStreak: its FailingStreak, the failures
    /// in a row that counted); empty without a check or before its first probe.
    /// </summary>
    [Key(39)]
    public ImmutableArray<ContainerHealthProbe> HealthLog { get; init; } = HealthLog.IsDefault ? [] : HealthLog;
}

/// <summary>One health probe as docker's State.Health.Log shows it: exit code -1 when it could not run or timed out, the first 4096 bytes of its output.</summary>
[MessagePackObject]
public sealed record ContainerHealthProbe(
    [property: Key(0)] DateTimeOffset Start,
    [property: Key(1)] DateTimeOffset End,
    [property: Key(2)] int ExitCode,
    [property: Key(3)] string Output);

/// <summary>
/// A network the container is attached to: its name (its id when the node does not know it) and address (CIDR; empty while
/// the container has none, as docker's of an ended container), and docker's Gateway, MacAddress and EndpointID of its
/// endpoint (empty where it has none: on none, or ended).
/// </summary>
[MessagePackObject]
public sealed record ContainerNetwork(
    [property: Key(0)] string Name,
    [property: Key(1)] string NetworkId,
    [property: Key(2)] string Address,
    [property: Key(3)] ImmutableArray<string> Aliases,
    [property: Key(4)] string Gateway = "",
    [property: Key(5)] string MacAddress = "",
    [property: Key(6)] string EndpointId = "");

/// <summary>
/// A running container's counters at <see cref="ContainerList.SampledAt"/>: CPU time since it started, memory and its limit (the
/// node's memory without one), processes, the bytes its network interfaces but loopback received and sent, and those it read
/// from and wrote to block devices (each null from a node before them).
/// </summary>
[MessagePackObject]
public sealed record ContainerUsageReading(
    [property: Key(0)] long CpuNanoseconds,
    [property: Key(1)] long MemoryBytes,
    [property: Key(2)] long MemoryLimitBytes,
    [property: Key(3)] long Pids,
    [property: Key(4)] long? NetRxBytes = null,
    [property: Key(5)] long? NetTxBytes = null,
    [property: Key(6)] long? BlockReadBytes = null,
    [property: Key(7)] long? BlockWriteBytes = null);
