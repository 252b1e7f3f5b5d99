using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int optname, void* optval, uint optlen);
}
