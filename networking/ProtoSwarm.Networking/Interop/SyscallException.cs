namespace ProtoSwarm.Networking.Interop;

/// <summary>A failed libc call, with the call (and its argument) and errno's text.</summary>
public sealed class SyscallException(string call, int errno)
    : IOException($"{call}: {Libc.StrError(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;
}
