using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using MessagePack;
using ProtoSwarm.Contracts.Templating;

namespace ProtoSwarm.Contracts;

/// <summary>
/// What a service template may name: docker's placeholders for one task on one node. The managers send it
/// with a task whose secrets or configs are templated (<see cref="TaskObject.Template"/>), for its node to expand them.
/// </summary>
[MessagePackObject]
public sealed record TemplateContext(
    [property: Key(0)] string ServiceId,
    [property: Key(1)] string ServiceName,
    [property: Key(2)] ImmutableSortedDictionary<string, string> ServiceLabels,
    [property: Key(3)] string NodeId,
    [property: Key(4)] string NodeHostname,
    [property: Key(5)] string NodeOs,
    [property: Key(6)] string NodeArchitecture,
    [property: Key(7)] string TaskId,
    [property: Key(8)] long Slot)
{
    /// <summary>docker's task name: SERVICE.SLOT.TASKID, or SERVICE.NODEID.TASKID for a global service's task.</summary>
    [IgnoreMember]
    public string TaskName => $"{ServiceName}.{(Slot > 0 ? Slot.ToString(CultureInfo.InvariantCulture) : NodeId)}.{TaskId}";

    /// <summary>
    /// Stand-in values to check a spec's templates before any task exists: each placeholder becomes a
    /// valid hostname and volume name part, so what the expanded value must satisfy can be checked.
    /// </summary>
    public static TemplateContext Sample(string serviceName) =>
        new("serviceid", serviceName.Length > 0 ? serviceName : "service", ImmutableSortedDictionary<string, string>.Empty,
            "nodeid", "node", "linux", "x86_64", "taskid", 1);
}

/// <summary>
/// docker's service templates (`--hostname "{{.Node.Hostname}}-{{.Task.Slot}}"`, `--env NODE={{.Node.ID}}`,
/// `--mount source=data-{{.Task.Slot}},...`) and templated secrets and configs: Go's text/template
/// (<see cref="GoTemplate"/>) over swarmkit's context, .Service (ID, Name, Labels), .Node (ID, Hostname,
/// Platform.OS, Platform.Architecture) and .Task (ID, Name, Slot), with Go's builtins and docker's functions. A
/// task's container spec keeps the templates (`service inspect` shows them, as docker's); the managers expand
/// them for each task when they send it to its node, where both are known, as swarm's agent does. A field the
/// context lacks is an error, as for swarmkit's Go structs, found at `service create` with sample values.
/// </summary>
public static class ServiceTemplates
{
    /// <summary>Whether the text holds a template action at all.</summary>
    public static bool IsTemplate(string text) => text.Contains("{{", StringComparison.Ordinal);

    /// <summary>The functions a templated secret or config may call (<see cref="Expand"/>'s last parameter).</summary>
    public static readonly IReadOnlyList<string> FileFunctions = ["env", "secret", "config"];

    private const string Fields =
        ".Service.ID, .Service.Name, .Service.Labels, .Node.ID, .Node.Hostname, .Node.Platform.OS, .Node.Platform.Architecture, .Task.ID, .Task.Name, .Task.Slot";

    private static readonly GoTemplateOptions Refusing = Options(null);

    /// <summary>
    /// The text with each action replaced; a <see cref="FormatException"/> says what is wrong with one.
    /// <paramref name="functions"/> answers docker's <c>{{env "X"}}</c>, <c>{{secret "target"}}</c> and
    /// <c>{{config "target"}}</c> (name, argument) in a templated secret or config, throwing a
    /// <see cref="FormatException"/> for what it cannot give; without it, as in a service's templates, they are refused.
    /// </summary>
    public static string Expand(string text, TemplateContext context, Func<string, string, string>? functions = null)
    {
        if (!IsTemplate(text))
        {
            return text;
        }

        try
        {
            return GoTemplate.Parse(text, functions is null ? Refusing : Options(functions)).Execute(Data(context));
        }
        catch (GoTemplateException e)
        {
            var where = Where(text, e.Offset);
            throw new FormatException(
                e.IsUnknownField ? $"{where}: '{e.Action}' names nothing a service template has; use {Fields}, or index .Service.Labels \"key\" ({e.Reason})"
                : e.FunctionError is { } function && functions is null ? $"{where}: '{e.Action}': {function.Message}"
                : e.FunctionError is { } failed ? $"{where}: {failed.Message}"
                : $"{where}, column {e.Column + 1}: {(e.At is { } at ? $"at <{at}>: " : string.Empty)}{e.Reason}",
                e);
        }
    }

