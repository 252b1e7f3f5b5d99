using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Tests.Registry;

public sealed class RegistryHostTests
{
    [Fact]
    public async Task With_A_Certificate_The_Host_Speaks_Https_And_Http2()
    {
        var root = Directory.CreateTempSubdirectory("protoswarm-registry-tls-").FullName;
        try
        {
            using var certificate = SelfSigned();
            using var server = new RegistryServer(root, new InMemoryRegistryMetadata(), new BasicAuthorizer(() => "p", () => "q"), null, NullLogger.Instance);
            await using var host = await RegistryHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), server, certificate);
            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == certificate.Thumbprint };
            using var client = new HttpClient(handler) { BaseAddress = host.BaseAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

            using var response = await client.GetAsync("/v2/");

            Assert.Equal("https", host.BaseAddress.Scheme);
            Assert.NotEqual(0, host.Port);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
