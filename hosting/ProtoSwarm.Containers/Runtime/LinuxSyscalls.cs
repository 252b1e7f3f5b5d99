using System.Globalization;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime.Interop;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;
using static ProtoSwarm.Containers.Runtime.Interop.Libc;

namespace ProtoSwarm.Containers.Runtime;

internal sealed unsafe class LinuxSyscalls : ISyscalls
{
    public static readonly LinuxSyscalls Instance = new();

    public bool FileExists(string path) => File.Exists(path);
    public bool DirectoryExists(string path) => Directory.Exists(path);
    public string ReadFile(string path) => File.ReadAllText(path);

    // cgroup files take one write() each; File.WriteAllText's buffering would do the same, but the
    // error must be the kernel's ("Invalid argument" for an impossible limit), so write through a FileStream.
    public void WriteFile(string path, string content)
    {
        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, 1);
        stream.Write(Encoding.ASCII.GetBytes(content));
    }

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void CreatePrivateDirectory(string path)
    {
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(path, OwnerOnly);
        File.SetUnixFileMode(path, OwnerOnly);
    }

    public void RemoveDirectory(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (rmdir(p) < 0)
            {
                throw new SyscallException($"rmdir {path}", Marshal.GetLastPInvokeError());
            }
        }
    }

    public void RemoveTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    public IReadOnlyList<string> ListDirectories(string path) =>
        Directory.Exists(path) ? [.. Directory.EnumerateDirectories(path).Select(Path.GetFileName).OfType<string>()] : [];

    public InitProcess? ConnectMonitor(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            // No socket file (ENOENT) or no monitor behind it (ECONNREFUSED): the monitor has ended.
            socket.Dispose();
            return null;
        }
        // SO_PEERCRED: struct ucred { pid, uid, gid } of the monitor at the other end.
        Span<byte> credentials = stackalloc byte[12];
        socket.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, credentials);
        return new InitProcess(BitConverter.ToInt32(credentials), socket, IsChild: false);
    }

    public InitProcess SpawnInit(string initPath, string configPath, bool shared)
    {
        var fds = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        {
            throw new SyscallException("socketpair", Marshal.GetLastPInvokeError());
        }
        try
        {
            if (shared)
            {
                var host = SharedMonitor.Submit(initPath, configPath, fds[1],
                    control => Spawn(initPath, [InitProtocol.SharedMonitorFlag], stdin: -1, stdout: -1, stderr: -1, status: control));
                return new InitProcess(host, new Socket(new SafeSocketHandle((nint)fds[0], ownsHandle: true)), IsChild: false);
            }
            var pid = Spawn(initPath, [configPath], stdin: -1, stdout: -1, stderr: -1, status: fds[1]);
            return new InitProcess(pid, new Socket(new SafeSocketHandle((nint)fds[0], ownsHandle: true)));
        }
        catch
        {
            close(fds[0]);
            throw;
        }
        finally
        {
            close(fds[1]);
        }
    }

    public void DeleteFile(string path) => File.Delete(path);

    public bool KillCgroupMember(int pid, IReadOnlyList<string> procsFiles)
    {
        var pidfd = (int)syscall(SYS_pidfd_open, pid, 0, 0, 0);
        if (pidfd < 0)
        {
            return false; // ESRCH: it ended since the list was read
        }
        try
        {
            // The pidfd pins the process the number names now; still listed means it is a member, the
            // same one or a process the container forked and that got the number again.
            return procsFiles.Any(f => Listed(f, pid)) && syscall(SYS_pidfd_send_signal, pidfd, 9, 0, 0) == 0;
        }
        finally
        {
            close(pidfd);
        }
    }

    public bool KillMonitor(InitProcess monitor)
    {
        // SO_PEERPIDFD (Linux 6.5): a pidfd of the process that connected the socket's other end.
        Span<byte> pidfdBytes = stackalloc byte[4];
        try
        {
            monitor.Status.GetRawSocketOption(1 /* SOL_SOCKET */, 77 /* SO_PEERPIDFD */, pidfdBytes);
        }
        catch (SocketException)
        {
            return false; // ESRCH: the peer has ended
        }
        var pidfd = BitConverter.ToInt32(pidfdBytes);
        try
        {
            return syscall(SYS_pidfd_send_signal, pidfd, 9, 0, 0) == 0;
        }
        finally
        {
            close(pidfd);
        }
    }

    private static bool Listed(string procsFile, int pid)
    {
        try
        {
            var text = pid.ToString(CultureInfo.InvariantCulture);
            return File.ReadLines(procsFile).Contains(text);
        }
        catch (IOException)
        {
            return false;
        }
    }

    // union bpf_attr, zeroed past the fields used: the kernel refuses unknown non-zero bytes.
    private const int BpfAttrSize = 128;

    private static readonly Lazy<bool> RecursiveReadOnly = new(() => syscall(SYS_mount_setattr, -1, 0, 0, 0, 0) == 0 || Marshal.GetLastPInvokeError() != ENOSYS);

    public bool SupportsRecursiveReadOnly() => RecursiveReadOnly.Value;

    public void AttachDeviceFilter(string cgroupDirectory, byte[] program)
    {
        var progFd = LoadDeviceFilter(program, logSize: 0);
        if (progFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // Loaded again with a log only to say why: a log on every load costs the verifier's time.
            var log = errno is 13 or 22 ? VerifierLog(program) : "";
            throw new SyscallException($"bpf load device filter{(log.Length > 0 ? " (verifier: " + log + ")" : "")}", errno);
        }
        try
        {
            var path = Encoding.UTF8.GetBytes(cgroupDirectory + "\0");
            int dirFd;
            fixed (byte* p = path)
            {
                dirFd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
            }
            if (dirFd < 0)
            {
                throw new SyscallException($"open {cgroupDirectory}", Marshal.GetLastPInvokeError());
            }
            try
            {
                var attr = stackalloc byte[BpfAttrSize];
                new Span<byte>(attr, BpfAttrSize).Clear();
                *(uint*)attr = (uint)dirFd;                  // target_fd
                *(uint*)(attr + 4) = (uint)progFd;           // attach_bpf_fd
                *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;      // attach_type; attach_flags 0: not overridable below
                if (syscall(SYS_bpf, BPF_PROG_ATTACH, (long)attr, BpfAttrSize, 0) < 0)
                {
                    throw new SyscallException($"bpf attach device filter to {cgroupDirectory}", Marshal.GetLastPInvokeError());
                }
            }
            finally
            {
                close(dirFd);
            }
        }
        finally
        {
            close(progFd); // the attached program keeps its own reference
        }
    }

    private static int LoadDeviceFilter(byte[] program, int logSize, byte[]? log = null)
    {
        var attr = stackalloc byte[BpfAttrSize];
        new Span<byte>(attr, BpfAttrSize).Clear();
        // The license only decides access to the GPL-only helpers, of which this program calls none.
        var license = "ProtoSwarm\0"u8;
        var name = "protoswarm_dev\0"u8; // at most 15 characters
        fixed (byte* insns = program, lic = license, logBuffer = log, n = name)
        {
            *(uint*)attr = BPF_PROG_TYPE_CGROUP_DEVICE;   // prog_type
            *(uint*)(attr + 4) = (uint)(program.Length / 8); // insn_cnt
            *(ulong*)(attr + 8) = (ulong)insns;           // insns
            *(ulong*)(attr + 16) = (ulong)lic;            // license
            if (logSize > 0)
            {
                *(uint*)(attr + 24) = 1;                  // log_level
                *(uint*)(attr + 28) = (uint)logSize;      // log_size
                *(ulong*)(attr + 32) = (ulong)logBuffer;  // log_buf
            }
            new ReadOnlySpan<byte>(n, name.Length).CopyTo(new Span<byte>(attr + 48, 16)); // prog_name
            return (int)syscall(SYS_bpf, BPF_PROG_LOAD, (long)attr, BpfAttrSize, 0);
        }
    }

    private static string VerifierLog(byte[] program)
    {
        var log = new byte[256 * 1024];
        var fd = LoadDeviceFilter(program, log.Length, log);
        if (fd >= 0)
        {
            close(fd);
            return "";
        }
        var text = Encoding.UTF8.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
        // The last lines say what was refused; the whole trace is the program's every path.
        var lines = text.Split('\n');
        return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - 6)));
    }

    public Stream OpenStdinFifo(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (mkfifo(p, 0x180 /* 0600 */) < 0)
            {
                throw new SyscallException($"mkfifo {path}", Marshal.GetLastPInvokeError());
            }
            // Opened for reading and writing first, which never waits for the other side; then for writing alone, at
            // once as there is a reader now, and the first let go: with no reader of its own here, a write once the
            // container's processes have all let go of their stdin fails (EPIPE) rather than filling the FIFO for ever.
            var both = open(p, O_RDWR | O_CLOEXEC, 0);
            if (both < 0)
            {
                throw new SyscallException($"open {path}", Marshal.GetLastPInvokeError());
            }
            var fd = open(p, O_WRONLY | O_CLOEXEC, 0);
            var errno = Marshal.GetLastPInvokeError();
            _ = close(both);
            if (fd < 0)
            {
                throw new SyscallException($"open {path}", errno);
            }
            return new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle(fd, ownsHandle: true));
        }
    }

    public ExecProcess SpawnExec(string initPath, string execConfigPath, bool stdinPipe = false, SafeFileHandle? terminal = null, bool discardOutput = false)
    {
        var status = stackalloc int[2];
        int* stdin = stackalloc int[2] { -1, -1 };
        int* stdout = stackalloc int[2] { -1, -1 };
        int* stderr = stackalloc int[2] { -1, -1 };
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, status) < 0)
        {
            throw new SyscallException("socketpair", Marshal.GetLastPInvokeError());
        }
        if ((terminal is null && !discardOutput && (pipe2(stdout, O_CLOEXEC) < 0 || pipe2(stderr, O_CLOEXEC) < 0))
            || (terminal is null && stdinPipe && pipe2(stdin, O_CLOEXEC) < 0))
        {
            var errno = Marshal.GetLastPInvokeError();
            CloseAll(status[0], status[1], stdin[0], stdin[1], stdout[0], stdout[1], stderr[0], stderr[1]);
            throw new SyscallException("pipe", errno);
        }
        var addRef = false;
        try
        {
            int pid;
            if (terminal is not null)
            {
                // The terminal is stdin, stdout and stderr alike; init makes it the command's controlling terminal.
                terminal.DangerousAddRef(ref addRef);
                var fd = (int)terminal.DangerousGetHandle();
                pid = Spawn(initPath, [InitProtocol.ExecFlag, execConfigPath], fd, fd, fd, status[1]);
                return new ExecProcess(pid, new Socket(new SafeSocketHandle((nint)status[0], ownsHandle: true)), Stream.Null, Stream.Null);
            }
            pid = Spawn(initPath, [InitProtocol.ExecFlag, execConfigPath], stdin[0], stdout[1], stderr[1], status[1]);
            if (discardOutput)
            {
                return new ExecProcess(pid, new Socket(new SafeSocketHandle((nint)status[0], ownsHandle: true)), Stream.Null, Stream.Null,
                    stdinPipe ? new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle((nint)stdin[1], ownsHandle: true)) : null);
            }
            return new ExecProcess(pid, new Socket(new SafeSocketHandle((nint)status[0], ownsHandle: true)),
                new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle((nint)stdout[0], ownsHandle: true)),
                new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle((nint)stderr[0], ownsHandle: true)),
                stdinPipe ? new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle((nint)stdin[1], ownsHandle: true)) : null);
        }
        catch
        {
            CloseAll(status[0], stdout[0], stderr[0], stdin[1]);
            throw;
        }
        finally
        {
            if (addRef)
            {
                terminal!.DangerousRelease();
            }
            CloseAll(status[1], stdout[1], stderr[1], stdin[0]);
        }
    }

    private static void CloseAll(params ReadOnlySpan<int> fds)
    {
        foreach (var fd in fds)
        {
            if (fd >= 0)
            {
                close(fd);
            }
        }
    }

    public ExecTerminal OpenTerminal(int containerPid, ushort rows, ushort columns)
    {
        // The container's own devpts (init mounts one per container), so inside it the terminal is
        // /dev/pts/N and `tty` names it. Opened relative to the container's root with RESOLVE_IN_ROOT:
        // a link the container planted can never lead to a host file.
        var root = OpenAt2(AT_FDCWD, $"/proc/{containerPid.ToString(CultureInfo.InvariantCulture)}/root", O_PATH | O_CLOEXEC, 0);
        int master;
        try
        {
            master = OpenAt2(root, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        }
        finally
        {
            close(root);
        }
        var masterHandle = new SafeFileHandle((nint)master, ownsHandle: true);
        try
        {
            int number;
            int unlock = 0;
            if (ioctl(master, TIOCGPTN, &number) < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0)
            {
                throw new SyscallException("the container's /dev/pts/ptmx is not a terminal multiplexer: ioctl", Marshal.GetLastPInvokeError());
            }
            ResizeTerminal(masterHandle, rows, columns);
            var slave = (int)ioctl(master, TIOCGPTPEER, (void*)(nint)(O_RDWR | O_NOCTTY | O_CLOEXEC));
            if (slave < 0)
            {
                throw new SyscallException("open the terminal's slave side (TIOCGPTPEER)", Marshal.GetLastPInvokeError());
            }
            return new ExecTerminal(masterHandle, new SafeFileHandle((nint)slave, ownsHandle: true), number);
        }
        catch
        {
            masterHandle.Dispose();
            throw;
        }
    }

    public void ResizeTerminal(SafeFileHandle master, ushort rows, ushort columns)
    {
        if (rows == 0 || columns == 0)
        {
            return;
        }
        var size = stackalloc ushort[4] { rows, columns, 0, 0 };
        if (ioctl((int)master.DangerousGetHandle(), TIOCSWINSZ, size) < 0)
        {
            throw new SyscallException("set the terminal's size (TIOCSWINSZ)", Marshal.GetLastPInvokeError());
        }
    }

    public SafeFileHandle Duplicate(SafeFileHandle handle)
    {
        var fd = fcntl((int)handle.DangerousGetHandle(), F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? throw new SyscallException("dup", Marshal.GetLastPInvokeError()) : new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    private static int OpenAt2(int directory, string path, int flags, long resolve)
    {
        var how = stackalloc ulong[3] { (ulong)flags, 0, (ulong)resolve };
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            var fd = (int)syscall(SYS_openat2, directory, (long)p, (long)how, 24);
            return fd >= 0 ? fd : throw new SyscallException($"open {path}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Starts protoswarm-init in a session of its own with default signal handling: stdin, stdout and
    /// stderr onto the given descriptors (-1: /dev/null), the status socket as fd 3. Nothing managed
    /// runs in the child before its exec.
    /// </summary>
    private static int Spawn(string initPath, string[] args, int stdin, int stdout, int stderr, int status)
    {
        var actions = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var argv = CStrings([Path.GetFileName(initPath), .. args]);
        var envp = CStrings([]);
        try
        {
            var all = stackalloc byte[128];
            var none = stackalloc byte[128];
            _ = sigfillset(all);
            _ = sigemptyset(none);
            _ = posix_spawn_file_actions_init(actions);
            _ = stdin < 0
                ? posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
                : posix_spawn_file_actions_adddup2(actions, stdin, 0);
            _ = stdout < 0
                ? posix_spawn_file_actions_addopen(actions, 1, "/dev/null", O_WRONLY, 0)
                : posix_spawn_file_actions_adddup2(actions, stdout, 1);
            _ = stderr < 0
                ? posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0)
                : posix_spawn_file_actions_adddup2(actions, stderr, 2);
            _ = posix_spawn_file_actions_adddup2(actions, status, 3);
            _ = posix_spawnattr_init(attr);
            _ = posix_spawnattr_setsigdefault(attr, all);
            _ = posix_spawnattr_setsigmask(attr, none);
            _ = posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID));
            int pid;
            var rc = posix_spawn(&pid, initPath, actions, attr, argv, envp);
            if (rc != 0)
            {
                throw new SyscallException($"start {initPath}", rc);
            }
            return pid;
        }
        finally
        {
            _ = posix_spawn_file_actions_destroy(actions);
            _ = posix_spawnattr_destroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            FreeCStrings(argv);
            FreeCStrings(envp);
        }
    }

    public int Reap(int pid)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                throw new SyscallException($"waitpid {pid}", errno);
            }
        }
        return status;
    }

    private static byte** CStrings(string[] items)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(items.Length + 1), (nuint)sizeof(nint));
        for (var i = 0; i < items.Length; i++)
        {
            array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(items[i]);
        }
        return array;
    }

    private static void FreeCStrings(byte** array)
    {
        for (var p = array; *p != null; p++)
        {
            Marshal.FreeCoTaskMem((nint)(*p));
        }
        NativeMemory.Free(array);
    }
}
