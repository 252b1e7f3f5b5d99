using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int unshare(int flags);
}
