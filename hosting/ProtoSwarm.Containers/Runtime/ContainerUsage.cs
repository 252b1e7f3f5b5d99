using System.Globalization;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// One reading of a container's cgroup counters. CpuNanoseconds is the CPU time its processes used
/// since the container started (a counter: a rate needs two readings). MemoryBytes is docker's
/// figure, usage without the inactive page cache. A null limit is none (the caller may show the
/// host's memory, as docker does). A controller the node does not mount reads 0.
/// </summary>
public sealed record ContainerUsage(long CpuNanoseconds, long MemoryBytes, long? MemoryLimitBytes, long Pids, long? PidsLimit)
{
    /// <summary>Bytes its processes read from and wrote to block devices (v1's blkio, v2's io controller; 0 where the node has neither).</summary>
    public long BlockReadBytes { get; init; }

    public long BlockWriteBytes { get; init; }
}

/// <summary>A network namespace's traffic as docker's stats count it: the bytes received and sent by its interfaces but loopback.</summary>
public static class NetworkDeviceCounters
{
    /// <summary>
    /// The sums of /proc/PID/net/dev (the namespace of PID's own view: "  eth0: RXBYTES packets ... TXBYTES ...", two header
    /// lines first), lo left out; a line that does not read is skipped.
    /// </summary>
    public static (long Received, long Sent) Sum(string netDev)
    {
        long received = 0, sent = 0;
        foreach (var line in netDev.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.AsSpan(0, colon).Trim().SequenceEqual("lo"))
            {
                continue;
            }

            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 9
                && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rx)
                && long.TryParse(fields[8], NumberStyles.None, CultureInfo.InvariantCulture, out var tx))
            {
                received += rx;
                sent += tx;
            }
        }

        return (received, sent);
    }

    /// <summary>The counters of the network namespace <paramref name="pid"/> is in, read from its /proc view; null once it is gone.</summary>
    public static (long Received, long Sent)? Read(int pid)
    {
        try
        {
            return pid > 0 ? Sum(File.ReadAllText($"/proc/{pid}/net/dev")) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

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
