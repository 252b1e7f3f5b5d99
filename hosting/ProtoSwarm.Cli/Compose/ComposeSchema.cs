using System.Collections.Frozen;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// The keys of the compose file format 3.x that `stack deploy` reads, what becomes of each one
/// here, and the version that introduced the newer ones. A key outside these lists is a typo; a key
/// of the format that swarm ignores is a warning in docker's words, never an error.
/// </summary>
/// <summary>The types docker's compose loader casts a string to at some keys (<see cref="ComposeSchema.Casts"/>).</summary>
internal enum ComposeCast
{
    Integer,
    Float,
    Boolean,
}

internal static class ComposeSchema
{
    public static readonly string[] TopLevel = ["version", "services", "networks", "volumes", "secrets", "configs"];

    /// <summary>The version whose schema first allows x- extension keys at the top level (docker's config_schema_v3.4.json).</summary>
    public static readonly Version TopLevelExtensionsSince = new(3, 4);

    /// <summary>The version whose schema first allows x- keys in a service, network, volume, secret or config (v3.7).</summary>
    public static readonly Version DefinitionExtensionsSince = new(3, 7);

    /// <summary>What docker's `stack deploy` prints as "Ignoring unsupported options: ..." (docker/cli's compose types).</summary>
    public static readonly string[] ServiceUnsupported =
    [
        "build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links", "ipc", "links", "mac_address",
        "network_mode", "pid", "privileged", "restart", "security_opt", "shm_size", "userns_mode",
    ];

    /// <summary>What docker prints as "Ignoring deprecated options", with its reasons.</summary>
    public static readonly FrozenDictionary<string, string> ServiceDeprecated = new Dictionary<string, string>
    {
        ["container_name"] = "Setting the container name is not supported.",
        ["expose"] = "Exposing ports is unnecessary - services on the same network can access each other's containers on any port.",
    }.ToFrozenDictionary();

    /// <summary>Keys docker's swarm honours and ProtoSwarm's specs have no field for yet: a warning each, so a file written for docker still deploys.</summary>
    public static readonly string[] ServiceNotYet = ["credential_spec", "isolation", "oom_score_adj", "stdin_open"];

    /// <summary>Docker refuses these in a version 3 file, with a reason to act on.</summary>
    public static readonly FrozenDictionary<string, string> ServiceForbidden = new Dictionary<string, string>
    {
        ["extends"] = "extends is not supported by stack deploy; write the service out in full, or merge files with several -c",
        ["volume_driver"] = "declare the volume under the top-level volumes: with its driver, and mount it by name",
        ["volumes_from"] = "declare a volume under the top-level volumes: and mount it in each service that shares it",
        ["cpu_quota"] = "set resource limits under deploy.resources",
        ["cpu_shares"] = "set resource limits under deploy.resources",
        ["cpuset"] = "set resource limits under deploy.resources",
        ["mem_limit"] = "set resource limits under deploy.resources",
        ["memswap_limit"] = "set resource limits under deploy.resources",
    }.ToFrozenDictionary();

    // After the lists it is made of: static fields initialise in order.
    public static readonly string[] Service =
    [
        "image", "command", "entrypoint", "environment", "env_file", "ports", "networks", "volumes", "healthcheck",
        "stop_grace_period", "stop_signal", "user", "working_dir", "hostname", "labels", "secrets", "configs", "init", "tty",
        "ulimits", "sysctls", "cap_add", "cap_drop", "read_only", "tmpfs", "extra_hosts", "deploy", "depends_on", "dns", "dns_search", "logging",
        .. ServiceUnsupported, .. ServiceDeprecated.Keys, .. ServiceNotYet,
    ];

    public static readonly string[] Deploy =
        ["mode", "replicas", "labels", "update_config", "rollback_config", "resources", "restart_policy", "placement", "endpoint_mode"];

    public static readonly string[] Logging = ["driver", "options"];

    public static readonly string[] Resources = ["limits", "reservations"];
    public static readonly string[] Limits = ["cpus", "memory", "pids"];
    public static readonly string[] Reservations = ["cpus", "memory", "generic_resources"];
    public static readonly string[] RestartPolicy = ["condition", "delay", "max_attempts", "window"];
    public static readonly string[] UpdateConfig = ["parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"];
    public static readonly string[] Placement = ["constraints", "preferences", "max_replicas_per_node"];
    public static readonly string[] Preference = ["spread"];
    public static readonly string[] HealthCheck = ["test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"];
    public static readonly string[] PortLong = ["target", "published", "protocol", "mode"];
    public static readonly string[] VolumeLong = ["type", "source", "target", "read_only", "consistency", "volume", "bind", "tmpfs"];
    public static readonly string[] FileReference = ["source", "target", "uid", "gid", "mode"];
    public static readonly string[] ServiceNetwork = ["aliases", "ipv4_address", "ipv6_address", "driver_opts"];
    public static readonly string[] Ulimit = ["soft", "hard"];

    public static readonly string[] Network = ["driver", "driver_opts", "attachable", "internal", "ipam", "labels", "external", "name", "enable_ipv6"];
    public static readonly string[] Ipam = ["driver", "config"];
    public static readonly string[] IpamConfig = ["subnet"];
    public static readonly string[] Volume = ["driver", "driver_opts", "labels", "external", "name"];
    public static readonly string[] FileObject = ["file", "external", "name", "labels", "template_driver"];
    public static readonly string[] Secret = [.. FileObject, "driver", "driver_opts"];
    public static readonly string[] External = ["name"];

