using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// `protoswarm exec TASK COMMAND...`: one more process in a task's running container (docker exec),
// answered by the node host that runs the task, in a swarm or not; never forwarded to a manager. A
// worker has no store, so a task is named by its id or a prefix of it unique among the containers of
// that node.

/// <summary>Runs <paramref name="Command"/> in the container of the task <paramref name="TaskRef"/> (an id or a unique id prefix)
/// with its confinement. <paramref name="Env"/> entries are "KEY=value" added to the container's; a null
/// <paramref name="User"/> or <paramref name="WorkingDir"/> is the container's; a null <paramref name="Timeout"/> waits as long as the command runs.
/// <paramref name="Interactive"/> (-i) or <paramref name="Tty"/> (-t) stream: the node answers <see cref="ExecStarted"/> and both
/// sides switch to exec frames on the same connection (ProtoSwarm.Client.Control.ExecFrames); <paramref name="Tty"/> runs the
/// command on a terminal of <paramref name="Rows"/> x <paramref name="Columns"/> (0: the kernel's default).
/// <paramref name="Detach"/> (-d) starts the command, answers <see cref="ExecStarted"/> and drops its output.</summary>
[MessagePackObject]
public sealed record ExecInTask(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string TaskRef,
    [property: Key(2)] ImmutableArray<string> Command,
    [property: Key(3)] ImmutableArray<string> Env,
    [property: Key(4)] string? User,
    [property: Key(5)] string? WorkingDir,
    [property: Key(6)] TimeSpan? Timeout,
    [property: Key(7)] bool Interactive = false,
    [property: Key(8)] bool Tty = false,
    [property: Key(9)] int Rows = 0,
    [property: Key(10)] int Columns = 0,
    [property: Key(11)] bool Detach = false,
    [property: Key(12)] bool StreamOutput = false)
{
    /// <summary>True when the answer is a stream of exec frames, not one <see cref="ExecCompleted"/>: with -i or -t,
    /// and for a plain exec whose client reads output as it comes (<see cref="StreamOutput"/>, the CLI on a control socket).</summary>
    [IgnoreMember]
    public bool Streams => (Interactive || Tty || StreamOutput) && !Detach;
}

/// <summary>The command runs in task <paramref name="TaskId"/>: exec frames follow on this connection (or, detached, nothing).</summary>
[MessagePackObject]
public sealed record ExecStarted([property: Key(0)] string TaskId);

/// <summary>How the command ended: its exit code (128 + signal when a signal ended it; 126 when it could not run,
/// 127 when it was not found) and what it printed, each cut after <see cref="OutputLimitBytes"/> bytes.</summary>
[MessagePackObject]
public sealed record ExecCompleted(
    [property: Key(0)] string TaskId,
    [property: Key(1)] int ExitCode,
    [property: Key(2)] string Stdout,
    [property: Key(3)] string Stderr,
    [property: Key(4)] bool TimedOut)
{
    /// <summary>What a node keeps of each stream; the rest is read and dropped, so the reply fits a control frame.</summary>
    public const int OutputLimitBytes = 8 * 1024 * 1024;
}
