using System.Runtime.InteropServices;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using ProtoSwarm.ContainerInit.Interop;

namespace ProtoSwarm.ContainerInit;

// The container's mounts, made inside its own mount namespace: nothing here is visible to the host,
// and everything goes away with the namespace (the host has no overlay to unmount).
internal static unsafe class RootFilesystem
{
    public static void Build(InitConfig config)
    {
        // Mount events must not travel back to the host; in from it only when a bind's propagation asks for them
        // (a bind of a slave mount is a slave of the same master, and each bind then gets its own propagation).
        Native.Check(mount(null, "/", null, PropagationFlags(config.RootPropagation), null), $"make mounts {config.RootPropagation}");
        var root = config.RootfsMount;
        Native.MkdirAll(root);
        MountRoot(config, root);
        // Whatever is mounted on the root from here on stays in this namespace, as runc keeps the rootfs' parent private.
        Native.Check(mount(null, root, null, MS_REC | MS_PRIVATE, null), "make the root filesystem private");

        Mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, null, "mount /proc");
        BuildDev(root, config.MountLabel);
        Mount("sysfs", root + "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null, "mount /sys");
        PrepareCgroupView(config, root);

        Native.MkdirAll(root + "/etc");
        var etcFiles = EtcFiles(config);
        foreach (var (path, content) in etcFiles)
        {
            Native.WriteFile(root + path, content, $"write {path}");
        }

        foreach (var m in config.Mounts)
        {
            MountVolume(m, root, config.MountLabel);
        }

        CoverEtcFiles(config, root, etcFiles);
    }

    // The files of /etc the container gets from its config: its hostname, and its hosts and resolv.conf when given.
    private static List<(string Path, string Content)> EtcFiles(InitConfig config)
    {
        var files = new List<(string Path, string Content)> { ("/etc/hostname", config.Hostname + "\n") };
        if (config.Hosts is not null)
        {
            files.Add(("/etc/hosts", config.Hosts));
        }

        if (config.ResolvConf is not null)
        {
            files.Add(("/etc/resolv.conf", config.ResolvConf));
        }

        return files;
    }

