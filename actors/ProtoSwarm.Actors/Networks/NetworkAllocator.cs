using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The leader's address allocation, decided apart from the actor that writes it: from the store, one
/// <see cref="AddressPool"/> per network with every address some live holder has (task, node, VIP),
/// then the writes that give the missing ones: a VIP per network of each service in endpoint mode
/// vip, an address per network for each New task (then Pending, for the scheduler), an ingress
/// address for each Ready node. Each pool gives addresses only from the network's --ip-range and
/// never its gateway or --aux-address ones: all read from the network's spec in the store at every
/// pass, so a restarted or newly elected leader honours them as the one that created the network. Freeing is implicit: an address whose holder ended (a task observed
/// terminal, a service or node gone, a VIP of a network the service left) is not reserved in the
/// next pass. Only the pools' cursors live across passes, so allocation stays serial; a new leader
/// starts them after the highest address in use.
/// </summary>
public sealed class NetworkAllocator
{
    private readonly Dictionary<string, uint> _cursors = new(StringComparer.Ordinal);

    /// <summary>A task whose addresses are its own: not ended, and not an unassigned task no longer wanted (it never runs).</summary>
    public static bool HoldsAddresses(TaskObject task) =>
        !task.Networks.IsEmpty && !TaskStates.IsTerminal(task.Status.State) &&
        !(task.Status.State < TaskState.Assigned && task.DesiredState > TaskState.Complete);

    /// <summary>A task waiting for its addresses: New, and still wanted.</summary>
    public static bool WaitsForAddresses(TaskObject task) => task.Status.State == TaskState.New && task.DesiredState <= TaskState.Complete;

    /// <summary>The writes of one pass; the cursors move past every address given.</summary>
    public List<StoreChange> Decide(StoreState state, DateTimeOffset now)
    {
        var networks = state.List<NetworkObject>().ToDictionary(n => n.Id, StringComparer.Ordinal);
        var ingress = networks.Values.Where(n => n.Spec.Ingress).OrderBy(n => n.Id, StringComparer.Ordinal).FirstOrDefault();
        var pools = Pools(state, networks);
        var changes = new List<StoreChange>();

        foreach (var service in state.List<ServiceObject>())
        {
            if (ServiceVips(service, networks, ingress, pools) is { } updated)
            {
                changes.Add(StoreChange.Update(updated));
            }
        }

        foreach (var task in state.List<TaskObject>().Where(WaitsForAddresses))
        {
            if (TaskAddresses(task, networks, ingress, pools, now) is { } updated)
            {
                changes.Add(StoreChange.Update(updated));
            }
        }

        foreach (var node in state.List<NodeObject>())
        {
            if (NodeAttachments(node, networks, ingress, pools) is { } updated)
            {
                changes.Add(StoreChange.Update(updated));
            }
        }

        changes.AddRange(NetworkAttachments.Orphans(state));
        _cursors.Clear();
        foreach (var (id, pool) in pools)
        {
            _cursors[id] = pool.Last;
        }

        return changes;
    }

    private Dictionary<string, AddressPool> Pools(StoreState state, Dictionary<string, NetworkObject> networks)
    {
        var pools = new Dictionary<string, AddressPool>(StringComparer.Ordinal);
        foreach (var network in networks.Values)
        {
            if (Ipv4Subnet.TryParse(network.Subnet, out var subnet) is null && Ipv4Subnet.TryParseAddress(network.Gateway, out var gateway))
            {
                pools[network.Id] = new AddressPool(subnet, gateway, RangeOf(network), AuxiliaryOf(network));
            }
        }

        void Reserve(string networkId, string address)
        {
            if (pools.TryGetValue(networkId, out var pool) && Ipv4Subnet.TryParseHost(address, out var ip))
            {
                pool.Reserve(ip);
            }
        }

        foreach (var task in state.List<TaskObject>().Where(HoldsAddresses))
        {
            foreach (var attachment in task.Networks)
            {
                Reserve(attachment.NetworkId, attachment.Address);
            }
        }

        foreach (var node in state.List<NodeObject>())
        {
            foreach (var attachment in node.Attachments)
            {
                Reserve(attachment.NetworkId, attachment.Address);
            }
        }

        foreach (var service in state.List<ServiceObject>())
        {
            foreach (var vip in service.Endpoint.VirtualIps)
            {
                Reserve(vip.NetworkId, vip.Address);
            }
        }

        foreach (var (id, pool) in pools)
        {
            // A new leader goes on after the highest address in use, so what the last one freed is not given at once.
            pool.Last = _cursors.TryGetValue(id, out var cursor) ? cursor : Highest(pool, state, id);
        }

        return pools;
    }

