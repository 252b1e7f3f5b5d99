using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ProtoSwarm.ContainerInit.Interop;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;
using static ProtoSwarm.ContainerInit.Interop.SocketMessages;

namespace ProtoSwarm.ContainerInit;

// Stage 1. A process that unshares CLONE_NEWPID does not enter the namespace itself; its next child is
// PID 1 there. The .NET runtime never forks managed code, so that child is this same binary again,
// started with posix_spawn (vfork-like: nothing managed runs in the child before exec). This process
// stays outside the container as its monitor, in a session of its own, for the container's whole life:
// it reaps PID 1 and reports its wait status, so the node host never has to be the container's parent;
// signals the container through a pidfd (no pid reuse); owns the container's stdout and stderr (two
// pipes it writes to the log, or with a TTY the terminal's master, whose output is the log's stdout); and listens on <state>/monitor.sock, where a restarted node host finds
// it again. A TTY container's terminal is also attached on <state>/attach.sock (docker's attach: run -it, start -ai): what
// the terminal prints goes to the connection as it is read, raw (the log still gets its lines), and the connection's
// messages are keys typed on it ('i') or its new size ('w'). Once started, nothing here allocates per line or per command.
internal static unsafe class ContainerMonitor
{
    private const int ChildStatusFd = 4;
    // After PID 1 ended, the kernel has killed the rest of its pid namespace, so the pipes reach end of
    // file at once; only a writer the container passed out of it could keep one open, and it is not waited for.
    private const int DrainTimeoutMs = 2000;
    private static readonly byte[] Stdout = "stdout"u8.ToArray();
    private static readonly byte[] Stderr = "stderr"u8.ToArray();

    // One container, reported on fd 3: the process ends with it.
    public static int Run(string configPath)
    {
        Detach();
        SpareFromOomKiller();
        var loop = new Loop(control: -1);
        return loop.Add(configPath, InitProtocol.StatusFd) ? loop.Run() : 1;
    }

    // The node host's shared monitor: fd 3 is a SOCK_SEQPACKET socket from the node host; each message
    // there is a container's config path with that container's status socket attached (SCM_RIGHTS).
    // Every container so handed over is supervised here exactly as a monitor of its own would; the
    // process ends once the node host has hung up and the last container has ended.
    public static int RunHost()
    {
        Detach();
        SpareFromOomKiller();
        Prioritise();
        fcntl(InitProtocol.StatusFd, F_SETFD, FD_CLOEXEC);
        return new Loop(InitProtocol.StatusFd).Run();
    }

