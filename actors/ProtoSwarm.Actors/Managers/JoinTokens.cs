using System.Security.Cryptography;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// Join tokens: a random secret per role, compared in constant time. The PKI turns them into
/// SWMTKN-1 tokens that also pin the root CA.
/// </summary>
public static class JoinTokens
{
    public const string Prefix = JoinTokenFormat.Prefix;

    public static string NewSecret() => SwarmIds.New(50);

    public static string Format(string secret) => Prefix + secret;

    /// <summary>The role a token grants in this cluster, or null when it grants nothing.</summary>
    public static NodeRole? RoleFor(string token, ClusterObject cluster)
    {
        var presented = Encoding.ASCII.GetBytes(token ?? string.Empty);
        var worker = FixedTimeEquals(presented, Format(cluster.WorkerJoinSecret));
        var manager = FixedTimeEquals(presented, Format(cluster.ManagerJoinSecret));
        return manager ? NodeRole.Manager : worker ? NodeRole.Worker : null;
    }

    private static bool FixedTimeEquals(byte[] presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(presented, Encoding.ASCII.GetBytes(expected));
}
