using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Secrets.Interop;

internal static partial class FileSystemCalls
{
    public const ulong MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fstype, ulong flags, string? data);
}
