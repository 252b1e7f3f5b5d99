using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ProtoSwarm.ContainerInit.Interop;
using static ProtoSwarm.ContainerInit.Interop.Libc;

namespace ProtoSwarm.ContainerInit;

// Stage 1. A process that unshares CLONE_NEWPID does not enter the namespace itself; its next child is
// PID 1 there. The .NET runtime never forks managed code, so that child is this same binary again,
// started with posix_spawn (vfork-like: nothing managed runs in the child before exec). This process
// stays outside the container as its monitor: it reaps PID 1 and reports its wait status, so the node
// host never has to be the container's parent, and signals the container through a pidfd (no pid reuse).
internal static unsafe class ContainerMonitor
{
    private const int ChildStatusFd = 4;

    public static int Run(string configPath)
    {
        var status = InitProtocol.StatusFd;
        fcntl(status, F_SETFD, FD_CLOEXEC);
        int* pipe = stackalloc int[2];
        try
        {
            Native.Check(pipe2(pipe, O_CLOEXEC), "pipe");
            Native.Check(unshare(CLONE_NEWPID), "unshare pid namespace");
            var pid = Spawn(configPath, pipe[1]);
            close(pipe[1]);
            var failure = ReadToEnd(pipe[0]);
            close(pipe[0]);
            if (failure.Length > 0)
            {
                int ignored;
                waitpid(pid, &ignored, 0);
                Native.WriteAll(status, $"{InitProtocol.Error} {failure.TrimEnd('\n')}\n");
                return 1;
            }
            Native.WriteAll(status, $"{InitProtocol.Started} {pid.ToString(CultureInfo.InvariantCulture)}\n");
            var wait = Supervise(pid, status);
            Native.WriteAll(status, $"{InitProtocol.Exit} {wait.ToString(CultureInfo.InvariantCulture)}\n");
            return 0;
        }
        catch (InitException e)
        {
            Native.WriteAll(status, $"{InitProtocol.Error} {e.Message}\n");
            return 1;
        }
    }

    private static int Spawn(string configPath, int childStatus)
    {
        var actions = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var signals = NativeMemory.AllocZeroed(128);
        var empty = NativeMemory.AllocZeroed(128);
        _ = posix_spawn_file_actions_init(actions);
        _ = posix_spawn_file_actions_adddup2(actions, childStatus, ChildStatusFd);
        _ = posix_spawnattr_init(attr);
        _ = sigfillset(signals);
        _ = sigemptyset(empty);
        _ = posix_spawnattr_setsigdefault(attr, signals);
        _ = posix_spawnattr_setsigmask(attr, empty);
        _ = posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
        var argv = Native.CStrings(["protoswarm-init", Stage2.Flag, configPath]);
        var envp = Native.CStrings([]);
        int pid;
        var rc = posix_spawn(&pid, "/proc/self/exe", actions, attr, argv, envp);
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

    // Waits for PID 1 while serving "kill <signal>" lines from the host; a host that went away
    // (end of file) leaves the container running.
    private static int Supervise(int pid, int status)
    {
        var pidfd = (int)syscall(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
        Native.Check(pidfd, "pidfd_open");
        var fds = stackalloc PollFd[2];
        var hostOpen = true;
        var pending = new StringBuilder();
        var buffer = stackalloc byte[256];
        while (true)
        {
            fds[0] = new PollFd { Fd = pidfd, Events = POLLIN };
            fds[1] = new PollFd { Fd = hostOpen ? status : -1, Events = POLLIN };
            if (poll(fds, 2, -1) < 0)
            {
                continue;
            }
            if (fds[0].Revents != 0)
            {
                int wait;
                while (waitpid(pid, &wait, 0) < 0 && Marshal.GetLastPInvokeError() == EINTR)
                {
                }
                return wait;
            }
            if (fds[1].Revents == 0)
            {
                continue;
            }
            var n = read(status, buffer, 256);
            if (n <= 0)
            {
                hostOpen = n < 0 && Marshal.GetLastPInvokeError() == EINTR;
                continue;
            }
            pending.Append(Encoding.UTF8.GetString(buffer, (int)n));
            string text;
            int newline;
            while ((newline = (text = pending.ToString()).IndexOf('\n', StringComparison.Ordinal)) >= 0)
            {
                var line = text[..newline];
                pending.Remove(0, newline + 1);
                if (line.StartsWith(InitProtocol.Kill + " ", StringComparison.Ordinal)
                    && int.TryParse(line.AsSpan(InitProtocol.Kill.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var signal))
                {
                    // pidfd_send_signal (424): the signal reaches this PID 1 or nobody.
                    syscall(424, pidfd, signal, 0, 0, 0, 0);
                }
            }
        }
    }
}
