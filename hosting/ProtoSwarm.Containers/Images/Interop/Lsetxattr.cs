using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Images.Interop;

internal static partial class FileSyscalls
{
    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lsetxattr(string path, string name, byte[] value, nuint size, int flags);
}
