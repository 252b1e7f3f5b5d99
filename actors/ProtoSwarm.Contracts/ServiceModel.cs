using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>How many tasks a service runs: docker's --mode (replicated, global, replicated-job, global-job).</summary>
public enum ServiceModeKind
{
    Replicated = 0,
    Global = 1,
    ReplicatedJob = 2,
    GlobalJob = 3,
}

/// <summary>
/// The service's mode. Replicas counts for Replicated; MaxConcurrent and TotalCompletions for
/// ReplicatedJob (docker's defaults: 1 at a time, as many completions as MaxConcurrent). Signed, so
/// a negative count from a client reaches the validator and is refused with a fix instead of wrapping.
/// </summary>
[MessagePackObject]
public sealed record ServiceMode(
    [property: Key(0)] ServiceModeKind Kind,
    [property: Key(1)] long Replicas = 0,
    [property: Key(2)] long MaxConcurrent = 0,
    [property: Key(3)] long TotalCompletions = 0)
{
    public static ServiceMode ReplicatedMode(long replicas = 1) => new(ServiceModeKind.Replicated, Replicas: replicas);

    public static readonly ServiceMode GlobalMode = new(ServiceModeKind.Global);

    public static ServiceMode ReplicatedJobMode(long maxConcurrent = 1, long? totalCompletions = null) =>
        new(ServiceModeKind.ReplicatedJob, MaxConcurrent: maxConcurrent, TotalCompletions: totalCompletions ?? maxConcurrent);

    public static readonly ServiceMode GlobalJobMode = new(ServiceModeKind.GlobalJob);

    [IgnoreMember]
    public bool IsGlobal => Kind is ServiceModeKind.Global or ServiceModeKind.GlobalJob;

    [IgnoreMember]
    public bool IsJob => Kind is ServiceModeKind.ReplicatedJob or ServiceModeKind.GlobalJob;
}

public enum MountType
{
    Bind = 0,
    Volume = 1,
    Tmpfs = 2,
}

/// <summary>
/// How mounts made under a bind mount travel between the node and the container (docker's
/// bind-propagation, swarmkit's numbers): private keeps them apart, slave brings the node's into the
/// container, shared also lets the container's reach its peers; the r- forms apply to the mounts under
/// the bind as well.
/// </summary>
public enum MountPropagation
{
    RPrivate = 0,
    Private = 1,
    RShared = 2,
    Shared = 3,
    RSlave = 4,
    Slave = 5,
}

/// <summary>Docker's words for a <see cref="MountPropagation"/>: rprivate, private, rshared, shared, rslave, slave.</summary>
public static class MountPropagations
{
    public const string Words = "rprivate, private, rshared, shared, rslave or slave";

    public static string Name(MountPropagation propagation) => propagation.ToString().ToLowerInvariant();

    /// <summary>The propagation docker's word names (case as docker's CLI lowers it), or null.</summary>
    public static MountPropagation? Parse(string? word) => word?.ToLowerInvariant() switch
    {
        "rprivate" => MountPropagation.RPrivate,
        "private" => MountPropagation.Private,
        "rshared" => MountPropagation.RShared,
        "shared" => MountPropagation.Shared,
        "rslave" => MountPropagation.RSlave,
        "slave" => MountPropagation.Slave,
        _ => null,
    };
}