    // The shared monitor is on the path of every container's start and carries every container's log: in a
    // burst it must not wait behind the hundred stage 2s it started (one process, one share of the CPU where
    // a hundred monitors had a hundred), nor behind busy containers later. A higher weight (nice -10; the
    // node host runs as root) and SCHED_RESET_ON_FORK, so the stage 2s and containers it starts get the
    // normal nice 0 back. Best effort: without it the monitor only works slower.
    private static void Prioritise()
    {
        var param = 0;
        _ = sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &param);
        _ = setpriority(PRIO_PROCESS, 0, -10);
    }

    // Under memory pressure the kernel's OOM killer picks by size and oom_score_adj. A monitor is small, but
    // killing it ends every container it supervises (all of a node host's, when shared) and loses their logs:
    // it is spared as containerd's shims are (-998, not -1000, so it still goes before the kernel panics).
    // Each stage 2 puts its container back at 0, docker's default (Stage2), so containers are not spared with it.
    private const int MonitorOomScoreAdjust = -998;

    private static void SpareFromOomKiller() => Native.SetOomScoreAdjust(MonitorOomScoreAdjust);

    private static void Detach()
    {
        // Not in the node host's session or process group: a signal to those does not reach the monitor.
        _ = setsid();
        signal(SIGPIPE, 1 /* SIG_IGN */);
    }

    // The five settings the monitor needs, read without the serializer: its metadata and caches would
    // stay in the heap of this process, which lives as long as the container.
    private static InitConfig ReadSettings(string path)
    {
        var config = new InitConfig();
        var reader = new System.Text.Json.Utf8JsonReader(File.ReadAllBytes(path));
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != System.Text.Json.JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }
                var name = reader.ValueSpan;
                reader.Read();
                if (name.SequenceEqual("stateDir"u8))
                {
                    config.StateDir = reader.GetString() ?? "";
                }
                else if (name.SequenceEqual("logPath"u8))
                {
                    config.LogPath = reader.GetString();
                }
                else if (name.SequenceEqual("logMaxBytes"u8))
                {
                    config.LogMaxBytes = reader.GetInt64();
                }
                else if (name.SequenceEqual("logMaxFiles"u8))
                {
                    config.LogMaxFiles = reader.GetInt32();
                }
                else if (name.SequenceEqual("tty"u8))
                {
                    config.Tty = reader.GetBoolean();
                }
                else if (name.SequenceEqual("stdinPath"u8))
                {
                    config.StdinPath = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InitException($"config {path}: {e.Message}");
        }
        return config;
    }

    private static int Listen(string path, int type = SOCK_STREAM)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > 107)
        {
            throw new InitException($"monitor socket {path}: longer than a unix socket path may be (107 bytes)");
        }
        var fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        Native.Check(fd, "monitor socket");
        var address = stackalloc byte[110];
        new Span<byte>(address, 110).Clear();
        *(ushort*)address = AF_UNIX;
        bytes.CopyTo(new Span<byte>(address + 2, 108));
        _ = unlink(path);
        Native.Check(bind(fd, address, (uint)(2 + bytes.Length + 1)), $"bind {path}");
        Native.Check(listen(fd, 4), $"listen {path}");
        return fd;
    }

    /// <summary>The directory stage 2 starts in (null: where the monitor is) and the config's path from there.</summary>
    private static (string? Directory, string File) Stage2Arguments(string configPath)
    {
        var slash = configPath.LastIndexOf('/');
        return slash < 0 ? (null, configPath) : (slash == 0 ? "/" : configPath[..slash], configPath[(slash + 1)..]);
    }

    private static int Spawn(string configPath, int childStatus, int stdout, int stderr, int terminal, string? stdin)
    {
        var actions = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var signals = NativeMemory.AllocZeroed(128);
        var blocked = NativeMemory.AllocZeroed(128);
        _ = posix_spawn_file_actions_init(actions);
        _ = posix_spawn_file_actions_adddup2(actions, childStatus, ChildStatusFd);
        if (terminal >= 0)
        {
            _ = posix_spawn_file_actions_adddup2(actions, terminal, InitProtocol.TerminalFd);
        }
        if (stdin is not null)
        {
            // The node host's FIFO (docker's -i). Non-blocking, so a FIFO without a writer could never hold up this
            // monitor (its spawn waits for the child's exec); stage 2 makes it blocking again.
            _ = posix_spawn_file_actions_addopen(actions, 0, stdin, O_RDONLY | O_NONBLOCK, 0);
        }
        if (stdout >= 0)
        {
            _ = posix_spawn_file_actions_adddup2(actions, stdout, 1);
            _ = posix_spawn_file_actions_adddup2(actions, stderr, 2);
        }
        else
        {
            _ = posix_spawn_file_actions_addopen(actions, 1, "/dev/null", O_WRONLY, 0);
            _ = posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0);
        }
        _ = posix_spawnattr_init(attr);
        _ = sigfillset(signals);
        // Blocked from its first instruction, so every thread of stage 2 has them blocked: an init
        // (InitProcess) reads them from a signalfd; without one, stage 2 unblocks them before its exec.
        InitProcess.HandledSignals(blocked);
        _ = posix_spawnattr_setsigdefault(attr, signals);
        _ = posix_spawnattr_setsigmask(attr, blocked);
        _ = posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
        // Stage 2 starts in the config's directory and is given its file name: with --init it stays PID 1, and its
        // /proc/1/cmdline ("protoswarm-init --stage2 config.json") is the container's to read; the host's path of
        // its state directory is not.
        var (directory, file) = Stage2Arguments(configPath);
        if (directory is not null)
        {
            _ = posix_spawn_file_actions_addchdir_np(actions, directory);
        }
        var argv = Native.CStrings(["protoswarm-init", Stage2.Flag, file]);
        var envp = Native.CStrings([]);
        int pid;
        var rc = posix_spawn(&pid, "/proc/self/exe", actions, attr, argv, envp);
        NativeMemory.Free(actions);
        NativeMemory.Free(attr);
        NativeMemory.Free(signals);
        NativeMemory.Free(blocked);
        if (rc != 0)
        {
            throw InitException.FromErrno("start container init", rc);
        }
        return pid;
    }

    private static void Send(int fd, string text) => Send(fd, Encoding.UTF8.GetBytes(text));

    // MSG_NOSIGNAL: a node host that went away is no reason to die. MSG_DONTWAIT: nor is one that stopped reading.
    private static void Send(int fd, ReadOnlySpan<byte> bytes)
    {
        if (fd < 0)
        {
            return;
        }
        fixed (byte* p = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = send(fd, p + done, bytes.Length - done, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
                {
                    continue;
                }
                if (n <= 0)
                {
                    return;
                }
                done += (int)n;
            }
        }
    }

    // The event loop: an epoll set over every container's descriptors (and the node host's control socket
    // in host mode). Each registration carries the container's serial number (never reused) and what the
    // descriptor is, so an event still queued for a descriptor closed earlier in the same batch is dropped.
    private sealed class Loop(int control)
    {
        private const int Kinds = 16;
        private const long ControlKey = -1;
        private readonly Dictionary<long, Container> _containers = [];
        private readonly int _epoll = epoll_create1(EPOLL_CLOEXEC);
        private readonly int _ownPidNamespace = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC, 0);
        private long _serial;
        private int _failed;

        public int Run()
        {
            Native.Check(_epoll, "epoll_create1");
            if (control >= 0)
            {
                Watch(control, ControlKey, 0);
            }
            var events = stackalloc EpollEvent[64];
            while (control >= 0 || _containers.Count > 0)
            {
                var ready = epoll_wait(_epoll, events, 64, Timeout());
                if (ready < 0 && Marshal.GetLastPInvokeError() != EINTR)
                {
                    throw InitException.FromErrno("epoll_wait", Marshal.GetLastPInvokeError());
                }
                for (var i = 0; i < ready; i++)
                {
                    var data = events[i].Data;
                    if (data == ControlKey * Kinds)
                    {
                        Receive();
                    }
                    else if (_containers.TryGetValue(data / Kinds, out var container))
                    {
                        try
                        {
                            container.Handle((Fd)(data % Kinds));
                        }
                        catch (Exception e)
                        {
                            // One container's failure is not the others': it is killed and reported ended.
                            container.Abort(e.Message);
                        }
                        if (container.Done)
                        {
                            _failed |= container.Failed ? 1 : 0;
                            _containers.Remove(container.Serial);
                        }
                    }
                }
                FinishOverdue();
            }
            return _failed;
        }

        // The containers whose log pipes were waited for long enough after PID 1 ended. Every wake-up (each
        // log line) comes through here, so nothing is allocated unless one is due.
        private void FinishOverdue()
        {
            var now = Native.Milliseconds();
            List<Container>? due = null;
            foreach (var container in _containers.Values)
            {
                if (container.DrainDeadline > 0 && now >= container.DrainDeadline)
                {
                    (due ??= []).Add(container);
                }
            }
            foreach (var container in due ?? [])
            {
                container.Finish();
                _containers.Remove(container.Serial);
            }
        }

        private int Timeout()
        {
            long deadline = 0;
            foreach (var container in _containers.Values)
            {
                if (container.DrainDeadline > 0 && (deadline == 0 || container.DrainDeadline < deadline))
                {
                    deadline = container.DrainDeadline;
                }
            }
            return deadline == 0 ? -1 : (int)Math.Max(0, deadline - Native.Milliseconds());
        }

        public void Watch(int fd, long serial, Fd kind)
        {
            var ev = new EpollEvent { Events = EPOLLIN, Data = serial * Kinds + (long)kind };
            Native.Check(epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev), "epoll_ctl");
        }

        public void Unwatch(int fd) => _ = epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, null);

        /// <summary>Starts supervising the container of <paramref name="configPath"/>; false (and the error
        /// reported on <paramref name="status"/>, which is then closed) when its stage 2 could not be started.</summary>
        public bool Add(string configPath, int status)
        {
            var container = new Container(this, ++_serial, status);
            if (!container.Start(configPath, _ownPidNamespace))
            {
                _failed = 1;
                return false;
            }
            _containers.Add(container.Serial, container);
            return true;
        }

        // One message from the node host: a config path and, attached, the container's status socket.
        private void Receive()
        {
            var path = stackalloc byte[4096];
            var cmsg = stackalloc byte[OneDescriptorSpace];
            var iov = new IoVec { Base = path, Length = 4096 };
            var header = new MsgHdr { Iov = &iov, IovLen = 1, Control = cmsg, ControlLen = OneDescriptorSpace };
            var n = recvmsg(control, &header, MSG_CMSG_CLOEXEC);
            if (n < 0 && Marshal.GetLastPInvokeError() is EINTR or EAGAIN)
            {
                return;
            }
            var status = TakeDescriptor(cmsg, header.ControlLen);
            if (n <= 0)
            {
                // The node host hung up: no more containers come; the ones here are served to their end.
                if (status >= 0)
                {
                    close(status);
                }
                close(control);
                control = -1;
                return;
            }
            if (status < 0)
            {
                return; // a message without its socket: nobody to answer
            }
            Add(Encoding.UTF8.GetString(path, (int)n), status);
        }
    }

    private enum Fd
    {
        Failure = 1,
        Pid = 2,
        Stdout = 3,
        Stderr = 4,
        Host = 5,
        Listener = 6,
        Client = 7,
        AttachListener = 8,
        Attach = 9,
    }

    // One container: stage 2 started, then (once it exec'd the entrypoint) PID 1's pidfd, the two log
    // pipes (with a TTY, the terminal's master in the stdout slot and no stderr), the host's status socket, monitor.sock and the one connection accepted from it (a second
    // host waits in the backlog until the first hangs up).
    private sealed class Container(Loop loop, long serial, int status)
    {
        private readonly Commands _host = new() { Fd = status };
        private readonly Commands _client = new() { Fd = -1 };
        private readonly StringBuilder _failure = new();
        private InitConfig _config = null!;
        private string? _socketPath;
        private int _listener = -1;
        private int _failurePipe = -1;
        private int _terminalSocket = -1;
        private int _pid;
        private int _pidfd = -1;
        private int _wait;
        private byte[] _started = [];
        private LogPipe? _stdout;
        private LogPipe? _stderr;
        private LogWriter? _log;
        private TerminalAttach? _terminal;

        public long Serial => serial;
        public bool Done { get; private set; }
        /// <summary>After PID 1 ended: when the log pipes stop being waited for (milliseconds, CLOCK_MONOTONIC); 0 before.</summary>
        public long DrainDeadline { get; private set; }

        public bool Start(string configPath, int ownPidNamespace)
        {
            int* pipe = stackalloc int[2] { -1, -1 };
            int* stdout = stackalloc int[2] { -1, -1 };
            int* stderr = stackalloc int[2] { -1, -1 };
            int* terminal = stackalloc int[2] { -1, -1 };
            try
            {
                _config = ReadSettings(configPath);
                _socketPath = _config.StateDir + "/" + InitProtocol.MonitorSocket;
                _listener = Listen(_socketPath);
                if (_config.Tty)
                {
                    // Stage 2 sends the terminal's master here; its stdout and stderr are /dev/null until it
                    // puts the terminal in their place.
                    Native.Check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, terminal), "socketpair");
                }
                else if (_config.LogPath is not null)
                {
                    Native.Check(pipe2(stdout, O_CLOEXEC), "pipe");
                    Native.Check(pipe2(stderr, O_CLOEXEC), "pipe");
                }
                if (_config.LogPath is not null)
                {
                    _log = new LogWriter(_config.LogPath, _config.LogMaxBytes, _config.LogMaxFiles);
                }
                if (_config.Tty)
                {
                    _terminal = new TerminalAttach(loop, serial, _config.StateDir + "/" + InitProtocol.AttachSocket);
                }
                Native.Check(pipe2(pipe, O_CLOEXEC), "pipe");
                // The children of this thread go into a new pid namespace (the container's), made anew for
                // each container: back to this process's own first, or the second unshare is refused.
                if (ownPidNamespace >= 0)
                {
                    Native.Check(setns(ownPidNamespace, CLONE_NEWPID), "setns pid namespace");
                }
                Native.Check(unshare(CLONE_NEWPID), "unshare pid namespace");
                _pid = Spawn(configPath, pipe[1], stdout[1], stderr[1], terminal[1], _config.Tty ? null : _config.StdinPath);
                _failurePipe = pipe[0];
                pipe[0] = -1;
                _terminalSocket = terminal[0];
                terminal[0] = -1;
                if (_config.LogPath is not null && !_config.Tty)
                {
                    _stdout = new LogPipe(stdout[0], Stdout);
                    _stderr = new LogPipe(stderr[0], Stderr);
                    stdout[0] = stderr[0] = -1;
                }
                loop.Watch(_failurePipe, serial, Fd.Failure);
                return true;
            }
            catch (InitException e)
            {
                CloseOpen(pipe[0], stdout[0], stderr[0], terminal[0]);
                CloseTerminalSocket();
                _terminal?.Close();
                Fail(e.Message);
                return false;
            }
            finally
            {
                CloseOpen(pipe[1], stdout[1], stderr[1], terminal[1]);
            }
        }

        private static void CloseOpen(int a, int b, int c, int d)
        {
            foreach (var fd in (ReadOnlySpan<int>)[a, b, c, d])
            {
                if (fd >= 0)
                {
                    close(fd);
                }
            }
        }

        public void Handle(Fd fd)
        {
            switch (fd)
            {
                case Fd.Failure when _failurePipe >= 0:
                    ReadFailure();
                    break;
                case Fd.Pid when _pidfd >= 0:
                    Reap();
                    loop.Unwatch(_pidfd);
                    close(_pidfd);
                    _pidfd = -1;
                    // Ended: no more commands or connections, only the last of the log.
                    StopServing();
                    DrainDeadline = Native.Milliseconds() + DrainTimeoutMs;
                    FinishIfDrained();
                    break;
                case Fd.Stdout when _stdout is { Fd: >= 0 }:
                    _stdout.Pump(_log);
                    _log?.Flush();
                    FinishIfDrained();
                    break;
                case Fd.Stderr when _stderr is { Fd: >= 0 }:
                    _stderr.Pump(_log!);
                    _log!.Flush();
                    FinishIfDrained();
                    break;
                case Fd.Host when _host.Fd >= 0:
                    _host.Serve(_pidfd);
                    break;
                case Fd.Listener when _listener >= 0 && _client.Fd < 0:
                    _client.Fd = accept4(_listener, null, null, SOCK_CLOEXEC);
                    _client.Length = 0;
                    if (_client.Fd >= 0)
                    {
                        loop.Unwatch(_listener);
                        loop.Watch(_client.Fd, serial, Fd.Client);
                        Send(_client.Fd, _started);
                    }
                    break;
                case Fd.Client when _client.Fd >= 0:
                    _client.Serve(_pidfd);
                    if (_client.Fd < 0 && _listener >= 0)
                    {
                        loop.Watch(_listener, serial, Fd.Listener);
                    }
                    break;
                case Fd.AttachListener:
                    _terminal?.Accept();
                    break;
                case Fd.Attach:
                    _terminal?.Serve();
                    break;
            }
        }

        private void Reap()
        {
            int wait;
            while (waitpid(_pid, &wait, 0) < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
            }
            _wait = wait;
        }

        // Stage 2 closes its end of the pipe by its exec (close-on-exec): nothing read means the entrypoint
        // runs; otherwise it wrote why it failed before exiting.
        private void ReadFailure()
        {
            var buffer = stackalloc byte[1024];
            var n = read(_failurePipe, buffer, 1024);
            if (n < 0 && Marshal.GetLastPInvokeError() is EINTR or EAGAIN)
            {
                return;
            }
            if (n > 0)
            {
                _failure.Append(Encoding.UTF8.GetString(buffer, (int)n));
                return;
            }
            close(_failurePipe);
            _failurePipe = -1;
            if (_failure.Length > 0)
            {
                EndStart(_failure.ToString().TrimEnd('\n'));
                return;
            }
            if (_terminalSocket >= 0)
            {
                // Stage 2 sent the terminal before its exec; read even without a log, or a chatty process would
                // block once the terminal's buffer is full.
                var master = Terminal.Receive(_terminalSocket);
                CloseTerminalSocket();
                if (master < 0)
                {
                    _ = kill(_pid, SIGKILL);
                    EndStart("container init: the terminal did not reach the monitor");
                    return;
                }
                _stdout = new LogPipe(master, Stdout) { Tee = _terminal };
                _terminal?.Started(master);
            }
            _started = Encoding.ASCII.GetBytes($"{InitProtocol.Started} {_pid.ToString(CultureInfo.InvariantCulture)}\n");
            Send(_host.Fd, _started);
            _pidfd = (int)syscall(SYS_pidfd_open, _pid, 0, 0, 0, 0, 0);
            Native.Check(_pidfd, "pidfd_open");
            loop.Watch(_pidfd, serial, Fd.Pid);
            if (_stdout is not null)
            {
                loop.Watch(_stdout.Fd, serial, Fd.Stdout);
            }
            if (_stderr is not null)
            {
                loop.Watch(_stderr.Fd, serial, Fd.Stderr);
            }
            if (_host.Fd >= 0)
            {
                loop.Watch(_host.Fd, serial, Fd.Host);
            }
            loop.Watch(_listener, serial, Fd.Listener);
        }

        private void StopServing()
        {
            if (_host.Fd >= 0)
            {
                loop.Unwatch(_host.Fd);
            }
            if (_client.Fd >= 0)
            {
                loop.Unwatch(_client.Fd);
            }
            else if (_listener >= 0)
            {
                loop.Unwatch(_listener);
            }
        }

        private void FinishIfDrained()
        {
            if (DrainDeadline > 0 && (_stdout?.Fd ?? -1) < 0 && (_stderr?.Fd ?? -1) < 0)
            {
                Finish();
            }
        }

        /// <summary>PID 1 ended and its output was read (or waited for long enough): the exit file, then
        /// "exit" to the host that started the container and to the one connected, if any.</summary>
        public void Finish()
        {
            if (Done)
            {
                return;
            }
            Done = true;
            DrainDeadline = 0;
            _stdout?.Close();
            _stderr?.Close();
            _log?.Close();
            // After the last of the terminal's output: an attached client reads its end, then asks for the exit code.
            _terminal?.Close();
            // The exit file first: a node host that is down now learns the end from it when it comes back.
            var exitFile = _config.StateDir + "/" + InitProtocol.ExitFile;
            try
            {
                Native.WriteFile(exitFile + ".tmp", _wait.ToString(CultureInfo.InvariantCulture) + "\n", "write exit status");
                _ = rename(exitFile + ".tmp", exitFile);
            }
            catch (InitException)
            {
            }
            _ = unlink(_socketPath!);
            var exit = Encoding.ASCII.GetBytes($"{InitProtocol.Exit} {_wait.ToString(CultureInfo.InvariantCulture)}\n");
            Send(_host.Fd, exit);
            Send(_client.Fd, exit);
            _host.Close();
            _client.Close();
            close(_listener);
            _listener = -1;
        }

        public bool Failed { get; private set; }

        /// <summary>A step of the monitor's own failed while the container ran: PID 1 is killed (its pid
        /// namespace goes with it) and the end reported as usual.</summary>
        public void Abort(string message)
        {
            if (Done)
            {
                return;
            }
            if (_failurePipe >= 0 || _pidfd < 0 && DrainDeadline == 0)
            {
                close(_failurePipe);
                _failurePipe = -1;
                _ = kill(_pid, SIGKILL);
                EndStart("monitor: " + message);
                return;
            }
            if (_pidfd >= 0)
            {
                _ = syscall(SYS_pidfd_send_signal, _pidfd, SIGKILL, 0, 0, 0, 0);
                Reap();
                close(_pidfd);
                _pidfd = -1;
            }
            Finish();
        }

        private void CloseTerminalSocket()
        {
            if (_terminalSocket >= 0)
            {
                close(_terminalSocket);
                _terminalSocket = -1;
            }
        }

        // Stage 2 ended before the entrypoint ran: it is reaped, and the start reported failed.
        private void EndStart(string message)
        {
            int ignored;
            waitpid(_pid, &ignored, 0);
            CloseTerminalSocket(); // with a terminal stage 2 sent, which closes with it
            _terminal?.Close();
            _stdout?.Close();
            _stderr?.Close();
            _log?.Close();
            Fail(message);
            Done = true;
        }

        private void Fail(string message)
        {
            Failed = true;
            if (_listener >= 0)
            {
                close(_listener);
                _listener = -1;
                _ = unlink(_socketPath!);
            }
            Send(_host.Fd, $"{InitProtocol.Error} {message}\n");
            _host.Close();
            _client.Close();
        }
    }

    // A TTY container's terminal, attached (docker's attach) on attach.sock, a SOCK_SEQPACKET socket: one client at a time,
    // a newer one taking the place of the one before (the node host attaches again). What the terminal printed before the
    // first client came (a shell's first prompt: the node host connects once the start is reported) is kept, up to
    // EarlyBytes, and given to it first. Sends never wait: this monitor serves every container, and a client that falls
    // more than its socket's buffer (4 MiB) behind loses output there; the log keeps it. Keys go to the terminal's master,
    // made non-blocking: what a full terminal takes no more is dropped, as a terminal drops keys nobody reads.
    private sealed class TerminalAttach : IOutputTee
    {
        private const int EarlyBytes = 16 * 1024;
        private const int InputBytes = 4096 + 1;
        private const int SendBuffer = 4 * 1024 * 1024;
        private readonly Loop _loop;
        private readonly long _serial;
        private readonly string _path;
        private readonly byte* _input;
        private byte* _early;
        private int _earlyLength;
        private int _listener;
        private int _client = -1;
        private int _master = -1;
        private bool _closed;

        public TerminalAttach(Loop loop, long serial, string path)
        {
            _loop = loop;
            _serial = serial;
            _path = path;
            _listener = Listen(path, SOCK_SEQPACKET | SOCK_NONBLOCK);
            _input = (byte*)NativeMemory.Alloc(InputBytes);
            _early = (byte*)NativeMemory.Alloc(EarlyBytes);
        }

        /// <summary>The entrypoint runs on the terminal whose master is <paramref name="master"/> (read by the log's pipe): clients are taken now.</summary>
        public void Started(int master)
        {
            _master = master;
            _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL, 0) | O_NONBLOCK);
            _loop.Watch(_listener, _serial, Fd.AttachListener);
        }

        public void Accept()
        {
            if (_closed)
            {
                return;
            }
            var fd = accept4(_listener, null, null, SOCK_CLOEXEC);
            if (fd < 0)
            {
                return;
            }
            if (_client >= 0)
            {
                _loop.Unwatch(_client);
                close(_client);
            }
            _client = fd;
            var size = SendBuffer;
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(int)); // best effort: the default buffer is smaller
            if (_early is not null)
            {
                Send(_client, new ReadOnlySpan<byte>(_early, _earlyLength));
                NativeMemory.Free(_early);
                _early = null;
            }
            _loop.Watch(_client, _serial, Fd.Attach);
        }

        public void Output(ReadOnlySpan<byte> bytes)
        {
            if (_client >= 0)
            {
                Send(_client, bytes);
            }
            else if (_early is not null && _earlyLength < EarlyBytes)
            {
                var part = bytes[..Math.Min(bytes.Length, EarlyBytes - _earlyLength)];
                part.CopyTo(new Span<byte>(_early + _earlyLength, part.Length));
                _earlyLength += part.Length;
            }
        }

        // One message from the client: keys, or a size.
        public void Serve()
        {
            if (_client < 0)
            {
                return;
            }
            var n = read(_client, _input, InputBytes);
            if (n < 0 && Marshal.GetLastPInvokeError() is EINTR or EAGAIN)
            {
                return;
            }
            if (n <= 0)
            {
                _loop.Unwatch(_client);
                close(_client);
                _client = -1; // detached: the container goes on
                return;
            }
            if (_master < 0)
            {
                return;
            }
            if (_input[0] == InitProtocol.AttachInput)
            {
                var done = 1;
                while (done < n)
                {
                    var written = write(_master, _input + done, (nint)(n - done));
                    if (written < 0 && Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }
                    if (written <= 0)
                    {
                        break;
                    }
                    done += (int)written;
                }
            }
            else if (_input[0] == InitProtocol.AttachResize && n == 5)
            {
                var size = stackalloc ushort[4] { (ushort)((_input[1] << 8) | _input[2]), (ushort)((_input[3] << 8) | _input[4]), 0, 0 };
                _ = ioctl(_master, TIOCSWINSZ, size);
            }
        }

        /// <summary>The container ended (after the last of its output) or never started: a client that connected meanwhile
        /// still gets what came before it, then every client reads the end.</summary>
        public void Close()
        {
            if (_closed)
            {
                return;
            }
            if (_listener >= 0 && _master >= 0)
            {
                Accept();
            }
            _closed = true;
            _master = -1;
            if (_client >= 0)
            {
                _loop.Unwatch(_client);
                close(_client);
                _client = -1;
            }
            if (_listener >= 0)
            {
                _loop.Unwatch(_listener);
                close(_listener);
                _ = unlink(_path);
                _listener = -1;
            }
            if (_early is not null)
            {
                NativeMemory.Free(_early);
                _early = null;
            }
            NativeMemory.Free(_input);
        }
    }

    // "kill <signal>\n" lines from one peer, in a fixed buffer; a peer that hangs up leaves the container running.
    private sealed class Commands
    {
        private const int Capacity = 64;
        private readonly byte* _buffer = (byte*)NativeMemory.Alloc(Capacity);
        private bool _freed;

        public int Fd;
        public int Length;

        public void Serve(int pidfd)
        {
            var n = read(Fd, _buffer + Length, Capacity - Length);
            if (n < 0 && Marshal.GetLastPInvokeError() is EINTR or EAGAIN)
            {
                return;
            }
            if (n <= 0)
            {
                close(Fd);
                Fd = -1;
                return;
            }
            Length += (int)n;
            var data = new Span<byte>(_buffer, Length);
            int newline;
            while ((newline = data.IndexOf((byte)'\n')) >= 0)
            {
                var line = data[..newline];
                if (line.StartsWith("kill "u8) && int.TryParse(line[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var signal))
                {
                    // pidfd_send_signal (424): the signal reaches this PID 1 or nobody.
                    syscall(424, pidfd, signal, 0, 0, 0, 0);
                }
                data = data[(newline + 1)..];
            }
            if (data.Length == Capacity)
            {
                data = []; // no command is that long
            }
            data.CopyTo(new Span<byte>(_buffer, Capacity));
            Length = data.Length;
        }

        /// <summary>Hangs up and frees the buffer: the container is done with.</summary>
        public void Close()
        {
            if (Fd >= 0)
            {
                close(Fd);
                Fd = -1;
            }
            if (!_freed)
            {
                _freed = true;
                NativeMemory.Free(_buffer);
            }
        }
    }
}
