using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// docker's templated secrets and configs (--template-driver golang), expanded for one task on its node, as
/// swarmkit's agent expands them: the service's templates' placeholders (.Service, .Node, .Task, from the context
/// the managers send with the task) and the functions <c>{{env "X"}}</c> (the task's environment),
/// <c>{{secret "target"}}</c> and <c>{{config "target"}}</c> (the data, as stored, of another of the task's
/// secrets or configs, by its target). Pure.
/// </summary>
public static class TaskFileTemplates
{
    /// <summary>The file's data expanded for the task, or why it cannot be (naming the secret or config and the template's problem).</summary>
    public static (byte[]? Data, string? Problem) Expand(TaskFile file, TaskObject task, IReadOnlyList<TaskFile> taskFiles)
    {
        var kind = file.Kind == TaskFileKind.Secret ? "secret" : "config";
        if (task.Template is not { } context)
        {
            return (null, $"{kind} {file.SourceName} is templated, but the task came without its template context; the managers send it with the task, so update the managers to this node's version");
        }

        try
        {
            var text = Encoding.UTF8.GetString(file.Data);
            return (Encoding.UTF8.GetBytes(ServiceTemplates.Expand(text, context, (name, argument) => Function(name, argument, task, taskFiles))), null);
        }
        catch (FormatException e)
        {
            return (null, $"{kind} {file.SourceName}: its template cannot be expanded: {e.Message}; fix it in a new {kind} (--template-driver golang) and update the service to use that");
        }
    }

    private static string Function(string name, string argument, TaskObject task, IReadOnlyList<TaskFile> taskFiles) => name switch
    {
        "env" => Variable(task.Spec.Container.Env, argument),
        "secret" => Data(taskFiles, TaskFileKind.Secret, argument),
        _ => Data(taskFiles, TaskFileKind.Config, argument),
    };

    /// <summary>The variable's value in the task's environment, the last one given; empty when it has none, as docker's.</summary>
    private static string Variable(IEnumerable<string> env, string variable)
    {
        var value = string.Empty;
        foreach (var entry in env)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 ? entry == variable : entry.AsSpan(0, eq).SequenceEqual(variable))
            {
                value = eq < 0 ? string.Empty : entry[(eq + 1)..];
            }
        }

        return value;
    }

    /// <summary>A secret's or config's data by its target in this task (a config's "app.conf" is also its "/app.conf").</summary>
    private static string Data(IReadOnlyList<TaskFile> taskFiles, TaskFileKind kind, string target)
    {
        var found = taskFiles.FirstOrDefault(f => f.Kind == kind && (f.Target.Name == target || (kind == TaskFileKind.Config && f.Target.Name == "/" + target)));
        if (found is null)
        {
            var word = kind == TaskFileKind.Secret ? "secret" : "config";
            var targets = taskFiles.Where(f => f.Kind == kind).Select(f => f.Target.Name).ToList();
            throw new FormatException($"{word} target {target} not found: the service has {(targets.Count == 0 ? $"no {word}s" : $"{word}s with targets {string.Join(", ", targets)}")}; add it with --{word}-add source=NAME,target={target}");
        }

        return Encoding.UTF8.GetString(found.Data);
    }
}
