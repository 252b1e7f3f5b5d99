using MessagePack;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

/// <summary>The removed-node deny list: listed until the node's certificate expires, then forgotten; ids
/// stored by the version before expiries were kept still load and are given one.</summary>
public sealed class RemovedNodeListTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly ClusterObject Cluster = TestNodes.SwarmCluster("cluster-1");

    private static NodeObject Node(string id, DateTimeOffset? certNotAfter) => TestNodes.Worker(id) with { CertNotAfter = certNotAfter };

    [Fact]
    public void A_Removed_Node_Is_Listed_Until_Its_Certificate_Expires()
    {
        var cluster = RemovedNodeList.Add(Cluster, Node("n1", Now.AddDays(3)), Now);

        Assert.Equal<string>(["n1"], cluster.RemovedNodes);
        Assert.Equal<RemovedNodeExpiry>([new RemovedNodeExpiry("n1", Now.AddDays(3))], cluster.RemovedNodeExpiries);
        Assert.Null(RemovedNodeList.Prune(cluster, Now.AddDays(3).AddSeconds(-1)));
        var pruned = RemovedNodeList.Prune(cluster, Now.AddDays(3));
        Assert.NotNull(pruned);
        Assert.Empty(pruned.RemovedNodes);
        Assert.Empty(pruned.RemovedNodeExpiries);
    }

    [Fact]
    public void The_Next_Removal_Drops_The_Entries_Whose_Certificates_Expired_In_The_Same_Write()
    {
        var cluster = RemovedNodeList.Add(Cluster, Node("old", Now.AddHours(1)), Now);
        cluster = RemovedNodeList.Add(cluster, Node("young", Now.AddDays(30)), Now);

        var later = RemovedNodeList.Add(cluster, Node("new", Now.AddDays(60)), Now.AddDays(2));

        Assert.Equal<string>(["young", "new"], later.RemovedNodes);
        Assert.Equal<RemovedNodeExpiry>([new RemovedNodeExpiry("young", Now.AddDays(30)), new RemovedNodeExpiry("new", Now.AddDays(60))], later.RemovedNodeExpiries);
    }

    [Fact]
    public void A_Node_Removed_Twice_Is_Listed_Once_With_The_Later_Expiry()
    {
        var cluster = RemovedNodeList.Add(Cluster, Node("n1", Now.AddDays(1)), Now);

        cluster = RemovedNodeList.Add(cluster, Node("n1", Now.AddDays(5)), Now);

        Assert.Equal<string>(["n1"], cluster.RemovedNodes);
        Assert.Equal<RemovedNodeExpiry>([new RemovedNodeExpiry("n1", Now.AddDays(5))], cluster.RemovedNodeExpiries);
    }

    [Fact]
    public void An_Unknown_Expiry_Lasts_The_Longest_Lifetime_The_Swarm_Issues()
    {
        var year = Cluster with { NodeCertExpirySeconds = (long)TimeSpan.FromDays(365).TotalSeconds };
        var hour = Cluster with { NodeCertExpirySeconds = (long)TimeSpan.FromHours(1).TotalSeconds };

        var longer = RemovedNodeList.Add(year, Node("n1", certNotAfter: null), Now);
        var shorter = RemovedNodeList.Add(hour, Node("n1", certNotAfter: null), Now);

        Assert.Equal(Now.AddDays(365), longer.RemovedNodeExpiries.Single().CertExpiresAt);
        Assert.Equal(Now + ClusterObject.DefaultNodeCertExpiry, shorter.RemovedNodeExpiries.Single().CertExpiresAt);
    }

    [Fact]
    public void Ids_Stored_Without_Expiries_Are_Given_One_Once_And_Then_Forgotten_After_It()
    {
        var legacy = Cluster with { RemovedNodes = ["a", "b"] };

        var stamped = RemovedNodeList.Prune(legacy, Now);

        Assert.NotNull(stamped);
        Assert.Equal<string>(["a", "b"], stamped.RemovedNodes);
        Assert.All(stamped.RemovedNodeExpiries, e => Assert.Equal(Now + ClusterObject.DefaultNodeCertExpiry, e.CertExpiresAt));
        Assert.Null(RemovedNodeList.Prune(stamped, Now.AddDays(1)));
        Assert.Empty(RemovedNodeList.Prune(stamped, Now + ClusterObject.DefaultNodeCertExpiry)!.RemovedNodes);
    }

    [Fact]
    public void A_Cluster_Record_Written_Before_Expiries_Were_Kept_Loads_With_Its_Removed_Ids()
    {
        var current = Cluster with { RemovedNodes = ["a", "b"] };

        // The record as the earlier version wrote it: keys 0..17, removed nodes as plain ids at key 9.
        var old = MessagePackSerializer.Deserialize<ClusterObject>(OldShapes.FirstElements(MessagePackSerializer.Serialize(current), 18));

        Assert.Equal<string>(["a", "b"], old.RemovedNodes);
        Assert.Empty(old.RemovedNodeExpiries);
        Assert.False(old.RemovedNodeExpiries.IsDefault);
        Assert.Equal(MessagePackSerializer.Serialize(current), MessagePackSerializer.Serialize(old));
        Assert.Equal<string>(["a", "b"], RemovedNodeList.Add(old, Node("c", Now.AddDays(1)), Now).RemovedNodeExpiries.Select(e => e.NodeId).Take(2));
    }

    [Fact]
    public void A_Cluster_Record_Written_Before_The_Task_History_Limit_Existed_Keeps_Five_Tasks()
    {
        var current = Cluster with { TaskHistoryRetentionLimit = 0 };

        // The record as the earlier version wrote it: keys 0..18.
        var old = MessagePackSerializer.Deserialize<ClusterObject>(OldShapes.FirstElements(MessagePackSerializer.Serialize(current), 19));

        Assert.Null(old.TaskHistoryRetentionLimit);
        Assert.Equal(5, old.TaskHistoryLimit);
        Assert.Equal(0, MessagePackSerializer.Deserialize<ClusterObject>(MessagePackSerializer.Serialize(current)).TaskHistoryLimit);
    }

    [Fact]
    public void A_Node_Record_Written_Before_Certificate_Expiries_Were_Kept_Loads_Without_One()
    {
        var node = Node("n1", Now.AddDays(1));

        var old = MessagePackSerializer.Deserialize<NodeObject>(OldShapes.FirstElements(MessagePackSerializer.Serialize(node), 11));

        Assert.Null(old.CertNotAfter);
        Assert.Equal(MessagePackSerializer.Serialize(node), MessagePackSerializer.Serialize(old with { CertNotAfter = node.CertNotAfter }));
    }
}
