using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Terminal.Interop;

internal static partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int isatty(int fd);
}
