using System.Runtime.InteropServices;
using System.Text;

namespace ProtoSwarm.Hosting;

/// <summary>
/// One node host per state directory. Two protoswarmd on one directory would both run the node: both
/// supervise its containers and sweep "leftover" networks, and on a manager both speak for one Raft member
/// over one log, which breaks Raft's promises (two votes in a term). The control socket cannot tell, since
/// each may have its own (--control-socket). So the first holds an exclusive flock(2) on STATE/protoswarmd.lock
/// for its whole life, with its pid written in it; a second is refused before it touches anything. The kernel
/// drops the lock when the holder's process ends, SIGKILL included, so no stale lock is ever left behind.
/// The descriptor is close-on-exec: containers and monitors started from the node do not inherit the lock.
/// </summary>
public sealed class StateDirectoryLock : IDisposable
{
    public const string FileName = "protoswarmd.lock";

    private const int ORdwr = 0x2, OCreat = 0x40, OCloexec = 0x80000;
    private const int LockEx = 2, LockNb = 4;
    private const int EWouldBlock = 11, EIntr = 4;

    private int _fd;

    private StateDirectoryLock(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Takes the lock of <paramref name="stateDir"/>, or throws <see cref="InvalidOperationException"/>
    /// naming the directory and the pid of the node host that holds it.</summary>
    public static StateDirectoryLock Acquire(string stateDir)
    {
        var path = System.IO.Path.Combine(stateDir, FileName);
        var fd = Open(path, ORdwr | OCreat | OCloexec, 0x180); // 0600
        if (fd < 0)
        {
            throw new InvalidOperationException($"cannot open {path} ({Marshal.GetLastPInvokeErrorMessage()}); run as root or pick another --state.");
        }

        int rc;
        while ((rc = Flock(fd, LockEx | LockNb)) < 0 && Marshal.GetLastPInvokeError() == EIntr)
        {
        }

        if (rc < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            var message = Marshal.GetLastPInvokeErrorMessage();
            var holder = error == EWouldBlock ? ReadPid(fd) : null;
            _ = Close(fd);
            throw new InvalidOperationException(error == EWouldBlock
                ? $"another protoswarmd{(holder is null ? string.Empty : $" (pid {holder})")} is running on the state directory {stateDir}; stop it first, or give this one another --state."
                : $"cannot lock {path} ({message}).");
        }

        // The lock is ours: say whose it is, for the next one that is refused (and for an operator's `cat`).
        var pid = Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        if (Ftruncate(fd, 0) < 0 || Pwrite(fd, pid, pid.Length, 0) != pid.Length)
        {
            var message = Marshal.GetLastPInvokeErrorMessage();
            _ = Close(fd);
            throw new InvalidOperationException($"cannot write {path} ({message}); check that the state directory's disk is writable.");
        }

        return new StateDirectoryLock(fd, path);
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = Close(fd); // releases the lock; the file stays, harmless, for the next start to reuse
        }
    }

    private static int? ReadPid(int fd)
    {
        var buffer = new byte[32];
        var read = Pread(fd, buffer, buffer.Length, 0);
        return read > 0 && int.TryParse(Encoding.ASCII.GetString(buffer, 0, (int)read).Trim(), out var pid) && pid > 0 ? pid : null;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(string path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static extern int Ftruncate(int fd, long length);

    [DllImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static extern nint Pwrite(int fd, byte[] buffer, nint count, long offset);

    [DllImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static extern nint Pread(int fd, byte[] buffer, nint count, long offset);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
