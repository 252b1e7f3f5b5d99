using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Interop;

// The libc calls of the data plane, one function a file (dotnet/runtime's layout). Only the netlink
// socket and the namespace code call them; a failure becomes one SyscallException.
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_RCVTIMEO = 20, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    public const int SOL_NETLINK = 270, NETLINK_EXT_ACK = 11, NETLINK_CAP_ACK = 10, NETLINK_GET_STRICT_CHK = 12;
    public const int O_RDONLY = 0, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    public const int CLONE_NEWNET = 0x40000000, CLONE_FS = 0x200;
    public const ulong MS_BIND = 4096, MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_SHARED = 1 << 20;
    public const int MNT_DETACH = 2;
    public const int EINTR = 4, ENOENT = 2, EEXIST = 17, EINVAL = 22, EAGAIN = 11;

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Throws <see cref="SyscallException"/> naming <paramref name="call"/> when <paramref name="result"/> is -1.</summary>
    public static int Check(int result, string call) => result == -1 ? throw new SyscallException(call, LastError) : result;
}
