using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's local networks as docker's engine has them (<see cref="LocalNetwork"/>): bridge, the node's bridge
/// (<see cref="GatewayBridge"/>) a task on no network, standalone containers included, is on once the node is in a swarm;
/// host, the node's own namespace, which a container run with --network host (or a task of a service on host) shares;
/// none, a namespace with loopback alone, where a container run with --network none is, and one on no network while the
/// node has no networks (it is in no swarm). Their ids are made once and kept in a file of the node's state, as docker keeps its
/// own in its network store, so they stay the same across node host restarts and differ from node to node.
/// </summary>
internal sealed class LocalNetworks(string path, TimeProvider time)
{
    private static readonly string[] Names = [LocalNetwork.Bridge, LocalNetwork.Host, LocalNetwork.None];

    private readonly Lock _lock = new();
    private ImmutableDictionary<string, (string Id, DateTimeOffset Created)>? _known;

    /// <summary>The id and creation time of a local network, made (and written to the node's state) on first use.</summary>
    public (string Id, DateTimeOffset Created) Of(string name)
    {
        lock (_lock)
        {
            _known ??= Load();
            return _known[name];
        }
    }

    /// <summary>
    /// The three networks with what the node has now: the bridge's subnet and gateway as the node configured the bridge
    /// (<paramref name="networks"/>; empty while it has not made it), and the containers on each.
    /// </summary>
    /// <param name="networks">The node's networks; null while it is in no swarm.</param>
    /// <param name="containers">The node's containers (<see cref="ITaskExecutor.ListContainers"/>).</param>
    /// <param name="nameOf">A container's name, as `ps` shows it.</param>
    public async Task<LocalNetworkList> ListAsync(NodeNetworks? networks, IReadOnlyList<ContainerFacts> containers, Func<TaskObject, string> nameOf) =>
        List(networks is not null, networks is null ? null : await networks.BridgeSubnetAsync().ConfigureAwait(false),
            networks?.Bridged() ?? new Dictionary<string, IPAddress>(), containers, nameOf);

