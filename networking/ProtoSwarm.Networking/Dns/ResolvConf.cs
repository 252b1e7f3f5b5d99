using System.Collections.Immutable;
using System.Net;
using System.Text;
using ProtoSwarm.Contracts;

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
    /// embedded server, the service's search domains (--dns-search; else the host's; "." for none), its
    /// options (--dns-option), and ndots:0 unless it gives an ndots, so a bare service name is asked as is.
    /// The service's --dns servers are not listed: the embedded server forwards to them.
    /// </summary>
    public string ForContainer(DnsConfig? dns = null) => Write([EmbeddedAddress.ToString()], dns, ndotsZero: true);

    /// <summary>
    /// The resolv.conf of a task on no network: the service's --dns servers (else the host's), its search domains
    /// (else the host's) and options; null when the service sets none of them, so the host's file is copied as it is.
    /// </summary>
    public string? ForContainerWithoutNetwork(DnsConfig dns) =>
        dns.IsEmpty ? null : Write(dns.Nameservers.IsEmpty ? [.. Upstreams.Select(a => a.ToString())] : [.. dns.Nameservers], dns, ndotsZero: false);

    /// <summary>Docker's resolvers for a container on its default bridge whose host has only loopback ones (Google's).</summary>
    public static readonly ImmutableArray<string> BridgeFallback = ["8.8.8.8", "8.8.4.4"];

    /// <summary>
    /// The resolv.conf of a task on the node's bridge (a task on no network), as docker writes it for a
    /// container on its default bridge: the service's --dns servers, else the host's that the task can
    /// reach (not loopback: 127.0.0.53 in the task's namespace is the task itself), else Google's as
    /// docker's fallback; the service's search domains (else the host's) and options. Null, so the
    /// host's file is copied as it is, when the service sets nothing and every host resolver is reachable.
    /// </summary>
    public string? ForBridge(DnsConfig dns)
    {
        var reachable = Upstreams.Where(a => !IPAddress.IsLoopback(a)).Select(a => a.ToString()).ToList();
        if (dns.IsEmpty && !Nameservers.IsEmpty && Nameservers.All(a => !IPAddress.IsLoopback(a)))
        {
            return null;
        }

        return Write(!dns.Nameservers.IsEmpty ? [.. dns.Nameservers] : reachable.Count > 0 ? reachable : BridgeFallback, dns, ndotsZero: false);
    }

    private string Write(IEnumerable<string> nameservers, DnsConfig? dns, bool ndotsZero)
    {
        var text = new StringBuilder();
        foreach (var nameserver in nameservers)
        {
            text.Append("nameserver ").Append(nameserver).Append('\n');
        }

        var search = dns is { Search.IsEmpty: false } ? dns.Search : Search;
        if (search.Length > 0 && !(search is ["."]))
        {
            text.Append("search ").AppendJoin(' ', search.Where(s => s != ".")).Append('\n');
        }

        var options = dns?.Options ?? [];
        if (ndotsZero && !options.Any(o => o.StartsWith("ndots:", StringComparison.Ordinal)))
        {
            options = ["ndots:0", .. options];
        }

        if (options.Length > 0)
        {
            text.Append("options ").AppendJoin(' ', options).Append('\n');
        }

        return text.ToString();
    }
}
