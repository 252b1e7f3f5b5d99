namespace ProtoSwarm.Containers.Runtime;

/// <summary>One more process in a running container (docker exec): it joins the container's cgroups and
/// namespaces and runs under the same confinement as its entrypoint (rlimits, capabilities,
/// no_new_privs, seccomp), never more.</summary>
public sealed record ExecSpecification
{
    /// <summary>argv; argv[0] is looked up in the container's PATH when it has no '/'.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>"KEY=value" entries added to the container's environment (overriding the same keys).</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>"uid[:gid]" or "name[:group]" from the container's /etc/passwd; null is the container's user.</summary>
    public string? User { get; init; }

    /// <summary>An absolute directory in the container; null is the container's working directory.</summary>
    public string? WorkingDir { get; init; }

    /// <summary>When it passes, the process and what it started (its process group) are killed and
    /// <see cref="ExecResult.TimedOut"/> is set; null waits as long as the process runs.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Bytes of stdout and of stderr kept (the first ones; the rest is read and dropped).</summary>
    public int OutputLimit { get; init; } = 64 * 1024;
}

/// <summary>How an exec'd process ended: its exit code (128 + signal when a signal ended it; docker's
/// 126 when the command could not run, 127 when it was not found, with the reason in Stderr) and what
/// it printed, each cut at the spec's OutputLimit.</summary>
public sealed record ExecResult(int ExitCode, string Stdout, string Stderr, bool TimedOut);

/// <summary>The container could not be entered: it is not running, or a step of joining it failed
/// ("container c1 is not running").</summary>
public sealed class ContainerExecException(string message, Exception? inner = null) : Exception(message, inner);