    // A mount on /etc (a volume or a bind of the node's directory) hides the files written above. As
    // docker's, they are then bind-mounted over the user's mounts from the container's state directory,
    // never written into the volume; a mount of the file itself is the user's choice and stays.
    private static void CoverEtcFiles(InitConfig config, string root, List<(string Path, string Content)> files)
    {
        var targets = config.Mounts.Select(m => "/" + m.Target.Trim('/')).ToList();
        foreach (var (path, content) in files)
        {
            if (targets.Contains(path) || !targets.Any(t => path.StartsWith(t == "/" ? t : t + "/", StringComparison.Ordinal)))
            {
                continue;
            }

            var source = Path.Combine(config.StateDir, "etc-" + Path.GetFileName(path));
            Native.WriteFile(source, content, $"write {source}");
            var target = ResolveInRoot(root, path);
            var fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0x1A4 /* 0644 */);
            if (fd < 0)
            {
                // A read-only mount without the file: the container goes without it, as before.
                continue;
            }

            close(fd);
            Native.Check(mount(source, target, null, MS_BIND, null), $"mount {path} over the mount on its directory");
        }
    }

    private static void MountVolume(InitMount m, string root, string? mountLabel)
    {
        var target = ResolveInRoot(root, m.Target);
        var step = $"mount {m.Type} on {m.Target}";
        if (m.Type == "tmpfs")
        {
            Native.MkdirAll(target);
            Native.Check(mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (m.ReadOnly ? MS_RDONLY : 0), SelinuxLabel.MountData(string.IsNullOrEmpty(m.Data) ? null : m.Data, mountLabel)), step);
            return;
        }

        // The target takes the source's kind: a directory for a directory, an empty file for a file.
        if (System.IO.Directory.Exists(m.Source))
        {
            Native.MkdirAll(target);
        }
        else
        {
            Native.MkdirAll(Path.GetDirectoryName(target) ?? root);
            var fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0x1A4 /* 0644 */);
            Native.Check(fd, $"create {m.Target} for a file bind mount");
            close(fd);
        }

        Native.Check(mount(m.Source, target, null, MS_BIND | (m.NonRecursive ? 0 : MS_REC), null), step);
        if (m.ReadOnly)
        {
            Native.Check(mount(m.Source, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, null), $"remount {m.Target} read-only");
            if (m.RecursiveReadOnly)
            {
                // A remount changes one mount; the ones the recursive bind brought along (a tmpfs or another disk under the
                // source) would stay writable. mount_setattr(2) sets read-only on the whole tree at once, as runc's "rro".
                var attr = new MountAttr { AttrSet = MOUNT_ATTR_RDONLY };
                Native.Check(mount_setattr(AT_FDCWD, target, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr), $"make {m.Target} and the mounts under it read-only (mount_setattr)");
            }
        }

        Native.Check(mount(null, target, null, PropagationFlags(m.Propagation), null), $"make {m.Target} {m.Propagation}");
    }

    /// <summary>mount(2)'s flags for docker's propagation word; the r- forms reach the mounts below as well.</summary>
    internal static ulong PropagationFlags(string propagation) => propagation switch
    {
        "rprivate" => MS_PRIVATE | MS_REC,
        "private" => MS_PRIVATE,
        "rshared" => MS_SHARED | MS_REC,
        "shared" => MS_SHARED,
        "rslave" => MS_SLAVE | MS_REC,
        "slave" => MS_SLAVE,
        _ => throw new InitException($"mount propagation '{propagation}' is not one of rprivate, private, rshared, shared, rslave, slave"),
    };

    // A mount target is a path in the image, whose symlinks a container's author controls: each one is
    // followed as it would be after the pivot, with the root as "/" and ".." stopping there, so a link
    // to /etc or ../../.. lands inside the rootfs, never on the host (the walk of filepath-securejoin).
    private static string ResolveInRoot(string root, string path)
    {
        var done = new List<string>();
        var todo = new List<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var links = 0;
        while (todo.Count > 0)
        {
            var part = todo[0];
            todo.RemoveAt(0);
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (done.Count > 0)
                {
                    done.RemoveAt(done.Count - 1);
                }
                continue;
            }
            var link = ReadLink(root + "/" + string.Join('/', done.Append(part)));
            if (link is null)
            {
                done.Add(part);
                continue;
            }
            if (++links > 40)
            {
                throw new InitException($"resolve mount target {path}: too many levels of symbolic links");
            }
            if (link.StartsWith('/'))
            {
                done.Clear();
            }
            todo.InsertRange(0, link.Split('/', StringSplitOptions.RemoveEmptyEntries));
        }
        return done.Count == 0 ? root : root + "/" + string.Join('/', done);
    }

    /// <summary>The symlink's target, or null when the path is no symlink or does not exist yet.</summary>
    private static string? ReadLink(string path)
    {
        var buffer = stackalloc byte[4096];
        var n = readlink(path, buffer, 4096);
        if (n >= 0)
        {
            return System.Text.Encoding.UTF8.GetString(buffer, (int)n);
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno is EINVAL or ENOENT or ENOTDIR)
        {
            return null;
        }
        throw InitException.FromErrno($"readlink {path}", errno);
    }

    private static void MountRoot(InitConfig config, string root)
    {
        if (config.LowerDirs.Length == 0)
        {
            throw new InitException("mount rootfs: the image has no layers");
        }
        if (config.UpperDir is null)
        {
            if (config.LowerDirs.Length == 1)
            {
                Native.Check(mount(config.LowerDirs[0], root, null, MS_BIND | MS_REC, null), "mount rootfs (bind)");
                return;
            }
        }
        // overlayfs lists the topmost layer first; the image store hands them lowest first.
        var options = "lowerdir=" + string.Join(':', config.LowerDirs.Reverse());
        if (config.UpperDir is not null)
        {
            options += $",upperdir={config.UpperDir},workdir={config.WorkDir}";
        }
        Native.Check(mount("overlay", root, "overlay", 0, SelinuxLabel.MountData(options, config.MountLabel)), "mount overlay rootfs");
    }

    // A bind-mounted single layer keeps the files' own labels (a bind takes no context=), as volumes do.
    private static void BuildDev(string root, string? mountLabel)
    {
        var dev = root + "/dev";
        Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, SelinuxLabel.MountData("mode=755,size=65536k", mountLabel), "mount /dev");
        foreach (var (name, major, minor) in new[] { ("null", 1u, 3u), ("zero", 1u, 5u), ("full", 1u, 7u), ("random", 1u, 8u), ("urandom", 1u, 9u), ("tty", 5u, 0u) })
        {
            Native.Check(mknod($"{dev}/{name}", 0x2000 | 0x1B6 /* 0666 */, ((ulong)major << 8) | minor), $"mknod /dev/{name}");
        }
        Mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, SelinuxLabel.MountData("newinstance,ptmxmode=0666,mode=0620,gid=5", mountLabel), "mount /dev/pts");
        Mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SelinuxLabel.MountData("mode=1777,size=65536k", mountLabel), "mount /dev/shm");
        Mount("mqueue", dev + "/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, null, "mount /dev/mqueue");
        if (mountLabel is not null)
        {
            // mqueue takes no context= option (runc labels it the same way): the mount's root gets the label.
            SetFileLabel(dev + "/mqueue", mountLabel, "label /dev/mqueue");
        }
        foreach (var (link, target) in new[] { ("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore") })
        {
            Native.Check(symlink(target, $"{dev}/{link}"), $"symlink /dev/{link}");
        }
    }

    private static void SetFileLabel(string path, string label, string step)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(label);
        fixed (byte* value = bytes)
        {
            Native.Check(lsetxattr(path, SelinuxLabel.Xattr, value, (nuint)bytes.Length, 0), step);
        }
    }

    private static void Mount(string source, string target, string type, ulong flags, string? data, string step)
    {
        Native.MkdirAll(target);
        Native.Check(mount(source, target, type, flags, data), step);
    }

    private const string CgroupRoot = "/sys/fs/cgroup";

    // v1's view is a tmpfs of directories (and links for joint hierarchies), made here with the rest of the root,
    // before the cgroups are joined; the cgroup filesystems go in once the cgroup namespace exists (MountCgroupView).
    // Docker's own mounts come before the user's, which may go inside it (the host dropped the view for one at or above it).
    private static void PrepareCgroupView(InitConfig config, string root)
    {
        if (!config.CgroupMounts.Any(m => m.Name.Length > 0))
        {
            return;
        }
        var dir = root + CgroupRoot;
        Native.Check(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SelinuxLabel.MountData("mode=755", config.MountLabel)), $"mount tmpfs on {CgroupRoot}");
        foreach (var m in config.CgroupMounts)
        {
            Native.MkdirAll(dir + "/" + m.Name);
            foreach (var link in m.Links.Where(l => l != m.Name))
            {
                Native.Check(symlink(m.Name, dir + "/" + link), $"symlink {CgroupRoot}/{link}");
            }
        }
    }

    /// <summary>
    /// Mounts each cgroup hierarchy of the view read-only, then makes the tmpfs holding them read-only too. Called
    /// in the container's cgroup namespace, before the pivot: a cgroup filesystem mounted there has the container's
    /// own cgroup as its root, so the container sees its limits and nothing of the host's tree above them.
    /// </summary>
    public static void MountCgroupView(InitConfig config)
    {
        var dir = config.RootfsMount + CgroupRoot;
        foreach (var m in config.CgroupMounts)
        {
            var target = m.Name.Length == 0 ? dir : dir + "/" + m.Name;
            var what = m.Options.Length == 0 ? m.Type : $"{m.Type} {m.Options}";
            Native.Check(mount(m.Type, target, m.Type, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, m.Options.Length == 0 ? null : m.Options),
                $"mount {what} on {CgroupRoot}{(m.Name.Length == 0 ? "" : "/" + m.Name)}");
        }
        if (config.CgroupMounts.Any(m => m.Name.Length > 0))
        {
            Native.Check(mount(null, dir, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null), $"remount {CgroupRoot} read-only");
        }
    }

    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new root,
    // with no directory needed for the old one inside the image.
    public static void PivotRoot(string root)
    {
        Native.Check(chdir(root), "chdir to rootfs");
        Native.Check(syscall(SYS_pivot_root, (long)Dot, (long)Dot, 0, 0, 0, 0), "pivot_root");
        Native.Check(umount2(".", MNT_DETACH), "unmount the old root");
        Native.Check(chdir("/"), "chdir /");
    }

    private static readonly nint Dot = Marshal.StringToHGlobalAnsi(".");

    // Docker's masked paths (hidden) and read-only paths (seen, not written: /proc/sys among them).
    public static void ConfineProc(InitConfig config)
    {
        foreach (var path in config.MaskedPaths)
        {
            var isDir = Directory.Exists(path);
            if (!isDir && !File.Exists(path))
            {
                continue;
            }
            var rc = isDir
                ? mount("tmpfs", path, "tmpfs", MS_RDONLY, null)
                : mount("/dev/null", path, null, MS_BIND, null);
            Native.Check(rc, $"mask {path}");
        }
        foreach (var path in config.ReadonlyPaths)
        {
            if (!Directory.Exists(path) && !File.Exists(path))
            {
                continue;
            }
            Native.Check(mount(path, path, null, MS_BIND | MS_REC, null), $"bind {path}");
            Native.Check(mount(path, path, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null), $"remount {path} read-only");
        }
    }
}
