using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>Which of `service create` and `service update` take a flag.</summary>
[Flags]
internal enum FlagUse
{
    Create = 1,
    Update = 2,
    Both = Create | Update,
}

/// <summary>One of docker's service flags: its name, short alias, help, whether it takes a value, and the check of one value.</summary>
internal sealed record ServiceFlag(string Name, string? Alias, string Description, FlagUse Use, Func<string, string?>? Check = null)
{
    public bool IsSwitch => Check is null;
}

/// <summary>
/// The values given for service flags, in command-line order; a switch given reads "true". Scalar flags
/// take the last value, as pflag does. A switch given as false (--init=false) is kept apart: Has stays
/// false for it, and only <see cref="Switch"/> tells it from a switch left out.
/// </summary>
internal sealed class FlagValues
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _false = new(StringComparer.Ordinal);

    public static FlagValues Empty => new();

    public void Add(string flag, string value)
    {
        if (!_values.TryGetValue(flag, out var list))
        {
            _values[flag] = list = [];
        }

        list.Add(value);
    }

    public void AddFalse(string flag) => _false.Add(flag);

    public bool Has(string flag) => _values.ContainsKey(flag);

    /// <summary>A switch: true or false as given, null when left out.</summary>
    public bool? Switch(string flag) => Has(flag) ? true : _false.Contains(flag) ? false : null;

    public string? Last(string flag) => _values.TryGetValue(flag, out var list) ? list[^1] : null;

    public IReadOnlyList<string> All(string flag) => _values.TryGetValue(flag, out var list) ? list : [];

    public IEnumerable<string> Given => _values.Keys;
}

/// <summary>
/// Docker's `service create` and `service update` flags turned into a <see cref="ServiceSpec"/>:
/// each value checked alone (so the parser refuses it before anything is sent), then a new spec
/// assembled, or an existing one changed by the update flags (-add then -rm, as docker applies
/// them). Pure; the swarm's own validator still checks the whole spec.
/// </summary>
internal static partial class ServiceFlags
{
    public const int MaxCpuScale = 1_000_000_000;

    public static readonly ImmutableArray<ServiceFlag> All =
    [
        new("--name", null, "Service name", FlagUse.Create, v => v.Trim().Length == 0 ? "--name: give the service a name, e.g. --name web." : null),
        new("--mode", null, "Service mode (\"replicated\", \"global\", \"replicated-job\", \"global-job\")", FlagUse.Create, v => Mode(v).Error),
        new("--replicas", null, "Number of tasks", FlagUse.Both, v => Count("--replicas", v).Error),
        new("--max-concurrent", null, "Number of job tasks to run concurrently (default equal to --replicas)", FlagUse.Both, v => Count("--max-concurrent", v).Error),
        new("--image", null, "Service image tag", FlagUse.Update, v => Image("--image", v).Error),
        new("--args", null, "Service command args", FlagUse.Update, v => Words("--args", v).Error),
        new("--force", null, "Force update even if no changes require it", FlagUse.Update),
        new("--entrypoint", null, "Overwrite the default ENTRYPOINT of the image", FlagUse.Both, v => Words("--entrypoint", v).Error),
        new("--env", "-e", "Set environment variables", FlagUse.Create, v => Env("--env", v).Error),
        new("--env-file", null, "Read in a file of environment variables", FlagUse.Create, v => v.Trim().Length == 0 ? "--env-file: give the path of a file of KEY=VALUE lines." : null),
        new("--env-add", null, "Add or update an environment variable", FlagUse.Update, v => Env("--env-add", v).Error),
        new("--env-rm", null, "Remove an environment variable", FlagUse.Update, v => Key("--env-rm", v).Error),
        new("--label", "-l", "Service labels", FlagUse.Create, v => Label("--label", v).Error),
        new("--label-add", null, "Add or update a service label", FlagUse.Update, v => Label("--label-add", v).Error),
        new("--label-rm", null, "Remove a label by its key", FlagUse.Update, v => Key("--label-rm", v).Error),
        new("--container-label", null, "Container labels", FlagUse.Create, v => Label("--container-label", v).Error),
        new("--container-label-add", null, "Add or update a container label", FlagUse.Update, v => Label("--container-label-add", v).Error),
        new("--container-label-rm", null, "Remove a container label by its key", FlagUse.Update, v => Key("--container-label-rm", v).Error),
        new("--constraint", null, "Placement constraints", FlagUse.Create, v => Constraint("--constraint", v).Error),
        new("--constraint-add", null, "Add or update a placement constraint", FlagUse.Update, v => Constraint("--constraint-add", v).Error),
        new("--constraint-rm", null, "Remove a constraint", FlagUse.Update, v => Constraint("--constraint-rm", v).Error),
        new("--placement-pref", null, "Add a placement preference (spread=node.labels.<name> or spread=engine.labels.<name>)", FlagUse.Create, v => PlacementPref("--placement-pref", v).Error),
        new("--placement-pref-add", null, "Add a placement preference", FlagUse.Update, v => PlacementPref("--placement-pref-add", v).Error),
        new("--placement-pref-rm", null, "Remove a placement preference", FlagUse.Update, v => PlacementPref("--placement-pref-rm", v).Error),
        new("--replicas-max-per-node", null, "Maximum number of tasks per node (default 0 = unlimited)", FlagUse.Both, v => Count("--replicas-max-per-node", v).Error),
        new("--reserve-cpu", null, "Reserve CPUs", FlagUse.Both, v => Cpu("--reserve-cpu", v).Error),
        new("--reserve-memory", null, "Reserve Memory", FlagUse.Both, v => Memory("--reserve-memory", v).Error),
        new("--limit-cpu", null, "Limit CPUs", FlagUse.Both, v => Cpu("--limit-cpu", v).Error),
        new("--limit-memory", null, "Limit Memory", FlagUse.Both, v => Memory("--limit-memory", v).Error),
        new("--restart-condition", null, "Restart when condition is met (\"none\", \"on-failure\", \"any\") (default \"any\")", FlagUse.Both, v => Restart(v).Error),
        new("--restart-delay", null, "Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)", FlagUse.Both, v => Duration("--restart-delay", v).Error),
        new("--restart-max-attempts", null, "Maximum number of restarts before giving up", FlagUse.Both, v => Count("--restart-max-attempts", v).Error),
        new("--restart-window", null, "Window used to evaluate the restart policy (ns|us|ms|s|m|h)", FlagUse.Both, v => Duration("--restart-window", v).Error),
        .. UpdateConfigFlags("--update", "update", rollback: false),
        .. UpdateConfigFlags("--rollback", "rollback", rollback: true),
        new("--health-cmd", null, "Command to run to check health", FlagUse.Both, v => v.Trim().Length == 0 ? "--health-cmd: give the command to run, e.g. --health-cmd 'curl -f http://localhost/'." : null),
        new("--health-interval", null, "Time between running the check (ms|s|m|h)", FlagUse.Both, v => Duration("--health-interval", v).Error),
        new("--health-timeout", null, "Maximum time to allow one check to run (ms|s|m|h)", FlagUse.Both, v => Duration("--health-timeout", v).Error),
        new("--health-retries", null, "Consecutive failures needed to report unhealthy", FlagUse.Both, v => Count("--health-retries", v).Error),
        new("--health-start-period", null, "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)", FlagUse.Both, v => Duration("--health-start-period", v).Error),
        new("--health-start-interval", null, "Time between running the check during the start period (ms|s|m|h)", FlagUse.Both, v => Duration("--health-start-interval", v).Error),
        new("--no-healthcheck", null, "Disable any container-specified HEALTHCHECK", FlagUse.Both),
        new("--stop-signal", null, "Signal to stop the container", FlagUse.Both, StopSignal),
        new("--stop-grace-period", null, "Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)", FlagUse.Both, v => Duration("--stop-grace-period", v).Error),
        new("--workdir", "-w", "Working directory inside the container", FlagUse.Both, v => Workdir("--workdir", v)),
        new("--user", "-u", "Username or UID (format: <name|uid>[:<group|gid>])", FlagUse.Both, v => v.Any(char.IsWhiteSpace) ? $"--user '{v}' holds white space; use <name|uid>[:<group|gid>]." : null),
        new("--mount", null, "Attach a filesystem mount to the service (type=bind|volume|tmpfs,source=,target=,readonly)", FlagUse.Create, v => Mount("--mount", v).Error),
        new("--mount-add", null, "Add or update a mount on a service", FlagUse.Update, v => Mount("--mount-add", v).Error),
        new("--mount-rm", null, "Remove a mount by its target path", FlagUse.Update, v => v.StartsWith('/') ? null : $"--mount-rm '{v}' is not a target path; name the mount by its path in the container, e.g. /data."),
        new("--secret", null, "Specify secrets to expose to the service (NAME, or source=NAME,target=FILE,uid=0,gid=0,mode=0444)", FlagUse.Create, v => FileReferenceOf("--secret", v).Error),
        new("--secret-add", null, "Add or update a secret on a service", FlagUse.Update, v => FileReferenceOf("--secret-add", v).Error),
        new("--secret-rm", null, "Remove a secret by its name", FlagUse.Update, v => v.Trim().Length == 0 ? "--secret-rm: name the secret to remove." : null),
        new("--config", null, "Specify configurations to expose to the service (NAME, or source=NAME,target=/PATH,uid=0,gid=0,mode=0444)", FlagUse.Create, v => FileReferenceOf("--config", v).Error),
        new("--config-add", null, "Add or update a config file on a service", FlagUse.Update, v => FileReferenceOf("--config-add", v).Error),
        new("--config-rm", null, "Remove a configuration file by its name", FlagUse.Update, v => v.Trim().Length == 0 ? "--config-rm: name the config to remove." : null),
        new("--publish", "-p", "Publish a port as a node port (8080:80[/udp], a range 8000-8002:80-82, or published=8080,target=80,protocol=tcp,mode=ingress)", FlagUse.Create, v => Ports("--publish", v).Error),
        new("--publish-add", null, "Add or update a published port", FlagUse.Update, v => Ports("--publish-add", v).Error),
        new("--publish-rm", null, "Remove a published port by its target port (<port>[/<protocol>], a range 80-82, or as published: 8080:80)", FlagUse.Update, v => PortRemovals(v).Error),
        new("--endpoint-mode", null, "Endpoint mode (vip or dnsrr) (default \"vip\")", FlagUse.Both, v => EndpointModeOf(v).Error),
        new("--network", null, "Network attachments (a name, or name=NAME,alias=ALIAS; host or none alone: the node's own network namespace, or loopback alone)", FlagUse.Create, v => Network("--network", v).Error),
        new("--network-add", null, "Add a network", FlagUse.Update, v => Network("--network-add", v).Error),
        new("--network-rm", null, "Remove a network", FlagUse.Update, v => v.Trim().Length == 0 ? "--network-rm: name the network to remove." : null),
        .. ConfinementFlags(),
        .. ResolverAndLogFlags(),
        new("--resolve-image", null, "Pin the image to the digest the swarm's registry holds for its tag (\"always\", \"changed\", \"never\") (default \"always\")", FlagUse.Create, ResolveImage),
        new("--resolve-image", null, "Pin the image to the digest the swarm's registry holds for its tag (\"always\", \"changed\", \"never\") (default \"changed\")", FlagUse.Update, ResolveImage),
        new("--no-resolve-image", null, "Do not pin the image to the registry's digest: the same as --resolve-image never", FlagUse.Both),
        new("--with-registry-auth", null, "Accepted for docker's scripts, and has no effect: nodes pull from the swarm's own registry with their node certificates", FlagUse.Both),
        new("--rollback", null, "Rollback to previous specification", FlagUse.Update),
        new("--detach", "-d", "Exit immediately instead of waiting for the service to converge", FlagUse.Both),
        new("--quiet", "-q", "Suppress progress output", FlagUse.Both),
    ];

