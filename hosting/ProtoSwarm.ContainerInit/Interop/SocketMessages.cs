using System.Runtime.InteropServices;

namespace ProtoSwarm.ContainerInit.Interop;

// sendmsg/recvmsg with one descriptor passed alongside (SCM_RIGHTS): how the node host hands a container's
// status socket to its shared monitor. Compiled into init and into the node host's launcher
// (ProtoSwarm.Containers links this file), so both ends agree on the message's layout (x86-64).
internal static unsafe partial class SocketMessages
{
    private const string Lib = "libc";
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;

    /// <summary>CMSG_SPACE(sizeof(int)): a control buffer for one descriptor.</summary>
    public const int OneDescriptorSpace = 24;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    /// <summary>Fills <paramref name="control"/> (<see cref="OneDescriptorSpace"/> bytes) with a cmsghdr carrying <paramref name="fd"/>.</summary>
    public static void PutDescriptor(byte* control, int fd)
    {
        new Span<byte>(control, OneDescriptorSpace).Clear();
        *(nuint*)control = 20; // CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        *(int*)(control + 16) = fd;
    }

    /// <summary>The descriptor a received control buffer of <paramref name="length"/> bytes carries; -1 when none.</summary>
    public static int TakeDescriptor(byte* control, nuint length) =>
        length >= 20 && *(int*)(control + 8) == SOL_SOCKET && *(int*)(control + 12) == SCM_RIGHTS ? *(int*)(control + 16) : -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }
}
