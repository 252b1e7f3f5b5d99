using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Images.Interop;

/// <summary>The libc calls the image store makes (files, devices, xattrs), one per file; errno becomes one exception here.</summary>
internal static partial class FileSyscalls
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int EOPNOTSUPP = 95;

    public const uint S_IFCHR = 0x2000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFIFO = 0x1000;

    /// <summary>glibc's makedev: the device number from major and minor.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>Throws a <see cref="FileSyscallException"/> naming the call and path when a call returned -1.</summary>
    public static void Check(int result, string call, string path)
    {
        if (result == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new FileSyscallException(call, path, errno);
        }
    }
}

/// <summary>A libc call failed; <see cref="Errno"/> is what it set.</summary>
public sealed class FileSyscallException(string call, string path, int errno)
    : Exception($"{call}({path}): {new Win32Exception(errno).Message}")
{
    public int Errno { get; } = errno;
}
