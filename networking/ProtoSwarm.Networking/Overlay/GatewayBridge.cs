using System.Net;
using ProtoSwarm.Contracts;

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
        var taken = inUse.Where(n => n.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && n.PrefixLength > 0)
            .Select(Ipv4Subnet.Of).ToList();
        return Candidates().Cast<IPNetwork?>().FirstOrDefault(c => !taken.Any(t => t.Overlaps(Ipv4Subnet.Of(c!.Value))));
    }

    /// <summary>The bridge's own address: the subnet's first.</summary>
    public static IPAddress GatewayOf(IPNetwork subnet) => Ipv4Subnet.ToAddress(Ipv4Subnet.Of(subnet).Network + 1);

    /// <summary>The subnet an address with that prefix length is in.</summary>
    public static IPNetwork SubnetOf(IPAddress address, int prefixLength) =>
        Ipv4Subnet.Containing(Ipv4Subnet.ToUInt32(address), prefixLength).ToNetwork();
}

/// <summary>
/// The addresses of one gateway bridge's subnet that tasks hold: the lowest free one goes to the next
/// task (the bridge has the first; network and broadcast addresses are never given). Not thread-safe:
/// its owner serialises calls.
/// </summary>
public sealed class GatewayAddresses(IPNetwork subnet)
{
    private readonly Ipv4Subnet _subnet = Ipv4Subnet.Of(subnet);
    private readonly HashSet<uint> _used = [];

    public IPNetwork Subnet { get; } = subnet;

    /// <summary>Marks an address a task already has (found again after a node host restart); false when it is not a task address of this subnet or is taken.</summary>
    public bool Reserve(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
        && Ipv4Subnet.ToUInt32(address) is var value && _subnet.IsHost(value) && value != Gateway && _used.Add(value);

    /// <summary>The lowest free task address, now taken.</summary>
    public IPAddress Allocate()
    {
        for (var value = Gateway + 1; value < _subnet.Broadcast; value++)
        {
            if (_used.Add(value))
            {
                return Ipv4Subnet.ToAddress(value);
            }
        }

        throw new InvalidOperationException(
            $"the gateway bridge {GatewayBridge.Name} ({Subnet}) has no free address left for another task on this node");
    }

    public void Release(IPAddress address) => _used.Remove(Ipv4Subnet.ToUInt32(address));

    private uint Gateway => _subnet.Network + 1;
}