    /// <summary>swarmkit's template context for one task, as the JSON the template engine reads: .Task.Slot is a string there, as swarmkit's.</summary>
    public static JsonObject Data(TemplateContext c) => new()
    {
        ["Service"] = new JsonObject
        {
            ["ID"] = c.ServiceId,
            ["Name"] = c.ServiceName,
            ["Labels"] = new JsonObject(c.ServiceLabels.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
        },
        ["Node"] = new JsonObject
        {
            ["ID"] = c.NodeId,
            ["Hostname"] = c.NodeHostname,
            ["Platform"] = new JsonObject { ["OS"] = c.NodeOs, ["Architecture"] = c.NodeArchitecture },
        },
        ["Task"] = new JsonObject
        {
            ["ID"] = c.TaskId,
            ["Name"] = c.TaskName,
            ["Slot"] = c.Slot.ToString(CultureInfo.InvariantCulture),
        },
    };

    /// <summary>The most a node lets one expansion of an operator's template write and walk (a config's data is at most 1000 KiB).</summary>
    public const int MaxOutput = 4 << 20;

    /// <inheritdoc cref="MaxOutput"/>
    public const long MaxSteps = 4_000_000;

    private static GoTemplateOptions Options(Func<string, string, string>? functions) => new()
    {
        StrictFields = true,
        MaxOutput = MaxOutput,
        MaxSteps = MaxSteps,
        MapFields = FrozenSet.ToFrozenSet(["Labels"], StringComparer.Ordinal),
        Functions = FileFunctions.ToFrozenDictionary(
            name => name,
            name => functions is null
                ? (Func<string, string>)(_ => throw new FormatException($"{name} may be called only in a secret's or config's data created with --template-driver golang, not in a service's templates"))
                : argument => functions(name, argument),
            StringComparer.Ordinal),
    };

    /// <summary>Whether any field a template may stand in (hostname, environment, mount source and target) holds one.</summary>
    public static bool HasTemplates(ContainerSpec container) =>
        IsTemplate(container.Hostname) || container.Env.Any(IsTemplate) || container.Mounts.Any(m => IsTemplate(m.Source) || IsTemplate(m.Target));

    /// <summary>The container spec as the task's node runs it: hostname, environment and mounts (source and target) expanded.</summary>
    public static ContainerSpec ExpandContainer(ContainerSpec container, TemplateContext context)
    {
        if (!HasTemplates(container))
        {
            return container;
        }

        return container with
        {
            Hostname = Expand(container.Hostname, context),
            Env = [.. container.Env.Select(e => Expand(e, context))],
            Mounts = [.. container.Mounts.Select(m => m with { Source = Expand(m.Source, context), Target = Expand(m.Target, context) })],
        };
    }

    /// <summary>
    /// What is wrong with a template in <paramref name="text"/>, or null; <paramref name="expanded"/> is the
    /// text with <see cref="TemplateContext.Sample"/>'s values, for the checks the real value must pass.
    /// </summary>
    public static string? Problem(string text, string serviceName, out string expanded)
    {
        try
        {
            expanded = Expand(text, TemplateContext.Sample(serviceName));
            return null;
        }
        catch (FormatException e)
        {
            expanded = text;
            return e.Message;
        }
    }

    /// <summary>Where an action is: the whole template when it is one short line (a hostname, a variable), else its line (a config file).</summary>
    private static string Where(string text, int at) => text.Length <= 200 && !text.Contains('\n', StringComparison.Ordinal)
        ? $"template '{text}'"
        : $"template line {text.AsSpan(0, at).Count('\n') + 1}";
}
