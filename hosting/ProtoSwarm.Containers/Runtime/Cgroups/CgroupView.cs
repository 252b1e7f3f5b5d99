using ProtoSwarm.ContainerInit;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// What a container sees at /sys/fs/cgroup: each hierarchy it was placed in, mounted afresh by init inside
/// the container's cgroup namespace, so the mount's root is the container's own cgroup and
/// /sys/fs/cgroup/memory/memory.limit_in_bytes is its limit (as docker shows it). Without them a JVM, .NET or
/// Go runtime sizes its heap and thread pool from the host. Docker's layout: on v1 a tmpfs with one directory
/// per hierarchy, named by its controllers ("cpu,cpuacct", with a symlink per controller), and the hybrid
/// hosts' cgroup2 at "unified"; on a host with only cgroup v2, cgroup2 on /sys/fs/cgroup itself.
/// </summary>
internal static class CgroupView
{
    /// <summary>
    /// The mounts for a container placed in <paramref name="directories"/> (its cgroup directories on the host),
    /// given the host's cgroup mounts and the node host's /proc/self/cgroup, which names each v1 hierarchy by
    /// exactly the controller list its mount must ask for. A directory under no cgroup mount, or under a v1
    /// hierarchy that /proc/self/cgroup does not name, is left out: the view shows what it can name exactly.
    /// </summary>
    public static InitCgroupMount[] Plan(IReadOnlyList<MountInfo> mounts, string selfCgroup, IReadOnlyList<string> directories)
    {
        var hierarchies = selfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3))
            .Where(p => p.Length == 3 && p[1].Length > 0)
            .Select(p => p[1].Split(','))
            .ToList();
        var v1 = new List<string[]>();
        var unified = false;
        foreach (var dir in directories)
        {
            var mount = MountOf(mounts, dir);
            if (mount?.FsType == "cgroup2")
            {
                unified = true;
            }
            else if (mount is not null
                && hierarchies.Where(h => h.All(mount.SuperOptions.Contains)).MaxBy(h => h.Length) is { } controllers
                && !v1.Exists(c => c.SequenceEqual(controllers)))
            {
                v1.Add(controllers);
            }
        }
        if (v1.Count == 0)
        {
            return unified ? [new InitCgroupMount { Name = "", Type = "cgroup2" }] : [];
        }
        var result = v1.Select(V1Mount).ToList();
        if (unified)
        {
            result.Add(new InitCgroupMount { Name = "unified", Type = "cgroup2" });
        }
        return [.. result];
    }

    /// <summary>Whether a mount of the container's own at <paramref name="target"/> is at, above or inside
    /// /sys/fs/cgroup: docker lets a user's mount replace a default one, and the view would be mounted over it
    /// or into it.</summary>
    public static bool Overlaps(string target)
    {
        var path = "/" + target.Trim('/');
        const string Root = "/sys/fs/cgroup";
        return path == Root || path.StartsWith(Root + "/", StringComparison.Ordinal) || Root.StartsWith(path + "/", StringComparison.Ordinal);
    }

    // "cpu,cpuacct" is the directory, with "cpu" and "cpuacct" linked to it; "name=systemd" becomes "systemd".
    private static InitCgroupMount V1Mount(string[] controllers)
    {
        var names = controllers.Select(c => c.StartsWith("name=", StringComparison.Ordinal) ? c[5..] : c).ToArray();
        var name = string.Join(',', names);
        return new InitCgroupMount
        {
            Name = name,
            Type = "cgroup",
            Options = string.Join(',', controllers),
            Links = names.Length > 1 ? names : [],
        };
    }

    // The cgroup mount whose mount point holds the directory (the deepest one, should mounts nest).
    private static MountInfo? MountOf(IReadOnlyList<MountInfo> mounts, string dir) => mounts
        .Where(m => m.FsType is "cgroup" or "cgroup2")
        .Where(m => dir == m.MountPoint || dir.StartsWith(m.MountPoint.TrimEnd('/') + "/", StringComparison.Ordinal))
        .MaxBy(m => m.MountPoint.Length);
}
