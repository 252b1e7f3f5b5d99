using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Runtime.Interop;

// libc calls Tmds.LibC 0.5.0 does not have (socketpair with flags, pipe2, waitpid, the pidfd calls; posix_spawn is
// init's PosixSpawn, linked in); the rest of the launcher uses .NET's file APIs. Only LinuxSyscalls calls these.
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int rmdir(byte* path);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int open(byte* path, int flags, int mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int mkfifo(byte* path, uint mode);

    // pidfd_open and pidfd_send_signal have no glibc wrapper before 2.36; their numbers are the same on every architecture.
    [LibraryImport(Lib, SetLastError = true)]
    public static partial long syscall(long number, long a1, long a2, long a3, long a4);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    // mount_setattr too (glibc 2.36 wraps it, older ones do not), 442 everywhere.
    public const long SYS_pidfd_send_signal = 424, SYS_pidfd_open = 434, SYS_openat2 = 437, SYS_mount_setattr = 442;
    public const int ENOSYS = 38;

    // Terminals (the generic ioctl numbers, the same on x86-64 and arm64).
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int command, int arg);

    public const ulong TIOCSWINSZ = 0x5414, TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGPTPEER = 0x5441;
    public const int F_DUPFD_CLOEXEC = 1030, AT_FDCWD = -100, O_RDWR = 2, O_NOCTTY = 0x100, O_PATH = 0x200000;
    public const long RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;

    // bpf has no glibc wrapper at all, and its number differs by architecture.
    public static long SYS_bpf => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 280 : 321;

    public const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6;

    public const int SOCK_SEQPACKET = 5, MSG_NOSIGNAL = 0x4000;
    public const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, O_RDONLY = 0, O_WRONLY = 1, O_CLOEXEC = 0x80000, O_DIRECTORY = 0x10000, EINTR = 4;
}
