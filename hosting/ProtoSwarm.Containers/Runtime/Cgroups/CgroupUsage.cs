using System.Globalization;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// Reading a container's usage (and its OOM kills) from its cgroup files, shared by both drivers. Memory is docker's
/// "usage without the page cache the kernel can drop at once": usage minus inactive_file (v1's
/// hierarchical total_inactive_file), so a container that read a large file does not look full.
/// </summary>
internal static class CgroupUsageFiles
{
    /// <summary>v1 writes "unlimited" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages); anything this large is no limit.</summary>
    private const long Unlimited = long.MaxValue / 2;

    public static long ReadNumber(ISyscalls sys, string path) =>
        long.Parse(sys.ReadFile(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>A limit file: "max" (v2) or v1's huge number is null.</summary>
    public static long? ReadLimit(ISyscalls sys, string path)
    {
        var text = sys.ReadFile(path).Trim();
        if (text == "max")
        {
            return null;
        }

        var value = long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return value >= Unlimited ? null : value;
    }

    /// <summary>The value of "key N" in a flat keyed file (memory.stat, cpu.stat); null when the key is not there.</summary>
    public static long? StatValue(string text, string key)
    {
        foreach (var line in text.Split('\n'))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key)
                && long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    public static long WithoutInactiveFile(long usage, long? inactiveFile) =>
        inactiveFile is { } inactive && inactive < usage ? usage - inactive : usage;

    /// <summary>
    /// The bytes read and written, summed over the devices: v1's blkio.throttle.io_service_bytes ("MAJ:MIN Read N" and
    /// "MAJ:MIN Write N" lines, then a "Total N" one) or v2's io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N ..."), as docker's
    /// BLOCK I/O sums them.
    /// </summary>
    public static (long Read, long Write) BlockBytes(string text)
    {
        long read = 0, write = 0;
        foreach (var line in text.Split('\n'))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2 || !words[0].Contains(':', StringComparison.Ordinal))
            {
                continue;
            }

            if (words.Length == 3 && long.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
            {
                read += words[1] == "Read" ? bytes : 0;
                write += words[1] == "Write" ? bytes : 0;
                continue;
            }

            foreach (var word in words.Skip(1))
            {
                if (word.StartsWith("rbytes=", StringComparison.Ordinal) && long.TryParse(word.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var r))
                {
                    read += r;
                }
                else if (word.StartsWith("wbytes=", StringComparison.Ordinal) && long.TryParse(word.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var w))
                {
                    write += w;
                }
            }
        }

        return (read, write);
    }

    /// <summary>The directory of the placement that has the file, or null.</summary>
    public static string? DirectoryWith(ISyscalls sys, CgroupPlacement placement, string file) =>
        placement.Directories.FirstOrDefault(d => sys.FileExists(d + "/" + file));
}
