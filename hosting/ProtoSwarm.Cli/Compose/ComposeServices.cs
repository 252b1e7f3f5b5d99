using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// One compose service turned into a <see cref="StackService"/> as docker's stack convert does it:
/// entrypoint is the container's Command and command its Args, deploy: becomes the service's mode,
/// resources, restart, placement, update and rollback settings, names of networks, volumes, secrets
/// and configs are resolved against the top-level declarations. Values go through the same parsers
/// as `service create`'s flags.
/// </summary>
internal static class ComposeServices
{
    private const string PortUsage = "write it as 8080:80, 8080:80/udp, 80 or 8000-8001:80-81";
    private const int DefaultFileMode = 0x124; // 0444, docker's mode for secrets and configs

    /// <summary>What every service is read against, and the ignored keys met on the way (one warning each, at the end).</summary>
    internal sealed record Context(
        ComposeReader Reader,
        string Stack,
        string BaseDirectory,
        IReadOnlyDictionary<string, string> Variables,
        IReadOnlyDictionary<string, StackNetwork> Networks,
        IReadOnlyDictionary<string, StackVolume> Volumes,
        IReadOnlyDictionary<string, StackFileObject> Secrets,
        IReadOnlyDictionary<string, StackFileObject> Configs)
    {
        public SortedSet<string> Unsupported { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Deprecated { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> NotYet { get; } = new(StringComparer.Ordinal);

        public void WarnIgnored()
        {
            if (Unsupported.Count > 0)
            {
                // docker prints these two with a blank line after them.
                Reader.Warn($"Ignoring unsupported options: {string.Join(", ", Unsupported)}\n");
            }

            if (Deprecated.Count > 0)
            {
                Reader.Warn("Ignoring deprecated options:\n\n" + string.Join("\n", Deprecated.Select(k => $"{k}: {ComposeSchema.ServiceDeprecated[k]}")) + "\n");
            }

            if (NotYet.Count > 0)
            {
                Reader.Warn($"Ignoring options ProtoSwarm does not support yet: {string.Join(", ", NotYet)}");
            }
        }
    }

    public static StackService? Read(Context context, ScalarNode nameNode, ComposeNode node)
    {
        var reader = context.Reader;
        var name = nameNode.Value;
        var path = ComposeReader.Child("services", name);
        if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            reader.Error(nameNode, path, $"\"{name}\" is not a service name; use letters, digits, '-', '_' and '.'");
        }
        else if (!ServiceNameRule.IsValid($"{context.Stack}_{name}"))
        {
            // The swarm's own rule on the whole name: refused here, before a deploy has made half the stack.
            reader.Error(nameNode, path, $"the service's name on the swarm, \"{context.Stack}_{name}\", is not valid: {ServiceNameRule.Hint}");
        }

        if (reader.Mapping(node, path) is not { } service)
        {
            return null;
        }

        foreach (var entry in service.Entries)
        {
            var key = entry.Key.Value;
            if (ComposeSchema.ServiceForbidden.TryGetValue(key, out var why))
            {
                reader.Error(entry.Key, ComposeReader.Child(path, key), $"\"{key}\" is not allowed in a version 3 file: {why}");
            }
            else if (ComposeSchema.ServiceUnsupported.Contains(key))
            {
                context.Unsupported.Add(key);
            }
            else if (ComposeSchema.ServiceDeprecated.ContainsKey(key))
            {
                context.Deprecated.Add(key);
            }
            else if (ComposeSchema.ServiceNotYet.Contains(key))
            {
                context.NotYet.Add(key);
            }
        }

        reader.Keys(service, path, [.. ComposeSchema.Service, .. ComposeSchema.ServiceForbidden.Keys], ComposeSchema.DefinitionExtensionsSince);
        string Sub(string key) => ComposeReader.Child(path, key);

        string? image = null;
        if (service["image"] is { } imageNode)
        {
            image = reader.ParseText(imageNode, Sub("image"), v => ServiceFlags.Image("", v));
        }
        else
        {
            reader.Error(nameNode, path, service["build"] is not null
                ? "no image: a stack never builds, so build: is ignored; build and push the image first, then name it with image:"
                : "no image: give the image the service runs, e.g. image: nginx:1.27");
        }

        if (service["depends_on"] is { } dependsOn && reader.List(dependsOn, Sub("depends_on")) is { } dependencies)
        {
            // Ignored by a swarm, but docker's version 3 schema takes only a list of service names (no conditions).
            reader.Strings(dependencies, Sub("depends_on"));
        }

        var deploy = service["deploy"] is { } deployNode ? reader.Mapping(deployNode, Sub("deploy")) : null;
        if (deploy is not null)
        {
            reader.Keys(deploy, Sub("deploy"), ComposeSchema.Deploy);
        }

        var container = new ContainerSpec(
            image ?? "",
            Command: Command(reader, service["entrypoint"], Sub("entrypoint")),
            Args: Command(reader, service["command"], Sub("command")),
            Env: Environment(context, service, path),
            Dir: Text(reader, service, path, "working_dir", ServiceFlags.Workdir),
            User: Text(reader, service, path, "user", (_, v) => v.Any(char.IsWhiteSpace) ? $"'{v}' holds white space; use <name|uid>[:<group|gid>]" : null),
            Mounts: [.. Mounts(context, service, path)],
            HealthCheck: service["healthcheck"] is { } health ? HealthCheck(reader, health, Sub("healthcheck")) : null,
            StopSignal: Text(reader, service, path, "stop_signal", ServiceFlags.StopSignal),
            StopGracePeriod: service["stop_grace_period"] is { } grace ? reader.Parse(grace, Sub("stop_grace_period"), v => ServiceFlags.Duration("", v)) : null,
            Labels: ComposeLoader.StackLabels(context.Stack, ComposeLoader.Strings(reader, service["labels"], Sub("labels"))),
            Hostname: Text(reader, service, path, "hostname", ServiceFlags.Hostname),
            ReadOnly: service["read_only"] is { } readOnly && (reader.Bool(readOnly, Sub("read_only")) ?? false),
            CapabilityAdd: Capabilities(reader, service["cap_add"], Sub("cap_add")),
            CapabilityDrop: Capabilities(reader, service["cap_drop"], Sub("cap_drop")),
            Ulimits: Ulimits(reader, service["ulimits"], Sub("ulimits")),
            Hosts: Hosts(reader, service["extra_hosts"], Sub("extra_hosts")),
            Secrets: [.. FileReferences(reader, service["secrets"], Sub("secrets"), context.Secrets, "secret").Select(r => new SecretReference(string.Empty, r.Name, r.File))],
            Configs: [.. FileReferences(reader, service["configs"], Sub("configs"), context.Configs, "config").Select(r => new ConfigReference(string.Empty, r.Name, r.File))],
            Init: service["init"] is { } init ? reader.Bool(init, Sub("init")) : null,
            TTY: service["tty"] is { } tty && (reader.Bool(tty, Sub("tty")) ?? false),
            Sysctls: Sysctls(reader, service["sysctls"], Sub("sysctls")),
            Dns: new DnsConfig(
                DnsList(reader, service["dns"], Sub("dns"), DnsConfigRule.NameserverProblem),
                DnsList(reader, service["dns_search"], Sub("dns_search"), DnsConfigRule.SearchProblem)));

        var (mode, labels) = Deploy(reader, deploy, path);
        var restart = RestartPolicyOf(reader, deploy?["restart_policy"], service["restart"], path, mode.IsJob);
        var spec = new ServiceSpec(
            $"{context.Stack}_{name}",
            ComposeLoader.StackLabels(context.Stack, labels).SetItem(StackModel.ImageLabel, image ?? ""),
            mode,
            new TaskSpec(
                container,
                Resources(reader, deploy?["resources"], Sub("deploy.resources")),
                restart,
                Placement(reader, deploy?["placement"], Sub("deploy.placement")),
                Networks(context, service["networks"], path, name),
                LogDriver: service["logging"] is { } logging ? Logging(reader, logging, Sub("logging")) : null),
            new EndpointSpec(
                deploy?["endpoint_mode"] is { } endpoint ? reader.ParseWord(endpoint, Sub("deploy.endpoint_mode"), v => ServiceFlags.EndpointModeOf(v, "")) ?? EndpointMode.Vip : EndpointMode.Vip,
                Ports(reader, service["ports"], Sub("ports"))),
            UpdateConfigOf(reader, deploy?["update_config"], Sub("deploy.update_config"), rollback: false),
            UpdateConfigOf(reader, deploy?["rollback_config"], Sub("deploy.rollback_config"), rollback: true));

        if (spec.Endpoint.Mode == EndpointMode.Dnsrr && spec.Endpoint.Ports.Any(p => p.PublishMode == PublishMode.Ingress))
        {
            reader.Error(deploy!["endpoint_mode"]!, Sub("deploy.endpoint_mode"), "endpoint_mode dnsrr has no virtual IP for the routing mesh; publish the ports with mode: host, or use vip");
        }

        if (mode.IsGlobal && spec.TaskTemplate.Placement.MaxReplicasPerNode > 0)
        {
            // Docker's stack deploy sends it and swarmkit ignores it for a global service; the managers here refuse it,
            // so it is dropped with a word rather than refused after the stack's networks were made.
            reader.Warn($"Ignoring {Sub("deploy.placement.max_replicas_per_node")}: a global service runs one task on each node, so a limit per node does not apply");
            spec = spec with { TaskTemplate = spec.TaskTemplate with { Placement = spec.TaskTemplate.Placement with { MaxReplicasPerNode = 0 } } };
        }

        return new StackService(name, spec);
    }

    /// <summary>
    /// The managers' own check (<see cref="ServiceSpecValidator"/>) of a service read without an error, so that
    /// `stack config` refuses what they would refuse and `stack deploy` refuses it before creating anything. Each
    /// problem is placed at the compose key its field comes from, as far as the file has it.
    /// </summary>
    public static void CheckSpec(ComposeReader reader, ScalarNode nameNode, ComposeNode node, ServiceSpec spec)
    {
        var path = ComposeReader.Child("services", nameNode.Value);
        foreach (var problem in ServiceSpecValidator.Validate(spec))
        {
            var key = SpecKeys.Where(k => problem.Field.StartsWith(k.Field, StringComparison.Ordinal)).OrderByDescending(k => k.Field.Length).FirstOrDefault();
            var (at, keyPath) = key.Field is null || node is not MappingNode service ? (null, "") : KeyOf(service, key, problem.Field);
            reader.Error(at ?? nameNode, keyPath.Length == 0 ? path : ComposeReader.Child(path, keyPath), problem.ToString());
        }
    }

    /// <summary>
    /// The compose key (under a service) each part of a service spec is read from; Listed when the spec's list
    /// keeps the file's items in their order, so that Field[i] is the key's item i.
    /// </summary>
    private static readonly (string Field, string Key, bool Listed)[] SpecKeys =
    [
        ("Spec.Labels", "deploy.labels", false),
        ("Spec.Mode", "deploy.mode", false),
        ("Spec.Mode.Replicated.Replicas", "deploy.replicas", false),
        ("Spec.TaskTemplate.ContainerSpec.Image", "image", false),
        ("Spec.TaskTemplate.ContainerSpec.Env", "environment", false),
        ("Spec.TaskTemplate.ContainerSpec.Mounts", "volumes", false),
        ("Spec.TaskTemplate.ContainerSpec.Secrets", "secrets", true),
        ("Spec.TaskTemplate.ContainerSpec.Configs", "configs", true),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck", "healthcheck", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.Test", "healthcheck.test", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.Interval", "healthcheck.interval", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.Timeout", "healthcheck.timeout", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.StartPeriod", "healthcheck.start_period", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.StartInterval", "healthcheck.start_interval", false),
        ("Spec.TaskTemplate.ContainerSpec.Healthcheck.Retries", "healthcheck.retries", false),
        ("Spec.TaskTemplate.ContainerSpec.StopSignal", "stop_signal", false),
        ("Spec.TaskTemplate.ContainerSpec.StopGracePeriod", "stop_grace_period", false),
        ("Spec.TaskTemplate.ContainerSpec.Labels", "labels", false),
        ("Spec.TaskTemplate.ContainerSpec.Hostname", "hostname", false),
        ("Spec.TaskTemplate.ContainerSpec.CapabilityAdd", "cap_add", true),
        ("Spec.TaskTemplate.ContainerSpec.CapabilityDrop", "cap_drop", true),
        ("Spec.TaskTemplate.ContainerSpec.Ulimits", "ulimits", false),
        ("Spec.TaskTemplate.ContainerSpec.Hosts", "extra_hosts", false),
        ("Spec.TaskTemplate.ContainerSpec.Sysctls", "sysctls", false),
        ("Spec.TaskTemplate.ContainerSpec.DNSConfig.Nameservers", "dns", false),
        ("Spec.TaskTemplate.ContainerSpec.DNSConfig.Search", "dns_search", false),
        ("Spec.TaskTemplate.LogDriver", "logging", false),
        ("Spec.TaskTemplate.Resources", "deploy.resources", false),
        ("Spec.TaskTemplate.RestartPolicy", "deploy.restart_policy", false),
        ("Spec.TaskTemplate.Placement.Constraints", "deploy.placement.constraints", true),
        ("Spec.TaskTemplate.Placement.Preferences", "deploy.placement.preferences", true),
        ("Spec.TaskTemplate.Placement.MaxReplicas", "deploy.placement.max_replicas_per_node", false),
        ("Spec.TaskTemplate.Networks", "networks", false),
        ("Spec.EndpointSpec.Mode", "deploy.endpoint_mode", false),
        ("Spec.EndpointSpec.Ports", "ports", false),
        ("Spec.UpdateConfig", "deploy.update_config", false),
        ("Spec.RollbackConfig", "deploy.rollback_config", false),
    ];

