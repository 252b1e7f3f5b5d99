using System.Net;
using System.Text;

namespace ProtoSwarm.Networking.Nft;

/// <summary>Small pieces the ruleset builders share.</summary>
internal static class NftText
{
    /// <summary>
    /// Starts a buffer that replaces table <paramref name="name"/> whole: declaring it first makes the
    /// delete valid when it does not exist yet, and the three steps commit as one transaction.
    /// </summary>
    public static StringBuilder ReplaceTable(string family, string name) =>
        new StringBuilder()
            .Append("table ").Append(family).Append(' ').Append(name).Append('\n')
            .Append("delete table ").Append(family).Append(' ').Append(name).Append('\n')
            .Append("table ").Append(family).Append(' ').Append(name).Append(" {\n");

    public static string DeleteTable(string family, string name) =>
        $"table {family} {name}\ndelete table {family} {name}\n";

    /// <summary>The address of a CIDR ("10.0.1.5/24" -> 10.0.1.5); null when there is none or it is not IPv4.</summary>
    public static IPAddress? Address(string cidr)
    {
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        return IPAddress.TryParse(slash < 0 ? cidr : cidr[..slash], out var address)
            && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? address
            : null;
    }

    /// <summary>Sorts addresses by value, so the same views always give the same text.</summary>
    public static IOrderedEnumerable<IPAddress> Sorted(IEnumerable<IPAddress> addresses) =>
        addresses.Distinct().OrderBy(a => (uint)IPAddress.NetworkToHostOrder(BitConverter.ToInt32(a.GetAddressBytes())));

    /// <summary>
    /// <c>numgen inc mod N map { 0 : b, 1 : c, 2 : a }</c>: each new connection takes the next entry. The
    /// counter is per namespace and starts at 0 whenever the table is replaced, so the turn starts at
    /// an entry chosen by <paramref name="origin"/> (the task or node the rules are for): otherwise the
    /// first connection from every task and every node would go to the same backend. The same origin
    /// always gives the same text; an empty one starts at the first entry.
    /// </summary>
    public static string RoundRobin(IReadOnlyList<string> targets, string origin)
    {
        var start = origin.Length == 0 ? 0 : (int)(StableHash(origin) % (uint)targets.Count);
        var entries = targets.Select((_, i) => $"{i} : {targets[(start + i) % targets.Count]}");
        return $"numgen inc mod {targets.Count} map {{ {string.Join(", ", entries)} }}";
    }

    /// <summary>
    /// FNV-1a over the string's UTF-16 units, then MurmurHash3's finalizer: the same on every node and
    /// in every run, which <see cref="string.GetHashCode()"/> is not. The finalizer matters: FNV-1a's
    /// low bits are weak (its lowest bit is the parity of the units' lowest bits), and a small modulus
    /// reads only those; without it three node ids of a lab all gave 0 mod 2 and mod 3.
    /// </summary>
    internal static uint StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var unit in text)
        {
            hash = (hash ^ unit) * 16777619u;
        }

        hash ^= hash >> 16;
        hash *= 0x85ebca6bu;
        hash ^= hash >> 13;
        hash *= 0xc2b2ae35u;
        hash ^= hash >> 16;
        return hash;
    }
}
