using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The addresses of one network's subnet (its IPAM): which are taken, and where the last one was
/// given. Allocation is serial, as swarmkit's IPAM does it: the next free address after the last
/// one given, wrapping round at the end, so an address a task just freed is not handed to the
/// next task at once (peers and DNS caches may still point at it for a moment). Addresses are given
/// only from the range (docker's --ip-range, the whole subnet without one), and never the gateway
/// or an auxiliary address (docker's --aux-address), wherever those lie in the subnet.
/// </summary>
public sealed class AddressPool
{
    private readonly HashSet<uint> _taken = [];
    private readonly HashSet<uint> _never = [];
    private long _takenInRange;

    /// <summary>
    /// A pool with the network, broadcast and gateway addresses never given; the cursor starts at the gateway.
    /// <paramref name="range"/>: the part of the subnet addresses come from (null: all of it); <paramref name="auxiliary"/>:
    /// addresses held back for other uses, like the gateway.
    /// </summary>
    public AddressPool(Ipv4Subnet subnet, uint gateway, Ipv4Subnet? range = null, IEnumerable<uint>? auxiliary = null)
    {
        Subnet = subnet;
        Gateway = gateway;
        Last = gateway;
        var within = range is { } r && r.Prefix >= subnet.Prefix && subnet.Contains(r.Network) ? r : subnet;
        First = Math.Max(within.Network, subnet.Network + 1);
        LastInRange = Math.Min(within.Broadcast, subnet.Broadcast - 1);
        foreach (var address in auxiliary?.Append(gateway) ?? [gateway])
        {
            if (subnet.IsHost(address))
            {
                _never.Add(address);
            }
        }
    }

    public Ipv4Subnet Subnet { get; }

    public uint Gateway { get; }

    /// <summary>The first address the pool gives (of its range, never the subnet's network address).</summary>
    public uint First { get; }

    /// <summary>The last address the pool gives (of its range, never the subnet's broadcast address).</summary>
    public uint LastInRange { get; }

    /// <summary>The address given last; the next allocation looks after it.</summary>
    public uint Last { get; set; }

    /// <summary>How many addresses can still be given.</summary>
    public long Free => RangeSize - _never.Count(InRange) - _takenInRange;

    private long RangeSize => First > LastInRange ? 0 : (long)LastInRange - First + 1;

    public bool IsTaken(uint address) => _taken.Contains(address);

    /// <summary>Whether the pool may give the address: inside its range, neither the gateway nor an auxiliary address.</summary>
    public bool Gives(uint address) => InRange(address) && !_never.Contains(address);

    /// <summary>
    /// Marks an address as taken (one read from the store); false when it is not the subnet's to give (outside it,
    /// its network or broadcast address, the gateway or an auxiliary address) or already taken.
    /// </summary>
    public bool Reserve(uint address)
    {
        if (!Subnet.IsHost(address) || _never.Contains(address) || !_taken.Add(address))
        {
            return false;
        }

        _takenInRange += InRange(address) ? 1 : 0;
        return true;
    }

    /// <summary>Gives the address back; it is given again only after the cursor has gone round.</summary>
    public bool Release(uint address)
    {
        if (!_taken.Remove(address))
        {
            return false;
        }

        _takenInRange -= InRange(address) ? 1 : 0;
        return true;
    }

    /// <summary>The next free address of the range after <see cref="Last"/>, wrapping round; null when the range is full.</summary>
    public uint? Allocate()
    {
        if (Free <= 0)
        {
            return null;
        }

        var candidate = Last;
        for (long i = 0; i < RangeSize; i++)
        {
            candidate = candidate >= LastInRange || candidate < First ? First : candidate + 1;
            if (!_never.Contains(candidate) && _taken.Add(candidate))
            {
                _takenInRange++;
                Last = candidate;
                return candidate;
            }
        }

        return null;
    }

    private bool InRange(uint address) => address >= First && address <= LastInRange;
}
