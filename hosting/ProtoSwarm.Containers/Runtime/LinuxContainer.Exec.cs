using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ProtoSwarm.ContainerInit;

namespace ProtoSwarm.Containers.Runtime;

// docker exec: `protoswarm-init --exec` enters the container and reports on a socket, as a start does;
// the exec'd process's output comes back through pipes.
public sealed partial class LinuxContainer
{
    // After the process ended, how long a background child that still holds its stdout or stderr
    // may keep the result waiting.
    private static readonly TimeSpan OutputDrain = TimeSpan.FromSeconds(2);

    private string _initPath = "";

    /// <summary>Runs one more process in this container and returns its exit code and output; throws
    /// <see cref="ContainerExecException"/> when the container is not running or cannot be entered.</summary>
    public Task<ExecResult> ExecAsync(ExecSpecification spec, CancellationToken cancellationToken = default)
    {
        if (_exit.Task.IsCompleted)
        {
            throw new ContainerExecException($"container {Id} is not running");
        }
        return ExecAsync(spec, _sys, _time, _initPath, _paths, Pid, cancellationToken);
    }

    /// <summary>Starts one more process in this container whose streams the caller relays (docker exec -i / -t);
    /// returns once the process runs, or throws <see cref="ContainerExecException"/> when the container is
    /// not running or cannot be entered. A command that cannot run (126, 127) still gives a session: its
    /// reason is on its stderr (or terminal), its code in <see cref="ExecSession.Completion"/>.</summary>
    public Task<ExecSession> StartExecAsync(ExecSpecification spec, CancellationToken cancellationToken = default)
    {
        if (_exit.Task.IsCompleted)
        {
            throw new ContainerExecException($"container {Id} is not running");
        }
        return StartExecAsync(spec, _sys, _time, _initPath, _paths, Pid, cancellationToken);
    }

    /// <summary>The same for a container another <see cref="LinuxContainer"/> (or an earlier node host)
    /// started: its id, the runtime options it was started with and its PID 1 as this node sees it.</summary>
    public static Task<ExecResult> ExecAsync(string id, int pid, ContainerRuntimeOptions options, ExecSpecification spec, CancellationToken cancellationToken = default) =>
        ExecAsync(spec, LinuxSyscalls.Instance, TimeProvider.System, options.InitPath, new ContainerPaths(Path.Combine(options.StateRoot, id)), pid, cancellationToken);

    internal static IReadOnlyList<string> ValidateExec(ExecSpecification spec)
    {
        var problems = new List<string>();
        if (spec.Command.Count == 0 || spec.Command[0].Length == 0)
        {
            problems.Add("no command to exec");
        }
        if (spec.WorkingDir is { } dir && !dir.StartsWith('/'))
        {
            problems.Add($"working directory \"{dir}\" must be absolute");
        }
        if (spec.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            problems.Add($"timeout {timeout}: must be positive (null waits without one)");
        }
        if (spec.OutputLimit < 0)
        {
            problems.Add($"output limit {spec.OutputLimit}: must not be negative");
        }
        if (spec.Detached && (spec.Interactive || spec.Tty))
        {
            problems.Add("a detached exec has no stdin or terminal: drop -i and -t, or -d");
        }
        foreach (var entry in spec.Env.Where(e => e.Length == 0 || e[0] == '='))
        {
            problems.Add($"environment entry \"{entry}\": KEY=value");
        }
        return problems;
    }

