using System.Runtime.InteropServices;

namespace ProtoSwarm.ContainerInit.Interop;

// posix_spawn and the signal sets its attributes take, compiled into init and into the node host's
// launcher (ProtoSwarm.Containers links this file), which both start processes this way. It is safe
// from a multithreaded .NET process (glibc: clone(CLONE_VM|CLONE_VFORK) then exec): no managed code
// runs in the child, and the file actions place its descriptors exactly. posix_spawn returns the
// error number rather than setting errno.
internal static unsafe partial class PosixSpawn
{
    private const string Lib = "libc";

    public const short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn(int* pid, string path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn_file_actions_addopen(void* actions, int fd, string path, int flags, uint mode);

    /// <summary>glibc 2.29: the child changes to the directory before it execs.</summary>
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* actions, string path);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport(Lib)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Lib)]
    public static partial int sigfillset(void* set);

    [LibraryImport(Lib)]
    public static partial int sigaddset(void* set, int signal);
}
