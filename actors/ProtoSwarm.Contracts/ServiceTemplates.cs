using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using MessagePack;

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
/// `--mount source=data-{{.Task.Slot}},...`): Go template actions over .Service (ID, Name, Labels), .Node
/// (ID, Hostname, Platform.OS, Platform.Architecture) and .Task (ID, Name, Slot), plus
/// <c>index .Service.Labels "key"</c>. A task's container spec keeps the templates (`service inspect` shows
/// them, as docker's); the managers expand them for each task when they send it to its node, where both
/// are known, as swarm's agent does. Nothing else of Go's template language is taken: anything else is
/// refused with the reason, at `service create`, never found on a node.
/// </summary>
public static class ServiceTemplates
{
    /// <summary>Whether the text holds a template action at all.</summary>
    public static bool IsTemplate(string text) => text.Contains("{{", StringComparison.Ordinal);

    /// <summary>The functions a templated secret or config may call (<see cref="Expand"/>'s last parameter).</summary>
    public static readonly IReadOnlyList<string> FileFunctions = ["env", "secret", "config"];

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

        var result = new StringBuilder(text.Length);
        var at = 0;
        while (at < text.Length)
        {
            var open = text.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                result.Append(text, at, text.Length - at);
                break;
            }

            var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"{Where(text, open)}: '{{{{' at {open + 1} is never closed with '}}}}'");
            }

            result.Append(text, at, open - at);
            try
            {
                result.Append(Action(text[(open + 2)..close].Trim().TrimStart('-').TrimEnd('-').Trim(), context, functions));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{Where(text, open)}: {e.Message}", e);
            }

            at = close + 2;
        }

        return result.ToString();
    }

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

    private static string Action(string action, TemplateContext c, Func<string, string, string>? functions)
    {
        var space = action.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0 && FileFunctions.Contains(action[..space]))
        {
            var name = action[..space];
            var argument = action[(space + 1)..].Trim();
            if (functions is null)
            {
                throw new FormatException(
                    $"'{{{{{action}}}}}': {name} may be called only in a secret's or config's data created with --template-driver golang, not in a service's templates");
            }

            if (argument.Length < 2 || !((argument[0] == '"' && argument[^1] == '"') || (argument[0] == '`' && argument[^1] == '`')) || argument[1..^1].Contains('"', StringComparison.Ordinal))
            {
                throw new FormatException($"'{{{{{action}}}}}': {name} takes one quoted name, e.g. {{{{{name} \"{(name == "env" ? "HOME" : "app.conf")}\"}}}}");
            }

            return functions(name, argument[1..^1]);
        }

        if (action.StartsWith("index ", StringComparison.Ordinal))
        {
            var words = action["index ".Length..].Trim().Split(' ', 2, StringSplitOptions.TrimEntries);
            if (words is [".Service.Labels", var quoted] && quoted.Length >= 2 && quoted[0] == '"' && quoted[^1] == '"')
            {
                // Go's index of a missing map key gives the zero value: an empty string.
                return c.ServiceLabels.GetValueOrDefault(quoted[1..^1], string.Empty);
            }

            throw new FormatException($"'{{{{{action}}}}}' is not supported; index takes .Service.Labels and a quoted key, e.g. {{{{index .Service.Labels \"tier\"}}}}");
        }

        return action switch
        {
            ".Service.ID" => c.ServiceId,
            ".Service.Name" => c.ServiceName,
            ".Service.Labels" => GoMap(c.ServiceLabels),
            ".Node.ID" => c.NodeId,
            ".Node.Hostname" => c.NodeHostname,
            ".Node.Platform.OS" => c.NodeOs,
            ".Node.Platform.Architecture" => c.NodeArchitecture,
            ".Task.ID" => c.TaskId,
            ".Task.Name" => c.TaskName,
            ".Task.Slot" => c.Slot.ToString(CultureInfo.InvariantCulture),
            _ => throw new FormatException(
                $"'{{{{{action}}}}}' names nothing a service template has; use .Service.ID, .Service.Name, .Service.Labels, .Node.ID, .Node.Hostname, " +
                ".Node.Platform.OS, .Node.Platform.Architecture, .Task.ID, .Task.Name, .Task.Slot or index .Service.Labels \"key\""),
        };
    }

    /// <summary>Where an action is: the whole template when it is one short line (a hostname, a variable), else its line (a config file).</summary>
    private static string Where(string text, int at) => text.Length <= 200 && !text.Contains('\n', StringComparison.Ordinal)
        ? $"template '{text}'"
        : $"template line {text.AsSpan(0, at).Count('\n') + 1}";

    /// <summary>How Go prints a map[string]string: map[a:1 b:2], keys sorted.</summary>
    private static string GoMap(ImmutableSortedDictionary<string, string> map) =>
        $"map[{string.Join(' ', map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}:{p.Value}"))}]";
}
