using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>One line of `service ls`, with docker's values.</summary>
internal sealed record ServiceRow(string Id, string Name, string Mode, string Replicas, string Image, string Ports);

/// <summary>One line of `service ps`: Name is "web.1", or " \_ web.1" for an older task of the same slot.</summary>
internal sealed record TaskRow(string Id, string Name, string Image, string Node, string DesiredState, string CurrentState, string Error, string Ports,
    TaskRowUsage? Usage = null);

/// <summary>The --stats columns of a task row, in docker stats' words; "-" for a task that has no usage (not running, or its node did not answer).</summary>
internal sealed record TaskRowUsage(string CpuPerc, string MemUsage, string Pids)
{
    public static readonly TaskRowUsage None = new("-", "-", "-");
}

/// <summary>
/// How services and their tasks are shown: `service ls` and `service ps` rows, table and JSON
/// lines, `service inspect` objects and `--pretty`, in docker's shapes and words. Pure functions.
/// </summary>
internal static class ServiceView
{
    public const int ShortIdLength = 12;

    /// <summary>Docker cuts a task's error to this many characters in `service ps` unless --no-trunc.</summary>
    public const int ErrorWidth = 30;

    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "ID",
        ["Name"] = "NAME",
        ["Mode"] = "MODE",
        ["Replicas"] = "REPLICAS",
        ["Image"] = "IMAGE",
        ["Ports"] = "PORTS",
    };

    public static readonly IReadOnlyDictionary<string, string> TaskColumns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "ID",
        ["Name"] = "NAME",
        ["Image"] = "IMAGE",
        ["Node"] = "NODE",
        ["DesiredState"] = "DESIRED STATE",
        ["CurrentState"] = "CURRENT STATE",
        ["Error"] = "ERROR",
        ["Ports"] = "PORTS",
    };

    /// <summary>The fields `--stats` adds to `service ps` and `node ps`, titled as docker stats.</summary>
    public static readonly IReadOnlyDictionary<string, string> StatsColumns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["CPUPerc"] = "CPU %",
        ["MemUsage"] = "MEM USAGE / LIMIT",
        ["PIDs"] = "PIDS",
    };

    /// <summary>Every field a task listing's --format may name.</summary>
    public static readonly IReadOnlyDictionary<string, string> TaskAndStatsColumns =
        TaskColumns.Concat(StatsColumns).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public static readonly IReadOnlyCollection<string> InspectFields =
        ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "PreviousSpec", "Endpoint", "UpdateStatus", "JobStatus", "ServiceStatus"];

    public static string ShortId(string id) => id.Length > ShortIdLength ? id[..ShortIdLength] : id;

    // ---- service ls

    public static ServiceRow Row(ServiceSummary summary)
    {
        var service = summary.Service;
        return new ServiceRow(
            ShortId(service.Id),
            service.Spec.Name,
            ModeText(service.Spec.Mode.Kind),
            ReplicasText(service.Spec, summary.Replicas),
            ImageText(service.Spec.TaskTemplate.Container.Image),
            string.Join(", ", PublishedPorts(service).Where(p => p.PublishMode == PublishMode.Ingress).Select(PortText)));
    }

    /// <summary>The ports as the swarm published them (a port asked as 0 with the one it got); the spec's for a service stored before ports were allocated.</summary>
    public static ImmutableArray<PortConfig> PublishedPorts(ServiceObject service) =>
        service.Endpoint.Ports.IsEmpty ? service.Spec.Endpoint.Ports : service.Endpoint.Ports;

    public static IEnumerable<ServiceSummary> Sorted(IEnumerable<ServiceSummary> services) =>
        services.OrderBy(s => s.Service.Spec.Name, NaturalOrder.Instance).ThenBy(s => s.Service.Id, StringComparer.Ordinal);

    public static string ModeText(ServiceModeKind mode) => mode switch
    {
        ServiceModeKind.Global => "global",
        ServiceModeKind.ReplicatedJob => "replicated job",
        ServiceModeKind.GlobalJob => "global job",
        _ => "replicated",
    };

    /// <summary>"2/3"; "2/3 (max 1 per node)"; jobs "1/2 (3/5 completed)", as docker's REPLICAS column.</summary>
    public static string ReplicasText(ServiceSpec spec, ServiceReplicas replicas)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{replicas.Running}/{replicas.Desired}");
        if (spec.Mode.IsJob)
        {
            var total = spec.Mode.Kind == ServiceModeKind.ReplicatedJob ? spec.Mode.TotalCompletions : replicas.Desired;
            // Tasks still wanted running: the slots (nodes) not yet completed, as docker's DesiredTasks; a global job done everywhere is 0/0.
            var left = Math.Max(0, total - replicas.Completed);
            var running = spec.Mode.Kind == ServiceModeKind.ReplicatedJob ? Math.Min(spec.Mode.MaxConcurrent, left) : left;
            return string.Create(CultureInfo.InvariantCulture, $"{replicas.Running}/{running} ({replicas.Completed}/{total} completed)");
        }

        return spec.TaskTemplate.Placement.MaxReplicasPerNode > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{text} (max {spec.TaskTemplate.Placement.MaxReplicasPerNode} per node)")
            : text;
    }

    /// <summary>
    /// The image as docker's `service ls` and `service ps` show it: a tagged image without its digest
    /// ("nginx:1.27"), and one given by digest alone ("nginx@sha256:...") whole, since docker/cli strips the
    /// digest only from a reference with a tag (without it, the row would not say which image runs).
    /// </summary>
    public static string ImageText(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return image;
        }

        var name = image[..at];
        var tagged = name.LastIndexOf(':') > name.LastIndexOf('/');
        return tagged ? name : image;
    }

    /// <summary>"*:8080->80/tcp", as docker's PORTS column.</summary>
    public static string PortText(PortConfig port) =>
        string.Create(CultureInfo.InvariantCulture, $"*:{port.PublishedPort}->{port.TargetPort}/{Lower(port.Protocol)}");

    public static string Table(IEnumerable<ServiceRow> rows)
    {
        IReadOnlyList<string> header = ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"];
        return Output.Table.Render(rows.Select(r => (IReadOnlyList<string>)[r.Id, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]).Prepend(header));
    }

    public static JsonObject ToJson(ServiceRow row) => new()
    {
        ["ID"] = row.Id,
        ["Image"] = row.Image,
        ["Mode"] = row.Mode,
        ["Name"] = row.Name,
        ["Ports"] = row.Ports,
        ["Replicas"] = row.Replicas,
    };

    // ---- service ps

    /// <summary>
    /// Rows in docker's order: by service name, then slot (or node), the newest task of each slot
    /// first and its predecessors below it as " \_ name".
    /// </summary>
    /// <param name="usage">With --stats: the usage found by task id (a task not in it shows "-"); null adds no usage to the rows.</param>
    public static IReadOnlyList<TaskRow> TaskRows(TaskList list, IEnumerable<TaskObject> tasks, DateTimeOffset now, bool noTrunc,
        IReadOnlyDictionary<string, TaskUsage>? usage = null)
    {
        var rows = new List<TaskRow>();
        var groups = tasks
            .GroupBy(t => (Service: ServiceName(list, t), Slot: t.Slot, Node: t.Slot == 0 ? t.NodeId : string.Empty))
            .OrderBy(g => g.Key.Service, NaturalOrder.Instance)
            .ThenBy(g => g.Key.Slot)
            .ThenBy(g => g.Key.Node, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var first = true;
            foreach (var task in group.OrderByDescending(t => t.Meta.CreatedAt).ThenByDescending(t => t.Id, StringComparer.Ordinal))
            {
                var name = TaskName(group.Key.Service, task, noTrunc);
                rows.Add(new TaskRow(
                    noTrunc ? task.Id : ShortId(task.Id),
                    first ? name : @" \_ " + name,
                    ImageText(task.Spec.Container.Image),
                    list.NodeNames.TryGetValue(task.NodeId, out var node) ? node : task.NodeId,
                    Title(task.DesiredState),
                    CurrentState(task.Status, now),
                    ErrorText(task.Status.Err, noTrunc),
                    TaskPortsText(task),
                    usage is null ? null : UsageOf(task, usage)));
                first = false;
            }
        }

        return rows;
    }

    /// <summary>
    /// docker's PORTS of `service ps`: only the host-mode ports the task's node reported binding (its
    /// PortStatus, a port published as 0 with the one the node picked: "*:32768->7200/tcp"), as
    /// docker shows them. Before any report (a Pending task no node holds a port for) and once the
    /// task ended (its node freed them) there are none, also for a fixed port of the spec: showing
    /// it would claim a binding that does not exist.
    /// </summary>
    public static string TaskPortsText(TaskObject task) =>
        string.Join(",", task.Status.PortStatus.Where(p => p.PublishedPort > 0).Select(PortText));

    /// <summary>"web.1", "web.&lt;node id&gt;" for a global task; with --no-trunc docker adds the task id.</summary>
    public static string TaskName(string service, TaskObject task, bool noTrunc)
    {
        var name = task.Slot > 0 ? string.Create(CultureInfo.InvariantCulture, $"{service}.{task.Slot}") : $"{service}.{task.NodeId}";
        return noTrunc ? $"{name}.{task.Id}" : name;
    }

    /// <summary>Docker's CURRENT STATE: "Running 5 seconds ago".</summary>
    public static string CurrentState(TaskObservedStatus status, DateTimeOffset now) =>
        $"{Title(status.State)} {SystemView.Duration(now - status.Timestamp)} ago";

    public static string ErrorText(string error, bool noTrunc)
    {
        if (error.Length == 0)
        {
            return string.Empty;
        }

        var text = error.Replace('\n', ' ');
        if (!noTrunc && text.Length > ErrorWidth)
        {
            text = text[..(ErrorWidth - 1)] + "…";
        }

        return $"\"{text}\"";
    }

    public static string TaskTable(IEnumerable<TaskRow> rows, bool stats = false)
    {
        IReadOnlyList<string> header = stats
            ? ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS", "CPU %", "MEM USAGE / LIMIT", "PIDS"]
            : ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"];
        return Output.Table.Render(rows.Select(r => stats
            ? (IReadOnlyList<string>)[r.Id, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports,
                (r.Usage ?? TaskRowUsage.None).CpuPerc, (r.Usage ?? TaskRowUsage.None).MemUsage, (r.Usage ?? TaskRowUsage.None).Pids]
            : [r.Id, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports]).Prepend(header));
    }

    public static JsonObject ToJson(TaskRow row)
    {
        var json = new JsonObject
        {
            ["CurrentState"] = row.CurrentState,
            ["DesiredState"] = row.DesiredState,
            ["Error"] = row.Error,
            ["ID"] = row.Id,
            ["Image"] = row.Image,
            ["Name"] = row.Name,
            ["Node"] = row.Node,
            ["Ports"] = row.Ports,
        };
        if (row.Usage is { } usage)
        {
            json["CPUPerc"] = usage.CpuPerc;
            json["MemUsage"] = usage.MemUsage;
            json["PIDs"] = usage.Pids;
        }

        return json;
    }

    private static TaskRowUsage UsageOf(TaskObject task, IReadOnlyDictionary<string, TaskUsage> usage) =>
        task.Status.State == TaskState.Running && usage.TryGetValue(task.Id, out var found)
            ? new TaskRowUsage(CpuText(found.CpuPercent), $"{BytesText(found.MemoryBytes)} / {BytesText(found.MemoryLimitBytes)}",
                found.Pids.ToString(CultureInfo.InvariantCulture))
            : TaskRowUsage.None;

    /// <summary>docker stats' CPU %: two decimals, "12.34%".</summary>
    public static string CpuText(double percent) => percent.ToString("0.00", CultureInfo.InvariantCulture) + "%";

    /// <summary>docker's binary sizes with four significant digits at most: "512B", "1.5MiB", "7.667GiB".</summary>
    public static string BytesText(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        var size = (double)Math.Max(0, bytes);
        var unit = 0;
        while (size >= 1024 && unit < units.Length - 1)
        {
            size /= 1024;
            unit++;
        }

        return size.ToString("G4", CultureInfo.InvariantCulture) + units[unit];
    }

    private static string ServiceName(TaskList list, TaskObject task) =>
        list.ServiceNames.TryGetValue(task.ServiceId, out var name) ? name : task.ServiceId;

    // ---- service inspect

    public static JsonObject Inspect(ServiceDetails details)
    {
        var service = details.Service;
        var json = new JsonObject
        {
            ["ID"] = service.Id,
            ["Version"] = new JsonObject { ["Index"] = service.Meta.Version },
            ["CreatedAt"] = Json.Timestamp(service.Meta.CreatedAt),
            ["UpdatedAt"] = Json.Timestamp(service.Meta.UpdatedAt),
            ["Spec"] = Spec(service.Spec),
        };
        if (service.PreviousSpec is { } previous)
        {
            json["PreviousSpec"] = Spec(previous);
        }

        var endpoint = new JsonObject { ["Spec"] = Endpoint(service.Spec.Endpoint) };
        if (service.Endpoint.Ports.Length > 0)
        {
            endpoint["Ports"] = Ports(service.Endpoint.Ports);
        }

        if (service.Endpoint.VirtualIps.Length > 0)
        {
            endpoint["VirtualIPs"] = new JsonArray([.. service.Endpoint.VirtualIps.Select(v =>
                (JsonNode?)new JsonObject { ["NetworkID"] = v.NetworkId, ["Addr"] = v.Address })]);
        }

        json["Endpoint"] = endpoint;
        if (service.UpdateStatus is { } status)
        {
            var update = new JsonObject
            {
                ["State"] = status.State.DockerName(),
                ["StartedAt"] = Json.Timestamp(status.StartedAt),
            };
            if (status.CompletedAt is { } completed)
            {
                update["CompletedAt"] = Json.Timestamp(completed);
            }

            update["Message"] = status.Message;
            json["UpdateStatus"] = update;
        }

        if (service.Spec.Mode.IsJob)
        {
            json["JobStatus"] = new JsonObject { ["JobIteration"] = new JsonObject { ["Index"] = service.JobIteration } };
        }

        json["ServiceStatus"] = new JsonObject
        {
            ["RunningTasks"] = details.Replicas.Running,
            ["DesiredTasks"] = details.Replicas.Desired,
            ["CompletedTasks"] = details.Replicas.Completed,
        };
        return json;
    }

    private static JsonObject Spec(ServiceSpec spec)
    {
        var template = spec.TaskTemplate;
        var placement = new JsonObject();
        AddList(placement, "Constraints", template.Placement.Constraints);
        if (template.Placement.Preferences.Length > 0)
        {
            placement["Preferences"] = new JsonArray([.. template.Placement.Preferences.Select(p => (JsonNode?)new JsonObject
            {
                ["Spread"] = new JsonObject { ["SpreadDescriptor"] = p.SpreadDescriptor },
            })]);
        }

        if (template.Placement.MaxReplicasPerNode > 0)
        {
            placement["MaxReplicas"] = template.Placement.MaxReplicasPerNode;
        }

        var templateJson = new JsonObject
        {
            ["ContainerSpec"] = ContainerJson(template.Container),
            ["Resources"] = new JsonObject
            {
                ["Limits"] = Amounts(template.Resources.Limits, withPids: true),
                ["Reservations"] = Amounts(template.Resources.Reservations, withPids: false),
            },
            ["RestartPolicy"] = RestartJson(template.Restart),
            ["Placement"] = placement,
        };
        if (template.Networks.Length > 0)
        {
            templateJson["Networks"] = new JsonArray([.. template.Networks.Select(n =>
            {
                var network = new JsonObject { ["Target"] = n.Target };
                AddList(network, "Aliases", n.Aliases);
                return (JsonNode?)network;
            })]);
        }

        if (template.LogDriver is { } logDriver)
        {
            var driver = new JsonObject { ["Name"] = logDriver.Name };
            if (!logDriver.Options.IsEmpty)
            {
                driver["Options"] = Map(logDriver.Options);
            }

            templateJson["LogDriver"] = driver;
        }

        templateJson["ForceUpdate"] = template.ForceUpdate;
        return new JsonObject
        {
            ["Name"] = spec.Name,
            ["Labels"] = Map(spec.Labels),
            ["TaskTemplate"] = templateJson,
            ["Mode"] = spec.Mode.Kind switch
            {
                ServiceModeKind.Global => new JsonObject { ["Global"] = new JsonObject() },
                ServiceModeKind.ReplicatedJob => new JsonObject
                {
                    ["ReplicatedJob"] = new JsonObject { ["MaxConcurrent"] = spec.Mode.MaxConcurrent, ["TotalCompletions"] = spec.Mode.TotalCompletions },
                },
                ServiceModeKind.GlobalJob => new JsonObject { ["GlobalJob"] = new JsonObject() },
                _ => new JsonObject { ["Replicated"] = new JsonObject { ["Replicas"] = spec.Mode.Replicas } },
            },
            ["UpdateConfig"] = UpdateConfigJson(spec.Update),
            ["RollbackConfig"] = UpdateConfigJson(spec.Rollback),
            ["EndpointSpec"] = Endpoint(spec.Endpoint),
        };
    }

    /// <summary>Docker's ContainerSpec, its fields in docker's order, each left out when unset (Go's omitempty).</summary>
    private static JsonObject ContainerJson(ContainerSpec container)
    {
        var json = new JsonObject
        {
            ["Image"] = container.Image,
            ["Labels"] = Map(container.Labels),
        };
        AddList(json, "Command", container.Command);
        AddList(json, "Args", container.Args);
        Json.AddText(json, "Hostname", container.Hostname);
        AddList(json, "Env", container.Env);
        Json.AddText(json, "Dir", container.Dir);
        Json.AddText(json, "User", container.User);
        AddList(json, "Groups", container.Groups);
        if (container.Init is { } init)
        {
            json["Init"] = init;
        }

        Json.AddText(json, "StopSignal", container.StopSignal);
        Json.AddFlag(json, "TTY", container.TTY);
        Json.AddFlag(json, "ReadOnly", container.ReadOnly);

        if (container.Mounts.Length > 0)
        {
            json["Mounts"] = new JsonArray([.. container.Mounts.Select(m => (JsonNode?)MountJson(m))]);
        }

        // Docker's: left out when not set, 0 shown as 0.
        if (container.StopGracePeriod is { } grace)
        {
            json["StopGracePeriod"] = Nanos(grace);
        }

        if (container.HealthCheck is { } health)
        {
            json["Healthcheck"] = HealthJson(health);
        }

        AddList(json, "Hosts", container.Hosts);
        if (!container.Dns.IsEmpty)
        {
            var dns = new JsonObject();
            AddList(dns, "Nameservers", container.Dns.Nameservers);
            AddList(dns, "Search", container.Dns.Search);
            AddList(dns, "Options", container.Dns.Options);
            json["DNSConfig"] = dns;
        }

        if (container.Secrets.Length > 0)
        {
            json["Secrets"] = new JsonArray([.. container.Secrets.Select(r => (JsonNode?)new JsonObject
            {
                ["File"] = FileJson(r.File),
                ["SecretID"] = r.SecretId,
                ["SecretName"] = r.SecretName,
            })]);
        }

        if (container.Configs.Length > 0)
        {
            json["Configs"] = new JsonArray([.. container.Configs.Select(r => (JsonNode?)new JsonObject
            {
                ["File"] = FileJson(r.File),
                ["ConfigID"] = r.ConfigId,
                ["ConfigName"] = r.ConfigName,
            })]);
        }

        // A Linux container's only isolation mode; docker's inspect always shows it, between Configs and Sysctls.
        json["Isolation"] = "default";
        if (!container.Sysctls.IsEmpty)
        {
            json["Sysctls"] = Map(container.Sysctls);
        }

        AddList(json, "CapabilityAdd", container.CapabilityAdd);
        AddList(json, "CapabilityDrop", container.CapabilityDrop);
        if (container.Ulimits.Length > 0)
        {
            // go-units' Ulimit: Name, Hard, Soft, in that order.
            json["Ulimits"] = new JsonArray([.. container.Ulimits.Select(u => (JsonNode?)new JsonObject
            {
                ["Name"] = u.Name,
                ["Hard"] = u.Hard,
                ["Soft"] = u.Soft,
            })]);
        }

        return json;
    }

    private static JsonObject Endpoint(EndpointSpec endpoint)
    {
        var json = new JsonObject { ["Mode"] = Lower(endpoint.Mode) };
        if (endpoint.Ports.Length > 0)
        {
            json["Ports"] = Ports(endpoint.Ports);
        }

        return json;
    }

    private static JsonArray Ports(ImmutableArray<PortConfig> ports) =>
        new([.. ports.Select(p =>
        {
            var port = new JsonObject();
            Json.AddText(port, "Name", p.Name);
            port["Protocol"] = Lower(p.Protocol);
            port["TargetPort"] = p.TargetPort;
            port["PublishedPort"] = p.PublishedPort;
            port["PublishMode"] = Lower(p.PublishMode);
            return (JsonNode?)port;
        })]);

    private static JsonObject UpdateConfigJson(UpdateConfig config) => new()
    {
        ["Parallelism"] = config.Parallelism,
        ["Delay"] = Nanos(config.Delay),
        ["FailureAction"] = Lower(config.FailureAction),
        ["Monitor"] = Nanos(config.Monitor),
        ["MaxFailureRatio"] = config.MaxFailureRatio,
        ["Order"] = OrderText(config.Order),
    };

    /// <summary>Docker's file target of a secret or config: the mode as a number, as the API gives it (292 is 0444).</summary>
    private static JsonObject FileJson(FileTarget file) => new()
    {
        ["Name"] = file.Name,
        ["UID"] = file.Uid,
        ["GID"] = file.Gid,
        ["Mode"] = file.Mode,
    };

    /// <summary>
    /// Docker's RestartPolicy: Window is a pointer docker leaves out until --restart-window sets it,
    /// and a zero window is what an unset one reads as here, so it is left out when zero.
    /// </summary>
    private static JsonObject RestartJson(RestartPolicy restart)
    {
        var json = new JsonObject
        {
            ["Condition"] = RestartText(restart.Condition),
            ["Delay"] = Nanos(restart.Delay),
            ["MaxAttempts"] = restart.MaxAttempts,
        };
        if (restart.Window != TimeSpan.Zero)
        {
            json["Window"] = Nanos(restart.Window);
        }

        return json;
    }

    /// <summary>
    /// Docker's mount object, omitempty as its Go type: no Source when there is none (a tmpfs), no
    /// ReadOnly when false; BindOptions, VolumeOptions and TmpfsOptions only when something in them is set
    /// (BindOptions once a propagation or a bind-recursive other than enabled was given, with docker's rprivate when no propagation was).
    /// </summary>
    private static JsonObject MountJson(MountSpec m)
    {
        var json = new JsonObject { ["Type"] = Lower(m.Type) };
        Json.AddText(json, "Source", m.Source);
        Json.AddText(json, "Target", m.Target);
        Json.AddFlag(json, "ReadOnly", m.ReadOnly);

        if (m.BindPropagation is not null || m.BindNonRecursive || m.BindReadOnlyNonRecursive || m.BindReadOnlyForceRecursive)
        {
            var bind = new JsonObject { ["Propagation"] = MountPropagations.Name(m.Propagation) };
            Json.AddFlag(bind, "NonRecursive", m.BindNonRecursive);
            Json.AddFlag(bind, "ReadOnlyNonRecursive", m.BindReadOnlyNonRecursive);
            Json.AddFlag(bind, "ReadOnlyForceRecursive", m.BindReadOnlyForceRecursive);
            json["BindOptions"] = bind;
        }

        if (m.VolumeNoCopy || m.VolumeLabels.Count > 0 || m.VolumeDriver.Length > 0 || m.VolumeOptions.Count > 0)
        {
            var volume = new JsonObject();
            Json.AddFlag(volume, "NoCopy", m.VolumeNoCopy);
            if (m.VolumeLabels.Count > 0)
            {
                volume["Labels"] = Map(m.VolumeLabels);
            }

            if (m.VolumeDriver.Length > 0 || m.VolumeOptions.Count > 0)
            {
                // docker's DriverConfig: the name given (empty when only options were), the options when there are any.
                var driver = new JsonObject { ["Name"] = m.VolumeDriver };
                if (m.VolumeOptions.Count > 0)
                {
                    driver["Options"] = Map(m.VolumeOptions);
                }

                volume["DriverConfig"] = driver;
            }

            json["VolumeOptions"] = volume;
        }

        if (m.TmpfsSizeBytes != 0 || m.TmpfsMode != 0)
        {
            var tmpfs = new JsonObject();
            if (m.TmpfsSizeBytes != 0)
            {
                tmpfs["SizeBytes"] = m.TmpfsSizeBytes;
            }

            if (m.TmpfsMode != 0)
            {
                tmpfs["Mode"] = m.TmpfsMode;
            }

            json["TmpfsOptions"] = tmpfs;
        }

        return json;
    }

    /// <summary>Docker's Limit (NanoCPUs, MemoryBytes, Pids) or Resources (no Pids: reservations have none), each left out when 0.</summary>
    private static JsonObject Amounts(ResourceAmounts amounts, bool withPids)
    {
        var json = new JsonObject();
        if (amounts.NanoCpus != 0)
        {
            json["NanoCPUs"] = amounts.NanoCpus;
        }

        if (amounts.MemoryBytes != 0)
        {
            json["MemoryBytes"] = amounts.MemoryBytes;
        }

        if (withPids && amounts.Pids != 0)
        {
            json["Pids"] = amounts.Pids;
        }

        return json;
    }

    // ---- service inspect --pretty

    public static string Pretty(ServiceDetails details) => Pretty(details, DateTimeOffset.UtcNow);

    /// <summary>
    /// The pretty text at <paramref name="now"/>: the update's times are "2 minutes ago", as docker's template prints them.
    /// Networks are named from <paramref name="networkNames"/> (id to name), as docker's CLI names them; an id it
    /// does not hold (a network removed meanwhile) is shown as the id.
    /// </summary>
    public static string Pretty(ServiceDetails details, DateTimeOffset now, IReadOnlyDictionary<string, string>? networkNames = null)
    {
        var service = details.Service;
        var spec = service.Spec;
        var template = spec.TaskTemplate;
        var container = template.Container;
        var text = new StringBuilder("\n");
        // Docker's template separates most labels from values with a tab, which its tabwriter pads to 20 columns...
        void Line(string label, string value) => text.Append((label + ":").PadRight(20)).Append(value).Append('\n');

        // ...and some with spaces written out, which stay as written.
        void Spaced(string label, string spaces, string value) => text.Append(label).Append(':').Append(spaces).Append(value).Append('\n');
        void Heading(string label) => text.Append(label).Append(":\n");

        Line("ID", service.Id);
        Line("Name", spec.Name);
        if (spec.Labels.Count > 0)
        {
            Heading("Labels");
            foreach (var (key, value) in spec.Labels)
            {
                text.Append(' ').Append(key).Append('=').Append(value).Append('\n');
            }
        }

        Line("Service Mode", spec.Mode.Kind switch
        {
            ServiceModeKind.Global => "Global",
            ServiceModeKind.ReplicatedJob => "ReplicatedJob",
            ServiceModeKind.GlobalJob => "GlobalJob",
            _ => "Replicated",
        });
        if (spec.Mode.Kind == ServiceModeKind.Replicated)
        {
            Line(" Replicas", spec.Mode.Replicas.ToString(CultureInfo.InvariantCulture));
        }
        else if (spec.Mode.Kind == ServiceModeKind.ReplicatedJob)
        {
            Line(" Max Concurrent", spec.Mode.MaxConcurrent.ToString(CultureInfo.InvariantCulture));
            Line(" Total Completions", spec.Mode.TotalCompletions.ToString(CultureInfo.InvariantCulture));
        }

        if (service.UpdateStatus is { } status)
        {
            Heading("UpdateStatus");
            Line(" State", status.State.DockerName());
            Line(" Started", $"{SystemView.Duration(now - status.StartedAt)} ago");
            if (status.CompletedAt is { } completed)
            {
                Line(" Completed", $"{SystemView.Duration(now - completed)} ago");
            }

            Line(" Message", status.Message);
        }

        // Docker's template prints the heading always, and nothing under it for a service placed anywhere.
        var placement = template.Placement;
        Heading("Placement");
        if (placement.Constraints.Length > 0)
        {
            Line(" Constraints", "[" + string.Join(" ", placement.Constraints) + "]");
        }

        if (placement.Preferences.Length > 0)
        {
            Spaced(" Preferences", "   ", "[" + string.Join(" ", placement.Preferences.Select(p => "spread=" + p.SpreadDescriptor)) + "]");
        }

        if (placement.MaxReplicasPerNode > 0)
        {
            Spaced(" Max Replicas Per Node", "   ", placement.MaxReplicasPerNode.ToString(CultureInfo.InvariantCulture));
        }

        PrettyUpdate("UpdateConfig", spec.Update, rollback: false);
        PrettyUpdate("RollbackConfig", spec.Rollback, rollback: true);
        Heading("ContainerSpec");
        Line(" Image", container.Image);
        if (container.Args.Length > 0)
        {
            Line(" Args", string.Join(" ", container.Args));
        }

        if (container.Env.Length > 0)
        {
            Line(" Env", string.Join(" ", container.Env));
        }

        if (container.Dir.Length > 0)
        {
            Line(" Dir", container.Dir);
        }

        if (container.Init is { } init)
        {
            Line(" Init", init ? "true" : "false");
        }

        if (container.User.Length > 0)
        {
            Spaced(" User", " ", container.User);
        }

        PrettyExtras();
        if (container.CapabilityAdd.Length > 0 || container.CapabilityDrop.Length > 0)
        {
            Heading("Capabilities");
            if (container.CapabilityAdd.Length > 0)
            {
                Spaced(" Add", " ", "[" + string.Join(" ", container.CapabilityAdd) + "]");
            }

            if (container.CapabilityDrop.Length > 0)
            {
                Spaced(" Drop", " ", "[" + string.Join(" ", container.CapabilityDrop) + "]");
            }
        }

        if (!container.Sysctls.IsEmpty)
        {
            Heading("SysCtls");
            foreach (var (key, value) in container.Sysctls)
            {
                Spaced(" " + key, " ", value);
            }
        }

        if (container.Ulimits.Length > 0)
        {
            // Docker ranges over a map of them: sorted by name, each soft:hard.
            Heading("Ulimits");
            foreach (var ulimit in container.Ulimits.OrderBy(u => u.Name, StringComparer.Ordinal))
            {
                Spaced(" " + ulimit.Name, " ", string.Create(CultureInfo.InvariantCulture, $"{ulimit.Soft}:{ulimit.Hard}"));
            }
        }

        if (container.Mounts.Length > 0)
        {
            Heading("Mounts");
            foreach (var mount in container.Mounts)
            {
                text.Append(" Target:\t").Append(mount.Target).Append('\n');
                text.Append("  Source:\t").Append(mount.Source).Append('\n');
                text.Append("  ReadOnly:\t").Append(mount.ReadOnly ? "true" : "false").Append('\n');
                text.Append("  Type:\t\t").Append(Lower(mount.Type)).Append('\n');
            }
        }

        if (container.Configs.Length > 0)
        {
            Heading("Configs");
            foreach (var config in container.Configs)
            {
                text.Append(" Target:\t").Append(config.File.Name).Append('\n');
                text.Append("  Source:\t").Append(config.ConfigName).Append('\n');
            }
        }

        if (container.Secrets.Length > 0)
        {
            Heading("Secrets");
            foreach (var secret in container.Secrets)
            {
                text.Append(" Target:\t").Append(secret.File.Name).Append('\n');
                text.Append("  Source:\t").Append(secret.SecretName).Append('\n');
            }
        }

        var resources = template.Resources;
        if (resources != ResourceRequirements.None)
        {
            Heading("Resources");
            PrettyAmounts("Reservations", resources.Reservations);
            PrettyAmounts("Limits", resources.Limits);
        }

        if (template.Networks.Length > 0)
        {
            Line("Networks", string.Join(" ", template.Networks.Select(n => networkNames?.GetValueOrDefault(n.Target) ?? n.Target)));
        }

        Line("Endpoint Mode", Lower(spec.Endpoint.Mode));
        var published = PublishedPorts(service);
        if (published.Length > 0)
        {
            Heading("Ports");
            foreach (var port in published)
            {
                text.Append(" PublishedPort = ").Append(port.PublishedPort).Append('\n');
                text.Append("  Protocol = ").Append(Lower(port.Protocol)).Append('\n');
                text.Append("  TargetPort = ").Append(port.TargetPort).Append('\n');
                text.Append("  PublishMode = ").Append(Lower(port.PublishMode)).Append('\n');
            }
        }

        if (template.LogDriver is { } logDriver)
        {
            Heading("Log Driver");
            Line(" Name", logDriver.Name);
            if (!logDriver.Options.IsEmpty)
            {
                Heading(" LogOpts");
                foreach (var (key, value) in logDriver.Options)
                {
                    Line("  " + key, value);
                }
            }
        }

        return text.ToString();

        void PrettyUpdate(string heading, UpdateConfig config, bool rollback)
        {
            Heading(heading);
            Line(" Parallelism", config.Parallelism.ToString(CultureInfo.InvariantCulture));
            if (config.Delay != TimeSpan.Zero)
            {
                Line(" Delay", GoDuration.Format(config.Delay));
            }

            Line(" On failure", Lower(config.FailureAction));
            Line(" Monitoring Period", GoDuration.Format(config.Monitor));
            Line(" Max failure ratio", config.MaxFailureRatio.ToString(CultureInfo.InvariantCulture));
            Line(rollback ? " Rollback order" : " Update order", OrderText(config.Order));
        }

        void PrettyAmounts(string heading, ResourceAmounts amounts)
        {
            if (amounts == ResourceAmounts.None)
            {
                return;
            }

            text.Append(' ').Append(heading).Append(":\n");
            if (amounts.NanoCpus > 0)
            {
                Line("  CPU", Units.Cpus(amounts.NanoCpus));
            }

            if (amounts.MemoryBytes > 0)
            {
                Line("  Memory", Units.BytesSize(amounts.MemoryBytes));
            }

            if (amounts.Pids > 0)
            {
                Line("  PIDs", amounts.Pids.ToString(CultureInfo.InvariantCulture));
            }
        }

        // What docker's template has no line for, shown here all the same (each only when set), in its style.
        // Not TTY: docker's --pretty prints nothing for it, and nor does this one; inspect's JSON shows it.
        void PrettyExtras()
        {
            if (container.Hostname.Length > 0)
            {
                Line(" Hostname", container.Hostname);
            }

            if (container.Groups.Length > 0)
            {
                Line(" Groups", string.Join(" ", container.Groups));
            }

            if (container.ReadOnly)
            {
                Line(" ReadOnly", "true");
            }

            if (container.StopSignal.Length > 0)
            {
                Line(" StopSignal", container.StopSignal);
            }

            if (container.Hosts.Length > 0)
            {
                text.Append(" Hosts:\n");
                foreach (var host in container.Hosts)
                {
                    text.Append("  ").Append(host).Append('\n');
                }
            }
        }
    }

    // ---- words

    public static string Title(TaskState state) => state.ToString();

    public static string RestartText(RestartCondition condition) => condition switch
    {
        RestartCondition.OnFailure => "on-failure",
        RestartCondition.None => "none",
        _ => "any",
    };

    public static string OrderText(UpdateOrder order) => order == UpdateOrder.StartFirst ? "start-first" : "stop-first";

    private static long Nanos(TimeSpan span) => span.Ticks * 100;

    /// <summary>docker's HealthConfig (a service's ContainerSpec.Healthcheck, a container's Config.Healthcheck).</summary>
    public static JsonObject HealthJson(HealthCheck health)
    {
        // Every field of docker's HealthConfig is omitempty: a zero one (inherit the image's) is left out.
        var json = new JsonObject();
        AddList(json, "Test", health.Test);
        AddDuration(json, "Interval", health.Interval);
        AddDuration(json, "Timeout", health.Timeout);
        AddDuration(json, "StartPeriod", health.StartPeriod);
        AddDuration(json, "StartInterval", health.StartInterval);
        if (health.Retries != 0)
        {
            json["Retries"] = health.Retries;
        }

        return json;
    }

    private static string Lower<TEnum>(TEnum value)
        where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    private static JsonObject Map(IEnumerable<KeyValuePair<string, string>> labels)
    {
        var json = new JsonObject();
        foreach (var (key, value) in labels)
        {
            json[key] = value;
        }

        return json;
    }

    private static JsonArray Array(IEnumerable<string> items) => new([.. items.Select(i => (JsonNode?)i)]);

    private static void AddList(JsonObject json, string name, IReadOnlyCollection<string> items)
    {
        if (items.Count > 0)
        {
            json[name] = Array(items);
        }
    }

    /// <summary>A Go time.Duration with omitempty: nanoseconds, left out when zero.</summary>
    private static void AddDuration(JsonObject json, string name, TimeSpan value)
    {
        if (value != TimeSpan.Zero)
        {
            json[name] = Nanos(value);
        }
    }
}
