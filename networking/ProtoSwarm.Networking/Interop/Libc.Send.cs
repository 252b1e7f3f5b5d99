using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint send(int fd, void* buf, nint len, int flags);
}
