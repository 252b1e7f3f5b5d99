using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// A one-manager swarm in this process on a loopback port, whose renewal schedule reads a clock the test moves
/// ahead by weeks: the node certificate renews itself between 50% and 80% of its life, through the CA endpoint,
/// over mutual TLS, and the swarm keeps answering.
/// </summary>
public sealed class CertificateRenewalTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private InProcessSwarm _swarm = null!;

    private string CertificatePath => Path.Combine(_swarm.Dir, "certificates", NodeCertificateFiles.CertificateFile);

    public async Task InitializeAsync() => _swarm = await InProcessSwarm.StartAsync("renewal-1", renewalClock: _clock);

    public async Task DisposeAsync() => await _swarm.DisposeAsync();

    [Fact]
    public async Task The_Node_Certificate_Renews_Itself_Between_Half_And_Four_Fifths_Of_Its_Life()
    {
        using var first = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);

        // 45 days is half of the 90-day life: too early, whatever the random point.
        _clock.Advance(TimeSpan.FromDays(45) - TimeSpan.FromMinutes(70)); // the certificate starts an hour in the past
        await Task.Delay(TimeSpan.FromSeconds(1));
        using (var still = X509CertificateLoader.LoadCertificateFromFile(CertificatePath))
        {
            Assert.Equal(first.SerialNumber, still.SerialNumber);
        }

        // Past 80%: it must have renewed.
        _clock.Advance(TimeSpan.FromDays(28));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string serial;
        do
        {
            await Task.Delay(100);
            using var current = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);
            serial = current.SerialNumber;
        }
        while (serial == first.SerialNumber && DateTime.UtcNow < until);

        Assert.NotEqual(first.SerialNumber, serial);
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);
        Assert.Equal(first.Subject, renewed.Subject);
        Assert.True(renewed.NotAfter > first.NotAfter, "the renewed certificate does not outlive the first");
        var nodes = Assert.IsType<NodeList>(await _swarm.Runtime.HandleAsync(new ListNodes(SwarmIds.NewRequestId()), TestTimeout.Token));
        Assert.Single(nodes.Nodes);
    }
}
