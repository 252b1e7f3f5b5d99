using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The addresses of one network's subnet (its IPAM): which are taken, and where the last one was
/// given. Allocation is serial, as swarmkit's IPAM does it: the next free address after the last
/// one given, wrapping round at the end, so an address a task just freed is not handed to the
/// next task at once (peers and DNS caches may still point at it for a moment).
/// </summary>
public sealed class AddressPool
{
    private readonly HashSet<uint> _taken = [];

    /// <summary>A pool with the network, broadcast and gateway addresses never given; the cursor starts at the gateway.</summary>
    public AddressPool(Ipv4Subnet subnet, uint gateway)
    {
        Subnet = subnet;
        Gateway = gateway;
        Last = gateway;
    }

    public Ipv4Subnet Subnet { get; }

    public uint Gateway { get; }

    /// <summary>The address given last; the next allocation looks after it.</summary>
    public uint Last { get; set; }

    /// <summary>How many addresses can still be given.</summary>
    public long Free => Subnet.HostCount - _taken.Count - (Subnet.IsHost(Gateway) ? 1 : 0);

    public bool IsTaken(uint address) => _taken.Contains(address);

    /// <summary>Marks an address as taken (one read from the store); false when it is not the subnet's to give or already taken.</summary>
    public bool Reserve(uint address) => Subnet.IsHost(address) && address != Gateway && _taken.Add(address);

    /// <summary>Gives the address back; it is given again only after the cursor has gone round.</summary>
    public bool Release(uint address) => _taken.Remove(address);

    /// <summary>The next free address after <see cref="Last"/>, wrapping round; null when the subnet is full.</summary>
    public uint? Allocate()
    {
        if (Free <= 0)
        {
            return null;
        }

        var first = Subnet.Network + 1;
        var last = Subnet.Broadcast - 1;
        var candidate = Last;
        for (long i = 0; i < Subnet.HostCount; i++)
        {
            candidate = candidate >= last || candidate < first ? first : candidate + 1;
            if (candidate != Gateway && _taken.Add(candidate))
            {
                Last = candidate;
                return candidate;
            }
        }

        return null;
    }
}
