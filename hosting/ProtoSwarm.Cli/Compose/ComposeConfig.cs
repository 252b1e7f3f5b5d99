using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// `stack config`: the merged, interpolated compose tree written back as YAML in the shapes docker's
/// `stack config` prints, so the two can be compared: services sorted with their keys in docker's
/// order, short forms written long (ports, volumes, secrets, configs, a healthcheck or command
/// string as a list), "list or dict" keys as mappings, env_file folded into environment, durations
/// as Go writes them, memory in bytes, relative paths made absolute. Keys it does not reshape are
/// written as the file had them. Written with YamlDotNet's event emitter, which NativeAOT keeps.
/// </summary>
internal static class ComposeConfig
{
    private static readonly string[] TopOrder = ["version", "services", "networks", "volumes", "secrets", "configs"];
    private static readonly string[] DeployOrder =
        ["mode", "replicas", "labels", "update_config", "rollback_config", "resources", "restart_policy", "placement", "endpoint_mode"];

    private static readonly string[] HealthOrder = ["test", "timeout", "interval", "retries", "start_period", "start_interval", "disable"];
    private static readonly string[] UpdateOrder = ["parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"];
    private static readonly string[] RestartOrder = ["condition", "delay", "max_attempts", "window"];
    private static readonly string[] PortOrder = ["mode", "target", "published", "protocol"];
    private static readonly string[] VolumeOrder = ["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs"];
    private static readonly string[] ReferenceOrder = ["source", "target", "uid", "gid", "mode"];
    private static readonly string[] NetworkOrder = ["name", "driver", "driver_opts", "ipam", "external", "internal", "attachable", "labels"];
    private static readonly string[] ObjectOrder = ["name", "driver", "driver_opts", "file", "external", "labels", "template_driver"];

