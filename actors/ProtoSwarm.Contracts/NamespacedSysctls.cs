using System.Collections.Immutable;

namespace ProtoSwarm.Contracts;

/// <summary>
/// The kernel parameters a container may set, as docker allows them: those that live in one of the
/// container's own namespaces (its ipc namespace: System V IPC and POSIX message queues; its network
/// namespace, which every task has: net.*). Anything else would change the whole node.
/// </summary>
public static class NamespacedSysctls
{
    public static readonly ImmutableSortedDictionary<string, string> None = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>The ipc namespace's single parameters.</summary>
    public static readonly ImmutableArray<string> IpcKeys =
        ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];

    /// <summary>The prefixes of whole namespaced trees.</summary>
    public static readonly ImmutableArray<string> Prefixes = ["fs.mqueue.", "net."];

    /// <summary>How a user is told which ones are allowed.</summary>
    public static string Allowed => string.Join(", ", IpcKeys) + ", fs.mqueue.* or net.*";

    /// <summary>Why the key cannot be set in a container, or null when it can.</summary>
    public static string? Problem(string key)
    {
        if (key.Length == 0 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/'))
            || key.Replace('/', '.').Split('.').Any(part => part.Length == 0))
        {
            return $"'{key}' is not a sysctl name (dotted words such as net.core.somaxconn)";
        }

        var dotted = key.Replace('/', '.');
        return IpcKeys.Contains(dotted) || Prefixes.Any(p => dotted.StartsWith(p, StringComparison.Ordinal))
            ? null
            : $"'{key}' is not a namespaced sysctl: it is shared by the whole node, so a container may not set it";
    }
}
