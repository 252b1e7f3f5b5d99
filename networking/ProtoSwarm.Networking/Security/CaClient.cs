using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MessagePack;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// Talks to a manager's CA endpoint: fetch the root without trusting it (the caller compares it with its
/// token), join with a token and a CSR once the root is trusted, renew with the node's current certificate.
/// </summary>
public static class CaClient
{
    /// <summary>
    /// Fetches the swarm's root from <paramref name="managerAddr"/> (ip:port) over TLS that trusts nothing yet: the
    /// caller compares the root with its token's digest. The manager's own certificate is captured and handed back,
    /// so the caller can also check that it chains to that root.
    /// </summary>
    public static async Task<(CaRootInfo Root, X509Certificate2? ServerCertificate)> FetchRootAsync(string managerAddr, TimeSpan timeout, CancellationToken ct)
    {
        X509Certificate2? server = null;
#pragma warning disable CA5359 // Trust on first use by design: the root is checked against the join token's digest, and the server's certificate against the root, before anything is sent.
        using var client = NewClient(
            (_, certificate, _, _) =>
            {
                server = SwarmCredentials.AsCertificate2(certificate) is { } c ? X509CertificateLoader.LoadCertificate(c.RawData) : null;
                return true;
            },
            null,
            timeout);
#pragma warning restore CA5359
        using var response = await client.GetAsync(Url(managerAddr, CaWire.RootPath), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new CaUnavailableException($"{managerAddr} is not a swarm manager (it has no CA to show); join through a manager's address.");
        }

        response.EnsureSuccessStatusCode();
        var root = await ReadAsync(response, ct).ConfigureAwait(false) as CaRootInfo
                   ?? throw new CaUnavailableException($"{managerAddr} answered the CA's root request with something else; is it a ProtoSwarm manager?");
        return (root, server);
    }

    /// <summary>Joins through a manager whose certificate must chain to <paramref name="trusted"/>'s roots.</summary>
    public static async Task<object> JoinAsync(string managerAddr, SwarmCertificateValidator trusted, JoinRequest request, TimeSpan timeout, CancellationToken ct)
    {
        PeerValidation? serverCheck = null;
        using var client = NewClient(trusted.CreateCallback(PeerUsage.Server, verdict => serverCheck = verdict), null, timeout);
        try
        {
            return await PostAsync(client, Url(managerAddr, CaWire.JoinPath), request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException) when (serverCheck is { IsAccepted: false })
        {
            return new CommandRejected(RejectCode.PermissionDenied,
                $"The manager at {managerAddr} presented a certificate this swarm's root does not vouch for ({serverCheck.Reason}); refusing to send it the join token.");
        }
    }

    /// <summary>Asks a manager for a new certificate for the node's key, authenticated by the node's current certificate.</summary>
    public static async Task<object> RenewAsync(string managerAddr, SwarmCredentials credentials, RenewCertificate request, TimeSpan timeout, CancellationToken ct)
    {
        using var client = NewClient(credentials.CreateCallback(PeerUsage.Server), credentials, timeout);
        return await PostAsync(client, Url(managerAddr, CaWire.RenewPath), request, ct).ConfigureAwait(false);
    }

    private static async Task<object> PostAsync(HttpClient client, Uri url, object request, CancellationToken ct)
    {
        using var content = new ByteArrayContent(CaWire.Encode(request));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(CaWire.ContentType);
        using var response = await client.PostAsync(url, content, ct).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return await ReadAsync(response, ct).ConfigureAwait(false)
               ?? new CommandRejected(RejectCode.Internal, "The manager's CA answered with an unreadable body.");
    }

    private static async Task<object?> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        try
        {
            return body.Length is 0 or > CaWire.MaxBodyBytes ? null : CaWire.Decode(body);
        }
        catch (MessagePackSerializationException)
        {
            return null;
        }
    }

    private static Uri Url(string managerAddr, string path) => new($"https://{managerAddr}{path}");

    private static HttpClient NewClient(RemoteCertificateValidationCallback validate, SwarmCredentials? credentials, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = validate },
        };
        if (credentials is not null)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials.Certificate;
        }

        return new HttpClient(handler)
        {
            Timeout = timeout,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}

/// <summary>The CA endpoint could not be used: not a manager, or not a ProtoSwarm node.</summary>
public sealed class CaUnavailableException : Exception
{
    public CaUnavailableException(string message)
        : base(message)
    {
    }

    public CaUnavailableException()
    {
    }

    public CaUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
