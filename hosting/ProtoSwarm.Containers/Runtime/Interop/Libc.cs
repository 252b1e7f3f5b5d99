using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Runtime.Interop;

// libc calls Tmds.LibC 0.5.0 does not have (socketpair with flags, pipe2, waitpid; posix_spawn is
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

    public const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, O_RDONLY = 0, O_WRONLY = 1, O_CLOEXEC = 0x80000, EINTR = 4;
}
