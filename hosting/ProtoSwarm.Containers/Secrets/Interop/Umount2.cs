using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Secrets.Interop;

internal static partial class FileSystemCalls
{
    public const int MNT_DETACH = 2;

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);
}
