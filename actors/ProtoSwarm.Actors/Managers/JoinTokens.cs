using System.Security.Cryptography;
using System.Text;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// Join tokens: SWMTKN-1-&lt;digest of the root CA&gt;-&lt;secret&gt;, one per role, kept whole in the cluster
/// object and compared in constant time.
/// </summary>
public static class JoinTokens
{
    public static string New(CaDigest caDigest) => JoinToken.Generate(caDigest).ToString();

    /// <summary>The role a token grants in this cluster, or null when it grants nothing.</summary>
    public static NodeRole? RoleFor(string token, ClusterObject cluster)
    {
        var presented = Encoding.ASCII.GetBytes(token ?? string.Empty);
        var worker = FixedTimeEquals(presented, cluster.WorkerJoinToken);
        var manager = FixedTimeEquals(presented, cluster.ManagerJoinToken);
        return manager ? NodeRole.Manager : worker ? NodeRole.Worker : null;
    }

    private static bool FixedTimeEquals(byte[] presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(presented, Encoding.ASCII.GetBytes(expected));
}
