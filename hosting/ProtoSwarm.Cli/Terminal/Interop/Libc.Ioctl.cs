using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Terminal.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* arg);
}