    /// <summary>The network's --ip-range as stored in its spec (checked at creation), null without one.</summary>
    public static Ipv4Subnet? RangeOf(NetworkObject network) =>
        network.Spec.IpRange.Length > 0 && Ipv4Subnet.TryParse(network.Spec.IpRange, out var range, 0, 32) is null ? range : null;

    /// <summary>The network's --aux-address addresses, held back from tasks and VIPs.</summary>
    public static IEnumerable<uint> AuxiliaryOf(NetworkObject network)
    {
        foreach (var address in network.Spec.AuxAddresses.Values)
        {
            if (Ipv4Subnet.TryParseAddress(address, out var ip))
            {
                yield return ip;
            }
        }
    }

    private static uint Highest(AddressPool pool, StoreState state, string networkId)
    {
        var highest = pool.Gateway;
        var addresses = state.List<TaskObject>().Where(HoldsAddresses).SelectMany(t => t.Networks)
            .Concat(state.List<NodeObject>().SelectMany(n => n.Attachments))
            .Where(a => a.NetworkId == networkId).Select(a => a.Address)
            .Concat(state.List<ServiceObject>().SelectMany(s => s.Endpoint.VirtualIps).Where(v => v.NetworkId == networkId).Select(v => v.Address));
        foreach (var address in addresses)
        {
            if (Ipv4Subnet.TryParseHost(address, out var ip) && pool.Subnet.Contains(ip) && ip > highest)
            {
                highest = ip;
            }
        }

        return highest;
    }

    /// <summary>The service with a VIP on each network it needs one on (none in dnsrr mode), or null when it has them already.</summary>
    private static ServiceObject? ServiceVips(ServiceObject service, Dictionary<string, NetworkObject> networks, NetworkObject? ingress, Dictionary<string, AddressPool> pools)
    {
        var wanted = service.Spec.Endpoint.Mode == EndpointMode.Vip
            ? ServiceEndpoints.NetworksOf(service.Spec.TaskTemplate, service.Spec.Endpoint, networks, ingress, out _)
            : [];
        var vips = ImmutableArray.CreateBuilder<VirtualIp>(wanted.Count);
        foreach (var network in wanted)
        {
            if (service.Endpoint.VirtualIps.FirstOrDefault(v => v.NetworkId == network.Id) is { } kept)
            {
                vips.Add(kept);
            }
            else if (pools.TryGetValue(network.Id, out var pool) && pool.Allocate() is { } ip)
            {
                vips.Add(new VirtualIp(network.Id, pool.Subnet.WithPrefix(ip)));
            }
        }

        foreach (var dropped in service.Endpoint.VirtualIps.Where(v => !vips.Contains(v)))
        {
            if (pools.TryGetValue(dropped.NetworkId, out var pool) && Ipv4Subnet.TryParseHost(dropped.Address, out var ip))
            {
                pool.Release(ip);
            }
        }

        return vips.SequenceEqual(service.Endpoint.VirtualIps)
            ? null
            : service with { Endpoint = service.Endpoint with { VirtualIps = vips.ToImmutable() } };
    }

