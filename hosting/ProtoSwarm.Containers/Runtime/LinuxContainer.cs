using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// One container started through protoswarm-init. Init stays outside the container as its monitor
/// (a child of this process): it reports "started", then the container's wait status, on a socket,
/// and delivers signals through a pidfd, so nothing here ever signals a pid that may have been reused.
/// </summary>
public sealed partial class LinuxContainer : IAsyncDisposable
{
    private readonly ISyscalls _sys;
    private readonly ICgroupDriver _cgroups;
    private readonly CgroupPlacement _placement;
    private readonly ContainerPaths _paths;
    private readonly InitProcess _init;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource<ContainerExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _send = new(1, 1);
    private int _removed;

    private LinuxContainer(string id, int pid, ISyscalls sys, ICgroupDriver cgroups, CgroupPlacement placement,
        ContainerPaths paths, InitProcess init, TimeProvider time)
    {
        Id = id;
        Pid = pid;
        _sys = sys;
        _cgroups = cgroups;
        _placement = placement;
        _paths = paths;
        _init = init;
        _time = time;
    }

    public string Id { get; }

    /// <summary>The container's PID 1 as this node sees it.</summary>
    public int Pid { get; }

    /// <summary>The cgroup driver chosen for this node, "cgroupfs v1" or "cgroupfs v2".</summary>
    public string CgroupDriver => _cgroups.Name;

    /// <summary>Starts the container and returns once its entrypoint was exec'd; a failure of any step
    /// throws <see cref="ContainerStartException"/> naming it, and leaves nothing behind.</summary>
    public static Task<LinuxContainer> StartAsync(ContainerSpecification spec, ContainerRuntimeOptions options, CancellationToken cancellationToken = default)
    {
        var sys = LinuxSyscalls.Instance;
        return StartAsync(spec, options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, cancellationToken);
    }

    internal static async Task<LinuxContainer> StartAsync(ContainerSpecification spec, ContainerRuntimeOptions options,
        ISyscalls sys, ICgroupDriver cgroups, TimeProvider time, CancellationToken cancellationToken)
    {
        var problems = InitConfigBuilder.Validate(spec, sys);
        if (problems.Count > 0)
        {
            throw new InvalidContainerSpecificationException(problems);
        }
        if (!sys.FileExists(options.InitPath))
        {
            throw new ContainerStartException($"container init: {options.InitPath} not found (publish hosting/ProtoSwarm.ContainerInit next to protoswarmd)");
        }
        var paths = new ContainerPaths(Path.Combine(options.StateRoot, spec.Id));
        if (sys.DirectoryExists(paths.Root))
        {
            throw new ContainerStartException($"container {spec.Id} already exists ({paths.Root})");
        }

        CgroupPlacement? placement = null;
        InitProcess? init = null;
        try
        {
            sys.CreateDirectory(paths.Upper);
            sys.CreateDirectory(paths.Work);
            sys.CreateDirectory(paths.Rootfs);
            placement = cgroups.Create(spec.Id, spec.Resources);
            var resolv = sys.FileExists("/etc/resolv.conf") ? sys.ReadFile("/etc/resolv.conf") : "";
            var config = InitConfigBuilder.Build(spec, paths, placement, resolv);
            sys.WriteFile(paths.Config, JsonSerializer.Serialize(config, InitConfigJson.Default.InitConfig));

            init = sys.SpawnInit(options.InitPath, paths.Config, spec.StdoutPath, spec.StderrPath);
            var reader = new StatusReader(init.Status);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ContainerStartException($"container init: no answer within {options.StartTimeout.TotalSeconds:0.#} s");
            }
            if (line is not null && line.StartsWith(InitProtocol.Started + " ", StringComparison.Ordinal))
            {
                var pid = int.Parse(line.AsSpan(InitProtocol.Started.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture);
                var container = new LinuxContainer(spec.Id, pid, sys, cgroups, placement, paths, init, time);
                container._initPath = options.InitPath;
                _ = container.WatchAsync(reader);
                return container;
            }
            throw new ContainerStartException(StartFailure(line));
        }
        catch (Exception e) when (e is not ContainerStartException and not OperationCanceledException)
        {
            Cleanup(sys, cgroups, placement, paths, init);
            throw new ContainerStartException($"container init: {e.Message}", e);
        }
        catch
        {
            Cleanup(sys, cgroups, placement, paths, init);
            throw;
        }
    }

