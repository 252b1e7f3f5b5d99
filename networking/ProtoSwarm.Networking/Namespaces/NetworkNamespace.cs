using Microsoft.Win32.SafeHandles;
using ProtoSwarm.Networking.Interop;

namespace ProtoSwarm.Networking.Namespaces;

/// <summary>
/// Persistent network namespaces the way `ip netns add` makes them: a namespace lives as long as
/// something holds it, and a bind mount of its nsfs file on an empty file under a directory holds it
/// without a process. The directory is the caller's (/run/protoswarm/netns on a node, a temp directory
/// in tests), so nothing collides with ip's /run/netns unless asked to.
/// </summary>
public static class NetworkNamespace
{
    /// <summary>
    /// Creates the namespace <paramref name="name"/> under <paramref name="directory"/> and returns its
    /// path. The directory is made a shared mount (bound onto itself first when it is not a mount point,
    /// as ip does), so mount namespaces made later see namespaces created after them.
    /// </summary>
    public static string Create(string directory, string name)
    {
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a namespace name (no '/', not empty)", nameof(name));
        }
        Directory.CreateDirectory(directory);
        MakeShared(directory);
        var path = Path.Combine(directory, name);
        var fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0);
        if (fd == -1)
        {
            throw new SyscallException($"create {path}", Libc.LastError);
        }
        Libc.close(fd);

        // unshare moves only the calling thread: do it on a thread of its own, which then ends.
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Libc.Check(Libc.unshare(Libc.CLONE_NEWNET), "unshare(CLONE_NEWNET)");
                Libc.Check(Libc.mount("/proc/thread-self/ns/net", path, "none", Libc.MS_BIND, null), $"mount --bind /proc/thread-self/ns/net {path}");
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { Name = $"netns add {name}", IsBackground = true };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            File.Delete(path);
            throw failure;
        }
        return path;
    }

    /// <summary>Opens a namespace file (read-only, close-on-exec) for setns or a netlink IFLA_NET_NS_FD.</summary>
    public static SafeFileHandle Open(string path)
    {
        var fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        return fd == -1 ? throw new SyscallException($"open {path}", Libc.LastError) : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Unmounts and removes a namespace made by <see cref="Create"/>; the namespace ends when nothing else holds it. Absent: nothing to do.</summary>
    public static void Delete(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }
        if (Libc.umount2(path, Libc.MNT_DETACH) == -1 && Libc.LastError != Libc.EINVAL)
        {
            throw new SyscallException($"umount {path}", Libc.LastError);
        }
        File.Delete(path);
    }

    /// <summary>
    /// Undoes what <see cref="Create"/> did to <paramref name="directory"/> once its namespaces are
    /// deleted: the self bind mount goes and the empty directory is removed (tests and a node's shutdown).
    /// </summary>
    public static void ReleaseDirectory(string directory)
    {
        while (IsMountPoint(directory))
        {
            Libc.Check(Libc.umount2(directory, Libc.MNT_DETACH), $"umount {directory}");
        }
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }

    private static void MakeShared(string directory)
    {
        if (Libc.mount(null, directory, null, Libc.MS_SHARED | Libc.MS_REC, null) == 0)
        {
            return;
        }
        if (Libc.LastError != Libc.EINVAL)
        {
            throw new SyscallException($"mount --make-rshared {directory}", Libc.LastError);
        }
        // Not a mount point yet.
        Libc.Check(Libc.mount(directory, directory, "none", Libc.MS_BIND | Libc.MS_REC, null), $"mount --rbind {directory} {directory}");
        Libc.Check(Libc.mount(null, directory, null, Libc.MS_SHARED | Libc.MS_REC, null), $"mount --make-rshared {directory}");
    }

    internal static bool IsMountPoint(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        // mountinfo field 5 is the mount point, with spaces and the like octal-escaped.
        return File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Any(fields => fields.Length > 4 && fields[4].Replace("\\040", " ", StringComparison.Ordinal) == full);
    }
}
