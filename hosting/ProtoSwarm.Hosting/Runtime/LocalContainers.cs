using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's answer to `ps`, `container ls`, `container inspect` and `stats` (<see cref="ListContainers"/>): the
/// task containers its executor keeps, in a swarm or not, worker or manager, as docker's engine answers for its
/// own containers. Each is described as docker describes a swarm task's container: named SERVICE.SLOT.TASKID,
/// labelled with the service's container labels and docker's com.docker.swarm.* labels.
/// </summary>
internal static class LocalContainers
{
    public static bool Handles(object request) => request is ListContainers;

    /// <param name="networkName">The name of a network by id, where the node knows it (null: its id is shown).</param>
    /// <param name="standaloneName">The name of a standalone container (`protoswarm run`), null for a task's.</param>
    /// <param name="standaloneRestart">The restart policy of a standalone container and what it did, null for a task's.</param>
    /// <param name="networkGateway">The gateway address of a network by id, where the node knows it.</param>
    /// <param name="defaultNetwork">The local network (bridge or none) of a container on no network and whether it runs; null: none shown.</param>
    /// <param name="standaloneSettings">A standalone container's --expose, --tmpfs and --shm-size, null for a task's.</param>
    public static async Task<object> HandleAsync(ITaskExecutor? executor, ListContainers request, TimeProvider time, Func<string, string?> networkName, CancellationToken ct,
        Func<string, string?>? standaloneName = null, Func<string, StandaloneRestart?>? standaloneRestart = null,
        Func<string, string?>? networkGateway = null, Func<TaskObject, bool, ContainerNetwork?>? defaultNetwork = null,
        Func<string, RunSettings?>? standaloneSettings = null)
    {
        var facts = (executor?.ListContainers() ?? []).Where(f => request.All || IsRunning(f)).ToList();
        IReadOnlyDictionary<string, TaskUsageSample> usage = new Dictionary<string, TaskUsageSample>();
        if (request.Usage && executor is not null)
        {
            usage = await executor.SampleUsageAsync([.. facts.Where(IsRunning).Select(f => f.Task.Id)], ct);
        }

        var sampledAt = time.GetUtcNow();
        return new ContainerList([.. facts.Select(f => ToWire(f, usage.GetValueOrDefault(f.Task.Id), networkName, standaloneName?.Invoke(f.Task.Id), standaloneRestart?.Invoke(f.Task.Id),
            networkGateway, defaultNetwork?.Invoke(f.Task, IsRunning(f)), standaloneSettings?.Invoke(f.Task.Id)))], sampledAt);
    }

    private static bool IsRunning(ContainerFacts facts) => facts.Started && !facts.Exited;

    /// <summary>docker's name of a swarm task's container: SERVICE.SLOT.TASKID, SERVICE.NODEID.TASKID for a global service's.</summary>
    public static string NameOf(TaskObject task) => NetworkViews.TaskName(task, ServiceNameOf(task));

    // A task sent by managers before they gave its service's name has only the service's id.
    private static string ServiceNameOf(TaskObject task) =>
        task.ServiceName.Length > 0 ? task.ServiceName : task.Template is { ServiceName.Length: > 0 } t ? t.ServiceName : task.ServiceId;

    /// <summary>docker's labels of a swarm task's container: the service's container labels, then com.docker.swarm.*.</summary>
    public static ImmutableSortedDictionary<string, string> LabelsOf(TaskObject task) =>
        task.Spec.Container.Labels.SetItems(
        [
            KeyValuePair.Create("com.docker.swarm.node.id", task.NodeId),
            KeyValuePair.Create("com.docker.swarm.service.id", task.ServiceId),
            KeyValuePair.Create("com.docker.swarm.service.name", ServiceNameOf(task)),
            KeyValuePair.Create("com.docker.swarm.task", string.Empty),
            KeyValuePair.Create("com.docker.swarm.task.id", task.Id),
            KeyValuePair.Create("com.docker.swarm.task.name", NameOf(task)),
        ]);

