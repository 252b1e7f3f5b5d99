using System.Collections.Immutable;
using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// What loading a stack's compose files gave: the stack (null when anything is wrong), docker-style
/// warnings, and every error found; with the merged, interpolated tree and the files' version, which
/// `stack config` prints.
/// </summary>
internal sealed record ComposeResult(StackModel? Stack, ImmutableArray<string> Warnings, ImmutableArray<ComposeError> Errors)
{
    public bool IsValid => Stack is not null && Errors.IsEmpty;

    public MappingNode? Config { get; init; }

    /// <summary>The files' version as docker prints it: "3" or none is docker's latest, "3.13".</summary>
    public string? Version { get; init; }

    /// <summary>The first file's directory, against which relative paths were resolved.</summary>
    public string BaseDirectory { get; init; } = "";

    /// <summary>The variables substitution used: the given environment.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Reads the compose files `docker stack deploy -c a.yml -c b.yml` reads: version 3.x (or none),
/// variables substituted from the given environment (no .env file: docker's stack reads none), the
/// files merged in order (<see cref="ComposeMerge"/>), then every key checked and turned into a
/// <see cref="StackModel"/>. Pure but for reading the compose files and the
/// services' env_files; relative paths are taken from the first file's directory, as docker does.
/// </summary>
internal static class ComposeLoader
{
    private static readonly string[] Interpolated = ["services", "networks", "volumes", "secrets", "configs"];

    /// <summary>The path that names the standard input, as docker's --compose-file takes it.</summary>
    public const string StandardInput = "-";

    /// <param name="interpolate">false for `stack config --skip-interpolation`: values are read as written, $ and all.</param>
    /// <param name="readStandardInput">What the file "-" holds (read once); none, and "-" is a file of that name.</param>
    public static ComposeResult Load(IReadOnlyList<string> paths, string stackName, IReadOnlyDictionary<string, string> environment, bool interpolate = true,
        Func<string>? readStandardInput = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(paths.Count);
        ArgumentException.ThrowIfNullOrWhiteSpace(stackName);
        var errors = new List<ComposeError>();
        var warnings = new List<string>();
        // docker (getConfigDetails): a file read from stdin has no directory, so relative paths are the working directory's.
        var baseDirectory = readStandardInput is not null && paths[0] == StandardInput
            ? Directory.GetCurrentDirectory()
            : Path.GetDirectoryName(Path.GetFullPath(paths[0]))!;
        var variables = Variables(environment);

        var roots = new List<MappingNode>();
        Version? version = null;
        string? versionText = null;
        var unset = new SortedSet<string>(StringComparer.Ordinal);
        var unreadable = false;
        var stdinRead = false;
        foreach (var path in paths)
        {
            var before = errors.Count;
            MappingNode? root;
            if (readStandardInput is not null && path == StandardInput)
            {
                if (stdinRead)
                {
                    // docker reads an empty second file and says only "top-level object must be a mapping".
                    errors.Add(new ComposeError(new SourceMark(path, 1, 1), "", "the standard input can be read only once; give -c - once, and the other files by name"));
                    unreadable = true;
                    continue;
                }

                stdinRead = true;
                root = ReadFile(path, errors, readStandardInput);
            }
            else if (Directory.Exists(path))
            {
                // docker: "read DIR: is a directory"; .NET's own words are "Access to the path is denied".
                errors.Add(new ComposeError(new SourceMark(path, 0, 0), "",
                    $"is a directory, not a compose file; give the file itself, e.g. -c {Path.Combine(path, "docker-compose.yml")}"));
                unreadable = true;
                continue;
            }
            else
            {
                root = ReadFile(path, errors, () => File.ReadAllText(path));
            }

            var fileVersion = root is null ? null : ReadVersion(root, errors);
            if (root is null || errors.Count > before)
            {
                // A file that cannot be parsed, or is of another version, says nothing worth checking further.
                unreadable = true;
                continue;
            }

            if (fileVersion is { } v)
            {
                if (version is not null && v.Text != versionText)
                {
                    errors.Add(new ComposeError(root["version"]!.Mark, "version", $"the files name different versions, {versionText} and {v.Text}; give every file the same version"));
                }

                (version, versionText) = (v.Version, v.Text);
            }

            roots.Add(interpolate ? Interpolate(root, variables, unset, errors) : root);
        }

        warnings.AddRange(unset.Select(name => $"The \"{name}\" variable is not set. Defaulting to a blank string."));
        if (unreadable)
        {
            return new ComposeResult(null, [.. warnings], [.. errors]);
        }

        var merged = roots.Skip(1).Aggregate(roots[0], ComposeMerge.Files);
        var reader = new ComposeReader(version, errors.Select(e => e.Mark).ToHashSet()) { Uninterpolated = !interpolate };
        var stack = Read(reader, merged, stackName, baseDirectory, variables);
        errors.AddRange(reader.Errors);
        warnings.AddRange(reader.Warnings);
        var ordered = errors.OrderBy(e => paths.ToList().IndexOf(e.Mark.File) is var i and >= 0 ? i : int.MaxValue)
            .ThenBy(e => e.Mark.File, StringComparer.Ordinal).ThenBy(e => e.Mark.Line).ThenBy(e => e.Mark.Column);
        return new ComposeResult(errors.Count == 0 ? stack : null, [.. warnings], [.. ordered])
        {
            Config = merged,
            Version = versionText is null or "3" ? Latest.ToString(2) : versionText,
            BaseDirectory = baseDirectory,
            Variables = variables,
        };
    }

