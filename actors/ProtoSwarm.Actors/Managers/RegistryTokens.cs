using System.Security.Cryptography;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The passwords of the registry's plain listener (basic auth, user `pull` or `push`), one per role, kept in
/// the cluster object as the join tokens are. 256 random bits in lowercase hex: nothing a shell or a URL
/// would need to quote.
/// </summary>
public static class RegistryTokens
{
    public const string Pull = "pull";
    public const string Push = "push";

    public static bool IsRole(string? role) => role is Pull or Push;

    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The role's token as stored (empty in a swarm made before the registry).</summary>
    public static string Of(ClusterObject cluster, string role) =>
        role == Push ? cluster.RegistryPushToken : cluster.RegistryPullToken;

    public static ClusterObject With(ClusterObject cluster, string role, string token) =>
        role == Push ? cluster with { RegistryPushToken = token } : cluster with { RegistryPullToken = token };

    /// <summary>Whether <paramref name="password"/> is the role's token, compared in constant time; an unset token admits nobody.</summary>
    public static bool Admits(ClusterObject cluster, string role, string password)
    {
        var expected = IsRole(role) ? Of(cluster, role) : string.Empty;
        return expected.Length > 0
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password ?? string.Empty), Encoding.UTF8.GetBytes(expected));
    }
}
