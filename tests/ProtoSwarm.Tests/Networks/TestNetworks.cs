using System.Collections.Immutable;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Networks;

/// <summary>Networks, services and tasks on them, and store states holding them, as the network tests need.</summary>
internal static class TestNetworks
{
    public static NetworkObject Network(string id, string name, string subnet, uint vni = 4097, bool ingress = false, string? gateway = null,
        ImmutableSortedDictionary<string, string>? options = null) =>
        new(id, new ObjectMeta(1, TestNodes.T0, TestNodes.T0), new NetworkSpec(name, Subnet: subnet, Ingress: ingress, Options: options), subnet,
            gateway ?? FirstHost(subnet), vni);

    public static NetworkObject Ingress(string id = "ingress00000000000000000000") => Network(id, "ingress", "10.0.0.0/24", 4096, ingress: true);

    public static ServiceObject Service(string id, string name, string[]? networks = null, PortConfig[]? ports = null, EndpointMode mode = EndpointMode.Vip,
        ServiceEndpoint? endpoint = null, long replicas = 1) =>
        new(id, new ObjectMeta(1, TestNodes.T0, TestNodes.T0),
            new ServiceSpec(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas),
                new TaskSpec(new ContainerSpec("nginx:1"), Networks: [.. (networks ?? []).Select(n => new NetworkAttachment(n, [$"{name}-alias"]))]),
                new EndpointSpec(mode, [.. ports ?? []])),
            1, Endpoint: endpoint);

    public static TaskObject Task(string id, ServiceObject service, TaskState state, string nodeId = "", TaskState desired = TaskState.Running,
        long slot = 1, params AttachedNetwork[] networks) =>
        new(id, new ObjectMeta(1, TestNodes.T0, TestNodes.T0), service.Id, slot, nodeId, service.Spec.TaskTemplate, service.SpecVersion, desired,
            new TaskObservedStatus(state, TestNodes.T0), service.Spec.Endpoint, Networks: [.. networks]);

    public static StoreState State(params IStoreObject[] objects) => StoreState.Restore(1, objects);

    /// <summary>The state after the changes, applied as the store applies them.</summary>
    public static StoreState Apply(StoreState state, IReadOnlyList<StoreChange> changes) =>
        changes.Count == 0 ? state : state.Apply(state.Index + 1, changes, TestNodes.T0, out _);

    public static T Written<T>(IEnumerable<StoreChange> changes, string id)
        where T : class, IStoreObject => (T)changes.OfType<UpdateObject>().Single(c => c.Id == id).Object;

    private static string FirstHost(string subnet)
    {
        var bytes = System.Net.IPAddress.Parse(subnet.Split('/')[0]).GetAddressBytes();
        bytes[3]++;
        return new System.Net.IPAddress(bytes).ToString();
    }
}