    /// <summary>
    /// The environment for substitution, and nothing else: docker's `stack deploy` and `stack config`
    /// read no .env file (only `docker compose` does), so a .env beside the file is left alone and a
    /// file deploys with the values docker would give it.
    /// </summary>
    private static Dictionary<string, string> Variables(IReadOnlyDictionary<string, string> environment) =>
        new(environment, StringComparer.Ordinal);

    private static MappingNode? ReadFile(string path, List<ComposeError> errors, Func<string> read)
    {
        string text;
        try
        {
            text = read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ComposeError(new SourceMark(path, 1, 1), "", $"cannot read the file: {e.Message}"));
            return null;
        }

        var (root, error) = ComposeYaml.Parse(path, text);
        if (error is not null)
        {
            errors.Add(error);
            return null;
        }

        if (root is not MappingNode mapping)
        {
            errors.Add(new ComposeError(root!.Mark, "", $"expected a mapping with version: and services: at the top of the file, got {root.Describe()}"));
            return null;
        }

        return mapping;
    }

    /// <summary>The newest compose file version docker's stack loader has a schema for; "3" alone means it.</summary>
    public static readonly Version Latest = new(3, 13);

    /// <summary>
    /// "3.0" to "3.13" and no version at all are read, as docker's stack loader reads them ("3" is the
    /// latest); versions 1 and 2, later ones, and a version written as a number rather than a string
    /// are refused with what to change.
    /// </summary>
    private static (Version Version, string Text)? ReadVersion(MappingNode root, List<ComposeError> errors)
    {
        if (root["version"] is not { } node)
        {
            return null;
        }

        var text = node is ScalarNode { IsNull: false } scalar ? scalar.Value : null;
        if (text is null || !System.Version.TryParse(text.Contains('.', StringComparison.Ordinal) ? text : text + ".0", out var version))
        {
            errors.Add(new ComposeError(node.Mark, "version", $"expected a version such as \"3.8\", got {node.Describe()}"));
            return null;
        }

        if (node is ScalarNode { Plain: true })
        {
            errors.Add(new ComposeError(node.Mark, "version", $"version must be a string; quote it: version: \"{text}\""));
            return null;
        }

        if (version.Major != 3 || version > Latest)
        {
            errors.Add(new ComposeError(node.Mark, "version", version.Major < 3
                ? $"version {text} is not supported by stack deploy; use version \"3.8\" (a version 2 file's resource settings, restart and scale move under deploy:)"
                : $"version {text} is not a compose file version stack deploy knows; use a version from \"3.0\" to \"{Latest.ToString(2)}\", or leave version out"));
            return null;
        }

        return (text == "3" ? Latest : version, text);
    }

