using System.Globalization;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets;
using ProtoSwarm.Contracts;
using HealthCheck = ProtoSwarm.Contracts.HealthCheck;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// A task's container as docker would run it: the task's spec laid over its image's config. Pure, so
/// every rule (entrypoint and command, environment, working directory, user, stop signal, health
/// check, resources) is tested without a container.
/// </summary>
internal static class TaskContainers
{
    /// <summary>
    /// Docker's rules: the task's Command replaces the image's entrypoint (and then the image's cmd is
    /// not used); the task's Args replace the image's cmd. Environment: the image's, then the task's
    /// (the last of a key wins), then HOSTNAME. Dir and User fall back on the image's. Init left
    /// unset is the node's default: no init, as dockerd's. TTY gives the main process a terminal (the runtime
    /// adds TERM=xterm when neither the image nor the task sets TERM, as dockerd does).
    /// </summary>
    /// <param name="nodeHostname">The node's hostname, which a container on the host network has unless its own is given (docker's).</param>
    public static ContainerSpecification Specification(TaskObject task, StoredImage image, IReadOnlyList<string> layers, string? nodeHostname = null)
    {
        var container = task.Spec.Container;
        var config = image.Config;
        var hostname = Hostname(task, nodeHostname);
        return new ContainerSpecification
        {
            Id = task.Id,
            Command = Command(container, config),
            Layers = layers,
            Env = Environment(config.Env, container.Env, hostname),
            WorkingDir = container.Dir.Length > 0 ? container.Dir : config.WorkingDir.Length > 0 ? config.WorkingDir : "/",
            User = container.User.Length > 0 ? container.User : config.User,
            Hostname = hostname,
            Resources = Resources(task.Spec.Resources),
            ReadOnlyRootfs = container.ReadOnly,
            CapAdd = container.CapabilityAdd,
            CapDrop = container.CapabilityDrop,
            Rlimits = [.. container.Ulimits.Select(u => new ContainerRlimit(u.Name, Limit(u.Soft), Limit(u.Hard)))],
            ExtraHosts = ExtraHosts(container.Hosts),
            AdditionalGroups = Groups(container.Groups, layers),
            Sysctls = container.Sysctls,
            Init = container.Init ?? false,
            Tty = container.TTY,
            OpenStdin = container.OpenStdin,
        };
    }

    /// <summary>-1 is unlimited (RLIM_INFINITY).</summary>
    private static ulong Limit(long value) => value < 0 ? ulong.MaxValue : (ulong)value;

