using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Images.Interop;

internal static partial class FileSyscalls
{
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, int uid, int gid);
}