    /// <summary>Substitutes variables in every value (never in keys) of the sections docker interpolates.</summary>
    private static MappingNode Interpolate(MappingNode root, Dictionary<string, string> variables, ISet<string> unset, List<ComposeError> errors)
    {
        return root with { Entries = [.. root.Entries.Select(e => Interpolated.Contains(e.Key.Value) ? e with { Value = Node(e.Value, e.Key.Value) } : e)] };

        ComposeNode Node(ComposeNode node, string path)
        {
            switch (node)
            {
                case ScalarNode scalar:
                    var value = Interpolation.Apply(scalar.Value, name => variables.GetValueOrDefault(name), unset);
                    if (!value.IsValid)
                    {
                        errors.Add(new ComposeError(scalar.Mark, path, value.Error!));
                        return scalar;
                    }

                    // A value that came from a variable is text, never null: "${EMPTY}" is an empty string.
                    return value.Value == scalar.Value ? scalar : scalar with { Value = value.Value, Plain = scalar.Plain && value.Value.Length > 0, Interpolated = true };
                case SequenceNode list:
                    return list with { Items = [.. list.Items.Select((item, i) => Node(item, ComposeReader.Item(path, i)))] };
                case MappingNode mapping:
                    return mapping with { Entries = [.. mapping.Entries.Select(e => e with { Value = Node(e.Value, ComposeReader.Child(path, e.Key.Value)) })] };
                default:
                    return node;
            }
        }
    }

    private static StackModel Read(ComposeReader reader, MappingNode root, string stack, string baseDirectory, IReadOnlyDictionary<string, string> variables)
    {
        reader.Keys(root, "", ComposeSchema.TopLevel, ComposeSchema.TopLevelExtensionsSince);
        var networks = Section(reader, root, "networks", (key, node, path) => Network(reader, stack, key, node, path));
        var volumes = Section(reader, root, "volumes", (key, node, path) => Volume(reader, stack, key, node, path));
        var secrets = Section(reader, root, "secrets", (key, node, path) => FileObject(reader, stack, key, node, path, baseDirectory));
        var configs = Section(reader, root, "configs", (key, node, path) => FileObject(reader, stack, key, node, path, baseDirectory));
        var context = new ComposeServices.Context(reader, stack, baseDirectory, variables, networks, volumes, secrets, configs);

        // No services (the key absent or an empty mapping) is a valid file, as for docker: its deploy creates the
        // file's secrets and configs and nothing else, since networks are made only for the services using them.
        var services = new List<StackService>();
        if (root["services"] is ScalarNode { IsNull: true } empty)
        {
            // `services:` with nothing after it: docker's schema refuses it too ("services must be a mapping").
            reader.Error(empty, "services", "expected a mapping of services, got nothing; write `services: {}` for none, or list the services under it");
        }
        else if (root["services"] is { } servicesNode && reader.Mapping(servicesNode, "services") is { } serviceMap)
        {
            foreach (var entry in serviceMap.Entries.OrderBy(e => e.Key.Value, StringComparer.Ordinal))
            {
                var before = reader.Errors.Count;
                // A service named x-api is a service: docker's x- extensions are keys of the top level and of a definition, never names in a section.
                if (ComposeServices.Read(context, entry.Key, entry.Value) is { } service)
                {
                    services.Add(service);
                    // A service with errors of its own holds stand-in values the managers' check would only repeat;
                    // one whose values still hold ${VAR}s (--skip-interpolation) is not the spec a deploy would send.
                    if (reader.Errors.Count == before && !reader.Uninterpolated)
                    {
                        ComposeServices.CheckSpec(reader, entry.Key, entry.Value, service.Spec);
                    }
                }
            }
        }

        context.WarnIgnored();
        var used = services.SelectMany(s => s.Spec.TaskTemplate.Networks.Select(n => n.Target)).ToHashSet(StringComparer.Ordinal);
        var stackNetworks = networks.Values.Where(n => used.Contains(n.Name)).ToList();
        if (used.Contains($"{stack}_default") && !networks.ContainsKey("default"))
        {
            stackNetworks.Add(DefaultNetwork(stack));
        }

        return new StackModel(
            stack,
            [.. services],
            [.. stackNetworks.OrderBy(n => n.Key, StringComparer.Ordinal)],
            [.. volumes.Values.OrderBy(v => v.Key, StringComparer.Ordinal)],
            [.. secrets.Values.OrderBy(s => s.Key, StringComparer.Ordinal)],
            [.. configs.Values.OrderBy(c => c.Key, StringComparer.Ordinal)]);
    }