    /// <summary>
    /// A New task with an address on each of its networks, moved to Pending; or, when a network is
    /// gone or full, the task left New with the reason in its status (changed only when the reason is).
    /// </summary>
    private static TaskObject? TaskAddresses(TaskObject task, Dictionary<string, NetworkObject> networks, NetworkObject? ingress, Dictionary<string, AddressPool> pools, DateTimeOffset now)
    {
        var wanted = ServiceEndpoints.NetworksOf(task.Spec, task.Endpoint, networks, ingress, out var missing);
        if (missing.Count > 0)
        {
            return WithError(task, $"network {missing[0]} does not exist; create it (`protoswarm network create {missing[0]}`) or remove it from the service (`protoswarm service update --network-rm`)");
        }

        var attachments = ImmutableArray.CreateBuilder<AttachedNetwork>(wanted.Count);
        foreach (var network in wanted)
        {
            var attachment = task.Spec.Networks.FirstOrDefault(a => a.Target == network.Id || a.Target == network.Spec.Name);
            var aliases = attachment?.Aliases ?? [];
            if (attachment?.Addresses.FirstOrDefault() is { } asked)
            {
                if (!pools.TryGetValue(network.Id, out var askedPool) || !Ipv4Subnet.TryParseHost(asked, out var askedIp) || !askedPool.Reserve(askedIp))
                {
                    ReleaseGiven(attachments, pools);
                    // docker's answer when the address --ip asks for is someone's (a task's, a VIP, the gateway, an --aux-address).
                    return WithError(task, $"Address already in use: {asked} on network {network.Spec.Name}; leave --ip out, or give a free address of {network.Subnet}");
                }

                attachments.Add(new AttachedNetwork(network.Id, askedPool.Subnet.WithPrefix(askedIp), aliases));
                continue;
            }

            if (!pools.TryGetValue(network.Id, out var pool) || pool.Allocate() is not { } ip)
            {
                ReleaseGiven(attachments, pools);
                return WithError(task, network.Spec.IpRange.Length > 0
                    ? $"no address is left on network {network.Spec.Name} in its --ip-range {network.Spec.IpRange} (of {network.Subnet}); remove tasks or services from it, or use a network with a larger --ip-range"
                    : $"no address is left on network {network.Spec.Name} ({network.Subnet}); remove tasks or services from it, or use a network with a larger --subnet");
            }

            attachments.Add(new AttachedNetwork(network.Id, pool.Subnet.WithPrefix(ip), aliases));
        }

        return task with
        {
            Networks = attachments.MoveToImmutable(),
            // A standalone container's attachment is on its node already, and nothing runs it: it holds its address from now on.
            Status = NetworkAttachments.IsAttachment(task)
                ? new TaskObservedStatus(TaskState.Running, now, "network attachment", ContainerId: task.Status.ContainerId)
                : new TaskObservedStatus(TaskState.Pending, now, "pending task scheduling"),
        };
    }

    private static void ReleaseGiven(IEnumerable<AttachedNetwork> attachments, Dictionary<string, AddressPool> pools)
    {
        foreach (var given in attachments)
        {
            if (Ipv4Subnet.TryParseHost(given.Address, out var back))
            {
                pools[given.NetworkId].Release(back);
            }
        }
    }

    private static TaskObject? WithError(TaskObject task, string error) =>
        task.Status.Err == error ? null : task with { Status = task.Status with { Err = error } };

    /// <summary>The node with an ingress address once it is Ready, and without addresses on networks that are gone; null when nothing changes.</summary>
    private static NodeObject? NodeAttachments(NodeObject node, Dictionary<string, NetworkObject> networks, NetworkObject? ingress, Dictionary<string, AddressPool> pools)
    {
        var kept = node.Attachments.Where(a => networks.ContainsKey(a.NetworkId)).ToList();
        var changed = kept.Count != node.Attachments.Length;
        if (ingress is not null && node.Status?.State == NodeState.Ready && kept.All(a => a.NetworkId != ingress.Id) &&
            pools.TryGetValue(ingress.Id, out var pool) && pool.Allocate() is { } ip)
        {
            kept.Insert(0, new AttachedNetwork(ingress.Id, pool.Subnet.WithPrefix(ip)));
            changed = true;
        }

        return changed ? node with { Attachments = [.. kept] } : null;
    }
}
