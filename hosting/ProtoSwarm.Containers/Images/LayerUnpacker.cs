using System.Formats.Tar;
using ProtoSwarm.Containers.Images.Interop;

namespace ProtoSwarm.Containers.Images;

/// <summary>What unpacking one layer gave: its size on disk and the entries it could not create.</summary>
public sealed record UnpackedLayer(long Size, IReadOnlyList<string> Skipped);

/// <summary>
/// Unpacks one layer tar into a directory that overlayfs can stack: OCI whiteouts become what
/// overlayfs reads (`.wh.NAME` a 0/0 character device, `.wh..wh..opq` the directory's
/// `trusted.overlay.opaque=y`). Nothing outside the directory is ever written: a path with `..` is
/// refused, and a path that would pass through a symlink the layer made is refused too, since
/// following it could leave the layer.
/// </summary>
internal static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private static readonly byte[] OpaqueValue = "y"u8.ToArray();

    /// <param name="layer">Names the layer in error messages.</param>
    public static UnpackedLayer Unpack(Stream tar, string target, string layer, CancellationToken ct)
    {
        Directory.CreateDirectory(target);
        var skipped = new List<string>();
        var directoryTimes = new List<(string Path, DateTimeOffset Time)>();
        long size = 0;
        using var reader = new TarReader(tar, leaveOpen: true);
        TarEntry? entry;
        while ((entry = Next(reader, layer)) is not null)
        {
            ct.ThrowIfCancellationRequested();
            var relative = Clean(entry.Name, layer);
            if (relative.Length == 0)
            {
                if (entry.EntryType == TarEntryType.Directory)
                {
                    SetOwnerAndMode(target, entry);
                    directoryTimes.Add((target, entry.ModificationTime));
                }

                continue;
            }

            var slash = relative.LastIndexOf('/');
            var parentRelative = slash < 0 ? string.Empty : relative[..slash];
            var name = slash < 0 ? relative : relative[(slash + 1)..];
            var parent = EnsureParent(target, parentRelative, layer, entry.Name);

            if (name == OpaqueWhiteout)
            {
                FileSyscalls.Check(FileSyscalls.Lsetxattr(parent, "trusted.overlay.opaque", OpaqueValue, (nuint)OpaqueValue.Length, 0), "lsetxattr", parent);
                continue;
            }

            if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                var hidden = name[WhiteoutPrefix.Length..];
                if (hidden.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    continue; // aufs metadata (.wh..wh.plnk, .wh..wh.aufs): nothing for overlayfs
                }

                if (hidden.Length == 0)
                {
                    throw ImageStoreException.Corrupt($"layer {layer}: the whiteout '{entry.Name}' names no file; the layer is corrupt");
                }

                var whiteout = Path.Combine(parent, hidden);
                RemoveExisting(whiteout);
                FileSyscalls.Check(FileSyscalls.Mknod(whiteout, FileSyscalls.S_IFCHR, FileSyscalls.MakeDev(0, 0)), "mknod", whiteout);
                continue;
            }

            var path = Path.Combine(parent, name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (!IsRealDirectory(path))
                    {
                        RemoveExisting(path);
                        Directory.CreateDirectory(path);
                    }

                    SetOwnerAndMode(path, entry);
                    directoryTimes.Add((path, entry.ModificationTime));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    RemoveExisting(path);
                    using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920))
                    {
                        entry.DataStream?.CopyTo(file);
                        size += file.Length;
                    }

                    SetOwnerAndMode(path, entry);
                    SetTime(path, entry.ModificationTime, followLinks: true);
                    break;
                case TarEntryType.SymbolicLink:
                    RemoveExisting(path);
                    File.CreateSymbolicLink(path, entry.LinkName);
                    FileSyscalls.Check(FileSyscalls.Lchown(path, entry.Uid, entry.Gid), "lchown", path);
                    SetTime(path, entry.ModificationTime, followLinks: false);
                    break;
                case TarEntryType.HardLink:
                    var linkRelative = Clean(entry.LinkName, layer);
                    var linkSlash = linkRelative.LastIndexOf('/');
                    var linkParent = EnsureParent(target, linkSlash < 0 ? string.Empty : linkRelative[..linkSlash], layer, entry.LinkName, create: false);
                    var existing = Path.Combine(linkParent, linkSlash < 0 ? linkRelative : linkRelative[(linkSlash + 1)..]);
                    if (!Path.Exists(existing) && !IsSymlink(existing))
                    {
                        throw ImageStoreException.Corrupt($"layer {layer}: the hard link '{entry.Name}' points at '{entry.LinkName}', which the layer has not created before it; the layer tar is corrupt");
                    }

                    RemoveExisting(path);
                    FileSyscalls.Check(FileSyscalls.Link(existing, path), "link", path);
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    RemoveExisting(path);
                    var kind = entry.EntryType switch
                    {
                        TarEntryType.CharacterDevice => FileSyscalls.S_IFCHR,
                        TarEntryType.BlockDevice => FileSyscalls.S_IFBLK,
                        _ => FileSyscalls.S_IFIFO,
                    };
                    var device = entry is PosixTarEntry posix ? FileSyscalls.MakeDev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor) : 0;
                    if (FileSyscalls.Mknod(path, kind | (uint)entry.Mode, device) == -1)
                    {
                        skipped.Add($"{relative} ({entry.EntryType}: not permitted here)");
                        continue;
                    }

                    SetOwnerAndMode(path, entry);
                    break;
                default:
                    // PAX/GNU metadata entries are consumed by TarReader; anything left (sparse, multi-volume) is not a Linux file.
                    skipped.Add($"{relative} ({entry.EntryType})");
                    break;
            }
        }

        // A directory's time last: creating its entries moved it. Deepest first so parents stay put.
        foreach (var (path, time) in directoryTimes.OrderByDescending(d => d.Path.Length))
        {
            SetTime(path, time, followLinks: false);
        }

        return new UnpackedLayer(size, skipped);
    }

    private static TarEntry? Next(TarReader reader, string layer)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw ImageStoreException.Corrupt($"layer {layer}: not a readable tar ({e.Message}); the archive is corrupt or truncated");
        }
    }

    /// <summary>The entry's path inside the layer, without leading `./` or `/`; `..` anywhere is refused.</summary>
    internal static string Clean(string name, string layer)
    {
        var parts = new List<string>();
        foreach (var part in name.Replace('\\', '/').Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw ImageStoreException.Corrupt($"layer {layer}: the entry '{name}' escapes the layer ('..' in its path); the archive is refused, nothing was stored");
            }

            if (part.Contains('\0', StringComparison.Ordinal))
            {
                throw ImageStoreException.Corrupt($"layer {layer}: the entry '{name}' has a NUL in its path");
            }

            parts.Add(part);
        }

        return string.Join('/', parts);
    }

    /// <summary>The parent directory of an entry, made as real directories; a symlink on the way is refused, never followed.</summary>
    private static string EnsureParent(string target, string parentRelative, string layer, string entryName, bool create = true)
    {
        var current = target;
        if (parentRelative.Length == 0)
        {
            return current;
        }

        foreach (var part in parentRelative.Split('/'))
        {
            current = Path.Combine(current, part);
            if (IsSymlink(current))
            {
                throw ImageStoreException.Corrupt($"layer {layer}: the entry '{entryName}' lies under '{part}', a symlink this layer made; following it could write outside the layer, so the archive is refused");
            }

            if (!Directory.Exists(current))
            {
                if (!create)
                {
                    return current;
                }

                RemoveExisting(current);
                Directory.CreateDirectory(current);
            }
        }

        return current;
    }

    private static bool IsSymlink(string path)
    {
        try
        {
            return (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static bool IsRealDirectory(string path) => Directory.Exists(path) && !IsSymlink(path);

    private static void RemoveExisting(string path)
    {
        if (IsRealDirectory(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (Path.Exists(path) || IsSymlink(path))
        {
            File.Delete(path);
        }
    }

    private static void SetOwnerAndMode(string path, TarEntry entry)
    {
        FileSyscalls.Check(FileSyscalls.Lchown(path, entry.Uid, entry.Gid), "lchown", path);
        // After chown, which clears setuid and setgid.
        File.SetUnixFileMode(path, entry.Mode);
    }

    private static void SetTime(string path, DateTimeOffset time, bool followLinks)
    {
        var seconds = time.ToUnixTimeSeconds();
        var spec = new FileSyscalls.Timespec { Seconds = seconds, Nanoseconds = (time.UtcTicks % TimeSpan.TicksPerSecond) * 100 };
        FileSyscalls.Check(
            FileSyscalls.Utimensat(FileSyscalls.AT_FDCWD, path, [spec, spec], followLinks ? 0 : FileSyscalls.AT_SYMLINK_NOFOLLOW),
            "utimensat",
            path);
    }
}