    /// <summary>
    /// <see cref="ListAsync"/> from what the node has: whether it has networks (it is in a swarm), the bridge's subnet (null
    /// before it is made) and the bridged tasks' addresses there.
    /// </summary>
    internal LocalNetworkList List(bool inSwarm, IPNetwork? subnet, IReadOnlyDictionary<string, IPAddress> bridged,
        IReadOnlyList<ContainerFacts> containers, Func<TaskObject, string> nameOf)
    {
        var list = Names.Select(name =>
        {
            var (id, created) = Of(name);
            var endpoints = name switch
            {
                LocalNetwork.Bridge => containers.Where(c => bridged.ContainsKey(c.Task.Id))
                    .Select(c => Endpoint(id, c.Task.Id, nameOf(c.Task), BridgeAddress(bridged[c.Task.Id], subnet))),
                // docker lists a host or none container's endpoint without an address or MAC: it has none of its own.
                _ => containers.Where(c => c.Started && !c.Exited && LocalNetworkOf(c.Task, !inSwarm) == name)
                    .Select(c => new LocalEndpoint(c.Task.Id, nameOf(c.Task), string.Empty, string.Empty, EndpointId(id, c.Task.Id))),
            };
            return new LocalNetwork(id, name, LocalNetwork.DriverOf(name), created,
                name == LocalNetwork.Bridge && subnet is { } s ? s.ToString() : string.Empty,
                name == LocalNetwork.Bridge && subnet is { } g ? GatewayBridge.GatewayOf(g).ToString() : string.Empty,
                name == LocalNetwork.Bridge ? BridgeOptions : ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal),
                [.. endpoints.OrderBy(e => e.ContainerId, StringComparer.Ordinal)]);
        });
        return new LocalNetworkList([.. list]);
    }

    /// <summary>
    /// A container's address on the bridge as docker shows it (`network inspect bridge`'s IPv4Address, `container inspect`'s
    /// IPPrefixLen): with the bridge's prefix length, though the container's interface here has a /32 (containers on the bridge
    /// do not reach each other); a /32 only while the subnet is unknown.
    /// </summary>
    internal static string BridgeAddress(IPAddress address, IPNetwork? subnet) =>
        string.Create(CultureInfo.InvariantCulture, $"{address}/{subnet?.PrefixLength ?? 32}");

    /// <summary>docker's option naming the bridge's device (docker0 there).</summary>
    public const string BridgeNameOption = "com.docker.network.bridge.name";

    /// <summary>
    /// docker's bridge options that say what the node's bridge does: it is the default one, the node masquerades what leaves
    /// through it (<see cref="ProtoSwarm.Networking.Nft.GatewayRuleset"/>), and containers on it do not reach each other (a /32
    /// each, and the node forwards nothing from the bridge back into it): docker's enable_icc=false.
    /// </summary>
    private static readonly ImmutableSortedDictionary<string, string> BridgeOptions = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
    [
        KeyValuePair.Create("com.docker.network.bridge.default_bridge", "true"),
        KeyValuePair.Create("com.docker.network.bridge.enable_icc", "false"),
        KeyValuePair.Create("com.docker.network.bridge.enable_ip_masquerade", "true"),
        KeyValuePair.Create(BridgeNameOption, GatewayBridge.Name),
    ]);

    /// <summary>
    /// The local network of a container, as `container inspect` shows it: the bridge for one run on no network (its address
    /// and MAC there while its namespace is here, empty once it ended, as docker's), also after `network connect` gave it an
    /// overlay beside it (its eth0 stays on the bridge, as docker's container stays on its default bridge); host or none for
    /// one on that network mode (an endpoint without address or MAC while it runs, as docker's); none for one on no network
    /// while the node has no networks; null for one run on overlays (its way out is not shown, as docker's
    /// docker_gwbridge is not).
    /// </summary>
    /// <param name="bridgeSubnet">The bridge's subnet (<see cref="NodeNetworks.BridgeSubnetAsync"/>), for its gateway.</param>
    public ContainerNetwork? DefaultNetworkOf(TaskObject task, bool running, NodeNetworks? networks, IPNetwork? bridgeSubnet) =>
        DefaultNetworkOf(task, running, networks is not null, networks?.BridgedAddressOf(task.Id), bridgeSubnet);

    /// <summary><see cref="DefaultNetworkOf(TaskObject, bool, NodeNetworks?, IPNetwork?)"/> from the task's address on the bridge (null when it has none).</summary>
    internal ContainerNetwork? DefaultNetworkOf(TaskObject task, bool running, bool inSwarm, IPAddress? bridgedAddress, IPNetwork? bridgeSubnet)
    {
        if (PredefinedNetworks.ModeOf(task.Spec.Networks) is { } mode)
        {
            var modeId = Of(mode).Id;
            return new ContainerNetwork(mode, modeId, string.Empty, [], EndpointId: running ? EndpointId(modeId, task.Id) : string.Empty);
        }

        if (!task.Networks.IsEmpty && bridgedAddress is null)
        {
            return null;
        }

        if (!inSwarm)
        {
            var none = Of(LocalNetwork.None).Id;
            return new ContainerNetwork(LocalNetwork.None, none, string.Empty, [], EndpointId: running ? EndpointId(none, task.Id) : string.Empty);
        }

        var bridge = Of(LocalNetwork.Bridge).Id;
        return bridgedAddress is { } address && bridgeSubnet is { } subnet
            ? new ContainerNetwork(LocalNetwork.Bridge, bridge, BridgeAddress(address, subnet), [], GatewayBridge.GatewayOf(subnet).ToString(),
                NetworkEndpoint.MacOf(address.ToString()), EndpointId(bridge, task.Id))
            : new ContainerNetwork(LocalNetwork.Bridge, bridge, string.Empty, []);
    }

    /// <summary>
    /// host or none for a container on that network mode, or none for one on no network while the node has no networks (it is
    /// in no swarm: its container has a namespace of its own with loopback alone); null otherwise (the bridge, or overlays).
    /// </summary>
    private static string? LocalNetworkOf(TaskObject task, bool noNodeNetworks) =>
        PredefinedNetworks.ModeOf(task.Spec.Networks) ?? (noNodeNetworks && task.Networks.IsEmpty ? LocalNetwork.None : null);

    private static LocalEndpoint Endpoint(string networkId, string containerId, string name, string address) =>
        new(containerId, name, address, NetworkEndpoint.MacOf(address), EndpointId(networkId, containerId));

    /// <summary>docker's EndpointID, here derived from the network's and the container's ids (as a swarm network's endpoints are).</summary>
    public static string EndpointId(string networkId, string containerId) => NetworkEndpoint.EndpointIdOf(networkId, containerId);

    /// <summary>The file's ids, with those it lacks made now and written back (one "NAME ID UNIX-MILLISECONDS" a line).</summary>
    private ImmutableDictionary<string, (string Id, DateTimeOffset Created)> Load()
    {
        var known = ImmutableDictionary.CreateBuilder<string, (string Id, DateTimeOffset Created)>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            foreach (var parts in File.ReadAllLines(path).Select(l => l.Split(' ')))
            {
                if (parts is [var name, { Length: 64 } id, var millis] && Names.Contains(name)
                    && long.TryParse(millis, NumberStyles.None, CultureInfo.InvariantCulture, out var at))
                {
                    known[name] = (id, DateTimeOffset.FromUnixTimeMilliseconds(at));
                }
            }
        }

        if (Names.All(known.ContainsKey))
        {
            return known.ToImmutable();
        }

        var now = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());
        foreach (var name in Names.Where(n => !known.ContainsKey(n)))
        {
            known[name] = (Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), now);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllLines(temporary, Names.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n} {known[n].Id} {known[n].Created.ToUnixTimeMilliseconds()}")));
        File.Move(temporary, path, overwrite: true);
        return known.ToImmutable();
    }
}
