using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ProtoSwarm.ContainerInit.Interop;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;

namespace ProtoSwarm.ContainerInit;

// Stage 1. A process that unshares CLONE_NEWPID does not enter the namespace itself; its next child is
// PID 1 there. The .NET runtime never forks managed code, so that child is this same binary again,
// started with posix_spawn (vfork-like: nothing managed runs in the child before exec). This process
// stays outside the container as its monitor, in a session of its own, for the container's whole life:
// it reaps PID 1 and reports its wait status, so the node host never has to be the container's parent;
// signals the container through a pidfd (no pid reuse); owns the container's stdout and stderr (two
// pipes it writes to the log); and listens on <state>/monitor.sock, where a restarted node host finds
// it again. Once started, nothing here allocates per line or per command.
internal static unsafe class ContainerMonitor
{
    private const int ChildStatusFd = 4;
    // After PID 1 ended, the kernel has killed the rest of its pid namespace, so the pipes reach end of
    // file at once; only a writer the container passed out of it could keep one open, and it is not waited for.
    private const int DrainTimeoutMs = 2000;
    private static readonly byte[] Stdout = "stdout"u8.ToArray();
    private static readonly byte[] Stderr = "stderr"u8.ToArray();

    public static int Run(string configPath)
    {
        var status = InitProtocol.StatusFd;
        fcntl(status, F_SETFD, FD_CLOEXEC);
        // Not in the node host's session or process group: a signal to those does not reach the monitor.
        _ = setsid();
        signal(SIGPIPE, 1 /* SIG_IGN */);
        int* pipe = stackalloc int[2];
        int* stdout = stackalloc int[2] { -1, -1 };
        int* stderr = stackalloc int[2] { -1, -1 };
        var listener = -1;
        string? socketPath = null;
        try
        {
            var config = ReadSettings(configPath);
            socketPath = config.StateDir + "/" + InitProtocol.MonitorSocket;
            listener = Listen(socketPath);
            if (config.LogPath is not null)
            {
                Native.Check(pipe2(stdout, O_CLOEXEC), "pipe");
                Native.Check(pipe2(stderr, O_CLOEXEC), "pipe");
            }
            var log = config.LogPath is null ? null : new LogWriter(config.LogPath, config.LogMaxBytes, config.LogMaxFiles);
            Native.Check(pipe2(pipe, O_CLOEXEC), "pipe");
            Native.Check(unshare(CLONE_NEWPID), "unshare pid namespace");
            var pid = Spawn(configPath, pipe[1], stdout[1], stderr[1]);
            close(pipe[1]);
            close(stdout[1]);
            close(stderr[1]);
            var failure = ReadToEnd(pipe[0]);
            close(pipe[0]);
            if (failure.Length > 0)
            {
                int ignored;
                waitpid(pid, &ignored, 0);
                close(listener);
                _ = unlink(socketPath);
                Send(status, $"{InitProtocol.Error} {failure.TrimEnd('\n')}\n");
                return 1;
            }
            var started = Encoding.ASCII.GetBytes($"{InitProtocol.Started} {pid.ToString(CultureInfo.InvariantCulture)}\n");
            Send(status, started);
            var monitor = new Supervisor(pid, status, listener, started,
                log is null ? null : new LogPipe(stdout[0], Stdout), log is null ? null : new LogPipe(stderr[0], Stderr), log);
            var wait = monitor.Run();
            log?.Close();

            // The exit file first: a node host that is down now learns the end from it when it comes back.
            var exit = $"{InitProtocol.Exit} {wait.ToString(CultureInfo.InvariantCulture)}\n";
            var exitFile = config.StateDir + "/" + InitProtocol.ExitFile;
            try
            {
                Native.WriteFile(exitFile + ".tmp", wait.ToString(CultureInfo.InvariantCulture) + "\n", "write exit status");
                _ = rename(exitFile + ".tmp", exitFile);
            }
            catch (InitException)
            {
            }
            _ = unlink(socketPath);
            monitor.Ended(exit);
            return 0;
        }
        catch (InitException e)
        {
            if (listener >= 0)
            {
                close(listener);
                _ = unlink(socketPath!);
            }
            Send(status, $"{InitProtocol.Error} {e.Message}\n");
            return 1;
        }
    }

