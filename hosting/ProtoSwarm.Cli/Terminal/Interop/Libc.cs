using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Terminal.Interop;

// The CLI's terminal calls (exec -t), one function a file; only ConsoleTerminal uses them.
internal static partial class Libc
{
    private const string Lib = "libc";

    /// <summary>struct termios is 60 bytes on glibc (x86-64, arm64); a larger buffer leaves room and is never read as fields.</summary>
    public const int TermiosBytes = 256;

    public const int TCSANOW = 0;

    public const ulong TIOCGWINSZ = 0x5413;
}
