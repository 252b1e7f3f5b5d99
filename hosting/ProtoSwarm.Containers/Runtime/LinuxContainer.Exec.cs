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
            Env = [.. spec.Env],
            User = spec.User,
            WorkingDir = spec.WorkingDir,
        };
        sys.WriteFile(configPath, JsonSerializer.Serialize(config, ExecConfigJson.Default.ExecConfig));
        try
        {
            return await RunExecAsync(spec, sys, time, initPath, configPath, cancellationToken);
        }
        finally
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
    }

    private static async Task<ExecResult> RunExecAsync(ExecSpecification spec, ISyscalls sys, TimeProvider time, string initPath,
        string configPath, CancellationToken cancellationToken)
    {
        var process = sys.SpawnExec(initPath, configPath);
        var stdout = new OutputCapture(process.Stdout, spec.OutputLimit);
        var stderr = new OutputCapture(process.Stderr, spec.OutputLimit);
        int? waitStatus = null;
        string? failure = null;
        var failureCode = 0;
        var timedOut = false;
        using (process.Status)
        {
            using var deadline = spec.Timeout is { } timeout ? new CancellationTokenSource(timeout, time) : new CancellationTokenSource();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            var reader = new StatusReader(process.Status);
            var killed = false;
            while (true)
            {
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(killed ? CancellationToken.None : stop.Token);
                }
                catch (OperationCanceledException) when (!killed)
                {
                    // init kills the process group, then reports the end as usual.
                    killed = true;
                    timedOut = deadline.IsCancellationRequested;
                    await SendExecKillAsync(process.Status, 9);
                    continue;
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    break;
                }
                if (line is null)
                {
                    break;
                }
                var (word, rest) = line.IndexOf(' ', StringComparison.Ordinal) is var space and > 0 ? (line[..space], line[(space + 1)..]) : (line, "");
                if (word == ExecProtocol.Exit && int.TryParse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var status))
                {
                    waitStatus = status;
                }
                else if (word == ExecProtocol.Failed)
                {
                    var parts = rest.Split(' ', 2);
                    failureCode = int.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture);
                    failure = parts.Length > 1 ? parts[1] : "";
                }
            }
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
        if (failure is not null && failureCode == ExecProtocol.NotEntered)
        {
            throw new ContainerExecException(failure);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var exitCode = failure is not null
            ? failureCode
            : ContainerExit.FromWaitStatus(waitStatus ?? initStatus, oomKilled: false).ExitCode;
        return new ExecResult(exitCode, stdout.Text(), stderr.Text(), timedOut);
    }

    private static async Task SendExecKillAsync(Socket status, int signal)
    {
        try
        {
            await status.SendAsync(Encoding.ASCII.GetBytes($"{ExecProtocol.Kill} {signal.ToString(CultureInfo.InvariantCulture)}\n"), SocketFlags.None);
        }
        catch (SocketException)
        {
            // init already ended: so did the process.
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
