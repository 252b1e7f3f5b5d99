using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Pkcs;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using Xunit.Abstractions;

namespace ProtoSwarm.Tests.Pki;

public class ValidatorTests(ITestOutputHelper output)
{
    private const string NodeSubject = "CN=node-1, OU=swarm-worker, O=" + TestPki.ClusterId;
    private static readonly TestPki Swarm = new();
    private static readonly TestPki Stranger = new();

    private sealed record Case(Func<X509Certificate2?> Certificate, CertificateRefusal Expected, PeerUsage Usage = PeerUsage.Client)
    {
        public Func<X509Certificate2[]>? Intermediates { get; init; }

        public SwarmCertificateValidator Validator { get; init; } = Swarm.Validator();
    }

    private static readonly Dictionary<string, Case> Refusals = new()
    {
        ["no certificate"] = new(() => null, CertificateRefusal.NoCertificate),
        ["self-signed with a node subject"] = new(SelfSignedNode, CertificateRefusal.SelfSigned),
        ["another swarm's root presented as a node"] = new(() => Stranger.Ca.ToX509Certificate2(), CertificateRefusal.SelfSigned),
        ["this swarm's own root presented as a node"] = new(() => Swarm.Ca.ToX509Certificate2(), CertificateRefusal.SelfSigned),
        ["issued by another swarm's CA for the same cluster id"] = new(() => Stranger.Node(), CertificateRefusal.UntrustedIssuer),
        ["naming this swarm's CA as issuer, signed by another key"] = new(ForgedIssuer, CertificateRefusal.UntrustedIssuer),
        ["expired"] = new(() => Swarm.Node(now: DateTimeOffset.UtcNow.AddDays(-100)), CertificateRefusal.Expired),
        ["not valid yet"] = new(() => Swarm.Node(now: DateTimeOffset.UtcNow.AddDays(2)), CertificateRefusal.NotYetValid),
        ["issued by a node certificate acting as a CA"] = new(() => IssuedByNode().Leaf, CertificateRefusal.InvalidChain)
        {
            Intermediates = () => [IssuedByNode().Node],
        },
        ["a server-only certificate presented by a client"] = new(() => SignedByCa(NodeSubject, [KeyPurposeID.id_kp_serverAuth]), CertificateRefusal.WrongUsage),
        ["a client-only certificate presented by a server"] = new(() => SignedByCa(NodeSubject, [KeyPurposeID.id_kp_clientAuth]), CertificateRefusal.WrongUsage, PeerUsage.Server),
        ["no extended key usage"] = new(() => SignedByCa(NodeSubject, null), CertificateRefusal.WrongUsage),
        ["a cross-signed CA certificate presented as a node"] = new(
            () => X509Conversions.ToX509Certificate2(Swarm.Ca.CrossSign(RootCa.Create(DateTimeOffset.UtcNow))), CertificateRefusal.WrongUsage),
        ["no role in the subject"] = new(() => SignedByCa("CN=node-1, O=" + TestPki.ClusterId, Both), CertificateRefusal.NotANodeCertificate),
        ["an unknown role"] = new(() => SignedByCa("CN=node-1, OU=swarm-admin, O=" + TestPki.ClusterId, Both), CertificateRefusal.NotANodeCertificate),
        ["two node ids"] = new(() => SignedByCa("CN=node-1, CN=node-2, OU=swarm-worker, O=" + TestPki.ClusterId, Both), CertificateRefusal.NotANodeCertificate),
        ["another cluster id"] = new(() => Swarm.Node(clusterId: "cluster-b"), CertificateRefusal.WrongCluster),
        ["a removed node"] = new(() => Swarm.Node("node-9"), CertificateRefusal.RemovedNode)
        {
            Validator = Swarm.Validator(new HashSet<string> { "node-9" }),
        },
        ["a removed manager acting as a server"] = new(() => Swarm.Node("node-8", NodeRole.Manager), CertificateRefusal.RemovedNode, PeerUsage.Server)
        {
            Validator = Swarm.Validator(new HashSet<string> { "node-8" }),
        },
    };

    private static readonly KeyPurposeID[] Both = [KeyPurposeID.id_kp_serverAuth, KeyPurposeID.id_kp_clientAuth];

    public static TheoryData<string> RefusalCases() => [.. Refusals.Keys];

    [Theory]
    [MemberData(nameof(RefusalCases))]
    public void A_Peer_Certificate_Is_Refused_With_Its_Reason(string name)
    {
        var result = Run(Refusals[name]);

        output.WriteLine($"{name}: {result}");
        Assert.False(result.IsAccepted);
        Assert.Equal(Refusals[name].Expected, result.Refusal);
        Assert.Null(result.Peer);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
    }

