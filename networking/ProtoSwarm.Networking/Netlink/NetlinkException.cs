using ProtoSwarm.Networking.Interop;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>The kernel refused a netlink request: which operation, errno, and the kernel's extended ack text when it gave one.</summary>
public sealed class NetlinkException(string operation, int errno, string? kernelMessage = null)
    : IOException($"{operation}: {Libc.StrError(errno)} (errno {errno}){(string.IsNullOrEmpty(kernelMessage) ? "" : $": {kernelMessage}")}")
{
    public string Operation { get; } = operation;
    public int Errno { get; } = errno;
}