/// <summary>
/// A mount of the task's container, as docker's --mount: type, source (a host path for bind, a volume
/// name for volume, empty for an anonymous volume or a tmpfs), target, readonly, and the type's own
/// options. Zero and empty mean docker's defaults: a tmpfs of no set size (the kernel's half of RAM)
/// with mode 1777, a volume filled from the image on first use, no volume labels, a bind that is
/// recursive and rprivate. A bind's propagation (docker's bind-propagation) is null when none was given,
/// as in every mount stored before it existed: nodes make it rprivate, and inspect shows no BindOptions.
/// BindNonRecursive is docker's bind-recursive=disabled: the mounts under the source stay out. A read-only
/// bind (or volume) is read-only with every mount under it (docker 25's recursive read-only, where the node's
/// kernel has mount_setattr(2), else at its top only); BindReadOnlyNonRecursive is docker's bind-recursive=writable
/// (the mounts under it stay writable), BindReadOnlyForceRecursive its bind-recursive=readonly (recursively
/// read-only, or the task fails to start). Both need ReadOnly.
/// </summary>
[MessagePackObject]
public sealed record MountSpec(
    [property: Key(0)] MountType Type,
    [property: Key(1)] string Source,
    [property: Key(2)] string Target,
    [property: Key(3)] bool ReadOnly = false,
    [property: Key(4)] long TmpfsSizeBytes = 0,
    [property: Key(5)] int TmpfsMode = 0,
    [property: Key(6)] bool VolumeNoCopy = false,
    ImmutableSortedDictionary<string, string>? VolumeLabels = null,
    [property: Key(8)] MountPropagation? BindPropagation = null,
    [property: Key(9)] bool BindNonRecursive = false,
    [property: Key(10)] string VolumeDriver = "",
    ImmutableSortedDictionary<string, string>? VolumeOptions = null,
    [property: Key(12)] bool BindReadOnlyNonRecursive = false,
    [property: Key(13)] bool BindReadOnlyForceRecursive = false)
{

    /// <summary>
    /// The local driver's options (docker's volume-opt, compose's driver_opts: type, device, o) given to a volume the
    /// task's node creates for this mount, as <see cref="VolumeLabels"/>; an existing volume keeps its own.
    /// </summary>
    [Key(11)]
    public ImmutableSortedDictionary<string, string> VolumeOptions { get; init; } = VolumeOptions ?? ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Given to a volume the task's node creates for this mount; an existing volume keeps its own.</summary>
    [Key(7)]
    public ImmutableSortedDictionary<string, string> VolumeLabels { get; init; } = VolumeLabels ?? ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>What the node applies: the given propagation, or docker's default rprivate.</summary>
    [IgnoreMember]
    public MountPropagation Propagation => BindPropagation ?? MountPropagation.RPrivate;

    // The labels compare by content, so two specs read from the same flags are equal.
    public bool Equals(MountSpec? other) =>
        other is not null && Type == other.Type && Source == other.Source && Target == other.Target && ReadOnly == other.ReadOnly
        && TmpfsSizeBytes == other.TmpfsSizeBytes && TmpfsMode == other.TmpfsMode && VolumeNoCopy == other.VolumeNoCopy
        && BindPropagation == other.BindPropagation && BindNonRecursive == other.BindNonRecursive && VolumeDriver == other.VolumeDriver
        && BindReadOnlyNonRecursive == other.BindReadOnlyNonRecursive && BindReadOnlyForceRecursive == other.BindReadOnlyForceRecursive
        && SameMap(VolumeLabels, other.VolumeLabels) && SameMap(VolumeOptions, other.VolumeOptions);

    public override int GetHashCode() => HashCode.Combine(Type, Source, Target, ReadOnly, TmpfsSizeBytes, TmpfsMode, VolumeNoCopy, HashCode.Combine(VolumeLabels.Count, BindPropagation, BindNonRecursive, VolumeDriver, VolumeOptions.Count, BindReadOnlyNonRecursive, BindReadOnlyForceRecursive));

    private static bool SameMap(ImmutableSortedDictionary<string, string> a, ImmutableSortedDictionary<string, string> b) =>
        a.Count == b.Count && a.All(l => b.TryGetValue(l.Key, out var v) && v == l.Value);
}

/// <summary>CPU in billionths of a CPU (docker's NanoCPUs), memory in bytes and, as a limit only, the number of processes (docker's --limit-pids); 0 means none.</summary>
[MessagePackObject]
public sealed record ResourceAmounts(
    [property: Key(0)] long NanoCpus,
    [property: Key(1)] long MemoryBytes,
    [property: Key(2)] long Pids = 0)
{
    public static readonly ResourceAmounts None = new(0, 0);
}

/// <summary>Limits cap a task; reservations are what the scheduler sets aside on its node.</summary>
[MessagePackObject]
public sealed record ResourceRequirements(
    [property: Key(0)] ResourceAmounts Limits,
    [property: Key(1)] ResourceAmounts Reservations)
{
    public static readonly ResourceRequirements None = new(ResourceAmounts.None, ResourceAmounts.None);
}

/// <summary>When a task that ended is replaced; swarm's default is Any (jobs: OnFailure).</summary>
public enum RestartCondition
{
    Any = 0,
    OnFailure = 1,
    None = 2,
}

