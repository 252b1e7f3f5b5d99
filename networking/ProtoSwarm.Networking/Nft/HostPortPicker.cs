using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Nft;

/// <summary>A range of ports, both ends included: where a node picks host ports for tasks.</summary>
public readonly record struct PortRange(int First, int Last)
{
    /// <summary>The kernel's default ephemeral range (net.ipv4.ip_local_port_range), for a node whose setting cannot be read.</summary>
    public static readonly PortRange KernelDefault = new(32768, 60999);

    /// <summary>
    /// The range as /proc/sys/net/ipv4/ip_local_port_range gives it ("32768\t60999"), or the
    /// kernel's default when the text is not two ports in order.
    /// </summary>
    public static PortRange Parse(string? text)
    {
        var parts = (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            && first is > 0 and <= 65535 && last >= first && last <= 65535
            ? new PortRange(first, last)
            : KernelDefault;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");
}

/// <summary>
/// How a node picks the host port of a task's host-mode port published as 0, as docker's engine
/// does for swarm: a port of the node's ephemeral range (docker's port allocator reads the same
/// setting) that nothing on the node uses, each task its own, so two tasks of one service on one
/// node each get one (a fixed host port allows one task per node). Ports are handed out in turn
/// from after the last one picked, wrapping at the end, as docker's allocator does, so a port a
/// task just gave back is not the next one given (a client may still be talking to it). Pure: the
/// node says what is in use (<see cref="Nft.BoundPorts"/>, its rules, its other tasks).
/// </summary>
public static class HostPortPicker
{
    /// <summary>
    /// The task's host-mode ports with a host port each: a fixed one as it is; one published as 0
    /// gets the port the task had (<paramref name="previous"/>, the status its node reported before
    /// a node host restart) while nothing else holds it, else the next free port of
    /// <paramref name="range"/> after <paramref name="after"/>. Ingress ports are left out (the
    /// routing mesh publishes them on every node). Null, with why, when the range has no free port left.
    /// </summary>
    /// <param name="inUse">Ports the node's namespace or its rules already use, and those of its other tasks.</param>
    /// <param name="after">The last port picked on this node (0: none yet); updated with each pick.</param>
    public static (ImmutableArray<PortConfig> Ports, string? Problem) Assign(
        IEnumerable<PortConfig> requested, IEnumerable<PortConfig> previous, IReadOnlySet<(PortProtocol Protocol, int Port)> inUse, PortRange range, ref int after)
    {
        var taken = new HashSet<(PortProtocol, int)>(inUse);
        var hostMode = requested.Where(p => p.PublishMode == PublishMode.Host).ToList();
        foreach (var port in hostMode.Where(p => p.PublishedPort > 0))
        {
            taken.Add((port.Protocol, port.PublishedPort));
        }

        var earlier = previous.Where(p => p.PublishMode == PublishMode.Host && p.PublishedPort > 0).ToList();
        var ports = ImmutableArray.CreateBuilder<PortConfig>(hostMode.Count);
        foreach (var port in hostMode)
        {
            if (port.PublishedPort > 0)
            {
                ports.Add(port);
                continue;
            }

            var kept = earlier.FirstOrDefault(p => p.TargetPort == port.TargetPort && p.Protocol == port.Protocol && !taken.Contains((p.Protocol, p.PublishedPort)));
            var chosen = kept?.PublishedPort ?? Next(port.Protocol, taken, range, after);
            if (chosen == 0)
            {
                return ([], string.Create(CultureInfo.InvariantCulture,
                    $"no free host port is left on this node in {range} (its net.ipv4.ip_local_port_range) for target port {port.TargetPort}/{Lower(port.Protocol)}; publish it on a port of your choice (--publish published=PORT,target={port.TargetPort},mode=host)"));
            }

            if (kept is null)
            {
                after = chosen;
            }
            else
            {
                earlier.Remove(kept);
            }

            taken.Add((port.Protocol, chosen));
            ports.Add(port with { PublishedPort = chosen });
        }

        return (ports.MoveToImmutable(), null);
    }

    /// <summary>The first port of the range after <paramref name="after"/> (wrapping) not taken for the protocol; 0 when none is free.</summary>
    private static int Next(PortProtocol protocol, HashSet<(PortProtocol, int)> taken, PortRange range, int after)
    {
        var size = range.Last - range.First + 1;
        var start = after >= range.First && after < range.Last ? after + 1 - range.First : 0;
        for (var i = 0; i < size; i++)
        {
            var port = range.First + ((start + i) % size);
            if (!taken.Contains((protocol, port)))
            {
                return port;
            }
        }

        return 0;
    }

    private static string Lower(PortProtocol protocol) => protocol == PortProtocol.Udp ? "udp" : "tcp";
}

/// <summary>
/// The local ports sockets use in a namespace, from the kernel's socket tables
/// (/proc/thread-self/net/tcp, tcp6, udp, udp6, read on a thread in that namespace): a port a
/// process there listens on, or is connected from, is not given to a task.
/// </summary>
public static class BoundPorts
{
    /// <summary>The local ports of one table's text: the second column's port, in hex ("0100007F:1F90" is port 8080).</summary>
    public static IEnumerable<int> Parse(string table)
    {
        foreach (var line in table.Split('\n').Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 1 && fields[1].LastIndexOf(':') is var colon and >= 0 &&
                int.TryParse(fields[1].AsSpan(colon + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port) && port > 0)
            {
                yield return port;
            }
        }
    }

    /// <summary>Every port in use in the calling thread's namespace, per protocol; a table that cannot be read adds nothing.</summary>
    public static HashSet<(PortProtocol Protocol, int Port)> ReadOwn()
    {
        var ports = new HashSet<(PortProtocol, int)>();
        foreach (var (file, protocol) in new[] { ("tcp", PortProtocol.Tcp), ("tcp6", PortProtocol.Tcp), ("udp", PortProtocol.Udp), ("udp6", PortProtocol.Udp) })
        {
            string text;
            try
            {
                text = File.ReadAllText("/proc/thread-self/net/" + file);
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var port in Parse(text))
            {
                ports.Add((protocol, port));
            }
        }

        return ports;
    }
}
