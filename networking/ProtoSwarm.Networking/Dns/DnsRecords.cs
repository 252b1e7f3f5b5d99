using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Dns;

/// <summary>
/// The names one task can resolve, built only from the views of the networks it is attached to, so
/// names on other networks stay invisible. As docker's embedded resolver: a service name and its
/// aliases answer the VIP (endpoint mode vip) or the addresses of its ready tasks (dnsrr);
/// <c>tasks.&lt;name&gt;</c> answers the ready tasks; a task's name (<c>web.1.&lt;id&gt;</c>) answers its
/// address, and so do its aliases while it is ready and its service is on the network. The ingress network has no service discovery. When a name exists on several
/// networks the first network (in the order given) answers, as docker's resolver does. Names are
/// case-insensitive and may end with a dot.
/// </summary>
public sealed class DnsRecords
{
    /// <summary>docker's answer TTL.</summary>
    public const int TtlSeconds = 600;

    public static readonly DnsRecords Empty = new(
        FrozenDictionary<string, ImmutableArray<IPAddress>>.Empty, FrozenDictionary<string, string>.Empty, FrozenSet<string>.Empty);

    private readonly FrozenDictionary<string, ImmutableArray<IPAddress>> _names;
    private readonly FrozenDictionary<string, string> _reverse;
    private readonly FrozenSet<string> _roundRobin;

    private DnsRecords(FrozenDictionary<string, ImmutableArray<IPAddress>> names, FrozenDictionary<string, string> reverse, FrozenSet<string> roundRobin)
    {
        _names = names;
        _reverse = reverse;
        _roundRobin = roundRobin;
    }

    /// <summary>Every name this task can resolve (lower case, no trailing dot).</summary>
    public IEnumerable<string> Names => _names.Keys;

    public static DnsRecords From(ImmutableArray<NetworkView> views)
    {
        var names = new Dictionary<string, ImmutableArray<IPAddress>>(StringComparer.OrdinalIgnoreCase);
        var reverse = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var roundRobin = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        void Add(string name, ImmutableArray<IPAddress> addresses, bool shuffled = false)
        {
            var key = Normalize(name);
            if (key.Length == 0 || !names.TryAdd(key, addresses))
            {
                return;
            }

            if (shuffled)
            {
                roundRobin.Add(key);
            }
        }

        foreach (var view in views.IsDefault ? [] : views)
        {
            if (view.Ingress)
            {
                continue;
            }

            // Each name also as <name>.<network>, resolved on that network only, as docker's embedded
            // DNS does: a PTR answer (<task>.<network>) resolves forward, and a name on two of the
            // task's networks can be asked of either.
            var suffix = "." + Normalize(view.Name);
            void AddOn(string name, ImmutableArray<IPAddress> addresses, bool shuffled = false)
            {
                Add(name, addresses, shuffled);
                if (suffix.Length > 1)
                {
                    Add(Normalize(name) + suffix, addresses, shuffled);
                }
            }

            var ready = view.Endpoints
                .Where(e => e.Ready && e.TaskId.Length > 0 && e.ServiceId.Length > 0)
                .ToLookup(e => e.ServiceId, e => AddressOf(e.Address), StringComparer.Ordinal);

            foreach (var service in view.Services)
            {
                var tasks = ready[service.ServiceId].OfType<IPAddress>().ToImmutableArray();
                var vip = service.Mode == EndpointMode.Vip ? AddressOf(service.Vip) : null;
                var serviceAnswer = vip is not null ? [vip] : tasks;
                foreach (var name in service.Aliases.Prepend(service.Name))
                {
                    AddOn(name, serviceAnswer, shuffled: vip is null);
                    AddOn("tasks." + Normalize(name), tasks, shuffled: true);
                }

                if (vip is not null)
                {
                    reverse.TryAdd(ReverseName(vip), Normalize(service.Name));
                }
            }

            foreach (var endpoint in view.Endpoints.Where(e => e.TaskId.Length > 0))
            {
                if (AddressOf(endpoint.Address) is not { } address)
                {
                    continue;
                }

                if (endpoint.TaskName.Length > 0)
                {
                    AddOn(endpoint.TaskName, [address]);
                    reverse.TryAdd(ReverseName(address), Normalize(endpoint.TaskName) + suffix);
                }

                if (AnswersAliases(endpoint, view))
                {
                    foreach (var alias in endpoint.Aliases)
                    {
                        AddOn(alias, [address]);
                    }
                }
            }
        }

        return new DnsRecords(
            names.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            reverse.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            roundRobin.ToFrozenSet(StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Whether a task's aliases answer its address: as for its service's name, only while it is ready
    /// and its service is still on the network. A removed service's tasks stop within their grace
    /// period, and docker drops their aliases with the service's name at once, not when they end.
    /// </summary>
    private static bool AnswersAliases(NetworkEndpoint endpoint, NetworkView view) =>
        endpoint.Ready && (endpoint.ServiceId.Length == 0 || view.Services.Any(s => s.ServiceId == endpoint.ServiceId));

    /// <summary>
    /// True when the name is one of the swarm's (then the caller answers, even with no address: a known
    /// name is never forwarded); false when the caller should forward it. The addresses of a dnsrr
    /// service or <c>tasks.</c> name come back in a new random order each time, as docker shuffles them.
    /// </summary>
    public bool TryResolve(string name, out ImmutableArray<IPAddress> addresses)
    {
        var key = Normalize(name);
        if (!_names.TryGetValue(key, out addresses))
        {
            return false;
        }

        if (addresses.Length > 1 && _roundRobin.Contains(key))
        {
            var shuffled = addresses.ToArray();
            Random.Shared.Shuffle(shuffled);
            addresses = ImmutableArray.Create(shuffled);
        }

        return true;
    }

    /// <summary>The name a PTR query (<c>5.1.0.10.in-addr.arpa</c>) answers, when the address is a task's or a VIP on these networks.</summary>
    public bool TryResolvePointer(string reverseName, out string name) =>
        _reverse.TryGetValue(Normalize(reverseName), out name!);

    /// <summary><c>10.0.1.5</c> becomes <c>5.1.0.10.in-addr.arpa</c>.</summary>
    public static string ReverseName(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        Array.Reverse(bytes);
        return string.Join('.', bytes) + ".in-addr.arpa";
    }

    /// <summary>Lower case, without the trailing dot.</summary>
    public static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private static IPAddress? AddressOf(string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        return IPAddress.TryParse(slash < 0 ? cidr : cidr[..slash], out var address) ? address : null;
    }
}