/// <summary>Docker's --restart-condition, --restart-delay (5 s), --restart-max-attempts (0: no limit), --restart-window (0: forever).</summary>
[MessagePackObject]
public sealed record RestartPolicy(
    [property: Key(0)] RestartCondition Condition,
    [property: Key(1)] TimeSpan Delay,
    [property: Key(2)] long MaxAttempts = 0,
    [property: Key(3)] TimeSpan Window = default)
{
    public static readonly TimeSpan DefaultDelay = TimeSpan.FromSeconds(5);

    public static readonly RestartPolicy Default = new(RestartCondition.Any, DefaultDelay);

    public static readonly RestartPolicy JobDefault = new(RestartCondition.OnFailure, DefaultDelay);
}

/// <summary>Docker's --placement-pref spread=node.labels.X: spread tasks evenly over the label's values.</summary>
[MessagePackObject]
public sealed record PlacementPreference(
    [property: Key(0)] string SpreadDescriptor);

/// <summary>Where tasks may run: constraints as docker writes them ("node.role==manager"), preferences, max replicas per node (0: no limit).</summary>
[MessagePackObject]
public sealed record Placement(
    ImmutableArray<string> Constraints = default,
    ImmutableArray<PlacementPreference> Preferences = default,
    [property: Key(2)] long MaxReplicasPerNode = 0)
{
    [Key(0)]
    public ImmutableArray<string> Constraints { get; init; } = Constraints.IsDefault ? [] : Constraints;

    [Key(1)]
    public ImmutableArray<PlacementPreference> Preferences { get; init; } = Preferences.IsDefault ? [] : Preferences;

    public static readonly Placement None = new();
}

/// <summary>
/// Docker's HEALTHCHECK: Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]; empty
/// inherits the image's. Zero durations and retries mean docker's defaults (30 s, 30 s, 3, 0 s, and
/// 5 s for StartInterval: how often to probe during the start period, until the first success).
/// </summary>
[MessagePackObject]
public sealed record HealthCheck(
    ImmutableArray<string> Test,
    [property: Key(1)] TimeSpan Interval = default,
    [property: Key(2)] TimeSpan Timeout = default,
    [property: Key(3)] long Retries = 0,
    [property: Key(4)] TimeSpan StartPeriod = default,
    [property: Key(5)] TimeSpan StartInterval = default)
{
    [Key(0)]
    public ImmutableArray<string> Test { get; init; } = Test.IsDefault ? [] : Test;
}

/// <summary>A network the task joins (name or id) and its extra DNS names there.</summary>
[MessagePackObject]
public sealed record NetworkAttachment(
    [property: Key(0)] string Target,
    ImmutableArray<string> Aliases = default,
    ImmutableArray<string> Addresses = default)
{
    [Key(1)]
    public ImmutableArray<string> Aliases { get; init; } = Aliases.IsDefault ? [] : Aliases;

    /// <summary>The address asked for on the network (docker's `network connect --ip`, swarmkit's attachment Addresses); a standalone container's only.</summary>
    [Key(2)]
    public ImmutableArray<string> Addresses { get; init; } = Addresses.IsDefault ? [] : Addresses;
}