    // The four settings the monitor needs, read without the serializer: its metadata and caches would
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

    private static int Listen(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > 107)
        {
            throw new InitException($"monitor socket {path}: longer than a unix socket path may be (107 bytes)");
        }
        var fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

    private static int Spawn(string configPath, int childStatus, int stdout, int stderr)
    {
        var actions = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var signals = NativeMemory.AllocZeroed(128);
        var blocked = NativeMemory.AllocZeroed(128);
        _ = posix_spawn_file_actions_init(actions);
        _ = posix_spawn_file_actions_adddup2(actions, childStatus, ChildStatusFd);
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
        var argv = Native.CStrings(["protoswarm-init", Stage2.Flag, configPath]);
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

    private static string ReadToEnd(int fd)
    {
        var text = new StringBuilder();
        var buffer = stackalloc byte[1024];
        while (true)
        {
            var n = read(fd, buffer, 1024);
            if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
                continue;
            }
            if (n <= 0)
            {
                return text.ToString();
            }
            text.Append(Encoding.UTF8.GetString(buffer, (int)n));
        }
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

    // The poll loop: PID 1's pidfd, the two log pipes, the host's status socket (fd 3), monitor.sock and
    // the one connection accepted from it (a second host waits in the backlog until the first hangs up).
    private sealed class Supervisor(int pid, int status, int listener, byte[] started, LogPipe? stdout, LogPipe? stderr, LogWriter? log)
    {
        private readonly Commands _host = new() { Fd = status };
        private readonly Commands _client = new() { Fd = -1 };
        private int _pidfd = -1;

        public int Run()
        {
            _pidfd = (int)syscall(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
            Native.Check(_pidfd, "pidfd_open");
            var fds = stackalloc PollFd[6];
            var wait = 0;
            var exited = false;
            while (true)
            {
                var outFd = stdout?.Fd ?? -1;
                var errFd = stderr?.Fd ?? -1;
                if (exited && outFd < 0 && errFd < 0)
                {
                    return wait;
                }
                fds[0] = new PollFd { Fd = exited ? -1 : _pidfd, Events = POLLIN };
                fds[1] = new PollFd { Fd = outFd, Events = POLLIN };
                fds[2] = new PollFd { Fd = errFd, Events = POLLIN };
                fds[3] = new PollFd { Fd = exited ? -1 : _host.Fd, Events = POLLIN };
                fds[4] = new PollFd { Fd = exited || _client.Fd >= 0 ? -1 : listener, Events = POLLIN };
                fds[5] = new PollFd { Fd = exited ? -1 : _client.Fd, Events = POLLIN };
                var ready = poll(fds, 6, exited ? DrainTimeoutMs : -1);
                if (ready == 0)
                {
                    return wait;
                }
                if (ready < 0)
                {
                    continue;
                }
                if (fds[1].Revents != 0)
                {
                    stdout!.Pump(log!);
                }
                if (fds[2].Revents != 0)
                {
                    stderr!.Pump(log!);
                }
                log?.Flush();
                if (fds[0].Revents != 0)
                {
                    while (waitpid(pid, &wait, 0) < 0 && Marshal.GetLastPInvokeError() == EINTR)
                    {
                    }
                    exited = true;
                    close(_pidfd);
                    continue;
                }
                if (fds[3].Revents != 0)
                {
                    _host.Serve(_pidfd);
                }
                if (fds[4].Revents != 0)
                {
                    _client.Fd = accept4(listener, null, null, SOCK_CLOEXEC);
                    _client.Length = 0;
                    Send(_client.Fd, started);
                }
                if (fds[5].Revents != 0)
                {
                    _client.Serve(_pidfd);
                }
            }
        }

        /// <summary>Says "exit" to the host that started the container and to the one connected, if any.</summary>
        public void Ended(string exit)
        {
            var bytes = Encoding.ASCII.GetBytes(exit);
            Send(_host.Fd, bytes);
            Send(_client.Fd, bytes);
            close(listener);
        }
    }

    // "kill <signal>\n" lines from one peer, in a fixed buffer; a peer that hangs up leaves the container running.
    private sealed class Commands
    {
        private const int Capacity = 64;
        private readonly byte* _buffer = (byte*)NativeMemory.Alloc(Capacity);

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
    }
}
