using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

/// <summary>What a manager accepts of a certificate an external CA answered: only the one it asked for, from the swarm's root.</summary>
public sealed class ExternalCertificateCheckTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly RootCa Root = RootCa.Create(Now);
    private static readonly NodeKey Key = NodeKey.Generate();
    private static readonly NodeCsr Csr = Key.CreateCsr();
    private static readonly SwarmPeer Asked = new("node-1", NodeRole.Worker, "cluster-1");

    private static string Check(string certificatePem, SwarmPeer? asked = null)
    {
        var accepted = ExternalCertificateCheck.Check(certificatePem, Csr, asked ?? Asked, Root.Certificate, Now, out var error);
        Assert.Equal(accepted is null, error.Length > 0);
        return error;
    }

    [Fact]
    public void The_Certificate_Asked_For_From_The_Swarms_Root_Is_Accepted_With_A_Chain_After_It()
    {
        var issued = Pem.Write(Root.Issue(Csr, "node-1", NodeRole.Worker, "cluster-1", [IPAddress.Loopback], Now));

        Assert.Equal(string.Empty, Check(issued + Root.CertificatePem));
    }

    public static TheoryData<string, string> Refused()
    {
        var other = RootCa.Create(Now);
        return new()
        {
            { Pem.Write(other.Issue(Csr, "node-1", NodeRole.Worker, "cluster-1", [], Now)), "is not signed by the swarm's root CA" },
            { Pem.Write(Root.Issue(NodeKey.Generate().CreateCsr(), "node-1", NodeRole.Worker, "cluster-1", [], Now)), "is not for the key of the certificate request that was sent" },
            { Pem.Write(Root.Issue(Csr, "node-2", NodeRole.Worker, "cluster-1", [], Now)), "names 'node-2' as swarm-worker of cluster 'cluster-1', not 'node-1' as swarm-worker of cluster 'cluster-1' as asked" },
            { Pem.Write(Root.Issue(Csr, "node-1", NodeRole.Manager, "cluster-1", [], Now)), "names 'node-1' as swarm-manager" },
            { Pem.Write(Root.Issue(Csr, "node-1", NodeRole.Worker, "cluster-2", [], Now)), "of cluster 'cluster-2'" },
            { Pem.Write(Root.Issue(Csr, "node-1", NodeRole.Worker, "cluster-1", [], TimeSpan.FromMinutes(30), Now)), "it must be valid now and for at least 1 hour more" },
            { Pem.Write(Root.Issue(Csr, "node-1", NodeRole.Worker, "cluster-1", [], Now + TimeSpan.FromDays(2))), "it must be valid now" },
            { "not a certificate", "the answer holds no PEM certificate" },
        };
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Anything_Else_Is_Refused_Saying_Why(string certificatePem, string why)
    {
        Assert.Contains(why, Check(certificatePem), StringComparison.Ordinal);
    }

    [Fact]
    public void A_Client_Certificate_Is_Not_A_Nodes()
    {
        var client = Pem.Write(Root.IssueClient(Csr, "node-1", "cluster-1", TimeSpan.FromDays(1), Now));

        Assert.Contains("names 'node-1' as swarm-client", Check(client), StringComparison.Ordinal);
        Assert.Equal(string.Empty, Check(client, SwarmPeer.Client("node-1", "cluster-1")));
    }
}
