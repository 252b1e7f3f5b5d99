using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The client of an external CFSSL CA, as swarmkit's ExternalCA: POSTs the sign request (JSON) to each URL in turn
/// and takes the first answer `{"success": true, "result": {"certificate": PEM}}` that the caller's check accepts.
/// Over HTTPS only; the server's certificate must match the URL's host and chain to the swarm's roots or to the CA
/// entry's own certificate (never the system's store: whoever signs node certificates is chosen by the swarm).
/// The manager presents its own node certificate, so a CA may require client certificates from the swarm's root.
/// A URL without a path gets CFSSL's sign endpoint, /api/v1/cfssl/sign.
/// </summary>
public sealed class CfsslSigner : IExternalCaSigner
{
    /// <summary>CFSSL's sign endpoint, used when a URL names only the server.</summary>
    public const string SignPath = "/api/v1/cfssl/sign";

    /// <summary>The longest answer read: a certificate or two (swarmkit's CertificateMaxSize is 256 KiB).</summary>
    private const int MaxAnswerBytes = 256 * 1024;

    private readonly Func<X509Certificate2?> _clientCertificate;
    private readonly TimeSpan _timeout;

    /// <param name="clientCertificate">The manager's current certificate (with its key), presented to the CA; null presents none.</param>
    /// <param name="timeout">How long one URL may take (swarmkit's ExternalRequestTimeout is 5 s).</param>
    public CfsslSigner(Func<X509Certificate2?> clientCertificate, TimeSpan? timeout = null)
    {
        _clientCertificate = clientCertificate;
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The URL a request goes to: the given one, or CFSSL's sign endpoint on its server when it has no path.</summary>
    public static Uri SignUri(string url)
    {
        var uri = new Uri(url, UriKind.Absolute);
        return uri.AbsolutePath is "" or "/" ? new Uri(uri, SignPath) : uri;
    }

    public async Task<string> SignAsync(IReadOnlyList<ExternalCa> cas, CfsslSignRequest request, string trustedRootsPem, Func<string, string?> check, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(cas);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(check);
        if (cas.Count == 0)
        {
            throw new ExternalCaException("no external CA is configured for the swarm's signing root");
        }

        var body = request.ToJson();
        var failures = new List<string>();
        foreach (var ca in cas)
        {
            string? failure;
            try
            {
                var certificate = await PostAsync(ca, body, trustedRootsPem, ct).ConfigureAwait(false);
                failure = check(certificate);
                if (failure is null)
                {
                    return certificate;
                }

                failure = "its certificate was refused: " + failure;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or JsonException or UriFormatException or FormatException or ExternalCaException)
            {
                failure = e switch
                {
                    OperationCanceledException => $"no answer within {_timeout.TotalSeconds:0.#} s",
                    HttpRequestException { InnerException: AuthenticationException auth } => "TLS: " + auth.Message,
                    _ => e.InnerException is { } inner && e is HttpRequestException ? $"{e.Message} ({inner.Message})" : e.Message,
                };
            }

            failures.Add($"{ca.Url}: {failure}");
        }

        throw new ExternalCaException(string.Join("; ", failures));
    }

    private async Task<string> PostAsync(ExternalCa ca, string body, string trustedRootsPem, CancellationToken ct)
    {
        var uri = SignUri(ca.Url);
        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ExternalCaException("an external CA is reached over https only");
        }

        var trust = new X509Certificate2Collection();
        trust.ImportFromPem(trustedRootsPem + "\n" + ca.CaCertPem);
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _timeout,
            PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(certificate, errors, trust),
                LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCertificate()!,
            },
        };
        using var client = new HttpClient(handler) { Timeout = _timeout, MaxResponseContentBufferSize = MaxAnswerBytes };
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(uri, content, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var errors = Errors(text);
            throw new ExternalCaException($"HTTP {(int)response.StatusCode}" + (errors.Length > 0 ? ": " + errors : string.Empty));
        }

        return Certificate(text);
    }

    /// <summary>The certificate of a CFSSL answer, or why there is none (its errors: `[{"code": N, "message": "..."}]`).</summary>
    internal static string Certificate(string answer)
    {
        using var document = JsonDocument.Parse(answer);
        var root = document.RootElement;
        var success = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.True;
        if (!success || !root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object)
        {
            throw new ExternalCaException(Errors(answer) is { Length: > 0 } errors ? "the CA refused: " + errors : "the CA's answer reports no success");
        }

        return result.TryGetProperty("certificate", out var certificate) && certificate.ValueKind == JsonValueKind.String && certificate.GetString() is { Length: > 0 } pem
            ? pem
            : throw new ExternalCaException("the CA's answer has no result.certificate");
    }

    private static string Errors(string answer)
    {
        try
        {
            using var document = JsonDocument.Parse(answer);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
                ? string.Join("; ", errors.EnumerateArray().Select(e =>
                    e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m + (e.TryGetProperty("code", out var c) ? $" (code {c})" : string.Empty) : e.ToString()))
                : string.Empty;
        }
        catch (JsonException)
        {
            return answer.Length > 200 ? answer[..200] : answer;
        }
    }

    private static bool Trusted(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2Collection trust)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
