using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>One line of `ps`, as docker's container formatter fills it.</summary>
internal sealed record ContainerRow(
    string Id, string Image, string Command, string CreatedAt, string RunningFor, string Status, string State, string Ports, string Names,
    string Labels, string Mounts, string Networks);

/// <summary>One line of `stats`, as docker's stats formatter fills it.</summary>
internal sealed record StatsRow(string Container, string Id, string Name, string CpuPerc, string MemUsage, string MemPerc, string NetIO, string BlockIO, string Pids);

/// <summary>
/// The node's containers as docker prints them: `ps` (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES,
/// and docker's JSON fields), `container inspect` (docker's main fields) and `stats`.
/// </summary>
internal static class ContainerView
{
    /// <summary>docker truncates a command to this display width (with "…") unless --no-trunc.</summary>
    public const int CommandWidth = 20;

    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "CONTAINER ID",
        ["Image"] = "IMAGE",
        ["Command"] = "COMMAND",
        ["CreatedAt"] = "CREATED AT",
        ["RunningFor"] = "CREATED",
        ["Status"] = "STATUS",
        ["State"] = "STATE",
        ["Ports"] = "PORTS",
        ["Names"] = "NAMES",
        ["Labels"] = "LABELS",
        ["Mounts"] = "MOUNTS",
        ["Networks"] = "NETWORKS",
        ["LocalVolumes"] = "LOCAL VOLUMES",
        ["Size"] = "SIZE",
    };

    public static readonly IReadOnlyDictionary<string, string> StatsColumns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Container"] = "CONTAINER",
        ["ID"] = "CONTAINER ID",
        ["Name"] = "NAME",
        ["CPUPerc"] = "CPU %",
        ["MemUsage"] = "MEM USAGE / LIMIT",
        ["MemPerc"] = "MEM %",
        ["NetIO"] = "NET I/O",
        ["BlockIO"] = "BLOCK I/O",
        ["PIDs"] = "PIDS",
    };

    public static readonly IReadOnlyList<string> InspectFields =
        ["Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "Config", "HostConfig", "Mounts", "NetworkSettings"];

    public static string ShortId(string id, bool noTrunc) => noTrunc || id.Length <= 12 ? id : id[..12];

    /// <summary>docker's newest first.</summary>
    public static IEnumerable<ContainerObject> Sorted(IEnumerable<ContainerObject> containers) =>
        containers.OrderByDescending(c => c.Created).ThenBy(c => c.Id, StringComparer.Ordinal);

    /// <summary>Path and arguments as one line, as the engine keeps a container's Command.</summary>
    public static string CommandLine(ContainerObject c) => string.Join(' ', c.Args.Prepend(c.Path).Where(p => p.Length > 0));

    /// <summary>docker's COMMAND: quoted, cut to 20 characters with "…" unless --no-trunc.</summary>
    public static string CommandText(ContainerObject c, bool noTrunc)
    {
        var command = CommandLine(c);
        if (!noTrunc && command.Length > CommandWidth)
        {
            command = command[..(CommandWidth - 1)] + "…";
        }

        return Quote(command);
    }

    /// <summary>Go's strconv.Quote for what a command holds.</summary>
    private static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var ch in text)
        {
            quoted.Append(ch switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(ch) => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)ch:x2}"),
                _ => ch.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>docker's IMAGE: the reference without its digest unless --no-trunc.</summary>
    public static string ImageText(string image, bool noTrunc) =>
        noTrunc || image.IndexOf('@', StringComparison.Ordinal) is not (var at and > 0) ? image : image[..at];

    /// <summary>
    /// docker's STATUS: "Up 5 minutes", "Up 5 minutes (healthy)", "Up 5 seconds (health: starting)", "Exited (0) 2 minutes ago",
    /// "Restarting (1) 2 seconds ago" while its restart policy waits to start it again, "Created" for one never started.
    /// </summary>
    public static string StatusText(ContainerObject c, DateTimeOffset now) => c.State switch
    {
        "running" => $"Up {SystemView.Duration(now - (c.StartedAt ?? c.Created))}" + c.Health switch
        {
            "" => string.Empty,
            "starting" => " (health: starting)",
            var health => $" ({health})",
        },
        "exited" when c.FinishedAt is { } finished => string.Create(CultureInfo.InvariantCulture, $"Exited ({c.ExitCode}) {SystemView.Duration(now - finished)} ago"),
        "restarting" => string.Create(CultureInfo.InvariantCulture, $"Restarting ({c.ExitCode}) {SystemView.Duration(now - (c.FinishedAt ?? now))} ago"),
        "exited" => string.Empty,
        _ => "Created",
    };

    /// <summary>docker's PORTS of a container: its host-mode published ports, "0.0.0.0:8080->80/tcp".</summary>
    public static string PortsText(ContainerObject c) =>
        string.Join(", ", Published(c).Select(b => $"{b.Host}->{b.Private}"));

    /// <summary>
    /// The ports the node bound for a container (a running one's; none once it ended), each as docker names its two ends:
    /// the container's ("80/tcp") and the node's ("0.0.0.0:8080": every address of the node, the only form -p takes here).
    /// </summary>
    public static IEnumerable<(PortConfig Port, string Private, string Host)> Published(ContainerObject c) =>
        c.Ports.Where(p => p.PublishedPort > 0).Select(p => (p,
            string.Create(CultureInfo.InvariantCulture, $"{p.TargetPort}/{p.Protocol.ToString().ToLowerInvariant()}"),
            string.Create(CultureInfo.InvariantCulture, $"0.0.0.0:{p.PublishedPort}")));

    public static ContainerRow Row(ContainerObject c, DateTimeOffset now, bool noTrunc) => new(
        ShortId(c.Id, noTrunc),
        ImageText(c.Image, noTrunc),
        CommandText(c, noTrunc),
        Json.GoTime(new DateTimeOffset(c.Created.UtcTicks - (c.Created.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero)),
        $"{SystemView.Duration(now - c.Created)} ago",
        StatusText(c, now),
        c.State,
        PortsText(c),
        c.Name,
        string.Join(",", c.Labels.Select(l => $"{l.Key}={l.Value}")),
        string.Join(",", c.Mounts.Select(m => m.Type == MountType.Volume && m.Source.Length > 0 ? m.Source : m.Target)),
        string.Join(",", c.Networks.Select(n => n.Name)));

    public static string Table(IEnumerable<ContainerRow> rows)
    {
        IReadOnlyList<string> header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"];
        return Output.Table.Render(rows.Select(r => (IReadOnlyList<string>)[r.Id, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names]).Prepend(header));
    }

    /// <summary>docker's `ps --format json` fields.</summary>
    public static JsonObject ToJson(ContainerRow row) => new()
    {
        ["Command"] = row.Command,
        ["CreatedAt"] = row.CreatedAt,
        ["ID"] = row.Id,
        ["Image"] = row.Image,
        ["Labels"] = row.Labels,
        ["LocalVolumes"] = "0",
        ["Mounts"] = row.Mounts,
        ["Names"] = row.Names,
        ["Networks"] = row.Networks,
        ["Ports"] = row.Ports,
        ["RunningFor"] = row.RunningFor,
        ["Size"] = "N/A",
        ["State"] = row.State,
        ["Status"] = row.Status,
    };

    // ---- container inspect

    private static string Time(DateTimeOffset? time) => time is { } t ? Json.Timestamp(t) : "0001-01-01T00:00:00Z";

    private static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(i => (JsonNode?)i)]);

    /// <summary>A list docker leaves nil when empty (Config.Entrypoint, Config.Cmd): null in JSON, `[]` in a template.</summary>
    private static JsonNode StringsOrNil(IEnumerable<string> items) => items.Any() ? Strings(items) : Json.NilSlice();

    /// <summary>
    /// docker's `container inspect` object, with the fields the node knows: Path and Args are the process (its first
    /// word and the rest), Config.Entrypoint and Config.Cmd the container's entrypoint and command apart.
    /// </summary>
    public static JsonObject Inspect(ContainerObject c)
    {
        var state = new JsonObject
        {
            ["Status"] = c.State,
            ["Running"] = c.State == "running",
            ["Paused"] = false,
            ["Restarting"] = c.State == "restarting",
            ["OOMKilled"] = false,
            ["Dead"] = false,
            ["Pid"] = c.Pid,
            ["ExitCode"] = c.ExitCode,
            ["Error"] = c.Error,
            ["StartedAt"] = Time(c.StartedAt),
            ["FinishedAt"] = Time(c.FinishedAt),
        };
        if (c.Health.Length > 0)
        {
            var log = new JsonArray();
            foreach (var probe in c.HealthLog)
            {
                log.Add((JsonNode)new JsonObject { ["Start"] = Time(probe.Start), ["End"] = Time(probe.End), ["ExitCode"] = probe.ExitCode, ["Output"] = probe.Output });
            }

            state["Health"] = new JsonObject { ["Status"] = c.Health, ["FailingStreak"] = c.HealthFailingStreak, ["Log"] = log };
        }

        var networks = new JsonObject();
        foreach (var network in c.Networks)
        {
            // docker's EndpointSettings: the endpoint's fields empty where it has none (on none, or the container ended).
            var slash = network.Address.IndexOf('/', StringComparison.Ordinal);
            networks[network.Name] = new JsonObject
            {
                ["Aliases"] = Strings(network.Aliases),
                ["MacAddress"] = network.MacAddress,
                ["NetworkID"] = network.NetworkId,
                ["EndpointID"] = network.EndpointId,
                ["Gateway"] = network.Gateway,
                ["IPAddress"] = slash < 0 ? network.Address : network.Address[..slash],
                ["IPPrefixLen"] = slash < 0 ? 0 : int.Parse(network.Address[(slash + 1)..], CultureInfo.InvariantCulture),
                ["IPv6Gateway"] = string.Empty,
                ["GlobalIPv6Address"] = string.Empty,
                ["GlobalIPv6PrefixLen"] = 0,
            };
        }

        var ports = new JsonObject();
        foreach (var port in c.Ports)
        {
            ports[string.Create(CultureInfo.InvariantCulture, $"{port.TargetPort}/{port.Protocol.ToString().ToLowerInvariant()}")] = new JsonArray(
                new JsonObject { ["HostIp"] = "0.0.0.0", ["HostPort"] = port.PublishedPort.ToString(CultureInfo.InvariantCulture) });
        }

        var labels = new JsonObject();
        foreach (var (key, value) in c.Labels)
        {
            labels[key] = value;
        }

        // A node that does not say the two apart gives its whole process as the command.
        IEnumerable<string> cmd = c.Entrypoint.IsEmpty && c.Cmd.IsEmpty ? c.Args.Prepend(c.Path).Where(p => p.Length > 0) : c.Cmd;

        return new JsonObject
        {
            ["Id"] = c.Id,
            ["Created"] = Json.Timestamp(c.Created),
            ["Path"] = c.Path,
            ["Args"] = Strings(c.Args),
            ["State"] = state,
            ["Image"] = c.ImageId,
            ["Name"] = "/" + c.Name,
            ["RestartCount"] = c.RestartCount,
            ["Config"] = Config(c, cmd, labels),
            ["HostConfig"] = HostConfig(c),
            ["Mounts"] = new JsonArray([.. c.Mounts.Select(m => (JsonNode?)Mount(m, c.VolumePaths, c.Labels.ContainsKey(TaskIdLabel)))]),
            ["NetworkSettings"] = new JsonObject { ["Ports"] = ports, ["Networks"] = networks },
        };
    }

    /// <summary>docker's Config: StopSignal, StopTimeout, Healthcheck and ExposedPorts are omitempty, left out when not set.</summary>
    private static JsonObject Config(ContainerObject c, IEnumerable<string> cmd, JsonObject labels)
    {
        var config = new JsonObject
        {
            ["Hostname"] = c.Hostname,
            ["User"] = c.User,
            ["Env"] = Strings(c.Env),
            ["Cmd"] = StringsOrNil(cmd),
            ["Image"] = c.Image,
            ["WorkingDir"] = c.WorkingDir,
            ["Entrypoint"] = StringsOrNil(c.Entrypoint),
            ["Labels"] = labels,
        };
        if (c.ExposedPorts.Length > 0)
        {
            config["ExposedPorts"] = new JsonObject(c.ExposedPorts.Select(p => KeyValuePair.Create(p, (JsonNode?)new JsonObject())));
        }

        if (c.Healthcheck is { } health)
        {
            config["Healthcheck"] = ServiceView.HealthJson(health);
        }

        if (c.Spec is { } spec)
        {
            if (spec.StopSignal.Length > 0)
            {
                config["StopSignal"] = spec.StopSignal;
            }

            if (spec.StopGracePeriod is { } grace)
            {
                config["StopTimeout"] = (int)grace.TotalSeconds;
            }
        }

        return config;
    }

    /// <summary>
    /// docker's HostConfig with the settings the node ran the container with. docker's nil lists (CapAdd, CapDrop, ExtraHosts,
    /// Ulimits, GroupAdd) are null when empty, PidsLimit null without a limit; Dns, DnsOptions and DnsSearch are [] when empty.
    /// ExtraHosts in docker's host:IP form; ShmSize docker's 64 MiB unless --shm-size gave another.
    /// </summary>
    private static JsonObject HostConfig(ContainerObject c)
    {
        var spec = c.Spec;
        var host = new JsonObject
        {
            // A node before this field said nothing of it: docker's own default then.
            ["NetworkMode"] = c.NetworkMode.Length > 0 ? c.NetworkMode : "default",
            ["RestartPolicy"] = new JsonObject { ["Name"] = c.RestartPolicy.Length > 0 ? c.RestartPolicy : "no", ["MaximumRetryCount"] = c.MaximumRetryCount },
            ["NanoCpus"] = c.NanoCpus,
            ["Memory"] = c.MemoryBytes,
            ["MemoryReservation"] = c.MemoryReservationBytes,
            ["PidsLimit"] = c.PidsLimit > 0 ? c.PidsLimit : null,
            ["CapAdd"] = StringsOrNil(spec?.CapabilityAdd ?? []),
            ["CapDrop"] = StringsOrNil(spec?.CapabilityDrop ?? []),
            ["ReadonlyRootfs"] = spec?.ReadOnly ?? false,
            ["Dns"] = Strings(spec?.Dns.Nameservers ?? []),
            ["DnsOptions"] = Strings(spec?.Dns.Options ?? []),
            ["DnsSearch"] = Strings(spec?.Dns.Search ?? []),
            ["ExtraHosts"] = StringsOrNil(ExtraHosts(spec?.Hosts ?? [])),
            ["GroupAdd"] = StringsOrNil(spec?.Groups ?? []),
            ["Ulimits"] = spec is { Ulimits.Length: > 0 }
                ? new JsonArray([.. spec.Ulimits.Select(u => (JsonNode?)new JsonObject { ["Name"] = u.Name, ["Hard"] = u.Hard, ["Soft"] = u.Soft })])
                : Json.NilSlice(),
            ["ShmSize"] = c.ShmSize > 0 ? c.ShmSize : DefaultShmSize,
            ["LogConfig"] = new JsonObject
            {
                ["Type"] = c.LogConfig?.Name ?? LogDriverRule.JsonFile,
                ["Config"] = new JsonObject([.. (c.LogConfig?.Options ?? ImmutableSortedDictionary<string, string>.Empty).Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))]),
            },
        };
        if (spec?.Init is { } init)
        {
            host["Init"] = init;
        }

        if (spec is { Sysctls.Count: > 0 })
        {
            host["Sysctls"] = new JsonObject([.. spec.Sysctls.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))]);
        }

        if (c.Tmpfs.Count > 0)
        {
            host["Tmpfs"] = new JsonObject([.. c.Tmpfs.Select(o => KeyValuePair.Create(o.Key, (JsonNode?)o.Value))]);
        }

        return host;
    }

    /// <summary>docker's /dev/shm size when --shm-size is left out: 64 MiB.</summary>
    private const long DefaultShmSize = 64L << 20;

    /// <summary>swarmkit's hosts lines ("IP name [alias...]") as docker's ExtraHosts ("name:IP"), one per name.</summary>
    private static IEnumerable<string> ExtraHosts(IEnumerable<string> lines) =>
        lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length >= 2).SelectMany(w => w.Skip(1).Select(name => $"{name}:{w[0]}"));

    /// <summary>The label a task's container carries (swarmkit's), and a standalone container does not.</summary>
    private const string TaskIdLabel = "com.docker.swarm.task.id";

    /// <summary>
    /// docker's MountPoint, its fields in docker's order: a volume's Name is the volume and its Source the node's directory of it
    /// (<paramref name="volumePaths"/>; its name from a node that does not say), with its Driver; a bind's Source is the node's
    /// path, its Propagation rprivate unless the mount gave another. Mode as docker's daemon sets it for a task's container,
    /// whose mounts all come as mount specs (<paramref name="task"/>): "z" for a volume of the local driver (its
    /// setBindModeIfNull), "" for the rest; read-only or not is RW's. A standalone container's stays "": docker's differs
    /// by how it was asked for (-v's mode as written, "z" for a named -v volume, "" for `-v /path`), which its spec does not keep.
    /// </summary>
    private static JsonObject Mount(MountSpec m, IReadOnlyDictionary<string, string> volumePaths, bool task)
    {
        var volume = m.Type == MountType.Volume;
        var json = new JsonObject { ["Type"] = m.Type.ToString().ToLowerInvariant() };
        if (volume)
        {
            json["Name"] = m.Source;
        }

        json["Source"] = volume ? volumePaths.GetValueOrDefault(m.Source, m.Source) : m.Source;
        json["Destination"] = m.Target;
        if (volume)
        {
            json["Driver"] = m.VolumeDriver.Length > 0 ? m.VolumeDriver : "local";
        }

        json["Mode"] = task && volume && m.VolumeDriver is "" or "local" ? "z" : string.Empty;
        json["RW"] = !m.ReadOnly;
        json["Propagation"] = m.Type == MountType.Bind ? (m.BindPropagation ?? MountPropagation.RPrivate).ToString().ToLowerInvariant() : string.Empty;
        return json;
    }

    // ---- stats

    /// <summary>
    /// A line of `stats` from two readings of the same container <paramref name="elapsed"/> apart (CPU % is the CPU time
    /// used between them over that time, as docker's); without an earlier reading CPU % is 0. NET I/O and BLOCK I/O are the
    /// counters in docker's units ("1.23kB / 648B": received / sent, read / written); "--" from a node that does not read them.
    /// </summary>
    public static StatsRow Stats(ContainerObject c, ContainerUsageReading? before, TimeSpan elapsed, string asGiven, bool noTrunc)
    {
        var usage = c.Usage;
        var cpu = usage is not null && before is not null && elapsed > TimeSpan.Zero
            ? Math.Max(0, usage.CpuNanoseconds - before.CpuNanoseconds) / (elapsed.TotalMilliseconds * 1_000_000) * 100
            : 0;
        return usage is null
            ? new StatsRow(asGiven, ShortId(c.Id, noTrunc), c.Name, "--", "-- / --", "--", "--", "--", "--")
            : new StatsRow(asGiven, ShortId(c.Id, noTrunc), c.Name,
                Percent(cpu),
                $"{ServiceView.BytesText(usage.MemoryBytes)} / {ServiceView.BytesText(usage.MemoryLimitBytes)}",
                Percent(usage.MemoryLimitBytes > 0 ? usage.MemoryBytes * 100.0 / usage.MemoryLimitBytes : 0),
                InOut(usage.NetRxBytes, usage.NetTxBytes),
                InOut(usage.BlockReadBytes, usage.BlockWriteBytes),
                usage.Pids.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>docker's "IN / OUT" of two byte counters (units.HumanSizeWithPrecision, 3 digits, powers of 1000).</summary>
    private static string InOut(long? a, long? b) => a is { } x && b is { } y ? $"{ImageView.HumanSize(x)} / {ImageView.HumanSize(y)}" : "--";

    private static string Percent(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "%";

    public static string StatsTable(IEnumerable<StatsRow> rows)
    {
        IReadOnlyList<string> header = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];
        return Output.Table.Render(rows.Select(r => (IReadOnlyList<string>)[r.Id, r.Name, r.CpuPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.Pids]).Prepend(header));
    }

    public static JsonObject StatsJson(StatsRow row) => new()
    {
        ["BlockIO"] = row.BlockIO,
        ["CPUPerc"] = row.CpuPerc,
        ["Container"] = row.Container,
        ["ID"] = row.Id,
        ["MemPerc"] = row.MemPerc,
        ["MemUsage"] = row.MemUsage,
        ["Name"] = row.Name,
        ["NetIO"] = row.NetIO,
        ["PIDs"] = row.Pids,
    };
}