    internal static string StartFailure(string? line)
    {
        if (line is null)
        {
            return "container init: exited without reporting (see the node host's log)";
        }
        var message = line.StartsWith(InitProtocol.Error + " ", StringComparison.Ordinal) ? line[(InitProtocol.Error.Length + 1)..] : line;
        // An entrypoint that cannot run reads as docker shows it; every other step names init.
        return message.StartsWith("exec:", StringComparison.Ordinal) ? message : "container init: " + message;
    }

    private static void Cleanup(ISyscalls sys, ICgroupDriver cgroups, CgroupPlacement? placement, ContainerPaths paths, InitProcess? init)
    {
        if (init is not null)
        {
            init.Status.Dispose();
            sys.Reap(init.Pid);
        }
        if (placement is not null)
        {
            cgroups.Remove(placement);
        }
        sys.RemoveTree(paths.Root);
    }

    /// <summary>Completes when the container's PID 1 has ended: its exit code (128 + signal when a signal
    /// ended it) and whether the memory cgroup's OOM killer did it.</summary>
    public Task<ContainerExit> WaitAsync(CancellationToken cancellationToken = default) => _exit.Task.WaitAsync(cancellationToken);

    /// <summary>Sends a signal to the container's PID 1 (a signal it has no handler for is ignored by a PID 1, except SIGKILL).</summary>
    public async Task KillAsync(int signal, CancellationToken cancellationToken = default)
    {
        if (_exit.Task.IsCompleted)
        {
            return;
        }
        await _send.WaitAsync(cancellationToken);
        try
        {
            await _init.Status.SendAsync(Encoding.ASCII.GetBytes($"{InitProtocol.Kill} {signal.ToString(CultureInfo.InvariantCulture)}\n"), cancellationToken);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // init is gone, so is the container: WaitAsync has or will have its end.
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>Docker's stop: the stop signal, then SIGKILL once the grace period has passed.</summary>
    public async Task<ContainerExit> StopAsync(int signal = 15, TimeSpan? grace = null, CancellationToken cancellationToken = default)
    {
        await KillAsync(signal, cancellationToken);
        try
        {
            return await _exit.Task.WaitAsync(grace ?? TimeSpan.FromSeconds(10), _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            await KillAsync(9, cancellationToken);
            return await _exit.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Kills the container if it still runs, then removes its cgroups, writable layer and state
    /// (its mounts lived in its own mount namespace and went with it).</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken = default)
    {
        if (!_exit.Task.IsCompleted)
        {
            await KillAsync(9, cancellationToken);
            await _exit.Task.WaitAsync(cancellationToken);
        }
        if (Interlocked.Exchange(ref _removed, 1) == 0)
        {
            _cgroups.Remove(_placement);
            _sys.RemoveTree(_paths.Root);
        }
    }

    public async ValueTask DisposeAsync() => await RemoveAsync();

    private async Task WatchAsync(StatusReader reader)
    {
        var status = -1;
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync(CancellationToken.None)) is not null)
            {
                if (line.StartsWith(InitProtocol.Exit + " ", StringComparison.Ordinal))
                {
                    status = int.Parse(line.AsSpan(InitProtocol.Exit.Length + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        await Task.Run(() => _sys.Reap(_init.Pid));
        _init.Status.Dispose();
        if (status < 0)
        {
            // The monitor died without a word (killed): the container died with its pid namespace's... or not; say so.
            _exit.TrySetResult(new ContainerExit(137, 9, false));
            return;
        }
        var exit = ContainerExit.FromWaitStatus(status, oomKilled: false);
        var oom = exit.Signal == 9 && _cgroups.WasOomKilled(_placement);
        _exit.TrySetResult(exit with { OomKilled = oom });
    }

    private sealed class StatusReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[512];
        private readonly StringBuilder _pending = new();
        private bool _eof;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var text = _pending.ToString();
                var newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline >= 0)
                {
                    _pending.Remove(0, newline + 1);
                    return text[..newline];
                }
                if (_eof)
                {
                    return null;
                }
                var n = await socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    _eof = true;
                    if (_pending.Length > 0)
                    {
                        var rest = _pending.ToString();
                        _pending.Clear();
                        return rest;
                    }
                    return null;
                }
                _pending.Append(Encoding.UTF8.GetString(_buffer, 0, n));
            }
        }
    }
}
