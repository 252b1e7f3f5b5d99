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

    /// <summary><c>numgen inc mod N map { 0 : a, 1 : b }</c>: each new connection takes the next entry.</summary>
    public static string RoundRobin(IReadOnlyList<string> targets) =>
        $"numgen inc mod {targets.Count} map {{ {string.Join(", ", targets.Select((t, i) => $"{i} : {t}"))} }}";
}
