using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Terminal.Interop;

internal static partial class Libc
{
    public const int EINTR = 4;

    [LibraryImport(Lib, SetLastError = true)]
    public static unsafe partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buffer, nuint count);
}
