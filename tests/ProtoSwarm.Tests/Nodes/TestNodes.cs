using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Nodes;

/// <summary>Nodes and swarms in the shapes the tests need, built from a few readable arguments.</summary>
internal static class TestNodes
{
    public static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static NodeObject Worker(string id, string hostname = "", NodeState state = NodeState.Ready, ulong version = 1) =>
        Node(id, NodeRole.Worker, hostname, state, version);

    public static NodeObject Manager(string id, string hostname = "", NodeState state = NodeState.Ready, bool leader = false, ulong version = 1) =>
        Node(id, NodeRole.Manager, hostname, state, version) with
        {
            ManagerStatus = new ManagerStatus(leader, state == NodeState.Ready ? Reachability.Reachable : Reachability.Unreachable, "10.0.1.1:2377"),
            RaftId = RaftIdOf(id),
        };

    /// <summary>A stable Raft member id per node id, so tests can name the leader.</summary>
    public static ulong RaftIdOf(string id) => id.Aggregate(1469598103934665603UL, (h, c) => (h ^ c) * 1099511628211UL);

    public static NodeObject Node(string id, NodeRole role, string hostname = "", NodeState state = NodeState.Ready, ulong version = 1) =>
        NodeCommands.NewNode(id, role, "10.0.0.1", NodeCommands.DefaultPort, Description(hostname.Length > 0 ? hostname : "host-" + id), T0, leader: false) with
        {
            Meta = new ObjectMeta(version, T0, T0),
            Status = new NodeStatus(state, string.Empty, "10.0.0.1", T0),
            Member = new MemberInfo("member-" + id, "10.0.0.1", 2377, ["node"]),
        };

    public static NodeObject WithLabels(this NodeObject node, params (string Key, string Value)[] labels) =>
        node with { Spec = node.Spec with { Labels = labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal) } };

    /// <summary>The node with these engine labels in its description (`protoswarmd --label`).</summary>
    public static NodeObject WithEngineLabels(this NodeObject node, params (string Key, string Value)[] labels) =>
        node with { Description = node.Description with { EngineLabels = labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal) } };

    public static NodeDescription Description(string hostname) => new(hostname, "linux", "x86_64", 4_000_000_000, 8L << 30, "0.1.0");

    public static ClusterObject Cluster(string clusterId = "cluster-a", string workerToken = "worker-token", string managerToken = "manager-token") =>
        new(ClusterObject.DefaultId, ObjectMeta.New(T0), clusterId, workerToken, managerToken);

    /// <summary>A cluster object as `swarm init` makes it: a real root CA and SWMTKN-1 tokens that pin it.</summary>
    public static ClusterObject SwarmCluster(string clusterId = "cluster-a") =>
        Actors.Managers.SwarmCa.NewCluster(T0, snapshotInterval: 0) with { ClusterId = clusterId };
}
