using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Images.Interop;

internal static partial class FileSyscalls
{
    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint Lgetxattr(string path, string name, byte[] value, nuint size);
}