    /// <summary>The YAML for a tree <see cref="ComposeLoader"/> loaded without errors.</summary>
    public static string Render(MappingNode root, string? version, string baseDirectory, IReadOnlyDictionary<string, string> variables)
    {
        root = (MappingNode)Typed(root, []);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, indentSequences: true));
        var yaml = new Writer(emitter);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        yaml.Begin();
        if (version is not null)
        {
            yaml.Key("version");
            yaml.String(version, quote: true);
        }

        // Always there, as in docker's output (`services: {}` for a file without any).
        yaml.Key("services");
        yaml.Begin();
        if (root["services"] is MappingNode services)
        {
            foreach (var entry in services.Entries.OrderBy(e => e.Key.Value, StringComparer.Ordinal))
            {
                yaml.Key(entry.Key.Value);
                if (entry.Value is MappingNode service)
                {
                    Service(yaml, service, baseDirectory, variables);
                }
                else
                {
                    yaml.Node(entry.Value, "");
                }
            }
        }

        yaml.End();

        foreach (var section in new[] { "networks", "volumes", "secrets", "configs" })
        {
            if (root[section] is MappingNode { Entries.IsEmpty: false } objects)
            {
                yaml.Key(section);
                yaml.Begin();
                foreach (var entry in objects.Entries.OrderBy(e => e.Key.Value, StringComparer.Ordinal))
                {
                    yaml.Key(entry.Key.Value);
                    TopObject(yaml, entry.Key.Value, entry.Value, section, baseDirectory);
                }

                yaml.End();
            }
        }

        foreach (var entry in root.Entries.Where(e => !TopOrder.Contains(e.Key.Value)).OrderBy(e => e.Key.Value, StringComparer.Ordinal))
        {
            yaml.Key(entry.Key.Value);
            yaml.Node(entry.Value, entry.Key.Value);
        }

        yaml.End();
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static void Service(Writer yaml, MappingNode service, string baseDirectory, IReadOnlyDictionary<string, string> variables)
    {
        yaml.Begin();
        // docker leaves out what is empty (a bare deploy:, ports: []), as Go's omitempty does.
        foreach (var entry in service.Entries.Where(e => e.Value is not (ScalarNode { IsNull: true } or SequenceNode { Items.IsEmpty: true }))
            .OrderBy(e => e.Key.Value, StringComparer.Ordinal))
        {
            var key = entry.Key.Value;
            var value = entry.Value;
            if (key == "environment" || (key == "env_file" && service["environment"] is null))
            {
                if (key == "env_file")
                {
                    // env_file sorts before nothing it folds into: environment is written where it would stand.
                    yaml.Key("environment");
                    Environment(yaml, service, baseDirectory, variables);
                    yaml.Key(key);
                    yaml.Node(AsList(value), key);
                    continue;
                }

                yaml.Key(key);
                Environment(yaml, service, baseDirectory, variables);
                continue;
            }

            yaml.Key(key);
            switch (key)
            {
                case "build" when value is ScalarNode context:
                    yaml.Begin();
                    yaml.Key("context");
                    yaml.String(context.Value);
                    yaml.End();
                    break;
                case "command" or "entrypoint" when value is ScalarNode { IsNull: false } text:
                    yaml.Strings(ServiceFlags.Words("", text.Value) is { IsValid: true } words ? words.Value : [text.Value]);
                    break;
                case "labels" or "sysctls":
                    Dict(yaml, value, key);
                    break;
                case "env_file" or "dns" or "dns_search" or "tmpfs":
                    yaml.Node(AsList(value), key);
                    break;
                case "expose" when value is SequenceNode exposed:
                    yaml.Strings(exposed.Items.OfType<ScalarNode>().Select(p => p.Value));
                    break;
                case "extra_hosts" when value is MappingNode hosts:
                    yaml.Strings([.. hosts.Entries.Select(e => $"{e.Key.Value}:{(e.Value as ScalarNode)?.Value}")]);
                    break;
                case "logging" when value is MappingNode logging:
                    // docker's: driver then options, the options a sorted map of strings.
                    yaml.Begin();
                    foreach (var part in logging.Entries.Where(e => e.Value is not ScalarNode { IsNull: true }).OrderBy(e => e.Key.Value, StringComparer.Ordinal))
                    {
                        yaml.Key(part.Key.Value);
                        if (part.Key.Value == "options")
                        {
                            Dict(yaml, part.Value, "options");
                        }
                        else
                        {
                            yaml.Node(part.Value, part.Key.Value);
                        }
                    }

                    yaml.End();
                    break;
                case "healthcheck" when value is MappingNode health:
                    HealthCheck(yaml, health);
                    break;
                case "stop_grace_period":
                    yaml.String(Duration(value));
                    break;
                case "ports" when value is SequenceNode ports:
                    Ports(yaml, ports);
                    break;
                case "volumes" when value is SequenceNode volumes:
                    Volumes(yaml, volumes, baseDirectory, variables.GetValueOrDefault("HOME"));
                    break;
                case "secrets" or "configs" when value is SequenceNode references:
                    References(yaml, references);
                    break;
                case "networks" when value is SequenceNode names:
                    yaml.Begin();
                    foreach (var name in names.Items.OfType<ScalarNode>().OrderBy(n => n.Value, StringComparer.Ordinal))
                    {
                        yaml.Key(name.Value);
                        yaml.Null();
                    }

                    yaml.End();
                    break;
                case "networks" when value is MappingNode networks:
                    yaml.Node(networks with { Entries = [.. networks.Entries.OrderBy(e => e.Key.Value, StringComparer.Ordinal)] }, key);
                    break;
                case "deploy" when value is MappingNode deploy:
                    Deploy(yaml, deploy);
                    break;
                default:
                    yaml.Node(value, key);
                    break;
            }
        }

        yaml.End();
    }

    /// <summary>env_file entries, then environment: over them, sorted; a KEY alone takes the environment's value, else null, as docker prints it.</summary>
    private static void Environment(Writer yaml, MappingNode service, string baseDirectory, IReadOnlyDictionary<string, string> variables)
    {
        var values = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (var file in AsList(service["env_file"] ?? new SequenceNode([], service.Mark)).Items.OfType<ScalarNode>())
        {
            var full = Path.GetFullPath(file.Value, baseDirectory);
            if (File.Exists(full))
            {
                foreach (var (key, value) in EnvFile.Parse(File.ReadAllText(full)).Variables)
                {
                    values[key] = value ?? variables.GetValueOrDefault(key);
                }
            }
        }

        foreach (var (key, value) in Pairs(service["environment"]))
        {
            values[key] = value ?? variables.GetValueOrDefault(key);
        }

        yaml.Begin();
        foreach (var (key, value) in values)
        {
            yaml.Key(key);
            if (value is null)
            {
                yaml.Null();
            }
            else
            {
                yaml.String(value);
            }
        }

        yaml.End();
    }

    private static void Dict(Writer yaml, ComposeNode node, string path)
    {
        if (node is not (MappingNode or SequenceNode))
        {
            yaml.Node(node, path);
            return;
        }

        yaml.Begin();
        foreach (var (key, value) in Pairs(node).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            yaml.Key(key);
            yaml.String(value ?? "");
        }

        yaml.End();
    }

    /// <summary>A "list or dict" as key-value pairs, later ones over earlier, read as the loader reads it (the file
    /// loaded without errors, so this reader has none to report).</summary>
    private static Dictionary<string, string?> Pairs(ComposeNode? node)
    {
        var pairs = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value, _, _) in (node is null ? null : new ComposeReader(null).ListOrDict(node, "")) ?? [])
        {
            pairs[key] = value;
        }

        return pairs;
    }

    private static SequenceNode AsList(ComposeNode node) => node as SequenceNode ?? new SequenceNode([node], node.Mark);

    private static void HealthCheck(Writer yaml, MappingNode health)
    {
        yaml.Begin();
        foreach (var entry in Ordered(health, HealthOrder))
        {
            yaml.Key(entry.Key.Value);
            switch (entry.Key.Value)
            {
                case "test" when entry.Value is ScalarNode { IsNull: false } shell:
                    yaml.Strings(["CMD-SHELL", shell.Value]);
                    break;
                case "timeout" or "interval" or "start_period" or "start_interval":
                    yaml.String(Duration(entry.Value));
                    break;
                default:
                    yaml.Node(entry.Value, entry.Key.Value);
                    break;
            }
        }

        yaml.End();
    }

    private static void Ports(Writer yaml, SequenceNode ports)
    {
        yaml.BeginList();
        foreach (var item in ports.Items)
        {
            if (item is ScalarNode shortPort && ServiceFlags.PortMappings("", shortPort.Value, "") is { IsValid: true } mapped)
            {
                foreach (var port in mapped.Value.Ports)
                {
                    yaml.Begin();
                    yaml.Key("mode");
                    yaml.String(port.PublishMode == PublishMode.Host ? "host" : "ingress");
                    yaml.Key("target");
                    yaml.Integer(port.TargetPort);
                    if (port.PublishedPort != 0)
                    {
                        yaml.Key("published");
                        yaml.Integer(port.PublishedPort);
                    }

                    yaml.Key("protocol");
                    yaml.String(port.Protocol.ToString().ToLowerInvariant());
                    yaml.End();
                }
            }
            else if (item is MappingNode mapping)
            {
                Mapping(yaml, mapping, PortOrder, "ports");
            }
            else
            {
                yaml.Node(item, "ports");
            }
        }

        yaml.End();
    }

    private static void Volumes(Writer yaml, SequenceNode volumes, string baseDirectory, string? home)
    {
        yaml.BeginList();
        foreach (var item in volumes.Items)
        {
            if (item is ScalarNode text && VolumeShortSyntax.Parse(text.Value, baseDirectory, home) is { IsValid: true } parsed)
            {
                var mount = parsed.Value;
                yaml.Begin();
                yaml.Key("type");
                yaml.String(mount.Type == MountType.Bind ? "bind" : "volume");
                if (mount.Source.Length > 0)
                {
                    yaml.Key("source");
                    yaml.String(mount.Source);
                }

                yaml.Key("target");
                yaml.String(mount.Target);
                if (mount.ReadOnly)
                {
                    yaml.Key("read_only");
                    yaml.Bool(true);
                }

                if (mount.BindPropagation is { } propagation)
                {
                    yaml.Key("bind");
                    yaml.Begin();
                    yaml.Key("propagation");
                    yaml.String(MountPropagations.Name(propagation));
                    yaml.End();
                }

                if (mount.VolumeNoCopy)
                {
                    yaml.Key("volume");
                    yaml.Begin();
                    yaml.Key("nocopy");
                    yaml.Bool(true);
                    yaml.End();
                }

                yaml.End();
            }
            else if (item is MappingNode mapping)
            {
                if (mapping["type"] is ScalarNode { Value: "bind" } && mapping["source"] is ScalarNode { IsNull: false } source)
                {
                    var path = source.Value == "~" || source.Value.StartsWith("~/", StringComparison.Ordinal) ? (home ?? "~") + source.Value[1..] : source.Value;
                    mapping = mapping.With("source", source with { Value = Path.GetFullPath(path, baseDirectory) });
                }

                Mapping(yaml, mapping, VolumeOrder, "volumes");
            }
            else
            {
                yaml.Node(item, "volumes");
            }
        }

        yaml.End();
    }

    private static void References(Writer yaml, SequenceNode references)
    {
        yaml.BeginList();
        foreach (var item in references.Items)
        {
            if (item is ScalarNode { IsNull: false } name)
            {
                yaml.Begin();
                yaml.Key("source");
                yaml.String(name.Value);
                yaml.End();
            }
            else if (item is MappingNode mapping)
            {
                yaml.Begin();
                foreach (var entry in Ordered(mapping, ReferenceOrder))
                {
                    yaml.Key(entry.Key.Value);
                    if (entry.Key.Value == "mode" && entry.Value is ScalarNode { IsNull: false } written && ComposeReader.LoadedMode(written) is { } mode)
                    {
                        yaml.Integer(mode);
                    }
                    else if (entry.Key.Value is "uid" or "gid")
                    {
                        yaml.String(((ScalarNode)entry.Value).Value);
                    }
                    else
                    {
                        yaml.Node(entry.Value, entry.Key.Value);
                    }
                }

                yaml.End();
            }
            else
            {
                yaml.Node(item, "");
            }
        }

        yaml.End();
    }

    private static void Deploy(Writer yaml, MappingNode deploy)
    {
        yaml.Begin();
        foreach (var entry in Ordered(deploy, DeployOrder))
        {
            var key = entry.Key.Value;
            yaml.Key(key);
            switch (key)
            {
                case "labels":
                    Dict(yaml, entry.Value, key);
                    break;
                case "update_config" or "rollback_config" when entry.Value is MappingNode update:
                    Durations(yaml, update, UpdateOrder, ["delay", "monitor"]);
                    break;
                case "restart_policy" when entry.Value is MappingNode restart:
                    Durations(yaml, restart, RestartOrder, ["delay", "window"]);
                    break;
                case "resources" when entry.Value is MappingNode resources:
                    yaml.Begin();
                    foreach (var part in Ordered(resources, ["limits", "reservations"]))
                    {
                        yaml.Key(part.Key.Value);
                        if (part.Value is MappingNode amounts)
                        {
                            yaml.Begin();
                            foreach (var amount in Ordered(amounts, ["cpus", "memory", "pids", "generic_resources"]))
                            {
                                yaml.Key(amount.Key.Value);
                                if (amount.Key.Value == "memory" && amount.Value is ScalarNode { IsNull: false } memory
                                    && ServiceFlags.Memory("", memory.Value) is { IsValid: true } bytes)
                                {
                                    yaml.String(bytes.Value.ToString(CultureInfo.InvariantCulture), quote: true);
                                }
                                else if (amount.Key.Value == "cpus" && amount.Value is ScalarNode { IsNull: false } cpus)
                                {
                                    yaml.String(cpus.Value, quote: true);
                                }
                                else
                                {
                                    yaml.Node(amount.Value, amount.Key.Value);
                                }
                            }

                            yaml.End();
                        }
                        else
                        {
                            yaml.Node(part.Value, part.Key.Value);
                        }
                    }

                    yaml.End();
                    break;
                default:
                    yaml.Node(entry.Value, key);
                    break;
            }
        }

        yaml.End();
    }

    private static void Durations(Writer yaml, MappingNode mapping, string[] order, string[] durations)
    {
        yaml.Begin();
        foreach (var entry in Ordered(mapping, order))
        {
            yaml.Key(entry.Key.Value);
            if (durations.Contains(entry.Key.Value))
            {
                yaml.String(Duration(entry.Value));
            }
            else
            {
                yaml.Node(entry.Value, entry.Key.Value);
            }
        }

        yaml.End();
    }

    private static void TopObject(Writer yaml, string key, ComposeNode node, string section, string baseDirectory)
    {
        if (node is not MappingNode body)
        {
            yaml.Begin();
            yaml.End();
            return;
        }

        if (body["file"] is ScalarNode { IsNull: false } file)
        {
            body = body.With("file", file with { Value = Path.GetFullPath(file.Value, baseDirectory) });
        }

        if (body["external"] is MappingNode { } old && old["name"] is { } name)
        {
            // docker's older external: {name: x} is printed as name: x with external: true.
            body = body.With("name", name).With("external", new ScalarNode("true", true, old.Mark));
        }
        else if (body["external"] is ScalarNode { Value: "true" or "True" or "TRUE" or "yes" or "Yes" or "on" } && body["name"] is null)
        {
            // An external object is found by its key when it names none, and docker prints that name.
            body = body.With("name", new ScalarNode(key, false, body.Mark));
        }

        Mapping(yaml, body, section == "networks" ? NetworkOrder : ObjectOrder, section);
    }

    /// <summary>
    /// The tree with each quoted scalar at a <see cref="ComposeSchema.Casts"/> key written as the plain value docker's
    /// loader casts it to ("3" is 3, "yes" is true); one that does not read as that type stays as it was.
    /// </summary>
    private static ComposeNode Typed(ComposeNode node, ImmutableList<string> path) => node switch
    {
        MappingNode mapping => mapping with { Entries = [.. mapping.Entries.Select(e => e with { Value = Typed(e.Value, path.Add(e.Key.Value)) })] },
        SequenceNode list => list with { Items = [.. list.Items.Select(item => Typed(item, path.Add("[]")))] },
        ScalarNode { Plain: false } scalar when CastAt(path) is { } kind && CastValue(scalar.Value, kind) is { } value => scalar with { Value = value, Plain = true },
        _ => node,
    };

    /// <summary>What docker's loader casts at this key: the path's list items ("[]") joined to their key, as <see cref="ComposeSchema.CastAt"/> reads it.</summary>
    private static ComposeCast? CastAt(ImmutableList<string> path)
    {
        var parts = new List<string>(path.Count);
        foreach (var part in path)
        {
            if (part == "[]" && parts.Count > 0)
            {
                parts[^1] += part;
            }
            else
            {
                parts.Add(part);
            }
        }

        return ComposeSchema.CastAt(parts);
    }

    /// <summary>A value as Go writes the type docker casts it to (Atoi, ParseFloat, YAML's booleans), or null when it is not one.</summary>
    private static string? CastValue(string value, ComposeCast kind) => kind switch
    {
        ComposeCast.Integer when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n.ToString(CultureInfo.InvariantCulture),
        ComposeCast.Float when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) => f.ToString("R", CultureInfo.InvariantCulture),
        ComposeCast.Boolean => value.ToLowerInvariant() switch
        {
            "y" or "yes" or "true" or "on" => "true",
            "n" or "no" or "false" or "off" => "false",
            _ => null,
        },
        _ => null,
    };

    /// <summary>A mapping with the given keys first in that order, then the others sorted.</summary>
    private static void Mapping(Writer yaml, MappingNode mapping, string[] order, string path)
    {
        yaml.Begin();
        foreach (var entry in Ordered(mapping, order))
        {
            yaml.Key(entry.Key.Value);
            yaml.Node(entry.Value, path);
        }

        yaml.End();
    }

    private static IEnumerable<MappingEntry> Ordered(MappingNode mapping, string[] order) =>
        mapping.Entries.OrderBy(e => Array.IndexOf(order, e.Key.Value) is var i and >= 0 ? i : order.Length).ThenBy(e => e.Key.Value, StringComparer.Ordinal);

    private static string Duration(ComposeNode node) =>
        node is ScalarNode { IsNull: false } scalar && ServiceFlags.Duration("", scalar.Value) is { IsValid: true } parsed
            ? GoDuration.Format(parsed.Value)
            : (node as ScalarNode)?.Value ?? "";

    /// <summary>Thin helpers over the emitter; a string that YAML would read as another type is quoted, as Go's yaml quotes it.</summary>
    private sealed class Writer(IEmitter emitter)
    {
        private static readonly string[] YamlBooleans =
            ["true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];

        /// <summary>For each open collection, whether it is a mapping: one End closes either.</summary>
        private readonly Stack<bool> _open = new();

        public void Begin()
        {
            _open.Push(true);
            emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
        }

        public void BeginList()
        {
            _open.Push(false);
            emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Block));
        }

        public void End() => emitter.Emit(_open.Pop() ? new MappingEnd() : new SequenceEnd());

        public void Key(string key) => String(key);

        public void Null() => emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));

        public void Integer(long value) => emitter.Emit(new Scalar(value.ToString(CultureInfo.InvariantCulture)));

        public void Bool(bool value) => emitter.Emit(new Scalar(value ? "true" : "false"));

        public void String(string value, bool quote = false) =>
            emitter.Emit(new Scalar(null, null, value, quote || Ambiguous(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any, isPlainImplicit: true, isQuotedImplicit: true));

        public void Strings(IEnumerable<string> values)
        {
            BeginList();
            foreach (var value in values)
            {
                String(value);
            }

            End();
        }

        /// <summary>A node as the file had it: a plain scalar stays plain (a number, a boolean), a quoted one is quoted when it would read as another type.</summary>
        public void Node(ComposeNode node, string path)
        {
            switch (node)
            {
                case ScalarNode { IsNull: true }:
                    Null();
                    break;
                case ScalarNode { Plain: true } scalar:
                    emitter.Emit(new Scalar(scalar.Value));
                    break;
                case ScalarNode scalar:
                    String(scalar.Value);
                    break;
                case SequenceNode list:
                    BeginList();
                    foreach (var item in list.Items)
                    {
                        Node(item, path);
                    }

                    End();
                    break;
                case MappingNode mapping:
                    Begin();
                    foreach (var entry in mapping.Entries)
                    {
                        Key(entry.Key.Value);
                        Node(entry.Value, entry.Key.Value);
                    }

                    End();
                    break;
            }
        }

        /// <summary>Text a YAML 1.1 reader would take for null, a boolean or a number.</summary>
        private static bool Ambiguous(string value) =>
            value.Length == 0
            || value is "~" or "null" or "Null" or "NULL" or "y" or "Y" or "n" or "N"
            || YamlBooleans.Contains(value)
            || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            || (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && value.Length > 2)
            || value.Contains(':', StringComparison.Ordinal) && value.Split(':').All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
    }
}
