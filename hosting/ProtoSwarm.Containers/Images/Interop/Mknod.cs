using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Images.Interop;

internal static partial class FileSyscalls
{
    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mknod(string path, uint mode, ulong dev);
}
