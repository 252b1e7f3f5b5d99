using System.Globalization;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// One reading of a container's cgroup counters. CpuNanoseconds is the CPU time its processes used
/// since the container started (a counter: a rate needs two readings). MemoryBytes is docker's
/// figure, usage without the inactive page cache. A null limit is none (the caller may show the
/// host's memory, as docker does). A controller the node does not mount reads 0.
/// </summary>
public sealed record ContainerUsage(long CpuNanoseconds, long MemoryBytes, long? MemoryLimitBytes, long Pids, long? PidsLimit);

/// <summary>The node's own figures a usage is shown against.</summary>
public static class HostMemory
{
    /// <summary>MemTotal of /proc/meminfo in bytes; 0 when the text has none.</summary>
    public static long TotalBytes(string meminfo)
    {
        foreach (var line in meminfo.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
            {
                return parts.Length >= 2 && parts[1] == "kB" ? kib * 1024 : kib;
            }
        }

        return 0;
    }

    public static long TotalBytes() => TotalBytes(File.ReadAllText("/proc/meminfo"));
}
