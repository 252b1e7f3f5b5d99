using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using static ProtoSwarm.ContainerInit.Interop.SocketMessages;
using static ProtoSwarm.Containers.Runtime.Interop.Libc;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// The node host's shared monitor: one `protoswarm-init --host` process per init binary, started with the
/// first container and handed every later one over its control socket (a SOCK_SEQPACKET pair; each message
/// is a config path with that container's status socket attached). It supervises each container exactly
/// as a monitor of its own would (same status lines, monitor.sock, exit file, log) without one more
/// process start per container. It ends once this process has hung up (by exiting) and its last container
/// has ended; a node host that comes back starts a new one for its new containers and finds the old ones
/// through their monitor.sock as before. If it dies, every container it held loses its PID 1 to the
/// parent-death signal and reads as "monitor gone", as one container does when its own monitor dies.
/// </summary>
internal sealed unsafe class SharedMonitor
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, SharedMonitor> Running = new(StringComparer.Ordinal);

    private readonly SafeSocketHandle _control;
    private volatile bool _gone;

    private readonly string _initPath;

    private SharedMonitor(string initPath, int pid, SafeSocketHandle control)
    {
        _initPath = initPath;
        Pid = pid;
        _control = control;
    }

    public int Pid { get; }

    /// <summary>Hands the container of <paramref name="configPath"/> to the shared monitor of
    /// <paramref name="initPath"/> (started first when there is none, or it has died), its status socket being
    /// <paramref name="status"/> (this side keeps its own copy; the caller closes it as usual).</summary>
    public static int Submit(string initPath, string configPath, int status, Func<int, int> spawn)
    {
        for (var attempt = 0; ; attempt++)
        {
            var monitor = For(initPath, spawn);
            var errno = monitor.Send(configPath, status);
            if (errno == 0)
            {
                return monitor.Pid;
            }
            // EPIPE, ECONNRESET: it ended (or is ending) since it was looked up; the next one takes over.
            monitor.Retire();
            if (attempt == 1)
            {
                throw new SyscallException("hand the container to the shared monitor", errno);
            }
        }
    }

    private static SharedMonitor For(string initPath, Func<int, int> spawn)
    {
        lock (Gate)
        {
            if (Running.TryGetValue(initPath, out var monitor) && !monitor._gone)
            {
                return monitor;
            }
            var fds = stackalloc int[2];
            if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
            {
                throw new SyscallException("socketpair", Marshal.GetLastPInvokeError());
            }
            int pid;
            try
            {
                pid = spawn(fds[1]);
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
            monitor = new SharedMonitor(initPath, pid, new SafeSocketHandle((nint)fds[0], ownsHandle: true));
            Running[initPath] = monitor;
            // Reaped by a thread of its own: it lives as long as the containers it holds.
            var reaper = new Thread(() => monitor.Reap()) { IsBackground = true, Name = "shared monitor reaper" };
            reaper.Start();
            return monitor;
        }
    }

    private void Reap()
    {
        int status;
        while (waitpid(Pid, &status, 0) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        Retire();
    }

    private void Retire()
    {
        _gone = true;
        lock (Gate)
        {
            // A successor may be registered already: only this one is taken off.
            if (Running.TryGetValue(_initPath, out var current) && ReferenceEquals(current, this))
            {
                Running.Remove(_initPath);
            }
        }
        _control.Dispose();
    }

    // sendmsg with the status socket in an SCM_RIGHTS message; 0 or the errno.
    private int Send(string configPath, int status)
    {
        var added = false;
        try
        {
            _control.DangerousAddRef(ref added);
            var bytes = Encoding.UTF8.GetBytes(configPath);
            var control = stackalloc byte[OneDescriptorSpace];
            PutDescriptor(control, status);
            fixed (byte* data = bytes)
            {
                var iov = new IoVec { Base = data, Length = (nuint)bytes.Length };
                var header = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = OneDescriptorSpace };
                while (true)
                {
                    if (sendmsg((int)_control.DangerousGetHandle(), &header, MSG_NOSIGNAL) >= 0)
                    {
                        return 0;
                    }
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != EINTR)
                    {
                        return errno;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return 32; // EPIPE: retired meanwhile
        }
        finally
        {
            if (added)
            {
                _control.DangerousRelease();
            }
        }
    }
}
