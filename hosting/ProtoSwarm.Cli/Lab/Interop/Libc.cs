using System.Runtime.InteropServices;

namespace ProtoSwarm.Cli.Lab.Interop;

// The lab's own libc calls, one function a file; only NetnsSocketFactory uses them.
internal static partial class Libc
{
    private const string Lib = "libc";

    public const int CLONE_NEWNET = 0x40000000;

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
