using System.Net;
using System.Text.Json;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Managers;

/// <summary>The external CA client against real HTTPS listeners on 127.0.0.1 that answer as CFSSL's sign endpoint does.</summary>
public sealed class CfsslSignerTests
{
    private static readonly RootCa Root = RootCa.Create(DateTimeOffset.UtcNow);
    private static readonly CfsslSignRequest Request = new("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "node-1", "swarm-worker", "cluster-1", ["swarm-worker", "node-1", "10.0.0.5"]);
    private const string Signed = "-----BEGIN CERTIFICATE-----\nsigned\n-----END CERTIFICATE-----\n";

    private static string Success(string certificate) =>
        JsonSerializer.Serialize(new { success = true, result = new { certificate }, errors = Array.Empty<object>(), messages = Array.Empty<object>() });

    private static CfsslSigner Signer() => new(() => null, TimeSpan.FromSeconds(5));

    [Fact]
    public async Task Posts_Swarmkits_Sign_Request_To_Cfssls_Sign_Endpoint_And_Returns_The_Certificate()
    {
        await using var server = await HttpsTestServer.StartAsync(HttpsTestServer.TlsCertificate(Root), (_, _) => (200, Success(Signed)));

        var certificate = await Signer().SignAsync([new ExternalCa(ExternalCa.Cfssl, server.Url)], Request, Root.CertificatePem, _ => null, CancellationToken.None);

        Assert.Equal(Signed, certificate);
        var (path, body) = Assert.Single(server.Requests);
        Assert.Equal(CfsslSigner.SignPath, path);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(Request.CsrPem, json.RootElement.GetProperty("certificate_request").GetString());
        Assert.Equal(["swarm-worker", "node-1", "10.0.0.5"], json.RootElement.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()!).ToArray());
        var subject = json.RootElement.GetProperty("subject");
        Assert.Equal("node-1", subject.GetProperty("CN").GetString());
        var name = Assert.Single(subject.GetProperty("names").EnumerateArray().ToArray());
        Assert.Equal(("swarm-worker", "cluster-1"), (name.GetProperty("OU").GetString(), name.GetProperty("O").GetString()));
    }

    [Fact]
    public async Task A_Url_With_A_Path_Is_Posted_To_As_Given()
    {
        await using var server = await HttpsTestServer.StartAsync(HttpsTestServer.TlsCertificate(Root), (_, _) => (200, Success(Signed)));

        await Signer().SignAsync([new ExternalCa(ExternalCa.Cfssl, server.Url + "/sign")], Request, Root.CertificatePem, _ => null, CancellationToken.None);

        Assert.Equal("/sign", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Tries_The_Next_Ca_When_One_Is_Down_Refuses_Or_Answers_A_Certificate_The_Check_Refuses()
    {
        var tls = HttpsTestServer.TlsCertificate(Root);
        await using var refusing = await HttpsTestServer.StartAsync(tls, (_, _) => (400, """{"success":false,"result":null,"errors":[{"code":5300,"message":"Unable to parse certificate request"}],"messages":[]}"""));
        await using var wrong = await HttpsTestServer.StartAsync(tls, (_, _) => (200, Success("wrong")));
        await using var good = await HttpsTestServer.StartAsync(tls, (_, _) => (200, Success(Signed)));
        var down = "https://127.0.0.1:" + FreePort();

        var certificate = await Signer().SignAsync(
            [new ExternalCa(ExternalCa.Cfssl, down), new ExternalCa(ExternalCa.Cfssl, refusing.Url), new ExternalCa(ExternalCa.Cfssl, wrong.Url), new ExternalCa(ExternalCa.Cfssl, good.Url)],
            Request, Root.CertificatePem, answer => answer == Signed ? null : "not the one", CancellationToken.None);

        Assert.Equal(Signed, certificate);
        Assert.Single(refusing.Requests);
        Assert.Single(wrong.Requests);
    }

    [Fact]
    public async Task When_Every_Ca_Fails_The_Error_Names_Each_And_Why()
    {
        var tls = HttpsTestServer.TlsCertificate(Root);
        await using var refusing = await HttpsTestServer.StartAsync(tls, (_, _) => (400, """{"success":false,"result":null,"errors":[{"code":5300,"message":"Unable to parse certificate request"}],"messages":[]}"""));
        await using var wrong = await HttpsTestServer.StartAsync(tls, (_, _) => (200, Success("wrong")));

        var error = await Assert.ThrowsAsync<ExternalCaException>(() => Signer().SignAsync(
            [new ExternalCa(ExternalCa.Cfssl, refusing.Url), new ExternalCa(ExternalCa.Cfssl, wrong.Url)],
            Request, Root.CertificatePem, _ => "it names node-2", CancellationToken.None));

        Assert.Contains($"{refusing.Url}: HTTP 400: Unable to parse certificate request (code 5300)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{wrong.Url}: its certificate was refused: it names node-2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Server_Whose_Tls_Certificate_Is_Not_From_The_Swarms_Roots_Or_The_Cas_Own_Cert_Is_Not_Sent_The_Request()
    {
        var other = RootCa.Create(DateTimeOffset.UtcNow);
        await using var server = await HttpsTestServer.StartAsync(HttpsTestServer.TlsCertificate(other), (_, _) => (200, Success(Signed)));

        var error = await Assert.ThrowsAsync<ExternalCaException>(() => Signer().SignAsync(
            [new ExternalCa(ExternalCa.Cfssl, server.Url)], Request, Root.CertificatePem, _ => null, CancellationToken.None));
        // The CA entry's own certificate (cacert=) is trusted for its server as well.
        var signed = await Signer().SignAsync([new ExternalCa(ExternalCa.Cfssl, server.Url, other.CertificatePem)], Request, Root.CertificatePem, _ => null, CancellationToken.None);

        Assert.Contains("TLS", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
        Assert.Equal(Signed, signed);
    }

    [Fact]
    public async Task A_Plain_Http_Url_Is_Refused_Without_Being_Called()
    {
        var error = await Assert.ThrowsAsync<ExternalCaException>(() => Signer().SignAsync(
            [new ExternalCa(ExternalCa.Cfssl, "http://127.0.0.1:1")], Request, Root.CertificatePem, _ => null, CancellationToken.None));

        Assert.Contains("http://127.0.0.1:1: an external CA is reached over https only", error.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