    /// <summary>Swarmkit's hosts lines ("IP name [alias...]") as the runtime's "name:IP" entries, one per name.</summary>
    public static IReadOnlyList<string> ExtraHosts(IEnumerable<string> lines) =>
    [
        .. lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w.Length >= 2)
            .SelectMany(w => w.Skip(1).Select(name => name + ":" + w[0])),
    ];

    /// <summary>
    /// Docker's --group: a number, or a name looked up in the image's /etc/group (the topmost layer
    /// that has the file). A name the image does not have refuses the task with the reason.
    /// </summary>
    public static IReadOnlyList<uint> Groups(IReadOnlyList<string> groups, IReadOnlyList<string> layers)
    {
        if (groups.Count == 0)
        {
            return [];
        }

        Dictionary<string, uint>? names = null;
        var gids = new List<uint>();
        foreach (var group in groups)
        {
            if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
            {
                gids.Add(gid);
                continue;
            }

            names ??= ImageGroups(layers);
            gids.Add(names.TryGetValue(group, out var named)
                ? named
                : throw new InvalidOperationException($"group '{group}' is not in the image's /etc/group; give its number instead, e.g. --group 2000"));
        }

        return gids;
    }

    private static Dictionary<string, uint> ImageGroups(IReadOnlyList<string> layers) => ImageTable(layers, "group");

    /// <summary>Names to numbers (the third field) of the image's /etc/passwd or /etc/group, from the topmost layer that has the file.</summary>
    private static Dictionary<string, uint> ImageTable(IReadOnlyList<string> layers, string name)
    {
        var entries = new Dictionary<string, uint>(StringComparer.Ordinal);
        var file = layers.Reverse().Select(l => Path.Combine(l, "etc", name)).FirstOrDefault(File.Exists);
        if (file is null)
        {
            return entries;
        }

        foreach (var line in File.ReadLines(file))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                entries.TryAdd(fields[0], id);
            }
        }

        return entries;
    }

    /// <summary>
    /// Docker's --secret and --config files as the container gets them: a secret at
    /// /run/secrets/&lt;name&gt;, a config at its absolute target; owner a number, or a name looked up
    /// in the image's /etc/passwd and /etc/group as --user's is; mode the permission bits (docker's
    /// default 0444). A name the image does not have, or a mode beyond 0777, refuses the task.
    /// </summary>
    public static IReadOnlyList<ContainerFile> Files(IReadOnlyList<TaskFile> files, IReadOnlyList<string> layers)
    {
        if (files.Count == 0)
        {
            return [];
        }

        Dictionary<string, uint>? users = null;
        Dictionary<string, uint>? groups = null;
        var result = new List<ContainerFile>(files.Count);
        foreach (var file in files)
        {
            var what = $"{(file.Kind == TaskFileKind.Secret ? "secret" : "config")} {file.SourceName}";
            var target = file.ContainerPath;
            if (file.Target.Name.Length == 0 || target.Split('/').Any(part => part is ".." or ".") || target.EndsWith('/'))
            {
                throw new InvalidOperationException($"{what}: target \"{file.Target.Name}\" is not a file name; give one such as target=app.conf or target=/etc/app.conf");
            }

            if (file.Target.Mode is < 0 or > 0x1FF)
            {
                throw new InvalidOperationException($"{what}: mode {Convert.ToString(file.Target.Mode, 8)} is not a file permission; give one from 0 to 0777, such as mode=0400");
            }

            var uid = Owner(file.Target.Uid, what, "uid", "/etc/passwd", () => users ??= ImageTable(layers, "passwd"));
            var gid = Owner(file.Target.Gid, what, "gid", "/etc/group", () => groups ??= ImageTable(layers, "group"));
            result.Add(new ContainerFile(target, file.Data, uid, gid, file.Target.Mode));
        }

        return result;
    }

    private static uint Owner(string value, string what, string field, string table, Func<Dictionary<string, uint>> names)
    {
        if (value.Length == 0)
        {
            return 0;
        }

        if (uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        return names().TryGetValue(value, out var named)
            ? named
            : throw new InvalidOperationException($"{what}: {field} '{value}' is not in the image's {table}; give its number instead, e.g. {field}=1000");
    }

    /// <summary>
    /// Docker's image VOLUME: an anonymous volume (no source: made for this container, filled from the image's files there)
    /// for each path the image declares that none of <paramref name="mounts"/> targets, the paths compared cleaned as docker
    /// compares them ("/data/" and "/data/." are "/data"), each once.
    /// </summary>
    public static IReadOnlyList<MountSpec> ImageVolumes(IEnumerable<string> imageVolumes, IEnumerable<MountSpec> mounts)
    {
        var taken = mounts.Select(m => CleanPath(m.Target)).ToHashSet(StringComparer.Ordinal);
        var added = new List<MountSpec>();
        foreach (var path in imageVolumes.Select(CleanPath))
        {
            if (taken.Add(path))
            {
                added.Add(new MountSpec(MountType.Volume, string.Empty, path));
            }
        }

        return added;
    }

    /// <summary>An absolute container path as Go's path.Clean leaves it: no empty, "." or ".." parts, no trailing slash.</summary>
    internal static string CleanPath(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>The process: <see cref="Process"/>'s entrypoint, then its command.</summary>
    public static IReadOnlyList<string> Command(ContainerSpec container, ImageConfig config) =>
        Process(container, config) is var (entrypoint, cmd) ? [.. entrypoint, .. cmd] : [];

    /// <summary>
    /// The container's entrypoint and command apart, as docker's daemon merges a swarm task's into its image's config
    /// (swarmkit gives the task's Command as the entrypoint, its Args as the cmd): a task's command replaces the
    /// image's entrypoint and drops the image's cmd; without one, the task's args replace the image's cmd.
    /// </summary>
    public static (IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Cmd) Process(ContainerSpec container, ImageConfig config) =>
        container.Command.Length > 0
            ? (container.Command, container.Args)
            : (config.Entrypoint, container.Args.Length > 0 ? container.Args : config.Cmd);

    /// <summary>
    /// Docker names a swarm task's container after its short id; so does its hostname. On the host network its hostname is
    /// the node's (<paramref name="nodeHostname"/>, when given), as docker's daemon gives such a container the host's.
    /// </summary>
    public static string Hostname(TaskObject task, string? nodeHostname = null) =>
        task.Spec.Container.Hostname.Length > 0 ? task.Spec.Container.Hostname
        : nodeHostname is { Length: > 0 } && PredefinedNetworks.ModeOf(task.Spec.Networks) == PredefinedNetworks.Host ? nodeHostname
        : task.Id.Length > 12 ? task.Id[..12] : task.Id;

    /// <summary>
    /// The container's environment: the image's, the task's over it (a key keeps its first place, the
    /// last value wins, even after an unset), then HOSTNAME. A task entry without '=' (a bare KEY the
    /// CLI's shell did not have) unsets KEY, as docker's daemon merges it: it never reaches the process
    /// as a bare line, which would sit beside the PATH the container's init adds when the image's is gone.
    /// </summary>
    public static IReadOnlyList<string> Environment(IEnumerable<string> image, IEnumerable<string> task, string hostname)
    {
        var order = new List<string>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in image.Concat(task).Append("HOSTNAME=" + hostname))
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                values.Remove(entry);
                continue;
            }

            var key = entry[..eq];
            if (placed.Add(key))
            {
                order.Add(key);
            }

            values[key] = entry;
        }

        return [.. order.Where(values.ContainsKey).Select(k => values[k])];
    }

    public static ContainerResources Resources(ResourceRequirements resources) => new()
    {
        MemoryLimitBytes = Positive(resources.Limits.MemoryBytes),
        NanoCpus = Positive(resources.Limits.NanoCpus),
        MemoryReservationBytes = Positive(resources.Reservations.MemoryBytes),
        CpuReservationNanoCpus = Positive(resources.Reservations.NanoCpus),
        PidsLimit = Positive(resources.Limits.Pids),
    };

    /// <summary>The signal that stops the container: the task's, else the image's, else SIGTERM; a name ("SIGINT", "INT") or a number.</summary>
    public static int StopSignal(ContainerSpec container, ImageConfig config)
    {
        var name = container.StopSignal.Length > 0 ? container.StopSignal : config.StopSignal;
        return name.Length == 0 ? Signals.Term : SignalRule.Parse(name) ?? throw new InvalidOperationException(
            $"stop signal '{name}' is not a signal; use a name such as SIGTERM or SIGINT, or its number");
    }

    /// <summary>
    /// The health check the container runs: the task's (a "NONE" test turns the image's off, an empty
    /// test keeps the image's test with the task's timings), else the image's; null when there is none.
    /// </summary>
    public static HealthCheck? HealthCheckOf(ContainerSpec container, ImageConfig config)
    {
        var image = config.Healthcheck is { Test.Length: > 0 } h && !IsNone(h.Test)
            ? new HealthCheck(h.Test, h.Interval, h.Timeout, h.Retries, h.StartPeriod, h.StartInterval)
            : null;
        if (container.HealthCheck is not { } task)
        {
            return image;
        }

        if (IsNone(task.Test))
        {
            return null;
        }

        if (task.Test.Length > 0)
        {
            return task;
        }

        return image is null ? null : new HealthCheck(image.Test,
            task.Interval > TimeSpan.Zero ? task.Interval : image.Interval,
            task.Timeout > TimeSpan.Zero ? task.Timeout : image.Timeout,
            task.Retries > 0 ? task.Retries : image.Retries,
            task.StartPeriod > TimeSpan.Zero ? task.StartPeriod : image.StartPeriod,
            task.StartInterval > TimeSpan.Zero ? task.StartInterval : image.StartInterval);
    }

    /// <summary>The runtime's form of a health check (the exec that runs it, docker's defaults for zeros).</summary>
    public static ProtoSwarm.Containers.Runtime.HealthCheck ForRuntime(HealthCheck check) => new()
    {
        Test = check.Test,
        Interval = check.Interval,
        Timeout = check.Timeout,
        Retries = (int)Math.Clamp(check.Retries, 0, int.MaxValue),
        StartPeriod = check.StartPeriod,
        StartInterval = check.StartInterval,
    };

    private static bool IsNone(IReadOnlyList<string> test) =>
        test.Count > 0 && string.Equals(test[0], "NONE", StringComparison.OrdinalIgnoreCase);

    private static long? Positive(long value) => value > 0 ? value : null;
}

/// <summary>The two signals the node sends of itself; every name or number given is read by <see cref="SignalRule"/>.</summary>
internal static class Signals
{
    public const int Kill = 9;
    public const int Term = 15;
}
