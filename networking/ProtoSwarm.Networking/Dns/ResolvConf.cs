using System.Collections.Immutable;
using System.Net;
using System.Text;

namespace ProtoSwarm.Networking.Dns;

/// <summary>The parts of a resolv.conf the embedded DNS needs: the node's resolvers and search domains.</summary>
public sealed record ResolvConf(ImmutableArray<IPAddress> Nameservers, ImmutableArray<string> Search)
{
    public const string HostPath = "/etc/resolv.conf";

    /// <summary>The embedded server's address in every task's namespace (docker's).</summary>
    public static readonly IPAddress EmbeddedAddress = IPAddress.Parse("127.0.0.11");

    public static ResolvConf Parse(string text)
    {
        var nameservers = ImmutableArray.CreateBuilder<IPAddress>();
        var search = ImmutableArray<string>.Empty;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#', ';')[0];
            var fields = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2)
            {
                continue;
            }

            switch (fields[0])
            {
                case "nameserver" when IPAddress.TryParse(fields[1].Split('%')[0], out var address):
                    nameservers.Add(address);
                    break;
                // The last search (or domain) line wins, as in glibc.
                case "search":
                case "domain":
                    search = [.. fields.Skip(1)];
                    break;
            }
        }

        return new ResolvConf(nameservers.ToImmutable(), search);
    }

    public static ResolvConf ReadHost(string path = HostPath) =>
        File.Exists(path) ? Parse(File.ReadAllText(path)) : new ResolvConf([], []);

    /// <summary>
    /// The node's resolvers a task's queries may be forwarded to: never the embedded address itself
    /// (a node that is itself a container would otherwise send queries round in a loop).
    /// </summary>
    public ImmutableArray<IPAddress> Upstreams => [.. Nameservers.Where(a => !a.Equals(EmbeddedAddress)).Distinct()];

    /// <summary>
    /// A task's /etc/resolv.conf, as docker writes it for a container on a user-defined network: the
    /// embedded server, the host's search domains, and ndots:0 so a bare service name is asked as is.
    /// </summary>
    public string ForContainer()
    {
        var text = new StringBuilder();
        text.Append("nameserver ").Append(EmbeddedAddress).Append('\n');
        if (Search.Length > 0)
        {
            text.Append("search ").AppendJoin(' ', Search).Append('\n');
        }

        text.Append("options ndots:0\n");
        return text.ToString();
    }
}
