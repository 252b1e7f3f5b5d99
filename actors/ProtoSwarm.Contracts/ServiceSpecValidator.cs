using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>One thing wrong with a spec: where (docker's field path, as `service inspect` prints it), what, and what to do.</summary>
public sealed record SpecProblem(string Field, string Problem, string Fix)
{
    public override string ToString() => $"{Field}: {Problem}; {Fix}";
}

/// <summary>
/// Checks a service spec before anything is stored, as runc checks a config before any syscall:
/// a list of small checks, each adding the problems it finds, so a user sees every mistake at
/// once. Pure: the networks that exist are passed in (null skips that check).
/// </summary>
public static partial class ServiceSpecValidator
{
    /// <summary>Swarmkit's smallest memory limit or reservation.</summary>
    public const long MinimumMemoryBytes = 4L << 20;

    /// <summary>Swarmkit's smallest CPU limit or reservation: a thousandth of a CPU.</summary>
    public const long MinimumNanoCpus = 1_000_000;

    /// <summary>Docker's shortest health check interval, timeout and start period.</summary>
    public static readonly TimeSpan MinimumHealthDuration = TimeSpan.FromMilliseconds(1);

    [GeneratedRegex("^(CAP_)?[A-Za-z_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Capability();

    /// <summary>The resource names docker's --ulimit takes.</summary>
    public static readonly ImmutableHashSet<string> UlimitNames =
    [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
    ];

    public static ImmutableArray<SpecProblem> Validate(ServiceSpec spec, IReadOnlySet<string>? knownNetworks = null)
    {
        var problems = ImmutableArray.CreateBuilder<SpecProblem>();
        CheckName(spec, problems);
        CheckLabels("Spec.Labels", spec.Labels, "--label", problems);
        CheckMode(spec, problems);
        CheckContainer(WithTemplatesChecked(spec, problems), problems);
        CheckLogDriver(spec.TaskTemplate.LogDriver, problems);
        CheckResources(spec.TaskTemplate.Resources, problems);
        CheckRestart(spec, problems);
        CheckPlacement(spec, problems);
        CheckNetworks(spec.TaskTemplate.Networks, knownNetworks, problems);
        CheckEndpoint(spec.Endpoint, problems);
        CheckNetworkMode(spec, problems);
        CheckUpdate("Spec.UpdateConfig", "--update", spec.Update, rollback: false, problems);
        CheckUpdate("Spec.RollbackConfig", "--rollback", spec.Rollback, rollback: true, problems);
        return problems.ToImmutable();
    }

    private static void CheckName(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (string.IsNullOrEmpty(spec.Name))
        {
            problems.Add(new("Spec.Name", "the service has no name", "give it one with --name (the CLI picks one when --name is left out)"));
        }
        else if (!ServiceNameRule.IsValid(spec.Name))
        {
            problems.Add(new("Spec.Name", $"'{spec.Name}' is not a valid service name", ServiceNameRule.Hint));
        }
    }

    private static void CheckLabels(string field, ImmutableSortedDictionary<string, string> labels, string flag, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (labels.Keys.Any(k => k.Trim().Length == 0))
        {
            problems.Add(new(field, "a label has an empty name", $"write each label as {flag} name=value"));
        }
    }

    private static void CheckMode(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        var mode = spec.Mode;
        switch (mode.Kind)
        {
            case ServiceModeKind.Replicated when mode.Replicas < 0:
                problems.Add(new("Spec.Mode.Replicated.Replicas", $"{mode.Replicas} replicas is negative", "set --replicas to 0 or more"));
                break;
            case ServiceModeKind.ReplicatedJob:
                if (mode.MaxConcurrent < 0)
                {
                    problems.Add(new("Spec.Mode.ReplicatedJob.MaxConcurrent", $"{mode.MaxConcurrent} is negative", "set --max-concurrent to 1 or more"));
                }

                if (mode.TotalCompletions < 0)
                {
                    problems.Add(new("Spec.Mode.ReplicatedJob.TotalCompletions", $"{mode.TotalCompletions} is negative", "set --replicas (the completions a job needs) to 0 or more"));
                }

                break;
            case ServiceModeKind.Replicated or ServiceModeKind.Global or ServiceModeKind.GlobalJob:
                break;
            default:
                problems.Add(new("Spec.Mode", $"{(int)mode.Kind} is not a service mode", "use --mode replicated, global, replicated-job or global-job"));
                break;
        }

        if (mode.IsJob && spec.TaskTemplate.Restart.Condition == RestartCondition.Any)
        {
            problems.Add(new("Spec.TaskTemplate.RestartPolicy.Condition", "a job cannot restart on any exit: it would never complete", "use --restart-condition on-failure or none"));
        }
    }

    /// <summary>
    /// The container spec with docker's templates (hostname, environment, mount sources and targets) expanded
    /// with stand-in values, so the checks below judge what a node will get; a template that cannot be
    /// expanded is a problem of its own, and the field is then checked as written.
    /// </summary>
    private static ContainerSpec WithTemplatesChecked(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.TaskTemplate.ContainerSpec";
        var container = spec.TaskTemplate.Container;
        // A field whose template is refused is not judged again (as one more problem) by the checks below.
        string Checked(string field, string text, string neutral)
        {
            if (ServiceTemplates.Problem(text, spec.Name, out var expanded) is { } problem)
            {
                problems.Add(new(field, problem, "write the template with one of the placeholders named"));
                return neutral;
            }

            return expanded;
        }

        return container with
        {
            Hostname = Checked($"{Field}.Hostname", container.Hostname, ""),
            Env = [.. container.Env.Select((e, i) => Checked($"{Field}.Env[{i}]", e, "TEMPLATE="))],
            Mounts = [.. container.Mounts.Select((m, i) => m with
            {
                Source = Checked($"{Field}.Mounts[{i}].Source", m.Source, m.Type == MountType.Bind ? "/template" : ""),
                Target = Checked($"{Field}.Mounts[{i}].Target", m.Target, $"/template{i}"),
            })],
        };
    }

    private static void CheckContainer(ContainerSpec container, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.TaskTemplate.ContainerSpec";
        if (string.IsNullOrWhiteSpace(container.Image))
        {
            problems.Add(new($"{Field}.Image", "no image is given", "name the image to run, e.g. `service create nginx:1.27`"));
        }
        else if (container.Image.Any(char.IsWhiteSpace))
        {
            problems.Add(new($"{Field}.Image", $"'{container.Image}' holds white space, so it is no image reference", "write the image as name[:tag][@digest]"));
        }
        else if (!ImageReference.TryParse(container.Image, out _, out var imageError, allowDigest: true))
        {
            // Accepted, its tasks were rejected on every node, again and again (docker's daemon refuses it up front).
            problems.Add(new($"{Field}.Image", imageError, "write the image as name[:tag][@digest], e.g. busybox:1.36"));
        }

        for (var i = 0; i < container.Env.Length; i++)
        {
            var entry = container.Env[i];
            var name = entry.Split('=', 2)[0];
            if (name.Trim().Length == 0)
            {
                problems.Add(new($"{Field}.Env[{i}]", $"'{entry}' has no variable name", "write each variable as --env NAME=value"));
            }
        }

        CheckMounts(Field, container.Mounts, problems);
        CheckFileTargets($"{Field}.Secrets", "secret", [.. container.Secrets.Select(r => (r.SecretName, r.File))], problems);
        CheckFileTargets($"{Field}.Configs", "config", [.. container.Configs.Select(r => (r.ConfigName, r.File))], problems);
        if (container.HealthCheck is { } health)
        {
            CheckHealth($"{Field}.Healthcheck", health, problems);
        }

        // The shape alone (SIG plus capitals) let SIGNOPE through, and the node then stopped with SIGTERM.
        if (container.StopSignal.Length > 0 && SignalRule.Parse(container.StopSignal) is null)
        {
            problems.Add(new($"{Field}.StopSignal", $"'{container.StopSignal}' is not a signal",
                "set --stop-signal (stop_signal in a compose file) to a signal name such as SIGTERM or SIGINT, or its number"));
        }

        if (container.StopGracePeriod < TimeSpan.Zero)
        {
            problems.Add(new($"{Field}.StopGracePeriod", "the grace period is negative", "set --stop-grace-period to a duration of 0 or more, e.g. 10s"));
        }

        CheckLabels($"{Field}.Labels", container.Labels, "--container-label", problems);
        CheckConfinement(Field, container, problems);
        foreach (var (at, problem) in DnsConfigRule.Problems(container.Dns))
        {
            problems.Add(new($"{Field}.DNSConfig.{at}", problem, "give --dns an IP address, --dns-search a domain name and --dns-option a resolver option such as ndots:2"));
        }
    }

    private static void CheckLogDriver(LogDriver? driver, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (driver is null)
        {
            return;
        }

        foreach (var (at, problem, fix) in LogDriverRule.Problems(driver))
        {
            problems.Add(new($"Spec.TaskTemplate.LogDriver.{at}", problem, fix));
        }
    }

    /// <summary>Linux's limit on a hostname (HOST_NAME_MAX): sethostname refuses a longer one.</summary>
    public const int MaxHostnameBytes = 64;

    /// <summary>
    /// What is wrong with a container's hostname (expanded from its template), or null. As docker's daemon, only
    /// what sethostname refuses: more than 64 bytes (moby checks the same since it dropped its RFC 1123 check, which
    /// refused the '_' of every stack service's name); ProtoSwarm also refuses white space and control characters,
    /// which would break the container's /etc/hosts line. '_' and other characters are the container's to judge.
    /// </summary>
    public static string? HostnameProblem(string hostname) =>
        hostname.Length == 0 ? null
        : System.Text.Encoding.UTF8.GetByteCount(hostname) > MaxHostnameBytes ? $"'{hostname}' is not a hostname: it is longer than {MaxHostnameBytes} bytes"
        : hostname.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? $"'{hostname}' is not a hostname: it holds white space or a control character"
        : null;

    private static void CheckConfinement(string field, ContainerSpec container, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (HostnameProblem(container.Hostname) is { } hostnameProblem)
        {
            problems.Add(new($"{field}.Hostname", hostnameProblem, "use at most 64 bytes with no white space, e.g. --hostname web-1"));
        }

        foreach (var (caps, name, flag) in new[] { (container.CapabilityAdd, "CapabilityAdd", "--cap-add"), (container.CapabilityDrop, "CapabilityDrop", "--cap-drop") })
        {
            for (var i = 0; i < caps.Length; i++)
            {
                if (!Capability().IsMatch(caps[i]))
                {
                    problems.Add(new($"{field}.{name}[{i}]", $"'{caps[i]}' is not a capability name", $"name it as {flag} NET_ADMIN (or CAP_NET_ADMIN, or ALL)"));
                }
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < container.Ulimits.Length; i++)
        {
            var ulimit = container.Ulimits[i];
            var at = $"{field}.Ulimits[{i}]";
            if (!UlimitNames.Contains(ulimit.Name))
            {
                problems.Add(new(at, $"'{ulimit.Name}' is not a ulimit", "use one of " + string.Join(", ", UlimitNames.Order(StringComparer.Ordinal))));
            }
            else if (!seen.Add(ulimit.Name))
            {
                problems.Add(new(at, $"{ulimit.Name} is given twice", "give each --ulimit once"));
            }

            if (ulimit.Soft < -1 || ulimit.Hard < -1 || (ulimit.Hard >= 0 && (ulimit.Soft < 0 || ulimit.Soft > ulimit.Hard)))
            {
                problems.Add(new(at, $"{ulimit.Name}={ulimit.Soft}:{ulimit.Hard}: the soft limit must be at most the hard one (-1 is unlimited)", "write it as --ulimit nofile=1024:2048"));
            }
        }

        for (var i = 0; i < container.Hosts.Length; i++)
        {
            var words = container.Hosts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2 || !System.Net.IPAddress.TryParse(words[0], out _))
            {
                problems.Add(new($"{field}.Hosts[{i}]", $"'{container.Hosts[i]}' is not a hosts line", "give --host name:IP, e.g. --host db:10.0.0.5"));
            }
        }

        for (var i = 0; i < container.Groups.Length; i++)
        {
            if (container.Groups[i].Trim().Length == 0 || container.Groups[i].Contains(':', StringComparison.Ordinal))
            {
                problems.Add(new($"{field}.Groups[{i}]", $"'{container.Groups[i]}' is not a group", "give a group name from the image or a number, e.g. --group 2000"));
            }
        }

        foreach (var (key, value) in container.Sysctls)
        {
            if (NamespacedSysctls.Problem(key) is { } problem)
            {
                problems.Add(new($"{field}.Sysctls[{key}]", problem, $"set only namespaced ones ({NamespacedSysctls.Allowed}); a node-wide setting belongs on the node itself"));
            }
            else if (value.Trim().Length == 0 || value.Contains('\n', StringComparison.Ordinal))
            {
                problems.Add(new($"{field}.Sysctls[{key}]", $"'{value}' is not a value for {key}", $"give it one line of text, e.g. --sysctl {key}=1"));
            }
        }
    }

    /// <summary>
    /// Where secrets and configs appear: a file path, a relative one under /run/secrets (a secret) or / (a config), as
    /// docker's daemon places them; one file per target; numeric owner; mode bits only (0 to 0777).
    /// </summary>
    private static void CheckFileTargets(string field, string kind, ImmutableArray<(string Source, FileTarget File)> references, ImmutableArray<SpecProblem>.Builder problems)
    {
        var flag = $"--{kind}";
        var targets = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < references.Length; i++)
        {
            var (source, file) = references[i];
            var at = $"{field}[{i}].File";
            var target = file.Name;
            if (FileTargetRule.Problem(kind, target) is { } targetProblem)
            {
                problems.Add(new($"{at}.Name", targetProblem, $"give a file name or path, e.g. {flag} source={source},target={(source.Length > 0 ? source : "app.conf")} or target=/etc/{(source.Length > 0 ? source : "app.conf")}"));
            }
            else if (!targets.Add(FileTargetRule.ContainerPath(kind, target)))
            {
                problems.Add(new($"{at}.Name", $"duplicate {kind} target for {target} not allowed", $"give each {flag} its own target="));
            }

            foreach (var (name, value) in new[] { ("UID", file.Uid), ("GID", file.Gid) })
            {
                if (value.Length == 0 || !value.All(char.IsAsciiDigit))
                {
                    problems.Add(new($"{at}.{name}", $"'{value}' is not a numeric {name.ToLowerInvariant()}", $"give a number, e.g. {flag} source={source},{name.ToLowerInvariant()}=1000"));
                }
            }

            if (file.Mode is < 0 or > 0x1FF)
            {
                problems.Add(new($"{at}.Mode", file.Mode < 0 ? $"mode {file.Mode} is negative" : $"mode 0{Convert.ToString(file.Mode, 8)} has more than the permission bits", $"give an octal mode from 0 to 0777, e.g. {flag} source={source},mode=0400"));
            }
        }
    }

    private static void CheckMounts(string field, ImmutableArray<MountSpec> mounts, ImmutableArray<SpecProblem>.Builder problems)
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < mounts.Length; i++)
        {
            var mount = mounts[i];
            var at = $"{field}.Mounts[{i}]";
            if (!mount.Target.StartsWith('/'))
            {
                problems.Add(new($"{at}.Target", $"'{mount.Target}' is not an absolute path", "give the path in the container, e.g. --mount type=volume,source=data,target=/data"));
            }
            else if (mount.Target.Trim('/').Length == 0)
            {
                problems.Add(new($"{at}.Target", "the target is '/', the container's root", "mount on a directory in the container, e.g. target=/data"));
            }
            else if (mount.Target.Split('/').Contains(".."))
            {
                problems.Add(new($"{at}.Target", $"{mount.Target} holds '..'", "give the target as a plain absolute path, e.g. /data"));
            }
            else if (!targets.Add(mount.Target.TrimEnd('/')))
            {
                problems.Add(new($"{at}.Target", $"{mount.Target} is mounted twice", "mount one thing per container path"));
            }

            switch (mount.Type)
            {
                case MountType.Bind when !mount.Source.StartsWith('/'):
                    problems.Add(new($"{at}.Source", $"a bind mount needs an absolute host path, not '{mount.Source}'", "give the path on the node, e.g. source=/srv/data"));
                    break;
                case MountType.Volume when mount.Source.Contains('/', StringComparison.Ordinal):
                    problems.Add(new($"{at}.Source", $"'{mount.Source}' is a path, not a volume name", "use type=bind for a host path, or a volume name without '/'"));
                    break;
                case MountType.Volume when mount.Source.Length > 0 && VolumeNames.Problem(mount.Source) is { } problem:
                    problems.Add(new($"{at}.Source", problem, "rename the volume, or leave source out for an anonymous volume"));
                    break;
                case MountType.Tmpfs when mount.Source.Length > 0:
                    problems.Add(new($"{at}.Source", "a tmpfs mount has no source", "leave source out for type=tmpfs"));
                    break;
                case MountType.Bind or MountType.Volume or MountType.Tmpfs:
                    break;
                default:
                    problems.Add(new($"{at}.Type", $"{(int)mount.Type} is not a mount type", "use type=bind, volume or tmpfs"));
                    break;
            }

            if (mount.Type != MountType.Tmpfs && (mount.TmpfsSizeBytes != 0 || mount.TmpfsMode != 0))
            {
                problems.Add(new($"{at}.TmpfsOptions", $"tmpfs options on a {mount.Type.ToString().ToLowerInvariant()} mount", "give tmpfs-size and tmpfs-mode only with type=tmpfs"));
            }

            if (mount.Type != MountType.Volume && (mount.VolumeNoCopy || mount.VolumeLabels.Count > 0 || mount.VolumeDriver.Length > 0 || mount.VolumeOptions.Count > 0))
            {
                problems.Add(new($"{at}.VolumeOptions", $"volume options on a {mount.Type.ToString().ToLowerInvariant()} mount", "give volume-nocopy, volume-label, volume-driver and volume-opt only with type=volume"));
            }

            if (mount.VolumeDriver is not ("" or LocalVolumeDriver.Name))
            {
                problems.Add(new($"{at}.VolumeOptions.DriverConfig.Name", $"volume driver '{mount.VolumeDriver}' is not available; nodes have only the local driver", "leave volume-driver out, or give volume-driver=local"));
            }

            if (mount.VolumeOptions.Count > 0 && LocalVolumeDriver.Problem(mount.VolumeOptions) is { } volumeOptions)
            {
                problems.Add(new($"{at}.VolumeOptions.DriverConfig.Options", volumeOptions, "give the local driver's volume-opt=type=..., volume-opt=device=... and volume-opt=o=..."));
            }

            if (mount.Type != MountType.Bind && (mount.BindPropagation is not null || mount.BindNonRecursive || mount.BindReadOnlyNonRecursive || mount.BindReadOnlyForceRecursive))
            {
                problems.Add(new($"{at}.BindOptions", $"bind options on a {mount.Type.ToString().ToLowerInvariant()} mount", "give bind-propagation and bind-recursive only with type=bind"));
            }

            // Docker's daemon: both ask for a read-only bind, and only one of them; a forced recursive read-only bind is rprivate,
            // so nothing mounted later under its source comes in writable.
            if (mount.BindReadOnlyNonRecursive && mount.BindReadOnlyForceRecursive)
            {
                problems.Add(new($"{at}.BindOptions", "ReadOnlyNonRecursive and ReadOnlyForceRecursive together", "give one bind-recursive: writable or readonly"));
            }

            foreach (var (set, option, word) in new[] { (mount.BindReadOnlyNonRecursive, "ReadOnlyNonRecursive", "writable"), (mount.BindReadOnlyForceRecursive, "ReadOnlyForceRecursive", "readonly") })
            {
                if (set && !mount.ReadOnly)
                {
                    problems.Add(new($"{at}.BindOptions.{option}", $"bind-recursive={word} is for a read-only bind, and this one is writable", $"add readonly to the mount, or leave bind-recursive={word} out"));
                }
            }

            if (mount.BindReadOnlyForceRecursive && mount.BindPropagation is { } forcedPropagation && forcedPropagation != MountPropagation.RPrivate)
            {
                problems.Add(new($"{at}.BindOptions.Propagation", $"bind-recursive=readonly needs propagation rprivate, not {MountPropagations.Name(forcedPropagation)}", "leave bind-propagation out, or give bind-propagation=rprivate"));
            }

            if (mount.BindPropagation is { } propagation && !Enum.IsDefined(propagation))
            {
                problems.Add(new($"{at}.BindOptions.Propagation", $"{(int)propagation} is not a mount propagation", $"use {MountPropagations.Words}"));
            }

            if (mount.TmpfsSizeBytes < 0)
            {
                problems.Add(new($"{at}.TmpfsOptions.SizeBytes", $"{mount.TmpfsSizeBytes} bytes is negative", "give tmpfs-size as a size such as 64m, or leave it out"));
            }

            if (mount.TmpfsMode is < 0 or > 0xFFF)
            {
                problems.Add(new($"{at}.TmpfsOptions.Mode", $"{mount.TmpfsMode} is not a file mode", "give tmpfs-mode in octal, at most 7777, e.g. 1770"));
            }
        }
    }

    private static void CheckHealth(string field, HealthCheck health, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (health.Test.Length > 0 && health.Test[0] is not ("NONE" or "CMD" or "CMD-SHELL"))
        {
            problems.Add(new($"{field}.Test", $"the test starts with '{health.Test[0]}'", "start it with CMD (a command and its arguments), CMD-SHELL (a shell command) or NONE (no health check)"));
        }
        else if (health.Test is ["CMD" or "CMD-SHELL"])
        {
            problems.Add(new($"{field}.Test", $"{health.Test[0]} names no command", "give the command with --health-cmd"));
        }

        CheckHealthDuration($"{field}.Interval", "--health-interval", health.Interval, problems);
        CheckHealthDuration($"{field}.Timeout", "--health-timeout", health.Timeout, problems);
        CheckHealthDuration($"{field}.StartPeriod", "--health-start-period", health.StartPeriod, problems);
        CheckHealthDuration($"{field}.StartInterval", "--health-start-interval", health.StartInterval, problems);
        if (health.Retries < 0)
        {
            problems.Add(new($"{field}.Retries", $"{health.Retries} retries is negative", "set --health-retries to 0 (docker's default of 3) or more"));
        }
    }

    private static void CheckHealthDuration(string field, string flag, TimeSpan value, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (value != TimeSpan.Zero && value < MinimumHealthDuration)
        {
            problems.Add(new(field, $"{Describe(value)} is less than 1ms", $"set {flag} to 0 (the default) or at least 1ms"));
        }
    }

    private static void CheckResources(ResourceRequirements resources, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.TaskTemplate.Resources";
        CheckAmounts($"{Field}.Limits", "--limit", resources.Limits, problems);
        CheckAmounts($"{Field}.Reservations", "--reserve", resources.Reservations, problems);
        var (limits, reservations) = (resources.Limits, resources.Reservations);
        if (limits.NanoCpus > 0 && reservations.NanoCpus > limits.NanoCpus)
        {
            problems.Add(new($"{Field}.Limits.NanoCPUs", $"the CPU limit ({ResourceText.Cpus(limits.NanoCpus)}) is below the reservation ({ResourceText.Cpus(reservations.NanoCpus)})", "raise --limit-cpu to at least --reserve-cpu, or lower the reservation"));
        }

        if (limits.MemoryBytes > 0 && reservations.MemoryBytes > limits.MemoryBytes)
        {
            problems.Add(new($"{Field}.Limits.MemoryBytes", $"the memory limit ({ResourceText.Bytes(limits.MemoryBytes)}) is below the reservation ({ResourceText.Bytes(reservations.MemoryBytes)})", "raise --limit-memory to at least --reserve-memory, or lower the reservation"));
        }
    }

    private static void CheckAmounts(string field, string flag, ResourceAmounts amounts, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (amounts.NanoCpus < 0 || (amounts.NanoCpus > 0 && amounts.NanoCpus < MinimumNanoCpus))
        {
            problems.Add(new($"{field}.NanoCPUs", $"{amounts.NanoCpus} nano CPUs is {(amounts.NanoCpus < 0 ? "negative" : "less than 0.001 CPU")}", $"set {flag}-cpu to 0 (none) or at least 0.001"));
        }

        if (amounts.MemoryBytes < 0 || (amounts.MemoryBytes > 0 && amounts.MemoryBytes < MinimumMemoryBytes))
        {
            problems.Add(new($"{field}.MemoryBytes", $"{amounts.MemoryBytes} bytes is {(amounts.MemoryBytes < 0 ? "negative" : "less than 4 MiB")}", $"set {flag}-memory to 0 (none) or at least 4MiB"));
        }

        if (amounts.Pids < 0)
        {
            problems.Add(new($"{field}.Pids", $"{amounts.Pids} processes is negative", "set --limit-pids to 0 (no limit) or more"));
        }
        else if (amounts.Pids > 0 && flag == "--reserve")
        {
            problems.Add(new($"{field}.Pids", "a number of processes can be limited, not reserved", "use --limit-pids"));
        }
    }

    private static void CheckRestart(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.TaskTemplate.RestartPolicy";
        var restart = spec.TaskTemplate.Restart;
        if (!Enum.IsDefined(restart.Condition))
        {
            problems.Add(new($"{Field}.Condition", $"{(int)restart.Condition} is not a restart condition", "use --restart-condition none, on-failure or any"));
        }

        if (restart.Delay < TimeSpan.Zero)
        {
            problems.Add(new($"{Field}.Delay", "the delay is negative", "set --restart-delay to 0 or more, e.g. 5s"));
        }

        if (restart.MaxAttempts < 0)
        {
            problems.Add(new($"{Field}.MaxAttempts", $"{restart.MaxAttempts} attempts is negative", "set --restart-max-attempts to 0 (no limit) or more"));
        }

        if (restart.Window < TimeSpan.Zero)
        {
            problems.Add(new($"{Field}.Window", "the window is negative", "set --restart-window to 0 (unbounded) or more"));
        }
    }

    private static void CheckPlacement(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.TaskTemplate.Placement";
        var placement = spec.TaskTemplate.Placement;
        for (var i = 0; i < placement.Constraints.Length; i++)
        {
            var text = placement.Constraints[i];
            if (!Constraint.TryParse(text, out var constraint, out var error))
            {
                problems.Add(new($"{Field}.Constraints[{i}]", $"'{text}': {error}", "write it as key==value or key!=value, e.g. node.role==manager or node.labels.zone!=a"));
            }
            else if (constraint!.Key.Equals("node.ip", StringComparison.OrdinalIgnoreCase) && !constraint.HasAddressValue)
            {
                problems.Add(new($"{Field}.Constraints[{i}]", $"'{text}': '{constraint.Value}' is neither an IP address nor a subnet", "write node.ip==10.0.0.5 or node.ip!=10.0.0.0/24"));
            }
            else if (!Constraint.IsKnownKey(constraint.Key))
            {
                problems.Add(new($"{Field}.Constraints[{i}]", $"'{text}': no node has '{constraint.Key}', so the service could never run", $"use node.labels.<name>, engine.labels.<name> or one of {string.Join(", ", Constraint.Keys)}"));
            }
        }

        for (var i = 0; i < placement.Preferences.Length; i++)
        {
            var descriptor = placement.Preferences[i].SpreadDescriptor;
            if (!Constraint.IsLabel(descriptor))
            {
                problems.Add(new($"{Field}.Preferences[{i}].Spread.SpreadDescriptor", $"cannot spread over '{descriptor}'", "spread over a node or engine label: --placement-pref spread=node.labels.<name> or spread=engine.labels.<name>"));
            }
        }

        if (placement.MaxReplicasPerNode < 0)
        {
            problems.Add(new($"{Field}.MaxReplicas", $"{placement.MaxReplicasPerNode} is negative", "set --replicas-max-per-node to 0 (no limit) or more"));
        }
        else if (placement.MaxReplicasPerNode > 0 && spec.Mode.IsGlobal)
        {
            problems.Add(new($"{Field}.MaxReplicas", "max replicas per node applies to replicated services only; a global service runs one task per node", "leave --replicas-max-per-node out, or use --mode replicated"));
        }
    }

    private static void CheckNetworks(ImmutableArray<NetworkAttachment> networks, IReadOnlySet<string>? knownNetworks, ImmutableArray<SpecProblem>.Builder problems)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < networks.Length; i++)
        {
            var target = networks[i].Target;
            var field = $"Spec.TaskTemplate.Networks[{i}].Target";
            if (string.IsNullOrWhiteSpace(target))
            {
                problems.Add(new(field, "the network is not named", "name a network with --network <name>"));
            }
            else if (!seen.Add(target))
            {
                problems.Add(new(field, $"network {target} is attached twice", "attach each network once"));
            }
            else if (PredefinedNetworks.IsMode(target) && networks.Any(n => n.Target != target))
            {
                // docker's words, said when its node joins such a task's container to the other network; refused here before anything runs.
                problems.Add(new(field, target == PredefinedNetworks.Host
                        ? "a task on the host network shares its node's network namespace, and a container sharing the network namespace with the host cannot be connected to any other network"
                        : "a task on none has a network namespace with loopback alone, and a container cannot be connected to multiple networks with one of the networks in private (none) mode",
                    $"attach {target} alone (--network {target}), or leave it out and attach overlay networks"));
            }
            else if (target == PredefinedNetworks.Bridge && (!networks[i].Aliases.IsEmpty || !networks[i].Addresses.IsEmpty))
            {
                // docker's daemon refuses either on its default bridge, when the task's container joins it; refused here before anything runs.
                problems.Add(new(field, networks[i].Aliases.IsEmpty
                        ? "a task on the bridge gets an address from its node's bridge, and a user specified IP address is supported on user defined networks only"
                        : "a task on the bridge has no names of the swarm's DNS there, and a network-scoped alias is supported only for containers in user defined networks",
                    "attach bridge without alias= or ip= (--network bridge), and give the names on an overlay network (--network name=NET,alias=NAME)"));
            }
            else if (PredefinedNetworks.IsLocal(target))
            {
                // Not a swarm network: the name itself is the attachment's target, nothing to look up.
            }
            else if (knownNetworks is not null && !knownNetworks.Contains(target))
            {
                problems.Add(new(field, $"network {target} does not exist", "create it with `network create --driver overlay " + target + "`, or pick one from `network ls`"));
            }
        }
    }

    /// <summary>
    /// What the host and none network modes rule out. A port through the routing mesh joins the tasks to the ingress network,
    /// which neither can join (docker rejects such tasks on their nodes: "container cannot be disconnected from host network or
    /// connected to host network"). A task on none has nothing a port could reach. A task on host binds its node's own ports:
    /// a host-mode port stays as the declaration that keeps one such task a node (the scheduler's host-port filter, `service
    /// ps`), so it must be the port the task listens on. Its net.* sysctls would set its node's own (runc refuses them in the
    /// host's namespace).
    /// </summary>
    private static void CheckNetworkMode(ServiceSpec spec, ImmutableArray<SpecProblem>.Builder problems)
    {
        var mode = PredefinedNetworks.ModeOf(spec.TaskTemplate.Networks);
        if (mode is null)
        {
            return;
        }

        for (var i = 0; i < spec.Endpoint.Ports.Length; i++)
        {
            var port = spec.Endpoint.Ports[i];
            var at = $"Spec.EndpointSpec.Ports[{i}]";
            var target = port.TargetPort.ToString(CultureInfo.InvariantCulture);
            if (mode == PredefinedNetworks.None)
            {
                problems.Add(new(at, $"a task on none has loopback alone, so nothing could reach port {target} published from it", "leave --publish out, or attach a network instead of none"));
            }
            else if (port.PublishMode == PublishMode.Ingress)
            {
                problems.Add(new($"{at}.PublishMode", "a port published through the routing mesh (mode=ingress) joins the tasks to the ingress network, and a task on the host network can join no other network",
                    $"publish it with mode=host (published={target},target={target},mode=host: the task's own port on its node), or leave --network host out"));
            }
            else if (port.PublishedPort != port.TargetPort)
            {
                var published = port.PublishedPort == 0 ? "a port the node picks" : port.PublishedPort.ToString(CultureInfo.InvariantCulture);
                problems.Add(new($"{at}.PublishedPort", $"a task on the host network listens on its node's own ports, so its port {target} cannot be published as {published}",
                    $"publish it as published={target},target={target},mode=host, or leave it out (the task's ports are the node's anyway)"));
            }
        }

        if (mode == PredefinedNetworks.Host)
        {
            foreach (var key in spec.TaskTemplate.Container.Sysctls.Keys.Where(k => k.StartsWith("net.", StringComparison.Ordinal) || k.StartsWith("net/", StringComparison.Ordinal)))
            {
                problems.Add(new($"Spec.TaskTemplate.ContainerSpec.Sysctls[{key}]", $"sysctl {key} is not allowed in the host's network namespace: a task on the host network would set its node's own",
                    $"leave --sysctl {key} out (set it on the node itself), or run the service on an overlay network"));
            }
        }
    }

    private static void CheckEndpoint(EndpointSpec endpoint, ImmutableArray<SpecProblem>.Builder problems)
    {
        const string Field = "Spec.EndpointSpec";
        if (!Enum.IsDefined(endpoint.Mode))
        {
            problems.Add(new($"{Field}.Mode", $"{(int)endpoint.Mode} is not an endpoint mode", "use --endpoint-mode vip or dnsrr"));
        }

        var published = new Dictionary<(PortProtocol, int), int>();
        for (var i = 0; i < endpoint.Ports.Length; i++)
        {
            var port = endpoint.Ports[i];
            var at = $"{Field}.Ports[{i}]";
            if (port.TargetPort is < 1 or > 65535)
            {
                problems.Add(new($"{at}.TargetPort", $"{port.TargetPort} is not a port number", "use a target port from 1 to 65535"));
            }

            if (port.PublishedPort is < 0 or > 65535)
            {
                problems.Add(new($"{at}.PublishedPort", $"{port.PublishedPort} is not a port number", "use a published port from 1 to 65535, or 0 to let the swarm pick one"));
            }
            else if (port.PublishedPort > 0 && !published.TryAdd((port.Protocol, port.PublishedPort), i))
            {
                var protocol = port.Protocol == PortProtocol.Udp ? "udp" : "tcp";
                problems.Add(new($"{at}.PublishedPort", string.Create(CultureInfo.InvariantCulture, $"{port.PublishedPort}/{protocol} is already published by Ports[{published[(port.Protocol, port.PublishedPort)]}]"), "publish each port once per protocol"));
            }

            if (!Enum.IsDefined(port.Protocol))
            {
                problems.Add(new($"{at}.Protocol", $"{(int)port.Protocol} is not a protocol", "use protocol=tcp or protocol=udp"));
            }

            if (!Enum.IsDefined(port.PublishMode))
            {
                problems.Add(new($"{at}.PublishMode", $"{(int)port.PublishMode} is not a publish mode", "use mode=ingress or mode=host"));
            }
            else if (endpoint.Mode == EndpointMode.Dnsrr && port.PublishMode == PublishMode.Ingress)
            {
                problems.Add(new($"{at}.PublishMode", "a port published through the routing mesh needs a virtual IP, and the endpoint mode is dnsrr", "publish it with mode=host, or use --endpoint-mode vip"));
            }
        }
    }

    private static void CheckUpdate(string field, string flag, UpdateConfig config, bool rollback, ImmutableArray<SpecProblem>.Builder problems)
    {
        if (config.Parallelism < 0)
        {
            problems.Add(new($"{field}.Parallelism", $"{config.Parallelism} is negative", $"set {flag}-parallelism to 0 (all at once) or more"));
        }

        if (config.Delay < TimeSpan.Zero)
        {
            problems.Add(new($"{field}.Delay", "the delay is negative", $"set {flag}-delay to 0 or more"));
        }

        if (config.Monitor < TimeSpan.Zero)
        {
            problems.Add(new($"{field}.Monitor", "the monitor period is negative", $"set {flag}-monitor to 0 or more, e.g. 5s"));
        }

        if (double.IsNaN(config.MaxFailureRatio) || config.MaxFailureRatio is < 0 or > 1)
        {
            problems.Add(new($"{field}.MaxFailureRatio", $"{config.MaxFailureRatio.ToString(CultureInfo.InvariantCulture)} is not a ratio", $"set {flag}-max-failure-ratio from 0 to 1"));
        }

        if (!Enum.IsDefined(config.FailureAction) || (rollback && config.FailureAction == FailureAction.Rollback))
        {
            problems.Add(new($"{field}.FailureAction", rollback ? "a rollback cannot itself roll back" : $"{(int)config.FailureAction} is not a failure action", rollback ? "set --rollback-failure-action to pause or continue" : "set --update-failure-action to pause, continue or rollback"));
        }

        if (!Enum.IsDefined(config.Order))
        {
            problems.Add(new($"{field}.Order", $"{(int)config.Order} is not an update order", $"set {flag}-order to stop-first or start-first"));
        }
    }

    private static string Describe(TimeSpan value) => value < TimeSpan.Zero ? "a negative duration" : GoDuration.Format(value);
}
