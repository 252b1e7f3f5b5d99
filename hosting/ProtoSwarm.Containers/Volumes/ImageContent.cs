using ProtoSwarm.Containers.Images.Interop;
using ProtoSwarm.Containers.Volumes.Interop;

namespace ProtoSwarm.Containers.Volumes;

/// <summary>
/// Docker fills an empty volume with what the image has at the mount's target. The image is a stack of
/// unpacked layers, so this merges them as overlayfs would: the topmost layer that has a name wins, a
/// whiteout (a 0/0 character device) hides it, an opaque directory hides the layers below it, and a
/// file in an upper layer hides a directory below. Owners, modes and symlinks are kept; devices,
/// fifos and sockets are skipped.
/// </summary>
internal static class ImageContent
{
    public static void CopyInto(IReadOnlyList<string> layersLowestFirst, string target, string destination)
    {
        var layers = layersLowestFirst.Reverse().ToList();
        var relative = target.Trim('/');
        // The volume's own directory takes the owner and mode of the image's directory, as docker's copy does.
        foreach (var layer in layers)
        {
            if (FileStatus.Of(Path.Join(layer, relative)) is { } top)
            {
                if (top.IsDirectory)
                {
                    SetOwnerAndMode(destination, top);
                }

                break;
            }
        }

        Merge(layers, relative, destination);
    }

    private static void Merge(List<string> layers, string relative, string destination)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Count; i++)
        {
            var directory = Path.Join(layers[i], relative);
            if (FileStatus.Of(directory) is not { } status)
            {
                continue;
            }

            if (!status.IsDirectory)
            {
                return; // a file, a link or a whiteout hides whatever the lower layers have here
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
            {
                var name = Path.GetFileName(entry);
                if (!seen.Add(name) || FileStatus.Of(entry) is not { } item || item.IsWhiteout)
                {
                    continue;
                }

                var to = Path.Join(destination, name);
                switch (item.Type)
                {
                    case FileStatus.S_IFDIR:
                        Directory.CreateDirectory(to);
                        Merge(layers[i..], Path.Join(relative, name), to);
                        SetOwnerAndMode(to, item);
                        break;
                    case FileStatus.S_IFLNK:
                        File.CreateSymbolicLink(to, new FileInfo(entry).LinkTarget!);
                        FileSyscalls.Check(FileSyscalls.Lchown(to, item.Uid, item.Gid), "lchown", to);
                        break;
                    case FileStatus.S_IFREG:
                        File.Copy(entry, to);
                        SetOwnerAndMode(to, item);
                        break;
                }
            }

            if (IsOpaque(directory))
            {
                return;
            }
        }
    }

    private static void SetOwnerAndMode(string path, Stat status)
    {
        // The owner first: chown clears setuid and setgid.
        FileSyscalls.Check(FileSyscalls.Lchown(path, status.Uid, status.Gid), "lchown", path);
        File.SetUnixFileMode(path, status.Permissions);
    }

    private static bool IsOpaque(string directory)
    {
        var value = new byte[1];
        return FileSyscalls.Lgetxattr(directory, "trusted.overlay.opaque", value, 1) == 1 && value[0] == (byte)'y';
    }
}