    /// <summary>
    /// docker's container event (scope local): the container's labels (a task's with com.docker.swarm.*), its image and
    /// name, and the event's own attributes (exitCode, signal). A standalone container's made-up task has no service.
    /// </summary>
    public static SwarmEvent EventOf(TaskObject task, string action, ImmutableSortedDictionary<string, string> attributes, DateTimeOffset at)
    {
        var standalone = task.ServiceId.Length == 0;
        var all = (standalone ? task.Spec.Container.Labels : LabelsOf(task)).WithComparers(StringComparer.Ordinal)
            .SetItems(attributes)
            .SetItem("image", task.Spec.Container.Image)
            .SetItem("name", standalone ? task.ServiceName : NameOf(task));
        return new SwarmEvent("container", action, task.Id, all, SwarmEvent.LocalScope, SwarmEvents.UnixNanos(at));
    }

    /// <param name="standaloneName">Set for a standalone container: its name, and its own labels only (no com.docker.swarm.* ones).</param>
    /// <param name="restart">A standalone container's restart policy: its restarts, and "restarting" while it waits for the next.</param>
    /// <param name="networkGateway">The gateway address of an overlay by id (docker's Gateway of the container's endpoint), where the node knows it.</param>
    /// <param name="defaultNetwork">The container's local network (bridge, none; <see cref="LocalNetworks.DefaultNetworkOf"/>): shown first, before its overlays.</param>
    /// <param name="settings">A standalone container's --expose, --tmpfs and --shm-size: its image's exposed ports are shown with
    /// the --expose ones, and its --tmpfs mounts as docker shows them, in HostConfig.Tmpfs and not among its Mounts.</param>
    public static ContainerObject ToWire(ContainerFacts facts, TaskUsageSample? usage, Func<string, string?> networkName, string? standaloneName = null,
        StandaloneRestart? restart = null, Func<string, string?>? networkGateway = null, ContainerNetwork? defaultNetwork = null, RunSettings? settings = null)
    {
        var tmpfs = (settings?.Tmpfs ?? []).Select(RunFlags.TmpfsEntry)
            .Aggregate(ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal), (all, e) => all.SetItem(e.Key, e.Value));
        var task = facts.Task;
        var state = !facts.Started ? "created" : !facts.Exited ? "running" : restart is { Restarting: true } ? "restarting" : "exited";
        var command = facts.Command;
        return new ContainerObject(
            task.Id,
            standaloneName ?? NameOf(task),
            task.Spec.Container.Image,
            facts.ImageId,
            command.Count > 0 ? command[0] : string.Empty,
            [.. command.Skip(1)],
            facts.Created,
            state,
            facts.Pid,
            restart?.StartFailure?.ExitCode ?? facts.ExitCode ?? 0,
            facts.StartedAt,
            facts.FinishedAt,
            facts.Health switch
            {
                null => string.Empty,
                ContainerHealth.Healthy => "healthy",
                ContainerHealth.Unhealthy => "unhealthy",
                _ => "starting",
            },
            standaloneName is null ? LabelsOf(task) : task.Spec.Container.Labels,
            state == "running" ? facts.HostPorts : [],
            facts.Hostname,
            [.. facts.Env],
            facts.User,
            facts.WorkingDir,
            [.. (facts.Mounts ?? task.Spec.Container.Mounts).Where(m => !IsRunOwn(m, tmpfs, settings))],
            [
                .. defaultNetwork is null ? [] : new[] { defaultNetwork },
                .. task.Networks.Select(n => new ContainerNetwork(networkName(n.NetworkId) ?? n.NetworkId, n.NetworkId, n.Address, n.Aliases,
                    networkGateway?.Invoke(n.NetworkId) ?? string.Empty, n.Address.Length > 0 ? NetworkEndpoint.MacOf(n.Address) : string.Empty, NetworkEndpoint.EndpointIdOf(n.NetworkId, task.Id))),
            ],
            usage is null ? null : new ContainerUsageReading(usage.CpuNanoseconds, usage.MemoryBytes, usage.MemoryLimitBytes, usage.Pids,
                usage.NetRxBytes, usage.NetTxBytes, usage.BlockReadBytes, usage.BlockWriteBytes),
            [.. facts.Entrypoint],
            [.. facts.Cmd])
        {
            RestartCount = restart?.Restarts ?? 0,
            RestartPolicy = restart?.Policy.Name ?? string.Empty,
            MaximumRetryCount = restart?.Policy.MaximumRetryCount ?? 0,
            NanoCpus = task.Spec.Resources.Limits.NanoCpus,
            MemoryBytes = task.Spec.Resources.Limits.MemoryBytes,
            MemoryReservationBytes = task.Spec.Resources.Reservations.MemoryBytes,
            NetworkMode = NetworkModeOf(task, standaloneName is not null, defaultNetwork, networkName),
            Spec = task.Spec.Container,
            PidsLimit = task.Spec.Resources.Limits.Pids,
            LogConfig = task.Spec.LogDriver,
            ExposedPorts = [.. facts.ExposedPorts.Concat((settings?.Expose ?? []).SelectMany(e => RunFlags.Expose(e).Ports)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            Tmpfs = tmpfs,
            ShmSize = settings?.ShmSize ?? 0,
            Healthcheck = facts.HealthCheck,
            HealthFailingStreak = facts.HealthFailingStreak,
            HealthLog = [.. facts.HealthLog],
            Error = restart?.StartFailure?.Error ?? string.Empty,
            VolumePaths = facts.VolumePaths.ToImmutableSortedDictionary(StringComparer.Ordinal),
        };
    }

    /// <summary>A mount a run's --tmpfs or --shm-size made, which docker shows in HostConfig, not among the container's Mounts.</summary>
    private static bool IsRunOwn(MountSpec mount, ImmutableSortedDictionary<string, string> tmpfs, RunSettings? settings) =>
        mount.Type == MountType.Tmpfs && mount.Source.Length == 0
        && (tmpfs.ContainsKey(mount.Target) || (settings is { ShmSize: > 0 } && mount == RunFlags.ShmMount(settings.ShmSize)));

    /// <summary>
    /// docker's HostConfig.NetworkMode: host or none for a container on that mode; its local network (bridge, or none while the
    /// node is in no swarm) for one on no network; a standalone container's first network (run --network); default for a task's.
    /// </summary>
    public static string NetworkModeOf(TaskObject task, bool standalone, ContainerNetwork? defaultNetwork, Func<string, string?> networkName) =>
        PredefinedNetworks.ModeOf(task.Spec.Networks)
        ?? defaultNetwork?.Name
        ?? (standalone && task.Spec.Networks is [var first, ..] ? networkName(first.Target) ?? first.Target : "default");
}

/// <summary>
/// A standalone container's restart policy, the restarts it made, whether one is pending (docker's "restarting"), and why its
/// last start failed (null once it started).
/// </summary>
internal sealed record StandaloneRestart(ContainerRestartPolicy Policy, int Restarts, bool Restarting, ContainerStartFailure? StartFailure = null);

/// <summary>
/// A failed start as docker's daemon keeps it on the container until its next start: State.Error, and State.ExitCode by the
/// error's words (126 the command could not be run, 127 it was not found or a mount's file and directory were mixed up, 128
/// anything else).
/// </summary>
internal sealed record ContainerStartFailure(int ExitCode, string Error)
{
    private static readonly string[] NotFound = ["executable file not found", "no such file or directory", "not a directory"];

    public static ContainerStartFailure Of(string error)
    {
        var words = error.ToLowerInvariant();
        var code = words.Contains("permission denied", StringComparison.Ordinal) || words.Contains("is a directory", StringComparison.Ordinal) ? 126
            : NotFound.Any(w => words.Contains(w, StringComparison.Ordinal)) ? 127
            : 128;
        return new ContainerStartFailure(code, error);
    }
}
