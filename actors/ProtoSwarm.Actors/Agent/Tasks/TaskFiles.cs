using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

public enum TaskFileKind
{
    Secret = 0,
    Config = 1,
}

/// <summary>
/// One secret or config as a task's container gets it: where (<see cref="FileTarget"/>), and the
/// data. Lives in the node host's memory and on the task's tmpfs only; never in a message that
/// leaves the node, never in the node's state database.
/// </summary>
public sealed record TaskFile(TaskFileKind Kind, string SourceId, string SourceName, FileTarget Target, byte[] Data)
{
    /// <summary>Docker's paths: a secret's name is relative to /run/secrets (an absolute one is kept), a config's is absolute (a relative one is taken from /).</summary>
    public string ContainerPath => FileTargetRule.ContainerPath(Kind == TaskFileKind.Secret ? "secret" : "config", Target.Name);
}

/// <summary>
/// The files a task's container gets from its secrets and configs, handed to the executor with the
/// task. Missing names the references the node was not given (removed from the swarm) and the templated
/// ones whose template could not be expanded: such a task is refused before anything is prepared.
/// </summary>
public sealed record TaskFiles(ImmutableArray<TaskFile> Files, ImmutableArray<string> Missing)
{
    public static readonly TaskFiles None = new([], []);

    public bool IsEmpty => Files.IsEmpty && Missing.IsEmpty;

    /// <summary>Why the task cannot run, or null when nothing is missing.</summary>
    public string? Problem => Missing.IsEmpty ? null : string.Join("; ", Missing);
}

/// <summary>
/// The secrets and configs this node was sent, in memory only, as its assignments carry them: a full
/// set replaces what it holds, otherwise each message adds and removes. Not thread-safe: one actor owns it.
/// </summary>
public sealed class TaskPayloads
{
    private readonly Dictionary<string, SecretPayload> _secrets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecretPayload> _configs = new(StringComparer.Ordinal);

    /// <summary>The ids of the secrets held, for tests and diagnostics (never the data).</summary>
    public IReadOnlyCollection<string> SecretIds => _secrets.Keys;

    public IReadOnlyCollection<string> ConfigIds => _configs.Keys;

    public void Apply(TaskAssignments assignments)
    {
        Apply(_secrets, assignments.Full, assignments.Secrets, assignments.SecretsRemoved);
        Apply(_configs, assignments.Full, assignments.Configs, assignments.ConfigsRemoved);
    }

    /// <summary>
    /// The files of one task: each reference with the data held for it, or, when the node holds none, a missing one.
    /// A templated one (--template-driver golang) is expanded for this task (<see cref="TaskFileTemplates"/>); one
    /// that cannot be is a problem of the task, as a missing one is.
    /// </summary>
    public TaskFiles FilesOf(TaskObject task)
    {
        var container = task.Spec.Container;
        if (container.Secrets.IsEmpty && container.Configs.IsEmpty)
        {
            return TaskFiles.None;
        }

        var files = ImmutableArray.CreateBuilder<TaskFile>();
        var templated = new List<int>();
        var missing = ImmutableArray.CreateBuilder<string>();
        foreach (var reference in container.Secrets)
        {
            if (_secrets.TryGetValue(reference.SecretId, out var payload))
            {
                Add(new TaskFile(TaskFileKind.Secret, payload.Id, payload.Name, reference.File, payload.Data), payload);
            }
            else
            {
                missing.Add($"secret {reference.SecretName} not found: it is no longer in the swarm (`protoswarm secret ls`); create it again and update the service");
            }
        }

        foreach (var reference in container.Configs)
        {
            if (_configs.TryGetValue(reference.ConfigId, out var payload))
            {
                Add(new TaskFile(TaskFileKind.Config, payload.Id, payload.Name, reference.File, payload.Data), payload);
            }
            else
            {
                missing.Add($"config {reference.ConfigName} not found: it is no longer in the swarm (`protoswarm config ls`); create it again and update the service");
            }
        }

        // Expanded against the others' data as stored, as swarmkit's {{secret}} and {{config}} read them.
        var raw = files.ToImmutable();
        foreach (var at in templated)
        {
            var (data, problem) = TaskFileTemplates.Expand(raw[at], task, raw);
            if (problem is not null)
            {
                missing.Add(problem);
            }
            else
            {
                files[at] = raw[at] with { Data = data! };
            }
        }

        return new TaskFiles(files.ToImmutable(), missing.ToImmutable());

        void Add(TaskFile file, SecretPayload payload)
        {
            if (payload.Templating is not null)
            {
                templated.Add(files.Count);
            }

            files.Add(file);
        }
    }

    private static void Apply(Dictionary<string, SecretPayload> held, bool full, ImmutableArray<SecretPayload> added, ImmutableArray<string> removed)
    {
        if (full)
        {
            held.Clear();
        }

        foreach (var payload in added)
        {
            held[payload.Id] = payload;
        }

        foreach (var id in removed)
        {
            held.Remove(id);
        }
    }
}
