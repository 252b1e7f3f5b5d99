using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Lab.Interop;

internal static partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setns(int fd, int nstype);
}
