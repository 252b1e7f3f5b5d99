using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// A root requested while a CA rotation is still in progress, by swarmkit's rules (controlapi validateCAConfig): a new
/// root replaces the rotation and is cross-signed by the active root; the root already in progress changes nothing;
/// the active root cancels the rotation. Nodes that renewed to an abandoned root stay trusted until they renew again.
/// </summary>
public class SwarmCaRotationTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_Rotation_Requested_During_Another_Replaces_It_With_A_Root_Cross_Signed_By_The_Active_Root()
    {
        var active = NewCluster();
        var (first, started) = SwarmCa.RotateTo(active, RootCa.Create(Now));
        using var onAbandoned = Issue(first);

        var next = RootCa.Create(Now);
        var (second, change) = SwarmCa.RotateTo(first, next);

        Assert.Equal((RootChange.Started, RootChange.Replaced), (started, change));
        Assert.Equal(next.CertificatePem, second.RootCaPem);
        Assert.Equal(active.RootCaPem, second.PreviousRootCaPem);
        Assert.Equal(active.RootCaKeyPem, second.PreviousRootCaKeyPem);
        Assert.Equal(first.RootCaPem, second.RetiredRootsPem);
        Assert.True(second.RootRotationInProgress);
        Assert.Equal(next.Digest, JoinToken.Parse(second.WorkerJoinToken).CaDigest);
        Assert.Equal(next.Digest, JoinToken.Parse(second.ManagerJoinToken).CaDigest);

        // A node that trusts only the active root accepts the new root's certificates through the new cross-signed root,
        // which the active root signed (not the abandoned one).
        using var fromNext = Issue(second);
        var activeOnly = Validator(active.RootCaPem, second.CrossSignedRootPem);
        Assert.True(activeOnly.Validate(fromNext, PeerUsage.Client).IsAccepted);
        Assert.False(Validator(first.RootCaPem, second.CrossSignedRootPem).Validate(fromNext, PeerUsage.Client).IsAccepted);

        // A node still on the abandoned root is not cut off: it presents its certificate alone, as clients do.
        Assert.True(Validator(second.TrustedRootsPem).Validate(onAbandoned, PeerUsage.Client).IsAccepted);
        Assert.Equal(3, Pem.ReadCertificates(second.TrustedRootsPem).Count);
    }

    [Fact]
    public void A_Replaced_Rotation_Finishes_Only_When_Every_Node_Holds_A_Certificate_From_The_Newest_Root()
    {
        var (first, _) = SwarmCa.RotateTo(NewCluster(), RootCa.Create(Now));
        using var onAbandoned = Issue(first);
        var (second, _) = SwarmCa.RotateTo(first, RootCa.Create(Now));

        Assert.Null(SwarmCa.FinishRotationIfDone(second, [Node("a", first), Node("b", second)]));
        var finished = SwarmCa.FinishRotationIfDone(second, [Node("a", second), Node("b", second)]);

        Assert.NotNull(finished);
        Assert.False(finished.RootRotationInProgress);
        Assert.Equal(second.RootCaPem, finished.TrustedRootsPem);
        Assert.Equal((string.Empty, string.Empty), (finished.PreviousRootCaKeyPem, finished.RetiredRootsPem));
        Assert.False(Validator(finished.TrustedRootsPem).Validate(onAbandoned, PeerUsage.Client).IsAccepted);
    }

    [Fact]
    public void Rotations_Replaced_Twice_Keep_Every_Abandoned_Root_Trusted_Once_And_Still_Cross_Sign_With_The_Active_Root()
    {
        var active = NewCluster();
        var (first, _) = SwarmCa.RotateTo(active, RootCa.Create(Now));
        var (second, _) = SwarmCa.RotateTo(first, RootCa.Create(Now));
        var (third, change) = SwarmCa.RotateTo(second, RootCa.Create(Now));

        Assert.Equal(RootChange.Replaced, change);
        Assert.Equal(first.RootCaPem + second.RootCaPem, third.RetiredRootsPem);
        Assert.Equal(active.RootCaPem, third.PreviousRootCaPem);
        using var fromThird = Issue(third);
        Assert.True(Validator(active.RootCaPem, third.CrossSignedRootPem).Validate(fromThird, PeerUsage.Client).IsAccepted);
    }

    [Fact]
    public void Requesting_The_Root_Already_In_Progress_Changes_Nothing()
    {
        var pending = RootCa.Create(Now);
        var (during, _) = SwarmCa.RotateTo(NewCluster(), pending);

        var (again, change) = SwarmCa.RotateTo(during, RootCa.FromPem(pending.CertificatePem, pending.ExportPrivateKeyPem()));

        Assert.Equal(RootChange.Unchanged, change);
        Assert.Same(during, again);
    }

    [Fact]
    public void Requesting_The_Active_Root_Cancels_The_Rotation_And_Keeps_The_Abandoned_Root_Trusted_Until_Nodes_Renew_Back()
    {
        var active = NewCluster();
        var (during, _) = SwarmCa.RotateTo(active, RootCa.Create(Now));
        using var onAbandoned = Issue(during);

        var (cancelled, change) = SwarmCa.RotateTo(during, RootCa.FromPem(active.RootCaPem, active.RootCaKeyPem));

        Assert.Equal(RootChange.Cancelled, change);
        Assert.Equal((active.RootCaPem, active.RootCaKeyPem), (cancelled.RootCaPem, cancelled.RootCaKeyPem));
        Assert.Equal((string.Empty, string.Empty, string.Empty), (cancelled.PreviousRootCaPem, cancelled.PreviousRootCaKeyPem, cancelled.CrossSignedRootPem));
        Assert.Equal(active.RootCaPem + during.RootCaPem, cancelled.TrustedRootsPem);
        Assert.True(cancelled.RootRotationInProgress);
        Assert.Equal(RootCa.FromPem(active.RootCaPem, active.RootCaKeyPem).Digest, JoinToken.Parse(cancelled.WorkerJoinToken).CaDigest);
        Assert.True(Validator(cancelled.TrustedRootsPem).Validate(onAbandoned, PeerUsage.Client).IsAccepted);

        var done = SwarmCa.FinishRotationIfDone(cancelled, [Node("a", cancelled)]);
        Assert.Equal(active.RootCaPem, done!.TrustedRootsPem);
    }

    [Fact]
    public void Requesting_The_Active_Root_With_No_Rotation_In_Progress_Changes_Nothing()
    {
        var active = NewCluster();

        var (same, change) = SwarmCa.RotateTo(active, RootCa.FromPem(active.RootCaPem, active.RootCaKeyPem));

        Assert.Equal(RootChange.Unchanged, change);
        Assert.Same(active, same);
    }

    [Fact]
    public void A_Root_With_The_Active_Roots_Key_Under_Another_Certificate_Is_Refused()
    {
        var active = NewCluster();
        var sameKey = RootCa.FromPem(active.RootCaPem, active.RootCaKeyPem);
        var reissued = RootCa.FromPem(Pem.Write(sameKey.CrossSign(sameKey)), active.RootCaKeyPem);

        var refused = Assert.Throws<ArgumentException>(() => SwarmCa.RotateTo(active, reissued));

        Assert.Equal("the new root CA certificate has the same key as the current one; a rotation needs a new key", refused.Message);
    }

    [Fact]
    public void A_Rotation_Started_By_An_Earlier_Version_Cannot_Be_Replaced_Since_The_Active_Roots_Key_Is_Gone()
    {
        var (during, _) = SwarmCa.RotateTo(NewCluster(), RootCa.Create(Now));
        var earlier = during with { PreviousRootCaKeyPem = string.Empty };

        var refused = Assert.Throws<RootRotationRefusedException>(() => SwarmCa.RotateTo(earlier, RootCa.Create(Now)));

        Assert.Contains("earlier version", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Cluster_Record_Written_Before_Rotations_Could_Be_Replaced_Loads_With_No_Kept_Key_And_No_Retired_Root()
    {
        var (during, _) = SwarmCa.RotateTo(NewCluster(), RootCa.Create(Now));

        // As an earlier version wrote it: keys 0..19.
        var old = MessagePack.MessagePackSerializer.Deserialize<ClusterObject>(Contracts.OldShapes.FirstElements(MessagePack.MessagePackSerializer.Serialize(during), 20));

        Assert.Equal((string.Empty, string.Empty), (old.PreviousRootCaKeyPem, old.RetiredRootsPem));
        Assert.True(old.RootRotationInProgress);
        Assert.Equal(during.RootCaPem + during.PreviousRootCaPem, old.TrustedRootsPem);
        Assert.False(SwarmCa.FinishRotation(old).RootRotationInProgress);
    }

    private static X509Certificate2 Issue(ClusterObject cluster) =>
        X509Certificate2.CreateFromPem(SwarmCa.IssueNode(cluster, NodeKey.Generate().CreateCsr().ToPem(), "node-1", NodeRole.Worker, "10.0.0.2", Now).CertificatePem);

    /// <summary>What a node trusting these roots and knowing these intermediates accepts (every cluster here is one swarm).</summary>
    private static SwarmCertificateValidator Validator(string rootsPem, string intermediatesPem = "") =>
        new(X509Conversions.ReadCertificates(rootsPem), ClusterId, intermediates: X509Conversions.ReadCertificates(intermediatesPem));

    private const string ClusterId = "cluster-r";

    private static ClusterObject NewCluster() => SwarmCa.NewCluster(Now, 0) with { ClusterId = ClusterId };

    private static NodeObject Node(string id, ClusterObject issuedBy) =>
        Nodes.TestNodes.Worker(id) with { CertRootDigest = SwarmCa.CurrentRootDigest(issuedBy) };
}
