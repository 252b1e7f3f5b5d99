using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ProtoSwarm.Contracts;

/// <summary>
/// An IPv4 subnet as a network address and a prefix length, addresses as host-order integers so a
/// subnet's range, its overlap with another and the next address are plain arithmetic: the managers'
/// IPAM of overlays and a node's of its gateway bridge.
/// </summary>
public readonly record struct Ipv4Subnet(uint Network, int Prefix)
{
    /// <summary>The shortest and longest prefixes `network create --subnet` takes (a /30 leaves no room for tasks).</summary>
    public const int ShortestPrefix = 8;
    public const int LongestPrefix = 29;

    public uint Mask => MaskOf(Prefix);

    /// <summary>The subnet's broadcast address, its last.</summary>
    public uint Broadcast => Network | ~Mask;

    /// <summary>How many addresses tasks can get: all but the network and broadcast addresses.</summary>
    public long HostCount => Prefix >= 31 ? 0 : (1L << (32 - Prefix)) - 2;

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Overlaps(Ipv4Subnet other) => Contains(other.Network) || other.Contains(Network);

    /// <summary>An address the subnet can give a task or a gateway: inside it, neither its network nor its broadcast address.</summary>
    public bool IsHost(uint address) => Contains(address) && address != Network && address != Broadcast;

    /// <summary>An address of the subnet in CIDR form ("10.0.1.5/24"), as task and VIP addresses are stored.</summary>
    public string WithPrefix(uint address) => $"{Format(address)}/{Prefix.ToString(CultureInfo.InvariantCulture)}";

    public override string ToString() => WithPrefix(Network);

    /// <summary>
    /// Reads "10.0.1.0/24". Null when it is a valid subnet, else why not (host bits set, not IPv4,
    /// a prefix outside /8../29), said so a user can fix the flag it came from.
    /// </summary>
    public static string? TryParse(string text, out Ipv4Subnet subnet) => TryParse(text, out subnet, ShortestPrefix, LongestPrefix);

    /// <summary>
    /// <see cref="TryParse(string, out Ipv4Subnet)"/> with other bounds on the prefix length, such as a range of a
    /// subnet (docker's --ip-range) that may be a single address; <paramref name="noun"/> names it in the answer.
    /// </summary>
    public static string? TryParse(string text, out Ipv4Subnet subnet, int shortest, int longest, string noun = "subnet")
    {
        subnet = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return $"'{text}' is not in CIDR notation; write it as ADDRESS/PREFIX, such as 10.0.9.0/24";
        }

        if (!TryParseAddress(text[..slash], out var address))
        {
            return $"'{text[..slash]}' in '{text}' is not an IPv4 address (IPv6 overlays are not supported)";
        }

        if (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > 32)
        {
            return $"'/{text[(slash + 1)..]}' in '{text}' is not a prefix length";
        }

        if (prefix < shortest || prefix > longest)
        {
            return $"/{prefix} in '{text}' is outside /{shortest}../{longest}: an overlay needs room for its gateway and tasks, and at most a /8";
        }

        var candidate = Containing(address, prefix);
        if (candidate.Network != address)
        {
            return $"'{text}' has host bits set; the {noun} is {candidate}";
        }

        subnet = candidate;
        return null;
    }

    /// <summary>Reads a dotted IPv4 address, and nothing else (no IPv6, no shorthand such as "10.1").</summary>
    public static bool TryParseAddress(string text, out uint address)
    {
        address = 0;
        if (text.Count(c => c == '.') != 3 || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        address = ToUInt32(ip);
        return true;
    }

    /// <summary>The subnet of that prefix length an address is in (its host bits cleared).</summary>
    public static Ipv4Subnet Containing(uint address, int prefix) => new(address & MaskOf(prefix), prefix);

    /// <summary>An IPNetwork as a subnet (host bits, if any, cleared).</summary>
    public static Ipv4Subnet Of(IPNetwork network) => Containing(ToUInt32(network.BaseAddress), network.PrefixLength);

    public IPNetwork ToNetwork() => new(ToAddress(Network), Prefix);

    /// <summary>An IPv4 address as a host-order integer.</summary>
    public static uint ToUInt32(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes())
            : throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));

    public static IPAddress ToAddress(uint address)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
        return new IPAddress(bytes);
    }

    private static uint MaskOf(int prefix) => prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);

    /// <summary>Reads an address with or without its prefix ("10.0.1.5/24" or "10.0.1.5").</summary>
    public static bool TryParseHost(string text, out uint address)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return TryParseAddress(slash < 0 ? text : text[..slash], out address);
    }

    public static string Format(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");
}
