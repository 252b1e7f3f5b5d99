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

    /// <summary>docker exec -i: the process reads a pipe the caller writes (<see cref="ExecSession.Stdin"/>);
    /// otherwise its stdin is /dev/null (or, with <see cref="Tty"/>, a terminal nobody types on).</summary>
    public bool Interactive { get; init; }

    /// <summary>docker exec -t: a pseudo-terminal of the container's /dev/pts is the process's stdin, stdout,
    /// stderr and controlling terminal; its output is one stream. TERM=xterm unless <see cref="Env"/> sets TERM.</summary>
    public bool Tty { get; init; }

    /// <summary>docker exec -d: stdin, stdout and stderr are /dev/null, and the process does not depend on the
    /// node host: it keeps running when the host stops or restarts (<see cref="ExecSession.Detach"/> is what
    /// a stopping host does) and ends with its container. Neither <see cref="Interactive"/> nor <see cref="Tty"/>.</summary>
    public bool Detached { get; init; }

    /// <summary>The terminal's first size; 0 leaves the kernel's.</summary>
    public ushort Rows { get; init; }

    public ushort Columns { get; init; }
}

/// <summary>
/// An exec'd process whose streams the caller relays as they flow (docker exec -i / -t), started by
/// LinuxContainer.StartExecAsync. Nothing is buffered here: a caller that stops reading fills the pipe or
/// terminal, and the process blocks. <see cref="Kill"/> (or disposing before the end) SIGKILLs the process
/// and what it started.
/// </summary>
public sealed class ExecSession : IAsyncDisposable
{
    private readonly Action<ushort, ushort> _resize;
    private readonly CancellationTokenSource _kill;
    private readonly IDisposable? _owned;
    private readonly IDisposable? _status;

    internal ExecSession(Stream? stdin, Stream stdout, Stream? stderr, Task<ExecResult> completion,
        Action<ushort, ushort> resize, CancellationTokenSource kill, IDisposable? owned, IDisposable? status = null)
    {
        _status = status;
        Stdin = stdin;
        Stdout = stdout;
        Stderr = stderr;
        Completion = completion;
        _resize = resize;
        _kill = kill;
        _owned = owned;
    }

    /// <summary>The process's stdin (with -t: what is typed on its terminal); null without -i.</summary>
    public Stream? Stdin { get; }

    /// <summary>The process's stdout, or with -t everything it writes on its terminal; ends after the process and its children closed it.</summary>
    public Stream Stdout { get; }

    /// <summary>The process's stderr; null with -t.</summary>
    public Stream? Stderr { get; }

    /// <summary>How it ended; its Stdout and Stderr are empty (they were streamed).</summary>
    public Task<ExecResult> Completion { get; }

    /// <summary>A new terminal size (docker's resize); nothing without -t.</summary>
    public void Resize(ushort rows, ushort columns) => _resize(rows, columns);

    /// <summary>SIGKILL to the process and its process group (what it started); Completion then ends.</summary>
    public void Kill()
    {
        try
        {
            _kill.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Ended and disposed already.
        }
    }

    /// <summary>Lets go of the process as a node host that stops does: the status socket to its init closes,
    /// nothing is killed. Init then kills a command that is not <see cref="ExecSpecification.Detached"/>;
    /// a detached one runs on. Completion ends when init does.</summary>
    public void Detach() => _status?.Dispose();

    public async ValueTask DisposeAsync()
    {
        if (!Completion.IsCompleted)
        {
            Kill();
        }
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is ContainerExecException or OperationCanceledException or IOException)
        {
            // Disposing only releases; the caller saw the failure or does not care.
        }
        Stdin?.Dispose();
        Stdout.Dispose();
        Stderr?.Dispose();
        _owned?.Dispose();
        _kill.Dispose();
    }
}

/// <summary>How an exec'd process ended: its exit code (128 + signal when a signal ended it; docker's
/// 126 when the command could not run, 127 when it was not found, with the reason in Stderr) and what
/// it printed, each cut at the spec's OutputLimit.</summary>
public sealed record ExecResult(int ExitCode, string Stdout, string Stderr, bool TimedOut);

/// <summary>The container could not be entered: it is not running, or a step of joining it failed
/// ("container c1 is not running").</summary>
public sealed class ContainerExecException(string message, Exception? inner = null) : Exception(message, inner);
