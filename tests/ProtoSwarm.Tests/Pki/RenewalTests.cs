using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class RenewalTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Renewal_Falls_Between_Half_And_Four_Fifths_Of_The_Life_Over_Many_Draws()
    {
        var ca = RootCa.Create(Now);
        var certificate = ca.Issue(NodeKey.Generate().CreateCsr(), "n1", NodeRole.Worker, "c1", [], Now);
        var notBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero);
        var life = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero) - notBefore;
        var random = new Random(42);

        var fractions = Enumerable.Range(0, 10_000)
            .Select(_ => (CertificateRenewal.RenewAt(certificate, random) - notBefore) / life)
            .ToList();

        Assert.All(fractions, f => Assert.InRange(f, 0.5, 0.8));
        Assert.True(fractions.Min() < 0.51, $"earliest draw {fractions.Min()}");
        Assert.True(fractions.Max() > 0.79, $"latest draw {fractions.Max()}");
        Assert.InRange(fractions.Average(), 0.64, 0.66);
    }

    [Fact]
    public void The_Same_Seed_Gives_The_Same_Renewal_Time()
    {
        var ca = RootCa.Create(Now);
        var certificate = ca.Issue(NodeKey.Generate().CreateCsr(), "n1", NodeRole.Worker, "c1", [], Now);

        Assert.Equal(CertificateRenewal.RenewAt(certificate, new Random(7)), CertificateRenewal.RenewAt(certificate, new Random(7)));
    }

    [Fact]
    public void The_Bc_And_Dotnet_Certificates_Renew_At_The_Same_Time()
    {
        var ca = RootCa.Create(Now);
        var key = NodeKey.Generate();
        var issued = ca.Issue(key.CreateCsr(), "n1", NodeRole.Worker, "c1", [], Now);
        using var certificate = key.WithCertificate(issued);

        Assert.Equal(CertificateRenewal.RenewAt(issued, new Random(3)), CertificateRenewal.RenewAt(certificate, new Random(3)));
    }

    [Fact]
    public void A_Validity_That_Ends_Before_It_Starts_Is_Refused()
    {
        Assert.Throws<ArgumentException>(() => CertificateRenewal.RenewAt(Now, Now, new Random(1)));
    }
}
