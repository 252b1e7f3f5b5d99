using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Secrets.Interop;

internal static unsafe partial class FileSystemCalls
{
    public const long TMPFS_MAGIC = 0x01021994;

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statfs(string path, byte* buffer);

    /// <summary>The file system type (f_type, the first field of x86_64's struct statfs) of the one holding the path; null when it cannot be read.</summary>
    public static long? FileSystemType(string path)
    {
        var buffer = stackalloc byte[256];
        return Statfs(path, buffer) < 0 ? null : *(long*)buffer;
    }
}