    public static StackNetwork DefaultNetwork(string stack) =>
        new("default", $"{stack}_default", false, new NetworkSpec($"{stack}_default", Labels: StackLabels(stack, [])));

    /// <summary>Labels with docker's com.docker.stack.namespace added.</summary>
    public static ImmutableSortedDictionary<string, string> StackLabels(string stack, IEnumerable<KeyValuePair<string, string>> labels) =>
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels).SetItem(StackModel.NamespaceLabel, stack);

    private static Dictionary<string, T> Section<T>(ComposeReader reader, MappingNode root, string section, Func<string, MappingNode, string, T?> read)
        where T : class
    {
        var items = new Dictionary<string, T>(StringComparer.Ordinal);
        if (root[section] is not { } node || reader.Mapping(node, section) is not { } mapping)
        {
            return items;
        }

        foreach (var entry in mapping.Entries)
        {
            var path = ComposeReader.Child(section, entry.Key.Value);
            if (reader.Mapping(entry.Value, path) is { } body && read(entry.Key.Value, body, path) is { } item)
            {
                items[entry.Key.Value] = item;
            }
        }

        return items;
    }

    /// <summary>external: true, or the older external: {name: x}; with the name it has on the swarm.</summary>
    private static (bool External, string? Name) External(ComposeReader reader, MappingNode body, string path, string[] createKeys)
    {
        string? name = body["name"] is { } nameNode ? reader.String(nameNode, ComposeReader.Child(path, "name")) : null;
        if (body["external"] is not { } external)
        {
            return (false, name);
        }

        var externalPath = ComposeReader.Child(path, "external");
        var isExternal = false;
        if (external is MappingNode old)
        {
            reader.Keys(old, externalPath, ComposeSchema.External);
            isExternal = true;
            if (old["name"] is { } oldName && reader.String(oldName, ComposeReader.Child(externalPath, "name")) is { } text)
            {
                if (name is not null)
                {
                    reader.Error(oldName, ComposeReader.Child(externalPath, "name"), "external.name and name conflict; only use name");
                }

                name = text;
            }
        }
        else
        {
            isExternal = reader.Bool(external, externalPath) ?? false;
        }

        if (isExternal)
        {
            foreach (var key in createKeys.Where(k => body[k] is not null))
            {
                reader.Error(body.Entry(key)!.Key, ComposeReader.Child(path, key), $"conflicting parameters \"external\" and \"{key}\": the stack does not create what is external, so leave {key} out");
            }
        }

        return (isExternal, name);
    }

    private static StackNetwork? Network(ComposeReader reader, string stack, string key, MappingNode body, string path)
    {
        reader.Keys(body, path, ComposeSchema.Network, ComposeSchema.DefinitionExtensionsSince);
        var (external, name) = External(reader, body, path, ["driver", "driver_opts", "attachable", "internal", "ipam", "labels"]);
        if (external)
        {
            return new StackNetwork(key, name ?? key, true, null);
        }

        if (body["driver"] is { } driver && reader.String(driver, ComposeReader.Child(path, "driver")) is { } driverName && driverName != NetworkSpec.OverlayDriver)
        {
            reader.Error(driver, ComposeReader.Child(path, "driver"), $"driver \"{driverName}\" is not available; a stack's networks are overlay networks, so write driver: overlay or leave driver out");
        }

        if (body["enable_ipv6"] is not null)
        {
            reader.Warn($"Ignoring options ProtoSwarm does not support yet: {path}.enable_ipv6");
        }

        var optionsPath = ComposeReader.Child(path, "driver_opts");
        var options = Strings(reader, body["driver_opts"], optionsPath).ToList();
        foreach (var option in options)
        {
            if (NetworkSpec.OptionProblem(option.Key) is { } problem)
            {
                reader.Error(body["driver_opts"]!, ComposeReader.Child(optionsPath, option.Key), problem);
            }
        }

        var subnet = body["ipam"] is { } ipam ? Subnet(reader, ipam, ComposeReader.Child(path, "ipam")) : null;
        var full = name ?? $"{stack}_{key}";
        return new StackNetwork(key, full, false, new NetworkSpec(
            full,
            Subnet: subnet ?? "",
            Attachable: body["attachable"] is { } attachable && (reader.Bool(attachable, ComposeReader.Child(path, "attachable")) ?? false),
            Internal: body["internal"] is { } isInternal && (reader.Bool(isInternal, ComposeReader.Child(path, "internal")) ?? false),
            Labels: StackLabels(stack, Strings(reader, body["labels"], ComposeReader.Child(path, "labels"))),
            Options: ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, options)));
    }

    private static string? Subnet(ComposeReader reader, ComposeNode node, string path)
    {
        if (reader.Mapping(node, path) is not { } ipam)
        {
            return null;
        }

        reader.Keys(ipam, path, ComposeSchema.Ipam);
        if (ipam["driver"] is { } driver && reader.String(driver, ComposeReader.Child(path, "driver")) is { } name && name != "default")
        {
            reader.Error(driver, ComposeReader.Child(path, "driver"), $"IPAM driver \"{name}\" is not available; leave driver out for the default");
        }

        if (ipam["config"] is not { } configNode || reader.List(configNode, ComposeReader.Child(path, "config")) is not { } configs)
        {
            return null;
        }

        if (configs.Items.Length > 1)
        {
            reader.Error(configs.Items[1], ComposeReader.Item(ComposeReader.Child(path, "config"), 1), "a network has one subnet here; give one config entry");
        }

        var configPath = ComposeReader.Item(ComposeReader.Child(path, "config"), 0);
        if (configs.Items.IsEmpty || reader.Mapping(configs.Items[0], configPath) is not { } config)
        {
            return null;
        }

        reader.Keys(config, configPath, ComposeSchema.IpamConfig);
        if (config["subnet"] is not { } subnetNode || reader.String(subnetNode, ComposeReader.Child(configPath, "subnet")) is not { } subnet)
        {
            return null;
        }

        if (!IPNetwork.TryParse(subnet, out var network) || !subnet.Contains('/', StringComparison.Ordinal))
        {
            reader.Error(subnetNode, ComposeReader.Child(configPath, "subnet"), $"\"{subnet}\" is not a subnet; write it in CIDR form, e.g. 10.20.0.0/24");
            return null;
        }

        return network.ToString();
    }

    private static StackVolume? Volume(ComposeReader reader, string stack, string key, MappingNode body, string path)
    {
        reader.Keys(body, path, ComposeSchema.Volume, ComposeSchema.DefinitionExtensionsSince);
        var (external, name) = External(reader, body, path, ["driver", "driver_opts", "labels"]);
        var driver = body["driver"] is { } driverNode ? reader.String(driverNode, ComposeReader.Child(path, "driver")) : null;
        if (driver is not (null or "local"))
        {
            reader.Error(body["driver"]!, ComposeReader.Child(path, "driver"), $"volume driver \"{driver}\" is not available; nodes have only the local driver, so leave driver out");
        }

        // The local driver's type, device and o: each node that runs a task of a service mounting the volume creates it with them.
        var options = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, Strings(reader, body["driver_opts"], ComposeReader.Child(path, "driver_opts")));
        var optionsProblem = external ? null : LocalVolumeDriver.Problem(options);
        if (optionsProblem is not null)
        {
            reader.Error(body["driver_opts"]!, ComposeReader.Child(path, "driver_opts"), optionsProblem);
        }

        var full = name ?? (external ? key : $"{stack}_{key}");
        if (VolumeNames.Problem(full) is { } problem)
        {
            reader.Error(body.Entry("name")?.Value ?? body, path, problem);
        }

        return new StackVolume(
            key,
            full,
            external,
            // A driver nodes lack was refused above, once: the mounts do not carry it to be refused again.
            driver is LocalVolumeDriver.Name ? driver : string.Empty,
            external ? ImmutableSortedDictionary<string, string>.Empty : StackLabels(stack, Strings(reader, body["labels"], ComposeReader.Child(path, "labels"))),
            external || optionsProblem is not null ? ImmutableSortedDictionary<string, string>.Empty : options);
    }

    private static StackFileObject? FileObject(ComposeReader reader, string stack, string key, MappingNode body, string path, string baseDirectory)
    {
        reader.Keys(body, path, path.StartsWith("secrets.", StringComparison.Ordinal) ? ComposeSchema.Secret : ComposeSchema.FileObject, ComposeSchema.DefinitionExtensionsSince);
        var (external, name) = External(reader, body, path, ["file", "labels", "driver", "driver_opts"]);
        var pluginDriver = !external && body["driver"] is { } driver && reader.String(driver, ComposeReader.Child(path, "driver")) is { } driverName;
        if (pluginDriver)
        {
            reader.Error(body["driver"]!, ComposeReader.Child(path, "driver"), $"secret driver \"{((ScalarNode)body["driver"]!).Value}\" is not available; give the secret's content with file:, or write external: true for one the swarm has already");
        }

        // docker's template_driver: golang has each task's node expand {{ .Service.Name }}, {{ env "X" }}... in the data.
        string? templating = null;
        if (!external && body["template_driver"] is { } templateNode && reader.String(templateNode, ComposeReader.Child(path, "template_driver")) is { } driverValue)
        {
            templating = driverValue.Trim().Length == 0 ? null : driverValue.Trim();
            if (TemplateDrivers.Problem(path.StartsWith("secrets.", StringComparison.Ordinal) ? "secret" : "config", templating) is { } problem)
            {
                reader.Error(templateNode, ComposeReader.Child(path, "template_driver"), problem);
            }
        }

        string? file = null;
        if (!external && !pluginDriver)
        {
            if (body["file"] is not { } fileNode)
            {
                // Still returned, so that the services using it are not told it is undeclared.
                reader.Error(body, path, $"give the content with file: ./{key}.txt, or write external: true for one the swarm has already");
            }
            else if (reader.String(fileNode, ComposeReader.Child(path, "file")) is { } relative)
            {
                file = Path.GetFullPath(relative, baseDirectory);
                if (Directory.Exists(file))
                {
                    reader.Error(fileNode, ComposeReader.Child(path, "file"), $"{relative} is a directory ({file}); name the file whose content becomes the {(path.StartsWith("secrets.", StringComparison.Ordinal) ? "secret" : "config")}");
                }
                else if (!File.Exists(file))
                {
                    reader.Error(fileNode, ComposeReader.Child(path, "file"), $"{relative} does not exist (looked for {file})");
                }
                else if (new FileInfo(file).Length is 0 or > SecretSpec.MaxDataBytes)
                {
                    reader.Error(fileNode, ComposeReader.Child(path, "file"), $"{relative} holds {new FileInfo(file).Length} bytes; a secret's or config's data must be larger than 0 and less than 500 KiB");
                }
            }
        }

        return new StackFileObject(
            key,
            name ?? (external ? key : $"{stack}_{key}"),
            file,
            external,
            external ? ImmutableSortedDictionary<string, string>.Empty : StackLabels(stack, Strings(reader, body["labels"], ComposeReader.Child(path, "labels"))),
            templating);
    }

    /// <summary>A list-or-dict of strings (labels, driver_opts); a key alone has an empty value, as docker's labels do.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Strings(ComposeReader reader, ComposeNode? node, string path)
    {
        if (node is null || reader.ListOrDict(node, path) is not { } entries)
        {
            return [];
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value, at, entryPath) in entries)
        {
            if (key.Trim().Length == 0 || key.Any(char.IsWhiteSpace))
            {
                reader.Error(at, entryPath, $"'{key}' is not a key; write key=value with no space in the key");
                continue;
            }

            result[key] = value ?? "";
        }

        return result;
    }
}
