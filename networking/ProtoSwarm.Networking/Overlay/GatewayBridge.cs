using System.Net;

namespace ProtoSwarm.Networking.Overlay;

/// <summary>
/// The node's gateway bridge, ProtoSwarm's docker_gwbridge: a bridge of this node alone, in the node's
/// namespace, through which a task on overlay networks reaches the world outside the swarm. Each such
/// task gets one more veth on it (after its overlays' interfaces) with a /32 address from the bridge's
/// subnet and its default route via the bridge's address, on-link; the node routes and masquerades
/// what leaves (<see cref="Nft.GatewayRuleset"/>). Tasks never reach each other over it: a /32 gives
/// them no route to each other's addresses, and the node refuses to forward from the bridge back
/// into it or into an overlay. It is managed like a network whose id is <see cref="NetworkId"/> (its
/// devices carry that in their alias), kept while the node host lives, as docker keeps its bridge.
/// </summary>
public static class GatewayBridge
{
    /// <summary>The id its devices' aliases carry; no network id is this short.</summary>
    public const string NetworkId = "gwbridge";

    /// <summary>The bridge's name (an underscore, so it never matches an overlay bridge's <c>ps-</c> prefix).</summary>
    public const string Name = "ps_gwbridge";

    /// <summary>The subnets tried, in order, when the node has no gateway bridge yet: as docker's address pools for its bridges.</summary>
    public static IEnumerable<IPNetwork> Candidates()
    {
        for (var second = 18; second <= 31; second++)
        {
            yield return new IPNetwork(new IPAddress([172, (byte)second, 0, 0]), 16);
        }

        for (var third = 0; third < 256; third += 16)
        {
            yield return new IPNetwork(new IPAddress([192, 168, (byte)third, 0]), 20);
        }
    }

    /// <summary>The first candidate that overlaps none of <paramref name="inUse"/> (the node's routes and addresses); null when every one does.</summary>
    public static IPNetwork? ChooseSubnet(IEnumerable<IPNetwork> inUse)
    {
        var taken = inUse.Where(n => n.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && n.PrefixLength > 0).ToList();
        return Candidates().Cast<IPNetwork?>().FirstOrDefault(c => !taken.Any(t => Overlaps(t, c!.Value)));
    }

    /// <summary>The bridge's own address: the subnet's first.</summary>
    public static IPAddress GatewayOf(IPNetwork subnet) => Offset(subnet.BaseAddress, 1);

    /// <summary>The subnet an address with that prefix length is in.</summary>
    public static IPNetwork SubnetOf(IPAddress address, int prefixLength)
    {
        var bytes = address.GetAddressBytes();
        var value = (uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3];
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return new IPNetwork(Offset(IPAddress.Any, value & mask), prefixLength);
    }

    public static bool Overlaps(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    internal static IPAddress Offset(IPAddress address, uint offset)
    {
        var bytes = address.GetAddressBytes();
        var value = ((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) + offset;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}

/// <summary>
/// The addresses of one gateway bridge's subnet that tasks hold: the lowest free one goes to the next
/// task (the bridge has the first; network and broadcast addresses are never given). Not thread-safe:
/// its owner serialises calls.
/// </summary>
public sealed class GatewayAddresses(IPNetwork subnet)
{
    private readonly HashSet<IPAddress> _used = [];

    public IPNetwork Subnet { get; } = subnet;

    public int Count => _used.Count;

    /// <summary>Marks an address a task already has (found again after a node host restart); false when it is not a task address of this subnet or is taken.</summary>
    public bool Reserve(IPAddress address) =>
        Subnet.Contains(address) && !address.Equals(Subnet.BaseAddress) && !address.Equals(GatewayBridge.GatewayOf(Subnet))
        && !address.Equals(Broadcast) && _used.Add(address);

    /// <summary>The lowest free task address, now taken.</summary>
    public IPAddress Allocate()
    {
        var size = 1u << (32 - Subnet.PrefixLength);
        for (var offset = 2u; offset < size - 1; offset++)
        {
            var address = GatewayBridge.Offset(Subnet.BaseAddress, offset);
            if (_used.Add(address))
            {
                return address;
            }
        }

        throw new InvalidOperationException(
            $"the gateway bridge {GatewayBridge.Name} ({Subnet}) has no free address left for another task on this node");
    }

    public void Release(IPAddress address) => _used.Remove(address);

    private IPAddress Broadcast => GatewayBridge.Offset(Subnet.BaseAddress, (1u << (32 - Subnet.PrefixLength)) - 1);
}
