using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// HTTP basic auth for the registry's plain listener, where outside tools (docker login, skopeo --creds) cannot
/// present a swarm certificate: user `pull` or `push`, the password the matching registry token. The tokens are
/// read on every request, so a rotation (`registry token push --rotate`) takes effect at once; an empty token
/// turns its user off.
/// </summary>
public sealed class BasicAuthorizer(Func<string> pullToken, Func<string> pushToken) : IRegistryAuthorizer
{
    public const string PullUser = "pull";
    public const string PushUser = "push";

    public string? Challenge => "Basic realm=\"protoswarm-registry\"";

    public RegistryAccess Authorize(HttpContext http)
    {
        var header = http.Request.Headers[HeaderNames.Authorization].ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return RegistryAccess.None;
        }

        string credentials;
        try
        {
            credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return RegistryAccess.None;
        }

        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return RegistryAccess.None;
        }

        var user = credentials[..colon];
        var password = credentials[(colon + 1)..];
        return user switch
        {
            PushUser when Matches(password, pushToken()) => RegistryAccess.Push,
            PullUser when Matches(password, pullToken()) => RegistryAccess.Pull,
            _ => RegistryAccess.None,
        };
    }

    /// <summary>
    /// Constant time, and over hashes so that not even the token's length shows in the timing.
    /// </summary>
    private static bool Matches(string given, string token) =>
        token.Length > 0
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