    internal static async Task<ExecResult> ExecAsync(ExecSpecification spec, ISyscalls sys, TimeProvider time, string initPath,
        ContainerPaths paths, int pid, CancellationToken cancellationToken)
    {
        var problems = ValidateExec(spec);
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid exec: " + string.Join("; ", problems), nameof(spec));
        }
        var configPath = WriteExecConfig(spec with { Tty = false, Interactive = false }, sys, initPath, paths, pid);
        try
        {
            return await RunExecAsync(spec, sys, time, initPath, configPath, cancellationToken);
        }
        finally
        {
            DeleteExecConfig(sys, configPath);
        }
    }

    private static string WriteExecConfig(ExecSpecification spec, ISyscalls sys, string initPath, ContainerPaths paths, int pid)
    {
        var id = Path.GetFileName(paths.Root);
        if (!sys.FileExists(paths.Config))
        {
            throw new ContainerExecException($"container {id} is not running");
        }
        if (!sys.FileExists(initPath))
        {
            throw new ContainerExecException($"container init: {initPath} not found (publish hosting/ProtoSwarm.ContainerInit next to protoswarmd)");
        }
        var configPath = Path.Combine(paths.Root, $"exec-{Guid.NewGuid():N}.json");
        var config = new ExecConfig
        {
            Pid = pid,
            ContainerConfig = paths.Config,
            Args = [.. spec.Command],
            // docker's: a terminal is an xterm unless the caller says otherwise (its own TERM comes later and wins).
            Env = spec.Tty ? ["TERM=xterm", .. spec.Env] : [.. spec.Env],
            User = spec.User,
            WorkingDir = spec.WorkingDir,
            Tty = spec.Tty,
            Detached = spec.Detached,
        };
        sys.WriteFile(configPath, JsonSerializer.Serialize(config, ExecConfigJson.Default.ExecConfig));
        return configPath;
    }

    private static void DeleteExecConfig(ISyscalls sys, string configPath)
    {
        try
        {
            sys.DeleteFile(configPath);
        }
        catch (IOException)
        {
            // The container was removed meanwhile, its state directory with it.
        }
    }

    internal static async Task<ExecSession> StartExecAsync(ExecSpecification spec, ISyscalls sys, TimeProvider time, string initPath,
        ContainerPaths paths, int pid, CancellationToken cancellationToken)
    {
        var problems = ValidateExec(spec);
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid exec: " + string.Join("; ", problems), nameof(spec));
        }
        var configPath = WriteExecConfig(spec, sys, initPath, paths, pid);
        ExecTerminal? terminal = null;
        ExecProcess process;
        try
        {
            terminal = spec.Tty ? sys.OpenTerminal(pid, spec.Rows, spec.Columns) : null;
            process = sys.SpawnExec(initPath, configPath, stdinPipe: spec.Interactive && !spec.Tty, terminal?.Slave, discardOutput: spec.Detached);
        }
        catch (Exception e)
        {
            terminal?.Master.Dispose();
            DeleteExecConfig(sys, configPath);
            throw e is IOException ? new ContainerExecException($"exec: {e.Message}", e) : e;
        }
        finally
        {
            // init holds the terminal's slave side now; the master reads EIO once the last holder is gone.
            terminal?.Slave.Dispose();
        }

        var reader = new StatusReader(process.Status);
        var outcome = new ExecOutcome();
        string? first;
        try
        {
            first = await reader.ReadLineAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
        {
            await SendExecKillAsync(process.Status, 9);
            first = null;
        }
        if (first is not null)
        {
            outcome.Note(first);
        }
        if (first is null || outcome is { Failure: not null, FailureCode: ExecProtocol.NotEntered })
        {
            process.Status.Dispose();
            process.Stdin?.Dispose();
            process.Stdout.Dispose();
            process.Stderr.Dispose();
            terminal?.Master.Dispose();
            _ = await Task.Run(() => sys.Reap(process.Pid), CancellationToken.None);
            DeleteExecConfig(sys, configPath);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ContainerExecException(outcome.Failure ?? "exec: init ended before it said whether the command started");
        }

        var kill = new CancellationTokenSource();
        var completion = FinishExecAsync(process, reader, outcome, spec, sys, time, configPath, kill.Token);
        if (terminal is { } tty)
        {
            var input = spec.Interactive ? new FileStream(sys.Duplicate(tty.Master), FileAccess.Write, 0) : null;
            return new ExecSession(input, new FileStream(tty.Master, FileAccess.Read, 0), null, completion,
                (rows, columns) => sys.ResizeTerminal(tty.Master, rows, columns), kill, null, process.Status);
        }
        return new ExecSession(process.Stdin, process.Stdout, process.Stderr, completion, (_, _) => { }, kill, null, process.Status);
    }

    private static async Task<ExecResult> FinishExecAsync(ExecProcess process, StatusReader reader, ExecOutcome outcome, ExecSpecification spec,
        ISyscalls sys, TimeProvider time, string configPath, CancellationToken kill)
    {
        try
        {
            using (process.Status)
            {
                await SuperviseAsync(process.Status, reader, outcome, spec.Timeout, time, kill);
            }
            var initStatus = await Task.Run(() => sys.Reap(process.Pid), CancellationToken.None);
            var exitCode = outcome.Failure is not null
                ? outcome.FailureCode
                : ContainerExit.FromWaitStatus(outcome.WaitStatus ?? initStatus, oomKilled: false).ExitCode;
            return new ExecResult(exitCode, "", "", outcome.TimedOut);
        }
        finally
        {
            DeleteExecConfig(sys, configPath);
        }
    }

    private static async Task<ExecResult> RunExecAsync(ExecSpecification spec, ISyscalls sys, TimeProvider time, string initPath,
        string configPath, CancellationToken cancellationToken)
    {
        var process = sys.SpawnExec(initPath, configPath);
        var stdout = new OutputCapture(process.Stdout, spec.OutputLimit);
        var stderr = new OutputCapture(process.Stderr, spec.OutputLimit);
        var outcome = new ExecOutcome();
        using (process.Status)
        {
            await SuperviseAsync(process.Status, new StatusReader(process.Status), outcome, spec.Timeout, time, cancellationToken);
        }
        var initStatus = await Task.Run(() => sys.Reap(process.Pid), CancellationToken.None);
        try
        {
            await Task.WhenAll(stdout.Completion, stderr.Completion).WaitAsync(OutputDrain, time, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            // A background child keeps a pipe open: what arrived so far is the output.
        }
        if (outcome.Failure is not null && outcome.FailureCode == ExecProtocol.NotEntered)
        {
            throw new ContainerExecException(outcome.Failure);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var exitCode = outcome.Failure is not null
            ? outcome.FailureCode
            : ContainerExit.FromWaitStatus(outcome.WaitStatus ?? initStatus, oomKilled: false).ExitCode;
        return new ExecResult(exitCode, stdout.Text(), stderr.Text(), outcome.TimedOut);
    }

    // Reads init's status lines to their end. When `stop` or the timeout fires, init is told to kill the
    // command's process group and still reports the end as usual.
    private static async Task SuperviseAsync(Socket status, StatusReader reader, ExecOutcome outcome, TimeSpan? timeout, TimeProvider time,
        CancellationToken stop)
    {
        using var deadline = timeout is { } t ? new CancellationTokenSource(t, time) : new CancellationTokenSource();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        var killed = false;
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(killed ? CancellationToken.None : either.Token);
            }
            catch (OperationCanceledException) when (!killed)
            {
                killed = true;
                outcome.TimedOut = deadline.IsCancellationRequested;
                await SendExecKillAsync(status, 9);
                continue;
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                // ObjectDisposed: the session was detached (ExecSession.Detach), as by a host that stops.
                break;
            }
            if (line is null)
            {
                break;
            }
            outcome.Note(line);
        }
    }

    // What init said about an exec: how the command ended, or why it never ran.
    private sealed class ExecOutcome
    {
        public int? WaitStatus { get; private set; }
        public string? Failure { get; private set; }
        public int FailureCode { get; private set; }
        public bool TimedOut { get; set; }

        public void Note(string line)
        {
            var (word, rest) = line.IndexOf(' ', StringComparison.Ordinal) is var space and > 0 ? (line[..space], line[(space + 1)..]) : (line, "");
            if (word == ExecProtocol.Exit && int.TryParse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var status))
            {
                WaitStatus = status;
            }
            else if (word == ExecProtocol.Failed)
            {
                var parts = rest.Split(' ', 2);
                FailureCode = int.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture);
                Failure = parts.Length > 1 ? parts[1] : "";
            }
        }
    }

    private static async Task SendExecKillAsync(Socket status, int signal)
    {
        try
        {
            await status.SendAsync(Encoding.ASCII.GetBytes($"{ExecProtocol.Kill} {signal.ToString(CultureInfo.InvariantCulture)}\n"), SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // init already ended, so did the process; or the session was detached and init no longer listens.
        }
    }

    // Reads a pipe to its end on a thread of its own (a pipe read blocks; it must not hold a pool
    // thread for as long as the exec runs), keeping the first `limit` bytes.
    private sealed class OutputCapture
    {
        private readonly Lock _lock = new();
        private byte[] _kept = [];
        private int _length;

        public OutputCapture(Stream stream, int limit)
        {
            Completion = Task.Factory.StartNew(() => Read(stream, limit), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public Task Completion { get; }

        public string Text()
        {
            lock (_lock)
            {
                return Encoding.UTF8.GetString(_kept, 0, _length);
            }
        }

        private void Read(Stream stream, int limit)
        {
            using (stream)
            {
                var buffer = new byte[16 * 1024];
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    lock (_lock)
                    {
                        var take = Math.Min(n, limit - _length);
                        if (take > 0)
                        {
                            if (_length + take > _kept.Length)
                            {
                                Array.Resize(ref _kept, Math.Min(limit, Math.Max(_length + take, _kept.Length * 2)));
                            }
                            buffer.AsSpan(0, take).CopyTo(_kept.AsSpan(_length));
                            _length += take;
                        }
                    }
                }
            }
        }
    }
}
