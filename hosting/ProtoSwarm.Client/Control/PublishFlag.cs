using System.Globalization;
using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// docker's `run -p/--publish [IP:][HOST:]CONTAINER[/tcp|udp]`: a host-mode published port of the container (HOST left
/// out: the node picks a free one). IP may only be 0.0.0.0 (or left out): the node forwards the port on all its addresses.
/// Port ranges (8080-8081:80-81) are not taken here. Read by the CLI to refuse a mistake early and by the node host.
/// </summary>
public static class PublishFlag
{
    /// <summary>The port <paramref name="text"/> publishes, or docker's refusal of it.</summary>
    public static (PortConfig? Port, string? Error) Parse(string text)
    {
        var protocol = PortProtocol.Tcp;
        var spec = text;
        var slash = text.LastIndexOf('/');
        if (slash >= 0)
        {
            switch (text[(slash + 1)..].ToLowerInvariant())
            {
                case "tcp": break;
                case "udp": protocol = PortProtocol.Udp; break;
                default: return (null, $"invalid proto: {text[(slash + 1)..]}");
            }

            spec = text[..slash];
        }

        string ip = string.Empty, host = string.Empty, container;
        var last = spec.LastIndexOf(':');
        if (last < 0)
        {
            container = spec;
        }
        else
        {
            container = spec[(last + 1)..];
            var rest = spec[..last];
            var first = rest.LastIndexOf(':');
            (ip, host) = first < 0 ? (string.Empty, rest) : (rest[..first].Trim('[', ']'), rest[(first + 1)..]);
        }

        if (container.Length == 0)
        {
            return (null, $"No port specified: {spec}<empty>");
        }

        if (container.Contains('-', StringComparison.Ordinal) || host.Contains('-', StringComparison.Ordinal))
        {
            return (null, $"invalid port {text}: port ranges are not available here; publish each port with a -p of its own");
        }

        if (!Port(container, out var target))
        {
            return (null, $"Invalid containerPort: {container}");
        }

        var published = 0;
        if (host.Length > 0 && !Port(host, out published))
        {
            return (null, $"Invalid hostPort: {host}");
        }

        if (ip.Length > 0)
        {
            if (!IPAddress.TryParse(ip, out var address))
            {
                return (null, $"Invalid ip address: {ip}");
            }

            if (!address.Equals(IPAddress.Any))
            {
                return (null, $"invalid port {text}: publishing on one address ({ip}) is not available here; the node forwards a published port on all its addresses (leave {ip}: out, or give 0.0.0.0)");
            }
        }

        return (new PortConfig(target, published, protocol, PublishMode.Host), null);
    }

    private static bool Port(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
