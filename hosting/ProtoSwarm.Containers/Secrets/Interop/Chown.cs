using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Secrets.Interop;

internal static partial class FileSystemCalls
{
    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint uid, uint gid);
}