/// <summary>
/// The container a task runs: docker's ContainerSpec. Env holds "KEY=VALUE" entries as docker's
/// --env does. StopGracePeriod null means docker's 10 s, zero a kill at once. Init (docker's --init): true runs a small
/// init as the container's PID 1 that forwards signals to the entrypoint and reaps zombies; null is
/// the node's default, which is none. TTY (docker's --tty): the main process gets a pseudo-terminal as its
/// stdin, stdout and stderr (so programs that ask whether they write to a terminal get yes, and its log
/// is what the terminal gave, \r\n and all); key 24, so a spec stored before it reads false. OpenStdin (docker's -i, a
/// standalone container's only): the main process's stdin stays open for the node host to write (`run -i`), not /dev/null.
/// </summary>
[MessagePackObject]
public sealed record ContainerSpec(
    [property: Key(0)] string Image,
    ImmutableArray<string> Command = default,
    ImmutableArray<string> Args = default,
    ImmutableArray<string> Env = default,
    [property: Key(4)] string Dir = "",
    [property: Key(5)] string User = "",
    ImmutableArray<MountSpec> Mounts = default,
    [property: Key(7)] HealthCheck? HealthCheck = null,
    [property: Key(8)] string StopSignal = "",
    TimeSpan LegacyStopGracePeriod = default,
    ImmutableSortedDictionary<string, string>? Labels = null,
    [property: Key(11)] string Hostname = "",
    [property: Key(12)] bool ReadOnly = false,
    ImmutableArray<string> CapabilityAdd = default,
    ImmutableArray<string> CapabilityDrop = default,
    ImmutableArray<Ulimit> Ulimits = default,
    ImmutableArray<string> Hosts = default,
    ImmutableArray<string> Groups = default,
    ImmutableArray<SecretReference> Secrets = default,
    ImmutableArray<ConfigReference> Configs = default,
    [property: Key(20)] bool? Init = null,
    ImmutableSortedDictionary<string, string>? Sysctls = null,
    DnsConfig? Dns = null,
    TimeSpan? StopGracePeriod = null,
    [property: Key(24)] bool TTY = false,
    [property: Key(25)] bool OpenStdin = false)
{
    /// <summary>
    /// How long the stop signal is given before SIGKILL (docker's --stop-grace-period): null is docker's
    /// 10 s (<see cref="DefaultStopGracePeriod"/>), zero a kill at once after the stop signal, as docker
    /// keeps 0. Key 23: key 9 held the period before, with zero for "not set", so a spec stored then
    /// (no key 23) reads its key 9 that way; <see cref="LegacyStopGracePeriod"/> still writes it.
    /// </summary>
    [Key(23)]
    public TimeSpan? StopGracePeriod { get; init; } = StopGracePeriod ?? (LegacyStopGracePeriod > TimeSpan.Zero ? LegacyStopGracePeriod : null);

    /// <summary>
    /// Key 9 as it was stored before key 23: the period, zero when not set. Written from
    /// <see cref="StopGracePeriod"/> so a reader that knows only key 9 keeps the period it knew (it reads
    /// a zero as docker's 10 s); read only to fill <see cref="StopGracePeriod"/> when key 23 is absent.
    /// </summary>
    [Key(9)]
    public TimeSpan LegacyStopGracePeriod => StopGracePeriod ?? TimeSpan.Zero;

    /// <summary>Docker's DNSConfig (--dns, --dns-search, --dns-option); <see cref="DnsConfig.None"/> keeps the node's.</summary>
    [Key(22)]
    public DnsConfig Dns { get; init; } = Dns ?? DnsConfig.None;

    /// <summary>
    /// Kernel parameters set in the container's own namespaces before its entrypoint runs (docker's
    /// --sysctl): "net.core.somaxconn" -> "1024". Only namespaced ones (<see cref="NamespacedSysctls"/>).
    /// </summary>
    [Key(21)]
    public ImmutableSortedDictionary<string, string> Sysctls { get; init; } = Sysctls ?? NamespacedSysctls.None;

    /// <summary>Secrets mounted read-only in the container (docker's --secret), each at /run/secrets/&lt;File.Name&gt;.</summary>
    [Key(18)]
    public ImmutableArray<SecretReference> Secrets { get; init; } = Secrets.IsDefault ? [] : Secrets;

    /// <summary>Configs mounted read-only in the container (docker's --config), each at its File.Name (an absolute path).</summary>
    [Key(19)]
    public ImmutableArray<ConfigReference> Configs { get; init; } = Configs.IsDefault ? [] : Configs;

    /// <summary>Capabilities added to docker's default set ("NET_ADMIN", "CAP_SYS_TIME", or "ALL").</summary>
    [Key(13)]
    public ImmutableArray<string> CapabilityAdd { get; init; } = CapabilityAdd.IsDefault ? [] : CapabilityAdd;

    /// <summary>Capabilities dropped from the default set (or "ALL").</summary>
    [Key(14)]
    public ImmutableArray<string> CapabilityDrop { get; init; } = CapabilityDrop.IsDefault ? [] : CapabilityDrop;

    [Key(15)]
    public ImmutableArray<Ulimit> Ulimits { get; init; } = Ulimits.IsDefault ? [] : Ulimits;

    /// <summary>Extra /etc/hosts lines, as swarmkit keeps them: "IP hostname [alias...]" (docker's --host host:ip).</summary>
    [Key(16)]
    public ImmutableArray<string> Hosts { get; init; } = Hosts.IsDefault ? [] : Hosts;

    /// <summary>Supplementary groups of the container's process, by name (from the image's /etc/group) or number (docker's --group).</summary>
    [Key(17)]
    public ImmutableArray<string> Groups { get; init; } = Groups.IsDefault ? [] : Groups;

    [Key(1)]
    public ImmutableArray<string> Command { get; init; } = Command.IsDefault ? [] : Command;

    [Key(2)]
    public ImmutableArray<string> Args { get; init; } = Args.IsDefault ? [] : Args;

    [Key(3)]
    public ImmutableArray<string> Env { get; init; } = Env.IsDefault ? [] : Env;

    [Key(6)]
    public ImmutableArray<MountSpec> Mounts { get; init; } = Mounts.IsDefault ? [] : Mounts;

    [Key(10)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;

    public static readonly TimeSpan DefaultStopGracePeriod = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Docker's ContainerSpec.DNSConfig. Nameservers: the resolvers the task's embedded DNS forwards names
/// outside the swarm to (a task on no network gets them in its resolv.conf); empty is the node's own.
/// Search: the task's search domains (empty: the node's). Options: resolv.conf options ("ndots:2",
/// "timeout:1"); a task on a network keeps ndots:0 unless an ndots option is given.
/// </summary>
[MessagePackObject]
public sealed record DnsConfig(
    ImmutableArray<string> Nameservers = default,
    ImmutableArray<string> Search = default,
    ImmutableArray<string> Options = default)
{
    public static readonly DnsConfig None = new();

    [Key(0)]
    public ImmutableArray<string> Nameservers { get; init; } = Nameservers.IsDefault ? [] : Nameservers;

    [Key(1)]
    public ImmutableArray<string> Search { get; init; } = Search.IsDefault ? [] : Search;

    [Key(2)]
    public ImmutableArray<string> Options { get; init; } = Options.IsDefault ? [] : Options;

    [IgnoreMember]
    public bool IsEmpty => Nameservers.IsEmpty && Search.IsEmpty && Options.IsEmpty;
}

/// <summary>
/// Docker's TaskTemplate.LogDriver (--log-driver, --log-opt; compose's logging:): how a node keeps a task's
/// output. Null in the template is the node's default, json-file with max-size 10m and max-file 2.
/// </summary>
[MessagePackObject]
public sealed record LogDriver(
    [property: Key(0)] string Name,
    ImmutableSortedDictionary<string, string>? Options = null)
{
    [Key(1)]
    public ImmutableSortedDictionary<string, string> Options { get; init; } = Options ?? ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
}

/// <summary>Docker's --ulimit name=soft[:hard] ("nofile=1024:2048"); Hard equals Soft when one number is given.</summary>
[MessagePackObject]
public sealed record Ulimit(
    [property: Key(0)] string Name,
    [property: Key(1)] long Soft,
    [property: Key(2)] long Hard);

/// <summary>The template every task of a service is made from: docker's TaskTemplate.</summary>
[MessagePackObject]
public sealed record TaskSpec(
    [property: Key(0)] ContainerSpec Container,
    ResourceRequirements? Resources = null,
    RestartPolicy? Restart = null,
    Placement? Placement = null,
    ImmutableArray<NetworkAttachment> Networks = default,
    [property: Key(5)] long ForceUpdate = 0,
    [property: Key(6)] LogDriver? LogDriver = null)
{
    [Key(1)]
    public ResourceRequirements Resources { get; init; } = Resources ?? ResourceRequirements.None;

    [Key(2)]
    public RestartPolicy Restart { get; init; } = Restart ?? RestartPolicy.Default;

    [Key(3)]
    public Placement Placement { get; init; } = Placement ?? Placement.None;

    [Key(4)]
    public ImmutableArray<NetworkAttachment> Networks { get; init; } = Networks.IsDefault ? [] : Networks;
}

/// <summary>How clients reach a service: a virtual IP, or DNS round robin over its tasks.</summary>
public enum EndpointMode
{
    Vip = 0,
    Dnsrr = 1,
}

public enum PortProtocol
{
    Tcp = 0,
    Udp = 1,
}

/// <summary>Ingress: the routing mesh publishes the port on every node; Host: only on the task's node.</summary>
public enum PublishMode
{
    Ingress = 0,
    Host = 1,
}

/// <summary>Docker's --publish published=,target=,protocol=,mode=. Published 0: the swarm picks one (ingress), or each task's node picks one for it (host).</summary>
[MessagePackObject]
public sealed record PortConfig(
    [property: Key(0)] int TargetPort,
    [property: Key(1)] int PublishedPort = 0,
    [property: Key(2)] PortProtocol Protocol = PortProtocol.Tcp,
    [property: Key(3)] PublishMode PublishMode = PublishMode.Ingress,
    [property: Key(4)] string Name = "");

[MessagePackObject]
public sealed record EndpointSpec(
    [property: Key(0)] EndpointMode Mode = EndpointMode.Vip,
    ImmutableArray<PortConfig> Ports = default)
{
    [Key(1)]
    public ImmutableArray<PortConfig> Ports { get; init; } = Ports.IsDefault ? [] : Ports;

    public static readonly EndpointSpec Default = new();
}

/// <summary>What an update (or a rollback) does when a task fails to come up.</summary>
public enum FailureAction
{
    Pause = 0,
    Continue = 1,
    Rollback = 2,
}

/// <summary>Stop the old task before starting the new one, or start the new one first (canary, blue/green).</summary>
public enum UpdateOrder
{
    StopFirst = 0,
    StartFirst = 1,
}

/// <summary>
/// Docker's --update-* and --rollback-* settings. Parallelism 0 updates every task at once; Monitor
/// is how long a new task is watched for failure; MaxFailureRatio the failures tolerated (0 to 1).
/// </summary>
[MessagePackObject]
public sealed record UpdateConfig(
    [property: Key(0)] long Parallelism,
    [property: Key(1)] TimeSpan Delay,
    [property: Key(2)] FailureAction FailureAction,
    [property: Key(3)] TimeSpan Monitor,
    [property: Key(4)] double MaxFailureRatio,
    [property: Key(5)] UpdateOrder Order)
{
    public static readonly TimeSpan DefaultMonitor = TimeSpan.FromSeconds(5);

    /// <summary>Swarm's defaults: parallelism 1, delay 0, pause on failure, monitor 5 s, no failure tolerated, stop-first.</summary>
    public static readonly UpdateConfig Default = new(1, TimeSpan.Zero, FailureAction.Pause, DefaultMonitor, 0, UpdateOrder.StopFirst);
}

/// <summary>What an operator asks of a service: docker's ServiceSpec.</summary>
[MessagePackObject]
public sealed record ServiceSpec(
    [property: Key(0)] string Name,
    [property: Key(1)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(2)] ServiceMode Mode,
    [property: Key(3)] TaskSpec TaskTemplate,
    EndpointSpec? Endpoint = null,
    UpdateConfig? Update = null,
    UpdateConfig? Rollback = null)
{
    [Key(4)]
    public EndpointSpec Endpoint { get; init; } = Endpoint ?? EndpointSpec.Default;

    [Key(5)]
    public UpdateConfig Update { get; init; } = Update ?? UpdateConfig.Default;

    [Key(6)]
    public UpdateConfig Rollback { get; init; } = Rollback ?? UpdateConfig.Default;
}

/// <summary>Where a rolling update or rollback stands, as docker's UpdateStatus.State.</summary>
public enum UpdateState
{
    Updating = 0,
    Paused = 1,
    Completed = 2,
    RollbackStarted = 3,
    RollbackPaused = 4,
    RollbackCompleted = 5,
}

/// <summary>docker's names of the update states (swarmkit's enum in lower case), as `service inspect` and the events print them.</summary>
public static class UpdateStates
{
    public static string DockerName(this UpdateState state) => state switch
    {
        UpdateState.Updating => "updating",
        UpdateState.Paused => "paused",
        UpdateState.Completed => "completed",
        UpdateState.RollbackStarted => "rollback_started",
        UpdateState.RollbackPaused => "rollback_paused",
        _ => "rollback_completed",
    };
}

[MessagePackObject]
public sealed record UpdateStatus(
    [property: Key(0)] UpdateState State,
    [property: Key(1)] DateTimeOffset StartedAt,
    [property: Key(2)] DateTimeOffset? CompletedAt,
    [property: Key(3)] string Message);

/// <summary>
/// A service as the managers' store keeps it. SpecVersion counts the spec's changes (tasks record
/// the one they were made from, so an update knows which tasks are stale); PreviousSpec is what a
/// rollback returns to; JobIteration counts the runs of a job service.
/// </summary>
[MessagePackObject]
public sealed record ServiceObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] ServiceSpec Spec,
    [property: Key(3)] ulong SpecVersion,
    [property: Key(4)] ServiceSpec? PreviousSpec = null,
    [property: Key(5)] UpdateStatus? UpdateStatus = null,
    [property: Key(6)] ulong JobIteration = 0,
    ServiceEndpoint? Endpoint = null) : IStoreObject, IStoreKind
{
    public static string StoreKind => "service";

    /// <summary>What the managers allocated for the service's endpoint: published ports and virtual IPs.</summary>
    [Key(7)]
    public ServiceEndpoint Endpoint { get; init; } = Endpoint ?? ServiceEndpoint.None;

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}
