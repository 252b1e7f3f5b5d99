using System.Runtime.InteropServices;

namespace ProtoSwarm.Containers.Volumes.Interop;

/// <summary>lstat(2), for what .NET does not say about a file: its type (a whiteout is a 0/0 character device) and owner.</summary>
internal static unsafe partial class FileStatus
{
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000;

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Lstat(string path, byte* buffer);

    /// <summary>Null when the path does not exist. Offsets are x86_64's struct stat (the only architecture nodes run).</summary>
    public static Stat? Of(string path)
    {
        var buffer = stackalloc byte[256];
        if (Lstat(path, buffer) < 0)
        {
            return null;
        }

        return new Stat(*(uint*)(buffer + 24), *(int*)(buffer + 28), *(int*)(buffer + 32), *(ulong*)(buffer + 40));
    }
}

internal readonly record struct Stat(uint Mode, int Uid, int Gid, ulong Rdev)
{
    public uint Type => Mode & FileStatus.S_IFMT;
    public bool IsDirectory => Type == FileStatus.S_IFDIR;
    public bool IsWhiteout => Type == FileStatus.S_IFCHR && Rdev == 0;
    public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);
}
