using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Terminal.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib)]
    public static partial void cfmakeraw(byte* termios);
}