    /// <summary>The one-value check of a flag, for System.CommandLine's validators (null: fine).</summary>
    public static string? Check(string flag, string value) =>
        All.FirstOrDefault(f => f.Name == flag)?.Check?.Invoke(value);

    public static IEnumerable<ServiceFlag> For(FlagUse use) => All.Where(f => f.Use.HasFlag(use));

    // ---- assembling a spec

    /// <summary>`service create`: a whole spec from the flags, the image and what follows it (the container's args).</summary>
    public static Checked<ServiceSpec> Create(FlagValues flags, string image, IReadOnlyList<string> args, Func<string> pickName)
    {
        try
        {
            var mode = flags.Last("--mode") is { } m ? Mode(m).Value : ServiceModeKind.Replicated;
            var template = new TaskSpec(
                new ContainerSpec(Image("IMAGE", image).OrThrow(), Args: [.. args]),
                Restart: mode is ServiceModeKind.ReplicatedJob or ServiceModeKind.GlobalJob ? RestartPolicy.JobDefault : RestartPolicy.Default);
            var spec = new ServiceSpec(
                flags.Last("--name")?.Trim() ?? pickName(),
                ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal),
                mode switch
                {
                    ServiceModeKind.Global => ServiceMode.GlobalMode,
                    ServiceModeKind.ReplicatedJob => ServiceMode.ReplicatedJobMode(),
                    ServiceModeKind.GlobalJob => ServiceMode.GlobalJobMode,
                    _ => ServiceMode.ReplicatedMode(),
                },
                template);
            spec = spec with
            {
                Labels = Labels(spec.Labels, flags.All("--label"), []),
                // As given: a port published twice is the manager's to refuse, as docker's daemon refuses it.
                Endpoint = spec.Endpoint with { Ports = [.. flags.All("--publish").SelectMany(p => Ports("--publish", p).OrThrow())] },
                TaskTemplate = template with
                {
                    Container = CreateConfinement(template.Container, flags) with
                    {
                        // docker's order: the files' variables, then --env, a later one replacing an earlier of the same name.
                        Env = Env([], [.. flags.All("--env-file").SelectMany(EnvFileEntries), .. flags.All("--env")], []),
                        Command = flags.Last("--entrypoint") is { } entrypoint ? Words("--entrypoint", entrypoint).OrThrow() : template.Container.Command,
                        Labels = Labels(template.Container.Labels, flags.All("--container-label"), []),
                        Mounts = Mounts([], flags.All("--mount"), []),
                        Secrets = SecretReferences([], flags.All("--secret"), []),
                        Configs = ConfigReferences([], flags.All("--config"), []),
                    },
                    Placement = template.Placement with
                    {
                        Constraints = Distinct([], flags.All("--constraint"), [], v => Constraint("--constraint", v).OrThrow()),
                        Preferences = [.. Distinct([], flags.All("--placement-pref"), [], v => PlacementPref("--placement-pref", v).OrThrow()).Select(d => new PlacementPreference(d))],
                    },
                    Networks = Networks(flags.All("--network")),
                },
            };
            return Checked<ServiceSpec>.Ok(Common(spec, flags, creating: true));
        }
        catch (FlagException e)
        {
            return Checked<ServiceSpec>.Fail(e.Message);
        }
    }

    /// <summary>
    /// `service update`: the service's spec as read, changed by the flags given; <paramref name="networkId"/>
    /// turns the networks --network-add/--network-rm name into the ids the spec holds (as given when null).
    /// </summary>
    public static Checked<ServiceSpec> Update(ServiceSpec spec, FlagValues flags, NetworkIdResolver? networkId = null)
    {
        try
        {
            var template = spec.TaskTemplate;
            var container = template.Container;
            if (flags.Last("--image") is { } image)
            {
                container = container with { Image = Image("--image", image).OrThrow() };
            }

            if (flags.Last("--args") is { } args)
            {
                container = container with { Args = Words("--args", args).OrThrow() };
            }

            if (flags.Last("--entrypoint") is { } entrypoint)
            {
                container = container with { Command = Words("--entrypoint", entrypoint).OrThrow() };
            }

            container = UpdateConfinement(container, flags) with
            {
                Env = Env(container.Env, flags.All("--env-add"), flags.All("--env-rm")),
                Labels = Labels(container.Labels, flags.All("--container-label-add"), flags.All("--container-label-rm")),
                Mounts = Mounts(container.Mounts, flags.All("--mount-add"), flags.All("--mount-rm")),
                Secrets = SecretReferences(container.Secrets, flags.All("--secret-add"), flags.All("--secret-rm")),
                Configs = ConfigReferences(container.Configs, flags.All("--config-add"), flags.All("--config-rm")),
            };
            var preferences = Distinct(
                [.. template.Placement.Preferences.Select(p => p.SpreadDescriptor)],
                flags.All("--placement-pref-add"),
                [.. flags.All("--placement-pref-rm").Select(v => PlacementPref("--placement-pref-rm", v).OrThrow())],
                v => PlacementPref("--placement-pref-add", v).OrThrow());
            template = template with
            {
                Container = container,
                Placement = template.Placement with
                {
                    Constraints = Distinct(template.Placement.Constraints, flags.All("--constraint-add"), [.. flags.All("--constraint-rm").Select(v => Constraint("--constraint-rm", v).OrThrow())], v => Constraint("--constraint-add", v).OrThrow()),
                    Preferences = [.. preferences.Select(d => new PlacementPreference(d))],
                },
                Networks = Networks(template.Networks, flags.All("--network-add"), flags.All("--network-rm"), networkId ?? UnresolvedNetworks),
                ForceUpdate = template.ForceUpdate + (flags.Has("--force") ? 1 : 0),
            };
            spec = spec with
            {
                Labels = Labels(spec.Labels, flags.All("--label-add"), flags.All("--label-rm")),
                TaskTemplate = template,
                Endpoint = spec.Endpoint with { Ports = Ports(spec.Endpoint.Ports, flags.All("--publish-add"), flags.All("--publish-rm")) },
            };
            return Checked<ServiceSpec>.Ok(Common(spec, flags, creating: false));
        }
        catch (FlagException e)
        {
            return Checked<ServiceSpec>.Fail(e.Message);
        }
    }

    /// <summary>The flags create and update share: mode counts, resources, restart, update/rollback, health, container settings.</summary>
    private static ServiceSpec Common(ServiceSpec spec, FlagValues flags, bool creating)
    {
        spec = spec with { Mode = ModeCounts(spec.Mode, flags, creating) };
        var template = spec.TaskTemplate;
        var container = template.Container;
        container = CommonConfinement(container, flags) with
        {
            Dir = flags.Last("--workdir") ?? container.Dir,
            User = flags.Last("--user") ?? container.User,
            StopSignal = flags.Last("--stop-signal") ?? container.StopSignal,
            // 0s is kept, as docker keeps it: SIGKILL at once after the stop signal (unset is docker's 10 s).
            StopGracePeriod = flags.Last("--stop-grace-period") is { } grace ? Duration("--stop-grace-period", grace).OrThrow() : container.StopGracePeriod,
            HealthCheck = Health(container.HealthCheck, flags),
            Dns = DnsOf(container.Dns, flags, creating),
        };
        var resources = template.Resources;
        resources = new ResourceRequirements(
            new ResourceAmounts(CpuOr(flags, "--limit-cpu", resources.Limits.NanoCpus), MemoryOr(flags, "--limit-memory", resources.Limits.MemoryBytes), CountOr(flags, "--limit-pids", resources.Limits.Pids)),
            new ResourceAmounts(CpuOr(flags, "--reserve-cpu", resources.Reservations.NanoCpus), MemoryOr(flags, "--reserve-memory", resources.Reservations.MemoryBytes)));
        var restart = template.Restart;
        restart = new RestartPolicy(
            flags.Last("--restart-condition") is { } condition ? Restart(condition).Value : restart.Condition,
            DurationOr(flags, "--restart-delay", restart.Delay),
            CountOr(flags, "--restart-max-attempts", restart.MaxAttempts),
            DurationOr(flags, "--restart-window", restart.Window));
        var placement = template.Placement with { MaxReplicasPerNode = CountOr(flags, "--replicas-max-per-node", template.Placement.MaxReplicasPerNode) };
        return spec with
        {
            TaskTemplate = template with { Container = container, Resources = resources, Restart = restart, Placement = placement, LogDriver = LogDriverOf(template.LogDriver, flags) },
            Endpoint = flags.Last("--endpoint-mode") is { } endpointMode ? spec.Endpoint with { Mode = EndpointModeOf(endpointMode).Value } : spec.Endpoint,
            Update = UpdateConfigOf(spec.Update, "--update", flags),
            Rollback = UpdateConfigOf(spec.Rollback, "--rollback", flags),
        };
    }

    private static ServiceMode ModeCounts(ServiceMode mode, FlagValues flags, bool creating)
    {
        var replicas = flags.Last("--replicas") is { } r ? Count("--replicas", r).Value : (long?)null;
        var concurrent = flags.Last("--max-concurrent") is { } c ? Count("--max-concurrent", c).Value : (long?)null;
        if (concurrent is not null && mode.Kind != ServiceModeKind.ReplicatedJob)
        {
            throw new FlagException("--max-concurrent applies to replicated jobs only; use it with --mode replicated-job.");
        }

        switch (mode.Kind)
        {
            case ServiceModeKind.Replicated:
                return replicas is { } n ? mode with { Replicas = n } : mode;
            case ServiceModeKind.ReplicatedJob:
                // Docker's defaults on create: as many at once as --replicas, and as many completions as run at once.
                var maxConcurrent = concurrent ?? (creating ? replicas : null) ?? mode.MaxConcurrent;
                return mode with { MaxConcurrent = maxConcurrent, TotalCompletions = replicas ?? (creating ? maxConcurrent : mode.TotalCompletions) };
            default:
                if (replicas is not null)
                {
                    throw new FlagException("--replicas applies to replicated services and jobs only; a global service runs one task on every eligible node.");
                }

                return mode;
        }
    }

    internal static HealthCheck? Health(HealthCheck? health, FlagValues flags)
    {
        string[] healthFlags = ["--health-cmd", "--health-interval", "--health-timeout", "--health-retries", "--health-start-period", "--health-start-interval"];
        var touched = healthFlags.Where(flags.Has).ToList();
        if (flags.Has("--no-healthcheck"))
        {
            return touched.Count > 0
                ? throw new FlagException($"--no-healthcheck conflicts with {string.Join(", ", touched)}; give one or the other.")
                : new HealthCheck(["NONE"]);
        }

        if (touched.Count == 0)
        {
            return health;
        }

        var check = health is null || health.Test is ["NONE"] ? new HealthCheck([]) : health;
        return check with
        {
            Test = flags.Last("--health-cmd") is { } cmd ? ["CMD-SHELL", cmd] : check.Test,
            Interval = DurationOr(flags, "--health-interval", check.Interval),
            Timeout = DurationOr(flags, "--health-timeout", check.Timeout),
            Retries = CountOr(flags, "--health-retries", check.Retries),
            StartPeriod = DurationOr(flags, "--health-start-period", check.StartPeriod),
            StartInterval = DurationOr(flags, "--health-start-interval", check.StartInterval),
        };
    }

    private static UpdateConfig UpdateConfigOf(UpdateConfig config, string prefix, FlagValues flags) => new(
        CountOr(flags, prefix + "-parallelism", config.Parallelism),
        DurationOr(flags, prefix + "-delay", config.Delay),
        flags.Last(prefix + "-failure-action") is { } action ? FailureActionOf(prefix + "-failure-action", action, prefix == "--rollback").Value : config.FailureAction,
        DurationOr(flags, prefix + "-monitor", config.Monitor),
        flags.Last(prefix + "-max-failure-ratio") is { } ratio ? Ratio(prefix + "-max-failure-ratio", ratio).Value : config.MaxFailureRatio,
        flags.Last(prefix + "-order") is { } order ? Order(prefix + "-order", order).Value : config.Order);

    private static IEnumerable<ServiceFlag> UpdateConfigFlags(string prefix, string what, bool rollback) =>
    [
        new($"{prefix}-parallelism", null, $"Maximum number of tasks {(rollback ? "rolled back" : "updated")} simultaneously (0 to {what} all at once) (default 1)", FlagUse.Both, v => Count($"{prefix}-parallelism", v).Error),
        new($"{prefix}-delay", null, $"Delay between {what}s (ns|us|ms|s|m|h) (default 0s)", FlagUse.Both, v => Duration($"{prefix}-delay", v).Error),
        new($"{prefix}-failure-action", null, rollback ? "Action on rollback failure (\"pause\", \"continue\") (default \"pause\")" : "Action on update failure (\"pause\", \"continue\", \"rollback\") (default \"pause\")", FlagUse.Both, v => FailureActionOf($"{prefix}-failure-action", v, rollback).Error),
        new($"{prefix}-monitor", null, $"Duration after each task {what} to monitor for failure (ns|us|ms|s|m|h) (default 5s)", FlagUse.Both, v => Duration($"{prefix}-monitor", v).Error),
        new($"{prefix}-max-failure-ratio", null, $"Failure rate to tolerate during a{(rollback ? " rollback" : "n update")} (0 to 1)", FlagUse.Both, v => Ratio($"{prefix}-max-failure-ratio", v).Error),
        new($"{prefix}-order", null, $"{(rollback ? "Rollback" : "Update")} order (\"start-first\", \"stop-first\") (default \"stop-first\")", FlagUse.Both, v => Order($"{prefix}-order", v).Error),
    ];

    // ---- list flags: add (replacing the same key), then remove, as docker applies them

    /// <summary>
    /// The KEY=VALUE entries of an --env-file, read as docker's (and compose's env_file): a KEY alone takes
    /// this shell's value, and is left out when it has none. A file that cannot be read or a bad line is
    /// refused naming the file and the line.
    /// </summary>
    private static IEnumerable<string> EnvFileEntries(string path)
    {
        var read = EnvFile("--env-file", path);
        return read.Error is { } error ? throw new FlagException(error) : read.Value;
    }

    /// <inheritdoc cref="EnvFileEntries"/>
    internal static Checked<IReadOnlyList<string>> EnvFile(string flag, string path)
    {
        var (variables, error) = KeyValueFile(flag, path);
        return error is not null
            ? Checked<IReadOnlyList<string>>.Fail(error)
            : Checked<IReadOnlyList<string>>.Ok([.. variables.Select(v => (v.Key, Value: v.Value ?? Environment.GetEnvironmentVariable(v.Key)))
                .Where(v => v.Value is not null).Select(v => $"{v.Key}={v.Value}")]);
    }

    /// <summary>docker's --label-file: lines of key=value (a key alone is an empty value), read as an --env-file is.</summary>
    internal static Checked<ImmutableSortedDictionary<string, string>> LabelFile(string flag, string path)
    {
        var (variables, error) = KeyValueFile(flag, path);
        return error is not null
            ? Checked<ImmutableSortedDictionary<string, string>>.Fail(error)
            : Checked<ImmutableSortedDictionary<string, string>>.Ok(variables.Aggregate(ImmutableSortedDictionary<string, string>.Empty,
                (labels, v) => labels.SetItem(v.Key, v.Value ?? string.Empty)));
    }

    private static (IReadOnlyList<KeyValuePair<string, string?>> Variables, string? Error) KeyValueFile(string flag, string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ([], $"{flag} {path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message)}; give the path of a file of KEY=VALUE lines.");
        }

        var (variables, error) = Compose.EnvFile.Parse(text);
        return error is { } bad ? ([], $"{flag} {path}, line {bad.Line}: {bad.Message}.") : (variables, null);
    }

    private static ImmutableArray<string> Env(ImmutableArray<string> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        var entries = current.ToList();
        foreach (var value in add)
        {
            var entry = Env("--env", value).OrThrow();
            var key = EnvKey(entry);
            var at = entries.FindIndex(e => EnvKey(e) == key);
            if (at >= 0)
            {
                entries[at] = entry;
            }
            else
            {
                entries.Add(entry);
            }
        }

        var removed = remove.Select(r => r.Trim()).ToHashSet(StringComparer.Ordinal);
        return [.. entries.Where(e => !removed.Contains(EnvKey(e)))];
    }

    private static string EnvKey(string entry) => entry.Split('=', 2)[0];

    private static ImmutableSortedDictionary<string, string> Labels(ImmutableSortedDictionary<string, string> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        foreach (var value in add)
        {
            var (key, text) = Label("--label", value).OrThrow();
            current = current.SetItem(key, text);
        }

        return current.RemoveRange(remove.Select(r => r.Trim()));
    }

    private static ImmutableArray<string> Distinct(ImmutableArray<string> current, IReadOnlyList<string> add, IReadOnlyList<string> remove, Func<string, string> normalize)
    {
        var items = current.ToList();
        foreach (var value in add.Select(normalize))
        {
            if (!items.Contains(value, StringComparer.Ordinal))
            {
                items.Add(value);
            }
        }

        return [.. items.Where(i => !remove.Contains(i, StringComparer.Ordinal))];
    }

    private static ImmutableArray<MountSpec> Mounts(ImmutableArray<MountSpec> current, IReadOnlyList<string> add, IReadOnlyList<string> removeTargets)
    {
        var mounts = current.ToList();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in add)
        {
            var mount = Mount("--mount", value).OrThrow();
            // docker's words, from its CLI (update) and swarmkit (create); the earlier mount was dropped silently.
            if (!given.Add(mount.Target.TrimEnd('/')))
            {
                throw new FlagException($"duplicate mount target {mount.Target}: two mounts name it; give each mount a target of its own.");
            }

            mounts.RemoveAll(m => m.Target == mount.Target);
            mounts.Add(mount);
        }

        return [.. mounts.Where(m => !removeTargets.Contains(m.Target, StringComparer.Ordinal))];
    }

    /// <summary>
    /// docker's order: the -rm names go first, then each added reference replaces one at the same
    /// target. Two given at one target are refused with docker's words (the first was dropped silently).
    /// The ids are the managers' to fill in from the names.
    /// </summary>
    private static ImmutableArray<SecretReference> SecretReferences(ImmutableArray<SecretReference> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        var references = current.Where(r => !remove.Contains(r.SecretName, StringComparer.Ordinal) && !remove.Contains(r.SecretId, StringComparer.Ordinal)).ToList();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in add)
        {
            var (source, file) = FileReferenceOf("--secret", value).OrThrow();
            RefuseDuplicateTarget(given, "secret", source, file);
            references.RemoveAll(r => r.File.Name == file.Name);
            references.Add(new SecretReference(string.Empty, source, file));
        }

        return [.. references];
    }

    private static ImmutableArray<ConfigReference> ConfigReferences(ImmutableArray<ConfigReference> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        var references = current.Where(r => !remove.Contains(r.ConfigName, StringComparer.Ordinal) && !remove.Contains(r.ConfigId, StringComparer.Ordinal)).ToList();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in add)
        {
            var (source, file) = FileReferenceOf("--config", value).OrThrow();
            RefuseDuplicateTarget(given, "config", source, file);
            references.RemoveAll(r => r.File.Name == file.Name);
            references.Add(new ConfigReference(string.Empty, source, file));
        }

        return [.. references];
    }

    private static void RefuseDuplicateTarget(HashSet<string> given, string kind, string source, FileTarget file)
    {
        if (!given.Add(file.Name))
        {
            throw new FlagException($"duplicate {kind} target for {source} not allowed: two --{kind} values name the target {file.Name}; give each its own target=.");
        }
    }

    /// <summary>
    /// docker's order (updatePorts): the --publish-rm ports leave the spec as read, then each added port
    /// joins, replacing one published on the same port. Removing after adding instead took away the
    /// port just added for the same target (`--publish-rm 8080 --publish-add 9090:8080` left none).
    /// </summary>
    private static ImmutableArray<PortConfig> Ports(ImmutableArray<PortConfig> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        var removals = remove.SelectMany(r => PortRemovals(r).OrThrow()).ToList();
        var ports = current.Where(p => !removals.Any(r => r.Target == p.TargetPort && r.Protocol == p.Protocol)).ToList();
        foreach (var port in add.SelectMany(value => Ports("--publish-add", value).OrThrow()))
        {
            ports.RemoveAll(p => p.Protocol == port.Protocol && (port.PublishedPort != 0 ? p.PublishedPort == port.PublishedPort : p.TargetPort == port.TargetPort && p.PublishedPort == 0));
            ports.Add(port);
        }

        return [.. ports];
    }

    /// <summary>`service create`'s --network list as given (a later one replacing an earlier of the same name); the managers resolve the names.</summary>
    private static ImmutableArray<NetworkAttachment> Networks(IReadOnlyList<string> given)
    {
        var networks = new List<NetworkAttachment>();
        foreach (var value in given)
        {
            var network = Network("--network", value).OrThrow();
            networks.RemoveAll(n => n.Target == network.Target);
            networks.Add(network);
        }

        return [.. networks];
    }

    /// <summary>
    /// docker's order (updateNetworks): the --network-rm networks leave the spec as read, then each
    /// --network-add one joins, so one network in both is attached again with the new aliases. Both
    /// name a network by name, id or id prefix; <paramref name="networkId"/> turns each into the id the
    /// managers store (and refuses one the swarm does not have), so a removal by id or prefix finds its
    /// attachment, and a network already attached is refused however it is named, as docker refuses it.
    /// </summary>
    private static ImmutableArray<NetworkAttachment> Networks(
        ImmutableArray<NetworkAttachment> current, IReadOnlyList<string> add, IReadOnlyList<string> remove, NetworkIdResolver networkId)
    {
        var removed = remove.Select(r => networkId("--network-rm", r.Trim()).OrThrow()).ToHashSet(StringComparer.Ordinal);
        // The spec as read holds ids; one holding a name (stored before ids were) still compares by id.
        var networks = current.Where(n => !removed.Contains(networkId("", n.Target) is { Error: null } id ? id.Value : n.Target)).ToList();
        foreach (var value in add)
        {
            var network = Network("--network-add", value).OrThrow();
            var id = networkId("--network-add", network.Target).OrThrow();
            if (networks.Any(n => n.Target == id || n.Target == network.Target))
            {
                throw new FlagException(
                    $"--network-add '{value}': the service is already attached to network {network.Target}; to change its aliases, give it to --network-rm as well.");
            }

            networks.Add(network with { Target = id });
        }

        return [.. networks];
    }

    /// <summary>
    /// The id of the network a flag's value names (its name, id or a unique id prefix), or why there is
    /// none; the flag is for the message. <see cref="UnresolvedNetworks"/> keeps values as given.
    /// </summary>
    public delegate Checked<string> NetworkIdResolver(string flag, string networkRef);

    /// <summary>Values as given: for a spec whose networks no one resolves (the managers do).</summary>
    public static readonly NetworkIdResolver UnresolvedNetworks = (_, networkRef) => Checked<string>.Ok(networkRef);

    /// <summary>
    /// A network named as docker's daemon resolves it, and as the managers do: full id, exact name, or
    /// an id prefix only one network's id starts with; an unknown or ambiguous one is refused naming the flag.
    /// </summary>
    public static Checked<string> NetworkId(IReadOnlyCollection<NetworkObject> networks, string flag, string networkRef)
    {
        if (PredefinedNetworks.IsLocal(networkRef))
        {
            // The node's own networks (bridge, host, none) are kept by name: no swarm network stands for them (none may take their names).
            return Checked<string>.Ok(networkRef);
        }

        if ((networks.FirstOrDefault(n => n.Id == networkRef) ?? networks.FirstOrDefault(n => n.Spec.Name == networkRef)) is { } exact)
        {
            return Checked<string>.Ok(exact.Id);
        }

        var byPrefix = networkRef.Length == 0 ? [] : networks.Where(n => n.Id.StartsWith(networkRef, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => Checked<string>.Ok(byPrefix[0].Id),
            0 => Checked<string>.Fail($"{Named(flag, networkRef)}: network {networkRef} not found; name one of the swarm's networks by name, id or id prefix (see `protoswarm network ls`)."),
            _ => Checked<string>.Fail($"{Named(flag, networkRef)}: network {networkRef} is ambiguous, {byPrefix.Count} network ids start with it; give more of the id, or the name."),
        };
    }

    // ---- one value each

    /// <summary>
    /// How a message names the value: after its flag ("--limit-memory '1x' is not a size"), or alone
    /// when the flag is empty, for a caller that says where the value came from itself (a compose key).
    /// </summary>
    internal static string Named(string flag, string value) => flag.Length == 0 ? $"'{value}'" : $"{flag} '{value}'";

    /// <summary>The flag before an example value ("e.g. --replicas 3"), or nothing when there is no flag.</summary>
    internal static string Example(string flag) => flag.Length == 0 ? "" : flag + " ";

    public static Checked<ServiceModeKind> Mode(string value, string flag = "--mode") => value.Trim().ToLowerInvariant() switch
    {
        "replicated" => Checked<ServiceModeKind>.Ok(ServiceModeKind.Replicated),
        "global" => Checked<ServiceModeKind>.Ok(ServiceModeKind.Global),
        "replicated-job" => Checked<ServiceModeKind>.Ok(ServiceModeKind.ReplicatedJob),
        "global-job" => Checked<ServiceModeKind>.Ok(ServiceModeKind.GlobalJob),
        _ => Checked<ServiceModeKind>.Fail($"{Named(flag, value)} is not a service mode; use replicated, global, replicated-job or global-job."),
    };

    /// <summary>
    /// The image pinning the flags ask for: docker's --no-resolve-image is --resolve-image never, so
    /// another mode beside it is refused; neither given, <paramref name="byDefault"/>.
    /// </summary>
    public static Checked<string> ResolveImageMode(FlagValues flags, string byDefault)
    {
        var mode = flags.Last("--resolve-image");
        if (!flags.Has("--no-resolve-image"))
        {
            return Checked<string>.Ok(mode ?? byDefault);
        }

        return mode is null or ResolveImageModes.Never
            ? Checked<string>.Ok(ResolveImageModes.Never)
            : Checked<string>.Fail($"--no-resolve-image is --resolve-image {ResolveImageModes.Never} and cannot be combined with --resolve-image {mode}; give one of them.");
    }

    /// <summary>`--resolve-image`: always, changed or never, as docker's.</summary>
    public static string? ResolveImage(string value) =>
        ResolveImageModes.IsValid(value)
            ? null
            : $"--resolve-image '{value}' is not a mode; use {ResolveImageModes.Always} (pin the tag's digest), {ResolveImageModes.Changed} (only when the image changes) or {ResolveImageModes.Never}.";

    public static Checked<string> Image(string flag, string value) =>
        value.Trim().Length == 0 || value.Any(char.IsWhiteSpace)
            ? Checked<string>.Fail($"{Named(flag, value)} is not an image reference; write the image as name[:tag][@digest], e.g. nginx:1.27.")
            : ImageReference.TryParse(value, out _, out var error, allowDigest: true)
                ? Checked<string>.Ok(value)
                : Checked<string>.Fail($"{(flag.Length > 0 ? flag + " " : "")}{error}.");

    /// <summary>A whole number from 0 up; refuses "-1" and "1.5" naming the flag.</summary>
    public static Checked<long> Count(string flag, string value) =>
        long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? Checked<long>.Ok(n)
            : Checked<long>.Fail($"{Named(flag, value)} is not a whole number; give 0 or more, e.g. {Example(flag)}3.");

    /// <summary>A Go duration as docker takes it ("300ms", "1m30s", "2h", or "0"); negative ones are refused.</summary>
    public static Checked<TimeSpan> Duration(string flag, string value)
    {
        if (value.Trim() == "0")
        {
            return Checked<TimeSpan>.Ok(TimeSpan.Zero);
        }

        var parsed = ArgumentRules.Duration(flag, value);
        return parsed.IsValid
            ? parsed
            : Checked<TimeSpan>.Fail($"{Named(flag, value)} is not a duration; use a number and a unit (ns, us, ms, s, m, h), e.g. 300ms, 10s or 1m30s.");
    }

    /// <summary>CPUs as a decimal ("0.5", "2"), to nano CPUs as docker's NanoCPUs.</summary>
    public static Checked<long> Cpu(string flag, string value)
    {
        if (!decimal.TryParse(value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cpus))
        {
            return Checked<long>.Fail($"{Named(flag, value)} is not a number of CPUs; give a decimal number, e.g. {Example(flag)}0.5.");
        }

        var nanos = cpus * MaxCpuScale;
        return nanos != decimal.Truncate(nanos) || nanos > long.MaxValue
            ? Checked<long>.Fail($"{Named(flag, value)} is too precise; give at most 9 decimals, e.g. {Example(flag)}0.25.")
            : Checked<long>.Ok((long)nanos);
    }

    /// <summary>Memory as docker's RAMInBytes: a number and an optional binary unit (b, k, m, g, t, p; "512m", "1.5g", "1GiB").</summary>
    public static Checked<long> Memory(string flag, string value)
    {
        var match = MemoryPattern().Match(value.Trim());
        if (!match.Success)
        {
            return Checked<long>.Fail($"{Named(flag, value)} is not a size; give a number and a unit (b, k, m, g, t), e.g. {Example(flag)}512m or 1g.");
        }

        var amount = decimal.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var shift = match.Groups[2].Value.ToLowerInvariant() switch
        {
            "k" => 10,
            "m" => 20,
            "g" => 30,
            "t" => 40,
            "p" => 50,
            _ => 0,
        };
        var bytes = amount * (1L << shift);
        return bytes > long.MaxValue
            ? Checked<long>.Fail($"{Named(flag, value)} is too large.")
            : Checked<long>.Ok((long)bytes);
    }

    public static Checked<double> Ratio(string flag, string value) =>
        double.TryParse(value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var ratio) && ratio is >= 0 and <= 1
            ? Checked<double>.Ok(ratio)
            : Checked<double>.Fail($"{Named(flag, value)} is not a ratio; give a number from 0 to 1, e.g. {Example(flag)}0.2.");

    public static Checked<RestartCondition> Restart(string value, string flag = "--restart-condition") => value.Trim().ToLowerInvariant() switch
    {
        "any" => Checked<RestartCondition>.Ok(RestartCondition.Any),
        "on-failure" => Checked<RestartCondition>.Ok(RestartCondition.OnFailure),
        "none" => Checked<RestartCondition>.Ok(RestartCondition.None),
        _ => Checked<RestartCondition>.Fail($"{Named(flag, value)} is not a condition; use none, on-failure or any."),
    };

    public static Checked<FailureAction> FailureActionOf(string flag, string value, bool rollback) => value.Trim().ToLowerInvariant() switch
    {
        "pause" => Checked<FailureAction>.Ok(FailureAction.Pause),
        "continue" => Checked<FailureAction>.Ok(FailureAction.Continue),
        "rollback" when !rollback => Checked<FailureAction>.Ok(FailureAction.Rollback),
        _ => Checked<FailureAction>.Fail(rollback
            ? $"{Named(flag, value)} is not an action; use pause or continue."
            : $"{Named(flag, value)} is not an action; use pause, continue or rollback."),
    };

    public static Checked<UpdateOrder> Order(string flag, string value) => value.Trim().ToLowerInvariant() switch
    {
        "stop-first" => Checked<UpdateOrder>.Ok(UpdateOrder.StopFirst),
        "start-first" => Checked<UpdateOrder>.Ok(UpdateOrder.StartFirst),
        _ => Checked<UpdateOrder>.Fail($"{Named(flag, value)} is not an order; use stop-first or start-first."),
    };

    public static Checked<EndpointMode> EndpointModeOf(string value, string flag = "--endpoint-mode") => value.Trim().ToLowerInvariant() switch
    {
        "vip" => Checked<EndpointMode>.Ok(EndpointMode.Vip),
        "dnsrr" => Checked<EndpointMode>.Ok(EndpointMode.Dnsrr),
        _ => Checked<EndpointMode>.Fail($"{Named(flag, value)} is not an endpoint mode; use vip or dnsrr."),
    };

    /// <summary>
    /// An --env or --env-add entry, as docker's ValidateEnv takes it: NAME=value as written (the
    /// value may be empty), and a NAME alone takes this shell's value when it has one (set, even to
    /// empty), so <c>--env PATH</c> sends the caller's PATH. A NAME this shell has not set stays
    /// bare, and the container then has no such variable (a bare entry unsets the image's).
    /// </summary>
    public static Checked<string> Env(string flag, string value) => Env(flag, value, Environment.GetEnvironmentVariable);

    /// <inheritdoc cref="Env(string, string)"/>
    public static Checked<string> Env(string flag, string value, Func<string, string?> shell)
    {
        var key = EnvKey(value);
        if (key.Trim().Length == 0 || key.Any(char.IsWhiteSpace))
        {
            return Checked<string>.Fail($"{Named(flag, value)} has no variable name; write it as NAME=value.");
        }

        var entry = !value.Contains('=', StringComparison.Ordinal) && shell(key) is { } set ? $"{key}={set}" : value;
        return ServiceTemplates.Problem(entry, "", out _) is { } problem
            ? Checked<string>.Fail($"{Named(flag, value)}: {problem}.")
            : Checked<string>.Ok(entry);
    }

    /// <summary>A key alone, for the -rm flags.</summary>
    public static Checked<string> Key(string flag, string value) =>
        value.Trim().Length == 0 || value.Contains('=', StringComparison.Ordinal)
            ? Checked<string>.Fail($"{Named(flag, value)} must be a key alone, without '=value'.")
            : Checked<string>.Ok(value.Trim());

    /// <summary>A label as docker takes it: key=value, or key alone for an empty value.</summary>
    public static Checked<(string Key, string Value)> Label(string flag, string value)
    {
        var parts = value.Split('=', 2);
        var key = parts[0].Trim();
        return key.Length == 0 || key.Any(char.IsWhiteSpace)
            ? Checked<(string, string)>.Fail($"{Named(flag, value)} needs a key without spaces; write it as key=value (or key alone).")
            : Checked<(string, string)>.Ok((key, parts.Length > 1 ? parts[1] : string.Empty));
    }

    public static string? Workdir(string flag, string value) =>
        value.Length > 0 && !value.StartsWith('/') ? $"{Named(flag, value)} is not an absolute path; give the directory in the container, e.g. /app." : null;

    /// <summary>A placement constraint as docker writes it: key==value or key!=value.</summary>
    public static Checked<string> Constraint(string flag, string value)
    {
        var text = value.Trim();
        var op = text.Contains("==", StringComparison.Ordinal) ? "==" : text.Contains("!=", StringComparison.Ordinal) ? "!=" : null;
        if (op is null)
        {
            return Checked<string>.Fail($"{Named(flag, value)} has no operator; write it as key==value or key!=value, e.g. node.role==manager.");
        }

        var parts = text.Split(op, 2);
        return parts[0].Trim().Length == 0 || parts[1].Trim().Length == 0
            ? Checked<string>.Fail($"{Named(flag, value)} needs a key and a value; write it as key==value or key!=value, e.g. node.labels.zone==a.")
            : Checked<string>.Ok(text);
    }

    /// <summary>Docker's placement preference: spread=node.labels.NAME; returns the descriptor.</summary>
    public static Checked<string> PlacementPref(string flag, string value)
    {
        var parts = value.Split('=', 2);
        return parts.Length == 2 && parts[0].Trim() == "spread" && parts[1].Trim().Length > 0
            ? Checked<string>.Ok(parts[1].Trim())
            : Checked<string>.Fail($"{Named(flag, value)} is not a placement preference; write it as spread=node.labels.<name>.");
    }

    public static string? StopSignal(string value) => StopSignal("--stop-signal", value);

    public static string? StopSignal(string flag, string value) =>
        SignalRule.Parse(value) is not null
            ? null
            : $"{Named(flag, value)} is not a signal; use a signal name such as SIGTERM or SIGINT, or its number.";

    /// <summary>
    /// Docker's --mount: comma-separated type=bind|volume|tmpfs (default volume), source|src,
    /// target|destination|dst, readonly|ro[=true|false], and the type's own keys: volume-nocopy[=bool],
    /// volume-label=k=v (repeated), volume-driver=local, volume-opt=k=v (repeated: the local driver's type, device,
    /// o); tmpfs-size (bytes or 64m), tmpfs-mode (octal). A field holding commas is quoted as in CSV, as docker reads
    /// the flag: "volume-opt=o=addr=10.0.0.5,rw".
    /// </summary>
    public static Checked<MountSpec> Mount(string flag, string value)
    {
        const string Usage = "write it as type=volume,source=data,target=/data[,readonly]";
        var type = MountType.Volume;
        string source = string.Empty, target = string.Empty;
        var readOnly = false;
        var noCopy = false;
        long tmpfsSize = 0;
        var tmpfsMode = 0;
        var labels = ImmutableSortedDictionary<string, string>.Empty;
        var volumeOptions = ImmutableSortedDictionary<string, string>.Empty;
        var volumeDriver = string.Empty;
        MountPropagation? propagation = null;
        var nonRecursive = false;
        bool readOnlyNonRecursive = false, readOnlyForceRecursive = false;
        string? volumeKey = null, tmpfsKey = null, bindKey = null;
        var fields = CsvRecord.Read(flag, value);
        if (!fields.IsValid)
        {
            return Checked<MountSpec>.Fail(fields.Error!);
        }

        foreach (var field in fields.Value)
        {
            var parts = field.Split('=', 2);
            var key = parts[0].ToLowerInvariant();
            var text = parts.Length > 1 ? parts[1] : null;
            switch (key)
            {
                case "readonly" or "ro" or "volume-nocopy":
                    if (Flag(text) is not { } on)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: {key} takes true or false, not '{text}'.");
                    }

                    if (key == "volume-nocopy")
                    {
                        noCopy = on;
                        volumeKey = key;
                    }
                    else
                    {
                        readOnly = on;
                    }

                    continue;
                case "type" or "source" or "src" or "target" or "destination" or "dst" or "volume-label" or "volume-driver" or "volume-opt" or "tmpfs-size" or "tmpfs-mode" or "bind-propagation" or "bind-recursive" when string.IsNullOrEmpty(text):
                    return Checked<MountSpec>.Fail($"{Named(flag, value)}: '{field}' has no value; {Usage}.");
                case "type":
                    switch (text)
                    {
                        case "bind": type = MountType.Bind; break;
                        case "volume": type = MountType.Volume; break;
                        case "tmpfs": type = MountType.Tmpfs; break;
                        default: return Checked<MountSpec>.Fail($"{Named(flag, value)}: type '{text}' is not a mount type; use bind, volume or tmpfs.");
                    }

                    continue;
                case "source" or "src":
                    source = text!;
                    continue;
                case "target" or "destination" or "dst":
                    target = text!;
                    continue;
                case "volume-label":
                    var label = text!.Split('=', 2);
                    if (label[0].Length == 0)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: volume-label '{text}' has no name; write volume-label=KEY=VALUE.");
                    }

                    labels = labels.SetItem(label[0], label.Length > 1 ? label[1] : string.Empty);
                    volumeKey = key;
                    continue;
                case "volume-driver":
                    if (text != LocalVolumeDriver.Name)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: volume-driver '{text}' is not available; nodes have only the local driver, so leave volume-driver out.");
                    }

                    volumeDriver = text;
                    volumeKey = key;
                    continue;
                case "volume-opt":
                    // volume-opt=KEY=VALUE, one per option: type=nfs, device=:/export, "o=addr=10.0.0.5,rw" (quoted: it holds commas).
                    var option = text!.Split('=', 2);
                    if (option.Length < 2 || option[0].Length == 0)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: volume-opt '{text}' is not KEY=VALUE; write e.g. volume-opt=type=tmpfs,volume-opt=device=tmpfs.");
                    }

                    volumeOptions = volumeOptions.SetItem(option[0], option[1]);
                    volumeKey = key;
                    continue;
                case "tmpfs-size":
                    var size = Memory(flag, text!);
                    if (!size.IsValid)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: tmpfs-size '{text}' is not a size; give bytes or a number and a unit (k, m, g), e.g. tmpfs-size=64m.");
                    }

                    tmpfsSize = size.Value;
                    tmpfsKey = key;
                    continue;
                case "tmpfs-mode":
                    if (!TryOctal(text!, out tmpfsMode))
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: tmpfs-mode '{text}' is not an octal file mode; write e.g. tmpfs-mode=1770.");
                    }

                    tmpfsKey = key;
                    continue;
                case "bind-propagation":
                    if (MountPropagations.Parse(text) is not { } mode)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: bind-propagation '{text}' is not a propagation; use {MountPropagations.Words}.");
                    }

                    propagation = mode;
                    bindKey = key;
                    continue;
                case "bind-nonrecursive":
                    // Docker's older spelling of bind-recursive=disabled.
                    if (Flag(text) is not { } off)
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: bind-nonrecursive takes true or false, not '{text}'.");
                    }

                    nonRecursive = off;
                    bindKey = key;
                    continue;
                case "bind-recursive":
                    // One choice, the last given wins: enabled (docker 25's default: the mounts under the source come along, and a
                    // read-only bind is read-only all through where the kernel can), disabled, writable or readonly.
                    var recursion = text!.ToLowerInvariant();
                    if (recursion is not ("enabled" or "disabled" or "writable" or "readonly"))
                    {
                        return Checked<MountSpec>.Fail($"{Named(flag, value)}: bind-recursive '{text}' is not a choice; use enabled (the mounts under the source come along, read-only with a read-only bind), disabled (they stay out), writable (they come along writable in a read-only bind) or readonly (read-only too, or the task fails to start).");
                    }

                    nonRecursive = recursion == "disabled";
                    readOnlyNonRecursive = recursion == "writable";
                    readOnlyForceRecursive = recursion == "readonly";
                    bindKey = key;
                    continue;
                case "consistency":
                    // Docker ignores it on Linux too.
                    continue;
                case "volume-subpath" or "tmpfs-options":
                    return Checked<MountSpec>.Fail($"{Named(flag, value)}: {key} is not supported by ProtoSwarm's nodes; leave it out.");
                default:
                    return Checked<MountSpec>.Fail($"{Named(flag, value)}: '{key}' is not a mount option; use type, source, target, readonly, volume-nocopy, volume-label, volume-driver, volume-opt, tmpfs-size, tmpfs-mode, bind-propagation or bind-recursive ({Usage}).");
            }
        }

        if (target.Length == 0)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)} has no target; {Usage}.");
        }

        if (!target.StartsWith('/'))
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: target '{target}' is not an absolute path; give the path in the container, e.g. target=/data.");
        }

        if (target.Trim('/').Length == 0)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: the target cannot be '/'; mount on a directory in the container, e.g. target=/data.");
        }

        if (volumeKey is not null && type != MountType.Volume)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: {volumeKey} is for type=volume, not type={Name(type)}.");
        }

        if (tmpfsKey is not null && type != MountType.Tmpfs)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: {tmpfsKey} is for type=tmpfs, not type={Name(type)}.");
        }

        if (bindKey is not null && type != MountType.Bind)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: {bindKey} is for type=bind, not type={Name(type)}.");
        }

        // Docker's CLI says these before its daemon would.
        if (type == MountType.Bind && (readOnlyNonRecursive || readOnlyForceRecursive) && !readOnly)
        {
            var word = readOnlyNonRecursive ? "writable" : "readonly";
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: bind-recursive={word} is for a read-only bind; add readonly, or leave bind-recursive={word} out.");
        }

        if (type == MountType.Bind && readOnlyForceRecursive && propagation is { } given && given != MountPropagation.RPrivate)
        {
            return Checked<MountSpec>.Fail($"{Named(flag, value)}: bind-recursive=readonly needs bind-propagation=rprivate, not {MountPropagations.Name(given)}; leave bind-propagation out or give rprivate.");
        }

        // A volume's name may be a template (source=data-{{.Task.Slot}}): judged by its stand-in expansion.
        var templateProblem = ServiceTemplates.Problem(source, "", out var expandedSource);
        return (type, source) switch
        {
            (MountType.Bind, "") => Checked<MountSpec>.Fail($"{Named(flag, value)}: a bind mount needs source=<absolute path on the node>."),
            (MountType.Bind, _) when !source.StartsWith('/') => Checked<MountSpec>.Fail($"{Named(flag, value)}: bind source '{source}' is not an absolute path; give the path on the node, e.g. source=/srv/data."),
            (MountType.Tmpfs, not "") => Checked<MountSpec>.Fail($"{Named(flag, value)}: a tmpfs mount has no source; leave source out."),
            (MountType.Volume, not "") when templateProblem is not null => Checked<MountSpec>.Fail($"{Named(flag, value)}: {templateProblem}."),
            (MountType.Volume, not "") when VolumeNames.Problem(expandedSource) is { } problem => Checked<MountSpec>.Fail($"{Named(flag, value)}: {problem}; use type=bind for a host path."),
            (MountType.Volume, _) when volumeOptions.Count > 0 && LocalVolumeDriver.Problem(volumeOptions) is { } optionsProblem =>
                Checked<MountSpec>.Fail($"{Named(flag, value)}: {optionsProblem}."),
            _ => Checked<MountSpec>.Ok(new MountSpec(type, source, target, readOnly, tmpfsSize, tmpfsMode, noCopy, labels, VolumeDriver: volumeDriver, VolumeOptions: volumeOptions)
            {
                // Only a given propagation is kept: docker's managers drop a BindOptions with none (and no NonRecursive).
                BindPropagation = propagation,
                BindNonRecursive = nonRecursive,
                BindReadOnlyNonRecursive = readOnlyNonRecursive,
                BindReadOnlyForceRecursive = readOnlyForceRecursive,
            }),
        };

        static bool? Flag(string? text) => text?.ToLowerInvariant() switch
        {
            null or "true" or "1" => true,
            "false" or "0" => false,
            _ => null,
        };

        static string Name(MountType type) => type.ToString().ToLowerInvariant();
    }

    private static bool TryOctal(string text, out int mode)
    {
        mode = 0;
        if (text.Length is 0 or > 5 || text.Any(c => c is < '0' or > '7'))
        {
            return false;
        }

        mode = Convert.ToInt32(text, 8);
        return mode <= 0xFFF;
    }

    /// <summary>
    /// Docker's --publish: short [published:]target[/protocol], or long published=,target=,protocol=,mode=.
    /// Either may give ranges ("8400-8402:80-82"); a range becomes one port per number, as docker's CLI
    /// expands it before the managers see it, so each published port is checked (and conflicts named)
    /// on its own. Docker's long syntax takes no range; here it takes one, by the short syntax's rule.
    /// </summary>
    public static Checked<ImmutableArray<PortConfig>> Ports(string flag, string value)
    {
        // The long form is one CSV record, read as docker reads it: blanks are part of its fields.
        return value.Contains('=', StringComparison.Ordinal) ? LongPort(flag, value) : ShortPort(flag, value.Trim());
    }

    private static Checked<ImmutableArray<PortConfig>> ShortPort(string flag, string text)
    {
        const string Usage = "write it as 8080:80, 8080:80/udp, 8000-8002:80-82, or published=8080,target=80,protocol=tcp,mode=ingress";
        if (text.Split('/')[0].Split(':').Length > 2)
        {
            return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: a swarm port is published on every address of the node, so it takes no IP; {Usage}.");
        }

        var mapped = PortMappings(flag, text, Usage);
        return mapped.IsValid ? Checked<ImmutableArray<PortConfig>>.Ok(mapped.Value.Ports) : Checked<ImmutableArray<PortConfig>>.Fail(mapped.Error!);
    }

    /// <summary>
    /// Docker's short port syntax in full: [[IP:][published]:]target[/protocol], where the ports may
    /// be ranges (<see cref="Expand"/>); an IPv6 address is written in brackets.
    /// Returns the ports and the IP given (empty if none): a swarm publishes on every address, so the
    /// caller decides whether an IP is refused or ignored with a warning.
    /// </summary>
    public static Checked<(ImmutableArray<PortConfig> Ports, string HostIp)> PortMappings(string flag, string text, string usage)
    {
        var protocol = PortProtocol.Tcp;
        var ports = text;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var protocolName = text[(slash + 1)..];
            if (!TryProtocol(protocolName, out protocol))
            {
                return Fail($"{Named(flag, text)}: {ProtocolError(protocolName)}.");
            }

            ports = text[..slash];
        }

        var hostIp = string.Empty;
        if (ports.StartsWith('[') && ports.IndexOf("]:", StringComparison.Ordinal) is var close and > 0)
        {
            hostIp = ports[1..close];
            ports = ports[(close + 2)..];
        }
        else if (ports.Split(':') is { Length: 3 } three)
        {
            hostIp = three[0];
            ports = three[1] + ":" + three[2];
        }

        var parts = ports.Split(':');
        if (parts.Length > 2 || (hostIp.Length > 0 && !IPAddress.TryParse(hostIp, out _)))
        {
            return Fail($"{Named(flag, text)} is not a port mapping; {usage}.");
        }

        var expanded = Expand(Named(flag, text), parts.Length == 2 ? parts[0] : string.Empty, parts[^1], usage);
        return expanded.IsValid
            ? Checked<(ImmutableArray<PortConfig>, string)>.Ok(([.. expanded.Value.Select(p => p with { Protocol = protocol })], hostIp))
            : Fail(expanded.Error!);

        static Checked<(ImmutableArray<PortConfig>, string)> Fail(string error) => Checked<(ImmutableArray<PortConfig>, string)>.Fail(error);
    }

    /// <summary>
    /// Docker's rule for a published port (or range) and a target port (or range), as its
    /// nat.ParsePortSpec reads them and its CLI then makes one swarm port per published port:
    /// ranges of one length pair up (8400-8402:80-82 is 8400:80, 8401:81, 8402:82); a published range
    /// onto one target port publishes each of its ports to that target (8400-8402:80); a target range
    /// with nothing published gets a free port for each (80-82). A target range onto one published
    /// port, or two ranges of different lengths, is refused. <paramref name="named"/> is how the value
    /// is named in an error; <paramref name="published"/> is empty when no published port was given.
    /// </summary>
    private static Checked<ImmutableArray<PortConfig>> Expand(string named, string published, string target, string usage)
    {
        var targets = PortRange(named, target, 1, usage);
        var publishedPorts = published.Length == 0 ? Checked<(int First, int Last)>.Ok((0, 0)) : PortRange(named, published, 0, usage);
        if ((targets.Error ?? publishedPorts.Error) is { } error)
        {
            return Checked<ImmutableArray<PortConfig>>.Fail(error);
        }

        var (t, p) = (targets.Value, publishedPorts.Value);
        var (targetCount, publishedCount) = (t.Last - t.First + 1, p.Last - p.First + 1);
        if (published.Length == 0 || publishedCount == targetCount)
        {
            return Checked<ImmutableArray<PortConfig>>.Ok([.. Enumerable.Range(0, targetCount).Select(i => new PortConfig(t.First + i, published.Length == 0 || p.First == 0 ? 0 : p.First + i))]);
        }

        if (targetCount == 1)
        {
            return Checked<ImmutableArray<PortConfig>>.Ok([.. Enumerable.Range(p.First, publishedCount).Select(port => new PortConfig(t.First, port))]);
        }

        return Checked<ImmutableArray<PortConfig>>.Fail(publishedCount == 1
            ? $"{named}: the target range {target} holds {targetCount} ports but one port ({published}) is published for them; publish a range of the same length ({Span(p.First, targetCount)}:{target}), or leave the published port out ({target}) to get a free port for each."
            : $"{named}: the published range {published} holds {publishedCount} ports and the target range {target} holds {targetCount}; give both ranges the same length ({Span(p.First, targetCount)}:{target}), or publish the range onto one target port ({published}:{t.First.ToString(CultureInfo.InvariantCulture)}).");

        static string Span(int first, int count) => first + count - 1 <= 65535
            ? string.Create(CultureInfo.InvariantCulture, $"{first}-{first + count - 1}")
            : string.Create(CultureInfo.InvariantCulture, $"{65535 - count + 1}-65535");
    }

    /// <summary>
    /// "80" or "8000-8009": the first and last port. A single port is from <paramref name="lowest"/> (0:
    /// a published port the swarm picks) to 65535; a range's ends are from 1 and run upwards.
    /// </summary>
    private static Checked<(int First, int Last)> PortRange(string named, string text, int lowest, string usage)
    {
        var ends = text.Split('-');
        if (ends.Length == 1)
        {
            return PortNumber(text) is { } port && port >= lowest
                ? Checked<(int, int)>.Ok((port, port))
                : Checked<(int, int)>.Fail($"{named} is not a port mapping; ports are numbers from 1 to 65535; {usage}.");
        }

        if (ends.Length != 2 || ends.Any(e => e.Trim().Length == 0))
        {
            return Checked<(int, int)>.Fail($"{named}: '{text}' is not a port range; write a range as FIRST-LAST, e.g. 8000-8002.");
        }

        foreach (var end in ends)
        {
            if (PortNumber(end) is not (> 0))
            {
                return Checked<(int, int)>.Fail($"{named}: '{end.Trim()}' in the range {text} is not a port; ports are numbers from 1 to 65535.");
            }
        }

        var (first, last) = (PortNumber(ends[0])!.Value, PortNumber(ends[1])!.Value);
        return last >= first
            ? Checked<(int, int)>.Ok((first, last))
            : Checked<(int, int)>.Fail(string.Create(CultureInfo.InvariantCulture, $"{named}: the range {text} runs backwards; write the lower port first ({last}-{first})."));
    }

    private static Checked<ImmutableArray<PortConfig>> LongPort(string flag, string text)
    {
        const string Usage = "write it as published=8080,target=80[,protocol=tcp|udp][,mode=ingress|host], or with ranges published=8000-8002,target=80-82";
        string? published = null, target = null;
        var protocol = PortProtocol.Tcp;
        var mode = PublishMode.Ingress;
        var fields = CsvRecord.Read(flag, text);
        if (!fields.IsValid)
        {
            return Checked<ImmutableArray<PortConfig>>.Fail(fields.Error!);
        }

        foreach (var field in fields.Value)
        {
            var parts = field.Split('=', 2);
            var value = parts.Length > 1 ? parts[1] : string.Empty;
            switch (parts[0].ToLowerInvariant())
            {
                case "published":
                    if (!value.Contains('-', StringComparison.Ordinal) && PortNumber(value) is null)
                    {
                        return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: published '{value}' is not a port from 1 to 65535.");
                    }

                    published = value.Trim();
                    break;
                case "target":
                    if (!value.Contains('-', StringComparison.Ordinal) && PortNumber(value) is not > 0)
                    {
                        return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: target '{value}' is not a port from 1 to 65535.");
                    }

                    target = value.Trim();
                    break;
                case "protocol":
                    if (!TryProtocol(value, out protocol))
                    {
                        return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: {ProtocolError(value)}.");
                    }

                    break;
                case "mode":
                    PublishMode? given = value.ToLowerInvariant() switch { "ingress" => PublishMode.Ingress, "host" => PublishMode.Host, _ => null };
                    if (given is null)
                    {
                        return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: mode '{value}' is not ingress or host.");
                    }

                    mode = given.Value;
                    break;
                default:
                    return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)}: '{parts[0]}' is not a port option; {Usage}.");
            }
        }

        if (target is null)
        {
            return Checked<ImmutableArray<PortConfig>>.Fail($"{Named(flag, text)} has no target port; {Usage}.");
        }

        var expanded = Expand(Named(flag, text), published ?? string.Empty, target, Usage);
        return expanded.IsValid
            ? Checked<ImmutableArray<PortConfig>>.Ok([.. expanded.Value.Select(p => p with { Protocol = protocol, PublishMode = mode })])
            : expanded;
    }

    /// <summary>
    /// --publish-rm: &lt;target port&gt;[/&lt;protocol&gt;] or a range of them (80-82/udp), or anything --publish
    /// takes (8080:80, 8400-8402:80-82, published=8080,target=80), as docker's: the ports published for
    /// those target ports and protocol go.
    /// </summary>
    public static Checked<ImmutableArray<(int Target, PortProtocol Protocol)>> PortRemovals(string value)
    {
        var ports = Ports("--publish-rm", value);
        if (ports.IsValid)
        {
            return Checked<ImmutableArray<(int, PortProtocol)>>.Ok([.. ports.Value.Select(p => (p.TargetPort, p.Protocol)).Distinct()]);
        }

        // A range's own fault (backwards, unequal lengths) says more than the general sentence.
        return Checked<ImmutableArray<(int, PortProtocol)>>.Fail(value.Contains('-', StringComparison.Ordinal)
            ? ports.Error!
            : $"--publish-rm '{value}' is not a port; name the target port as <port>[/<protocol>] (e.g. 80, 53/udp or 80-82), or give the port as --publish took it (8080:80).");
    }

    /// <summary>
    /// docker's --secret and --config: NAME alone, or source=NAME[,target=T][,uid=U][,gid=G][,mode=M]
    /// (mode as Go reads it: 0400 octal, 256 decimal). The default target is the name; a relative target is a file
    /// under /run/secrets for a secret, under / for a config, as docker's daemon places them.
    /// </summary>
    public static Checked<(string Source, FileTarget File)> FileReferenceOf(string flag, string value)
    {
        var config = flag.StartsWith("--config", StringComparison.Ordinal);
        var kind = config ? "config" : "secret";
        var usage = config ? "write it as NAME or source=NAME,target=/etc/NAME,mode=0444" : "write it as NAME or source=NAME,target=NAME,uid=0,gid=0,mode=0400";
        string? source = null, target = null;
        string uid = "0", gid = "0";
        var mode = FileTarget.DefaultMode;
        var fields = value.Trim().Length == 0 ? Checked<ImmutableArray<string>>.Ok([value]) : CsvRecord.Read(flag, value);
        if (!fields.IsValid)
        {
            return Checked<(string, FileTarget)>.Fail(fields.Error!);
        }

        if (!value.Contains('=', StringComparison.Ordinal))
        {
            // NAME alone: one field (docker's short form); several fields with no key are no name either.
            source = fields.Value is [var name] ? name.Trim() : value;
            if (source.Length == 0 || source.Contains(',', StringComparison.Ordinal))
            {
                return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)} names no {kind}; {usage}.");
            }
        }
        else
        {
            foreach (var field in fields.Value)
            {
                var parts = field.Split('=', 2);
                var key = parts[0].ToLowerInvariant();
                var text = parts.Length > 1 ? parts[1].Trim() : string.Empty;
                if (key is "source" or "src" or "target" or "uid" or "gid" or "mode" && text.Length == 0)
                {
                    return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)}: '{field}' has no value; {usage}.");
                }

                switch (key)
                {
                    case "source" or "src":
                        source = text;
                        break;
                    case "target":
                        target = text;
                        break;
                    case "uid" or "gid" when !text.All(char.IsAsciiDigit):
                        return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)}: {key} '{text}' is not a number; give the numeric {key}, e.g. {key}=1000.");
                    case "uid":
                        uid = text;
                        break;
                    case "gid":
                        gid = text;
                        break;
                    case "mode":
                        if (FileModeOf(text) is not { } parsed)
                        {
                            return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)}: mode '{text}' is not a file mode; give permission bits in octal from 0 to 0777, e.g. mode=0400.");
                        }

                        mode = parsed;
                        break;
                    default:
                        return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)}: '{parts[0]}' is not a {kind} option; use source, target, uid, gid or mode ({usage}).");
                }
            }
        }

        if (string.IsNullOrEmpty(source))
        {
            return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)} names no {kind}: source= is missing; {usage}.");
        }

        // docker's default is the name, which a config's container gets at /NAME and a secret's at /run/secrets/NAME.
        target ??= source;
        if (FileTargetRule.Problem(kind, target) is { } problem)
        {
            return Checked<(string, FileTarget)>.Fail($"{Named(flag, value)}: {problem}; give e.g. target={source} or target=/etc/{source}.");
        }

        return Checked<(string, FileTarget)>.Ok((source, new FileTarget(target, uid, gid, mode)));
    }

    /// <summary>A mode as Go's ParseUint(s, 0) reads it (0400 and 0o400 octal, 0x100 hex, else decimal), permission bits only.</summary>
    private static int? FileModeOf(string text)
    {
        try
        {
            var bits = text switch
            {
                _ when text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) => Convert.ToInt32(text[2..], 16),
                _ when text.StartsWith("0o", StringComparison.OrdinalIgnoreCase) => Convert.ToInt32(text[2..], 8),
                _ when text.Length > 1 && text[0] == '0' => Convert.ToInt32(text[1..], 8),
                _ => int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture),
            };
            return bits is >= 0 and <= 0x1FF ? bits : null;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>--network NAME, or docker's long form name=NAME,alias=ALIAS.</summary>
    public static Checked<NetworkAttachment> Network(string flag, string value)
    {
        if (!value.Contains('=', StringComparison.Ordinal))
        {
            return value.Trim().Length == 0 || value.Contains(',', StringComparison.Ordinal)
                ? Checked<NetworkAttachment>.Fail($"{Named(flag, value)} is not a network; name it, or write name=NAME,alias=ALIAS.")
                : Checked<NetworkAttachment>.Ok(new NetworkAttachment(value.Trim()));
        }

        var fields = CsvRecord.Read(flag, value);
        if (!fields.IsValid)
        {
            return Checked<NetworkAttachment>.Fail(fields.Error!);
        }

        string? name = null;
        var aliases = ImmutableArray.CreateBuilder<string>();
        foreach (var field in fields.Value)
        {
            // As docker's: the key and the value are trimmed of blanks once the record is read.
            var parts = field.Split('=', 2).Select(part => part.Trim()).ToArray();
            switch (parts[0])
            {
                case "name" or "target" when parts.Length == 2 && parts[1].Length > 0:
                    name = parts[1];
                    break;
                case "alias" when parts.Length == 2 && parts[1].Length > 0:
                    aliases.Add(parts[1]);
                    break;
                default:
                    return Checked<NetworkAttachment>.Fail($"{Named(flag, value)}: '{field}' is not understood; write name=NAME[,alias=ALIAS].");
            }
        }

        return name is null
            ? Checked<NetworkAttachment>.Fail($"{Named(flag, value)} names no network; write name=NAME[,alias=ALIAS].")
            : Checked<NetworkAttachment>.Ok(new NetworkAttachment(name, aliases.ToImmutable()));
    }

    /// <summary>Splits --args as a shell would: spaces separate words, quotes group them, a backslash escapes.</summary>
    public static Checked<ImmutableArray<string>> Words(string flag, string value)
    {
        var words = ImmutableArray.CreateBuilder<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else if (c == '\\' && q == '"' && i + 1 < value.Length)
                {
                    word.Append(value[++i]);
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (c == '\\' && i + 1 < value.Length)
            {
                word.Append(value[++i]);
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (quote is not null)
        {
            return Checked<ImmutableArray<string>>.Fail($"{Named(flag, value)}: a {quote} quote is never closed.");
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return Checked<ImmutableArray<string>>.Ok(words.ToImmutable());
    }

    internal static int? PortNumber(string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535 ? port : null;

    /// <summary>
    /// Why a port's protocol is refused. Docker takes sctp for swarm services; here the routing mesh
    /// and host-mode ports are nftables rules written for tcp and udp only (and ports are stored as
    /// one of the two), so sctp is refused by name rather than as an unknown word.
    /// </summary>
    internal static string ProtocolError(string text) => text.Trim().Equals("sctp", StringComparison.OrdinalIgnoreCase)
        ? "sctp is not supported: ProtoSwarm publishes tcp and udp ports only; use tcp or udp"
        : $"'{text}' is not a protocol; use tcp or udp";

    internal static bool TryProtocol(string text, out PortProtocol protocol)
    {
        var name = text.Trim().ToLowerInvariant();
        protocol = name is "udp" ? PortProtocol.Udp : PortProtocol.Tcp;
        return name is "tcp" or "udp";
    }

    private static TimeSpan DurationOr(FlagValues flags, string flag, TimeSpan current) =>
        flags.Last(flag) is { } value ? Duration(flag, value).OrThrow() : current;

    private static long CountOr(FlagValues flags, string flag, long current) =>
        flags.Last(flag) is { } value ? Count(flag, value).OrThrow() : current;

    private static long CpuOr(FlagValues flags, string flag, long current) =>
        flags.Last(flag) is { } value ? Cpu(flag, value).OrThrow() : current;

    private static long MemoryOr(FlagValues flags, string flag, long current) =>
        flags.Last(flag) is { } value ? Memory(flag, value).OrThrow() : current;

    private static T OrThrow<T>(this Checked<T> value) =>
        value.IsValid ? value.Value : throw new FlagException(value.Error!);

    [GeneratedRegex(@"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$", RegexOptions.CultureInvariant)]
    private static partial Regex MemoryPattern();


    /// <summary>A flag value that cannot be used, met while assembling the spec.</summary>
    private sealed class FlagException(string message) : Exception(message);

    /// <summary>What <paramref name="build"/> makes of flags already checked one by one, or the refusal of their combination.</summary>
    internal static Checked<T> Combined<T>(Func<T> build)
    {
        try
        {
            return Checked<T>.Ok(build());
        }
        catch (FlagException e)
        {
            return Checked<T>.Fail(e.Message);
        }
    }
}
