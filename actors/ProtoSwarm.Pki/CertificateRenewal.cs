using System.Security.Cryptography.X509Certificates;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace ProtoSwarm.Pki;

/// <summary>When a node asks for a new certificate, as swarmkit: at a random point between 50% and 80% of its life,
/// so a swarm's nodes, all joined at once, do not all renew at once.</summary>
public static class CertificateRenewal
{
    public const double EarliestFraction = 0.5;
    public const double LatestFraction = 0.8;

    public static DateTimeOffset RenewAt(DateTimeOffset notBefore, DateTimeOffset notAfter, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (notAfter <= notBefore)
            throw new ArgumentException("the certificate's validity ends before it starts", nameof(notAfter));
        var life = notAfter - notBefore;
        var fraction = EarliestFraction + ((LatestFraction - EarliestFraction) * random.NextDouble());
        return notBefore + (life * fraction);
    }

    public static DateTimeOffset RenewAt(BcCertificate certificate, Random random) =>
        RenewAt(new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero), new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero), random);

    public static DateTimeOffset RenewAt(X509Certificate2 certificate, Random random) =>
        RenewAt(new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero), random);
}