    /// <summary>
    /// The node of a spec field's compose key under the service, and its path, as deep as the file has it (and the
    /// field's item of a listed key); (null, "") when not even the first key is there.
    /// </summary>
    private static (ComposeNode? Node, string Path) KeyOf(MappingNode service, (string Field, string Key, bool Listed) key, string field)
    {
        (ComposeNode? Node, string Path) found = (null, "");
        ComposeNode current = service;
        foreach (var part in key.Key.Split('.'))
        {
            if (current is not MappingNode mapping || mapping[part] is not { } next)
            {
                return found;
            }

            found = (next, ComposeReader.Child(found.Path, part));
            current = next;
        }

        var rest = field[key.Field.Length..];
        var close = rest.IndexOf(']', StringComparison.Ordinal);
        return key.Listed && current is SequenceNode list && rest.StartsWith('[') && close > 1
            && int.TryParse(rest[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < list.Items.Length
            ? (list.Items[index], ComposeReader.Item(found.Path, index))
            : found;
    }

    /// <summary>sysctls: a map or a list of "key=value"; each key must be one a container may set, as docker's --sysctl.</summary>
    private static ImmutableSortedDictionary<string, string> Sysctls(ComposeReader reader, ComposeNode? node, string path)
    {
        var sysctls = NamespacedSysctls.None;
        if (node is null || reader.ListOrDict(node, path) is not { } entries)
        {
            return sysctls;
        }

        foreach (var (key, value, at, entryPath) in entries)
        {
            if (NamespacedSysctls.Problem(key) is { } problem)
            {
                reader.Error(at, entryPath, $"{problem}; use {NamespacedSysctls.Allowed}");
            }
            else if (value is null || value.Trim().Length == 0)
            {
                reader.Error(at, entryPath, $"{key} has no value; write {key}: VALUE, or - {key}=VALUE in a list");
            }
            else
            {
                sysctls = sysctls.SetItem(key, value.Trim());
            }
        }

        return sysctls;
    }

    /// <summary>dns and dns_search: a string or a list, each value checked as --dns and --dns-search check theirs.</summary>
    private static ImmutableArray<string> DnsList(ComposeReader reader, ComposeNode? node, string path, Func<string, string?> problem)
    {
        if (node is null or ScalarNode { IsNull: true } || reader.StringOrList(node, path) is not { } values)
        {
            return [];
        }

        var list = ImmutableArray.CreateBuilder<string>();
        foreach (var (text, at, itemPath) in values)
        {
            if (problem(text.Trim()) is { } wrong)
            {
                reader.Error(at, itemPath, wrong);
            }
            else if (!list.Contains(text.Trim()))
            {
                list.Add(text.Trim());
            }
        }

        return list.ToImmutable();
    }

    /// <summary>logging: driver: and options:, as docker's stack converts them; a driver or an option a node cannot honour is refused here.</summary>
    private static LogDriver? Logging(ComposeReader reader, ComposeNode node, string path)
    {
        if (reader.Mapping(node, path) is not { } logging)
        {
            return null;
        }

        reader.Keys(logging, path, ComposeSchema.Logging);
        var name = logging["driver"] is { } driverNode ? reader.String(driverNode, ComposeReader.Child(path, "driver")) : null;
        var options = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        var optionsPath = ComposeReader.Child(path, "options");
        var mapping = logging["options"] is { } optionsNode and not ScalarNode { IsNull: true } ? reader.Mapping(optionsNode, optionsPath) : null;
        if (mapping is not null)
        {
            foreach (var entry in mapping.Entries)
            {
                if (entry.Value is ScalarNode { IsNull: false } value)
                {
                    options = options.SetItem(entry.Key.Value, value.Value);
                }
                else if (entry.Value is not ScalarNode)
                {
                    reader.Error(entry.Value, ComposeReader.Child(optionsPath, entry.Key.Value), $"expected a string or a number, got {entry.Value.Describe()}");
                }
            }
        }

        if (name is null)
        {
            // Docker converts options without a driver into a driver with an empty name, which its daemon then refuses.
            reader.Error(logging, path, $"no driver is named; name one, e.g. driver: {LogDriverRule.JsonFile}");
            return null;
        }

        var driver = new LogDriver(name, options);
        foreach (var (at, problem, fix) in LogDriverRule.Problems(driver))
        {
            var where = at.StartsWith("Options[", StringComparison.Ordinal) && mapping is not null && mapping[at[8..^1]] is { } option
                ? (option, ComposeReader.Child(optionsPath, at[8..^1]))
                : (logging["driver"]!, ComposeReader.Child(path, "driver"));
            reader.Error(where.Item1, where.Item2, $"{problem}; {fix}");
        }

        return driver;
    }

    /// <summary>A string checked by one of the flag checks that return the problem or null.</summary>
    private static string Text(ComposeReader reader, MappingNode service, string path, string key, Func<string, string, string?> check)
    {
        if (service[key] is not { } node || reader.String(node, ComposeReader.Child(path, key)) is not { } text)
        {
            return "";
        }

        if (check("", text) is { } problem)
        {
            reader.Error(node, ComposeReader.Child(path, key), problem);
        }

        return text;
    }

    /// <summary>A string is split into words as a shell would, as docker does; a list is taken as it is.</summary>
    private static ImmutableArray<string> Command(ComposeReader reader, ComposeNode? node, string path)
    {
        switch (node)
        {
            case null or ScalarNode { IsNull: true }:
                return [];
            case ScalarNode scalar:
                return reader.Parse(scalar, path, v => ServiceFlags.Words("", v)) ?? [];
            case SequenceNode list:
                return [.. reader.Strings(list, path).Select(s => s.Text)];
            default:
                reader.Error(node, path, $"expected a command string or a list of arguments, got {node.Describe()}");
                return [];
        }
    }

    /// <summary>env_file entries first, then environment: over them; KEY alone takes the value from the environment, as docker does.</summary>
    private static ImmutableArray<string> Environment(Context context, MappingNode service, string path)
    {
        var reader = context.Reader;
        var variables = new SortedDictionary<string, (string? Value, ComposeNode Node, string Path)>(StringComparer.Ordinal);
        if (service["env_file"] is { } envFiles && reader.StringOrList(envFiles, ComposeReader.Child(path, "env_file")) is { } files)
        {
            foreach (var (file, node, filePath) in files)
            {
                var full = Path.GetFullPath(file, context.BaseDirectory);
                if (Directory.Exists(full))
                {
                    // .NET says "Access to the path is denied" of a directory; docker says it is one.
                    reader.Error(node, filePath, $"{file} is a directory ({full}); env_file names files of KEY=VALUE lines");
                    continue;
                }

                string text;
                try
                {
                    text = File.ReadAllText(full);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    reader.Error(node, filePath, $"{file} does not exist (looked for {full}); env_file paths are relative to the directory of the first compose file (-c), as with docker");
                    continue;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    reader.Error(node, filePath, $"cannot read {file}: {e.Message}");
                    continue;
                }

                var (entries, error) = EnvFile.Parse(text);
                if (error is { } bad)
                {
                    reader.Error(new ScalarNode("", false, new SourceMark(file, bad.Line, 1)), filePath, bad.Message);
                }

                foreach (var (key, value) in entries)
                {
                    variables[key] = (value, node, filePath);
                }
            }
        }

        if (service["environment"] is { } environment && reader.ListOrDict(environment, ComposeReader.Child(path, "environment")) is { } pairs)
        {
            foreach (var (key, value, node, entryPath) in pairs)
            {
                if (key.Trim().Length == 0 || key.Any(char.IsWhiteSpace))
                {
                    reader.Error(node, entryPath, $"'{key}' is not a variable name; write NAME=value");
                    continue;
                }

                variables[key] = (value, node, entryPath);
            }
        }

        var env = ImmutableArray.CreateBuilder<string>();
        foreach (var (key, (value, _, _)) in variables)
        {
            var resolved = value ?? context.Variables.GetValueOrDefault(key);
            if (resolved is null)
            {
                reader.Warn($"{ComposeReader.Child(path, "environment")}: {key} has no value and is not set in the environment; it is left out");
                continue;
            }

            env.Add($"{key}={resolved}");
        }

        return env.ToImmutable();
    }

    private static ImmutableArray<string> Capabilities(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.List(node, path) is not { } list)
        {
            return [];
        }

        return [.. reader.Strings(list, path).Select(s => reader.ParseText(s.Node, s.Path, v => ServiceFlags.Capability("", v))).OfType<string>().Distinct()];
    }

    /// <summary>ulimits: nofile: 1024, or nofile: {soft: 1024, hard: 2048}.</summary>
    private static ImmutableArray<Ulimit> Ulimits(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.Mapping(node, path) is not { } mapping)
        {
            return [];
        }

        var limits = ImmutableArray.CreateBuilder<Ulimit>();
        foreach (var entry in mapping.Entries)
        {
            var limitPath = ComposeReader.Child(path, entry.Key.Value);
            string? numbers;
            if (entry.Value is MappingNode pair)
            {
                reader.Keys(pair, limitPath, ComposeSchema.Ulimit);
                numbers = pair["soft"] is { } soft && pair["hard"] is { } hard
                    ? $"{reader.String(soft, ComposeReader.Child(limitPath, "soft"))}:{reader.String(hard, ComposeReader.Child(limitPath, "hard"))}"
                    : null;
                if (numbers is null)
                {
                    reader.Error(entry.Value, limitPath, "give both soft: and hard:, or one number for both");
                    continue;
                }
            }
            else
            {
                numbers = reader.String(entry.Value, limitPath);
            }

            if (numbers is null)
            {
                continue;
            }

            var limit = ServiceFlags.UlimitOf("", $"{entry.Key.Value}={numbers}");
            if (limit.IsValid)
            {
                limits.Add(limit.Value);
            }
            else
            {
                reader.Error(entry.Value, limitPath, limit.Error!);
            }
        }

        return limits.ToImmutable();
    }

