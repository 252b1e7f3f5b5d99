using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.SocketMessages;

namespace ProtoSwarm.ContainerInit;

// A process started on a terminal (docker's -t), whether an exec'd command or a TTY container's main
// process, gets it the same way: a pseudo-terminal of the container's own devpts (so `tty` names
// /dev/pts/N inside, and no host terminal is involved), unlocked, its slave side taken with TIOCGPTPEER
// (never by a path the container could have planted), as stdin, stdout and stderr, and made the
// controlling terminal of a session of its own. For an exec the node host opens it
// (LinuxSyscalls.OpenTerminal: only it relays the master) and the exec stage takes it; for the main
// process stage 2 opens it in the devpts it just mounted and hands the master to the monitor, which
// reads it as the container's output. The monitor never writes to it: a service has no one typing, as
// docker's `-t` without `-i`.
internal static unsafe class Terminal
{
    /// <summary>Makes the terminal on stdin this session leader's controlling one, so ^C, ^Z and window sizes reach
    /// the session's foreground group. Needs nothing the container could lack: done before the confinement.</summary>
    public static void TakeControlling(string prefix) =>
        Native.Check(ioctl(0, TIOCSCTTY, null), prefix + "make the terminal the controlling one (TIOCSCTTY)");

    /// <summary>
    /// Stage 2 of a TTY container, after the pivot (so /dev/pts is the container's own devpts): a new terminal
    /// becomes stdin, stdout and stderr, and this process, in a session of its own, its controlling process; the
    /// master goes to the monitor over <paramref name="monitor"/> (a SOCK_SEQPACKET socket), which is then closed.
    /// The entrypoint inherits it all by its exec (or, behind an init, by posix_spawn).
    /// </summary>
    public static void OpenForMainProcess(int monitor)
    {
        var master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
        Native.Check(master, "open a terminal in the container's /dev/pts/ptmx");
        var unlock = 0;
        Native.Check(ioctl(master, TIOCSPTLCK, &unlock), "unlock the terminal (TIOCSPTLCK)");
        var slave = ioctl(master, TIOCGPTPEER, (void*)(nint)(O_RDWR | O_NOCTTY | O_CLOEXEC));
        Native.Check(slave, "open the terminal's slave side (TIOCGPTPEER)");
        MountConsole(master);
        for (var fd = 0; fd < 3; fd++)
        {
            Native.Check(dup2(slave, fd), "make the terminal stdin, stdout and stderr");
        }
        _ = close(slave);
        // Only a session leader may take a controlling terminal. The monitor started this process in its own
        // process group, not as a group leader, so setsid cannot be refused.
        Native.Check(setsid(), "setsid for the terminal");
        TakeControlling("");
        HandOver(monitor, master);
        _ = close(master);
        _ = close(monitor);
    }

    // As docker (runc) does, the terminal is also /dev/console, where init systems, gettys and scripts write their
    // messages: an empty file on the container's /dev tmpfs (writable even with a read-only root) with the terminal's
    // slave bound on it. By its number in the devpts this stage mounted (nothing of the image's runs yet).
    private static void MountConsole(int master)
    {
        uint number;
        Native.Check(ioctl(master, TIOCGPTN, &number), "get the terminal's number (TIOCGPTN)");
        var console = open("/dev/console", O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0x1B6 /* 0666 */);
        Native.Check(console, "create /dev/console");
        _ = close(console);
        Native.Check(mount($"/dev/pts/{number}", "/dev/console", null, MS_BIND, null), "bind the terminal on /dev/console");
    }

    // The master as an SCM_RIGHTS message of one byte; the monitor takes it once this process exec'd.
    private static void HandOver(int monitor, int master)
    {
        var payload = (byte)'t';
        var control = stackalloc byte[OneDescriptorSpace];
        PutDescriptor(control, master);
        var iov = new IoVec { Base = &payload, Length = 1 };
        var header = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = OneDescriptorSpace };
        Native.Check(sendmsg(monitor, &header, MSG_NOSIGNAL) < 0 ? -1 : 0, "hand the terminal to the monitor");
    }

    /// <summary>The monitor's side: the master stage 2 sent on <paramref name="socket"/> (already queued: stage 2 sent it
    /// before its exec, which the monitor has seen); -1 when none came. Received close-on-exec.</summary>
    public static int Receive(int socket)
    {
        byte payload;
        var control = stackalloc byte[OneDescriptorSpace];
        var iov = new IoVec { Base = &payload, Length = 1 };
        var header = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = OneDescriptorSpace };
        var n = recvmsg(socket, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        return n > 0 ? TakeDescriptor(control, header.ControlLen) : -1;
    }
}