    [Fact]
    public void Every_Refusal_Is_Covered_And_Counted()
    {
        var refused = 0;
        foreach (var (name, @case) in Refusals)
        {
            var result = Run(@case);
            if (!result.IsAccepted && result.Refusal == @case.Expected)
                refused++;
            output.WriteLine($"{(result.Refusal == @case.Expected ? "refused" : "WRONG  ")} {name,-58} {result.Refusal}: {result.Reason}");
        }
        output.WriteLine($"refused {refused} of {Refusals.Count} certificates for the expected reason");

        Assert.Equal(Refusals.Count, refused);
        Assert.Equal(Enum.GetValues<CertificateRefusal>().ToHashSet(), Refusals.Values.Select(c => c.Expected).ToHashSet());
    }

    [Theory]
    [InlineData(NodeRole.Worker, PeerUsage.Client)]
    [InlineData(NodeRole.Worker, PeerUsage.Server)]
    [InlineData(NodeRole.Manager, PeerUsage.Client)]
    [InlineData(NodeRole.Manager, PeerUsage.Server)]
    public void A_Swarm_Node_Is_Accepted_On_Either_Side_With_Its_Identity(NodeRole role, PeerUsage usage)
    {
        using var certificate = Swarm.Node("node-3", role);

        var result = Swarm.Validator(new HashSet<string> { "node-9" }).Validate(certificate, usage);

        Assert.True(result.IsAccepted, result.ToString());
        Assert.Equal(new SwarmPeer("node-3", role, TestPki.ClusterId), result.Peer);
    }

    [Fact]
    public void A_Certificate_Is_Accepted_When_Any_Trusted_Root_Issued_It()
    {
        var next = new TestPki();
        var validator = new SwarmCertificateValidator([Swarm.Ca.ToX509Certificate2(), next.Ca.ToX509Certificate2()], TestPki.ClusterId);
        using var fromOld = Swarm.Node();
        using var fromNew = next.Node();

        Assert.True(validator.Validate(fromOld, PeerUsage.Client).IsAccepted);
        Assert.True(validator.Validate(fromNew, PeerUsage.Client).IsAccepted);
    }

    [Fact]
    public void Validity_Is_Judged_At_The_Injected_Time()
    {
        var issuedAt = DateTimeOffset.UtcNow;
        using var certificate = Swarm.Node(now: issuedAt);

        var in89Days = Swarm.Validator(time: new FixedTime(issuedAt.AddDays(89))).Validate(certificate, PeerUsage.Client);
        var in91Days = Swarm.Validator(time: new FixedTime(issuedAt.AddDays(91))).Validate(certificate, PeerUsage.Client);

        Assert.True(in89Days.IsAccepted, in89Days.ToString());
        Assert.Equal(CertificateRefusal.Expired, in91Days.Refusal);
    }

    [Fact]
    public void The_Wrong_Cluster_Is_Named_In_The_Reason()
    {
        using var certificate = Swarm.Node("node-4", clusterId: "cluster-b");

        var result = Swarm.Validator().Validate(certificate, PeerUsage.Client);

        Assert.Contains("cluster-b", result.Reason, StringComparison.Ordinal);
        Assert.Contains(TestPki.ClusterId, result.Reason, StringComparison.Ordinal);
    }

    private static PeerValidation Run(Case @case)
    {
        using var certificate = @case.Certificate();
        return @case.Validator.Validate(certificate, @case.Usage, @case.Intermediates?.Invoke());
    }

    private static X509Certificate2 SelfSignedNode()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(NodeSubject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 ForgedIssuer()
    {
        var stranger = TestPki.NewKey();
        var key = TestPki.NewKey();
        return TestPki.WithKey(TestPki.Forge(NodeSubject, Swarm.Ca.Certificate, stranger.Private, key.Public, usages: Both), key.Private);
    }

    private static X509Certificate2 SignedByCa(string subject, KeyPurposeID[]? usages)
    {
        var key = TestPki.NewKey();
        return TestPki.WithKey(TestPki.Forge(subject, Swarm.Ca.Certificate, Swarm.CaKey, key.Public, usages: usages), key.Private);
    }

    /// <summary>The same pair on every call (the leaf must chain to that node), as fresh objects the caller may dispose.</summary>
    private static (X509Certificate2 Node, X509Certificate2 Leaf) IssuedByNode() =>
        (X509Conversions.ToX509Certificate2(NodeAsCa.Value.Node), X509Conversions.ToX509Certificate2(NodeAsCa.Value.Leaf));

    private static readonly Lazy<(Org.BouncyCastle.X509.X509Certificate Node, Org.BouncyCastle.X509.X509Certificate Leaf)> NodeAsCa = new(() =>
    {
        var nodeKey = TestPki.NewKey();
        var csr = new Pkcs10CertificationRequest(new Asn1SignatureFactory("SHA256WITHECDSA", nodeKey.Private), new X509Name("CN=x"), nodeKey.Public, null);
        var node = Swarm.Ca.Issue(NodeCsr.FromDer(csr.GetEncoded()), "node-5", NodeRole.Manager, TestPki.ClusterId, [], DateTimeOffset.UtcNow);
        var leaf = TestPki.Forge(NodeSubject, node, nodeKey.Private, TestPki.NewKey().Public, usages: Both);
        return (node, leaf);
    });

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
