using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// How a node host decides it must renew for a CA rotation: its certificate against the first of the roots it was
/// told to trust (the root that signs now), whatever else it trusts meanwhile. A renewal that raced a replaced
/// rotation (`swarm ca --rotate` twice) comes back from the abandoned root and still needs one more.
/// </summary>
public class RotationFollowingTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_Certificate_From_A_Root_The_Swarm_Abandoned_Still_Needs_Rotation_Though_That_Root_Stays_Trusted()
    {
        var active = SwarmCa.NewCluster(Now, 0) with { ClusterId = "cluster-f" };
        var (first, _) = SwarmCa.RotateTo(active, RootCa.Create(Now));
        using var renewedMeanwhile = Issue(first);
        var (second, _) = SwarmCa.RotateTo(first, RootCa.Create(Now));

        Assert.False(SwarmRuntime.NeedsRotation(renewedMeanwhile, first.TrustedRootsPem, "cluster-f"));
        Assert.True(SwarmRuntime.NeedsRotation(renewedMeanwhile, second.TrustedRootsPem, "cluster-f"));
        using var fromNewest = Issue(second);
        Assert.False(SwarmRuntime.NeedsRotation(fromNewest, second.TrustedRootsPem, "cluster-f"));
    }

    [Fact]
    public void After_A_Cancelled_Rotation_A_Certificate_From_The_Abandoned_Root_Needs_Rotation_And_One_From_The_Active_Root_Does_Not()
    {
        var active = SwarmCa.NewCluster(Now, 0) with { ClusterId = "cluster-f" };
        using var onActive = Issue(active);
        var (during, _) = SwarmCa.RotateTo(active, RootCa.Create(Now));
        using var onAbandoned = Issue(during);

        var (cancelled, _) = SwarmCa.RotateTo(during, RootCa.FromPem(active.RootCaPem, active.RootCaKeyPem));

        Assert.True(SwarmRuntime.NeedsRotation(onAbandoned, cancelled.TrustedRootsPem, "cluster-f"));
        Assert.False(SwarmRuntime.NeedsRotation(onActive, cancelled.TrustedRootsPem, "cluster-f"));
    }

    private static X509Certificate2 Issue(ClusterObject cluster) =>
        X509Certificate2.CreateFromPem(SwarmCa.IssueNode(cluster, NodeKey.Generate().CreateCsr().ToPem(), "node-1", NodeRole.Worker, "10.0.0.2", Now).CertificatePem);
}