    /// <summary>
    /// extra_hosts: "name:IP" or "name=IP" items, or name: IP; an IPv6 address may be in brackets, as
    /// docker's loader takes them. Stored as swarmkit's hosts lines.
    /// </summary>
    private static ImmutableArray<string> Hosts(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null)
        {
            return [];
        }

        List<(string Key, string? Value, ComposeNode Node, string Path)>? entries;
        if (node is SequenceNode list)
        {
            entries = [];
            foreach (var (text, item, itemPath) in reader.Strings(list, path))
            {
                var at = text.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? eq : text.IndexOf(':', StringComparison.Ordinal);
                entries.Add(at > 0 ? (text[..at], text[(at + 1)..], item, itemPath) : (text, null, item, itemPath));
            }
        }
        else
        {
            entries = reader.ListOrDict(node, path, ':');
        }

        if (entries is null)
        {
            return [];
        }

        return [.. entries.Select(e => reader.ParseText(e.Node, e.Path, _ => e.Value is null
            ? Checked<string>.Fail($"'{e.Key}' is not a host mapping; write it as name:IP, e.g. db:10.0.0.5")
            : ServiceFlags.HostOf("", $"{e.Key}:{(e.Value is ['[', .., ']'] ? e.Value[1..^1] : e.Value)}"))).OfType<string>()];
    }

    private static ImmutableArray<PortConfig> Ports(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.List(node, path) is not { } list)
        {
            return [];
        }

        var ports = new List<PortConfig>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ComposeReader.Item(path, i);
            var item = list.Items[i];
            var read = item is MappingNode mapping ? LongPort(reader, mapping, itemPath) : ShortPorts(reader, item, itemPath);
            foreach (var port in read)
            {
                if (port.PublishedPort != 0 && ports.Any(p => p.PublishedPort == port.PublishedPort && p.Protocol == port.Protocol))
                {
                    reader.Error(item, itemPath, $"port {port.PublishedPort}/{port.Protocol.ToString().ToLowerInvariant()} is published twice; publish each port once");
                    continue;
                }

                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static ImmutableArray<PortConfig> ShortPorts(ComposeReader reader, ComposeNode item, string path)
    {
        if (reader.String(item, path) is not { } text)
        {
            return [];
        }

        var mapped = ServiceFlags.PortMappings("", text, PortUsage);
        if (!mapped.IsValid)
        {
            reader.Error(item, path, mapped.Error!);
            return [];
        }

        if (mapped.Value.HostIp is { Length: > 0 } ip && ip is not ("0.0.0.0" or "::"))
        {
            reader.Warn($"{path}: ignoring IP-address ({text}): a swarm service listens on every address of the node ('0.0.0.0')");
        }

        return mapped.Value.Ports;
    }

    private static ImmutableArray<PortConfig> LongPort(ComposeReader reader, MappingNode mapping, string path)
    {
        reader.Keys(mapping, path, ComposeSchema.PortLong);
        if (mapping["target"] is not { } targetNode)
        {
            reader.Error(mapping, path, "a port needs target: (the port in the container), e.g. target: 80");
            return [];
        }

        var target = Port(reader, targetNode, ComposeReader.Child(path, "target"), 1);
        var published = mapping["published"] is { } publishedNode ? Port(reader, publishedNode, ComposeReader.Child(path, "published"), 0) : 0;
        var protocol = PortProtocol.Tcp;
        if (mapping["protocol"] is { } protocolNode && !reader.HoldsVariables(protocolNode) && reader.String(protocolNode, ComposeReader.Child(path, "protocol")) is { } protocolName
            && !ServiceFlags.TryProtocol(protocolName, out protocol))
        {
            reader.Error(protocolNode, ComposeReader.Child(path, "protocol"), ServiceFlags.ProtocolError(protocolName));
        }

        var mode = PublishMode.Ingress;
        if (mapping["mode"] is { } modeNode && !reader.HoldsVariables(modeNode) && reader.String(modeNode, ComposeReader.Child(path, "mode")) is { } modeName)
        {
            switch (modeName)
            {
                case "ingress": break;
                case "host": mode = PublishMode.Host; break;
                default:
                    reader.Error(modeNode, ComposeReader.Child(path, "mode"), $"'{modeName}' is not a publish mode; use ingress or host");
                    break;
            }
        }

        return target is { } t && published is { } p ? [new PortConfig(t, p, protocol, mode)] : [];
    }

    private static int? Port(ComposeReader reader, ComposeNode node, string path, int lowest)
    {
        // Docker's long syntax takes one port (its schema: an integer); its short syntax takes ranges.
        if (node is ScalarNode { Value: var text } && text.Contains('-', StringComparison.Ordinal) && !text.StartsWith('-') && !reader.HoldsVariables(node))
        {
            reader.Error(node, path, $"'{text}' is a range, which the long port syntax does not take (docker's neither); write it in the short syntax, \"PUBLISHED:TARGET\" where either may be a range (\"8000-8002:80-82\"), which publishes each port of the range");
            return null;
        }

        if (reader.Integer(node, path) is not { } number)
        {
            return null;
        }

        if (number < lowest || number > 65535)
        {
            reader.Error(node, path, $"{number} is not a port; ports are numbers from {lowest} to 65535");
            return null;
        }

        return (int)number;
    }

    /// <summary>Attachments to the service's networks (the stack's default network when it names none), each with the service's short name as an alias, as docker adds it.</summary>
    private static ImmutableArray<NetworkAttachment> Networks(Context context, ComposeNode? node, string path, string name)
    {
        var reader = context.Reader;
        var wanted = new List<(string Key, ComposeNode At, string Path, ImmutableArray<string> Aliases)>();
        var networksPath = ComposeReader.Child(path, "networks");
        switch (node)
        {
            case null:
                wanted.Add(("default", new ScalarNode("", true, new SourceMark("", 0, 0)), networksPath, []));
                break;
            case SequenceNode list:
                wanted.AddRange(reader.Strings(list, networksPath).Select(s => (s.Text, s.Node, s.Path, ImmutableArray<string>.Empty)));
                break;
            case MappingNode mapping:
                foreach (var entry in mapping.Entries)
                {
                    var entryPath = ComposeReader.Child(networksPath, entry.Key.Value);
                    var aliases = ImmutableArray<string>.Empty;
                    if (reader.Mapping(entry.Value, entryPath) is { } body)
                    {
                        reader.Keys(body, entryPath, ComposeSchema.ServiceNetwork);
                        if (body["aliases"] is { } aliasNode && reader.List(aliasNode, ComposeReader.Child(entryPath, "aliases")) is { } aliasList)
                        {
                            aliases = [.. reader.Strings(aliasList, ComposeReader.Child(entryPath, "aliases")).Select(a => a.Text)];
                        }

                        if (body["ipv4_address"] is not null || body["ipv6_address"] is not null)
                        {
                            context.NotYet.Add("networks.*.ipv4_address");
                        }

                        if (body["driver_opts"] is not null)
                        {
                            context.NotYet.Add("networks.*.driver_opts");
                        }
                    }

                    wanted.Add((entry.Key.Value, entry.Key, entryPath, aliases));
                }

                break;
            default:
                reader.Error(node, networksPath, $"expected a list of network names or a mapping, got {node.Describe()}");
                break;
        }

        var attachments = new List<NetworkAttachment>();
        foreach (var (key, at, keyPath, aliases) in wanted)
        {
            string target;
            if (context.Networks.TryGetValue(key, out var network))
            {
                target = network.Name;
            }
            else if (key == "default")
            {
                target = ComposeLoader.DefaultNetwork(context.Stack).Name;
            }
            else
            {
                var close = ComposeReader.Closest(key, context.Networks.Keys);
                reader.Error(at, keyPath, $"network \"{key}\" is not declared under the top-level networks:; "
                    + (close is null ? $"declare it there (networks: {{{key}: {{}}}})" : $"did you mean \"{close}\"?"));
                continue;
            }

            // As docker's stack deploy, the service's name is an alias on swarm networks only: the node's own (bridge, host,
            // none) take none.
            attachments.Add(new NetworkAttachment(target, PredefinedNetworks.IsLocal(target) ? [.. aliases] : [.. aliases.Append(name).Distinct()]));
        }

        return [.. attachments.OrderBy(a => a.Target, StringComparer.Ordinal)];
    }

    private static List<MountSpec> Mounts(Context context, MappingNode service, string path)
    {
        var reader = context.Reader;
        var mounts = new List<MountSpec>();
        var home = context.Variables.GetValueOrDefault("HOME");
        if (service["volumes"] is { } node && reader.List(node, ComposeReader.Child(path, "volumes")) is { } list)
        {
            for (var i = 0; i < list.Items.Length; i++)
            {
                var item = list.Items[i];
                var itemPath = ComposeReader.Item(ComposeReader.Child(path, "volumes"), i);
                MountSpec? mount;
                if (item is MappingNode mapping)
                {
                    mount = LongVolume(context, mapping, itemPath, home);
                }
                else if (reader.String(item, itemPath) is { } text)
                {
                    var parsed = VolumeShortSyntax.Parse(text, context.BaseDirectory, home);
                    mount = parsed.IsValid ? parsed.Value : null;
                    if (!parsed.IsValid)
                    {
                        reader.Error(item, itemPath, parsed.Error!);
                    }
                }
                else
                {
                    mount = null;
                }

                if (mount is null || Named(context, mount, item, itemPath) is not { } named)
                {
                    continue;
                }

                if (mounts.Any(m => m.Target == named.Target))
                {
                    reader.Error(item, itemPath, $"{named.Target} is mounted twice; mount one thing on each path");
                    continue;
                }

                mounts.Add(named);
            }
        }

        if (service["tmpfs"] is { } tmpfs && reader.StringOrList(tmpfs, ComposeReader.Child(path, "tmpfs")) is { } entries)
        {
            foreach (var (text, at, entryPath) in entries)
            {
                if (Tmpfs(reader, text, at, entryPath) is { } mount)
                {
                    mounts.Add(mount);
                }
            }
        }

        return mounts;
    }

    /// <summary>A named volume mount takes the declared volume's name on the swarm and its labels.</summary>
    private static MountSpec? Named(Context context, MountSpec mount, ComposeNode at, string path)
    {
        if (mount.Type != MountType.Volume || mount.Source.Length == 0)
        {
            return mount;
        }

        if (!context.Volumes.TryGetValue(mount.Source, out var volume))
        {
            var close = ComposeReader.Closest(mount.Source, context.Volumes.Keys);
            context.Reader.Error(at, path, $"volume \"{mount.Source}\" is not declared under the top-level volumes:; "
                + (close is null ? $"declare it there (volumes: {{{mount.Source}: {{}}}}), or write a path (./{mount.Source}) for a bind mount" : $"did you mean \"{close}\"?"));
            return null;
        }

        // docker's stack deploy gives each mount the volume's driver and driver_opts (its DriverConfig).
        return mount with { Source = volume.Name, VolumeLabels = volume.Labels, VolumeDriver = volume.Driver, VolumeOptions = volume.DriverOptions };
    }

    private static MountSpec? LongVolume(Context context, MappingNode mapping, string path, string? home)
    {
        var reader = context.Reader;
        reader.Keys(mapping, path, ComposeSchema.VolumeLong);
        string? Field(string key) => mapping[key] is { } n ? reader.String(n, ComposeReader.Child(path, key)) : null;
        var typeName = Field("type");
        MountType? type = typeName switch
        {
            "volume" => MountType.Volume,
            "bind" => MountType.Bind,
            "tmpfs" => MountType.Tmpfs,
            _ => null,
        };
        if (type is null)
        {
            reader.Error(mapping["type"] ?? mapping, ComposeReader.Child(path, "type"), typeName is null
                ? "a volume in long form needs type: volume, bind or tmpfs"
                : $"'{typeName}' is not a mount type; use volume, bind or tmpfs");
            return null;
        }

        var source = Field("source") ?? "";
        var target = Field("target");
        if (target is null)
        {
            reader.Error(mapping, path, "a volume needs target: (the path in the container), e.g. target: /data");
            return null;
        }

        if (!target.StartsWith('/') || target.Trim('/').Length == 0)
        {
            reader.Error(mapping["target"]!, ComposeReader.Child(path, "target"), $"target '{target}' is not a directory in the container; give an absolute path other than '/', e.g. /data");
            return null;
        }

        var mount = new MountSpec(type.Value, source, target, mapping["read_only"] is { } ro && (reader.Bool(ro, ComposeReader.Child(path, "read_only")) ?? false));
        foreach (var option in new[] { "volume", "bind", "tmpfs" })
        {
            if (mapping[option] is not { } optionNode)
            {
                continue;
            }

            var optionPath = ComposeReader.Child(path, option);
            if (option != typeName)
            {
                reader.Error(optionNode, optionPath, $"{option}: options are for type: {option}, and this mount is type: {typeName}");
                continue;
            }

            if (reader.Mapping(optionNode, optionPath) is { } options)
            {
                mount = MountOptions(reader, mount, option, options, optionPath);
            }
        }

        switch (type.Value)
        {
            case MountType.Bind when source.Length == 0:
                reader.Error(mapping, path, "a bind mount needs source: (a path on the node)");
                return null;
            case MountType.Bind:
                if (source == "~" || source.StartsWith("~/", StringComparison.Ordinal))
                {
                    source = (home ?? "~") + source[1..];
                }

                return mount with { Source = Path.GetFullPath(source, context.BaseDirectory).TrimEnd('/') is { Length: > 0 } full ? full : "/" };
            case MountType.Tmpfs when source.Length > 0:
                reader.Error(mapping["source"]!, ComposeReader.Child(path, "source"), "a tmpfs mount has no source; leave source out");
                return null;
            case MountType.Volume when source.Length > 0 && VolumeShortSyntax.KeyProblem(source) is { } problem:
                reader.Error(mapping["source"]!, ComposeReader.Child(path, "source"), $"{problem}; use type: bind for a path on the node");
                return null;
            default:
                return mount;
        }
    }

    private static MountSpec MountOptions(ComposeReader reader, MountSpec mount, string option, MappingNode options, string path)
    {
        string[] known = option switch { "volume" => ["nocopy"], "bind" => ["propagation", "recursive"], _ => ["size", "mode"] };
        foreach (var other in options.Entries.Where(e => !known.Contains(e.Key.Value) && !e.Key.Value.StartsWith("x-", StringComparison.Ordinal)))
        {
            // docker's schema leaves these mappings open and its loader drops what it does not know (a newer
            // compose's subpath, create_host_path): said, not refused, so such a file deploys as with docker.
            reader.Warn($"Ignoring options ProtoSwarm does not support yet: {ComposeReader.Child(path, other.Key.Value)}");
        }

        foreach (var entry in options.Entries.Where(e => known.Contains(e.Key.Value)))
        {
            var entryPath = ComposeReader.Child(path, entry.Key.Value);
            switch (entry.Key.Value)
            {
                case "nocopy":
                    mount = mount with { VolumeNoCopy = reader.Bool(entry.Value, entryPath) ?? false };
                    break;
                case "propagation":
                    if (reader.String(entry.Value, entryPath) is not { } word)
                    {
                        break;
                    }

                    if (MountPropagations.Parse(word) is { } propagation)
                    {
                        mount = mount with { BindPropagation = propagation };
                    }
                    else if (word.Length > 0)
                    {
                        // docker's managers refuse it at deploy ("invalid MountPropagation"); said here, where it was written.
                        reader.Error(entry.Value, entryPath, $"propagation '{word}' is not a propagation; use {MountPropagations.Words}");
                    }

                    break;
                case "recursive":
                    // The compose spec's bind.recursive, as docker compose maps it onto docker's BindOptions.
                    switch (reader.String(entry.Value, entryPath))
                    {
                        case null:
                            break;
                        case var recursion when recursion is "writable" or "readonly" && !mount.ReadOnly:
                            // docker's daemon refuses it at the container's creation; said here, where it was written.
                            reader.Error(entry.Value, entryPath, $"recursive: {recursion} is for a read-only bind; add read_only: true to the volume, or leave recursive out");
                            break;
                        case var recursion when recursion is "enabled" or "disabled" or "writable" or "readonly":
                            mount = mount with
                            {
                                BindNonRecursive = recursion == "disabled",
                                BindReadOnlyNonRecursive = recursion == "writable",
                                BindReadOnlyForceRecursive = recursion == "readonly",
                            };
                            break;
                        case var recursion:
                            reader.Error(entry.Value, entryPath, $"recursive '{recursion}' is not a choice; use enabled, disabled, writable or readonly");
                            break;
                    }

                    break;
                case "size":
                    mount = mount with { TmpfsSizeBytes = TmpfsSize(reader, entry.Value, entryPath) };
                    break;
                case "mode":
                    mount = mount with { TmpfsMode = FileMode(reader, entry.Value, entryPath) ?? 0 };
                    break;
            }
        }

        // Checked once both are read, so the order of the keys in bind: does not matter (docker's managers refuse the pair at deploy).
        if (mount.BindReadOnlyForceRecursive && mount.BindPropagation is { } given && given != MountPropagation.RPrivate)
        {
            var recursive = options.Entries.First(e => e.Key.Value == "recursive");
            reader.Error(recursive.Value, ComposeReader.Child(path, "recursive"), $"recursive: readonly needs propagation rprivate, not {MountPropagations.Name(given)}; leave propagation out or give rprivate");
            mount = mount with { BindReadOnlyForceRecursive = false };
        }

        return mount;
    }

    /// <summary>A long-form tmpfs mount's size: a number of bytes, as docker's schema takes it (an integer, never "64m").</summary>
    private static long TmpfsSize(ComposeReader reader, ComposeNode node, string path)
    {
        if (node is ScalarNode { IsNull: false } scalar && long.TryParse(scalar.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            return bytes;
        }

        var hint = node is ScalarNode text && ServiceFlags.Memory("", text.Value) is { IsValid: true } memory
            ? $"write {memory.Value.ToString(CultureInfo.InvariantCulture)} for {text.Value}"
            : "e.g. 67108864 for 64 MiB";
        reader.Error(node, path, $"expected the size in bytes, a whole number, got {node.Describe()}; {hint}");
        return 0;
    }

    /// <summary>A service's tmpfs: entry, "/run" or "/run:size=64m,mode=1777", as a tmpfs mount.</summary>
    private static MountSpec? Tmpfs(ComposeReader reader, string text, ComposeNode at, string path)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var target = colon < 0 ? text : text[..colon];
        if (!target.StartsWith('/') || target.Trim('/').Length == 0)
        {
            reader.Error(at, path, $"'{target}' is not a directory in the container; give an absolute path other than '/', e.g. /run");
            return null;
        }

        var mount = new MountSpec(MountType.Tmpfs, "", target);
        foreach (var option in colon < 0 ? [] : text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = option.Split('=', 2) is [var k, var v] ? (k, v) : (option, "");
            switch (key)
            {
                case "size" when ServiceFlags.Memory("", value) is { IsValid: true } size:
                    mount = mount with { TmpfsSizeBytes = size.Value };
                    break;
                case "mode" when TryOctal(value) is { } mode:
                    mount = mount with { TmpfsMode = mode };
                    break;
                default:
                    reader.Error(at, path, $"'{option}' is not a tmpfs option here; use size= (e.g. size=64m) and mode= (octal, e.g. mode=1777)");
                    return null;
            }
        }

        return mount;
    }

    private static HealthCheck? HealthCheck(ComposeReader reader, ComposeNode node, string path)
    {
        if (reader.Mapping(node, path) is not { } mapping)
        {
            return null;
        }

        reader.Keys(mapping, path, ComposeSchema.HealthCheck);
        string Sub(string key) => ComposeReader.Child(path, key);
        var disabled = mapping["disable"] is { } disable && (reader.Bool(disable, Sub("disable")) ?? false);
        ImmutableArray<string> test = [];
        switch (mapping["test"])
        {
            case null:
                break;
            case ScalarNode { IsBooleanOrNumber: true } typed:
                // docker's schema wants a string or a list of strings here: `test: true` is a boolean, not the command true.
                reader.Error(typed, Sub("test"), NotACommand(typed));
                break;
            case ScalarNode scalar when !scalar.IsNull:
                test = ["CMD-SHELL", scalar.Value];
                break;
            case SequenceNode list:
                foreach (var (item, i) in list.Items.Select((item, i) => (item, i)).Where(p => p.item is ScalarNode { IsBooleanOrNumber: true }))
                {
                    reader.Error(item, ComposeReader.Item(Sub("test"), i), NotACommand((ScalarNode)item));
                }

                test = [.. reader.Strings(list, Sub("test")).Select(s => s.Text)];
                if (test.Length > 0 && test[0] is not ("CMD" or "CMD-SHELL" or "NONE"))
                {
                    reader.Error(list.Items[0], ComposeReader.Item(Sub("test"), 0), $"the first item says how to run the test: CMD, CMD-SHELL or NONE, not \"{test[0]}\"; e.g. [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]");
                }

                break;
            case var other:
                reader.Error(other, Sub("test"), $"expected a command string or a list, got {other.Describe()}");
                break;
        }

        if (disabled)
        {
            if (!test.IsEmpty)
            {
                reader.Error(mapping["disable"]!, Sub("disable"), "test and disable can't be set at the same time; remove one");
            }

            return new HealthCheck(["NONE"]);
        }

        TimeSpan Duration(string key) => mapping[key] is { } n ? reader.Parse(n, Sub(key), v => ServiceFlags.Duration("", v)) ?? default : default;
        if (mapping["start_interval"] is not null)
        {
            Duration("start_interval");
            reader.Warn($"Ignoring options ProtoSwarm does not support yet: {Sub("start_interval")}");
        }

        return new HealthCheck(
            test,
            Duration("interval"),
            Duration("timeout"),
            mapping["retries"] is { } retries ? reader.Integer(retries, Sub("retries")) ?? 0 : 0,
            Duration("start_period"));
    }

    private static string NotACommand(ScalarNode value) =>
        $"expected a command string or a list of strings, got {(value.Value is "true" or "false" or "True" or "False" or "TRUE" or "FALSE" ? "the boolean" : "the number")} {value.Value}; quote it to run it as a command: \"{value.Value}\"";

    private static (ServiceMode Mode, IEnumerable<KeyValuePair<string, string>> Labels) Deploy(ComposeReader reader, MappingNode? deploy, string path)
    {
        var kind = ServiceModeKind.Replicated;
        // An empty text (`mode: ${MODE}` with MODE unset) is replicated, as docker's convertDeployMode reads "".
        if (deploy?["mode"] is { } modeNode && modeNode is not ScalarNode { Plain: false, Value: "" })
        {
            kind = reader.ParseWord(modeNode, ComposeReader.Child(path, "deploy.mode"), v => ServiceFlags.Mode(v, "")) ?? kind;
        }

        long? replicas = deploy?["replicas"] is { } replicasNode ? reader.Integer(replicasNode, ComposeReader.Child(path, "deploy.replicas")) : null;
        if (replicas is not null && kind is ServiceModeKind.Global or ServiceModeKind.GlobalJob)
        {
            reader.Error(deploy!["replicas"]!, ComposeReader.Child(path, "deploy.replicas"), "replicas can only be used with replicated or replicated-job mode; a global service runs one task on every eligible node");
        }

        var mode = kind switch
        {
            ServiceModeKind.Global => ServiceMode.GlobalMode,
            ServiceModeKind.GlobalJob => ServiceMode.GlobalJobMode,
            ServiceModeKind.ReplicatedJob => ServiceMode.ReplicatedJobMode(1, replicas),
            _ => ServiceMode.ReplicatedMode(replicas ?? 1),
        };
        return (mode, ComposeLoader.Strings(reader, deploy?["labels"], ComposeReader.Child(path, "deploy.labels")));
    }

    private static ResourceRequirements Resources(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.Mapping(node, path) is not { } resources)
        {
            return ResourceRequirements.None;
        }

        reader.Keys(resources, path, ComposeSchema.Resources);
        ResourceAmounts Amounts(string key, string[] known)
        {
            var amountsPath = ComposeReader.Child(path, key);
            if (resources[key] is not { } amountsNode || reader.Mapping(amountsNode, amountsPath) is not { } amounts)
            {
                return ResourceAmounts.None;
            }

            reader.Keys(amounts, amountsPath, known);
            if (amounts["generic_resources"] is not null)
            {
                reader.Warn($"Ignoring options ProtoSwarm does not support yet: {amountsPath}.generic_resources");
            }

            return new ResourceAmounts(
                amounts["cpus"] is { } cpus ? reader.Parse(cpus, ComposeReader.Child(amountsPath, "cpus"), v => ServiceFlags.Cpu("", v)) ?? 0 : 0,
                amounts["memory"] is { } memory ? reader.Parse(memory, ComposeReader.Child(amountsPath, "memory"), v => ServiceFlags.Memory("", v)) ?? 0 : 0,
                amounts["pids"] is { } pids ? reader.Integer(pids, ComposeReader.Child(amountsPath, "pids")) ?? 0 : 0);
        }

        return new ResourceRequirements(Amounts("limits", ComposeSchema.Limits), Amounts("reservations", ComposeSchema.Reservations));
    }

    /// <summary>deploy.restart_policy; without it docker falls back to the service's restart: (no, always, on-failure[:N], unless-stopped).</summary>
    private static RestartPolicy RestartPolicyOf(ComposeReader reader, ComposeNode? node, ComposeNode? legacy, string path, bool job)
    {
        var policy = job ? RestartPolicy.JobDefault : RestartPolicy.Default;
        var policyPath = ComposeReader.Child(path, "deploy.restart_policy");
        if (node is null)
        {
            return legacy is ScalarNode { IsNull: false } restart ? Legacy(restart.Value) ?? policy : policy;
        }

        if (reader.Mapping(node, policyPath) is not { } mapping)
        {
            return policy;
        }

        reader.Keys(mapping, policyPath, ComposeSchema.RestartPolicy);
        string Sub(string key) => ComposeReader.Child(policyPath, key);
        return new RestartPolicy(
            mapping["condition"] is { } condition ? reader.ParseWord(condition, Sub("condition"), v => ServiceFlags.Restart(v, "")) ?? policy.Condition : policy.Condition,
            mapping["delay"] is { } delay ? reader.Parse(delay, Sub("delay"), v => ServiceFlags.Duration("", v)) ?? policy.Delay : policy.Delay,
            mapping["max_attempts"] is { } attempts ? reader.Integer(attempts, Sub("max_attempts")) ?? 0 : 0,
            mapping["window"] is { } window ? reader.Parse(window, Sub("window"), v => ServiceFlags.Duration("", v)) ?? default : default);

        RestartPolicy? Legacy(string text)
        {
            var parts = text.Split(':', 2);
            var attempts = parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
            return parts[0] switch
            {
                "always" or "unless-stopped" => policy with { Condition = RestartCondition.Any, MaxAttempts = attempts },
                "on-failure" => policy with { Condition = RestartCondition.OnFailure, MaxAttempts = attempts },
                _ => null,
            };
        }
    }

    private static Placement Placement(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.Mapping(node, path) is not { } mapping)
        {
            return Contracts.Placement.None;
        }

        reader.Keys(mapping, path, ComposeSchema.Placement);
        var constraints = new List<string>();
        if (mapping["constraints"] is { } constraintsNode && reader.List(constraintsNode, ComposeReader.Child(path, "constraints")) is { } list)
        {
            constraints.AddRange(reader.Strings(list, ComposeReader.Child(path, "constraints"))
                .Select(c => reader.ParseText(c.Node, c.Path, v => ServiceFlags.Constraint("", v))).OfType<string>());
        }

        var preferences = new List<PlacementPreference>();
        if (mapping["preferences"] is { } preferencesNode && reader.List(preferencesNode, ComposeReader.Child(path, "preferences")) is { } prefs)
        {
            for (var i = 0; i < prefs.Items.Length; i++)
            {
                var prefPath = ComposeReader.Item(ComposeReader.Child(path, "preferences"), i);
                if (reader.Mapping(prefs.Items[i], prefPath) is not { } pref)
                {
                    continue;
                }

                reader.Keys(pref, prefPath, ComposeSchema.Preference);
                if (pref["spread"] is not { } spread)
                {
                    if (pref.Entries.Length > 0)
                    {
                        continue; // the unknown key is the error
                    }

                    reader.Error(pref, prefPath, "a placement preference is spread: node.labels.<name>");
                }
                else if (reader.ParseText(spread, ComposeReader.Child(prefPath, "spread"), v => ServiceFlags.PlacementPref("", "spread=" + v)) is { } descriptor)
                {
                    preferences.Add(new PlacementPreference(descriptor));
                }
            }
        }

        return new Placement(
            [.. constraints],
            [.. preferences],
            mapping["max_replicas_per_node"] is { } max ? reader.Integer(max, ComposeReader.Child(path, "max_replicas_per_node")) ?? 0 : 0);
    }

    private static UpdateConfig UpdateConfigOf(ComposeReader reader, ComposeNode? node, string path, bool rollback)
    {
        var config = Contracts.UpdateConfig.Default;
        if (node is null || reader.Mapping(node, path) is not { } mapping)
        {
            return config;
        }

        reader.Keys(mapping, path, ComposeSchema.UpdateConfig);
        string Sub(string key) => ComposeReader.Child(path, key);
        return new UpdateConfig(
            mapping["parallelism"] is { } parallelism ? reader.Integer(parallelism, Sub("parallelism")) ?? config.Parallelism : config.Parallelism,
            mapping["delay"] is { } delay ? reader.Parse(delay, Sub("delay"), v => ServiceFlags.Duration("", v)) ?? config.Delay : config.Delay,
            mapping["failure_action"] is { } action ? reader.ParseWord(action, Sub("failure_action"), v => ServiceFlags.FailureActionOf("", v, rollback)) ?? config.FailureAction : config.FailureAction,
            mapping["monitor"] is { } monitor ? reader.Parse(monitor, Sub("monitor"), v => ServiceFlags.Duration("", v)) ?? config.Monitor : config.Monitor,
            mapping["max_failure_ratio"] is { } ratio ? Ratio(reader, ratio, Sub("max_failure_ratio")) ?? config.MaxFailureRatio : config.MaxFailureRatio,
            mapping["order"] is { } order ? reader.Parse(order, Sub("order"), v => ServiceFlags.Order("", v)) ?? config.Order : config.Order);
    }

    /// <summary>
    /// A service's secrets: or configs: entries, short (the name) or long (source, target, uid, gid,
    /// mode): the name on the swarm and the file in the container. docker's defaults: a secret at
    /// /run/secrets/KEY, a config at /KEY, owner 0:0, mode 0444; the managers fill in the ids.
    /// </summary>
    private static ImmutableArray<(string Name, FileTarget File)> FileReferences(ComposeReader reader, ComposeNode? node, string path, IReadOnlyDictionary<string, StackFileObject> declared, string kind)
    {
        if (node is null || reader.List(node, path) is not { } list)
        {
            return [];
        }

        var references = ImmutableArray.CreateBuilder<(string Name, FileTarget File)>();
        var targets = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemPath = ComposeReader.Item(path, i);
            var item = list.Items[i];
            string? source;
            ComposeNode sourceNode = item;
            string? target = null, uid = null, gid = null;
            int? mode = null;
            if (item is MappingNode mapping)
            {
                reader.Keys(mapping, itemPath, ComposeSchema.FileReference);
                string? Field(string key) => mapping[key] is { } n ? reader.String(n, ComposeReader.Child(itemPath, key)) : null;
                source = Field("source");
                sourceNode = mapping["source"] ?? mapping;
                if (source is null && mapping["source"] is null)
                {
                    reader.Error(mapping, itemPath, $"a {kind} reference needs source: (the {kind}'s name under the top-level {kind}s:)");
                }

                (target, uid, gid) = (Field("target"), Field("uid"), Field("gid"));
                mode = mapping["mode"] is { } modeNode ? FileMode(reader, modeNode, ComposeReader.Child(itemPath, "mode")) : null;
                foreach (var (key, value) in new[] { ("uid", uid), ("gid", gid) })
                {
                    if (value is not null && (value.Length == 0 || !value.All(char.IsAsciiDigit)))
                    {
                        reader.Error(mapping[key]!, ComposeReader.Child(itemPath, key), $"'{value}' is not a numeric {key}; give a number such as \"1000\"");
                    }
                }

                if (target is not null && TargetProblem(kind, target, source ?? kind) is { } problem)
                {
                    reader.Error(mapping["target"]!, ComposeReader.Child(itemPath, "target"), problem);
                }
            }
            else
            {
                source = reader.String(item, itemPath);
            }

            if (source is null)
            {
                continue;
            }

            if (!declared.TryGetValue(source, out var obj))
            {
                var close = ComposeReader.Closest(source, declared.Keys);
                reader.Error(sourceNode, itemPath, $"{kind} \"{source}\" is not declared under the top-level {kind}s:; "
                    + (close is null ? $"declare it there with file: or external: true" : $"did you mean \"{close}\"?"));
                continue;
            }

            // docker's convertFileObject: the target defaults to the key (a config's "cfg1" is /cfg1 in the container).
            var file = target ?? source;
            if (!targets.Add(FileTargetRule.ContainerPath(kind, file)))
            {
                reader.Error(item, itemPath, $"duplicate {kind} target for {file} not allowed; give each {kind} its own target:");
                continue;
            }

            references.Add((obj.Name, new FileTarget(file, uid ?? "0", gid ?? "0", mode ?? DefaultFileMode)));
        }

        // docker's convert sorts them by name (stably), so that an update of the same file restarts nothing.
        return [.. references.OrderBy(r => r.Name, StringComparer.Ordinal)];
    }

    /// <summary>Where a secret or config may appear: a file path, a relative one under /run/secrets (a secret) or / (a config), as docker's daemon places them.</summary>
    private static string? TargetProblem(string kind, string target, string source) =>
        FileTargetRule.Problem(kind, target) is { } problem ? $"{problem}; write e.g. target: {(kind == "secret" ? source : "/etc/" + source)}" : null;

    /// <summary>A file mode, read as docker's loader reads it (<see cref="ComposeReader.FileMode"/>).</summary>
    private static int? FileMode(ComposeReader reader, ComposeNode node, string path) => reader.FileMode(node, path);

    /// <summary>A max_failure_ratio: a number (<see cref="ComposeReader.Number"/>) from 0 to 1, as the managers take it.</summary>
    private static double? Ratio(ComposeReader reader, ComposeNode node, string path)
    {
        if (reader.Number(node, path) is not { } ratio)
        {
            return null;
        }

        if (ratio is < 0 or > 1)
        {
            reader.Error(node, path, $"'{((ScalarNode)node).Value}' is not a ratio; give a number from 0 to 1, e.g. 0.2");
            return null;
        }

        return ratio;
    }

    private static int? TryOctal(string text)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        return text.Length <= 4 && text.All(c => c is >= '0' and <= '7') ? System.Convert.ToInt32(text, 8) : null;
    }
}
