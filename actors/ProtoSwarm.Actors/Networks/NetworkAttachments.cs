using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// Standalone containers on attachable overlays, as swarmkit's network attachment tasks: a task of no service (its
/// ServiceId empty, its Status.ContainerId the container's, its ServiceName the container's name: unlike a service task's,
/// stored, since the network's DNS answers it) on the container's node, on the one network. The
/// allocator gives it an address like a task's and moves it straight to Running (nothing schedules or runs it: its
/// node made the container); <see cref="NetworkViews"/> then counts it as an endpoint of its node, so the network's
/// peers and views reach every node. No service actor owns it and its node is not sent it; giving it back deletes it.
/// </summary>
public static class NetworkAttachments
{
    /// <summary>Whether the task is a standalone container's network attachment rather than a service's task.</summary>
    public static bool IsAttachment(TaskObject task) => task.ServiceId.Length == 0;

    /// <summary>
    /// The attachment task for <paramref name="request"/>, or docker's refusal: an unknown network, one not made
    /// --attachable (ingress never is), a node the swarm does not have.
    /// </summary>
    public static (TaskObject? Task, CommandRejected? Refused) Decide(StoreState state, AttachContainerNetwork request, string id, DateTimeOffset now)
    {
        if (state.Get<NodeObject>(request.NodeId) is null)
        {
            return (null, new CommandRejected(RejectCode.NotFound, $"node {request.NodeId} is not in the swarm"));
        }

        var (network, rejected) = NetworkCommands.Resolve(state.List<NetworkObject>(), request.Network);
        if (network is null)
        {
            return (null, rejected!.Code == RejectCode.NotFound
                ? new CommandRejected(RejectCode.NotFound, $"network {request.Network} not found")
                : rejected);
        }

        if (!network.Spec.Attachable || network.Spec.Ingress)
        {
            return (null, new CommandRejected(RejectCode.PermissionDenied,
                $"Could not attach to network {request.Network}: rpc error: code = PermissionDenied desc = network {network.Spec.Name} not manually attachable; " +
                $"a standalone container joins only overlays created with --attachable (`protoswarm network create -d overlay --attachable NAME`)"));
        }

        var name = request.ContainerName.Length > 0 ? request.ContainerName : request.ContainerId;
        if (state.List<TaskObject>().Any(t => IsAttachment(t) && t.Status.ContainerId == request.ContainerId && t.NodeId == request.NodeId &&
            (t.Spec.Networks.Any(a => a.Target == network.Id) || t.Networks.Any(a => a.NetworkId == network.Id))))
        {
            return (null, new CommandRejected(RejectCode.Conflict, $"endpoint with name {name} already exists in network {network.Spec.Name}"));
        }

        if (AddressProblem(network, request.Address) is { } problem)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, problem));
        }

        var task = new TaskObject(
            id,
            ObjectMeta.New(now),
            string.Empty,
            0,
            request.NodeId,
            new TaskSpec(new ContainerSpec(string.Empty), Networks: [new NetworkAttachment(network.Id, request.Aliases,
                request.Address.Length > 0 ? [request.Address] : [])]),
            0,
            TaskState.Running,
            new TaskObservedStatus(TaskState.New, now, "network attachment", ContainerId: request.ContainerId),
            ServiceName: request.ContainerName);
        return (task, null);
    }

    /// <summary>
    /// docker's refusals of `network connect --ip` before any address is looked at: not an IPv4 address, a network whose subnet
    /// the swarm chose (docker gives a chosen address only on a subnet the user configured), an address outside the subnet or
    /// its --ip-range, or its network or broadcast address. Whether it is free is the allocator's to say (it alone gives addresses).
    /// </summary>
    public static string? AddressProblem(NetworkObject network, string address)
    {
        if (address.Length == 0)
        {
            return null;
        }

        if (address.Contains('/', StringComparison.Ordinal) || !Ipv4Subnet.TryParseAddress(address, out var ip))
        {
            return $"invalid IPv4 address: {address}; give one address of the network's subnet, such as --ip {FirstHost(network)}";
        }

        if (network.Spec.Subnet.Length == 0)
        {
            return $"user specified IP address is supported only when connecting to networks with user configured subnets; network {network.Spec.Name} got its subnet {network.Subnet} from the swarm: leave --ip out, or use a network created with --subnet";
        }

        var inRange = Ipv4Subnet.TryParse(network.Subnet, out var subnet) is null && subnet.IsHost(ip)
            && (NetworkAllocator.RangeOf(network) is not { } range || range.Contains(ip));
        return inRange
            ? null
            : $"invalid endpoint settings: no configured subnet or ip-range contain the IP address {address} (network {network.Spec.Name}: {network.Subnet}{(network.Spec.IpRange.Length > 0 ? ", --ip-range " + network.Spec.IpRange : "")})";
    }

    private static string FirstHost(NetworkObject network) =>
        Ipv4Subnet.TryParse(network.Subnet, out var subnet) is null ? Ipv4Subnet.Format(subnet.Network + 2) : "10.0.1.2";

    /// <summary>The attachment's answer once the allocator has given its address; null while it has none; a refusal when it cannot have one.</summary>
    public static object? Answer(StoreState state, string id)
    {
        var task = state.Get<TaskObject>(id);
        if (task is null)
        {
            return new CommandRejected(RejectCode.Unavailable, "the network attachment was removed before it got an address; try again");
        }

        if (!task.Networks.IsEmpty)
        {
            return new ContainerNetworkAttached(task.Id, task.Networks[0]);
        }

        return task.Status.Err.Length > 0 ? new CommandRejected(RejectCode.Unavailable, task.Status.Err) : null;
    }

    /// <summary>Attachments whose node left the swarm: deleted, so their addresses go back.</summary>
    public static IEnumerable<StoreChange> Orphans(StoreState state) =>
        state.List<TaskObject>().Where(t => IsAttachment(t) && state.Get<NodeObject>(t.NodeId) is null).Select(t => StoreChange.Delete(t));
}