    /// <summary>
    /// The keys where docker's loader casts a string from the file's variables (or, for `stack config`, any quoted
    /// one) to the type its compose types hold (docker/cli's interpolateTypeCastMapping), by path pattern: "*" is any
    /// key, "[]" after a key any item of its list. A value written in the file is never cast by the loader: "3" or
    /// yes where a number or a boolean is wanted is refused by docker's schema, and so here. A mode from a variable
    /// is Atoi's decimal ("0440" is 440), unlike the YAML 1.1 octal 0440 written in the file.
    /// </summary>
    public static readonly (string Pattern, ComposeCast Kind)[] Casts =
    [
        ("services.*.configs[].mode", ComposeCast.Integer),
        ("services.*.secrets[].mode", ComposeCast.Integer),
        ("services.*.healthcheck.retries", ComposeCast.Integer),
        ("services.*.healthcheck.disable", ComposeCast.Boolean),
        ("services.*.deploy.replicas", ComposeCast.Integer),
        ("services.*.deploy.update_config.parallelism", ComposeCast.Integer),
        ("services.*.deploy.update_config.max_failure_ratio", ComposeCast.Float),
        ("services.*.deploy.rollback_config.parallelism", ComposeCast.Integer),
        ("services.*.deploy.rollback_config.max_failure_ratio", ComposeCast.Float),
        ("services.*.deploy.restart_policy.max_attempts", ComposeCast.Integer),
        ("services.*.deploy.placement.max_replicas_per_node", ComposeCast.Integer),
        ("services.*.ports[].target", ComposeCast.Integer),
        ("services.*.ports[].published", ComposeCast.Integer),
        ("services.*.ulimits.*", ComposeCast.Integer),
        ("services.*.ulimits.*.hard", ComposeCast.Integer),
        ("services.*.ulimits.*.soft", ComposeCast.Integer),
        ("services.*.oom_score_adj", ComposeCast.Integer),
        ("services.*.privileged", ComposeCast.Boolean),
        ("services.*.read_only", ComposeCast.Boolean),
        ("services.*.stdin_open", ComposeCast.Boolean),
        ("services.*.tty", ComposeCast.Boolean),
        ("services.*.volumes[].read_only", ComposeCast.Boolean),
        ("services.*.volumes[].volume.nocopy", ComposeCast.Boolean),
        ("networks.*.external", ComposeCast.Boolean),
        ("networks.*.internal", ComposeCast.Boolean),
        ("networks.*.attachable", ComposeCast.Boolean),
        ("volumes.*.external", ComposeCast.Boolean),
        ("secrets.*.external", ComposeCast.Boolean),
        ("configs.*.external", ComposeCast.Boolean),
    ];

    /// <summary>
    /// What <see cref="Casts"/> casts at a key, given by its path's parts ("services", "web", "ports[]", "target": a
    /// list item's index written as "[]" after its key), or null where nothing is cast.
    /// </summary>
    public static ComposeCast? CastAt(IReadOnlyList<string> parts)
    {
        foreach (var (pattern, kind) in Casts)
        {
            var want = pattern.Split('.');
            if (want.Length == parts.Count && want.Zip(parts).All(p => p.First == "*" ? !p.Second.EndsWith("[]", StringComparison.Ordinal) : p.First == p.Second))
            {
                return kind;
            }
        }

        return null;
    }

    /// <summary>
    /// Keys that came after 3.0, by path pattern ("*" for any name), and the version that brought
    /// them: a file that names an older version and uses one is refused, as docker's schema does
    /// (docker/cli's config_schema_v3.N.json). "[]" stands for any list item; the long forms of ports
    /// and volumes are checked by the key each one needs (target, type), so one item gives one error.
    /// </summary>
    public static readonly FrozenDictionary<string, string> Since = new Dictionary<string, string>
    {
        ["secrets"] = "3.1",
        ["networks.*.attachable"] = "3.2",
        ["services.*.ports[].target"] = "3.2",
        ["services.*.volumes[].type"] = "3.2",
        ["services.*.secrets"] = "3.1",
        ["services.*.deploy.endpoint_mode"] = "3.2",
        ["configs"] = "3.3",
        ["services.*.configs"] = "3.3",
        ["services.*.credential_spec"] = "3.3",
        ["services.*.deploy.placement.preferences"] = "3.3",
        ["services.*.healthcheck.start_period"] = "3.4",
        ["services.*.deploy.update_config.order"] = "3.4",
        ["volumes.*.name"] = "3.4",
        ["networks.*.name"] = "3.5",
        ["secrets.*.name"] = "3.5",
        ["services.*.isolation"] = "3.5",
        ["services.*.deploy.resources.reservations.generic_resources"] = "3.5",
        ["services.*.volumes[].tmpfs"] = "3.6",
        ["configs.*.name"] = "3.5",
        ["services.*.init"] = "3.7",
        ["services.*.deploy.rollback_config"] = "3.7",
        ["services.*.deploy.placement.max_replicas_per_node"] = "3.8",
        ["secrets.*.template_driver"] = "3.8",
        ["configs.*.template_driver"] = "3.8",
        ["secrets.*.driver"] = "3.8",
        ["secrets.*.driver_opts"] = "3.8",
        ["services.*.cgroupns_mode"] = "3.9",
        ["services.*.deploy.resources.limits.pids"] = "3.9",
        ["services.*.healthcheck.start_interval"] = "3.12",
        ["services.*.networks.*.driver_opts"] = "3.13",
        ["services.*.oom_score_adj"] = "3.13",
    }.ToFrozenDictionary();
}
