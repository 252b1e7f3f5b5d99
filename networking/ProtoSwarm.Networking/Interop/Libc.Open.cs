using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);
}
